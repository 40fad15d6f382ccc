"""The files of a collection: a folder ``ROOT/<genre>/**/<file>`` or a CSV of songs.

Light (no pandas; numpy and soundfile only through :mod:`genreflow.audio`'s list of
extensions, which parsing loads anyway): the workflow discovers the collection when it is parsed, to
know its tracks and genres before any job. Problems are collected, not raised one by
one, each naming the file, folder or CSV row and what to do.
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.audio import AUDIO_EXTENSIONS

CSV_COLUMNS = ("path", "genre")
CSV_OPTIONAL_COLUMNS = ("artist", "title", "split")
# a CSV's split values, as the official scheme reads them (FMA's words)
SPLITS = {
    "train": "training",
    "training": "training",
    "valid": "validation",
    "validation": "validation",
    "val": "validation",
    "test": "test",
    "": "",
}
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class CollectionFile:
    """One file of a collection, as listed (nothing read from it yet)."""

    relpath: str  # POSIX path relative to the collection's root (the CSV's folder)
    genre_name: str  # the genre folder's name, or the CSV's genre value
    artist: str = ""
    title: str = ""
    split: str = ""  # training / validation / test (a CSV's split column), else ""

    @property
    def track_id(self) -> str:
        return track_id(self.relpath)


@dataclass
class Discovery:
    """What :func:`discover` found: the files, the problems, what it skipped."""

    root: Path
    files: list[CollectionFile] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # non-audio extensions → count


def track_id(relpath: str) -> str:
    """A stable, unique, file-name-safe id of a file from its relative path.

    Readable words of the path joined by ``_``, then 10 hex digits of the path's
    BLAKE2 hash, so ``rock/02.mp3`` and ``jazz/02.mp3`` (or ``02.flac``) never share an
    id and an id never changes while the path does not.
    """
    stem = _UNSAFE.sub("_", relpath).strip("_")[:80].rstrip("_") or "track"
    digest = hashlib.blake2s(relpath.encode("utf-8"), digest_size=5).hexdigest()
    return f"{stem}-{digest}"


def is_collection_csv(source: str | os.PathLike) -> bool:
    """True for a local CSV file given as ``dataset.source``."""
    path = Path(source).expanduser()
    return path.suffix.lower() == ".csv" and path.is_file()


def discover(source: str | os.PathLike) -> Discovery:
    """The files of a collection folder or CSV, sorted by relative path."""
    source = Path(source).expanduser()
    if source.is_file():
        found = _from_csv(source)
    else:
        found = _from_folder(source)
    found.files.sort(key=lambda f: f.relpath)
    ids = Counter(f.track_id for f in found.files)
    for clash in sorted(i for i, n in ids.items() if n > 1):
        paths = [f.relpath for f in found.files if f.track_id == clash]
        found.problems.append(f"dataset.source: {' and '.join(paths)} share track id {clash}.")
    return found


def walk_audio(root: Path, problems: list[str], skipped: Counter) -> Iterator[Path]:
    """Audio files under ``root``, lazily, in sorted order; links followed, loops refused.

    Hidden files and folders are skipped; unreadable folders and symlink loops (a link
    to a folder it is in) are added to ``problems`` (and their contents skipped); a
    folder reached twice through links is listed once; non-audio files are counted by
    extension in ``skipped``.
    """
    seen: set[tuple[int, int]] = set()

    def visit(folder: Path, ancestors: frozenset = frozenset()) -> Iterator[Path]:
        try:
            status = folder.stat()
        except OSError as exc:
            problems.append(f"{folder}: cannot be read ({exc.strerror}); fix it or remove it.")
            return
        key = (status.st_dev, status.st_ino)
        if key in ancestors:
            problems.append(
                f"{folder}: a symlink loop (it leads back to a folder it is in); remove the link."
            )
            return
        if key in seen:
            return
        seen.add(key)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            problems.append(
                f"{folder}: cannot be listed ({exc.strerror}); fix its permissions or remove it."
            )
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError:
                is_dir = is_file = False
            if is_dir:
                yield from visit(path, ancestors | {key})
            elif is_file and path.suffix.lower() in AUDIO_EXTENSIONS:
                yield path
            elif is_file:
                skipped[path.suffix.lower() or "(none)"] += 1
            elif entry.is_symlink():
                problems.append(f"{path}: a broken symlink; remove it or fix its target.")

    yield from visit(root)


def _from_folder(root: Path) -> Discovery:
    found = Discovery(root=root)
    if not root.is_dir():
        found.problems.append(f"dataset.source: {root} is not a folder or a CSV file.")
        return found
    genre_folders = []
    try:
        entries = sorted(root.iterdir())
    except OSError as exc:
        found.problems.append(f"dataset.source: {root} cannot be listed ({exc.strerror}).")
        return found
    for path in entries:
        if path.name.startswith("."):
            continue
        if path.is_dir():
            genre_folders.append(path)
        elif path.suffix.lower() in AUDIO_EXTENSIONS:
            found.problems.append(
                f"dataset.source: {path} is not inside a genre folder; move it into "
                f"{root}/<genre>/ or remove it."
            )
    if not genre_folders:
        found.problems.append(
            f"dataset.source: {root} has no genre folders; lay it out as {root}/<genre>/<file>."
        )
    for folder in genre_folders:
        known = len(found.problems)
        files = [
            CollectionFile(relpath=path.relative_to(root).as_posix(), genre_name=folder.name)
            for path in walk_audio(folder, found.problems, found.skipped)
        ]
        if not files and len(found.problems) == known:
            found.problems.append(
                f"dataset.source: genre folder {folder} holds no audio files "
                f"({', '.join(AUDIO_EXTENSIONS)}); add some or remove the folder."
            )
        found.files += files
    return found


def _from_csv(table: Path) -> Discovery:
    root = table.parent.resolve()
    found = Discovery(root=root)
    try:
        with open(table, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh, restkey="\0extra")
            header = [c.strip() for c in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS if c not in header]
            if missing:
                found.problems.append(
                    f"dataset.source: {table} lacks column(s) {', '.join(missing)}; it needs "
                    f"{', '.join(CSV_COLUMNS)} (optional: {', '.join(CSV_OPTIONAL_COLUMNS)})."
                )
                return found
            for line, row in enumerate(reader, start=2):
                if "\0extra" in row:
                    found.problems.append(
                        f"dataset.source: {table} line {line} has more fields than the "
                        "header; quote values that hold a comma."
                    )
                    continue
                row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
                entry = _csv_entry(table, root, line, row, found.problems)
                if entry is not None:
                    found.files.append(entry)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        found.problems.append(f"dataset.source: {table} cannot be read as CSV ({exc}).")
    seen = Counter(f.relpath for f in found.files)
    for relpath in sorted(p for p, n in seen.items() if n > 1):
        found.problems.append(f"dataset.source: {table} lists {relpath} more than once.")
    return found


def _csv_entry(
    table: Path, root: Path, line: int, row: dict[str, str], problems: list[str]
) -> CollectionFile | None:
    where = f"dataset.source: {table} line {line}"
    if not row.get("path") or not row.get("genre"):
        problems.append(f"{where}: path and genre must not be blank.")
        return None
    raw = Path(row["path"])
    resolved = (root / raw).resolve() if not raw.is_absolute() else raw.resolve()
    if raw.is_absolute() or not resolved.is_relative_to(root):
        problems.append(
            f"{where}: {row['path']} is outside {root}; give paths relative to the CSV's "
            "folder, inside it."
        )
        return None
    if not resolved.is_file():
        problems.append(f"{where}: {row['path']} does not exist; fix the path or drop the row.")
        return None
    split = row.get("split", "").lower()
    if split not in SPLITS:
        problems.append(
            f"{where}: split {row['split']!r} is not one of train, valid, test (or blank)."
        )
        return None
    return CollectionFile(
        relpath=resolved.relative_to(root).as_posix(),
        genre_name=row["genre"],
        artist=row.get("artist", ""),
        title=row.get("title", ""),
        split=SPLITS[split],
    )
