"""A collection's pinned registry, and how the collection on disk differs from it.

The first run pins the collection (:mod:`genreflow.collection.pin`); every later run
checks the files against the pin before any job (:func:`collection_changes`), so no run
trains on another collection than the one its results claim. Light (csv, no pandas).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.checksums import file_digest
from genreflow.collection.discover import CollectionFile

# The registry of a collection, one row per file (blank where unknown). ``wav_md5``
# stays blank: a collection is checked by its files' bytes (``file_md5``), not by a
# canonical decode.
REGISTRY_COLUMNS = (
    "track_id",
    "genre",
    "genre_name",
    "path",
    "file_md5",
    "size",
    "mtime_ns",
    "duration_s",
    "sample_rate",
    "channels",
    "codec",
    "artist",
    "title",
    "album",
    "official_split",
    "wav_md5",
)
LISTED = 20  # changed files named in a message; the rest are counted


@dataclass
class Changes:
    """Files that differ between a collection on disk and its pinned registry."""

    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    new: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.missing or self.new)

    def describe(self) -> str:
        """``2 changed (a, b), 1 missing (c), 0 new``: the first 20 of each, then a count."""
        parts = []
        for what, paths in (
            ("changed", self.changed),
            ("missing", self.missing),
            ("new", self.new),
        ):
            listed = ", ".join(paths[:LISTED])
            more = f" and {len(paths) - LISTED} more" if len(paths) > LISTED else ""
            parts.append(f"{len(paths)} {what}" + (f" ({listed}{more})" if paths else ""))
        return ", ".join(parts)


def read_pinned(path: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of a pinned registry; ``ValueError`` naming the file if it is not one."""
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [
            c
            for c in ("track_id", "genre", "path", "file_md5", "size")
            if c not in (reader.fieldnames or [])
        ]
        if missing:
            raise ValueError(
                f"{path} is not a collection registry (it lacks {', '.join(missing)}); "
                "point dataset.registry at the registry.csv a run of this collection wrote."
            )
        return list(reader)


def is_pinned_registry(path: str | os.PathLike) -> bool:
    """True when ``path`` is a collection registry (it has ``path`` and ``file_md5``)."""
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return "path" in header and "file_md5" in header


def collection_changes(
    root: str | os.PathLike,
    files: Sequence[CollectionFile],
    pinned: Sequence[Mapping[str, str]],
    labels: Mapping[str, str],
) -> Changes:
    """How ``files`` (discovered under ``root``) differ from the ``pinned`` rows.

    A file is changed when its size differs, or its modification time does and its
    MD5 too (a copied or touched file with the same bytes is unchanged; only those are
    read), or when its genre label differs from the pinned one.
    """
    root = Path(root)
    listed = {f.relpath: f for f in files}
    changes = Changes()
    for row in pinned:
        relpath = row["path"]
        entry = listed.pop(relpath, None)
        if entry is None:
            changes.missing.append(relpath)
            continue
        listed_as = _listed_differently(entry, row, labels)
        if listed_as:
            changes.changed.append(f"{relpath} ({listed_as})")
            continue
        path = root / relpath
        try:
            status = path.stat()
        except OSError:
            changes.missing.append(relpath)
            continue
        if str(status.st_size) != row["size"]:
            changes.changed.append(relpath)
        elif str(status.st_mtime_ns) != row.get("mtime_ns") and row["file_md5"]:
            try:
                if file_digest(path, "md5") != row["file_md5"]:
                    changes.changed.append(relpath)
            except OSError:
                changes.changed.append(f"{relpath} (unreadable)")
    changes.new = sorted(listed)
    return changes


def _listed_differently(
    entry: CollectionFile, row: Mapping[str, str], labels: Mapping[str, str]
) -> str:
    """How a file's listing (genre; a CSV's artist, title and split) differs from its pin."""
    label = labels.get(entry.genre_name, entry.genre_name)
    if label != row["genre"]:
        return f"genre {row['genre']} → {label}"
    if entry.split != row.get("official_split", ""):
        return f"split {row.get('official_split') or 'none'} → {entry.split or 'none'}"
    for key in ("artist", "title"):  # given by a CSV (tags fill them only where it is blank)
        if getattr(entry, key) and getattr(entry, key) != row.get(key, ""):
            return f"{key} {row.get(key) or 'none'} → {getattr(entry, key)}"
    return ""
