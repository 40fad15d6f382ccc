"""Genre tags of a classified library: ``genreflow classify --write-tags``, ``--dry-run``
and ``--undo FILE``.

Every file with a row of the table (for this model id, under LIBRARY) whose bytes are
still the ones the row's checksum names gets two values in its own tag format: the genre,
and the provenance comment ``genreflow <model id> p=<probability>`` under a key of its own
(a comment the user wrote is never replaced):

========================  =========  =========================================
files                     genre      provenance comment
========================  =========  =========================================
mp3 (ID3v2)               ``TCON``   ``COMM`` with the description ``genreflow``
flac, ogg, oga, opus      ``GENRE``  ``GENREFLOW`` (a Vorbis comment)
m4a, mp4 (iTunes atoms)   ``©gen``   ``----:com.apple.iTunes:genreflow``
========================  =========  =========================================

mutagen writes them (GPL-2.0-or-later, so an optional extra: ``pip install
"genreflow[tags]"``; imported here only), into a copy of the file that is then renamed
over it (:func:`genreflow.atomic.atomic_path`; a hard-linked file in place, so that every
name sees the tags): a stop at any moment leaves each file old or new, never half-written.
Only tag blocks change; the audio bytes are copied as they are.

Before any file is touched, the old values of every key to change (``null``: absent) go
to an undo file (JSON Lines, written atomically, and again at the end with only the files
changed); ``--undo FILE`` puts them back, removing the keys that were absent, in every
file whose tags were not changed since. New tags change a file's bytes but not its audio,
so the table's rows of the old bytes get the new checksum, size and modification time
(:meth:`~genreflow.library.table.AppendedTable.update_rows`): a later ``classify`` skips
the tagged files instead of classifying them again. ``--undo`` does the same.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.atomic import atomic_path, write_text
from genreflow.checksums import file_digest
from genreflow.errors import GenreflowError
from genreflow.library.table import AppendedTable

INSTALL = 'pip install "genreflow[tags]"'
UNDO_MARK = "genreflow classify --write-tags undo"
#: the tag format of each suffix genreflow writes tags into
KINDS = {
    ".mp3": "id3",
    ".flac": "flac",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".opus": "ogg",
    ".m4a": "mp4",
    ".mp4": "mp4",
}
#: (genre key, provenance comment key) of each tag format
KEYS = {
    "id3": ("TCON", "COMM:genreflow:eng"),
    "flac": ("GENRE", "GENREFLOW"),
    "ogg": ("GENRE", "GENREFLOW"),
    "mp4": ("©gen", "----:com.apple.iTunes:genreflow"),
}
NOT_TAGGED = "no tags written into"  # the start of an unsupported format's reason

Values = dict[str, list[str] | None]


class TagProblem(Exception):
    """Why one file is not tagged (or not restored): its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Change:
    """One file's tag change: each changed key's values before and after (``None``:
    absent), and the file's MD5 when the change was planned."""

    path: str
    kind: str
    old: Values
    new: Values
    checksum: str = ""

    def describe(self) -> str:
        """``path: KEY old → new; …``, one line."""
        parts = [
            f"{key} {_shown(self.old[key])} → {_shown(value)}" for key, value in self.new.items()
        ]
        return f"{self.path}: " + "; ".join(parts)

    def record(self) -> dict:
        return {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}


@dataclass
class TagSummary:
    """What a tagging (or undo) run did: files changed, already right, and skipped."""

    verb: str = "tagged"
    dry_run: bool = False
    changed: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    undo_file: Path | None = None

    def describe(self) -> str:
        """One line; the reasons files were skipped counted, most frequent first."""
        done = f"would be {self.verb}" if self.dry_run else self.verb
        reasons = Counter(reason for _, reason in self.skipped)
        counted = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        line = (
            f"{self.changed} files {done}, {self.unchanged} already {self.verb}, "
            f"{len(self.skipped)} not {self.verb}" + (f" ({counted})" if counted else "")
        )
        if self.dry_run:
            return line + "; dry run: no file written"
        if self.undo_file is not None:
            return line + f"; undo with: genreflow classify --undo {self.undo_file}"
        return line


def require_mutagen() -> None:
    """Stop with the install command when mutagen (the optional extra) is missing."""
    try:
        import mutagen  # noqa: F401 (only whether it imports)
    except ImportError:
        raise GenreflowError(
            f"writing tags needs mutagen (GPL-2.0-or-later, an optional extra): {INSTALL}"
        ) from None


def tag_kind(path: str | os.PathLike) -> str:
    """The tag format of ``path`` (a key of :data:`KEYS`), or a :class:`TagProblem`."""
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        raise TagProblem(f"{NOT_TAGGED} {suffix or 'suffix-less'} files")
    return KINDS[suffix]


def provenance(model_id: str, probability: object) -> str:
    """The comment that says where a genre came from."""
    return f"genreflow {model_id} p={float(probability):.4f}"


# ---- one file --------------------------------------------------------------------------


def read_values(path: str | os.PathLike, kind: str) -> Values:
    """The values of :data:`KEYS` ``[kind]`` in ``path`` (``None``: absent)."""
    tags = _open(path, kind).tags
    return {key: _get(tags, kind, key) for key in KEYS[kind]}


def write_values(path: str | os.PathLike, kind: str, values: Values) -> None:
    """Set (``None``: remove) ``values`` in ``path``'s tags; a read-only file (no write
    permission bit, or not writable by this user) is a :class:`TagProblem`.

    A copy is tagged and renamed over the file, its mode and owner kept; a file with
    other hard links is tagged in place; a symbolic link's target is tagged.
    """
    real = Path(os.path.realpath(path))
    status = _writable(real)
    if status.st_nlink > 1:
        _store(real, kind, values)
        return
    with atomic_path(real) as tmp:
        shutil.copyfile(real, tmp)
        shutil.copymode(real, tmp)
        _store(tmp, kind, values)
        try:
            os.chown(tmp, status.st_uid, status.st_gid)
        except OSError:
            pass  # another user's file in a folder of ours: it becomes ours


def _writable(path: str | os.PathLike) -> os.stat_result:
    """The status of ``path``; a file without a write permission bit, or that this user
    may not write, is a :class:`TagProblem` ("read-only file")."""
    status = os.stat(path)
    if not status.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise TagProblem("read-only file")
    return status


def _open(path: str | os.PathLike, kind: str):
    """The mutagen file of ``path``, with (empty) tags when it had none."""
    import mutagen

    audio = mutagen.File(path, options=_classes(kind))
    if audio is None:
        raise TagProblem(f"not a {kind} file mutagen can read")
    if audio.tags is None:
        audio.add_tags()
    return audio


def _classes(kind: str) -> list[type]:
    from mutagen.flac import FLAC
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4
    from mutagen.oggflac import OggFLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    return {"id3": [MP3], "flac": [FLAC], "ogg": [OggVorbis, OggOpus, OggFLAC], "mp4": [MP4]}[kind]


def _get(tags, kind: str, key: str) -> list[str] | None:
    if kind == "id3":
        frame = tags.get(key)
        return None if frame is None else [str(text) for text in frame.text]
    values = tags.get(key)
    if values is None:
        return None
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values]


def _set(tags, kind: str, key: str, values: list[str] | None) -> None:
    if values is None:
        if key in tags:
            del tags[key]
    elif kind == "id3":
        from mutagen.id3 import COMM, TCON, Encoding

        if key == "TCON":
            frame = TCON(encoding=Encoding.UTF8, text=values)
        else:
            _, desc, lang = key.split(":")
            frame = COMM(encoding=Encoding.UTF8, lang=lang, desc=desc, text=values)
        tags.delall(key)
        tags.add(frame)
    elif kind == "mp4" and key.startswith("----:"):
        from mutagen.mp4 import AtomDataType, MP4FreeForm

        tags[key] = [MP4FreeForm(v.encode(), dataformat=AtomDataType.UTF8) for v in values]
    else:
        tags[key] = list(values)


def _store(path: Path, kind: str, values: Values) -> None:
    """Open, change and save ``path``'s tags (an ID3v2.3 tag stays 2.3)."""
    audio = _open(path, kind)
    for key, value in values.items():
        _set(audio.tags, kind, key, value)
    if kind == "id3":
        v23 = audio.tags.version < (2, 4, 0)
        if v23:
            audio.tags.update_to_v23()
        audio.save(v2_version=3 if v23 else 4)
    else:
        audio.save()


def _shown(values: list[str] | None) -> str:
    return "(absent)" if values is None else " / ".join(repr(v) for v in values)


def _reason(error: Exception) -> str:
    """One line: why a file was not tagged (or restored)."""
    if isinstance(error, TagProblem):
        return error.reason
    if isinstance(error, FileNotFoundError):
        return "missing"
    if isinstance(error, PermissionError):
        return "permission denied"
    if isinstance(error, OSError):
        return error.strerror or str(error)
    import mutagen

    if isinstance(error, mutagen.MutagenError):
        return f"mutagen cannot tag it ({error})"
    return f"failed ({type(error).__name__}: {error})"


def _changed(path: str, kind: str, expected: Values, values: Values) -> dict:
    """Write ``values`` into ``path`` if its values are still ``expected``; the row
    columns of its new bytes."""
    current = read_values(path, kind)
    if any(current[key] != value for key, value in expected.items()):
        raise TagProblem("its tags changed while genreflow ran")
    write_values(path, kind, values)
    status = os.stat(path)
    return {"checksum": file_digest(path), "size": status.st_size, "mtime_ns": status.st_mtime_ns}


# ---- a library ---------------------------------------------------------------------------


def library_rows(table: AppendedTable, model_id: str, root: str | os.PathLike) -> list[dict]:
    """The last row of each file under ``root`` classified by ``model_id``."""
    root = Path(root).absolute()
    last = {}
    for row in table.rows():
        if row["model_id"] == model_id and Path(row["path"]).is_relative_to(root):
            last[row["path"]] = row
    return list(last.values())


def plan_tags(rows: Iterable[Mapping], model_id: str) -> tuple[list[Change], TagSummary]:
    """The change each row's file needs; the summary counts the files already tagged so
    and those that cannot be tagged (the file changed since its row, no tag format…)."""
    changes, summary = [], TagSummary()
    for row in rows:
        try:
            change = _plan(row, model_id)
        except Exception as error:  # noqa: BLE001 (this file's reason, not the run's end)
            summary.skipped.append((str(row["path"]), _reason(error)))
            continue
        if change.new:
            changes.append(change)
        else:
            summary.unchanged += 1
    return changes, summary


def _plan(row: Mapping, model_id: str) -> Change:
    path = str(row["path"])
    kind = tag_kind(path)
    checksum = file_digest(path)
    if checksum != str(row["checksum"]):
        raise TagProblem("changed since it was classified (classify it again first)")
    _writable(path)
    old = read_values(path, kind)
    genre_key, comment_key = KEYS[kind]
    new = {genre_key: [str(row["genre"])], comment_key: [provenance(model_id, row["probability"])]}
    new = {key: value for key, value in new.items() if old[key] != value}
    return Change(path, kind, {key: old[key] for key in new}, new, checksum)


def tag_library(
    table: AppendedTable,
    model_id: str,
    root: str | os.PathLike,
    *,
    dry_run: bool = False,
    show: Callable[[str], object] = print,
) -> TagSummary:
    """Tag every file of ``table`` under ``root`` with its genre by ``model_id``; each
    change written is shown (one line a file). ``dry_run``: show them only."""
    require_mutagen()
    changes, summary = plan_tags(library_rows(table, model_id, root), model_id)
    summary.dry_run = dry_run
    if dry_run:
        for change in changes:
            show(change.describe())
        summary.changed = len(changes)
        return summary
    if not changes:
        return summary
    undo = undo_path(table.path)
    _write_undo(undo, table, model_id, changes)  # before any file is touched
    written, moved = [], {}
    try:
        for change in changes:
            try:
                moved[(change.path, change.checksum)] = _changed(
                    change.path, change.kind, change.old, change.new
                )
            except Exception as error:  # noqa: BLE001 (this file's reason, not the run's end)
                summary.skipped.append((change.path, _reason(error)))
                continue
            show(change.describe())
            written.append(change)
    finally:  # after a stop (Ctrl-C) too, the undo file of every planned change kept
        table.update_rows(moved)
    if written:
        _write_undo(undo, table, model_id, written)
        summary.changed, summary.undo_file = len(written), undo
    else:
        undo.unlink()
    return summary


def undo_path(table_path: Path) -> Path:
    """A new undo file beside the table: ``<table>.tags-undo-<time>.jsonl``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 1000):
        name = f"{table_path.stem}.tags-undo-{stamp}" + (f"-{n}" if n > 1 else "") + ".jsonl"
        if not (table_path.parent / name).exists():
            return table_path.parent / name
    raise GenreflowError(f"{table_path.parent}: too many undo files of this second")


def _write_undo(path: Path, table: AppendedTable, model_id: str, changes: list[Change]) -> None:
    header = {
        "genreflow": UNDO_MARK,
        "table": str(table.path.absolute()),
        "format": table.fmt,
        "model_id": model_id,
        "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    lines = [header] + [change.record() for change in changes]
    write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), path)


def read_undo(path: str | os.PathLike) -> tuple[dict, list[Change]]:
    """The header and the changes of an undo file, or a :class:`GenreflowError`."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        header = json.loads(lines[0]) if lines else {}
        if not isinstance(header, dict) or header.get("genreflow") != UNDO_MARK:
            raise ValueError("its first line is not an undo file's")
        changes = [Change(**json.loads(line)) for line in lines[1:] if line.strip()]
    except (OSError, ValueError, TypeError) as error:
        raise GenreflowError(
            f"{path}: not an undo file of genreflow classify --write-tags ({error})"
        ) from None
    return header, changes


def undo_tags(
    path: str | os.PathLike, *, dry_run: bool = False, show: Callable[[str], object] = print
) -> TagSummary:
    """Put back the old values an undo file records, in every file whose values are
    still the ones genreflow wrote (or already back); each restore is shown."""
    require_mutagen()
    header, changes = read_undo(path)
    summary, moved = TagSummary(verb="restored", dry_run=dry_run), {}
    try:
        _restore_all(changes, summary, moved, show)
    finally:  # after a stop (Ctrl-C) too
        if moved:
            _update_table(Path(header["table"]), header["format"], moved)
    return summary


def _restore_all(changes: list[Change], summary: TagSummary, moved: dict, show: Callable) -> None:
    """Restore each change's file (``summary.dry_run``: show it only), counting it in
    ``summary`` and its new row columns in ``moved``."""
    for change in changes:
        try:
            current = read_values(change.path, change.kind)
            restore = _restore(change, current)
            if not restore:
                summary.unchanged += 1
                continue
            _writable(change.path)
            if not summary.dry_run:
                before = file_digest(change.path)
                expected = {key: current[key] for key in restore}
                moved[(change.path, before)] = _changed(change.path, change.kind, expected, restore)
            show(Change(change.path, change.kind, current, restore).describe())
            summary.changed += 1
        except Exception as error:  # noqa: BLE001 (this file's reason, not the run's end)
            summary.skipped.append((change.path, _reason(error)))


def _restore(change: Change, current: Values) -> Values:
    """The keys to set back: those still at genreflow's values; a key at neither the
    old nor genreflow's value is a :class:`TagProblem` (someone changed it since)."""
    restore = {}
    for key, new in change.new.items():
        if current.get(key) == new and change.old[key] != new:
            restore[key] = change.old[key]
        elif current.get(key) != change.old[key]:
            raise TagProblem(
                f"its tags changed since they were written ({key} is now "
                f"{_shown(current.get(key))}): undo later taggings first"
            )
    return restore


def _update_table(path: Path, fmt: str, moved: Mapping[tuple[str, str], Mapping]) -> None:
    """Give the table's rows of the restored files their new checksums, if it is still
    there (otherwise a later classify classifies them again: harmless)."""
    if path.is_file():
        AppendedTable.existing(path, fmt).update_rows(moved)
