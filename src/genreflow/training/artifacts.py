"""What a training job leaves on disk, and the provenance recorded with it."""

from __future__ import annotations

import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import TYPE_CHECKING, Any

from genreflow.embeddings import EMBEDDING_KINDS

if TYPE_CHECKING:  # scikit-learn jobs record provenance here without importing torch
    import torch

    from genreflow.training.data import Normalizer

PACKAGES = ("genreflow", "torch", "torchaudio", "numpy", "librosa", "scikit-learn", "pandas")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def input_sample_rates(features: Mapping[str, Any], inputs: Sequence[str]) -> dict[str, int]:
    """The rate audio is decoded at for STFT sets (``decoded``) and each input's set is
    computed at (an embedding network's own)."""
    rates = {"decoded": features.get("sample_rate")}
    sets = features.get("sets") or {}
    for item in inputs:
        name = item.partition("@")[0]
        kind = (sets.get(name) or {}).get("kind")
        rates[name] = (
            EMBEDDING_KINDS[kind].sample_rate if kind in EMBEDDING_KINDS else rates["decoded"]
        )
    return rates


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


def torch_record(
    name: str,
    model: torch.nn.Module,
    *,
    arch: Mapping[str, Any],
    inputs: Sequence[str],
    input_shapes: Sequence[tuple[int, ...]],
    genres: Sequence[str],
    normalizer: Normalizer,
    features: Mapping[str, Any],
    train: Mapping[str, Any],
) -> dict:
    """What ``model.pt`` holds: enough to rebuild the model and featurise new audio.

    ``features`` is the workflow's ``features`` block with ``clip_seconds`` resolved
    (``sample_rates`` records the rate each input is computed at: embeddings resample
    to their network's own);
    :func:`genreflow.evaluation.predict.load_torch_model` and ``genreflow predict``
    read it back.
    """
    return {
        "model": name,
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "arch": dict(arch),
        "inputs": list(inputs),
        "input_shapes": [tuple(shape) for shape in input_shapes],
        "genres": list(genres),
        "normalizer": normalizer.state(),
        "features": dict(features),
        "sample_rates": input_sample_rates(features, inputs),
        "train": dict(train),
    }
