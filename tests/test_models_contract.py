"""Every registered model honours the registry contract (shapes, learning, save/load)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from genreflow.models import MODELS, load_all
from genreflow.models.classical import limit_to_data, pool_frames
from genreflow.training.params import TrainParams

from conftest import DEMO_SHAPES

torch.set_num_threads(1)
load_all()
TORCH = sorted(n for n, s in MODELS.items() if s.family == "torch")
SKLEARN = sorted(n for n, s in MODELS.items() if s.family == "sklearn")


def shapes(spec):
    return [DEMO_SHAPES[item] for item in spec.inputs]


def test_the_zoo_is_complete():
    expected_torch = {
        "cnn_seed001",
        "cnn_lstm_attn_seed000",
        "cnn_gru_attn_seed002",
        "cnn_seed002",
        "gru_seed002",
        "cnn_gru_seed002",
        "unet_parallel_seed003",
        "resnet_cnn_seed004",
        "bilstm_seed004",
        "hybrid_seed004",
        "shortchunk_resnet",
        "musicnn_mlp",
        "marble_mlp",
    }
    assert set(TORCH) == expected_torch
    assert set(SKLEARN) == {
        "logreg",
        "sgd",
        "random_forest",
        "svm",
        "musicnn_svm",
        "embedding_forest_seed004",
    }


@pytest.mark.parametrize("name", TORCH)
def test_defaults_are_valid_training_params(name):
    spec = MODELS[name]
    TrainParams.resolve(spec.train, key=f"models.{name}.train")
    assert spec.reproduces


@pytest.mark.parametrize("name", TORCH)
def test_forward_learn_and_round_trip(name):
    spec = MODELS[name]
    torch.manual_seed(0)
    model = spec.build(10, shapes(spec), **spec.arch)
    x = [torch.randn(6, r, f) for r, f in shapes(spec)]
    y = torch.arange(6) % 10
    logits = model(*x)
    assert logits.shape == (6, 10) and torch.isfinite(logits).all()

    # a few optimisation steps on a fixed batch lower the loss (both measured in
    # training mode under the same seed, so dropout masks and batch statistics match)
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def train_loss() -> torch.Tensor:
        torch.manual_seed(1)
        return torch.nn.functional.cross_entropy(model(*x), y)

    before = train_loss().item()
    for _ in range(5):
        optimizer.zero_grad()
        train_loss().backward()
        optimizer.step()
    after = train_loss().item()
    assert after < before, (before, after)
    model.eval()

    # save/load gives identical outputs
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    clone = spec.build(10, shapes(spec), **spec.arch)
    clone.load_state_dict(torch.load(buffer))
    clone.eval()
    with torch.no_grad():
        assert torch.equal(model(*x), clone(*x))


@pytest.mark.parametrize("name", SKLEARN)
def test_classical_fit_predict(name):
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 1.0, size=(20, 57)) for c in range(3)])
    y = np.repeat(["a", "b", "c"], 20)
    estimator = MODELS[name].build(0, **MODELS[name].arch)
    limit_to_data(estimator, x.shape[1], y)  # as the training job does (a probe's PCA asks 128)
    estimator.fit(x, y)
    assert (estimator.predict(x) == y).mean() > 0.9
    np.testing.assert_allclose(estimator.predict_proba(x).sum(axis=1), 1.0)


@pytest.mark.parametrize("name", SKLEARN)
def test_deterministic_models_ignore_the_seed_and_the_others_follow_it(name):
    """A model registered as deterministic is trained once per fold whatever
    training.repeats holds: its fit must not depend on the seed. Every other one must,
    or its repeats would be copies. 600 examples of 600 values: scikit-learn's automatic
    PCA solver would be the randomized one here."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0.3 * c, 1.0, size=(200, 600)) for c in range(3)])
    y = np.repeat(["a", "b", "c"], 200)
    probabilities = []
    arch = dict(MODELS[name].arch)
    if "n_estimators" in arch:
        arch["n_estimators"] = 20  # forests: a few trees show it as well as 500
    for seed in (0, 7):
        estimator = MODELS[name].build(seed, **arch)
        limit_to_data(estimator, x.shape[1], y)
        probabilities.append(estimator.fit(x, y).predict_proba(x))
    identical = np.array_equal(*probabilities)
    assert identical == MODELS[name].deterministic


def test_classical_pipelines_pool_an_array_input_over_its_frames():
    """A (examples, rows, frames) array, e.g. musicnn@clip, becomes one vector per example."""
    rng = np.random.default_rng(0)
    patches = rng.normal(size=(4, 753, 3))
    np.testing.assert_allclose(pool_frames(patches), patches.mean(axis=2))
    table = rng.normal(size=(4, 57))
    assert pool_frames(table) is not None and np.array_equal(pool_frames(table), table)
    x = np.concatenate([rng.normal(c, 1.0, size=(20, 16, 3)) for c in range(3)])
    y = np.repeat(["a", "b", "c"], 20)
    estimator = MODELS["musicnn_svm"].build(0, **MODELS["musicnn_svm"].arch)
    assert limit_to_data(estimator, x.shape[1], y) == {"pca.n_components": (128, 16)}  # 16 rows
    assert (estimator.fit(x, y).predict(x) == y).mean() > 0.9


def test_calibration_folds_are_limited_to_the_rarest_genre():
    """An artist-grouped fold of a small dataset can hold 4 tracks of a genre: the SVC's
    5-fold calibration then uses 4 folds (and says so); a single example is refused."""
    from genreflow.errors import DataError

    rng = np.random.default_rng(0)
    y = np.array(["a"] * 10 + ["b"] * 4 + ["c"] * 10)
    x = rng.normal(size=(len(y), 57)) + (y == "b")[:, None] * 3
    estimator = MODELS["svm"].build(0, **MODELS["svm"].arch)
    assert limit_to_data(estimator, 57, y) == {"model.cv": (5, 4)}
    estimator.fit(x, y)
    with pytest.raises(DataError, match="a genre has 1 training example"):
        limit_to_data(MODELS["svm"].build(0), 57, np.array(["a", "a", "b"]))
