"""Atomic output writing: a file appears under its final name only when complete.

Snakemake treats an existing output as done, so every writer in genreflow goes
through :func:`atomic_path`: the content is written to a temporary sibling and
renamed into place with :func:`os.replace`, which is atomic on POSIX.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

# mkstemp creates files readable by their owner only; outputs get the usual umask mode.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK


@contextmanager
def atomic_path(dest: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it to ``dest`` on success.

    On any exception the temporary file is removed and ``dest`` is left as it was.
    ``suffix`` defaults to the destination's own, so writers that infer the format
    from the extension (soundfile, matplotlib) still work.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{dest.name}.",
        suffix=".tmp" + (dest.suffix if suffix is None else suffix),
        dir=dest.parent,
    )
    os.close(fd)
    os.chmod(tmp_name, _FILE_MODE)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``dest``; swap it into place on success.

    An existing ``dest`` is replaced only after the new content is complete.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_csv(table: pd.DataFrame, dest: str | os.PathLike) -> None:
    """Write ``table`` as CSV (no index) atomically."""
    with atomic_path(dest) as tmp:
        table.to_csv(tmp, index=False)


def write_json(data: Any, dest: str | os.PathLike) -> None:
    """Write ``data`` as indented JSON atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")


def write_text(text: str, dest: str | os.PathLike) -> None:
    """Write ``text`` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_text(text)


def write_bytes(data: bytes, dest: str | os.PathLike) -> None:
    """Write ``data`` atomically."""
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)
