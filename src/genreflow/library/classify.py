"""``genreflow classify``: a whole music library through one trained model.

The folder tree is walked lazily (:func:`~genreflow.collection.discover.walk_audio`:
sorted, links followed, loops refused), files go to ``jobs`` worker processes in
chunks, each worker decodes every file's excerpt (the one the model was trained on;
``whole``: all of it) and runs the chunk's windows through the network in one batch,
and the main process appends the rows in batches (:mod:`genreflow.library.table`). A
file whose content checksum already has a row for this model id is skipped, so a
stopped run is finished by running it again; a bad file is one row of the errors
table, never the end of the run.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from genreflow.collection.discover import walk_audio
from genreflow.errors import GenreflowError
from genreflow.library.table import (
    ERROR_COLUMNS,
    AppendedTable,
    errors_path,
    row_columns,
    table_format,
    walk_problem_rows,
)

PROBABILITY_DIGITS = 4
FLUSH_SECONDS = 5.0
PARENT_CHECK_S = 1.0  # how often a pool worker checks that the command still runs


@dataclass(frozen=True)
class Options:
    """How every file is classified (what a worker needs)."""

    model_dir: str
    device: str = "cpu"
    whole: bool = False
    top_k: int = 3
    threads: int = 1


@dataclass
class LibrarySummary:
    """What a run did: files classified, skipped as done, failed by reason."""

    classified: int = 0
    skipped: int = 0
    failed: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def describe(self) -> str:
        failed = sum(self.failed.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in self.failed.most_common())
        rate = self.classified / self.seconds if self.seconds else 0.0
        return (
            f"{self.classified} classified ({rate:.1f} files/s), {self.skipped} skipped "
            f"(already in the table), {failed} failed" + (f" ({reasons})" if reasons else "")
        )


def model_id(model_dir: str | os.PathLike) -> str:
    """``<folder>@<first 12 hex of the artifact's SHA-256>``: what a row was classified by."""
    from genreflow.saved import saved_artifact

    artifact = saved_artifact(model_dir)
    with artifact.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return f"{Path(model_dir).name}@{digest[:12]}"


def classify_library(
    library: str | os.PathLike,
    out: str | os.PathLike,
    options: Options,
    *,
    fmt: str | None = None,
    jobs: int = 1,
    chunk: int = 8,
    force: bool = False,
    progress: bool | None = None,
) -> LibrarySummary:
    """Classify every audio file under ``library`` into the table ``out``; see the module."""
    root = Path(library).absolute()
    if not root.is_dir():
        raise GenreflowError(f"{library}: not a folder; give the folder that holds your music")
    out = Path(out)
    fmt = table_format(out, fmt)
    identity = model_id(options.model_dir)
    table = AppendedTable(out, fmt, row_columns(options.top_k), fresh=force)
    done_content: set[tuple[str, str]] = set()
    done_stat: set[tuple[str, str, str]] = set()
    for row in table.rows():
        if row["model_id"] == identity:
            done_content.add((str(row["path"]), str(row["checksum"])))
            done_stat.add((str(row["path"]), str(row["size"]), str(row["mtime_ns"])))
    errors = AppendedTable(errors_path(out), "csv", ERROR_COLUMNS, fresh=True)

    summary = LibrarySummary()
    problems: list[str] = []
    total = sum(1 for _ in walk_audio(root, [], Counter()))
    bar = _Progress(total, progress)
    started = time.perf_counter()

    def todo() -> Iterator[list[str]]:
        batch: list[str] = []
        for path in walk_audio(root, problems, Counter()):
            if _unchanged(path, done_stat):
                summary.skipped += 1
                bar.update(1)
                continue
            batch.append(str(path))
            if len(batch) == chunk:
                yield batch
                batch = []
        if batch:
            yield batch

    rows: list[dict] = []
    done_paths = {path for path, _ in done_content}
    redone: set[str] = set()  # paths classified again (their bytes changed)
    flushed = time.monotonic()
    try:
        for outcomes in _run(todo(), options, done_content, jobs):
            for kind, record in outcomes:
                if kind == "row":
                    record["model_id"] = identity
                    rows.append(record)
                    summary.classified += 1
                    if record["path"] in done_paths:
                        redone.add(record["path"])
                elif kind == "done":
                    summary.skipped += 1
                else:
                    errors.append([record])
                    summary.failed[record["reason"]] += 1
            bar.update(len(outcomes))
            if len(rows) >= chunk * max(1, jobs) or time.monotonic() - flushed > FLUSH_SECONDS:
                table.append(rows)
                rows, flushed = [], time.monotonic()
    except BrokenProcessPool:
        raise GenreflowError(
            "a worker process died (out of memory?); the table keeps every file done so "
            "far: run the same command again, with fewer --jobs or a smaller --batch"
        ) from None
    finally:
        table.append(rows)  # what was classified before a stop is kept
    if redone:
        table.drop_superseded(redone, identity)
    for row in walk_problem_rows(problems):
        errors.append([row])
        summary.failed[row["reason"]] += 1
    bar.close()
    summary.seconds = time.perf_counter() - started
    return summary


def _unchanged(path: Path, done_stat: set[tuple[str, str, str]]) -> bool:
    """Whether ``path`` has a row and its size and modification time are the row's."""
    if not done_stat:
        return False
    try:
        status = path.stat()
    except OSError:
        return False
    return (str(path), str(status.st_size), str(status.st_mtime_ns)) in done_stat


def _run(
    chunks: Iterable[list[str]], options: Options, done: set[tuple[str, str]], jobs: int
) -> Iterator[list[tuple[str, dict]]]:
    """Each chunk's outcomes, in any order; at most ``2 * jobs`` chunks in flight."""
    if jobs <= 1:
        _start_worker(options, done)
        for paths in chunks:
            yield classify_chunk(paths)
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no torch or thread state forked
    start = (options, done, os.getpid())
    with ProcessPoolExecutor(jobs, context, _start_worker, start) as pool:
        pending: set[Future] = set()
        for paths in chunks:
            pending.add(pool.submit(classify_chunk, paths))
            if len(pending) >= 2 * jobs:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        for future in pending:
            yield future.result()


# ---- the worker side ---------------------------------------------------------------

_WORKER: dict = {}


def _start_worker(options: Options, done: set[tuple[str, str]], parent: int | None = None) -> None:
    """Load the model once per worker process. A pool's worker (``parent``: the command's
    process id) ends itself once the command is gone: killed with SIGKILL, the command
    leaves its workers waiting for work, each holding a model, until they are killed."""
    if parent is not None:
        threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    import torch

    from genreflow.inference.classifier import load_classifier

    torch.set_num_threads(options.threads)
    _WORKER.update(
        classifier=load_classifier(options.model_dir, device=options.device),
        options=options,
        done=frozenset(done),
    )


def _end_with(parent: int) -> None:
    """End this process when ``parent`` is no longer its parent (it died)."""
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(1)


def classify_chunk(paths: list[str]) -> list[tuple[str, dict]]:
    """``("row", row)``, ``("done", {"path": …})`` or ``("error", {path, reason,
    detail})`` for each of ``paths``; the decoded songs go through the model together.
    A file that fails in any way is its own error row ("failed" and the exception when
    no named reason fits)."""
    from genreflow.inference.songs import SongError

    classifier, options, done = _WORKER["classifier"], _WORKER["options"], _WORKER["done"]
    outcomes: dict[str, tuple[str, dict]] = {}
    audios, rows = [], []
    for path in paths:
        try:
            status, checksum = _checksum(path)
            if (path, checksum) in done:
                outcomes[path] = ("done", {"path": path})
                continue
            audio = classifier.read(path, whole=options.whole)
        except SongError as error:
            reason, _, detail = error.reason.partition(": ")
            outcomes[path] = ("error", {"path": path, "reason": reason, "detail": detail})
            continue
        except _FileProblem as problem:
            outcomes[path] = ("error", {"path": path, **problem.record})
            continue
        except Exception as error:  # noqa: BLE001 (a decoder's failure is this file's, not the run's)
            outcomes[path] = ("error", _failed(path, error))
            continue
        audios.append(audio)
        rows.append(
            {
                "path": path,
                "checksum": checksum,
                "size": status.st_size,
                "mtime_ns": status.st_mtime_ns,
                "duration_s": round(audio.duration_s, 3),
                "excerpt": _excerpt(classifier, audio.duration_s, options.whole),
            }
        )
    try:
        predictions = classifier.predict_audios(audios)
    except Exception:  # noqa: BLE001 (then one song at a time: only the culprit fails)
        predictions = []
        for audio in audios:
            try:
                predictions.append(classifier.predict_audio(audio))
            except Exception as error:  # noqa: BLE001 (this song's error row)
                predictions.append(error)
    for row, prediction in zip(rows, predictions):
        if isinstance(prediction, Exception):
            outcomes[row["path"]] = ("error", _failed(row["path"], prediction))
        else:
            outcomes[row["path"]] = ("row", _row(row, prediction, options.top_k))
    return [outcomes[path] for path in paths]


def _failed(path: str, error: Exception) -> dict:
    return {"path": path, "reason": "failed", "detail": f"{type(error).__name__}: {error}"}


class _FileProblem(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.record = {"reason": reason, "detail": detail}


def _checksum(path: str) -> tuple[os.stat_result, str]:
    """The file's status and the MD5 of its bytes, or a :class:`_FileProblem`."""
    try:
        status = os.stat(path)
        if status.st_size == 0:
            raise _FileProblem("zero bytes", "the file is empty")
        with open(path, "rb") as handle:
            digest = hashlib.file_digest(handle, "md5").hexdigest()
    except FileNotFoundError:
        raise _FileProblem("missing", "the file disappeared before it was read") from None
    except PermissionError as error:
        raise _FileProblem("unreadable", f"permission denied ({error.strerror})") from None
    except OSError as error:
        raise _FileProblem("unreadable", error.strerror or str(error)) from None
    return status, digest


def _excerpt(classifier, duration_s: float, whole: bool) -> str:
    """The part of the file classified, in seconds (``whole`` for all of it)."""
    excerpt = classifier.settings.excerpt
    spans = [(0.0, None)] if whole or excerpt is None else excerpt.spans(duration_s)
    if spans == [(0.0, None)]:
        return "whole"
    return "; ".join(f"{start:g}-{start + length:g} s" for start, length in spans)


def _row(base: dict, prediction, top_k: int) -> dict:
    top = prediction.top(top_k)
    ranked = {}
    for k, (genre, probability) in enumerate(top, start=1):
        ranked[f"genre_{k}"] = genre
        ranked[f"probability_{k}"] = round(probability, PROBABILITY_DIGITS)
    return {
        **base,
        "genre": top[0][0],
        "probability": round(top[0][1], PROBABILITY_DIGITS),
        **ranked,
        "warnings": "; ".join(prediction.warnings),
    }


class _Progress:
    """A tqdm bar on a terminal; a log line every 10 s otherwise."""

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.last_line = self.started
        terminal = sys.stderr.isatty() if enabled is None else enabled
        self.bar = None
        if terminal:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", desc="classify", file=sys.stderr)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        now = time.monotonic()
        if now - self.last_line >= 10 or self.done == self.total:
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate else float("inf")
            print(
                f"genreflow classify: {self.done}/{self.total} files, {rate:.1f} files/s, "
                f"about {left / 60:.0f} min left",
                file=sys.stderr,
                flush=True,
            )
            self.last_line = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
