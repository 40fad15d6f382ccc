"""Atomic output writing: a file appears under its final name only when complete.

Snakemake treats an existing output as done, so every writer in genreflow goes
through :func:`atomic_path`: the content is written to a temporary sibling and
renamed into place with :func:`os.replace`, which is atomic on POSIX.

A temporary sibling is named ``.<name>.<host>.<pid>.<random>.tmp…``: a job killed with
SIGKILL cannot remove its own, so a process's first write into a folder removes every
temporary file there whose process on this host is gone (once per folder and process:
a feature job writing 1,700 per-track files into a folder of 100,000 lists it once, not
1,700 times). A full disk (``ENOSPC``, ``EDQUOT``) while writing
becomes one :class:`~genreflow.errors.DiskFullError` line naming the file.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from genreflow.errors import DiskFullError
from genreflow.processes import pid_alive

# mkstemp creates files readable by their owner only; outputs get the usual umask mode.
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
_HOST = socket.gethostname().split(".")[0] or "host"
_FULL = (errno.ENOSPC, errno.EDQUOT)
_CLEANED: set[str] = set()  # folders this process has removed abandoned temporary files from


def _temp_prefix(dest: Path) -> str:
    return f".{dest.name[:120]}.{_HOST[:40]}.{os.getpid()}."


def _remove_abandoned(dest: Path) -> None:
    """Remove the temporary files in ``dest``'s folder left by processes of this host that
    died, on this process's first write there."""
    folder = os.path.abspath(dest.parent)
    if folder in _CLEANED:
        return
    _CLEANED.add(folder)
    host = f".{_HOST[:40]}."
    for entry in dest.parent.glob(".*.tmp*"):
        before, found, after = entry.name.rpartition(host)
        pid = after.split(".", 1)[0]
        if found and before and pid.isdigit() and not pid_alive(int(pid)):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` or an exception it was raised from is a full disk or quota."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _full_error(dest: Path) -> DiskFullError:
    try:
        free = f"{shutil.disk_usage(dest.parent).free / 2**20:.0f} MiB free"
    except OSError:
        free = "free space unknown"
    return DiskFullError(
        f"{dest}: no space left on the device while writing it ({free} there); nothing "
        "was written under this name: free some space (or move results/ with a --directory "
        "elsewhere) and rerun the same command"
    )


@contextmanager
def atomic_path(dest: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it to ``dest`` on success.

    On any exception the temporary file is removed and ``dest`` is left as it was.
    ``suffix`` defaults to the destination's own, so writers that infer the format
    from the extension (soundfile, matplotlib) still work.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(dest)
    tmp = None
    try:
        fd, tmp_name = tempfile.mkstemp(
            prefix=_temp_prefix(dest),
            suffix=".tmp" + (dest.suffix if suffix is None else suffix),
            dir=dest.parent,
        )
        os.close(fd)
        os.chmod(tmp_name, _FILE_MODE)
        tmp = Path(tmp_name)
        yield tmp
        os.replace(tmp, dest)
    except BaseException as exc:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
        if _disk_full(exc):
            raise _full_error(dest) from exc
        raise


@contextmanager
def atomic_directory(dest: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory beside ``dest``; swap it into place on success.

    An existing ``dest`` is replaced only after the new content is complete.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(dest)
    tmp = None
    try:
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(dest), suffix=".tmp", dir=dest.parent))
        os.chmod(tmp, 0o777 & ~_UMASK)
        yield tmp
        if dest.exists():
            old = Path(
                tempfile.mkdtemp(prefix=_temp_prefix(dest), suffix=".tmp.old", dir=dest.parent)
            )
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException as exc:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if _disk_full(exc):
            raise _full_error(dest) from exc
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
