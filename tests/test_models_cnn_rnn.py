"""The CNN / RNN seed models (reports 000, 001, 002 and 002's ablations) and their layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genreflow.models import load_all
from genreflow.models.cnn_gru_attn_seed002 import CNNGRUAttention
from genreflow.models.layers import AdditiveAttention, ConvBlock2d, to_image
from genreflow.training.params import TrainParams

from conftest import build_model as build
from conftest import modules, n_params

torch.set_num_threads(1)

SHAPES = {"logmel64@s3": (64, 129), "logmel@s3": (128, 129), "logmel@s6": (128, 258)}
REPORT002_MODELS = ("cnn_gru_attn_seed002", "cnn_seed002", "gru_seed002", "cnn_gru_seed002")
OURS = ("cnn_seed001", "cnn_lstm_attn_seed000", *REPORT002_MODELS)


# --- layers -------------------------------------------------------------------------------


def test_to_image_adds_a_channel_axis() -> None:
    assert to_image(torch.zeros(3, 64, 129)).shape == (3, 1, 64, 129)


@pytest.mark.parametrize(
    ("kwargs", "out"),
    [
        ({"kernel_size": (3, 5), "pool": (2, 4)}, (32, 32)),
        ({"kernel_size": 3, "pool": 2, "batch_norm": True}, (32, 64)),
        ({"kernel_size": 3, "padding": "valid"}, (62, 127)),
        ({"kernel_size": (3, 3)}, (64, 129)),
    ],
)
def test_conv_block_output_size_matches_its_output(kwargs: dict, out: tuple[int, int]) -> None:
    torch.manual_seed(0)
    block = ConvBlock2d(1, 4, **kwargs)
    assert block.output_size(64, 129) == out
    assert block(torch.randn(2, 1, 64, 129)).shape == (2, 4, *out)


def test_conv_block_order_and_options() -> None:
    block = ConvBlock2d(2, 8, (3, 5), batch_norm=True, pool=(2, 4), dropout=0.2)
    kinds = [type(m) for m in block.children()]
    assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.MaxPool2d, nn.Dropout]
    assert block.conv.bias is None  # BatchNorm's shift replaces the bias
    assert block.conv.padding == (1, 2)
    plain = ConvBlock2d(2, 8, 3)
    assert plain.conv.bias is not None
    assert [type(m) for m in plain.children()].count(nn.Identity) == 3
    with pytest.raises(ValueError, match="odd"):
        ConvBlock2d(1, 1, 2)


def test_additive_attention_is_a_softmax_weighted_sum() -> None:
    torch.manual_seed(0)
    attention = AdditiveAttention(6, 5)
    h = torch.randn(3, 7, 6)
    pooled, weights = attention(h)
    assert pooled.shape == (3, 6) and weights.shape == (3, 7)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(3))
    scores = attention.score(torch.tanh(attention.proj(h))).squeeze(-1)
    torch.testing.assert_close(weights, torch.softmax(scores, dim=1))
    torch.testing.assert_close(pooled, (weights.unsqueeze(-1) * h).sum(dim=1))
    # a constant sequence pools to itself whatever the weights
    constant = torch.randn(3, 1, 6).expand(3, 7, 6)
    torch.testing.assert_close(attention(constant)[0], constant[:, 0])
    assert n_params(attention) == 6 * 5 + 5 + 5  # W, its bias, v (no bias)


# --- every model ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", OURS)
def test_registered_with_valid_train_defaults(name: str) -> None:
    spec = load_all()[name]
    assert spec.family == "torch"
    assert spec.reproduces.startswith("report 00")
    TrainParams.resolve(spec.train, key=f"models.{name}.train")  # raises on unknown keys


@pytest.mark.parametrize("name", OURS)
def test_forward_shape_and_other_frame_counts(name: str) -> None:
    (key,) = load_all()[name].inputs
    rows, frames = SHAPES[key]
    for n_frames in (frames, 131):
        model = build(name, [(rows, n_frames)], n_classes=7).eval()
        x = torch.randn(3, rows, n_frames)
        before = x.clone()
        out = model(x)
        assert out.shape == (3, 7)
        assert torch.isfinite(out).all()
        torch.testing.assert_close(x, before, rtol=0, atol=0)  # inputs untouched


@pytest.mark.parametrize("name", ("cnn_lstm_attn_seed000", *REPORT002_MODELS))
def test_six_second_inputs(name: str) -> None:
    model = build(name, [SHAPES["logmel@s6"]]).eval()
    assert model(torch.randn(2, *SHAPES["logmel@s6"])).shape == (2, 10)


@pytest.mark.parametrize("name", OURS)
def test_same_seed_same_model(name: str) -> None:
    first, second = build(name).eval(), build(name).eval()
    (key,) = load_all()[name].inputs
    x = torch.randn(2, *SHAPES[key])
    torch.testing.assert_close(first(x), second(x), rtol=0, atol=0)


# --- report 001 -------------------------------------------------------------------------------


def test_seed001_layers() -> None:
    model = build("cnn_seed001")
    convs = modules(model, nn.Conv2d)
    assert [c.out_channels for c in convs] == [64, 64]
    assert [c.kernel_size for c in convs] == [(3, 3), (3, 5)]
    pools = modules(model, nn.MaxPool2d)
    assert [tuple(p.kernel_size) for p in pools] == [(2, 4), (2, 4)]
    assert not modules(model, nn.BatchNorm2d)
    assert [d.p for d in modules(model, nn.Dropout)] == [0.2, 0.2, 0.2]
    linears = modules(model, nn.Linear)
    assert [(fc.in_features, fc.out_features) for fc in linears] == [(64 * 16 * 8, 32), (32, 10)]
    assert not modules(model, nn.RNNBase)


def test_seed001_exact_parameter_count() -> None:
    conv1 = 1 * 64 * 3 * 3 + 64  # 640
    conv2 = 64 * 64 * 3 * 5 + 64  # 61_504
    # 'same' convolutions, floor pooling 2×4 twice: rows 64 → 32 → 16, frames 129 → 32 → 8
    flat = 64 * (64 // 2 // 2) * (129 // 4 // 4)  # 8_192
    dense = flat * 32 + 32  # 262_176
    output = 32 * 10 + 10  # 330
    assert n_params(build("cnn_seed001")) == conv1 + conv2 + dense + output == 324_650
    # the flatten size follows the input's frames: 131 frames → 32 → 8 as well, 200 → 50 → 12
    assert (
        n_params(build("cnn_seed001", [(64, 200)])) == conv1 + conv2 + 64 * 16 * 12 * 32 + 32 + 330
    )


# --- report 000 -------------------------------------------------------------------------------


def test_seed000_layers_and_time_steps() -> None:
    model = build("cnn_lstm_attn_seed000")
    convs = modules(model, nn.Conv2d)
    assert [c.out_channels for c in convs] == [32, 64, 128]
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert len(modules(model, nn.BatchNorm2d)) == 3
    assert [tuple(p.kernel_size) for p in modules(model, nn.MaxPool2d)] == [(2, 2)] * 3
    (lstm,) = modules(model, nn.LSTM)
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (128, 128, 1)
    assert not lstm.bidirectional
    (attention,) = modules(model, nn.MultiheadAttention)
    assert attention.num_heads == 4 and attention.batch_first and attention.embed_dim == 128
    assert not modules(model, nn.GRU)

    steps: list[int] = []
    model.lstm.register_forward_hook(lambda m, args, out: steps.append(args[0].shape[1]))
    model.eval()(torch.randn(2, 128, 129))
    assert steps == [16]  # 129 → 64 → 32 → 16 frames


def test_seed000_parameter_count() -> None:
    convs = (1 * 32 + 32 * 64 + 64 * 128) * 3 * 3  # no conv bias: BatchNorm follows
    norms = 2 * (32 + 64 + 128)
    lstm = 4 * (128 * 128 + 128 * 128 + 128 + 128)  # input + recurrent weights, two biases
    attention = (3 * 128 * 128 + 3 * 128) + (128 * 128 + 128)  # in- and out-projections
    output = 128 * 10 + 10
    total = n_params(build("cnn_lstm_attn_seed000"))
    assert total == convs + norms + lstm + attention + output == 292_330
    assert 150_000 < total < 600_000


def test_seed000_training_defaults() -> None:
    params = TrainParams.resolve(load_all()["cnn_lstm_attn_seed000"].train)
    assert (params.batch_size, params.epochs, params.patience) == (8, 50, 8)
    assert params.scheduler == "plateau" and params.class_balanced
    augment = params.augment
    assert (augment.time_masks, augment.time_mask_param) == (2, 16)
    assert (augment.freq_masks, augment.freq_mask_param) == (2, 12)


# --- report 002 and its ablations -------------------------------------------------------------


def test_seed002_one_class_four_registrations() -> None:
    models = {name: build(name) for name in REPORT002_MODELS}
    assert all(type(model) is CNNGRUAttention for model in models.values())
    specs = load_all()
    assert len({specs[name].build for name in REPORT002_MODELS}) == 1
    assert all(
        specs[name].train == specs["cnn_gru_attn_seed002"].train for name in REPORT002_MODELS
    )
    params = TrainParams.resolve(specs["cnn_gru_attn_seed002"].train)
    assert (params.optimizer, params.lr, params.weight_decay) == ("adamw", 1e-3, 1e-2)
    assert (params.scheduler, params.epochs, params.patience) == ("cosine", 40, 8)
    assert params.monitor == "val_track_accuracy"


def count(model: nn.Module) -> dict[str, int]:
    return {
        "conv": len(modules(model, nn.Conv2d)),
        "gru": len(modules(model, nn.GRU)),
        "attention": len(modules(model, AdditiveAttention)),
        "lstm": len(modules(model, nn.LSTM)),
        "mha": len(modules(model, nn.MultiheadAttention)),
    }


def test_seed002_full_model_layers() -> None:
    model = build("cnn_gru_attn_seed002")
    assert count(model) == {"conv": 3, "gru": 1, "attention": 1, "lstm": 0, "mha": 0}
    assert [c.out_channels for c in modules(model, nn.Conv2d)] == [32, 64, 128]
    (gru,) = modules(model, nn.GRU)
    assert (gru.input_size, gru.hidden_size, gru.num_layers) == (128, 128, 1)
    assert any(d.p > 0 for d in modules(model, nn.Dropout))


def test_seed002_ablations_remove_exactly_one_part() -> None:
    full = build("cnn_gru_attn_seed002")
    full_keys = set(full.state_dict())
    shapes = {k: v.shape for k, v in full.state_dict().items()}

    def part(keys: set[str], prefix: str) -> set[str]:
        return {k for k in keys if k.startswith(prefix)}

    cnn, gru, attention = (part(full_keys, p) for p in ("features.", "gru.", "attention."))
    assert cnn and gru and attention

    no_attention = build("cnn_gru_seed002")
    assert count(no_attention) == {"conv": 3, "gru": 1, "attention": 0, "lstm": 0, "mha": 0}
    assert set(no_attention.state_dict()) == full_keys - attention

    cnn_only = build("cnn_seed002")
    assert count(cnn_only) == {"conv": 3, "gru": 0, "attention": 0, "lstm": 0, "mha": 0}
    assert set(cnn_only.state_dict()) == full_keys - gru - attention

    gru_only = build("gru_seed002")
    assert count(gru_only) == {"conv": 0, "gru": 1, "attention": 1, "lstm": 0, "mha": 0}
    assert set(gru_only.state_dict()) == full_keys - cnn
    assert gru_only.gru.input_size == 128  # one step per log-mel frame, bands as features

    for ablation in (no_attention, cnn_only, gru_only):  # what remains is the same layer
        for key, value in ablation.state_dict().items():
            assert value.shape == shapes[key], key


def test_seed002_parameter_counts() -> None:
    convs = (1 * 32 + 32 * 64 + 64 * 128) * 3 * 3 + 2 * (32 + 64 + 128)  # conv + BatchNorm
    gru = 3 * (128 * 128 + 128 * 128 + 128 + 128)
    attention = 128 * 128 + 128 + 128
    output = 128 * 10 + 10
    expected = {
        "cnn_gru_attn_seed002": convs + gru + attention + output,
        "cnn_seed002": convs + output,
        "gru_seed002": gru + attention + output,  # GRU input = 128 bands
        "cnn_gru_seed002": convs + gru + output,
    }
    for name, total in expected.items():
        got = n_params(build(name))
        assert got == total, name
        assert 50_000 < got < 500_000, name


def test_seed002_last_state_pooling_reads_the_final_step() -> None:
    model = build("cnn_gru_seed002").eval()
    x = torch.randn(2, 128, 129)
    h = model.sequence(x)
    assert h.shape == (2, 16, 128)
    torch.testing.assert_close(model(x), model.output(h[:, -1]))


def test_seed002_rejects_impossible_variants() -> None:
    with pytest.raises(ValueError, match="gru"):
        CNNGRUAttention(10, (128, 129), gru=False, pooling="last")
    with pytest.raises(ValueError, match="pooling"):
        CNNGRUAttention(10, (128, 129), pooling="max")
    with pytest.raises(ValueError, match="too small"):
        CNNGRUAttention(10, (128, 6))
