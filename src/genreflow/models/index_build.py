"""Write or check ``models/index.json`` (:mod:`genreflow.models.index`) from the registry.

The index is what the workflow reads about the models without importing them; this
module imports the whole model zoo (torch and scikit-learn) to regenerate it. After
adding or changing a model run::

    python -m genreflow.models.index_build          # rewrite index.json
    python -m genreflow.models.index_build --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any

from genreflow.models.index import INDEX_PATH
from genreflow.models.registry import MODULES, load_all


def build_index() -> dict[str, dict[str, Any]]:
    """The index of every registered model, from the registry (imports the model zoo)."""
    index = {}
    for name, spec in sorted(load_all().items()):
        index[name] = {
            "module": MODULES[name],
            "family": spec.family,
            "inputs": list(spec.inputs),
            "arch": spec.arch,
            "arch_keys": sorted(spec.arch_keys),
            "train": dict(spec.train),
            "reproduces": spec.reproduces,
            "published": spec.published.as_dict() if spec.published else None,
            "deterministic": spec.deterministic,
        }
    # JSON values throughout (tuples as lists), exactly as the file holds them
    return json.loads(json.dumps(index))


def render(index: Mapping[str, Any]) -> str:
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m genreflow.models.index_build", description=__doc__
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if index.json is stale")
    args = parser.parse_args(argv)
    text = render(build_index())
    if args.check:
        if INDEX_PATH.read_text() != text:
            print(
                f"{INDEX_PATH} is out of date: run python -m genreflow.models.index_build",
                file=sys.stderr,
            )
            return 1
        return 0
    INDEX_PATH.write_text(text)
    print(f"wrote {INDEX_PATH} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
