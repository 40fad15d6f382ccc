"""VGGish's input representation: 16 kHz log-mel examples of 0.96 s, as float32.

numpy (and librosa, for resampling only); the numbers are in
:mod:`genreflow.embeddings.vggish_params`. This reproduces ``mel_features.py`` and
``vggish_input.waveform_to_examples`` of tensorflow/models ``research/audioset/vggish``
(Apache-2.0; copied unchanged by torchvggish 0.2):

- frames of 400 samples every 160 (no centring, no padding: the last partial frame
  is dropped), a periodic Hann window, the magnitude (not the power) of a 512-point
  real FFT;
- a 64-band HTK mel matrix over 125–7500 Hz whose triangles are linear in *mel*, with
  the DC bin zeroed (:func:`mel_matrix`), then ``log(mel + 0.01)``;
- non-overlapping examples of 96 frames (0.96 s); incomplete ones at the end dropped.

The spectrogram is computed in float64 like the reference's numpy code (a float32
signal times a float64 window) and rounded to float32 once, at the end.

``librosa.filters.mel(htk=True, norm=None)`` is not the same matrix: librosa draws the
triangles linearly in Hz between the mel-spaced edges, mel_features linearly in mel;
the weights differ by up to 4.4e-3 and the log-mel by up to 0.014 (measured on a
random magnitude spectrogram), so :func:`mel_matrix` ports mel_features' function.

Audio shorter than one example (15,600 samples at 16 kHz, 0.975 s) gives no example
in VGGish's code (an empty batch); here, as for musicnn
(:mod:`genreflow.embeddings.musicnn_input`), it is a :class:`~genreflow.errors.DataError`
naming the length, never padded.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from genreflow.embeddings.resampling import resample_mono
from genreflow.embeddings.vggish_params import (
    EXAMPLE_FRAMES,
    LOG_OFFSET,
    MEL_MAX_HZ,
    MEL_MIN_HZ,
    MIN_SAMPLES,
    N_FFT,
    N_MELS,
    RESAMPLER,
    SAMPLE_RATE,
    STFT_HOP,
    STFT_WINDOW,
)
from genreflow.errors import DataError

# mel_features' HTK mel scale: 1127 · ln(1 + f / 700)
_MEL_BREAK_HZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0


def hertz_to_mel(hertz: np.ndarray | float) -> np.ndarray:
    """The HTK mel value of ``hertz``, as mel_features computes it."""
    return _MEL_HIGH_FREQUENCY_Q * np.log(1.0 + np.asarray(hertz, dtype=np.float64) / _MEL_BREAK_HZ)


@lru_cache(maxsize=1)
def mel_matrix() -> np.ndarray:
    """(257, 64) float64 weights that post-multiply a magnitude spectrogram (read-only).

    ``mel_features.spectrogram_to_mel_matrix(64, 257, 16000, 125, 7500)``: band ``i``
    rises from edge ``i`` to ``i + 1`` and falls to ``i + 2`` of 66 edges evenly spaced
    in mel, each slope linear in mel; the DC bin gets no weight (as HTK).
    """
    bins = N_FFT // 2 + 1
    bins_mel = hertz_to_mel(np.linspace(0.0, SAMPLE_RATE / 2.0, bins))
    edges = np.linspace(hertz_to_mel(MEL_MIN_HZ), hertz_to_mel(MEL_MAX_HZ), N_MELS + 2)
    weights = np.empty((bins, N_MELS))
    for band in range(N_MELS):
        lower, center, upper = edges[band : band + 3]
        rising = (bins_mel - lower) / (center - lower)
        falling = (upper - bins_mel) / (upper - center)
        weights[:, band] = np.maximum(0.0, np.minimum(rising, falling))
    weights[0, :] = 0.0
    weights.flags.writeable = False
    return weights


def periodic_hann(length: int = STFT_WINDOW) -> np.ndarray:
    """The periodic Hann window (a full cosine period over ``length`` points), float64."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi / length * np.arange(length))


def stft_magnitude(y: np.ndarray) -> np.ndarray:
    """|rfft| of 400-sample periodic-Hann frames every 160 samples: (frames, 257), float64."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise DataError(f"VGGish's input must be mono (one dimension), got shape {y.shape}.")
    if y.shape[0] < STFT_WINDOW:
        return np.zeros((0, N_FFT // 2 + 1))
    frames = np.lib.stride_tricks.sliding_window_view(y, STFT_WINDOW)[::STFT_HOP]
    return np.abs(np.fft.rfft(frames * periodic_hann(), N_FFT))


def log_mel(y: np.ndarray) -> np.ndarray:
    """VGGish's log-mel representation of 16 kHz mono ``y``: (frames, 64), float32."""
    mel = stft_magnitude(y) @ mel_matrix()
    return np.log(mel + LOG_OFFSET).astype(np.float32)


def to_examples(representation: np.ndarray) -> np.ndarray:
    """Consecutive non-overlapping 0.96 s examples (n, 96, 64) of a log-mel (frames, 64)."""
    count = representation.shape[0] // EXAMPLE_FRAMES
    if count == 0:
        raise DataError(
            f"audio of {representation.shape[0]} frames is shorter than one VGGish example "
            f"({EXAMPLE_FRAMES} frames, 0.96 s)."
        )
    used = representation[: count * EXAMPLE_FRAMES]
    return np.ascontiguousarray(used.reshape(count, EXAMPLE_FRAMES, representation.shape[1]))


def resample_for_vggish(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """``y`` (mono) at VGGish's 16 kHz: resampled explicitly (soxr), never assumed."""
    return resample_mono(y, sample_rate, SAMPLE_RATE, RESAMPLER)


def vggish_examples(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """The network's input for mono ``y`` at ``sample_rate``: (examples, 96, 64), float32."""
    y16 = resample_for_vggish(y, sample_rate)
    if y16.ndim == 1 and y16.shape[0] < MIN_SAMPLES:
        raise DataError(
            f"audio of {y16.shape[0]} samples at {SAMPLE_RATE} Hz "
            f"({y16.shape[0] / SAMPLE_RATE:.3f} s) is shorter than one VGGish example "
            f"({MIN_SAMPLES} samples, {MIN_SAMPLES / SAMPLE_RATE:.3f} s)."
        )
    return to_examples(log_mel(y16))
