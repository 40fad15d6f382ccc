"""Pinning a collection: one registry row per file, from its bytes, header and tags."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from genreflow.audio import UndecodableAudioError, audio_info, read_tags
from genreflow.checksums import file_digest
from genreflow.collection.discover import CollectionFile
from genreflow.collection.pinned import REGISTRY_COLUMNS

log = logging.getLogger(__name__)


def pin_row(root: Path, entry: CollectionFile, labels: Mapping[str, str]) -> dict[str, object]:
    """The registry row of one file. What cannot be read is left blank (the scan
    quarantines the file and says why)."""
    path = root / entry.relpath
    row: dict[str, object] = {
        "track_id": entry.track_id,
        "genre": labels.get(entry.genre_name, entry.genre_name),
        "genre_name": entry.genre_name,
        "path": entry.relpath,
        "artist": entry.artist,
        "title": entry.title,
        "official_split": entry.split,
    }
    try:
        status = path.stat()
        row.update(size=status.st_size, mtime_ns=status.st_mtime_ns)
        row["file_md5"] = file_digest(path, "md5")
    except OSError as exc:
        log.warning("%s: cannot be read (%s)", path, exc.strerror)
        return row
    try:
        header = audio_info(path)
    except UndecodableAudioError:
        return row
    row.update(
        duration_s=round(header.duration_s, 4),
        sample_rate=header.sample_rate,
        channels=header.channels,
        codec=header.codec,
    )
    tags = read_tags(path)
    for key in ("artist", "title", "album"):
        if not row.get(key):
            row[key] = tags.get(key, "")
    return row


def pin_collection(
    root: str | os.PathLike,
    files: Sequence[CollectionFile],
    labels: Mapping[str, str],
    *,
    threads: int = 1,
) -> pd.DataFrame:
    """The registry of ``files`` under ``root``: ``REGISTRY_COLUMNS``, sorted by path.

    ``labels`` maps each genre folder name (or CSV genre value) to its label. A CSV's
    artist and title win over the file's tags.
    """
    root = Path(root)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        rows = list(pool.map(lambda entry: pin_row(root, entry, labels), files))
    table = pd.DataFrame(rows).reindex(columns=REGISTRY_COLUMNS)
    for column in ("size", "mtime_ns", "sample_rate", "channels"):
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    log.info("pinned %d file(s) under %s", len(table), root)
    return table.sort_values("path", ignore_index=True)
