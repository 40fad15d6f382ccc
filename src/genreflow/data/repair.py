"""Repair of tracks that failed validation, without touching the raw download.

For each failed track, in order:

1. re-derive it from a repair source: an original of the track (e.g. GTZAN's
   ``jazz.00054.au``) found in a configured folder or archive, converted to the
   canonical 16-bit PCM WAV;
2. salvage a WAV whose header is broken but whose PCM payload is intact;
3. otherwise quarantine it (it is excluded downstream and counted in the report).

Every candidate is written to a separate folder and re-validated with
:func:`genreflow.data.validate.check_track`; only a candidate that validates counts.
"""

from __future__ import annotations

import io
import logging
import os
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.atomic import write_bytes
from genreflow.audio import AUDIO_EXTENSIONS, UndecodableAudioError, read_int16
from genreflow.checksums import canonical_wav_bytes
from genreflow.data.validate import FormatSpec, check_track

log = logging.getLogger(__name__)

REPAIR_COLUMNS = (
    "track_id",
    "genre",
    "status_before",
    "action",
    "source",
    "path",
    "status",
    "detail",
    "md5",
    "duration_s",
    "sample_rate",
)
WAV_HEADER_BYTES = 44


@dataclass(frozen=True)
class RepairSource:
    """An original of a track, as a file or as a member of an archive."""

    location: str
    member: str | None = None

    def read_bytes(self) -> bytes:
        if self.member is None:
            return Path(self.location).read_bytes()
        if zipfile.is_zipfile(self.location):
            with zipfile.ZipFile(self.location) as zf:
                return zf.read(self.member)
        with tarfile.open(self.location) as tar:
            handle = tar.extractfile(self.member)
            if handle is None:
                raise OSError(f"{self.member} is not a regular file in {self.location}")
            return handle.read()

    def __str__(self) -> str:
        return self.location if self.member is None else f"{self.location}:{self.member}"


def index_repair_sources(sources: Sequence[str | os.PathLike]) -> dict[str, list[RepairSource]]:
    """Map track id → originals found in folders (searched recursively) or archives."""
    found: dict[str, list[RepairSource]] = {}
    for source in sources:
        source = Path(source)
        if source.is_dir():
            names = [(str(p), None, p.name) for p in sorted(source.rglob("*")) if p.is_file()]
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zf:
                names = [(str(source), m, Path(m).name) for m in zf.namelist()]
        elif source.is_file() and tarfile.is_tarfile(source):
            with tarfile.open(source) as tar:
                names = [(str(source), m.name, Path(m.name).name) for m in tar if m.isfile()]
        else:
            log.warning("repair source %s is neither a folder nor an archive: skipped", source)
            continue
        for location, member, name in names:
            stem, ext = os.path.splitext(name)
            if ext.lower() in AUDIO_EXTENSIONS and not name.startswith("."):
                found.setdefault(stem, []).append(RepairSource(location, member))
    return found


def rederive(source: RepairSource) -> bytes:
    """Decode an original and render it as canonical 16-bit PCM WAV bytes."""
    samples, sample_rate = read_int16(io.BytesIO(source.read_bytes()))
    return canonical_wav_bytes(samples, sample_rate)


def salvage_candidates(raw: bytes, spec: FormatSpec) -> list[tuple[str, bytes]]:
    """Canonical WAVs built from a file's PCM payload under plausible header layouts.

    Tried in order: the payload after a surviving ``data`` chunk marker, after a
    canonical 44-byte header that was overwritten, and the whole file as headerless
    PCM. Each assumes 16-bit little-endian PCM in the dataset's channel count and
    sample rate; re-validation decides which (if any) is the track.
    """
    offsets = []
    marker = raw.find(b"data")
    if 0 <= marker <= 4096:
        offsets.append(("payload after surviving 'data' chunk", marker + 8))
    offsets += [("payload after clobbered 44-byte header", WAV_HEADER_BYTES), ("headerless PCM", 0)]
    frame_bytes = 2 * spec.channels
    candidates = []
    for label, offset in offsets:
        payload = raw[offset:]
        usable = len(payload) - len(payload) % frame_bytes
        if usable <= 0:
            continue
        samples = np.frombuffer(payload[:usable], dtype="<i2").reshape(-1, spec.channels)
        if spec.channels == 1:
            samples = samples[:, 0]
        candidates.append(
            (label, canonical_wav_bytes(np.ascontiguousarray(samples), spec.sample_rate))
        )
    return candidates


def repair_tracks(
    validation: pd.DataFrame,
    sources: Sequence[str | os.PathLike],
    repaired_dir: str | os.PathLike,
    spec: FormatSpec,
    *,
    strict_checksums: bool = True,
) -> pd.DataFrame:
    """Repair every track whose validation status is not ``ok``.

    Parameters
    ----------
    validation
        The validation table (see :func:`genreflow.data.validate.validate_tracks`).
    sources
        Folders or archives holding originals of tracks (searched by track id).
    repaired_dir
        Repaired files are written to ``<repaired_dir>/<genre>/<track_id>.wav``.

    Returns
    -------
    One row per failed track with the columns of ``REPAIR_COLUMNS``; ``status`` is
    ``repaired`` or ``quarantined``.
    """
    failed = validation[validation["status"] != "ok"]
    originals = index_repair_sources(sources) if len(failed) else {}
    rows = []
    for track in failed.itertuples(index=False):
        dest = Path(repaired_dir) / track.genre / f"{track.track_id}.wav"
        attempts = [
            (f"re-derived from {source}", str(source), lambda s=source: rederive(s))
            for source in originals.get(track.track_id, [])
        ]
        # Salvaging reads the payload as PCM of the dataset's format, so it needs that
        # format and a registry checksum to confirm the result (not FMA's MP3s).
        salvageable = bool(track.expected_md5) and None not in (spec.sample_rate, spec.channels)
        if salvageable and track.path and Path(track.path).is_file():
            raw = Path(track.path).read_bytes()
            attempts += [
                (f"salvaged: {label}", track.path, lambda b=wav: b)
                for label, wav in salvage_candidates(raw, spec)
            ]
        row = {
            "track_id": track.track_id,
            "genre": track.genre,
            "status_before": track.status,
            "action": "quarantine",
            "source": "",
            "path": "",
            "status": "quarantined",
            "detail": "",
        }
        tried = []
        for action, source, make_wav in attempts:
            try:
                wav = make_wav()
            except (UndecodableAudioError, OSError, tarfile.TarError, zipfile.BadZipFile) as exc:
                tried.append(f"{action}: {exc}")
                continue
            write_bytes(wav, dest)
            check = check_track(dest, track.expected_md5, spec, strict_checksums=strict_checksums)
            if check.status == "ok":
                row.update(action=action, source=source, path=str(dest), status="repaired")
                row.update(detail="re-validated ok", md5=check.md5, duration_s=check.duration_s)
                row.update(sample_rate=check.sample_rate)
                break
            dest.unlink()
            tried.append(f"{action}: {check.status} ({check.detail})")
        else:
            row["detail"] = f"{track.detail}; no repair validated" + (
                ": " + " | ".join(tried) if tried else " (no repair source found)"
            )
        if row["status"] == "quarantined":
            log.warning("%s quarantined: %s: %s", track.track_id, track.status, row["detail"])
        else:
            log.info("%s: repaired — %s", track.track_id, row["action"])
        rows.append(row)
    return pd.DataFrame(rows, columns=REPAIR_COLUMNS)
