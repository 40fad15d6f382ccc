"""Report 004's recurrent and hybrid torch models and the classical sklearn baselines."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.calibration import CalibratedClassifierCV
from torch import nn

from genreflow.errors import ConfigError
from genreflow.features.summary import SUMMARY_COLUMNS
from genreflow.models import get_model
from genreflow.training.params import TrainParams

torch.set_num_threads(1)

SHAPES = {
    "mfcc@s3": (40, 129),
    "wavelet@s3": (7, 129),
    "chroma@s3": (24, 129),
    "logmel@s3": (128, 129),
    "musicnn@s3": (753, 1),  # one 2.992 s patch per 3 s segment
}
TORCH_MODELS = ("bilstm_seed004", "hybrid_seed004")
CLASSICAL_MODELS = ("logreg", "sgd", "random_forest", "svm")


def _shapes(name: str, frames: int | None = None) -> list[tuple[int, int]]:
    spec = get_model(name)
    # an embedding's frames are the network's examples, not STFT frames: kept as they are
    return [
        (SHAPES[i][0], frames if frames and SHAPES[i][1] > 1 else SHAPES[i][1]) for i in spec.inputs
    ]


def _build(name: str, frames: int | None = None, n_classes: int = 10, **arch: object) -> nn.Module:
    spec = get_model(name)
    torch.manual_seed(0)
    return spec.build(n_classes, _shapes(name, frames), **{**spec.arch, **arch})


def _n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _bidirectional_lstms(model: nn.Module) -> list[nn.LSTM]:
    return [m for m in model.modules() if isinstance(m, nn.LSTM) and m.bidirectional]


# ---------------------------------------------------------------- torch models


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_torch_spec(name: str) -> None:
    spec = get_model(name)
    assert spec.family == "torch"
    assert spec.reproduces.startswith("report 004: ")
    TrainParams.resolve(spec.train, key=f"models.{name}.train")  # only known keys


def test_bilstm_structure() -> None:
    model = _build("bilstm_seed004")
    (lstm,) = _bidirectional_lstms(model)
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (47, 128, 2)
    assert lstm.dropout == pytest.approx(0.3)
    assert model.encoder.out_features == 4 * 128  # mean + max of both directions
    assert 400_000 < _n_params(model) < 1_000_000


def test_hybrid_structure() -> None:
    model = _build("hybrid_seed004")
    assert any(isinstance(m, nn.Conv2d) for m in model.modules())
    (lstm,) = _bidirectional_lstms(model)
    assert lstm.input_size == 47  # mfcc + wavelet rows
    assert len(model.towers) == 2  # one tower each for log-mel and chroma
    branches = [t.out_features for t in model.towers] + [model.recurrent.out_features]
    branches.append(model.pretrained.out_features)  # musicnn's 753 values → 128
    assert model.pretrained.project[0].in_features == 753
    assert model.fusion.in_features == sum(branches) == 64 + 32 + 256 + 128
    assert 100_000 < _n_params(model) < 1_000_000
    assert _n_params(model) < _n_params(_build("bilstm_seed004")) + 200_000


def test_hybrid_without_its_pretrained_branch() -> None:
    spec = get_model("hybrid_seed004")
    shapes = _shapes("hybrid_seed004")[:-1]
    model = spec.build(10, shapes, **{**spec.arch, "pretrained": 0}).eval()
    assert model.pretrained is None and model.fusion.in_features == 64 + 32 + 256
    with torch.no_grad():
        assert model(*[torch.randn(2, r, f) for r, f in shapes]).shape == (2, 10)


def test_hybrid_pretrained_branch_reads_only_the_embedding() -> None:
    # the branch averages the embedding's frames: any number of patches gives one vector,
    # and changing the embedding changes the logits while the recurrent frames stay put
    model = _build("hybrid_seed004").eval()
    generator = torch.Generator().manual_seed(0)
    inputs = [torch.randn(2, r, f, generator=generator) for r, f in _shapes("hybrid_seed004")]
    with torch.no_grad():
        base = model(*inputs)
        three = model(*inputs[:-1], inputs[-1].repeat(1, 1, 3))  # same patch 3 times
        other = model(*inputs[:-1], inputs[-1] + 1.0)
    torch.testing.assert_close(three, base)
    assert not torch.allclose(other, base)


@pytest.mark.parametrize("frames", [129, 97])
@pytest.mark.parametrize("name", TORCH_MODELS)
def test_forward_shape(name: str, frames: int) -> None:
    model = _build(name, frames).eval()
    with torch.no_grad():
        logits = model(*[torch.randn(3, rows, f) for rows, f in _shapes(name, frames)])
    assert logits.shape == (3, 10)
    assert torch.isfinite(logits).all()


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_runs_on_other_lengths_than_built_for(name: str) -> None:
    # global pooling everywhere: a model built for 129 frames evaluates whole 97-frame
    # inputs (and random crops during training)
    model = _build(name).eval()
    with torch.no_grad():
        logits = model(*[torch.randn(2, rows, 16) for rows, _ in _shapes(name)])
    assert logits.shape == (2, 10)


def test_bilstm_last_state_pooling() -> None:
    model = _build("bilstm_seed004", pooling="last", n_classes=4).eval()
    assert model.encoder.out_features == 2 * 128
    with torch.no_grad():
        assert model(*[torch.randn(3, r, f) for r, f in _shapes("bilstm_seed004")]).shape == (3, 4)


def test_bad_input_shapes_are_refused() -> None:
    spec = get_model("bilstm_seed004")
    with pytest.raises(ValueError, match="frames"):
        spec.build(10, [(40, 129), (7, 97)], **spec.arch)
    spec = get_model("hybrid_seed004")
    with pytest.raises(ValueError, match="recurrent branch"):
        spec.build(10, [(128, 129), (24, 129), (753, 1)], **spec.arch)
    with pytest.raises(ValueError, match="frames"):  # the recurrent inputs must agree
        spec.build(10, [(128, 129), (24, 129), (40, 129), (7, 97), (753, 1)], **spec.arch)
    with pytest.raises(ValueError, match="pooling"):
        _build("bilstm_seed004", pooling="attention")


@pytest.mark.parametrize("name", TORCH_MODELS)
def test_adam_steps_lower_the_loss(name: str) -> None:
    model = _build(name, frames=33)
    generator = torch.Generator().manual_seed(1)
    inputs = [torch.randn(4, rows, f, generator=generator) for rows, f in _shapes(name, 33)]
    target = torch.tensor([0, 1, 2, 3])

    def loss() -> float:
        model.eval()
        with torch.no_grad():
            return nn.functional.cross_entropy(model(*inputs), target).item()

    before = loss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(5):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(*inputs), target).backward()
        optimizer.step()
    assert loss() < before


# ---------------------------------------------------------------- classical models


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    """60 tracks × the 57 summary columns, 3 classes with shifted means."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    shift = rng.normal(scale=1.5, size=(3, len(SUMMARY_COLUMNS)))
    scale = rng.uniform(0.1, 100.0, size=len(SUMMARY_COLUMNS))  # raw features differ in scale
    X = (rng.normal(size=(60, len(SUMMARY_COLUMNS))) + shift[y]) * scale
    return pd.DataFrame(X, columns=list(SUMMARY_COLUMNS)), y


def _classifier(pipeline: object) -> object:
    """The fitted-or-not classifier inside a classical pipeline (unwrapping calibration)."""
    model = pipeline.named_steps["model"]  # type: ignore[attr-defined]
    return model.estimator if isinstance(model, CalibratedClassifierCV) else model


@pytest.mark.parametrize("name", CLASSICAL_MODELS)
def test_classical_fits_and_predicts(name: str, table: tuple[pd.DataFrame, np.ndarray]) -> None:
    spec = get_model(name)
    assert spec.family == "sklearn" and spec.inputs == ("gtzan_summary",)
    assert spec.reproduces
    X, y = table
    pipeline = spec.build(3, **spec.arch)
    assert list(pipeline.named_steps) == ["pool", "scale", "model"]
    assert _classifier(pipeline).random_state == 3
    with warnings.catch_warnings():
        # no deprecated parameters (SVC's probability=True is one since 1.9)
        warnings.simplefilter("error", FutureWarning)
        warnings.simplefilter("error", DeprecationWarning)
        pipeline.fit(X, y)
        proba = pipeline.predict_proba(X)
        predicted = pipeline.predict(X)
    assert proba.shape == (60, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    assert (predicted == y).mean() > 0.8  # chance is 1/3


@pytest.mark.parametrize("name", CLASSICAL_MODELS)
def test_classical_deterministic_for_a_seed(
    name: str, table: tuple[pd.DataFrame, np.ndarray]
) -> None:
    spec = get_model(name)
    X, y = table
    # perturbed labels so that the models have something seed-dependent to decide
    y = y.copy()
    y[::7] = (y[::7] + 1) % 3
    first, second = (spec.build(11, **spec.arch).fit(X, y) for _ in range(2))
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    np.testing.assert_array_equal(first.predict_proba(X), second.predict_proba(X))


def test_classical_defaults() -> None:
    svc = _classifier(get_model("svm").build(0, **get_model("svm").arch))
    assert (svc.kernel, svc.C, svc.gamma) == ("rbf", 10.0, "scale")
    logreg = _classifier(get_model("logreg").build(0, **get_model("logreg").arch))
    assert (logreg.C, logreg.max_iter) == (1.0, 2000)
    sgd = _classifier(get_model("sgd").build(0, **get_model("sgd").arch))
    assert (sgd.loss, sgd.early_stopping, sgd.max_iter, sgd.tol) == ("log_loss", False, 1000, 1e-3)
    forest = _classifier(get_model("random_forest").build(0, **get_model("random_forest").arch))
    assert (forest.n_estimators, forest.n_jobs) == (500, 1)


def test_classical_arch_overrides_reach_the_estimator() -> None:
    spec = get_model("svm")
    assert _classifier(spec.build(0, **{**spec.arch, "C": 0.5})).C == 0.5
    assert _classifier(get_model("svm").build(0, C=0.5)).C == 0.5
    assert _classifier(get_model("logreg").build(0, C=0.25)).C == 0.25
    assert _classifier(get_model("random_forest").build(0, n_estimators=7)).n_estimators == 7


def test_classical_bad_arch_keys() -> None:
    with pytest.raises(ConfigError, match="n_estimators"):
        get_model("svm").build(0, n_estimators=3)
    with pytest.raises(ConfigError, match="random_state"):
        get_model("logreg").build(0, random_state=1)
