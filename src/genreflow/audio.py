"""Decoding and probing of audio files."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf


@dataclass(frozen=True)
class AudioInfo:
    """What a full decode of a file tells about it."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "duration_s": round(self.duration_s, 4)}


class UndecodableAudioError(Exception):
    """The file cannot be decoded as audio."""


def probe(path: str | os.PathLike) -> AudioInfo:
    """Decode ``path`` completely and report its format.

    The whole file is decoded (not only the header) so a truncated payload or a
    header that promises more frames than the file holds is caught: ``frames`` is
    the number of frames actually decoded.
    """
    path = Path(path)
    try:
        with sf.SoundFile(path) as handle:
            frames = 0
            for block in handle.blocks(blocksize=1 << 16, dtype="int16", always_2d=True):
                frames += block.shape[0]
            info = AudioInfo(
                sample_rate=int(handle.samplerate),
                channels=int(handle.channels),
                frames=frames,
                format=handle.format,
                subtype=handle.subtype,
            )
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc
    if frames == 0:
        raise UndecodableAudioError(f"{path}: decodes to zero samples")
    return info


def read_int16(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode ``path`` to int16 samples (frames, or frames × channels) and its rate."""
    try:
        samples, sample_rate = sf.read(path, dtype="int16", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc
    return samples, int(sample_rate)
