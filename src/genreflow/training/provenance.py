"""The provenance a training job records with its model: packages and embeddings."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Any

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.checkpoints import MODEL_TYPES, provenance
from genreflow.embeddings.precomputed import PRECOMPUTED

PACKAGES = (
    "genreflow",
    "torch",
    "torchaudio",
    "numpy",
    "librosa",
    "scikit-learn",
    "pandas",
    "transformers",
)


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def input_embeddings(
    features: Mapping[str, Any],
    inputs: Sequence[str],
    precomputed: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict]:
    """The pretrained embedding behind each embedding input: its set's settings (kind,
    model, layer, weights), the rate its network decodes at and the length of a frame
    (a clap, mert or muq set: also its ``checkpoint``, the folder's provenance: the SHA-256 of
    every file the network is built from, the licence, the source);
    for a precomputed set, its settings and rule import_precomputed's record of it
    (``precomputed``: format, checksum of the files, tracks, dimensions)."""
    sets = features.get("sets") or {}
    embeddings = {}
    for item in inputs:
        name = item.partition("@")[0]
        block = sets.get(name) or {}
        if block.get("kind") == PRECOMPUTED:
            record = dict((precomputed or {}).get(name) or {})
            record.pop("set", None)
            embeddings[name] = {**block, **record}
            continue
        kind = EMBEDDING_KINDS.get(block.get("kind"))
        if kind is not None:
            embeddings[name] = {
                **block,
                "sample_rate": kind.sample_rate,
                "frame_seconds": kind.frame_seconds,
            }
            if block["kind"] in MODEL_TYPES:  # clap, mert, muq: a folder of weights
                embeddings[name]["checkpoint"] = provenance(
                    block["weights"], block["kind"], block.get("code"), block.get("licence")
                )
    return embeddings
