"""Make ``genreflow`` importable from a Snakemake script.

In the project's virtualenv genreflow is pip-installed. Inside a conda env built from
``envs/*.yaml`` it is not, and Snakemake unsets PYTHONPATH there; Snakemake does put
this folder on ``sys.path``, so importing this module adds the checkout's ``src/``.
"""

import sys
from pathlib import Path

_SRC = Path(__file__).resolve().parent.parent / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))
