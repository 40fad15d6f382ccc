"""A light index of the registered models, read when the workflow is parsed.

Parsing the Snakefile must not import torch or scikit-learn (every dry run and every
SLURM job parses it), yet it must check each model block of the config. ``index.json``
beside this module holds what that needs: each model's family, inputs, ``arch`` keys
and defaults, ``train`` choices, what it reproduces, and the module that registers it
(so :func:`genreflow.models.get_model` imports only that one). This module only reads
it and imports no other genreflow module; :mod:`genreflow.models.index_build`
generates it from the registry, and a test keeps the two in step. After adding or
changing a model run::

    python -m genreflow.models.index_build          # rewrite index.json
    python -m genreflow.models.index_build --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
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
