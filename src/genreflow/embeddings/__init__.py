"""Pretrained audio embeddings as feature sets: models converted once into committed weights.

A feature set of an embedding kind (``features.sets.musicnn: {kind: musicnn, ...}``) is
computed by its own rule (``extract_embeddings``, on the GPU when there is one) and
saved like any other set: one ``(dimensions × frames)`` matrix per track, where a frame
is one of the extractor's examples (a 3 s patch for musicnn). This module is the light
table of those kinds (no torch import), so the feature settings know a frame's length
without loading a network.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from genreflow.embeddings import checkpoints, musicnn_params, vggish_params


class Extractor(Protocol):
    """What an embedding kind's extractor does (see :class:`EmbeddingKind`)."""

    sample_rate: int
    frame_seconds: float

    def frontend(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The network's input examples of mono ``y`` (resampled to ``self.sample_rate``)."""

    def forward(self, examples: np.ndarray) -> np.ndarray:
        """(examples, dimensions) for a stack of the front end's examples."""

    def __call__(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """(dimensions × frames) of mono ``y``."""


@dataclass(frozen=True)
class EmbeddingKind:
    """An embedding extractor as the workflow sees it before loading it."""

    sample_rate: int  # the rate the extractor's network expects (audio is resampled to it)
    frame_seconds: float  # the length of one frame (one example of the network)
    extractor: str  # "module:Class", built with the set's parameters
    # parameters that are downloaded files ({source, checksum}; see embeddings.weights),
    # passed to the extractor as local paths; the first is required, others optional
    downloads: tuple[str, ...] = ()

    def build(
        self,
        params: Mapping[str, Any],
        *,
        device: Any = "cpu",
        batch_size: int = 64,
        files: Mapping[str, str] | None = None,
    ) -> Extractor:
        """The extractor of a set with ``params`` (its keys besides ``kind``).

        A downloaded parameter (:attr:`downloads`) is passed as its local file,
        ``files[parameter]``: the workflow's fetched copy, or
        :func:`genreflow.embeddings.weights.fetched_files`' for a set used elsewhere.
        """
        params = dict(params)
        for parameter in self.downloads:
            if (files or {}).get(parameter):
                params[parameter] = str(files[parameter])
            elif params.get(parameter) is not None:
                raise ValueError(
                    f"{parameter}: the local file of {params[parameter]!r} is needed "
                    "(see genreflow.embeddings.weights.fetched_files)"
                )
        module, _, cls_name = self.extractor.partition(":")
        cls = getattr(importlib.import_module(module), cls_name)
        return cls(**params, device=device, batch_size=batch_size)


EMBEDDING_KINDS: dict[str, EmbeddingKind] = {
    "musicnn": EmbeddingKind(
        sample_rate=musicnn_params.SAMPLE_RATE,
        frame_seconds=musicnn_params.PATCH_SECONDS,
        extractor="genreflow.embeddings.musicnn:MusicnnExtractor",
    ),
    "vggish": EmbeddingKind(
        sample_rate=vggish_params.SAMPLE_RATE,
        frame_seconds=vggish_params.EXAMPLE_SECONDS,
        extractor="genreflow.embeddings.vggish:VggishExtractor",
        downloads=("weights", "pca"),
    ),
    # read with transformers from a folder the user names (features.sets.<set>.weights;
    # genreflow weights fetch NAME --to DIR): see genreflow.embeddings.checkpoints
    "clap": EmbeddingKind(
        sample_rate=checkpoints.CLAP_SAMPLE_RATE,
        frame_seconds=checkpoints.CLAP_CHUNK_SECONDS,
        extractor="genreflow.embeddings.clap:ClapExtractor",
    ),
    "mert": EmbeddingKind(
        sample_rate=checkpoints.MERT_SAMPLE_RATE,
        frame_seconds=checkpoints.MERT_CHUNK_SECONDS,
        extractor="genreflow.embeddings.mert:MertExtractor",
    ),
    "muq": EmbeddingKind(
        sample_rate=checkpoints.MUQ_SAMPLE_RATE,
        frame_seconds=checkpoints.MUQ_CHUNK_SECONDS,
        extractor="genreflow.embeddings.muq:MuqExtractor",
    ),
}


def kind_downloads() -> dict[str, tuple[str, ...]]:
    """``{kind: its downloaded parameters}`` for the kinds that download weights."""
    return {name: kind.downloads for name, kind in EMBEDDING_KINDS.items() if kind.downloads}
