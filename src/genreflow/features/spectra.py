"""One signal's spectral representations, each computed at most once.

Every STFT-based feature of a track is derived from one :class:`Spectra`: the STFT,
its magnitude and power, and mel spectrograms per mel count are computed on first
use and then shared (librosa's feature functions all accept ``S=``).
"""

from __future__ import annotations

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
        STFT parameters (librosa's defaults: 2048, 512; centred, Hann window).
    """

    def __init__(self, y: np.ndarray, sr: int, *, n_fft: int = 2048, hop_length: int = 512):
        self.y = y
        self.sr = sr
        self.n_fft = n_fft
        self.hop_length = hop_length
        self._mel_power: dict[int, np.ndarray] = {}
        self._log_mel: dict[int, np.ndarray] = {}

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
        if n_mels not in self._mel_power:
            self._mel_power[n_mels] = librosa.feature.melspectrogram(
                S=self.power, sr=self.sr, n_mels=n_mels
            )
        return self._mel_power[n_mels]

    def log_mel(self, n_mels: int = 128) -> np.ndarray:
        """``librosa.power_to_db`` of :meth:`mel_power` (ref 1.0, top_db 80)."""
        if n_mels not in self._log_mel:
            self._log_mel[n_mels] = librosa.power_to_db(self.mel_power(n_mels))
        return self._log_mel[n_mels]
