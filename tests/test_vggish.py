"""VGGish: the input against mel_features' numpy code, the release file's shape contract,
TF's flatten order, the AudioSet postprocessing, and the extractor.

The release weights cannot be downloaded here: the network is tested with a random
state dict of the release's exact keys and shapes (one per module, about 290 MB).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from genreflow.embeddings.vggish import (
    Postprocessor,
    VggishExtractor,
    flatten_like_tf,
    load_pca,
    load_vggish,
    pca_state_contract,
    vggish_state_contract,
)
from genreflow.embeddings.vggish_input import (
    log_mel,
    mel_matrix,
    to_examples,
    vggish_examples,
)
from genreflow.embeddings.vggish_params import (
    EXAMPLE_FRAMES,
    MIN_SAMPLES,
    PCA_FILE,
    SAMPLE_RATE,
    WEIGHTS_FILE,
)
from genreflow.errors import ConfigError, DataError

# --- reference: mel_features.py and vggish_input.py of tensorflow/models
# research/audioset/vggish (Copyright 2017 The TensorFlow Authors, Apache-2.0), as
# torchvggish 0.2 ships them; condensed, numerics unchanged.


def _ref_frame(data, window_length, hop_length):
    num_samples = data.shape[0]
    num_frames = 1 + int(np.floor((num_samples - window_length) / hop_length))
    shape = (num_frames, window_length) + data.shape[1:]
    strides = (data.strides[0] * hop_length,) + data.strides
    return np.lib.stride_tricks.as_strided(data, shape=shape, strides=strides)


def _ref_periodic_hann(window_length):
    return 0.5 - (0.5 * np.cos(2 * np.pi / window_length * np.arange(window_length)))


def _ref_stft_magnitude(signal, fft_length, hop_length=None, window_length=None):
    frames = _ref_frame(signal, window_length, hop_length)
    window = _ref_periodic_hann(window_length)
    windowed_frames = frames * window
    return np.abs(np.fft.rfft(windowed_frames, int(fft_length)))


def _ref_hertz_to_mel(frequencies_hertz):
    return 1127.0 * np.log(1.0 + (frequencies_hertz / 700.0))


def _ref_spectrogram_to_mel_matrix(
    num_mel_bins, num_spectrogram_bins, audio_sample_rate, lower_edge_hertz, upper_edge_hertz
):
    nyquist_hertz = audio_sample_rate / 2.0
    spectrogram_bins_hertz = np.linspace(0.0, nyquist_hertz, num_spectrogram_bins)
    spectrogram_bins_mel = _ref_hertz_to_mel(spectrogram_bins_hertz)
    band_edges_mel = np.linspace(
        _ref_hertz_to_mel(lower_edge_hertz), _ref_hertz_to_mel(upper_edge_hertz), num_mel_bins + 2
    )
    mel_weights_matrix = np.empty((num_spectrogram_bins, num_mel_bins))
    for i in range(num_mel_bins):
        lower_edge_mel, center_mel, upper_edge_mel = band_edges_mel[i : i + 3]
        lower_slope = (spectrogram_bins_mel - lower_edge_mel) / (center_mel - lower_edge_mel)
        upper_slope = (upper_edge_mel - spectrogram_bins_mel) / (upper_edge_mel - center_mel)
        mel_weights_matrix[:, i] = np.maximum(0.0, np.minimum(lower_slope, upper_slope))
    mel_weights_matrix[0, :] = 0.0
    return mel_weights_matrix


def _ref_waveform_to_examples(data):
    """vggish_input.waveform_to_examples at 16 kHz (no resampling), as numpy."""
    window_length_samples = round(16000 * 0.025)
    hop_length_samples = round(16000 * 0.010)
    fft_length = 2 ** int(np.ceil(np.log(window_length_samples) / np.log(2.0)))
    spectrogram = _ref_stft_magnitude(
        data,
        fft_length=fft_length,
        hop_length=hop_length_samples,
        window_length=window_length_samples,
    )
    mel = np.dot(
        spectrogram, _ref_spectrogram_to_mel_matrix(64, spectrogram.shape[1], 16000, 125, 7500)
    )
    log_mel = np.log(mel + 0.01)
    window = round(0.96 * (1.0 / 0.010))
    hop = round(0.96 * (1.0 / 0.010))
    return _ref_frame(log_mel, window_length=window, hop_length=hop)


# --- reference: torchvggish 0.2's Postprocessor.postprocess (Apache-2.0), in numpy


def _ref_postprocess(embeddings, eigen_vectors, means):
    pca_applied = np.dot(eigen_vectors, (embeddings.T - means.reshape(-1, 1))).T
    clipped = np.clip(pca_applied, -2.0, 2.0)
    return np.round((clipped - -2.0) * (255.0 / (2.0 - -2.0))), pca_applied


# --- fixtures


def _random_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """He-scaled random weights of the release's keys and shapes (activations stay alive)."""
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in vggish_state_contract().items():
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        scale = (2.0 / fan_in) ** 0.5 if key.endswith("weight") else 0.01
        state[key] = torch.randn(shape, generator=generator) * scale
    return state


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vggish")
    weights = folder / "vggish-random.pth"
    torch.save(_random_state(), weights)
    rng = np.random.default_rng(1)
    eigen_vectors = rng.standard_normal((128, 128)) / 4
    means = rng.standard_normal((128, 1)) / 10
    pca = folder / "pca-random.pth"
    # as torchvggish's release: numpy arrays (float64) in a dict, means a column
    torch.save({"pca_eigen_vectors": eigen_vectors, "pca_means": means}, pca)
    yield {"weights": weights, "pca": pca, "eigen_vectors": eigen_vectors, "means": means}
    weights.unlink()  # pytest keeps the last runs' temporary folders: not 290 MB each


@pytest.fixture(scope="module")
def model(release):
    return load_vggish(release["weights"])


# --- input


def test_the_input_is_mel_features_to_float32_round_off():
    rng = np.random.default_rng(0)
    y = (0.3 * rng.standard_normal(3 * SAMPLE_RATE + 1234)).astype(np.float32)
    ours = vggish_examples(y, SAMPLE_RATE)
    theirs = _ref_waveform_to_examples(y)
    assert ours.dtype == np.float32 and ours.shape == theirs.shape == (3, 96, 64)
    np.testing.assert_allclose(ours, theirs.astype(np.float32), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(
        mel_matrix(), _ref_spectrogram_to_mel_matrix(64, 257, 16000, 125, 7500)
    )


def test_librosa_htk_mel_is_not_mel_features_matrix():
    """Why vggish_input ports the mel matrix: librosa's triangles are linear in Hz."""
    import librosa

    theirs = librosa.filters.mel(
        sr=16000, n_fft=512, n_mels=64, fmin=125, fmax=7500, htk=True, norm=None, dtype=np.float64
    ).T
    assert np.abs(theirs - mel_matrix()).max() > 1e-3


def test_framing_drops_the_incomplete_tail():
    representation = np.arange(2 * EXAMPLE_FRAMES + 50, dtype=np.float32)[:, None] * np.ones(64)
    examples = to_examples(representation.astype(np.float32))
    assert examples.shape == (2, 96, 64)
    assert examples[1, 0, 0] == EXAMPLE_FRAMES and examples[1, -1, 0] == 2 * EXAMPLE_FRAMES - 1


def test_audio_shorter_than_one_example_is_named():
    assert log_mel(np.zeros(MIN_SAMPLES, dtype=np.float32)).shape == (96, 64)
    vggish_examples(np.zeros(MIN_SAMPLES, dtype=np.float32), SAMPLE_RATE)  # exactly one: fine
    with pytest.raises(DataError, match=r"15599 samples .* shorter than one VGGish example"):
        vggish_examples(np.zeros(MIN_SAMPLES - 1, dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(DataError, match="shorter than one VGGish example"):
        vggish_examples(np.zeros(100, dtype=np.float32), SAMPLE_RATE)


# --- the weights' contract


def test_the_contract_is_torchvggish_layout():
    contract = vggish_state_contract()
    assert contract == {
        "features.0.weight": (64, 1, 3, 3),
        "features.0.bias": (64,),
        "features.3.weight": (128, 64, 3, 3),
        "features.3.bias": (128,),
        "features.6.weight": (256, 128, 3, 3),
        "features.6.bias": (256,),
        "features.8.weight": (256, 256, 3, 3),
        "features.8.bias": (256,),
        "features.11.weight": (512, 256, 3, 3),
        "features.11.bias": (512,),
        "features.13.weight": (512, 512, 3, 3),
        "features.13.bias": (512,),
        "embeddings.0.weight": (4096, 12288),
        "embeddings.0.bias": (4096,),
        "embeddings.2.weight": (4096, 4096),
        "embeddings.2.bias": (4096,),
        "embeddings.4.weight": (128, 4096),
        "embeddings.4.bias": (128,),
    }
    assert sum(int(np.prod(s)) for s in contract.values()) == 72_141_184
    assert pca_state_contract() == {"pca_eigen_vectors": (128, 128), "pca_means": (128,)}


def test_the_release_state_loads_strictly(model, release):
    assert not model.training and model.postprocessor is None
    loaded = model.state_dict()
    assert list(loaded) == list(vggish_state_contract())
    saved = torch.load(release["weights"], weights_only=True)
    for key, value in saved.items():
        assert torch.equal(loaded[key], value), key


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda s: s.update({"features.1.weight": s.pop("features.0.weight")}), "missing keys"),
        (lambda s: s.update({"pproc.pca_matrix": torch.zeros(128, 128)}), "unexpected keys"),
    ],
    ids=["renamed-key", "extra-key"],
)
def test_a_state_off_the_key_contract_is_refused_clearly(tmp_path, change, named):
    # a tiny state: the keys are checked before any shape
    state = {key: torch.zeros(1) for key in vggish_state_contract()}
    change(state)
    path = tmp_path / "bad.pth"
    torch.save(state, path)
    with pytest.raises(DataError, match=named) as error:
        load_vggish(path)
    message = str(error.value)
    assert str(path) in message and "release v0.1" in message and "vggish-10086976.pth" in message
    assert "features.0.weight" in message or "pproc.pca_matrix" in message


def test_the_first_mismatched_shape_is_named(tmp_path, release):
    state = torch.load(release["weights"], weights_only=True)
    state["embeddings.4.weight"] = torch.zeros(64, 4096)
    path = tmp_path / "wrong-shape.pth"
    torch.save(state, path)
    del state
    expected = r"embeddings\.4\.weight has shape \(64, 4096\), expected \(128, 4096\)"
    with pytest.raises(DataError, match=expected) as error:
        load_vggish(path)
    assert str(path) in str(error.value) and "release v0.1" in str(error.value)
    path.unlink()
    tiny = tmp_path / "tiny.pth"
    torch.save({key: torch.zeros(1) for key in vggish_state_contract()}, tiny)
    with pytest.raises(DataError, match=r"features\.0\.weight has shape \(1,\), expected"):
        load_vggish(tiny)


def test_unreadable_and_missing_files_are_named(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a readable VGGish weights file"):
        load_vggish(junk)
    with pytest.raises(DataError, match="is missing"):
        load_vggish(tmp_path / "absent.pth")
    with pytest.raises(DataError, match="is missing"):
        load_vggish(tmp_path / WEIGHTS_FILE, tmp_path / PCA_FILE)
    with pytest.raises(ConfigError, match="needs the PCA parameters"):
        load_vggish(junk, postprocess=True)


def test_a_release_named_file_must_carry_its_digest(tmp_path):
    for name in (WEIGHTS_FILE, PCA_FILE):
        path = tmp_path / name
        path.write_bytes(b"x")
        assert not hashlib.sha256(b"x").hexdigest().startswith(name.split("-")[-1][:8])
        with pytest.raises(DataError, match="SHA-256"):
            load_vggish(path) if name == WEIGHTS_FILE else load_pca(path)


@pytest.mark.parametrize(
    "params",
    [
        {"pca_eigen_vectors": np.zeros((128, 64)), "pca_means": np.zeros(128)},
        {"pca_eigen_vectors": np.zeros((128, 128)), "pca_means": np.zeros((1, 128))},
        {"pca_eigen_vectors": np.zeros((128, 128))},
    ],
    ids=["vectors", "means-row", "no-means"],
)
def test_pca_parameters_off_the_contract_are_refused(tmp_path, params):
    path = tmp_path / "pca.pth"
    torch.save(params, path)
    with pytest.raises(DataError, match=r"shape|missing keys") as error:
        load_pca(path)
    assert str(path) in str(error.value)


def test_pca_means_may_be_a_vector_or_a_column_and_tensors(tmp_path):
    rng = np.random.default_rng(2)
    vectors, means = rng.standard_normal((128, 128)), rng.standard_normal(128)
    for index, params in enumerate(
        [
            {"pca_eigen_vectors": vectors, "pca_means": means},
            {"pca_eigen_vectors": torch.from_numpy(vectors), "pca_means": torch.from_numpy(means)},
        ]
    ):
        path = tmp_path / f"pca{index}.pth"
        torch.save(params, path)
        loaded = load_pca(path)
        np.testing.assert_allclose(loaded.pca_means.numpy(), means.astype(np.float32))


def test_a_numpy_1_era_pca_file_loads(tmp_path, release):
    """The 2020 release pickled its arrays under numpy 1: ``numpy.core.multiarray``."""
    path = tmp_path / "legacy.pth"
    params = {"pca_eigen_vectors": release["eigen_vectors"], "pca_means": release["means"]}
    torch.save(params, path, _use_new_zipfile_serialization=False)
    data = path.read_bytes()
    assert b"numpy._core.multiarray" in data
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    loaded = load_pca(path)
    np.testing.assert_array_equal(
        loaded.pca_eigen_vectors.numpy(), release["eigen_vectors"].astype(np.float32)
    )


# --- the graph


def test_the_flatten_is_tensorflow_nhwc_order():
    channels, height, width = 5, 3, 2
    x = torch.arange(2 * channels * height * width, dtype=torch.float32).reshape(
        2, channels, height, width
    )
    flat = flatten_like_tf(x)
    for b in range(2):
        for c in range(channels):
            for h in range(height):
                for w in range(width):
                    assert flat[b, h * width * channels + w * channels + c] == x[b, c, h, w]


def test_the_first_dense_layer_sees_the_nhwc_flatten(model):
    seen = {}
    model.features.register_forward_hook(lambda m, i, o: seen.update(features=o.clone()))
    model.embeddings[0].register_forward_hook(lambda m, i, o: seen.update(dense=i[0].clone()))
    try:
        with torch.inference_mode():
            model(torch.randn(2, 96, 64, generator=torch.Generator().manual_seed(3)))
    finally:
        model.features._forward_hooks.clear()
        model.embeddings[0]._forward_hooks.clear()
    assert seen["features"].shape == (2, 512, 6, 4)
    expected = seen["features"].permute(0, 2, 3, 1).reshape(2, -1)
    assert torch.equal(seen["dense"], expected)


def test_the_final_relu_is_torchvggish_and_optional(model, release):
    with torch.inference_mode():
        x = torch.randn(4, 96, 64, generator=torch.Generator().manual_seed(4))
        with_relu = model(x)
        without = load_vggish(release["weights"], final_relu=False)(x)
    assert isinstance(model.embeddings[5], torch.nn.ReLU)
    assert (with_relu >= 0).all() and (without < 0).any()
    torch.testing.assert_close(with_relu, torch.relu(without))


def test_postprocessing_is_torchvggish_postprocessor(release):
    rng = np.random.default_rng(5)
    embeddings = np.abs(rng.standard_normal((7, 128))).astype(np.float32)
    quantised, pca = _ref_postprocess(
        embeddings.astype(np.float64), release["eigen_vectors"], release["means"]
    )
    assert (pca < -2).any() and (pca > 2).any()  # the clip is exercised
    post = load_pca(release["pca"])
    ours = post(torch.from_numpy(embeddings)).numpy()
    assert ours.dtype == np.float32 and ours.min() >= 0 and ours.max() <= 255
    # float32 vs float64 can move a value sitting on a .5 boundary by one step
    assert np.abs(ours - quantised).max() <= 1 and (ours == quantised).mean() > 0.99
    assert np.array_equal(ours, np.round(ours))
    whitened = load_pca(release["pca"], quantise=False)(torch.from_numpy(embeddings)).numpy()
    np.testing.assert_allclose(whitened, pca, rtol=1e-4, atol=1e-4)
    direct = Postprocessor(release["eigen_vectors"], release["means"])  # numpy arrays too
    assert torch.equal(direct(torch.from_numpy(embeddings)), post(torch.from_numpy(embeddings)))


def test_load_vggish_applies_the_postprocessing(model, release):
    x = torch.randn(3, 96, 64, generator=torch.Generator().manual_seed(6))
    with torch.inference_mode():
        raw = model(x).numpy().astype(np.float64)
        post = load_vggish(release["weights"], release["pca"], postprocess=True)
        quantised = post(x).numpy()
    assert post.state_dict().keys() == model.state_dict().keys()  # PCA not in the state
    reference, _ = _ref_postprocess(raw, release["eigen_vectors"], release["means"])
    assert np.abs(quantised - reference).max() <= 1 and (quantised == reference).mean() > 0.98


# --- the extractor


@pytest.fixture(scope="module")
def extractor(release):
    return VggishExtractor(release["weights"], batch_size=2)


def test_the_extractor_gives_128_per_example(extractor):
    rng = np.random.default_rng(7)
    y16 = (0.1 * rng.standard_normal(3 * 16000)).astype(np.float32)
    y22 = (0.1 * rng.standard_normal(3 * 22050)).astype(np.float32)
    assert extractor.sample_rate == 16000 and extractor.frame_seconds == pytest.approx(0.96)
    at_16k = extractor(y16, 16000)
    at_22k = extractor(y22, 22050)
    assert at_16k.shape == at_22k.shape == (128, 3)
    assert at_16k.dtype == at_22k.dtype == np.float32
    assert np.isfinite(at_16k).all() and at_16k.std() > 0


def test_batches_give_the_same_as_one_at_a_time(extractor):
    rng = np.random.default_rng(8)
    examples = extractor.frontend((0.1 * rng.standard_normal(5 * 16000)).astype(np.float32), 16000)
    assert examples.shape == (5, 96, 64)
    batched = extractor.forward(examples)  # batches of 2, 2, 1
    singles = np.concatenate([extractor.forward(examples[i : i + 1]) for i in range(5)])
    np.testing.assert_allclose(batched, singles, rtol=1e-5, atol=1e-5)


def test_the_extractor_names_short_audio(extractor):
    with pytest.raises(DataError, match="shorter than one VGGish example"):
        extractor(np.zeros(8000, dtype=np.float32), 16000)
