"""A light index of the registered models, read when the workflow is parsed.

Parsing the Snakefile must not import torch or scikit-learn (every dry run and every
SLURM job parses it), yet it must check each model block of the config. ``index.json``
beside this module holds what that needs: each model's family, inputs, ``arch`` keys
and defaults, ``train`` choices, and what it reproduces. It is generated from the
registry and a test keeps the two in step; after adding or changing a model run::

    python -m genreflow.models.index          # rewrite index.json
    python -m genreflow.models.index --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

INDEX_PATH = Path(__file__).with_name("index.json")


@dataclass(frozen=True)
class IndexedModel:
    """One registered model as the workflow sees it before any job runs."""

    name: str
    module: str  # the module that registers it (genreflow.models.get_model imports it)
    family: str
    inputs: tuple[str, ...]
    arch: Mapping[str, Any]  # defaults, JSON values (tuples become lists)
    arch_keys: tuple[str, ...]
    train: Mapping[str, Any]
    reproduces: str
    published: Mapping[str, Any] | None
    deterministic: bool  # trained once per fold, whatever training.repeats holds


def build_index() -> dict[str, dict[str, Any]]:
    """The index of every registered model, from the registry (imports the model zoo)."""
    from genreflow.models import load_all
    from genreflow.models.registry import MODULES

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
            "published": asdict(spec.published) if spec.published else None,
            "deterministic": spec.deterministic,
        }
    # JSON values throughout (tuples as lists), exactly as the file holds them
    return json.loads(json.dumps(index))


def render(index: Mapping[str, Any]) -> str:
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


@cache
def load_index(path: Path = INDEX_PATH) -> dict[str, IndexedModel]:
    """The committed index: model name → :class:`IndexedModel`."""
    raw = json.loads(Path(path).read_text())
    return {
        name: IndexedModel(
            name=name,
            module=entry["module"],
            family=entry["family"],
            inputs=tuple(entry["inputs"]),
            arch=entry["arch"],
            arch_keys=tuple(entry["arch_keys"]),
            train=entry["train"],
            reproduces=entry["reproduces"],
            published=entry["published"],
            deterministic=entry["deterministic"],
        )
        for name, entry in raw.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m genreflow.models.index", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if index.json is stale")
    args = parser.parse_args(argv)
    text = render(build_index())
    if args.check:
        if INDEX_PATH.read_text() != text:
            print(
                f"{INDEX_PATH} is out of date: run python -m genreflow.models.index",
                file=sys.stderr,
            )
            return 1
        return 0
    INDEX_PATH.write_text(text)
    print(f"wrote {INDEX_PATH} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
