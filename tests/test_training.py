"""The training engine: data loading, resume after interruption, determinism, artifacts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from genreflow.evaluation.predict import predict_torch_fold
from genreflow.models.registry import MODELS, ModelSpec
from genreflow.predictions import track_table
from genreflow.saved import SavedTorchModel
from genreflow.training import data as data_module
from genreflow.training import loop as loop_module
from genreflow.training.data import MappedRows, Normalizer, load_fold
from genreflow.training.device import Precision, select_device
from genreflow.training.job import CHECKPOINT_NAME, Job
from genreflow.training.params import TrainParams
from genreflow.training.run import train_torch
from genreflow.training.settings import RunSettings

torch.set_num_threads(1)
CPU = torch.device("cpu")
GENRES = ["a", "b", "c"]
ROWS, FRAMES = 8, 12


class TinyNet(nn.Module):
    def __init__(self, n_classes: int, input_shapes, hidden: int = 16):
        super().__init__()
        rows, frames = input_shapes[0]
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(rows * frames, hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x):
        return self.net(x)


@pytest.fixture
def tiny_model():
    spec = ModelSpec(
        "tiny_test_net",
        "torch",
        ("toy@s1",),
        build=TinyNet,
        hyperparameters=TinyNet,
        train={"epochs": 6, "patience": None, "batch_size": 8, "lr": 1e-2},
    )
    MODELS[spec.name] = spec
    yield spec
    del MODELS[spec.name]


@pytest.fixture
def dataset(tmp_path):
    """Consolidated arrays of 3 genres × 10 tracks × 2 segments, genre-dependent means."""
    rng = np.random.default_rng(0)
    rows, x = [], []
    for g, genre in enumerate(GENRES):
        for t in range(10):
            for segment in range(2):
                rows.append(
                    (
                        len(rows),
                        f"{genre}.{t:05d}",
                        f"{genre}.{t:05d}",
                        genre,
                        segment,
                        1.0 * segment,
                    )
                )
                x.append(rng.normal(g, 1.0, size=(ROWS, FRAMES)))
    index = pd.DataFrame(
        rows, columns=["row", "track_id", "source_track_id", "genre", "segment", "start_s"]
    )
    np.save(tmp_path / "toy@s1.npy", np.asarray(x, dtype=np.float32))
    index.to_csv(tmp_path / "toy@s1.index.csv", index=False)
    tracks = index.drop_duplicates("track_id")
    roles = np.array(["train"] * 6 + ["val"] * 2 + ["test"] * 2)
    folds = pd.DataFrame({"track_id": tracks.track_id, "fold": 0, "role": np.tile(roles, 3)})
    manifest = pd.DataFrame({"track_id": tracks.track_id, "genre": tracks.genre, "status": "ok"})
    return tmp_path, folds, manifest


def toy_arrays(tmp_path) -> dict[str, list[str]]:
    """The ``arrays`` and ``indexes`` arguments for the dataset fixture's one input."""
    return {
        "arrays": [str(tmp_path / "toy@s1.npy")],
        "indexes": [str(tmp_path / "toy@s1.index.csv")],
    }


def tiny_settings(train_overrides=None) -> RunSettings:
    """What the plan would resolve for the tiny model: its defaults under the overrides."""
    spec = MODELS["tiny_test_net"]
    return RunSettings(
        model=spec.name,
        family="torch",
        inputs=("toy@s1",),
        arch=spec.arch,
        train=TrainParams.resolve(spec.train, train_overrides or {}),
        device="cpu",
        amp=True,
        threads=1,
    )


def run_job(tmp_path, folds, manifest, out="out", train_overrides=None, seed=3):
    files = {
        "model": "model.pt",
        "history": "history.json",
        "config": "config.json",
        "timing": "timing.json",
    }
    outputs = {name: str(tmp_path / out / file) for name, file in files.items()}
    job = Job("toy", "stratified_kfold", "tiny_test_net", 0, seed, outputs)
    return train_torch(
        job,
        settings=tiny_settings(train_overrides),
        features={"sample_rate": 22050},
        **toy_arrays(tmp_path),
        folds=folds,
        manifest=manifest,
    )


def scored_test_accuracy(tmp_path, folds, out="out"):
    """Accuracy on the test part of the model saved in ``out``, scored as evaluation does."""
    segments, genres = predict_torch_fold(
        tmp_path / out / "model.pt",
        **toy_arrays(tmp_path),
        folds=folds,
        fold=0,
        device=CPU,
    )
    tracks = track_table(segments, genres)
    return float((tracks["genre"] == tracks["predicted"]).mean())


def test_load_fold_reads_each_role_once(dataset):
    tmp_path, folds, _ = dataset
    splits = load_fold(**toy_arrays(tmp_path), folds=folds, fold=0, genres=GENRES, device=CPU)
    assert [len(splits[r]) for r in ("train", "val", "test")] == [36, 12, 12]
    assert splits["train"].inputs[0].shape == (36, ROWS, FRAMES)
    assert set(splits["test"].index.track_id).isdisjoint(splits["train"].index.track_id)


def test_a_fold_over_the_memory_bound_is_read_batch_by_batch(dataset, tiny_model, monkeypatch):
    """A 100,000-track fold does not fit a job: its rows stay memory-mapped, and every
    batch, statistic and trained weight is what the fold held in memory gives."""
    tmp_path, folds, manifest = dataset
    held = load_fold(**toy_arrays(tmp_path), folds=folds, fold=0, genres=GENRES, device=CPU)
    mapped = load_fold(
        **toy_arrays(tmp_path), folds=folds, fold=0, genres=GENRES, device=CPU, max_bytes=1
    )
    assert isinstance(mapped["train"].inputs[0], MappedRows)
    assert mapped["train"].inputs[0].shape == (36, ROWS, FRAMES)
    positions = torch.tensor([5, 0, 11, 3, 5])
    for role in ("train", "val", "test"):
        (x,), labels = mapped[role].batch(positions, CPU)
        (y,), expected = held[role].batch(positions, CPU)
        assert torch.equal(x, y) and torch.equal(labels, expected)
        assert mapped[role].index.equals(held[role].index)
    monkeypatch.setattr(data_module, "STATS_CHUNK_ROWS", 5)  # several chunks
    (mean, std), (held_mean, held_std) = (
        Normalizer.fit("standardize", split["train"].inputs).stats[0] for split in (mapped, held)
    )
    torch.testing.assert_close(mean, held_mean)
    torch.testing.assert_close(std, held_std)
    in_memory = run_job(tmp_path, folds, manifest, out="held")
    monkeypatch.setattr(data_module, "FOLD_MEMORY_BYTES", 1)
    streamed = run_job(tmp_path, folds, manifest, out="mapped")
    for a, b in zip(in_memory["epochs"], streamed["epochs"], strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    assert scored_test_accuracy(tmp_path, folds, out="mapped") == scored_test_accuracy(
        tmp_path, folds, out="held"
    )


def test_standardize_uses_training_statistics():
    x = torch.randn(50, 4, 10) * 3 + 7
    normalizer = Normalizer.fit("standardize", [x])
    (z,) = normalizer([x])
    assert torch.allclose(z.mean(dim=(0, 2)), torch.zeros(4), atol=1e-5)
    (m,) = Normalizer.fit("minmax", [x])([x])
    assert float(m.min()) == 0.0 and float(m.max()) == pytest.approx(1.0)


def test_training_writes_artifacts_and_learns(dataset, tiny_model):
    tmp_path, folds, manifest = dataset
    history = run_job(tmp_path, folds, manifest)
    out = tmp_path / "out"
    assert {p.name for p in out.iterdir()} == {
        "model.pt",
        "history.json",
        "config.json",
        "timing.json",
    }
    saved = json.loads((out / "history.json").read_text())
    assert [e["epoch"] for e in saved["epochs"]] == list(range(1, 7))
    assert set(saved["epochs"][0]) == {
        "epoch",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "val_track_accuracy",
        "lr",
    }  # no wall-clock time: that is timing.json's
    timing = json.loads((out / "timing.json").read_text())
    assert len(timing["epoch_seconds"]) == 6 and timing["train_seconds"] > 0
    assert timing["resumed_from_epoch"] is None
    assert "test" not in history  # the test part is evaluation's, from the saved model
    assert scored_test_accuracy(tmp_path, folds) > 0.8  # genres are well separated
    config = json.loads((out / "config.json").read_text())
    assert config["n_examples"] == {"train": 36, "val": 12}  # the test part never loaded
    assert config["device"] == "cpu" and config["seed"] == 3 and "torch" in config["versions"]
    assert config["repeat"] == 3  # the run's seed of training.repeats (fold 0: the same)
    assert config["train"]["lr"] == 1e-2 and config["genres"] == GENRES
    checkpoint = torch.load(out / "model.pt", weights_only=False)
    assert checkpoint["genres"] == GENRES and checkpoint["normalizer"]["kind"] == "standardize"


def test_saved_model_reproduces_its_best_epochs_validation_scores(dataset, tiny_model):
    """model.pt holds the restored best epoch: reloaded, it scores the val part as logged."""
    tmp_path, folds, manifest = dataset
    history = run_job(tmp_path, folds, manifest, train_overrides={"lr": 3e-2})
    saved = SavedTorchModel.load(tmp_path / "out" / "model.pt")
    model = saved.network()
    val = load_fold(
        **toy_arrays(tmp_path), folds=folds, fold=0, genres=GENRES, device=CPU, roles=("val",)
    )["val"]
    normalizer = Normalizer.from_state(saved.normalizer)
    loss, accuracy, _ = loop_module.evaluate(
        model, val, normalizer, Precision.for_device(CPU, enabled=False)
    )
    best = history["epochs"][history["best_epoch"] - 1]
    assert loss == pytest.approx(best["val_loss"], rel=1e-5)
    assert accuracy == pytest.approx(best["val_accuracy"])


def test_same_config_gives_same_metrics(dataset, tiny_model):
    tmp_path, folds, manifest = dataset
    first = run_job(tmp_path, folds, manifest, out="a")
    second = run_job(tmp_path, folds, manifest, out="b")
    assert first == second
    assert scored_test_accuracy(tmp_path, folds, "a") == scored_test_accuracy(tmp_path, folds, "b")
    for name in ("model.pt", "history.json"):  # byte for byte
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_seeds_change_the_weights_and_the_same_seed_repeats_them(dataset, tiny_model):
    """A repeat's seed drives initialisation, data order and dropout: another seed,
    other weights; the same seed, the same weights bit for bit."""
    tmp_path, folds, manifest = dataset
    for out, seed in (("seed0", 0), ("seed1", 1), ("seed0_again", 0)):
        run_job(tmp_path, folds, manifest, out=out, seed=seed)
    weights = {
        out: torch.load(tmp_path / out / "model.pt")["state_dict"]
        for out in ("seed0", "seed1", "seed0_again")
    }
    same = weights["seed0"], weights["seed0_again"]
    assert all(torch.equal(same[0][k], same[1][k]) for k in same[0])
    other = weights["seed0"], weights["seed1"]
    assert not any(torch.equal(other[0][k], other[1][k]) for k in other[0])
    configs = [json.loads((tmp_path / out / "config.json").read_text()) for out in weights]
    assert [c["repeat"] for c in configs] == [0, 1, 0]


def scripted_validation(monkeypatch, segment_accuracy, track_accuracy):
    """Make every epoch's validation score the given segment and track accuracies."""
    epochs = iter(zip(segment_accuracy, track_accuracy))
    current = {}

    def evaluate(model, split, normalizer, precision):
        current["segment"], current["track"] = next(epochs)
        return 1.0 - current["segment"], current["segment"], torch.zeros(len(split), 3)

    monkeypatch.setattr(loop_module, "evaluate", evaluate)
    monkeypatch.setattr(loop_module, "track_accuracy", lambda split, p: current["track"])


@pytest.mark.parametrize(
    "monitor, best_epoch",
    [("val_track_accuracy", 2), ("val_accuracy", 1), ("val_loss", 1)],
)
def test_early_stopping_follows_track_accuracy_where_segments_disagree(
    dataset, tiny_model, monkeypatch, monitor, best_epoch
):
    """Epoch 1 classifies more segments right, epoch 2 more tracks: a model watching
    validation track accuracy restores epoch 2; segment accuracy (or loss) would pick 1."""
    tmp_path, folds, manifest = dataset
    scripted_validation(monkeypatch, [0.9, 0.6, 0.7], [0.5, 0.8, 0.6])
    history = run_job(tmp_path, folds, manifest, train_overrides={"epochs": 3, "monitor": monitor})
    assert history["best_epoch"] == best_epoch
    assert [e["val_track_accuracy"] for e in history["epochs"]] == [0.5, 0.8, 0.6]
    assert [e["val_accuracy"] for e in history["epochs"]] == [0.9, 0.6, 0.7]


def test_models_watching_accuracy_watch_track_accuracy():
    from genreflow.models import load_all

    monitors = {
        name: TrainParams.resolve(spec.train).monitor
        for name, spec in load_all().items()
        if spec.family == "torch"
    }
    assert "val_accuracy" not in monitors.values()
    assert monitors["cnn_gru_attn_seed002"] == "val_track_accuracy"


def test_interrupted_training_resumes_to_the_same_result(dataset, tiny_model, monkeypatch):
    tmp_path, folds, manifest = dataset
    reference = run_job(tmp_path, folds, manifest, out="reference")

    calls = {"n": 0}
    original = loop_module.evaluate

    def evaluate_then_die(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # killed during the 4th epoch's validation
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(loop_module, "evaluate", evaluate_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_job(tmp_path, folds, manifest, out="interrupted")
    out = tmp_path / "interrupted"
    assert (out / CHECKPOINT_NAME).exists()
    assert not (out / "model.pt").exists()  # nothing Snakemake could take as done
    monkeypatch.setattr(loop_module, "evaluate", original)

    resumed = run_job(tmp_path, folds, manifest, out="interrupted")
    timing = json.loads((out / "timing.json").read_text())
    assert timing["resumed_from_epoch"] == 3 and len(timing["epoch_seconds"]) == 6
    assert resumed == reference
    for name in ("model.pt", "history.json"):  # byte for byte as if never interrupted
        assert (out / name).read_bytes() == (tmp_path / "reference" / name).read_bytes()
    assert not (out / CHECKPOINT_NAME).exists()


def test_checkpoint_of_another_configuration_is_ignored(dataset, tiny_model, monkeypatch):
    tmp_path, folds, manifest = dataset
    out = tmp_path / "out"
    out.mkdir()
    torch.save({"fingerprint": "something else"}, out / CHECKPOINT_NAME)
    history = run_job(tmp_path, folds, manifest)
    assert json.loads((out / "timing.json").read_text())["resumed_from_epoch"] is None
    assert len(history["epochs"]) == 6


def test_early_stopping_restores_the_best_epoch(dataset, tiny_model):
    tmp_path, folds, manifest = dataset
    MODELS["tiny_test_net"] = ModelSpec(
        "tiny_test_net",
        "torch",
        ("toy@s1",),
        build=TinyNet,
        hyperparameters=TinyNet,
        train={"epochs": 40, "patience": 2, "lr": 0.5, "optimizer": "sgd", "momentum": 0.0},
    )
    history = run_job(tmp_path, folds, manifest)
    epochs = history["epochs"]
    assert history["stopped_early"] and len(epochs) < 40
    best = min(epochs, key=lambda e: e["val_loss"])
    assert history["best_epoch"] == best["epoch"]
    assert len(epochs) - history["best_epoch"] == 2  # patience


def test_the_job_runs_the_epochs_of_its_settings(dataset, tiny_model):
    """The plan caps epochs (training.max_epochs); the job runs what it is given."""
    tmp_path, folds, manifest = dataset
    assert len(run_job(tmp_path, folds, manifest, train_overrides={"epochs": 2})["epochs"]) == 2


def test_device_selection():
    assert select_device("cpu").type == "cpu"
    assert select_device("auto").type in ("cuda", "mps", "cpu")
    assert Precision.for_device(torch.device("cpu")).describe() == "fp32"
    if not torch.cuda.is_available():
        from genreflow.errors import ConfigError

        with pytest.raises(ConfigError, match="training.device"):
            select_device("cuda")


def test_unknown_train_key_is_named():
    from genreflow.errors import ConfigError

    with pytest.raises(ConfigError, match=r"models.x.train.lr_decay: unknown key"):
        TrainParams.resolve({"lr_decay": 0.1}, key="models.x.train")
    with pytest.raises(ConfigError, match="models.x.train.optimizer"):
        TrainParams.resolve({"optimizer": "lion"}, key="models.x.train")


def test_validation_track_accuracy_scores_tracks_as_the_test_part_is_scored():
    """Two of a track's three segments wrong, but its mean probability right: the track
    counts as right (segment accuracy says 1/3); the monitor can follow either."""
    from genreflow.training.data import Split
    from genreflow.training.loop import track_accuracy

    index = pd.DataFrame({"track_id": ["a", "a", "a", "b"], "genre": ["x", "x", "x", "y"]})
    split = Split([torch.zeros(4, 1, 1)], torch.tensor([0, 0, 0, 1]), index)
    probabilities = torch.tensor([[0.45, 0.55], [0.45, 0.55], [0.99, 0.01], [0.2, 0.8]])
    segment_accuracy = float((probabilities.argmax(1) == split.labels).double().mean())
    assert segment_accuracy == 0.5
    assert track_accuracy(split, probabilities) == 1.0
    TrainParams(monitor="val_track_accuracy").check("train")  # a valid monitor
