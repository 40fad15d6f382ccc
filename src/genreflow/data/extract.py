"""Safe archive extraction and the inventory of audio files a dataset copy holds."""

from __future__ import annotations

import logging
import os
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import pandas as pd

from genreflow.atomic import atomic_directory
from genreflow.audio import AUDIO_EXTENSIONS
from genreflow.errors import ArchiveError, DataError

__all__ = ["AUDIO_EXTENSIONS", "inventory", "safe_extract"]

log = logging.getLogger(__name__)


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract a tar (any compression) or zip archive into ``dest``, atomically.

    Members that would land outside ``dest`` (absolute paths, ``..``, links pointing
    out, device files) stop the extraction with :class:`ArchiveError`; tar archives go
    through :mod:`tarfile`'s ``"data"`` filter, zip members are checked here. The
    archive is only read. ``dest`` is replaced only once extraction has succeeded.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise ArchiveError(f"archive {archive} does not exist.")
    try:
        is_tar = tarfile.is_tarfile(archive)
    except (EOFError, OSError) as exc:
        raise ArchiveError(f"{archive} is damaged ({exc}): delete it and re-run.") from exc
    with atomic_directory(dest) as tmp:
        if is_tar:
            _extract_tar(archive, tmp)
        elif zipfile.is_zipfile(archive):
            _extract_zip(archive, tmp)
        else:
            raise ArchiveError(
                f"{archive} is neither a tar nor a zip archive: check dataset.source.points at "
                "the dataset archive (or at an extracted folder)."
            )
    return Path(dest)


def _extract_tar(archive: Path, dest: Path) -> None:
    try:
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")
    except tarfile.FilterError as exc:
        raise ArchiveError(
            f"{archive}: unsafe member refused ({exc}); nothing was extracted."
        ) from exc
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(
            f"{archive} is damaged ({exc}): delete it and re-run to download it again."
        ) from exc


def _extract_zip(archive: Path, dest: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                parts = PurePosixPath(member.replace("\\", "/")).parts
                if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
                    raise ArchiveError(
                        f"{archive}: unsafe member path {member!r} refused; nothing was extracted."
                    )
            bad = zf.testzip()
            if bad is not None:
                raise ArchiveError(
                    f"{archive}: member {bad} is corrupt; delete the archive and re-run."
                )
            zf.extractall(dest)
    except zipfile.BadZipFile as exc:
        raise ArchiveError(f"{archive} is damaged ({exc}): delete it and re-run.") from exc


def inventory(
    root: str | os.PathLike,
    *,
    prefer: str = "auto",
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS,
) -> pd.DataFrame:
    """List the audio files under ``root`` as ``track_id, path`` (track id = file stem).

    ``prefer`` picks the file when one track exists in several containers: ``"wav"``
    or ``"au"`` for GTZAN's two distributions, ``"auto"`` for the order of
    ``extensions``. Hidden files (e.g. macOS ``._`` resource forks) are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"dataset folder {root} does not exist: check dataset.source.")
    order = list(extensions)
    if prefer != "auto":
        preferred = f".{prefer.lstrip('.')}"
        order = [preferred] + [ext for ext in order if ext != preferred]
    rank = {ext: i for i, ext in enumerate(order)}
    chosen: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        ext = path.suffix.lower()
        if ext not in rank or path.name.startswith(".") or not path.is_file():
            continue
        track_id = path.name[: -len(path.suffix)]
        current = chosen.get(track_id)
        if current is None or rank[ext] < rank[current.suffix.lower()]:
            if current is not None:
                log.info("%s: using %s rather than %s", track_id, path.name, current.name)
            chosen[track_id] = path
    return pd.DataFrame(
        {"track_id": list(chosen), "path": [str(p) for p in chosen.values()]},
        columns=["track_id", "path"],
    ).sort_values("track_id", ignore_index=True)
