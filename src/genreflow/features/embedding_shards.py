"""The embedding stage for one shard of tracks: one set, batched across tracks.

Each track is decoded straight at the extractor's own rate (musicnn: 16 kHz; one soxr
resampling from the file's rate, none for a file already at it), cut or padded to the
clip length like the feature stage's; the file's rate, the rate used and the resampler
are recorded in the shard table. ``genreflow predict`` decodes a song the same way, so
a file's rate cannot change what the network sees beyond that one resampling. The
network sees batches of examples drawn from several tracks, so a GPU is kept busy by
short clips too.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from genreflow.embeddings import EMBEDDING_KINDS, Extractor
from genreflow.embeddings.musicnn_params import RESAMPLER
from genreflow.embeddings.weights import fetched_files
from genreflow.features.loading import load_track
from genreflow.features.settings import FeatureSettings
from genreflow.features.shards import feature_path, save_array

log = logging.getLogger(__name__)

EMBEDDING_COLUMNS = (
    "track_id",
    "source_track_id",
    "genre",
    "n_frames",  # the extractor's frames (musicnn: 3 s patches)
    "original_sr",
    "embedding_sr",  # the extractor's rate, which the track is decoded at
    "resampler",  # from original_sr to embedding_sr ("none": already at it)
    # the SHA-256 of every file the network was built from, where the kind reads a
    # folder of weights (clap, mert, muq): "file=sha256:…; …"; empty for the others
    "weights_sha256",
    "problems",
)


@dataclass
class _Pending:
    row: dict
    examples: np.ndarray  # the front end's examples of one track


def extract_embedding_shard(
    tracks: pd.DataFrame,
    settings: FeatureSettings,
    feature: str,
    root: str | os.PathLike,
    *,
    device: str = "cpu",
    batch_size: int = 64,
    files: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Embed every track of ``tracks`` with the set ``feature``; one file per track.

    Parameters
    ----------
    tracks
        ``track_id, source_track_id, genre, path`` (originals and augmented copies).
    feature
        The name of an embedding set of ``settings``.
    root
        ``results/features/<dataset>``; files go to ``<root>/<feature>/<track_id>.npy``,
        each (dimensions × frames), float32.
    files
        The network's downloaded files (``{parameter: path}``, e.g. VGGish's
        ``weights``), as fetched by rule fetch_weights; ``None``: the project's cached
        copies, fetched first where missing (:func:`~genreflow.embeddings.weights.fetched_files`).

    Returns
    -------
    One row per track: :data:`EMBEDDING_COLUMNS` and ``feature`` (the file).
    """
    spec = settings.spec(feature)
    kind = EMBEDDING_KINDS[spec.kind]
    if files is None:
        files = fetched_files(feature, spec.kind, spec.params)
    extractor = kind.build(spec.params, device=device, batch_size=batch_size, files=files)
    digests = getattr(extractor, "weight_digests", None) or {}
    weights_sha256 = "; ".join(f"{name}=sha256:{digest}" for name, digest in digests.items())
    if digests:
        log.info(
            "%s: built from %s (licence %s)",
            feature,
            weights_sha256,
            getattr(extractor, "licence", "unknown"),
        )
    log.info(
        "%s: %s %s on %s, %d tracks, batches of %d examples; audio decoded at %d Hz (%s)",
        feature,
        spec.kind,
        ", ".join(f"{k}={files.get(k, v)}" for k, v in spec.params.items()),
        device,
        len(tracks),
        batch_size,
        kind.sample_rate,
        RESAMPLER,
    )
    rows: list[dict] = []
    pending: list[_Pending] = []
    started, audio_seconds = time.perf_counter(), 0.0
    for number, track in enumerate(tracks.itertuples(index=False), start=1):
        loaded = load_track(
            track.path,
            sample_rate=kind.sample_rate,
            clip_seconds=settings.clip_seconds,
            clip_policy=settings.clip_policy,
            excerpt=settings.excerpt,
        )
        audio_seconds += len(loaded.y) / loaded.sr
        problems = loaded.problems(
            silence_peak=settings.silence_peak,
            min_duration_s=(settings.clip_seconds or 0.0) - settings.short_tolerance_s,
        )
        row = {
            "track_id": track.track_id,
            "source_track_id": track.source_track_id,
            "genre": track.genre,
            "original_sr": loaded.original_sr,
            "embedding_sr": loaded.sr,
            "resampler": RESAMPLER if loaded.original_sr != loaded.sr else "none",
            "weights_sha256": weights_sha256,
            "problems": "; ".join(problems),
        }
        pending.append(_Pending(row, extractor.frontend(loaded.y, loaded.sr)))
        if sum(len(p.examples) for p in pending) >= batch_size or number == len(tracks):
            rows += _embed(pending, extractor, root, feature)
            pending = []
            elapsed = time.perf_counter() - started
            log.info(
                "%d/%d tracks, %.0f s of audio in %.1f s (%.1f× real time)",
                number,
                len(tracks),
                audio_seconds,
                elapsed,
                audio_seconds / max(elapsed, 1e-9),
            )
    return pd.DataFrame(rows, columns=[*EMBEDDING_COLUMNS, feature])


def _embed(pending: list[_Pending], extractor: Extractor, root, feature: str) -> list[dict]:
    """Run the network once over the examples of ``pending`` tracks and save each track's."""
    outputs = extractor.forward(np.concatenate([p.examples for p in pending]))
    rows, position = [], 0
    for item in pending:
        n = len(item.examples)
        matrix = np.ascontiguousarray(outputs[position : position + n].T, dtype=np.float32)
        position += n
        dest = feature_path(root, feature, item.row["track_id"])
        save_array(matrix, dest)
        rows.append({**item.row, "n_frames": n, feature: str(dest)})
    return rows
