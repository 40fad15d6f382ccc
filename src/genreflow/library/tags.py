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
over it (:func:`genreflow.atomic.atomic_path`; a hard-linked file is overwritten in place,
so that every name sees the tags): a stop at any moment leaves each file old or new, never
half-written. Only tag blocks change; the audio bytes are copied as they are.

Before any file is touched, the old values of every key to change (``null``: absent) go
to an undo file (JSON Lines, written atomically, and again at the end with only the files
changed). Before each file is replaced, the one run of bytes its new tags change (a few
hundred bytes: :func:`changed_run`) is appended to it and flushed to disk. ``--undo FILE``
puts each file's very bytes back (its MD5 checked against the one it had), or, for a file
changed since its tagging, the old values, removing the keys that were absent; a file
whose genre tags were changed since is left alone. New tags change a file's bytes but
not its audio, so the table's rows of the old bytes get the new checksum, size and
modification time (:meth:`~genreflow.library.table.AppendedTable.update_rows`): a later
``classify`` skips the tagged files instead of classifying them again. ``--undo`` does
the same.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import mmap
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
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
BLOCK = 1 << 16  # bytes compared at a time when looking for the run tags changed

Values = dict[str, list[str] | None]


class TagProblem(Exception):
    """Why one file is not tagged (or not restored): its reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Change:
    """One file's tag change: each changed key's values before and after (``None``:
    absent), the file's MD5 when the change was planned, and, once written, the run of
    bytes it changed (:func:`changed_run`: what puts back the very bytes)."""

    path: str
    kind: str
    old: Values
    new: Values
    checksum: str = ""
    run: dict | None = None

    def describe(self) -> str:
        """``path: KEY old → new; …``, one line."""
        parts = [
            f"{key} {_shown(self.old[key])} → {_shown(value)}" for key, value in self.new.items()
        ]
        return f"{self.path}: " + "; ".join(parts)

    def record(self) -> dict:
        record = {"path": self.path, "kind": self.kind, "old": self.old, "new": self.new}
        record["checksum"] = self.checksum
        if self.run is not None:
            record["run"] = self.run
        return record


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


def write_values(
    path: str | os.PathLike,
    kind: str,
    values: Values,
    *,
    keep: Callable[[dict], object] | None = None,
) -> dict:
    """Set (``None``: remove) ``values`` in ``path``'s tags; a read-only file (no write
    permission bit, or not writable by this user) is a :class:`TagProblem`.

    A copy is tagged, then put in place (:func:`_rewrite`). Returns the run of bytes the
    tags changed (:func:`changed_run`, with the new bytes' MD5), which ``keep`` is given
    before the file is touched.
    """
    runs = []

    def tag(real: Path, tmp: Path) -> None:
        shutil.copyfile(real, tmp)
        _store(tmp, kind, values)
        runs.append(changed_run(real, tmp))
        if keep is not None:
            keep(runs[0])

    _rewrite(path, tag)
    return runs[0]


def _rewrite(path: str | os.PathLike, fill: Callable[[Path, Path], object]) -> None:
    """Give ``path`` the bytes ``fill(file, tmp)`` writes into a temporary file: renamed
    over it with its mode and owner kept (a stop at any moment leaves it old or new); a
    file with other hard links is overwritten in place, so that every name sees them; a
    symbolic link's target is rewritten."""
    real = Path(os.path.realpath(path))
    status = _writable(real)
    if status.st_nlink > 1:
        with tempfile.TemporaryDirectory(prefix="genreflow-tags-") as folder:
            tmp = Path(folder) / real.name
            fill(real, tmp)
            _overwrite(real, tmp)
        return
    with atomic_path(real) as tmp:
        fill(real, tmp)
        shutil.copymode(real, tmp)
        try:
            os.chown(tmp, status.st_uid, status.st_gid)
        except OSError:
            pass  # another user's file in a folder of ours: it becomes ours


def changed_run(original: Path, changed: Path) -> dict:
    """Where ``changed`` differs from ``original``, as one run of bytes: its start
    (``at``), the original's bytes there (``original``, base64), the changed run's length
    (``length``) and the changed file's MD5 (``md5``).

    New tags change one region of a file (mutagen keeps the audio bytes and fills a tag's
    padding), so the run is a few hundred bytes; a format that moves the audio makes it
    longer, never wrong. :func:`splice_run` puts the original bytes back.
    """
    start, end = _differing(original, changed)
    with original.open("rb") as handle:
        handle.seek(start)
        middle = handle.read(original.stat().st_size - end - start)
    return {
        "at": start,
        "original": base64.b64encode(middle).decode("ascii"),
        "length": changed.stat().st_size - start - end,
        "md5": file_digest(changed),
    }


def _overwrite(real: Path, new: Path) -> None:
    """Give ``real`` (a file with other hard links: no new inode) ``new``'s bytes: where
    the size stays, one write of the run that differs; else the whole file."""
    if real.stat().st_size != new.stat().st_size:
        shutil.copyfile(new, real)
        return
    start, end = _differing(real, new)
    with new.open("rb") as source, real.open("r+b") as dest:
        source.seek(start)
        dest.seek(start)
        dest.write(source.read(real.stat().st_size - end - start))
        dest.flush()
        os.fsync(dest.fileno())


def _differing(a: Path, b: Path) -> tuple[int, int]:
    """The bytes ``a`` and ``b`` share at their start and at their end (not overlapping)."""
    with a.open("rb") as first, b.open("rb") as second, contextlib.ExitStack() as maps:
        x, y = (_mapped(handle, maps) for handle in (first, second))
        shorter = min(len(x), len(y))
        start = _shared(x, y, shorter)
        return start, _shared(x, y, shorter - start, from_end=True)


def _mapped(handle, maps: contextlib.ExitStack) -> bytes | mmap.mmap:
    """The file's bytes, mapped until ``maps`` closes (an empty file cannot be)."""
    if os.fstat(handle.fileno()).st_size == 0:
        return b""
    return maps.enter_context(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))


def _shared(a, b, limit: int, *, from_end: bool = False) -> int:
    """How many bytes ``a`` and ``b`` share at their start (or end), at most ``limit``."""
    done = 0
    while done < limit:
        size = min(BLOCK, limit - done)
        if from_end:
            x, y = a[len(a) - done - size : len(a) - done], b[len(b) - done - size : len(b) - done]
            x, y = x[::-1], y[::-1]
        else:
            x, y = a[done : done + size], b[done : done + size]
        if x != y:
            return done + next(i for i, (p, q) in enumerate(zip(x, y)) if p != q)
        done += size
    return limit


def splice_run(source: Path, dest: Path, run: Mapping) -> None:
    """Write ``source`` into ``dest`` with its run of ``run["length"]`` bytes at
    ``run["at"]`` replaced by ``run["original"]``: the file before :func:`changed_run`."""
    with source.open("rb") as old, dest.open("wb") as new:
        _copy(old, new, run["at"])
        new.write(base64.b64decode(run["original"]))
        old.seek(run["at"] + run["length"])
        shutil.copyfileobj(old, new)


def _copy(source, dest, count: int) -> None:
    while count:
        chunk = source.read(min(BLOCK, count))
        if not chunk:
            raise TagProblem("shorter than the run of bytes its tags changed")
        dest.write(chunk)
        count -= len(chunk)


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


def _changed(
    path: str,
    kind: str,
    expected: Values,
    values: Values,
    keep: Callable[[dict], object] | None = None,
) -> tuple[dict, dict]:
    """Write ``values`` into ``path`` if its values are still ``expected`` (``keep``: as
    :func:`write_values`'s); the row columns of its new bytes, and the changed run."""
    current = read_values(path, kind)
    if any(current[key] != value for key, value in expected.items()):
        raise TagProblem("its tags changed while genreflow ran")
    run = write_values(path, kind, values, keep=keep)
    return _columns(path, run["md5"]), run


def _columns(path: str, checksum: str) -> dict:
    """The table's columns of ``path``, whose bytes have the MD5 ``checksum``."""
    status = os.stat(path)
    return {"checksum": checksum, "size": status.st_size, "mtime_ns": status.st_mtime_ns}


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
        with undo.open("a", encoding="utf-8") as log:
            for change in changes:
                keep = functools.partial(_log_run, log, change.path)
                try:
                    moved[(change.path, change.checksum)], run = _changed(
                        change.path, change.kind, change.old, change.new, keep
                    )
                except Exception as error:  # noqa: BLE001 (this file's reason, not the run's end)
                    summary.skipped.append((change.path, _reason(error)))
                    continue
                show(change.describe())
                written.append(replace(change, run=run))
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


def _log_run(log, path: str, run: dict) -> None:
    """Append ``path``'s changed run to the undo file, on disk before the file changes (a
    stop after it leaves the undo file able to restore the file's very bytes)."""
    log.write(json.dumps({"path": path, "run": run}) + "\n")
    log.flush()
    os.fsync(log.fileno())


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
        lines = [line for line in Path(path).read_text(encoding="utf-8").splitlines() if line]
        header = json.loads(lines[0]) if lines else {}
        if not isinstance(header, dict) or header.get("genreflow") != UNDO_MARK:
            raise ValueError("its first line is not an undo file's")
        changes, runs = [], {}
        for number, line in enumerate(lines[1:], start=2):
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):
                    break  # a run's line cut short by a stop: its file was not touched
                raise
            if "old" in record:
                changes.append(Change(**record))
            else:  # a run logged while tagging (a stop before the file's final line)
                runs[record["path"]] = record["run"]
        changes = [
            replace(c, run=runs[c.path]) if c.run is None and c.path in runs else c for c in changes
        ]
    except (OSError, ValueError, TypeError, KeyError) as error:
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
                if change.run is not None and change.checksum and before == change.run["md5"]:
                    moved[(change.path, before)] = _put_back(change)
                else:  # changed since (another tagging): its values, not its bytes
                    expected = {key: current[key] for key in restore}
                    moved[(change.path, before)], _ = _changed(
                        change.path, change.kind, expected, restore
                    )
            show(Change(change.path, change.kind, current, restore).describe())
            summary.changed += 1
        except Exception as error:  # noqa: BLE001 (this file's reason, not the run's end)
            summary.skipped.append((change.path, _reason(error)))


def _put_back(change: Change) -> dict:
    """The file's bytes before its tagging, from its recorded run; the row columns."""

    def splice(real: Path, tmp: Path) -> None:
        splice_run(real, tmp, change.run)
        if file_digest(tmp) != change.checksum:
            raise TagProblem("its recorded bytes do not give back the file it was")

    _rewrite(change.path, splice)
    return _columns(change.path, change.checksum)


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
