"""Feature extraction for one shard of tracks: one decode per track, one STFT per signal.

The per-frame features use the clip (padded or trimmed to the clip length); the summary
uses the whole decode, so a track whose length changed gets a second STFT for it.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.atomic import atomic_path
from genreflow.features.compute import compute_features
from genreflow.features.loading import load_track
from genreflow.features.settings import FeatureSettings

# Track ids are strings (FMA's are zero-padded digits: "000002" must stay "000002").
TRACK_ID_DTYPES = {"track_id": str, "source_track_id": str}


def read_track_table(path: str | os.PathLike) -> pd.DataFrame:
    """A feature-stage table (shard, tracks.csv, index, summary) with ids kept as text."""
    return pd.read_csv(path, dtype=TRACK_ID_DTYPES, keep_default_na=False)


log = logging.getLogger(__name__)

TRACK_COLUMNS = (
    "track_id",
    "source_track_id",
    "genre",
    "n_frames",
    "original_sr",
    "channels",
    "original_duration_s",
    "padded_s",
    "trimmed_s",
    "peak",
    "excerpt",
    "problems",
)


def feature_path(root: str | os.PathLike, feature: str, track_id: str) -> Path:
    """Where one track's matrix of one feature lives: ``<root>/<feature>/<track_id>.npy``."""
    return Path(root) / feature / f"{track_id}.npy"


def save_array(array: np.ndarray, dest: str | os.PathLike) -> None:
    """``np.save`` atomically."""
    with atomic_path(dest) as tmp:
        np.save(tmp, array)


def extract_shard(
    tracks: pd.DataFrame, settings: FeatureSettings, root: str | os.PathLike
) -> pd.DataFrame:
    """Compute every configured feature of ``tracks`` and save one file per track and feature.

    Parameters
    ----------
    tracks
        ``track_id, source_track_id, genre, path`` (augmented copies carry their source's
        id in ``source_track_id``; originals their own).
    root
        ``results/features/<dataset>``.

    Returns
    -------
    One row per track: ``TRACK_COLUMNS`` plus one column per feature with its file.
    Silent and too-short tracks are kept, and their problems logged and recorded.
    """
    rows = []
    min_duration = (settings.clip_seconds or 0.0) - settings.short_tolerance_s
    for track in tracks.itertuples(index=False):
        loaded = load_track(
            track.path,
            sample_rate=settings.sample_rate,
            clip_seconds=settings.clip_seconds,
            clip_policy=settings.clip_policy,
            excerpt=settings.excerpt,
        )
        problems = loaded.problems(silence_peak=settings.silence_peak, min_duration_s=min_duration)
        if problems:
            log.warning("%s (%s): %s", track.track_id, track.path, "; ".join(problems))
        features = compute_features(
            loaded.y,
            loaded.sr,
            list(settings.stft_specs),
            n_fft=settings.n_fft,
            hop_length=settings.hop_length,
            untrimmed=loaded.untrimmed,
        )
        row = {
            "track_id": track.track_id,
            "source_track_id": track.source_track_id,
            "genre": track.genre,
            "n_frames": 1 + len(loaded.y) // settings.hop_length,
            "original_sr": loaded.original_sr,
            "channels": loaded.channels,
            "original_duration_s": loaded.original_duration_s,
            "padded_s": loaded.padded_s,
            "trimmed_s": loaded.trimmed_s,
            "peak": round(loaded.peak, 6),
            "excerpt": loaded.excerpt,
            "problems": "; ".join(problems),
        }
        for name, array in features.items():
            dest = feature_path(root, name, track.track_id)
            save_array(array, dest)
            row[name] = str(dest)
        rows.append(row)
    log.info("extracted %d feature set(s) for %d track(s)", len(settings.stft_specs), len(rows))
    columns = list(TRACK_COLUMNS) + [spec.name for spec in settings.stft_specs]
    return pd.DataFrame(rows, columns=columns)


def shard_tracks(
    tracks: pd.DataFrame, shard: int, n_shards: int, augmented: Sequence[str] = ()
) -> pd.DataFrame:
    """A shard's tracks (:func:`shard_of`) and the augmented copies listed in ``augmented``
    (the shard's tables from rule augment), in the columns of ``tracks``."""
    selected = shard_of(tracks, shard, n_shards)
    for table in augmented:
        copies = pd.read_csv(table, dtype=str, keep_default_na=False)
        selected = pd.concat([selected, copies[selected.columns]], ignore_index=True)
    return selected


def shard_of(tracks: pd.DataFrame, shard: int, n_shards: int) -> pd.DataFrame:
    """The ``shard``-th of ``n_shards`` contiguous blocks of ``tracks`` (sorted by id)."""
    ordered = tracks.sort_values("track_id", ignore_index=True)
    bounds = np.linspace(0, len(ordered), n_shards + 1).astype(int)
    return ordered.iloc[bounds[shard] : bounds[shard + 1]]
