"""musicnn's input representation, computed in float32: 16 kHz log-mel 3 s patches.

numpy and librosa only (no torch); the numbers are in
:mod:`genreflow.embeddings.musicnn_params`.

musicnn's own ``batch_data`` casts the mel spectrogram to float16 before the log.
Under numpy 2 the product ``10000 · mel`` then stays float16 and overflows to ``inf``
on loud frames (mel > 6.55: most frames of a typical GTZAN clip), and the tags and
features come out silently wrong. :func:`log_mel` computes in float32.
"""

from __future__ import annotations

import numpy as np

from genreflow.embeddings.musicnn_params import (
    HOP_LENGTH,
    N_FFT,
    N_MELS,
    PATCH_FRAMES,
    RESAMPLER,
    SAMPLE_RATE,
)
from genreflow.embeddings.resampling import resample_mono
from genreflow.errors import DataError


def log_mel(y: np.ndarray) -> np.ndarray:
    """musicnn's input representation of 16 kHz mono ``y``, in float32: (frames, 96)."""
    import librosa

    mel = librosa.feature.melspectrogram(
        y=np.asarray(y, dtype=np.float32),
        sr=SAMPLE_RATE,
        n_fft=N_FFT,
        hop_length=HOP_LENGTH,
        n_mels=N_MELS,
    ).T.astype(np.float32)
    return np.log10(np.float32(10000) * mel + np.float32(1))


def to_patches(representation: np.ndarray, hop: int = PATCH_FRAMES) -> np.ndarray:
    """Consecutive 3 s patches (n, 187, 96) of a log-mel representation (frames, 96)."""
    starts = range(0, representation.shape[0] - PATCH_FRAMES + 1, hop)
    if not starts:
        raise DataError(
            f"audio of {representation.shape[0]} frames is shorter than one musicnn patch "
            f"({PATCH_FRAMES} frames, 3 s)."
        )
    return np.stack([representation[s : s + PATCH_FRAMES] for s in starts])


def resample_for_musicnn(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """``y`` (mono) at musicnn's 16 kHz: resampled explicitly (soxr), never assumed."""
    return resample_mono(y, sample_rate, SAMPLE_RATE, RESAMPLER)


def musicnn_patches(y: np.ndarray, sample_rate: int) -> np.ndarray:
    """The network's input for mono ``y`` at ``sample_rate``: (patches, 187, 96), float32."""
    return to_patches(log_mel(resample_for_musicnn(y, sample_rate)))
