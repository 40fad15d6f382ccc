"""Audio brought to a pretrained network's own rate, explicitly (never assumed)."""

from __future__ import annotations

import numpy as np


def resample_mono(y: np.ndarray, sample_rate: int, target_rate: int, res_type: str) -> np.ndarray:
    """Mono ``y`` at ``target_rate`` as float32: unchanged when already there, else
    resampled by ``librosa.resample`` with ``res_type`` (the networks use ``soxr_hq``)."""
    if sample_rate == target_rate:
        return np.asarray(y, dtype=np.float32)
    import librosa

    return librosa.resample(
        np.asarray(y, dtype=np.float32),
        orig_sr=sample_rate,
        target_sr=target_rate,
        res_type=res_type,
    )
