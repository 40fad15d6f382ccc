"""Per-track features: shared-STFT results equal librosa's own per-feature calls.

One STFT per distinct signal: the per-frame features share the clip's STFT, and the summary
shares it too when the clip is the whole decode (an exact-length track); the summary of a
padded or trimmed track is of the whole signal, with its own STFT.
"""

import librosa
import numpy as np
import pytest
import soundfile as sf

from genreflow.features.compute import SPECTRAL_ROWS, FeatureSpec, compute_features
from genreflow.features.summary import SUMMARY_COLUMNS, summary_features

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


def count_stfts(monkeypatch) -> list[int]:
    """The length of every signal librosa.stft is called on from now on."""
    lengths = []
    original = librosa.stft
    monkeypatch.setattr(
        librosa, "stft", lambda y, *a, **k: lengths.append(len(y)) or original(y, *a, **k)
    )
    return lengths


@pytest.mark.parametrize("untrimmed", ["none", "itself", "equal copy"])
def test_one_stft_for_an_exact_length_track(monkeypatch, clip, features, untrimmed):
    # nothing padded or trimmed: the clip is the whole signal, and every kind shares its STFT
    whole = {"none": None, "itself": clip, "equal copy": clip.copy()}[untrimmed]
    lengths = count_stfts(monkeypatch)
    shared = compute_features(clip, SR, SPECS, untrimmed=whole)
    assert lengths == [len(clip)]
    np.testing.assert_array_equal(shared["gtzan_summary"], features["gtzan_summary"])


@pytest.fixture(scope="module")
def blues_12s():
    y, sr = sf.read(FIXTURES / "blues.00050.au", dtype="float32")
    return y[: 12 * sr]


@pytest.mark.parametrize("change", ["trimmed", "padded"])
def test_the_summary_of_a_changed_track_has_its_own_stft_of_the_whole_signal(
    monkeypatch, blues_12s, change
):
    if change == "trimmed":  # a 12 s decode cut to a 10 s clip (a view, as load_track does)
        whole = blues_12s
        clip = whole[: 10 * SR]
    else:  # an 8 s decode zero-padded to a 10 s clip
        whole = blues_12s[: 8 * SR]
        clip = librosa.util.fix_length(whole, size=10 * SR)
    sequences = [spec for spec in SPECS if spec.is_sequence]
    expected = compute_features(clip, SR, sequences)
    summary = summary_features(whole, SR)
    expected["gtzan_summary"] = np.array([summary[column] for column in SUMMARY_COLUMNS])

    lengths = count_stfts(monkeypatch)
    computed = compute_features(clip, SR, SPECS, untrimmed=whole)
    assert sorted(lengths) == sorted([len(clip), len(whole)])
    assert computed.keys() == expected.keys()
    for name, values in expected.items():
        np.testing.assert_array_equal(computed[name], values, err_msg=name)


def test_a_summary_alone_transforms_only_the_whole_signal(monkeypatch, clip, blues_12s):
    lengths = count_stfts(monkeypatch)
    compute_features(clip, SR, [FeatureSpec("s", "gtzan_summary")], untrimmed=blues_12s)
    assert lengths == [len(blues_12s)]


@pytest.mark.filterwarnings("ignore:Trying to estimate tuning from empty frequency set")
def test_a_file_without_samples_gets_the_summary_of_its_silent_clip():
    silence = np.zeros(SR, dtype=np.float32)  # what pad_or_trim makes of an empty decode
    spec = FeatureSpec("s", "gtzan_summary")
    computed = compute_features(silence, SR, [spec], untrimmed=silence[:0])
    np.testing.assert_array_equal(computed["s"], compute_features(silence, SR, [spec])["s"])


def test_the_summary_uses_the_whole_signal_and_the_sequences_the_clip():
    kinds = {spec.kind: spec for spec in SPECS}
    assert kinds["gtzan_summary"].uses_whole_signal
    assert not any(spec.uses_whole_signal for spec in SPECS if spec.kind != "gtzan_summary")
