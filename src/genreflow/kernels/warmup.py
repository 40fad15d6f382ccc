"""Compile every numba kernel the workflow's jobs call, once, in this process.

Rule ``compile_kernels`` runs :func:`warm_kernels` with the run's feature and
augmentation settings, so the kernels are compiled for the exact code paths and
signatures that feature extraction, augmentation, ``genreflow predict`` and the
explanations use (see :mod:`genreflow.kernels.cache` for why only one process may).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from genreflow.features.augment import Augmentation
from genreflow.features.compute import compute_features
from genreflow.features.loading import load_track
from genreflow.features.settings import FeatureSettings
from genreflow.kernels.checks import CHECKS, reference_signal

# a rate no dataset uses, so decoding resamples as it does for any foreign file
FOREIGN_RATE = 44100


def warm_kernels(
    features: Mapping[str, Any] | None = None,
    augmentations: Sequence[Mapping[str, Any]] = (),
) -> list[str]:
    """Run the doctor's librosa checks (every feature kind at its defaults, time stretch
    and pitch shift among them), then, given a run's ``features`` block, decoding,
    feature extraction and every augmentation exactly as its jobs do, on the doctor's
    test signal. Returns what ran."""
    ran = []
    y = reference_signal()
    for name, check in CHECKS.items():
        if check.numba:
            check.run(y)
            ran.append(name)
    if features is None:
        return ran
    settings = FeatureSettings.from_dict(features)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "stereo.wav"
        stereo = np.stack([y, 0.5 * y], axis=1)
        sf.write(path, np.repeat(stereo, 2, axis=0)[: 2 * y.size], FOREIGN_RATE)
        loaded = load_track(
            path,
            sample_rate=settings.sample_rate,
            clip_seconds=settings.clip_seconds,
            clip_policy=settings.clip_policy,
            excerpt=settings.excerpt,
        )
    compute_features(
        loaded.y,
        loaded.sr,
        list(settings.stft_specs),
        n_fft=settings.n_fft,
        hop_length=settings.hop_length,
    )
    ran.append(f"features {', '.join(spec.name for spec in settings.stft_specs)}")
    rng = np.random.default_rng(0)
    for block in augmentations:
        augmentation = Augmentation.from_dict(block)
        augmentation.apply(loaded.y, loaded.sr, rng)
        ran.append(f"augmentation {augmentation.name}")
    return ran


if __name__ == "__main__":
    # genreflow.kernels.cache.user_kernel_cache, for genreflow predict and explain
    warm_kernels()
