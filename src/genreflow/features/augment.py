"""Offline waveform augmentation (report 000): time-stretch, pitch-shift, noise copies.

Each copy is its own track, ``<source_track_id>__<augmentation>``, carrying its source's
id. Fold assignment lists source tracks only, and
:func:`genreflow.folds.training_rows` admits a copy only where its source is in the
training part of a fold, so no copy of a test or validation track is ever trained on.
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import soundfile as sf

from genreflow.atomic import atomic_path

log = logging.getLogger(__name__)

AUGMENTATION_KINDS = {"time_stretch": "rate", "pitch_shift": "n_steps", "noise": "snr_db"}
AUGMENTED_COLUMNS = ("track_id", "source_track_id", "genre", "path", "augmentation")


@dataclass(frozen=True)
class Augmentation:
    """One kind of copy and its amount: a stretch rate, semitones, or an SNR in dB."""

    kind: str
    amount: float

    @classmethod
    def from_dict(cls, block: Mapping) -> Augmentation:
        kind = block["kind"]
        return cls(kind, float(block[AUGMENTATION_KINDS[kind]]))

    @property
    def name(self) -> str:
        return (
            f"{self.kind}_{self.amount:+g}"
            if self.kind == "pitch_shift"
            else f"{self.kind}_{self.amount:g}"
        )

    def apply(self, y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
        """The augmented copy of ``y`` (same rate; a stretch changes its length)."""
        if self.kind == "time_stretch":
            return librosa.effects.time_stretch(y, rate=self.amount)
        if self.kind == "pitch_shift":
            return librosa.effects.pitch_shift(y, sr=sr, n_steps=self.amount)
        signal_power = float(np.mean(y.astype(np.float64) ** 2))
        noise_power = signal_power / 10 ** (self.amount / 10)
        return (y + rng.normal(0.0, np.sqrt(noise_power), size=y.shape)).astype(np.float32)


def augmented_id(track_id: str, augmentation: Augmentation) -> str:
    return f"{track_id}__{augmentation.name}"


def augment_tracks(
    tracks: pd.DataFrame,
    augmentations: Sequence[Augmentation],
    out_dir: str | os.PathLike,
    *,
    sample_rate: int,
    seed: int,
) -> pd.DataFrame:
    """Write every augmented copy of ``tracks`` as 16-bit WAV under ``out_dir/<genre>/``.

    Each copy's randomness is seeded from (``seed``, its source id, its augmentation),
    so a copy does not depend on which other tracks share its job.
    """
    rows = []
    for track in tracks.itertuples(index=False):
        y, _ = librosa.load(track.path, sr=sample_rate, mono=True, res_type="soxr_hq")
        for augmentation in augmentations:
            key = zlib.crc32(f"{track.track_id}/{augmentation.name}".encode())
            rng = np.random.default_rng([seed, key])
            copy = np.clip(augmentation.apply(y, sample_rate, rng), -1.0, 1.0)
            track_id = augmented_id(track.track_id, augmentation)
            dest = Path(out_dir) / track.genre / f"{track_id}.wav"
            with atomic_path(dest) as tmp:
                sf.write(tmp, copy, sample_rate, subtype="PCM_16", format="WAV")
            rows.append((track_id, track.track_id, track.genre, str(dest), augmentation.name))
    log.info("wrote %d augmented copies of %d track(s)", len(rows), len(tracks))
    return pd.DataFrame(rows, columns=AUGMENTED_COLUMNS)
