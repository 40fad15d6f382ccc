"""Quarantine by decoding: which files of a pinned collection later stages may use.

A header can promise more than a file holds (a truncated MP3 keeps its Xing frame
count), so each file is judged by decoding: its excerpt (the span features will use)
and its last second. Ordinary files (any rate, channels or length) always pass.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.audio import UndecodableAudioError, audio_info, decode, decode_excerpt
from genreflow.data.manifest import MANIFEST_COLUMNS
from genreflow.errors import DataError
from genreflow.excerpts import Excerpt

log = logging.getLogger(__name__)

TAIL_S = 1.0  # the last second is decoded to catch a truncated file


def file_problem(
    path: Path, *, min_duration_s: float, silence_peak: float, excerpt: Excerpt | None
) -> str:
    """Why ``path`` cannot be used (``""`` when it can): missing, unreadable, zero bytes,
    not audio, too short, truncated, undecodable or silent."""
    if not path.is_file():
        return "missing: the file is gone since the collection was pinned"
    if not os.access(path, os.R_OK):
        return "unreadable: permission denied"
    if path.stat().st_size == 0:
        return "zero bytes"
    try:
        header = audio_info(path)
    except UndecodableAudioError:
        return "not audio: neither libsndfile nor FFmpeg recognises it as an audio file"
    if header.duration_s < min_duration_s:
        return (
            f"too short: {header.duration_s:.1f} s, under dataset.collection.min_duration_s "
            f"({min_duration_s:g} s)"
        )
    tail = max(0.0, header.duration_s - TAIL_S)
    try:
        end, rate = decode(path, sample_rate=None, offset_s=tail, duration_s=TAIL_S)
    except UndecodableAudioError:
        end, rate = np.zeros(0, np.float32), 1
    if len(end) < 0.25 * TAIL_S * rate:
        return (
            f"truncated: the header says {header.duration_s:.1f} s, but decoding stops before "
            "its end (an incomplete download or copy)"
        )
    try:
        y, _, _ = decode_excerpt(path, excerpt, sample_rate=None)
    except UndecodableAudioError as exc:
        return f"undecodable: {_why(exc, path)}"
    peak = float(np.max(np.abs(y))) if len(y) else 0.0
    if peak < silence_peak:
        return f"silent: peak {peak:.2g} below features.silence_peak ({silence_peak:g})"
    return ""


def _why(exc: Exception, path: Path) -> str:
    return str(exc).removeprefix(f"{path}: ").strip() or type(exc).__name__


def scan_collection(
    registry: pd.DataFrame,
    root: str | os.PathLike,
    *,
    min_duration_s: float,
    silence_peak: float,
    excerpt: Excerpt | None,
    threads: int = 1,
) -> pd.DataFrame:
    """The manifest of a pinned collection: every file, ``ok`` or ``quarantined`` with its
    ``reason``; each quarantined file is logged at warning level."""
    root = Path(root)
    paths = [root / p for p in registry["path"]]

    def judge(path: Path) -> str:
        return file_problem(
            path, min_duration_s=min_duration_s, silence_peak=silence_peak, excerpt=excerpt
        )

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        reasons = list(pool.map(judge, paths))
    manifest = pd.DataFrame(
        {
            "track_id": registry["track_id"],
            "genre": registry["genre"],
            "path": [str(p) for p in paths],
            "status": ["quarantined" if r else "ok" for r in reasons],
            "md5": registry["file_md5"],
            "duration_s": pd.to_numeric(registry["duration_s"], errors="coerce"),
            "sample_rate": pd.to_numeric(registry["sample_rate"], errors="coerce").astype("Int64"),
            "artist": registry["artist"],
            "reason": reasons,
        }
    )
    for row in manifest[manifest["status"] == "quarantined"].itertuples(index=False):
        log.warning("quarantined %s (%s): %s", row.path, row.genre, row.reason)
    return manifest.reindex(columns=MANIFEST_COLUMNS)


def check_usable(
    manifest: pd.DataFrame, *, max_bad_share: float, min_per_genre: Mapping[str, int] | int
) -> None:
    """Stop (one line) when too much of the collection is bad, or a genre keeps fewer
    usable tracks than the folds need."""
    bad = manifest["status"] == "quarantined"
    if len(manifest) and bad.mean() > max_bad_share:
        kinds = manifest.loc[bad, "reason"].str.split(":").str[0].value_counts()
        raise DataError(
            f"{int(bad.sum())} of {len(manifest)} files ({bad.mean():.0%}) are quarantined "
            f"({', '.join(f'{n} {kind}' for kind, n in kinds.items())}), more than "
            f"dataset.collection.max_bad_share ({max_bad_share:.0%}); the warnings above "
            "name each file and its reason: fix the files (or raise the share)."
        )
    counts = manifest.loc[~bad, "genre"].value_counts()
    for genre in sorted(manifest["genre"].unique()):
        needed = min_per_genre if isinstance(min_per_genre, int) else min_per_genre.get(genre, 0)
        if counts.get(genre, 0) < needed:
            raise DataError(
                f"genre {genre!r} keeps {counts.get(genre, 0)} usable track(s) after "
                f"quarantine; the folds need {needed}. Add songs, lower folds.n_folds or "
                "leave the genre out with dataset.genres."
            )
