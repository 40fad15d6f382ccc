"""The table ``genreflow classify`` writes: one row per classified file, resumable.

Rows are appended in batches, each with one ``write`` and an ``fsync``, so a run
stopped at any moment (Ctrl-C, SIGKILL) leaves every earlier batch whole; the next
run cuts a batch that a crash left half-written (a last line without its newline)
and skips the files whose content checksum already has a row for the same model id.
CSV (``.csv``) or JSON Lines (``.jsonl``); the errors of the latest run go to a CSV
beside it (``<name>.errors.csv``), rewritten by each run.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from genreflow.atomic import atomic_path
from genreflow.errors import GenreflowError

FORMATS = ("csv", "jsonl")
# file names are bytes on Linux: one that is not UTF-8 round-trips as surrogates
TEXT = {"encoding": "utf-8", "errors": "surrogateescape"}
ERROR_COLUMNS = ("path", "reason", "detail")


def row_columns(top_k: int) -> list[str]:
    """The CSV columns of a table with ``top_k`` genres per file."""
    ranked = [f"{what}_{k}" for k in range(1, top_k + 1) for what in ("genre", "probability")]
    return [
        "path",
        "checksum",
        "size",
        "mtime_ns",
        "genre",
        "probability",
        *ranked,
        "duration_s",
        "excerpt",
        "model_id",
        "warnings",
    ]


def table_format(out: Path, fmt: str | None) -> str:
    """The format of the table ``out``: ``fmt``, else from its suffix (``.jsonl``)."""
    return fmt or ("jsonl" if Path(out).suffix == ".jsonl" else "csv")


def errors_path(out: Path) -> Path:
    """Where the errors of a run writing ``out`` go."""
    return out.with_name(f"{out.stem}.errors.csv")


class AppendedTable:
    """An output table opened for appending whole batches of rows."""

    def __init__(self, path: Path, fmt: str, columns: Sequence[str], *, fresh: bool) -> None:
        if fmt not in FORMATS:
            raise GenreflowError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
        self.path, self.fmt, self.columns = Path(path), fmt, list(columns)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not fresh and self.path.exists():
            _cut_half_written_batch(self.path)
        if fresh or not self.path.exists() or self.path.stat().st_size == 0:
            _write(self.path, self._header(), mode="w")
        else:
            self._check_header()

    @classmethod
    def existing(cls, path: Path, fmt: str) -> AppendedTable:
        """An existing table, opened with the columns its own header names."""
        columns: list[str] = []
        if fmt == "csv":
            with Path(path).open(newline="", **TEXT) as handle:
                columns = next(csv.reader([handle.readline()]), [])
        return cls(path, fmt, columns, fresh=False)

    def rows(self) -> Iterable[dict]:
        """The rows already in the table (read lazily)."""
        with self.path.open(newline="", **TEXT) as handle:
            if self.fmt == "csv":
                yield from csv.DictReader(handle)
            else:
                for line in handle:
                    if line.strip():
                        yield json.loads(line)

    def append(self, rows: Sequence[Mapping]) -> None:
        """Append ``rows`` as one write, flushed to disk."""
        if rows:
            _write(self.path, self._render(rows), mode="a")

    def _render(self, rows: Sequence[Mapping]) -> str:
        if self.fmt == "jsonl":
            return "".join(json.dumps(dict(row), sort_keys=True) + "\n" for row in rows)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, self.columns, lineterminator="\n")
        writer.writerows({k: _cell(row.get(k)) for k in self.columns} for row in rows)
        return buffer.getvalue()

    def _header(self) -> str:
        return ",".join(self.columns) + "\n" if self.fmt == "csv" else ""

    def _check_header(self) -> None:
        with self.path.open(newline="", **TEXT) as handle:
            first = handle.readline()
        if self.fmt == "jsonl":
            if not first.startswith("{"):
                raise GenreflowError(
                    f"{self.path}: not a JSON Lines table of genreflow classify; write to "
                    "another --out, or pass --force to replace it"
                )
            return
        found = next(csv.reader([first]), [])
        if found != self.columns:
            raise GenreflowError(
                f"{self.path}: its columns are not this run's ({len(found)} found, "
                f"{len(self.columns)} expected: another --top-k or another genreflow?); "
                "write to another --out, or pass --force to replace it"
            )

    def drop_superseded(self, paths: set[str], model_id: str) -> None:
        """Rewrite the table (atomically) keeping only the last row of each of ``paths``
        for ``model_id``: files whose bytes changed and were classified again."""
        rows = list(self.rows())
        last = {row["path"]: i for i, row in enumerate(rows) if row["model_id"] == model_id}
        kept = [
            row
            for i, row in enumerate(rows)
            if row["path"] not in paths or row["model_id"] != model_id or last[row["path"]] == i
        ]
        with atomic_path(self.path) as tmp:
            _write(tmp, self._header() + self._render(kept), mode="w")

    def update_rows(self, changes: Mapping[tuple[str, str], Mapping[str, object]]) -> int:
        """Rewrite the table (atomically), giving each row whose ``(path, checksum)`` is a
        key of ``changes`` that key's values (new tags: new bytes, the same audio); the
        number of rows changed."""
        rows, changed = [], 0
        for row in self.rows():
            new = changes.get((str(row["path"]), str(row["checksum"])))
            if new:
                row, changed = {**row, **new}, changed + 1
            rows.append(row)
        if changed:
            with atomic_path(self.path) as tmp:
                _write(tmp, self._header() + self._render(rows), mode="w")
        return changed


def _write(path: Path, text: str, mode: str) -> None:
    with path.open(mode, newline="", **TEXT) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def _cell(value: object) -> object:
    return "" if value is None else value


def _cut_half_written_batch(path: Path) -> None:
    """Truncate ``path`` after its last newline (a batch a crash cut short)."""
    with path.open("rb+") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        step = min(size, 1 << 16)
        position = size
        while position > 0:
            position = max(0, position - step)
            handle.seek(position)
            chunk = handle.read(min(step, size - position))
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                handle.truncate(position + cut + 1)
                return
        handle.truncate(0)


def walk_problem_rows(problems: Sequence[str]) -> list[dict]:
    """Rows of the errors table for the problems of a walk (``"<path>: <detail>"``, from
    :func:`~genreflow.collection.discover.walk_audio`): ``symlink loop``, ``broken
    symlink`` or ``unreadable``."""
    rows = []
    for problem in problems:
        path, _, detail = problem.partition(": ")
        reason = "symlink loop" if "symlink loop" in detail else "unreadable"
        reason = "broken symlink" if "broken symlink" in detail else reason
        rows.append({"path": path, "reason": reason, "detail": detail})
    return rows
