"""One shard of a music library classified: the job of rule ``classify_shard`` (the
workflow's ``classify`` target; the listing and the merge are
:mod:`genreflow.library.listing`'s).

The shard's files go through the same per-file code as ``genreflow classify``
(:func:`~genreflow.library.classify.classify_chunk`: each chunk's songs decoded, then
run through the network together; one row per file, one error row per bad file) in
this process, and both tables are written whole, atomically, at the end: a job cut
short leaves nothing, and Snakemake runs it again.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Sequence

from genreflow.library.classify import (
    LibrarySummary,
    Options,
    _start_worker,
    classify_chunk,
    model_id,
)
from genreflow.library.listing import write_rows
from genreflow.library.table import ERROR_COLUMNS, row_columns

LOG_SECONDS = 10.0
log = logging.getLogger(__name__)


def classify_shard(
    paths: Sequence[str],
    table: str | os.PathLike,
    errors: str | os.PathLike,
    options: Options,
    *,
    chunk: int = 8,
) -> LibrarySummary:
    """Classify ``paths`` with the model of ``options``
    (:class:`~genreflow.library.classify.Options`, in this process, with its
    ``threads`` torch threads) into ``table`` (one row per file) and ``errors`` (one
    row per file that could not be classified), both written whole at the end; a
    :class:`~genreflow.library.classify.LibrarySummary` of what was done."""
    identity = model_id(options.model_dir)
    _start_worker(options, set())  # the model, loaded once; nothing counts as done
    summary = LibrarySummary()
    rows, failures = [], []
    started = last_line = time.monotonic()
    for batch in _batches(paths, chunk):
        for kind, record in classify_chunk(batch):
            if kind == "row":
                record["model_id"] = identity
                rows.append(record)
                summary.classified += 1
            else:
                failures.append(record)
                summary.failed[record["reason"]] += 1
        if time.monotonic() - last_line >= LOG_SECONDS:
            done = summary.classified + sum(summary.failed.values())
            log.info("%d/%d files", done, len(paths))
            last_line = time.monotonic()
    write_rows(table, row_columns(options.top_k), rows)
    write_rows(errors, ERROR_COLUMNS, failures)
    summary.seconds = time.monotonic() - started
    return summary


def _batches(paths: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(paths), size):
        yield list(paths[start : start + size])
