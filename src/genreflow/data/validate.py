"""Per-track validation against the registry: checksum, decodability and format."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from genreflow.audio import UndecodableAudioError, probe
from genreflow.checksums import canonical_md5

log = logging.getLogger(__name__)

VALIDATION_COLUMNS = (
    "track_id",
    "genre",
    "path",
    "status",
    "detail",
    "md5",
    "expected_md5",
    "sample_rate",
    "channels",
    "duration_s",
)


@dataclass(frozen=True)
class FormatSpec:
    """The format every track of a dataset must have."""

    sample_rate: int | None = 22050  # None: any rate (e.g. FMA's MP3s)
    channels: int | None = 1  # None: any number of channels
    clip_seconds: float | None = 30.0
    duration_tolerance_s: float = 1.0


@dataclass(frozen=True)
class TrackCheck:
    """Outcome of validating one file.

    ``status`` is ``ok``, ``checksum_mismatch``, ``undecodable``, ``missing`` or
    ``unexpected_format``.
    """

    status: str
    detail: str = ""
    md5: str = ""
    sample_rate: int | None = None
    channels: int | None = None
    duration_s: float | None = None


def check_track(
    path: str | Path | None,
    expected_md5: str,
    spec: FormatSpec,
    *,
    strict_checksums: bool = True,
) -> TrackCheck:
    """Validate one file: present, decodable, in the expected format, matching its MD5.

    The MD5 is of the canonical WAV form (see :func:`genreflow.checksums.canonical_md5`),
    so original ``.au`` files validate against the same registry as the WAV copy.
    Format problems take precedence over a checksum mismatch, which they explain.
    With ``strict_checksums=False`` a mismatch alone is accepted with a note (for
    copies re-encoded losslessly by their distributor).
    """
    if path is None or not Path(path).is_file():
        return TrackCheck("missing", "no file for this track in the dataset copy")
    path = Path(path)
    if path.stat().st_size == 0:
        return TrackCheck("undecodable", "zero-length file")
    try:
        info = probe(path)
        md5 = canonical_md5(path)
    except UndecodableAudioError as exc:
        return TrackCheck("undecodable", str(exc).removeprefix(f"{path}: "))
    measured = {
        "md5": md5,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "duration_s": round(info.duration_s, 4),
    }
    problems = _format_problems(info.sample_rate, info.channels, info.duration_s, spec)
    mismatch = ""
    if expected_md5 and md5 != expected_md5:
        mismatch = f"md5 {md5} differs from the registry's {expected_md5}"
    if problems:
        return TrackCheck(
            "unexpected_format", "; ".join(problems + [mismatch] * bool(mismatch)), **measured
        )
    if mismatch and strict_checksums:
        return TrackCheck("checksum_mismatch", mismatch, **measured)
    if mismatch:
        return TrackCheck("ok", mismatch + " (accepted: strict_checksums is false)", **measured)
    return TrackCheck("ok", "" if expected_md5 else "no registry md5 to compare", **measured)


def _format_problems(
    sample_rate: int, channels: int, duration_s: float, spec: FormatSpec
) -> list[str]:
    problems = []
    if spec.sample_rate is not None and sample_rate != spec.sample_rate:
        problems.append(f"sample rate {sample_rate} Hz, expected {spec.sample_rate} Hz")
    if spec.channels is not None and channels != spec.channels:
        problems.append(f"{channels} channels, expected {spec.channels}")
    if (
        spec.clip_seconds is not None
        and abs(duration_s - spec.clip_seconds) > spec.duration_tolerance_s
    ):
        problems.append(
            f"duration {duration_s:.2f} s, expected {spec.clip_seconds:g} ± "
            f"{spec.duration_tolerance_s:g} s"
        )
    return problems


def validate_tracks(
    registry: pd.DataFrame,
    files: pd.DataFrame,
    spec: FormatSpec,
    *,
    strict_checksums: bool = True,
    threads: int = 1,
) -> pd.DataFrame:
    """Validate every registry track against the files found in the dataset copy.

    Parameters
    ----------
    registry
        Expected tracks (see :func:`genreflow.data.registry.read_registry`).
    files
        Inventory ``track_id, path`` of the dataset copy.
    threads
        Files are checked concurrently (decoding releases the GIL).

    Returns
    -------
    One row per registry track with the columns of ``VALIDATION_COLUMNS``.
    Files not in the registry are logged, not returned.
    """
    paths = dict(zip(files["track_id"], files["path"]))
    unexpected = sorted(set(paths) - set(registry["track_id"]))
    if unexpected:
        log.warning(
            "%d file(s) are not in the registry and are ignored: %s%s",
            len(unexpected),
            ", ".join(unexpected[:10]),
            " ..." if len(unexpected) > 10 else "",
        )

    def run(row) -> TrackCheck:
        return check_track(
            paths.get(row.track_id), row.wav_md5, spec, strict_checksums=strict_checksums
        )

    rows = list(registry.itertuples(index=False))
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        checks = list(pool.map(run, rows))
    table = pd.DataFrame(
        [
            {
                "track_id": row.track_id,
                "genre": row.genre,
                "path": paths.get(row.track_id, ""),
                "expected_md5": row.wav_md5,
                **check.__dict__,
            }
            for row, check in zip(rows, checks)
        ]
    )
    table = table.reindex(columns=VALIDATION_COLUMNS)
    for status, count in table["status"].value_counts().items():
        log.info("validation: %d track(s) %s", count, status)
    return table


def read_validation(path: str | Path) -> pd.DataFrame:
    """Read a validation table written by the validate rule (blank cells as empty strings)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)
