"""Decoding a track for feature extraction: its excerpt, resampled, downmixed, fixed in length.

The per-frame features need equal lengths (``clip_policy: pad_or_trim``); the per-track
summary is computed on everything decoded (a dataset's clip whole, as the published GTZAN
table was; a longer song's excerpt), so a :class:`LoadedTrack` keeps the untrimmed decode
as well (:attr:`LoadedTrack.untrimmed`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import librosa
import numpy as np

from genreflow.audio import decode_excerpt
from genreflow.excerpts import Excerpt

CLIP_POLICIES = ("pad_or_trim", "none")


@dataclass(frozen=True)
class LoadedTrack:
    """A decoded track and what loading did to it (for the feature log).

    ``y`` is the signal after the clip-length policy; ``full_y`` the whole decode when
    padding or trimming changed it (``None`` when ``y`` is the whole decode). Read the
    whole signal as :attr:`untrimmed`.
    """

    y: np.ndarray
    sr: int
    original_sr: int
    channels: int
    original_duration_s: float
    padded_s: float
    trimmed_s: float
    peak: float
    full_y: np.ndarray | None = field(default=None, repr=False)
    # the spans decoded, "whole" or "OFFSET+SECONDS[,...]" (seconds into the file)
    excerpt: str = "whole"

    @property
    def untrimmed(self) -> np.ndarray:
        """The whole decoded signal, before padding or trimming (``y`` itself if neither)."""
        return self.y if self.full_y is None else self.full_y

    def problems(self, *, silence_peak: float, min_duration_s: float) -> list[str]:
        """Why the track deserves a warning: silent, or shorter than expected."""
        found = []
        if self.peak < silence_peak:
            found.append(f"silent (peak {self.peak:.2g} < {silence_peak:g})")
        if self.original_duration_s < min_duration_s:
            found.append(
                f"too short ({self.original_duration_s:.2f} s < {min_duration_s:g} s; "
                f"padded by {self.padded_s:.2f} s)"
            )
        return found


def load_track(
    path: str | os.PathLike,
    *,
    sample_rate: int,
    clip_seconds: float | None,
    clip_policy: str = "pad_or_trim",
    excerpt: Excerpt | None = None,
) -> LoadedTrack:
    """Decode ``path``'s excerpt as mono float32 at ``sample_rate`` (soxr resampling).

    ``excerpt`` picks the spans decoded from the file's header duration (seeking where
    the format allows, so a 10-minute song costs about what a clip costs); ``None``
    decodes the whole file. Several spans are joined. With
    ``clip_policy="pad_or_trim"`` the signal is then cut to its first ``clip_seconds``
    or zero-padded at the end to that length, so every track yields the same number of
    frames; ``"none"`` keeps the decoded length. When the length changes, the decode is
    kept as :attr:`LoadedTrack.untrimmed` (a trimmed ``y`` is a view of it).
    """
    if clip_policy not in CLIP_POLICIES:
        raise ValueError(f"clip_policy {clip_policy!r} is not one of {CLIP_POLICIES}")
    full_y, header, spans = decode_excerpt(path, excerpt, sample_rate=sample_rate)
    whole = spans == [(0.0, None)]
    original_duration = len(full_y) / sample_rate if whole else header.duration_s
    y = full_y
    padded = trimmed = 0.0
    if clip_policy == "pad_or_trim" and clip_seconds is not None:
        target = round(clip_seconds * sample_rate)
        padded = max(0, target - len(full_y)) / sample_rate
        trimmed = max(0, len(full_y) - target) / sample_rate
        if target != len(full_y):
            y = librosa.util.fix_length(full_y, size=target)
    if not whole:
        trimmed = max(0.0, header.duration_s - len(y) / sample_rate)
    return LoadedTrack(
        y=y,
        sr=sample_rate,
        original_sr=int(header.sample_rate),
        channels=int(header.channels),
        original_duration_s=round(original_duration, 4),
        padded_s=round(padded, 4),
        trimmed_s=round(trimmed, 4),
        peak=float(np.max(np.abs(y))) if len(y) else 0.0,
        full_y=None if y is full_y else full_y,
        excerpt="whole" if whole else ",".join(f"{o:g}+{d:g}" for o, d in spans),
    )
