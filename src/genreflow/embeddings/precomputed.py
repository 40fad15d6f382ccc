"""Precomputed embeddings: a feature set read from files another tool wrote.

``features.sets.<name>: {kind: precomputed, path: PATH, frame_seconds: S or null}``
names embeddings computed elsewhere (MERT, CLAP, MuQ, a MARBLE run, ...), one array per
track of the dataset, either

* a folder of ``<track_id>.npy`` files, or
* one ``.npz`` file keyed by track id (``np.savez(path, **{track_id: array})``),

each array of shape ``(frames, dimensions)`` or ``(dimensions,)`` (one frame). The
workflow decodes no audio for such a set: rule ``import_precomputed`` checks and copies
each track's array into the feature stage's own layout (``(dimensions × frames)``
float32 per track) and records one SHA-256 over the source's bytes; consolidation then
treats it like any embedding set (``<name>@<clip segmentation>``: the mean over its
frames; ``<name>@<segmentation>`` cut in frames of ``frame_seconds`` when that is
given).

This module is light (numpy and the standard library; no pandas or torch): the plan
reads each array's header (:meth:`PrecomputedSource.header`) when the workflow is
parsed, and the values too where they are small (:data:`PLAN_VALUE_BYTES`), so a
missing track, a second dimensionality or a NaN stops the run before any job.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

PRECOMPUTED = "precomputed"
FORMATS = ("npy_folder", "npz")
# the values the plan reads to find NaN and infinities when it is parsed: up to this
# many bytes over all tracks (a clip-level set of GTZAN: 3 MB); larger sets are
# checked by rule import_precomputed, which stops at the first bad track
PLAN_VALUE_BYTES = 32 * 2**20
# ids listed in a problem line
SHOWN = 5


class PrecomputedError(ValueError):
    """A precomputed set's file is unusable; the message is one line naming it."""


@dataclass(frozen=True)
class Header:
    """What an array's ``.npy`` header says: its shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def dimensions(self) -> int | None:
        """The size of one frame: the last axis (None for a shape that is not 1-D or 2-D)."""
        return self.shape[-1] if len(self.shape) in (1, 2) else None

    @property
    def frames(self) -> int:
        return self.shape[0] if len(self.shape) == 2 else 1

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


def _read_header(fh: BinaryIO) -> Header:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fh)
    else:
        shape, _, dtype = np.lib.format.read_array_header_2_0(fh)
    return Header(tuple(int(n) for n in shape), np.dtype(dtype))


@dataclass(frozen=True)
class PrecomputedSource:
    """The files of one precomputed set: a folder of ``.npy`` files or one ``.npz``."""

    path: Path

    @classmethod
    def of(cls, path: str | os.PathLike) -> PrecomputedSource:
        return cls(Path(os.path.expanduser(str(path))))

    @property
    def format(self) -> str | None:
        """``npy_folder``, ``npz``, or None (missing, or neither)."""
        if self.path.is_dir():
            return "npy_folder"
        if self.path.is_file() and self.path.suffix == ".npz":
            return "npz"
        return None

    def ids(self) -> set[str]:
        """The track ids the source holds an array for."""
        if self.format == "npy_folder":
            return {
                entry.name[:-4] for entry in os.scandir(self.path) if entry.name.endswith(".npy")
            }
        with zipfile.ZipFile(self.path) as archive:
            return {name[:-4] for name in archive.namelist() if name.endswith(".npy")}

    def file_of(self, track_id: str) -> str:
        """Where ``track_id``'s array is, as error messages name it."""
        if self.format == "npz":
            return f"{self.path}[{track_id}]"
        return str(self.path / f"{track_id}.npy")

    def headers(self, track_ids: Iterable[str]) -> dict[str, Header]:
        """The header of each of ``track_ids``' arrays (which must exist), values unread."""
        headers = {}
        if self.format == "npz":
            with zipfile.ZipFile(self.path) as archive:
                for track_id in track_ids:
                    with archive.open(f"{track_id}.npy") as fh:
                        headers[track_id] = self._header(fh, track_id)
            return headers
        for track_id in track_ids:
            with open(self.path / f"{track_id}.npy", "rb") as fh:
                headers[track_id] = self._header(fh, track_id)
        return headers

    def _header(self, fh: BinaryIO, track_id: str) -> Header:
        try:
            return _read_header(fh)
        except (ValueError, OSError) as exc:
            raise PrecomputedError(
                f"{self.file_of(track_id)} is not a .npy array ({exc})"
            ) from None

    def arrays(self, track_ids: Iterable[str]):
        """``(track_id, array)`` of each of ``track_ids``, as stored (no pickles)."""
        if self.format == "npz":
            with np.load(self.path, allow_pickle=False) as archive:
                for track_id in track_ids:
                    yield track_id, archive[track_id]
            return
        for track_id in track_ids:
            yield track_id, np.load(self.path / f"{track_id}.npy", allow_pickle=False)

    def digest(self, track_ids: Sequence[str] | None = None) -> str:
        """``sha256:…`` over the source's bytes: the ``.npz`` file, or the folder's
        ``.npy`` files in name order (each file's name, then its bytes)."""
        sha = hashlib.sha256()
        if self.format == "npz":
            _update(sha, self.path)
        else:
            names = sorted(f"{i}.npy" for i in (track_ids if track_ids is not None else self.ids()))
            for name in names:
                sha.update(name.encode() + b"\0")
                _update(sha, self.path / name)
        return f"sha256:{sha.hexdigest()}"


def _update(sha: Any, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            sha.update(block)


def matrix(array: np.ndarray, file: str) -> np.ndarray:
    """A stored array as the feature stage keeps it: (dimensions × frames) float32;
    :class:`PrecomputedError` for a shape, type or value a probe cannot use."""
    if array.ndim not in (1, 2) or 0 in array.shape:
        raise PrecomputedError(
            f"{file} has shape {array.shape}: give (frames, dimensions) or (dimensions,)"
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise PrecomputedError(f"{file} holds {array.dtype} values, not real numbers")
    values = np.asarray(array, dtype=np.float32)
    bad = ~np.isfinite(values)
    if bad.any():
        frame = int(np.argwhere(bad)[0][0]) if values.ndim == 2 else 0
        kind = "NaN" if np.isnan(values).any() else "infinite values"
        raise PrecomputedError(
            f"{file} holds {kind} ({int(bad.sum())} of {values.size}, first in frame {frame}); "
            "re-export it with finite values"
        )
    return np.ascontiguousarray(np.atleast_2d(values).T)


def _listed(ids: Sequence[str]) -> str:
    shown = ", ".join(sorted(ids)[:SHOWN])
    return shown + (", …" if len(ids) > SHOWN else "")


def source_problems(
    key: str,
    block: Mapping[str, Any],
    track_ids: Sequence[str] | None,
    dataset: str,
    value_bytes: int = PLAN_VALUE_BYTES,
) -> list[str]:
    """One line per problem of the set at ``key`` (``features.sets.<name>``).

    ``track_ids``: the dataset's tracks, when known before any job (else only the
    source's own consistency is checked here, and its coverage by the import job).
    Headers are read, values only while all of them stay under ``value_bytes``.
    """
    source = PrecomputedSource.of(block["path"])
    if not source.path.exists():
        return [
            (
                f"{key}.path: {source.path} does not exist; give a folder of <track_id>.npy "
                "files or one .npz file keyed by track id"
            )
        ]
    if source.format is None:
        return [
            (
                f"{key}.path: {source.path} is neither a folder of <track_id>.npy files nor an "
                ".npz file keyed by track id (np.savez(path, **{track_id: array})); parquet "
                "and other formats are not read"
            )
        ]
    try:
        available = source.ids()
    except (OSError, zipfile.BadZipFile) as exc:
        return [f"{key}.path: {source.path} cannot be read ({exc})"]
    wanted = sorted(available) if track_ids is None else list(track_ids)
    missing = [track_id for track_id in wanted if track_id not in available]
    if missing:
        return [
            f"{key}.path: {len(missing)} of the {len(wanted)} tracks of dataset {dataset} "
            f"{'has' if len(missing) == 1 else 'have'} no embedding in {source.path} "
            f"({_listed(missing)}); add "
            + (
                "an array keyed by each id to the .npz"
                if source.format == "npz"
                else "<track_id>.npy for each"
            )
            + ", or leave them out of the run (dataset.subset, dataset.genres)"
        ]
    if not wanted:
        return [f"{key}.path: {source.path} holds no .npy arrays"]
    try:
        headers = source.headers(wanted)
    except (PrecomputedError, OSError, KeyError, zipfile.BadZipFile) as exc:
        return [f"{key}.path: {exc}"]
    for track_id, header in headers.items():
        if header.dimensions is None or 0 in header.shape:
            return [
                (
                    f"{key}.path: {source.file_of(track_id)} has shape {header.shape}: give "
                    "(frames, dimensions) or (dimensions,)"
                )
            ]
        if not np.issubdtype(header.dtype, np.number) or header.dtype.kind == "c":
            return [
                (
                    f"{key}.path: {source.file_of(track_id)} holds {header.dtype} values, "
                    "not real numbers"
                )
            ]
    by_size: dict[int, list[str]] = {}
    for track_id, header in headers.items():
        by_size.setdefault(header.dimensions, []).append(track_id)
    if len(by_size) > 1:
        sizes = sorted(by_size, key=lambda d: -len(by_size[d]))
        listed = "; ".join(
            f"{d}: {len(by_size[d])} tracks, e.g. {_listed(by_size[d][:2])}" for d in sizes[:3]
        )
        return [
            (
                f"{key}.path: the arrays in {source.path} have {len(by_size)} dimensionalities "
                f"({listed}); every track needs the same (frames, dimensions), frames first"
            )
        ]
    if sum(h.nbytes for h in headers.values()) <= value_bytes:
        try:
            for track_id, array in source.arrays(wanted):
                matrix(array, source.file_of(track_id))
        except PrecomputedError as exc:
            return [f"{key}.path: {exc}"]
    return []


def read_records(paths: Sequence[str | os.PathLike]) -> dict[str, dict[str, Any]]:
    """The records rule import_precomputed wrote (a training job's ``precomputed``
    input), keyed by set."""
    records = {}
    for path in paths:
        with open(path) as fh:
            record = json.load(fh)
        records[record["set"]] = record
    return records
