"""A music library's listing in shards, and the shards' tables merged: the workflow's
``classify`` target (``workflow/rules/library.smk``), less the classification itself
(:mod:`genreflow.library.shards`).

Checkpoint ``list_library`` walks the library once
(:func:`~genreflow.collection.discover.walk_audio`: sorted, links followed, loops
refused) and writes the listing in shards of N files (:func:`write_listing`); each
shard is one job; :func:`merge_tables` joins the shard tables, in the listing's order,
into one table and one errors table. Nothing here loads a model or decodes audio.

A shard lists absolute paths as a JSON array: any file name (a line break, bytes that
are not UTF-8) survives the round trip.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from genreflow.atomic import atomic_directory, atomic_path, write_json
from genreflow.collection.discover import walk_audio
from genreflow.errors import DataError, GenreflowError
from genreflow.library.table import ERROR_COLUMNS, AppendedTable, walk_problem_rows

SHARD_DIGITS = 5  # at least (workflow/rules/common.smk's `part` wildcard)


def shard_name(index: int) -> str:
    """The file name (without suffix) of the shard ``index``: ``00000``, ``00001``, …"""
    return f"{index:0{SHARD_DIGITS}d}"


def shards_of(paths: Sequence[str], shard_files: int) -> list[list[str]]:
    """``paths`` (in their order) cut into consecutive shards of ``shard_files``."""
    if shard_files < 1:
        raise ValueError(f"shard_files must be at least 1, not {shard_files}")
    return [list(paths[i : i + shard_files]) for i in range(0, len(paths), shard_files)]


def write_listing(
    library: str | os.PathLike,
    shard_files: int,
    listing: str | os.PathLike,
    problems_table: str | os.PathLike,
    info: str | os.PathLike,
) -> dict:
    """Walk ``library`` once and write its audio files, in walk order, as shards of
    ``shard_files`` (``listing/<i>.json``, written as one folder), the walk's problems
    as rows of an errors table (``problems_table``) and the counts (``info``: files,
    shards, non-audio files skipped by extension). Returns the counts."""
    root = Path(library).absolute()
    if not root.is_dir():
        raise GenreflowError(f"classify.library: {library}: not a folder")
    problems: list[str] = []
    skipped: Counter = Counter()
    paths = [str(path) for path in walk_audio(root, problems, skipped)]
    shards = shards_of(paths, shard_files)
    with atomic_directory(listing) as staging:
        for index, shard in enumerate(shards):
            (staging / f"{shard_name(index)}.json").write_text(json.dumps(shard, indent=0) + "\n")
    write_rows(problems_table, ERROR_COLUMNS, walk_problem_rows(problems))
    counts = {
        "library": str(root),
        "files": len(paths),
        "shard_files": shard_files,
        "shards": len(shards),
        "problems": len(problems),
        "skipped": dict(sorted(skipped.items())),
    }
    write_json(counts, info)
    return counts


def read_shard(path: str | os.PathLike) -> list[str]:
    """The file paths a shard lists."""
    paths = json.loads(Path(path).read_text())
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise DataError(f"{path}: not a shard listing (a JSON array of file paths)")
    return paths


def write_rows(dest: str | os.PathLike, columns: Sequence[str], rows: Sequence[dict]) -> None:
    """A CSV of ``rows`` in the format of ``genreflow classify``'s tables, atomically."""
    with atomic_path(dest) as tmp:
        AppendedTable(tmp, "csv", columns, fresh=True).append(rows)


def merge_tables(
    parts: Sequence[str | os.PathLike], dest: str | os.PathLike, columns: Sequence[str]
) -> None:
    """The CSV tables ``parts`` (each with ``columns``) joined, in their order, into
    ``dest``: one header, the rows copied byte for byte; no parts, a header alone."""
    if not parts:
        write_rows(dest, columns, [])
        return
    with atomic_path(dest) as tmp, tmp.open("wb") as out:
        for index, part in enumerate(parts):
            with open(part, "rb") as handle:
                header = handle.readline()
                found = next(csv.reader([header.decode("utf-8", "surrogateescape")]), [])
                if found != list(columns):
                    raise DataError(
                        f"{part}: its columns are not {', '.join(columns)}; a table of "
                        "another genreflow or top_k: delete it and rerun"
                    )
                if index == 0:
                    out.write(header)
                shutil.copyfileobj(handle, out)
        out.flush()
        os.fsync(out.fileno())
