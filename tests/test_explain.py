"""Grad-CAM and Integrated Gradients, checked against their definitions."""

import pandas as pd
import pytest
import torch
from test_predict import AU_FIXTURE, default_features, save_torch_model
from torch import nn

from genreflow.cli import main
from genreflow.explain.attributions import explain, last_conv_layer
from genreflow.explain.examples import choose_tracks, explain_window
from genreflow.models import get_model

from conftest import DEMO_SHAPES, build_model


def example_inputs(name: str, seed: int = 0) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(1, *DEMO_SHAPES[item], generator=generator) for item in get_model(name).inputs
    ]


@pytest.mark.parametrize(
    "name", ["cnn_seed001", "cnn_lstm_attn_seed000", "bilstm_seed004", "hybrid_seed004"]
)
def test_integrated_gradients_are_complete(name):
    """Attributions sum to f(x) − f(baseline) within 1% (Sundararajan et al., axiom 2)."""
    model = build_model(name).eval()
    inputs = example_inputs(name)
    target = 3
    explanation = explain(model, inputs, target, steps=64)
    with torch.no_grad():
        baseline = [torch.zeros_like(x) for x in inputs]
        change = float(model(*inputs)[0, target] - model(*baseline)[0, target])
    total = sum(float(a.sum()) for a in explanation.integrated_gradients)
    assert explanation.logit - explanation.baseline_logit == pytest.approx(change, abs=1e-5)
    assert abs(total - change) <= 0.01 * abs(change)
    assert explanation.delta == pytest.approx(total - change, abs=1e-4)
    shapes = [tuple(x.shape[1:]) for x in inputs]
    assert [a.shape for a in explanation.integrated_gradients] == shapes


def test_steps_are_doubled_until_the_attributions_are_complete():
    model = build_model("bilstm_seed004").eval()
    inputs = example_inputs("bilstm_seed004", seed=2)
    explanation = explain(model, inputs, 0, steps=2)
    change = explanation.logit - explanation.baseline_logit
    assert explanation.steps > 2
    assert abs(explanation.delta) <= 0.01 * abs(change) + 1e-4
    assert explanation.converged


def test_doubling_stops_at_max_steps_and_says_it_did_not_converge():
    model = build_model("bilstm_seed004").eval()
    inputs = example_inputs("bilstm_seed004", seed=2)
    converged = explain(model, inputs, 0, steps=2)
    capped = explain(model, inputs, 0, steps=2, max_steps=converged.steps // 2)
    assert capped.steps == converged.steps // 2
    assert not capped.converged


class TinyConvNet(nn.Module):
    """conv → ReLU → global average pool → linear: Grad-CAM's textbook setting."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = torch.relu(self.conv(x.unsqueeze(1)))
        return self.head(maps.mean(dim=(2, 3)))


def test_grad_cam_is_the_gradient_weighted_sum_of_feature_maps():
    """ReLU(Σ_k α_k A_k), α_k the spatial mean of ∂y_c/∂A_k (Selvaraju et al., eq. 1–2)."""
    torch.manual_seed(0)
    model = TinyConvNet().eval()
    x = torch.randn(1, 8, 12)
    target = 1
    explanation = explain(model, [x], target, steps=8, layer=model.conv)
    maps = model.conv(x.unsqueeze(1))
    maps.retain_grad()
    logit = model.head(torch.relu(maps).mean(dim=(2, 3)))[0, target]
    logit.backward()
    alpha = maps.grad.mean(dim=(2, 3), keepdim=True)
    expected = torch.relu((alpha * maps).sum(dim=1))[0].detach().numpy()
    # same grid as the input (a 3×3 'same' convolution), so no interpolation
    assert explanation.grad_cam.shape == (8, 12)
    assert explanation.grad_cam == pytest.approx(expected, abs=1e-6)
    assert explanation.grad_cam.max() > 0


def test_grad_cam_layer_is_the_last_convolution_that_sees_the_first_input():
    model = build_model("hybrid_seed004").eval()
    layer = last_conv_layer(model, example_inputs("hybrid_seed004"))
    first_tower = [m for m in model.towers[0].modules() if isinstance(m, nn.Conv2d)]
    assert layer is first_tower[-1]  # not the chroma tower's, which runs later


def test_the_figure_names_the_grad_cam_layer():
    model = build_model("hybrid_seed004").eval()
    inputs = example_inputs("hybrid_seed004")
    example = explain_window(model, inputs, title="t", seconds=3.0, steps=8)
    named = dict(model.named_modules())[example.cam_layer]
    assert named is last_conv_layer(model, inputs)
    assert example.cam_layer.startswith("towers.0.")


def test_a_model_without_convolutions_has_no_grad_cam():
    model = build_model("bilstm_seed004").eval()
    inputs = example_inputs("bilstm_seed004")
    assert last_conv_layer(model, inputs) is None
    assert explain(model, inputs, 0, steps=8).grad_cam is None


def test_tracks_are_chosen_genre_by_genre():
    index = pd.DataFrame(
        {
            "track_id": ["b.2", "b.1", "b.1", "c.1", "d.1", "d.2"],
            "genre": ["blues", "blues", "blues", "classical", "disco", "disco"],
        }
    )
    assert choose_tracks(index, ["blues", "classical", "disco"], 4) == ["b.1", "c.1", "d.1", "b.2"]
    assert choose_tracks(index, ["blues", "classical", "disco"], 10) == [
        "b.1",
        "c.1",
        "d.1",
        "b.2",
        "d.2",
    ]


def test_explain_command_writes_a_figure(tmp_path, capsys):
    model_dir = save_torch_model(tmp_path / "model", default_features())
    figure = tmp_path / "why.png"
    args = ["explain", AU_FIXTURE, "--model", model_dir, "--out", figure, "--steps", "16"]
    code = main([str(a) for a in args])
    out = capsys.readouterr().out
    assert code == 0
    assert figure.stat().st_size > 10_000
    assert f"explanation in {figure}" in out
