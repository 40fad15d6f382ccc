"""Fast HPSS and the 57-column summary table agree with the plain librosa calls."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
from scipy.ndimage import median_filter

from genreflow.features.hpss import hpss_signals, median_filter_hpss, moving_median
from genreflow.features.spectra import Spectra
from genreflow.features.summary import SUMMARY_COLUMNS, summary_features, summary_reference

FIXTURES = Path(__file__).parent / "fixtures" / "audio"
CLIPS = ("blues.00050", "jazz.00054")
SR = 22050

# Relative agreement required between summary_features and summary_reference, and the
# absolute floor used where the reference value is ~0 (e.g. harmony_mean, a few 1e-7).
REL_TOL = 1e-4
ABS_FLOOR = 1e-9


def _load(track_id: str) -> np.ndarray:
    y, sr = sf.read(FIXTURES / f"{track_id}.au", dtype="float32")
    assert sr == SR and y.ndim == 1
    return y


def _synthetic(seconds: float = 1.5) -> np.ndarray:
    """A decaying two-tone chord with clicks every 0.25 s, plus a little noise."""
    t = np.arange(int(seconds * SR)) / SR
    y = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 330 * t)
    y *= np.exp(-t)
    y[:: SR // 4] += 0.8
    y += 0.01 * np.random.default_rng(0).standard_normal(t.size)
    return y.astype(np.float32)


@pytest.fixture(scope="module")
def blues() -> np.ndarray:
    return _load("blues.00050")


@pytest.fixture(scope="module")
def blues_stft(blues: np.ndarray) -> np.ndarray:
    return librosa.stft(blues)


@pytest.fixture(scope="module", params=CLIPS)
def clip_summaries(request) -> tuple[str, dict[str, float], dict[str, float]]:
    y = _load(request.param)
    return request.param, summary_reference(y, SR), summary_features(y, SR)


def _assert_same_outputs(got: tuple[np.ndarray, ...], want: tuple[np.ndarray, ...]) -> None:
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert np.array_equal(g, w)


# --- moving median ------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 3, 4, 17, 31])
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_moving_median_equals_scipy_reflect(size: int, axis: int, dtype) -> None:
    x = np.random.default_rng(size).random((40, 57)).astype(dtype)
    shape = [1, 1]
    shape[axis] = size
    want = median_filter(x, size=shape, mode="reflect")
    got = moving_median(x, size, axis=axis)
    assert got.dtype == x.dtype
    assert np.array_equal(got, want)


def test_moving_median_rejects_bad_size() -> None:
    with pytest.raises(ValueError):
        moving_median(np.zeros((3, 3)), 0)


# --- median_filter_hpss -------------------------------------------------------------


def test_hpss_magnitude_masks_bit_identical(blues_stft: np.ndarray) -> None:
    S = np.abs(blues_stft)
    got = median_filter_hpss(S)
    _assert_same_outputs(got, librosa.decompose.hpss(S))
    # the outputs are S times librosa's masks, bit for bit
    mask_H, mask_P = librosa.decompose.hpss(S, mask=True)
    _assert_same_outputs(got, (S * mask_H, S * mask_P))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"kernel_size": (17, 31)},
        {"margin": 2.0},
        {"power": 1.0},
        {"kernel_size": [21, 9], "margin": (1.0, 3.0)},
    ],
    ids=repr,
)
def test_hpss_complex_bit_identical(blues_stft: np.ndarray, kwargs: dict) -> None:
    got = median_filter_hpss(blues_stft, **kwargs)
    want = librosa.decompose.hpss(blues_stft, **kwargs)
    _assert_same_outputs(got, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hpss_synthetic_bit_identical(dtype) -> None:
    D = librosa.stft(_synthetic().astype(dtype))
    _assert_same_outputs(median_filter_hpss(D), librosa.decompose.hpss(D))
    S = np.abs(D)
    _assert_same_outputs(median_filter_hpss(S), librosa.decompose.hpss(S))


def test_hpss_rejects_small_margin() -> None:
    with pytest.raises(librosa.util.exceptions.ParameterError):
        median_filter_hpss(np.ones((5, 5)), margin=0.5)


# --- hpss_signals -------------------------------------------------------------------


def test_hpss_signals_match_effects_hpss(blues: np.ndarray, blues_stft: np.ndarray) -> None:
    got = hpss_signals(blues, blues_stft)
    want = librosa.effects.hpss(blues)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype == np.float32 and g.shape == w.shape == blues.shape
        assert np.allclose(g, w, rtol=1e-6, atol=1e-7)
        assert np.array_equal(g, w)


def test_hpss_signals_synthetic() -> None:
    y = _synthetic()
    _assert_same_outputs(hpss_signals(y, librosa.stft(y)), librosa.effects.hpss(y))


def test_hpss_signals_rejects_mismatched_stft() -> None:
    y = _synthetic()
    with pytest.raises(ValueError):
        hpss_signals(y, librosa.stft(y, n_fft=1024))


# --- summary table ------------------------------------------------------------------


def test_summary_columns() -> None:
    head = [
        "chroma_stft_mean",
        "chroma_stft_var",
        "rms_mean",
        "rms_var",
        "spectral_centroid_mean",
        "spectral_centroid_var",
        "spectral_bandwidth_mean",
        "spectral_bandwidth_var",
        "rolloff_mean",
        "rolloff_var",
        "zero_crossing_rate_mean",
        "zero_crossing_rate_var",
        "harmony_mean",
        "harmony_var",
        "perceptr_mean",
        "perceptr_var",
        "tempo",
    ]
    mfcc = [f"mfcc{i}_{stat}" for i in range(1, 21) for stat in ("mean", "var")]
    assert isinstance(SUMMARY_COLUMNS, tuple)
    assert list(SUMMARY_COLUMNS) == head + mfcc
    assert len(SUMMARY_COLUMNS) == 57


def test_summary_fast_matches_reference(clip_summaries) -> None:
    track_id, ref, fast = clip_summaries
    assert list(ref) == list(fast) == list(SUMMARY_COLUMNS)
    for name in SUMMARY_COLUMNS:
        assert isinstance(ref[name], float) and isinstance(fast[name], float)
        assert np.isfinite(ref[name]), (track_id, name)
        assert abs(fast[name] - ref[name]) <= REL_TOL * abs(ref[name]) + ABS_FLOOR, (
            track_id,
            name,
            ref[name],
            fast[name],
        )
    assert fast["tempo"] == ref["tempo"] > 0


def test_summary_reference_is_plain_librosa(clip_summaries) -> None:
    track_id, ref, _ = clip_summaries
    y = _load(track_id)
    mfcc = librosa.feature.mfcc(y=y, sr=SR)
    assert ref["mfcc1_mean"] == float(np.mean(mfcc[0]))
    assert ref["mfcc20_var"] == float(np.var(mfcc[19]))
    assert ref["rms_var"] == float(np.var(librosa.feature.rms(y=y)))


def test_summary_shares_the_callers_spectra(blues: np.ndarray) -> None:
    spectra = Spectra(blues, SR)
    assert summary_features(blues, SR, spectra=spectra) == summary_features(blues, SR)
    assert ("log_mel", 128) in spectra._cache  # now cached for the other features
    with pytest.raises(ValueError, match="n_fft=2048"):
        summary_features(blues, SR, spectra=Spectra(blues, SR, n_fft=1024))


def test_summary_synthetic_short_signal() -> None:
    y = _synthetic()
    ref, fast = summary_reference(y, SR), summary_features(y, SR)
    for name in SUMMARY_COLUMNS:
        assert abs(fast[name] - ref[name]) <= REL_TOL * abs(ref[name]) + ABS_FLOOR, name
    assert fast["tempo"] == ref["tempo"]


@pytest.mark.filterwarnings("ignore:Trying to estimate tuning from empty frequency set")
def test_summary_silence() -> None:
    y = np.zeros(SR, dtype=np.float32)
    ref, fast = summary_reference(y, SR), summary_features(y, SR)
    assert ref["tempo"] == fast["tempo"] == 0.0
    for name in SUMMARY_COLUMNS:
        assert np.isnan(ref[name]) == np.isnan(fast[name]), name
        if not np.isnan(ref[name]):
            assert fast[name] == pytest.approx(ref[name], rel=REL_TOL, abs=ABS_FLOOR), name
