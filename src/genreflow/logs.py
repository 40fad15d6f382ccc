"""Logging for the Snakemake scripts: one log file per job, clear one-line errors."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from genreflow.errors import GenreflowError

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


@contextmanager
def script_logging(log_path: str | os.PathLike) -> Iterator[logging.Logger]:
    """Send log records to ``log_path`` and stderr; turn genreflow errors into one line.

    A :class:`~genreflow.errors.GenreflowError` is logged and ends the script with
    exit status 1 and its message (no traceback: the message says what to do).
    Anything else propagates with its traceback, which is a bug.
    """
    root = logging.getLogger()
    handlers = [logging.FileHandler(log_path, mode="w"), logging.StreamHandler(sys.stderr)]
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    logger = logging.getLogger("genreflow")
    try:
        yield logger
    except GenreflowError as exc:
        logger.error("%s", exc)
        raise SystemExit(f"ERROR: {exc}") from None
    finally:
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
