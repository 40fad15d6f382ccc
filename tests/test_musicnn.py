"""The musicnn port against the original TensorFlow graph, and its input in float32."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from genreflow.embeddings import cpu_matmul
from genreflow.embeddings.musicnn import (
    MODELS,
    UNFOLDED_BYTES,
    WEIGHTS_DIR,
    _blocks,
    embed,
    load_musicnn,
)
from genreflow.embeddings.musicnn_input import log_mel, to_patches
from genreflow.embeddings.musicnn_params import PATCH_FRAMES, SAMPLE_RATE
from genreflow.errors import DataError

from conftest import FIXTURES, PROJECT_ROOT

REFERENCES = PROJECT_ROOT / "tests" / "fixtures" / "musicnn"
OUTPUTS = ("taggram", "logits", "max_pool", "mean_pool", "penultimate")
# measured: the worst max|Δ| / max|reference| over the five outputs is 5.8e-6 (both
# models; a float64 run of the port is as far from TensorFlow's float32 as ours is)
TOLERANCE = 2e-5


@pytest.fixture(scope="module", params=MODELS)
def model_and_reference(request):
    return load_musicnn(request.param), np.load(REFERENCES / f"reference_{request.param}.npz")


def test_the_port_gives_the_original_outputs(model_and_reference):
    model, reference = model_and_reference
    with torch.no_grad():
        outputs = model(torch.from_numpy(reference["patches"]))
    for name in OUTPUTS:
        ours, theirs = outputs[name].numpy(), reference[name]
        assert ours.shape == theirs.shape, name
        error = np.abs(ours - theirs).max() / np.abs(theirs).max()
        assert error < TOLERANCE, (name, error)


def _literal_frontend(model, patches: torch.Tensor) -> torch.Tensor:
    """The graph's own order per branch: conv → ReLU → batch norm on every band → max."""
    x = model.frontend_bn(patches.unsqueeze(1))
    branches = []
    for name, before, after in [("timbral_f74", 3, 3), ("timbral_f77", 3, 3)] + [
        (f"temporal_{n}", (k - 1) // 2, k // 2) for n, k in model.temporal_kernels.items()
    ]:
        conv, bn = getattr(model, f"{name}_conv"), getattr(model, f"{name}_bn")
        branches.append(bn(torch.relu(conv(F.pad(x, (0, 0, before, after))))).amax(dim=3))
    return torch.cat(branches, dim=1)


@pytest.mark.parametrize("onednn", [True, False], ids=["onednn", "f_linear"])
@pytest.mark.parametrize("block_bytes", [1, 2**21, 2**30], ids=["frame", "default", "batch"])
def test_the_front_end_equals_conv_relu_batch_norm_then_max(monkeypatch, onednn, block_bytes):
    """The max taken before ReLU and batch norm (weights of a < 0 filters negated) gives
    the literal order's numbers, for slopes of both signs and zero, through oneDNN's
    matmul or torch's own, in blocks of one frame, of the default size or of the whole
    batch, for batch sizes that split into blocks or not."""
    if onednn and not cpu_matmul.onednn_available():
        pytest.skip("this torch has no oneDNN matmul")
    monkeypatch.setattr(cpu_matmul, "onednn_available", lambda: onednn)
    monkeypatch.setitem(UNFOLDED_BYTES, "cpu", block_bytes)
    generator = torch.Generator().manual_seed(0)
    model = load_musicnn("MSD_musicnn")
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.weight.data = torch.randn(n, generator=generator)
            module.weight.data[::7] = 0.0
            module.bias.data = torch.randn(n, generator=generator)
            module.running_mean.data = torch.randn(n, generator=generator)
            module.running_var.data = torch.rand(n, generator=generator) + 0.1
    for batch in (1, 3):
        patches = torch.randn(batch, PATCH_FRAMES, 96, generator=generator)
        with torch.no_grad():
            ours, literal = model.frontend(patches), _literal_frontend(model, patches)
        assert ours.shape == literal.shape == (batch, 561, PATCH_FRAMES)
        error = (ours - literal).abs().max() / literal.abs().max()
        assert error < 1e-6, error


def test_gradients_flow_through_the_front_end():
    """With autograd on, the products skip oneDNN (no gradient there) and still agree."""
    model = load_musicnn("MSD_musicnn")
    patches = torch.randn(1, PATCH_FRAMES, 96, generator=torch.Generator().manual_seed(1))
    front = model.frontend(patches)
    front.sum().backward()
    gradient = model.timbral_f74_conv.weight.grad
    assert gradient is not None and torch.isfinite(gradient).all() and gradient.abs().sum() > 0
    with torch.no_grad():
        reference = model.frontend(patches)
        assert (front - reference).abs().max() / reference.abs().max() < TOLERANCE


@pytest.mark.parametrize("budget", [1, 5_000, 10**6, 10**9])
def test_blocks_cover_every_frame_of_every_patch_once(budget):
    covered = np.zeros((7, 187), dtype=int)
    for patches, frames in _blocks(7, 187, frame_bytes=1_000, budget=budget):
        covered[patches, frames] += 1
        rows = len(range(*patches.indices(7))) * len(range(*frames.indices(187)))
        assert rows == 1 or rows * 1_000 <= budget
    assert (covered == 1).all()


def test_the_weights_match_their_recorded_checksums():
    sums = dict(
        reversed(line.split("  ")) for line in (WEIGHTS_DIR / "SHA256SUMS").read_text().splitlines()
    )
    for name in MODELS:
        data = (WEIGHTS_DIR / f"{name}.npz").read_bytes()
        assert hashlib.sha256(data).hexdigest() == sums[f"{name}.npz"]
        with np.load(WEIGHTS_DIR / f"{name}.npz") as arrays:
            # 792,079 parameters and batch-norm statistics, as the checkpoints list them
            assert sum(arrays[key].size for key in arrays.files) == 792_079


def test_a_changed_weight_file_is_refused(tmp_path):
    for file in ("SHA256SUMS", "MSD_musicnn.npz"):
        (tmp_path / file).write_bytes((WEIGHTS_DIR / file).read_bytes())
    with (tmp_path / "MSD_musicnn.npz").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(DataError, match="SHA-256"):
        load_musicnn("MSD_musicnn", folder=tmp_path)


def test_the_input_is_float32_where_musicnn_overflowed():
    """musicnn's float16 cast overflows to inf under numpy 2 on loud frames; ours does not."""
    import librosa

    y, _ = librosa.load(FIXTURES / "blues.00050.au", sr=SAMPLE_RATE)
    ours = log_mel(y)
    assert ours.dtype == np.float32 and np.isfinite(ours).all()
    mel = librosa.feature.melspectrogram(y=y, sr=SAMPLE_RATE, n_fft=512, hop_length=256, n_mels=96)
    with np.errstate(over="ignore"):
        float16_path = np.log10(10000 * mel.T.astype(np.float16) + 1)
    assert np.isinf(float16_path).any()  # what musicnn 0.1.0 computes under numpy 2
    # the committed reference input is this representation, patch for patch
    reference = np.load(REFERENCES / "reference_MSD_musicnn.npz")
    patches = to_patches(ours)
    np.testing.assert_allclose(
        patches[reference["patch_index"]], reference["patches"], rtol=0, atol=1e-5
    )


def test_embeddings_do_not_depend_on_the_file_rate():
    """The same music at 22.05 kHz and resampled beforehand to 16 kHz: the same patches."""
    import librosa

    y, sr = librosa.load(FIXTURES / "blues.00050.au", sr=None)
    y = y[: 10 * sr]
    model = load_musicnn("MSD_musicnn")
    direct = embed(y, sr, model, ("max_pool", "taggram"))
    at_16k = embed(librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE), SAMPLE_RATE, model)
    assert direct["max_pool"].shape == (3, 753) and direct["taggram"].shape == (3, 50)
    np.testing.assert_allclose(direct["max_pool"], at_16k["max_pool"], rtol=1e-4, atol=1e-4)


def test_audio_shorter_than_one_patch_is_named():
    with pytest.raises(DataError, match="shorter than one musicnn patch"):
        to_patches(np.zeros((PATCH_FRAMES - 1, 96), dtype=np.float32))


def test_the_throughput_benchmark_reports_both_stages():
    from benchmarks.embeddings import benchmark, render

    result = benchmark([FIXTURES / "country.00048.16k.wav"], repeats=1, batch_size=4)
    (row,) = result["clips"]
    assert row["sample_rate"] == 16000 and row["patches"] == 10
    assert result["device"] == "cpu" and result["torch_threads"] == 1
    assert result["network_x_realtime"] > 0 and result["front_x_realtime"] > 0
    assert result["gemm_gflops"]["torch"] > 0
    assert "× real time per core" in render(result) and "float32 GEMM" in render(result)
