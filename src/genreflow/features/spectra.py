"""One signal's spectral representations, each computed at most once.

Every STFT-based feature of a track is derived from one :class:`Spectra`: the STFT,
its magnitude and power, mel spectrograms, chroma (with its tuning estimate) and the
spectral statistics are computed on first use and then shared, so the summary table
and the per-frame features never repeat a transform (librosa's feature functions all
accept ``S=``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from functools import cached_property

import librosa
import numpy as np


class Spectra:
    """Lazily computed, shared spectral representations of a mono signal.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio.
    sr : int
        Its sampling rate.
    n_fft, hop_length : int
        STFT parameters (librosa's defaults: 2048, 512; centred, Hann window). The
        waveform statistics (RMS, zero-crossing rate) use the same framing.
    """

    def __init__(self, y: np.ndarray, sr: int, *, n_fft: int = 2048, hop_length: int = 512):
        self.y = y
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self._cache: dict[Hashable, np.ndarray | float] = {}

    def _memo(self, key: Hashable, compute: Callable[[], np.ndarray | float]):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    @cached_property
    def stft(self) -> np.ndarray:
        return librosa.stft(self.y, n_fft=self.n_fft, hop_length=self.hop_length)

    @cached_property
    def magnitude(self) -> np.ndarray:
        return np.abs(self.stft)

    @cached_property
    def power(self) -> np.ndarray:
        return self.magnitude**2

    @property
    def n_frames(self) -> int:
        return 1 + len(self.y) // self.hop_length

    def mel_power(self, n_mels: int = 128) -> np.ndarray:
        """Mel power spectrogram (librosa's default filterbank, ``fmax = sr / 2``)."""
        return self._memo(
            ("mel", n_mels),
            lambda: librosa.feature.melspectrogram(S=self.power, sr=self.sr, n_mels=n_mels),
        )

    def log_mel(self, n_mels: int = 128) -> np.ndarray:
        """``librosa.power_to_db`` of :meth:`mel_power` (ref 1.0, top_db 80)."""
        return self._memo(("log_mel", n_mels), lambda: librosa.power_to_db(self.mel_power(n_mels)))

    def tuning(self, bins_per_octave: int = 12) -> float:
        """``librosa.estimate_tuning`` of the power spectrogram, as ``chroma_stft`` does it.

        The pitch tracking behind it does not depend on ``bins_per_octave`` and is
        shared by every chroma resolution.
        """
        pitch, mag = self._memo("piptrack", lambda: librosa.piptrack(S=self.power, sr=self.sr))
        pitch_mask = pitch > 0
        threshold = np.median(mag[pitch_mask]) if pitch_mask.any() else 0.0
        return librosa.pitch_tuning(
            pitch[(mag >= threshold) & pitch_mask], resolution=0.01, bins_per_octave=bins_per_octave
        )

    def chroma(self, n_chroma: int = 12) -> np.ndarray:
        """``librosa.feature.chroma_stft`` of the power spectrogram."""
        return self._memo(
            ("chroma", n_chroma),
            lambda: librosa.feature.chroma_stft(
                S=self.power, sr=self.sr, n_chroma=n_chroma, tuning=self.tuning(n_chroma)
            ),
        )

    def centroid(self) -> np.ndarray:
        return self._memo(
            "centroid", lambda: librosa.feature.spectral_centroid(S=self.magnitude, sr=self.sr)
        )

    def bandwidth(self) -> np.ndarray:
        return self._memo(
            "bandwidth",
            lambda: librosa.feature.spectral_bandwidth(
                S=self.magnitude, sr=self.sr, centroid=self.centroid()
            ),
        )

    def rolloff(self) -> np.ndarray:
        return self._memo(
            "rolloff", lambda: librosa.feature.spectral_rolloff(S=self.magnitude, sr=self.sr)
        )

    def rms(self) -> np.ndarray:
        """Frame RMS of the waveform (``rms(S=)`` differs from ``rms(y=)``, so from ``y``)."""
        return self._memo(
            "rms",
            lambda: librosa.feature.rms(
                y=self.y, frame_length=self.n_fft, hop_length=self.hop_length
            ),
        )

    def zero_crossing_rate(self) -> np.ndarray:
        return self._memo(
            "zcr",
            lambda: librosa.feature.zero_crossing_rate(
                self.y, frame_length=self.n_fft, hop_length=self.hop_length
            ),
        )
