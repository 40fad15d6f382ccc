"""Prepare a Snakemake script's process: ``genreflow`` importable, numba cache private.

In the project's virtualenv genreflow is pip-installed. Inside a conda env built from
``envs/*.yaml`` it is not, and Snakemake unsets PYTHONPATH there; Snakemake does put
this folder on ``sys.path``, so importing this module adds the checkout's ``src/``.

Every job then gets a private ``NUMBA_CACHE_DIR``, copied from the job's ``kernels``
input (rule compile_kernels' cache) when it has one, so no two jobs ever write the same
cached kernel (see :mod:`genreflow.kernels.cache`). SIGTERM ends the job through
``SystemExit`` (temporary files removed), and the job stops itself when the workflow
process that started it is gone (see :mod:`genreflow.job_watchdog`). Import this module
first.
"""

import sys
from pathlib import Path

import __main__

_SRC = Path(__file__).resolve().parent.parent / "src"
if str(_SRC) not in sys.path:
    sys.path.insert(0, str(_SRC))

from genreflow.job_watchdog import stop_on_sigterm, watch_workflow
from genreflow.kernels.cache import use_private_cache

stop_on_sigterm()
watch_workflow()

_job = getattr(__main__, "snakemake", None)
use_private_cache(getattr(_job.input, "kernels", None) if _job is not None else None)
