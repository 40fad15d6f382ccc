"""Per-track features: shared-STFT results equal librosa's own per-feature calls."""

import librosa
import numpy as np
import pytest
import soundfile as sf

from genreflow.features.compute import SPECTRAL_ROWS, FeatureSpec, compute_features
from genreflow.features.summary import SUMMARY_COLUMNS

from conftest import FIXTURES

SR = 22050
SPECS = [
    FeatureSpec("logmel", "logmel", {"n_mels": 128}),
    FeatureSpec("logmel64", "logmel", {"n_mels": 64}),
    FeatureSpec("mfcc", "mfcc", {"n_mfcc": 40, "n_mels": 128}),
    FeatureSpec("chroma", "chroma", {"n_chroma": 24}),
    FeatureSpec("spectral", "spectral"),
    FeatureSpec("wavelet", "wavelet", {"wavelet": "db4", "level": 6}),
    FeatureSpec("gtzan_summary", "gtzan_summary"),
]


@pytest.fixture(scope="module")
def clip():
    y, sr = sf.read(FIXTURES / "blues.00050.au", dtype="float32")
    return y[: 10 * sr]


@pytest.fixture(scope="module")
def features(clip):
    return compute_features(clip, SR, SPECS)


def test_shapes_and_dtypes(features, clip):
    n_frames = 1 + len(clip) // 512
    expected_rows = {"logmel": 128, "logmel64": 64, "mfcc": 40, "chroma": 24}
    expected_rows |= {"spectral": len(SPECTRAL_ROWS), "wavelet": 7}
    for name, rows in expected_rows.items():
        assert features[name].shape == (rows, n_frames), name
        assert features[name].dtype == np.float32 and np.isfinite(features[name]).all()
    assert features["gtzan_summary"].shape == (len(SUMMARY_COLUMNS),)
    assert features["gtzan_summary"].dtype == np.float64


def close(a, b):
    np.testing.assert_allclose(a, b.astype(np.float32), rtol=1e-4, atol=1e-4)


def test_logmel_and_mfcc_equal_librosa_from_the_waveform(features, clip):
    close(features["logmel"], librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=SR)))
    close(
        features["logmel64"],
        librosa.power_to_db(librosa.feature.melspectrogram(y=clip, sr=SR, n_mels=64)),
    )
    close(features["mfcc"], librosa.feature.mfcc(y=clip, sr=SR, n_mfcc=40))


def test_chroma_equals_librosa_from_the_waveform(features, clip):
    close(features["chroma"], librosa.feature.chroma_stft(y=clip, sr=SR, n_chroma=24))


def test_spectral_rows_equal_librosa_from_the_waveform(features, clip):
    expected = np.concatenate(
        [
            librosa.feature.spectral_centroid(y=clip, sr=SR),
            librosa.feature.spectral_bandwidth(y=clip, sr=SR),
            librosa.feature.spectral_rolloff(y=clip, sr=SR),
            librosa.feature.spectral_contrast(y=clip, sr=SR),
            librosa.feature.spectral_flatness(y=clip),
            librosa.feature.zero_crossing_rate(clip),
            librosa.feature.rms(y=clip),
        ]
    )
    np.testing.assert_allclose(features["spectral"], expected, rtol=1e-4, atol=1e-6)


def test_wavelet_rows_track_band_energy_over_time():
    sr = SR
    t = np.arange(4 * sr) / sr
    low = np.sin(2 * np.pi * 100 * t).astype(np.float32)
    y = np.where(t < 2, low, 0.01 * low).astype(np.float32)  # loud first half
    wavelet = compute_features(y, sr, [FeatureSpec("w", "wavelet", {"level": 6})])["w"]
    n = wavelet.shape[1]
    # the band holding 100 Hz (approximation at level 6: 0–172 Hz) is ~40 dB louder early on
    assert wavelet[0, : n // 2 - 5].mean() - wavelet[0, n // 2 + 5 :].mean() > 8.0


def test_one_stft_per_track(monkeypatch, clip):
    calls = []
    original = librosa.stft
    monkeypatch.setattr(librosa, "stft", lambda *a, **k: calls.append(1) or original(*a, **k))
    compute_features(clip, SR, SPECS)
    assert len(calls) == 1
