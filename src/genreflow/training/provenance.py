"""The provenance a training job records with its model: packages and embeddings."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from genreflow.embeddings import EMBEDDING_KINDS

PACKAGES = ("genreflow", "torch", "torchaudio", "numpy", "librosa", "scikit-learn", "pandas")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def input_embeddings(features: Mapping[str, Any], inputs: Sequence[str]) -> dict[str, dict]:
    """The pretrained embedding behind each embedding input: its set's settings (kind,
    model, layer, weights), the rate its network decodes at and the length of a frame."""
    sets = features.get("sets") or {}
    embeddings = {}
    for item in inputs:
        name = item.partition("@")[0]
        block = sets.get(name) or {}
        kind = EMBEDDING_KINDS.get(block.get("kind"))
        if kind is not None:
            embeddings[name] = {
                **block,
                "sample_rate": kind.sample_rate,
                "frame_seconds": kind.frame_seconds,
            }
    return embeddings
