"""The U-Net (report 003), residual CNN (report 004) and short-chunk ResNet reference models."""

from __future__ import annotations

import itertools

import pytest
import torch
from torch import nn

from genreflow.models import load_all
from genreflow.models.resnet_cnn_seed004 import ResidualBlock
from genreflow.models.shortchunk_resnet import Res2d
from genreflow.training.params import TrainParams

from conftest import build_model as build
from conftest import modules, n_params

torch.set_num_threads(1)

SHAPES = {"logmel@s3": (128, 129), "logmel@s6": (128, 258), "logmel@clip": (128, 431)}


def forward_with_hooks(
    model: nn.Module, x: torch.Tensor, watched: dict[str, nn.Module]
) -> tuple[torch.Tensor, dict[str, tuple[tuple[torch.Tensor, ...], torch.Tensor]]]:
    """Logits of ``x`` (eval mode, no grad) and each watched module's (inputs, output)."""
    seen: dict[str, tuple[tuple[torch.Tensor, ...], torch.Tensor]] = {}
    handles = [
        module.register_forward_hook(
            lambda _m, inputs, output, key=key: seen.__setitem__(key, (inputs, output))
        )
        for key, module in watched.items()
    ]
    model.eval()
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    return logits, seen


def conv_bn(c_in: int, c_out: int, k: int, bias: bool = False) -> int:
    """Parameters of a k×k conv (optionally with bias) followed by BatchNorm."""
    return k * k * c_in * c_out + (c_out if bias else 0) + 2 * c_out


# --- registry entries ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "inputs", "expected"),
    [
        (
            "unet_parallel_seed003",
            ("logmel@s6",),
            {"normalize": "minmax", "optimizer": "adam", "lr": 1e-3, "weight_decay": 1e-4},
        ),
        (
            "resnet_cnn_seed004",
            ("logmel@s3",),
            {"optimizer": "adamw", "scheduler": "warmup_cosine", "warmup_epochs": 10},
        ),
        (
            "shortchunk_resnet",
            ("logmel@clip",),
            {"optimizer": "adamw", "scheduler": "cosine", "batch_size": 16, "epochs": 60},
        ),
    ],
)
def test_registry_entries(name: str, inputs: tuple[str, ...], expected: dict) -> None:
    spec = load_all()[name]
    assert spec.family == "torch" and spec.inputs == inputs and spec.reproduces
    params = TrainParams.resolve(spec.train, key=name)
    for key, value in expected.items():
        assert getattr(params, key) == value, key


def test_augmentation_defaults() -> None:
    unet = TrainParams.resolve(load_all()["unet_parallel_seed003"].train).augment
    assert (unet.noise_std, unet.time_shift) == (0.05, 0.1)
    assert (unet.time_masks, unet.time_mask_param) == (1, 24)
    assert (unet.freq_masks, unet.freq_mask_param) == (1, 16)
    chunk = TrainParams.resolve(load_all()["shortchunk_resnet"].train).augment
    assert chunk.random_crop_frames == 159 and chunk.mixup_alpha == 0.2
    assert (chunk.time_masks, chunk.freq_masks) == (2, 2)


OURS = ("unet_parallel_seed003", "resnet_cnn_seed004", "shortchunk_resnet")


@pytest.mark.parametrize("name", OURS)
def test_one_input_only(name: str) -> None:
    with pytest.raises(ValueError, match="one input"):
        build(name, [(128, 129), (128, 129)])


# --- report 003: U-Net + parallel convolutions ----------------------------------------------


def unet_expected_params(base: int = 22, depth: int = 4, branch: int = 32, n: int = 10) -> int:
    widths = [base * 2**level for level in range(depth + 1)]
    total, c_in = 0, 1
    for width in widths:  # encoder blocks, then the bottleneck
        total += conv_bn(c_in, width, 3) + conv_bn(width, width, 3)
        c_in = width
    for level in reversed(range(depth)):  # 2×2 transposed conv (with bias), double conv
        w = widths[level]
        total += 4 * widths[level + 1] * w + w
        total += conv_bn(2 * w, w, 3) + conv_bn(w, w, 3)
    total += sum(conv_bn(base, branch, k) for k in (3, 5, 7))
    pooled = 3 * branch  # the average of every branch channel
    return total + 2 * pooled + pooled * n + n  # batch norm, then dense


def test_unet_size_is_the_reduced_seed() -> None:
    model = build("unet_parallel_seed003")
    assert n_params(model) == unet_expected_params() == 3_730_178
    megabytes = sum(p.numel() * p.element_size() for p in model.parameters()) / 1e6
    assert 13 <= megabytes <= 17
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_unet_structure_has_concatenated_skips() -> None:
    model = build("unet_parallel_seed003")
    assert len(model.encoder) == 4 and len(model.decoder) == 4
    assert [block[0].out_channels for block in model.encoder] == [22, 44, 88, 176]
    assert model.bottleneck[0].out_channels == 352
    # each decoder block up-samples to its skip's width and convolves [skip, up]
    for up, skip_width in zip(model.decoder, [176, 88, 44, 22]):
        assert isinstance(up.up, nn.ConvTranspose2d)
        assert up.up.out_channels == skip_width
        assert up.conv[0].in_channels == 2 * skip_width
    assert len(modules(model, nn.BatchNorm2d)) == 2 * 9 + 3


def test_unet_parallel_branches_have_distinct_kernels() -> None:
    model = build("unet_parallel_seed003")
    convs = [branch[0] for branch in model.branches]
    assert [conv.kernel_size for conv in convs] == [(3, 3), (5, 5), (7, 7)]
    assert all(conv.in_channels == 22 and conv.out_channels == 32 for conv in convs)
    assert model.head[-1].in_features == 3 * 32  # average of each branch channel
    assert isinstance(model.head[1], nn.BatchNorm1d)


@pytest.mark.parametrize("shape", [(128, 258), (128, 251), (127, 37)])
def test_unet_forward_at_even_and_odd_sizes(shape: tuple[int, int]) -> None:
    model = build("unet_parallel_seed003", [shape])
    watched = {
        "decoder_input": model.decoder[-1].conv,
        "decoder_output": model.decoder[-1],
        "head": model.head,
    }
    logits, seen = forward_with_hooks(model, torch.randn(2, *shape), watched)
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    # the last decoder block sees skip (22) + up-sampled (22) channels at full size
    assert seen["decoder_input"][0][0].shape == (2, 44, *shape)
    assert seen["decoder_output"][1].shape == (2, 22, *shape)
    # the three branches, concatenated, at the input's resolution
    assert seen["head"][0][0].shape == (2, 96, *shape)


# --- report 004: residual CNN ---------------------------------------------------------------


def test_resnet_parameter_count() -> None:
    stem = conv_bn(1, 32, 3)
    blocks = conv_bn(32, 32, 3) + conv_bn(32, 32, 3)  # identity shortcut
    for c_in, c_out in [(32, 64), (64, 128), (128, 256)]:
        blocks += conv_bn(c_in, c_out, 3) + conv_bn(c_out, c_out, 3) + conv_bn(c_in, c_out, 1)
    expected = stem + blocks + 256 * 10 + 10
    model = build("resnet_cnn_seed004")
    assert n_params(model) == expected == 1_228_394
    assert 0.3e6 <= expected <= 1.5e6


def test_resnet_blocks_have_shortcuts() -> None:
    model = build("resnet_cnn_seed004")
    blocks = modules(model, ResidualBlock)
    assert len(blocks) == 4
    assert isinstance(blocks[0].shortcut, nn.Identity)
    for block in blocks[1:]:
        projection = block.shortcut[0]
        assert isinstance(projection, nn.Conv2d)
        assert projection.kernel_size == (1, 1) and projection.stride == (2, 2)
    assert any(isinstance(m, nn.Dropout) for m in model.modules())


def test_resnet_block_adds_its_shortcut() -> None:
    torch.manual_seed(0)
    block = ResidualBlock(8, 16, stride=2).eval()
    x = torch.randn(2, 8, 9, 11)
    with torch.no_grad():
        nn.init.zeros_(block.bn2.weight)  # silence the residual branch
        out = block(x)
        assert torch.allclose(out, torch.relu(block.shortcut(x)))
    identity = ResidualBlock(8, 8).eval()
    with torch.no_grad():
        nn.init.zeros_(identity.bn2.weight)
        assert torch.allclose(identity(x), torch.relu(x))


@pytest.mark.parametrize("frames", [129, 77, 1])
def test_resnet_forward_shapes(frames: int) -> None:
    model = build("resnet_cnn_seed004", [(128, frames)]).eval()
    with torch.no_grad():
        logits = model(torch.randn(2, 128, frames))
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()


# --- reference: short-chunk ResNet (Won et al. 2020) --------------------------------------


def test_shortchunk_has_seven_strided_residual_layers() -> None:
    model = build("shortchunk_resnet")
    layers = modules(model, Res2d)
    assert len(layers) == 7
    assert [layer.conv_1.out_channels for layer in layers] == [128, 128, 256, 256, 256, 256, 512]
    for layer in layers:
        assert layer.conv_1.stride == (2, 2) and layer.conv_1.kernel_size == (3, 3)
        shortcut = layer.shortcut[0]
        assert shortcut.stride == (2, 2) and shortcut.kernel_size == (3, 3)
    assert isinstance(model.spec_bn, nn.BatchNorm2d) and model.spec_bn.num_features == 1
    dense, bn, _, dropout, out = model.head
    assert (dense.in_features, dense.out_features) == (512, 512)
    assert isinstance(bn, nn.BatchNorm1d) and dropout.p == 0.5 and out.out_features == 10


def test_shortchunk_parameter_count() -> None:
    def res2d(c_in: int, c_out: int) -> int:  # conv_1, conv_2 and the 3×3 shortcut (biased)
        return (
            conv_bn(c_in, c_out, 3, True)
            + conv_bn(c_out, c_out, 3, True)
            + conv_bn(c_in, c_out, 3, True)
        )

    widths = [1, 128, 128, 256, 256, 256, 256, 512]
    expected = 2 + sum(res2d(a, b) for a, b in itertools.pairwise(widths))
    expected += 512 * 512 + 512 + 2 * 512 + 512 * 10 + 10
    assert n_params(build("shortchunk_resnet")) == expected == 12_083_724


@pytest.mark.parametrize(("frames", "positions"), [(159, 2), (1293, 11), (431, 4)])
def test_shortchunk_pools_globally_over_time(frames: int, positions: int) -> None:
    model = build("shortchunk_resnet")  # built for the demo's clips, fed any length
    watched = {"last": model.layers[-1], "head": model.head}
    logits, seen = forward_with_hooks(model, torch.randn(2, 128, frames), watched)
    assert logits.shape == (2, 10) and torch.isfinite(logits).all()
    last = seen["last"][1]
    assert last.shape == (2, 512, 1, positions)  # frequency reduced to one band
    assert torch.equal(seen["head"][0][0], last.amax(dim=(2, 3)))  # global max over time
