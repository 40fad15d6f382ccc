"""Sweep points: named by their resolved settings, reproducible, selected on validation
track accuracy."""

import pandas as pd
import pytest

from genreflow.errors import ConfigError
from genreflow.evaluation.sweep import summarise_points, validation_scores
from genreflow.models.index import load_index
from genreflow.plan.models import TrainingPlan
from genreflow.plan.sweeps import sweep_points
from genreflow.training.params import TrainParams
from genreflow.training.sweeps import point_id, points_table, swept_names

CNN = load_index()["cnn_seed001"]
DEFAULTS = CNN.train
TRAINING = TrainingPlan("cpu", amp=False, repeats=(0,), threads=1, max_epochs=None, gpu_mem_mb=0)


def points_of(sweep, train=None, arch=None, model=CNN, key="k", training=TRAINING):
    return sweep_points(model, model.inputs, arch or {}, train or {}, sweep, training, key)


def train_of(points):
    """Each point's resolved train settings (a torch sweep of train keys keeps the arch)."""
    assert all(point.arch == CNN.arch for point in points.values())
    return [point.train for point in points.values()]


def test_a_grid_has_every_combination_with_stable_names():
    sweep = {"grid": {"lr": [1e-4, 1e-3], "batch_size": [16, 32, 64]}}
    points = points_of(sweep, key="sweeps.models.cnn_seed001")
    assert len(points) == 6
    assert all(len(pid) == 10 for pid in points)
    assert points == points_of(sweep)  # same settings, same names
    resolved = TrainParams.resolve(DEFAULTS, {"lr": 1e-4, "batch_size": 16})
    assert point_id(CNN.arch, resolved) in points
    assert swept_names(sweep) == ["lr", "batch_size"]


def test_growing_a_grid_keeps_the_existing_points_names():
    small = points_of({"grid": {"lr": [1e-4, 1e-3]}})
    large = points_of({"grid": {"lr": [1e-4, 1e-3, 1e-2]}})
    assert set(small) < set(large)


def test_points_are_named_by_resolved_settings():
    """The model's default value and the config's train block are part of a point."""
    default_lr = TrainParams.resolve(DEFAULTS).lr
    points = points_of({"grid": {"lr": [default_lr, 2 * default_lr]}})
    assert point_id(CNN.arch, TrainParams.resolve(DEFAULTS)) in points
    with_config = points_of({"grid": {"lr": [2 * default_lr]}}, train={"weight_decay": 0.01})
    assert not set(with_config) & set(points)
    (resolved,) = train_of(with_config)
    assert resolved.weight_decay == 0.01 and resolved.lr == 2 * default_lr
    # the model's arch is part of a point too: another architecture, another name
    other_arch = points_of({"grid": {"lr": [default_lr]}}, arch={"dropout": 0.1})
    assert not set(other_arch) & set(points)


def test_arch_keys_are_swept_beside_train_keys():
    points = points_of({"grid": {"dropout": [0.1, 0.2], "lr": [1e-3]}})
    assert len(points) == 2
    assert sorted(p.arch["dropout"] for p in points.values()) == [0.1, 0.2]
    assert all(p.train.lr == 1e-3 for p in points.values())
    table = points_table(points, ["dropout", "lr"])
    assert sorted(table["dropout"]) == [0.1, 0.2] and set(table["lr"]) == {1e-3}


def test_a_scikit_learn_model_sweeps_its_estimators_keywords():
    forest = load_index()["random_forest"]
    points = points_of({"grid": {"n_estimators": [50, 100]}}, model=forest)
    assert sorted(p.arch["n_estimators"] for p in points.values()) == [50, 100]
    assert all(p.train is None for p in points.values())
    # the registered default (500 trees) resolved into the name: 500 is the default point
    default = points_of({"grid": {"n_estimators": [500]}}, model=forest)
    assert list(default) == [point_id(forest.arch, None)]
    with pytest.raises(ConfigError, match="k.grid.lr: unknown key.*scikit-learn model"):
        points_of({"grid": {"lr": [1.0]}}, model=forest)


def test_points_run_the_plans_epoch_cap_unless_they_set_epochs():
    capped = TrainingPlan("cpu", amp=False, repeats=(0,), threads=1, max_epochs=2, gpu_mem_mb=0)
    (point,) = points_of({"grid": {"lr": [1e-3]}}, training=capped).values()
    assert point.train.epochs == 2
    (point,) = points_of({"grid": {"epochs": [5]}}, training=capped).values()
    assert point.train.epochs == 5  # a swept epochs is honoured
    # the point's name is a hash of what it runs: another cap, another point
    assert set(points_of({"grid": {"lr": [1e-3]}})) != set(
        points_of({"grid": {"lr": [1e-3]}}, training=capped)
    )


def test_duplicate_points_collapse():
    default_optimizer = TrainParams.resolve(DEFAULTS).optimizer
    points = points_of({"grid": {"optimizer": [default_optimizer] * 2}})
    assert len(points) == 1


def test_random_points_are_reproducible_and_in_range():
    sweep = {
        "random": {
            "n": 12,
            "seed": 3,
            "space": {
                "lr": {"log_uniform": [1e-4, 1e-2]},
                "optimizer": {"choice": ["adam", "adamw", "sgd"]},
                "batch_size": {"int_uniform": [8, 64]},
                "weight_decay": {"uniform": [0.0, 0.1]},
            },
        }
    }
    points = points_of(sweep)
    assert points == points_of(sweep)
    assert len(points) == 12
    for resolved in train_of(points):
        assert 1e-4 <= resolved.lr <= 1e-2
        assert resolved.optimizer in ("adam", "adamw", "sgd")
        assert 8 <= resolved.batch_size <= 64 and isinstance(resolved.batch_size, int)
    other_seed = {"random": {**sweep["random"], "seed": 4}}
    assert set(points_of(other_seed)) != set(points)


@pytest.mark.parametrize(
    "sweep, message",
    [
        ({"grid": {"lr": []}}, r"k.grid.lr: give a non-empty list"),
        (
            {"grid": {"optimiser": ["adam"]}},
            r"k.grid.optimiser: unknown key; did you mean 'optimizer'",
        ),
        ({"grid": {"optimizer": ["lion"]}}, r"k.grid.optimizer: 'lion' is not one of"),
        (
            {"random": {"n": 2, "space": {"lr": {"normal": [0, 1]}}}},
            r"k.random.space.lr: give one of",
        ),
        ({"random": {"n": 2, "space": {"lr": {"log_uniform": [0.0, 1.0]}}}}, "must be positive"),
        ({}, "give either grid or random"),
    ],
)
def test_bad_sweeps_name_the_key(sweep, message):
    with pytest.raises(ConfigError, match=message):
        points_of(sweep)


def history(best_epoch: int, val_track: list[float], val_segments=None) -> dict:
    """A torch run's history: validation track accuracy per epoch (segment accuracy
    the same unless given)."""
    val_segments = val_segments or val_track
    return {
        "best_epoch": best_epoch,
        "epochs": [
            {"epoch": i + 1, "val_track_accuracy": t, "val_accuracy": s, "val_loss": 1 - s}
            for i, (t, s) in enumerate(zip(val_track, val_segments))
        ],
    }


def test_selection_uses_the_restored_epochs_validation_track_accuracy():
    histories = {
        ("aaaaaaaaaa", 0, 0): history(2, [0.5, 0.7, 0.9]),  # the restored epoch is 2: 0.7
        ("aaaaaaaaaa", 0, 1): history(1, [0.6, 0.2]),
        ("bbbbbbbbbb", 0, 0): history(1, [0.66]),
        ("bbbbbbbbbb", 0, 1): history(1, [0.66]),
    }
    scores = validation_scores(histories)
    indexed = scores.set_index(["point", "seed", "fold"])
    assert indexed.loc[("aaaaaaaaaa", 0, 0), "val_track_accuracy"] == 0.7
    points = pd.DataFrame({"point": ["aaaaaaaaaa", "bbbbbbbbbb"], "lr": [0.1, 0.01]})
    summary = summarise_points(points, scores)
    # mean 0.65 against 0.66: b is selected and ranked first
    assert list(summary["point"]) == ["bbbbbbbbbb", "aaaaaaaaaa"]
    assert list(summary["rank"]) == [1, 2]
    assert summary.loc[0, "val_track_accuracy_std"] == 0.0
    assert summary.loc[1, "val_track_accuracy_mean"] == pytest.approx(0.65)


def test_selection_follows_tracks_where_segment_accuracy_disagrees():
    """Point a classifies more segments right, point b more tracks: b is selected."""
    histories = {
        ("aaaaaaaaaa", seed, fold): history(1, [0.60], val_segments=[0.80])
        for seed in (0, 1)
        for fold in (0, 1)
    } | {
        ("bbbbbbbbbb", seed, fold): history(1, [0.70], val_segments=[0.55])
        for seed in (0, 1)
        for fold in (0, 1)
    }
    points = pd.DataFrame({"point": ["aaaaaaaaaa", "bbbbbbbbbb"], "lr": [0.1, 0.01]})
    summary = summarise_points(points, validation_scores(histories))
    assert summary["point"].iloc[0] == "bbbbbbbbbb"
    assert summary["n_runs"].tolist() == [4, 4]  # every seed of every fold
    # a scikit-learn run's history holds its accuracies directly
    classical = {
        ("aaaaaaaaaa", 0, 0): {"val_track_accuracy": 0.6, "val_segment_accuracy": 0.8},
        ("bbbbbbbbbb", 0, 0): {"val_track_accuracy": 0.7, "val_segment_accuracy": 0.5},
    }
    assert summarise_points(points, validation_scores(classical))["point"].iloc[0] == "bbbbbbbbbb"


def test_sweep_report_files(tmp_path):
    from genreflow.evaluation.sweep import write_sweep_report

    histories = {
        (point, 0, fold): history(1, [acc + 0.01 * fold])
        for point, acc in (("aaaaaaaaaa", 0.5), ("bbbbbbbbbb", 0.7), ("cccccccccc", 0.6))
        for fold in (0, 1)
    }
    points = pd.DataFrame(
        {
            "point": ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"],
            "lr": [0.001, 0.003, 0.01],
            "batch_size": [16, 32, 16],
            "optimizer": ["adam", "sgd", "adam"],
        }
    )
    outputs = {
        "summary": tmp_path / "summary.csv",
        "markdown": tmp_path / "summary.md",
        "selected": tmp_path / "selected.json",
        "figure": tmp_path / "figure.png",
    }
    test = {
        "selected (bbbbbbbbbb)": {"track_accuracy": [0.8, 0.7], "runs": [(0, 0), (0, 1)]},
        "default": {"track_accuracy": [0.6, 0.65], "runs": [(0, 0), (0, 1)]},
    }
    write_sweep_report(
        identity={"dataset": "demo", "scheme": "stratified_kfold", "model": "cnn_seed001"},
        points=points,
        scores=validation_scores(histories),
        swept=["lr", "batch_size", "optimizer"],
        test=test,
        outputs=outputs,
        default_point="aaaaaaaaaa",
    )
    markdown = outputs["markdown"].read_text()
    assert "Point `bbbbbbbbbb`: lr = 0.003, batch_size = 32, optimizer = sgd" in markdown
    assert "| selected (bbbbbbbbbb) | 75.0% | 80.0% (0, 0), 70.0% (0, 1) |" in markdown
    assert "| default | 62.5% | 60.0% (0, 0), 65.0% (0, 1) |" in markdown
    assert "| aaaaaaaaaa (default) |" in markdown
    assert "default configuration)" not in markdown  # the selected point is not the default
    import json

    selected = json.loads(outputs["selected"].read_text())
    assert selected["point"] == "bbbbbbbbbb"
    assert selected["hyperparameters"] == {"lr": 0.003, "batch_size": 32, "optimizer": "sgd"}
    assert isinstance(selected["hyperparameters"]["batch_size"], int)
    assert outputs["figure"].stat().st_size > 10_000


def test_the_sweep_report_tests_only_the_selected_points_runs(tmp_path):
    """Rule sweep_report from its files: a scikit-learn sweep on the summary table, the
    selected point's runs scored on their test parts, the other point's models unread."""
    import json

    import joblib
    from sklearn.linear_model import LogisticRegression

    from genreflow.evaluation.sweep import run_sweep_report

    tracks = [f"{genre}.{i:05d}" for genre in ("blues", "rock") for i in range(4)]
    genres = [track.split(".")[0] for track in tracks]
    x = [[float(genre == "rock"), i / 10] for i, genre in enumerate(genres)]
    table = pd.DataFrame(x, columns=["f0", "f1"])
    table.insert(0, "genre", genres)
    table.insert(0, "source_track_id", tracks)
    table.insert(0, "track_id", tracks)
    table.to_csv(tmp_path / "table.csv", index=False)
    folds = pd.DataFrame(
        [
            {"track_id": track, "fold": fold, "role": "test" if i % 2 == fold else "train"}
            for fold in (0, 1)
            for i, track in enumerate(tracks)
        ]
    )
    folds.to_csv(tmp_path / "folds.csv", index=False)
    model = {
        "estimator": LogisticRegression(C=100.0).fit(x, genres),
        "genres": ["blues", "rock"],
        "columns": ["f0", "f1"],
    }
    joblib.dump(model, tmp_path / "model.joblib")
    points = pd.DataFrame({"point": ["aaaaaaaaaa", "bbbbbbbbbb"], "C": [1.0, 100.0]})
    points.to_csv(tmp_path / "points.csv", index=False)
    point_runs = [(point, 0, fold) for point in points["point"] for fold in (0, 1)]
    histories, defaults = [], []
    for point, seed, fold in point_runs:
        accuracy = 0.6 if point == "aaaaaaaaaa" else 0.8
        path = tmp_path / f"{point}_{fold}.json"
        path.write_text(json.dumps({"val_track_accuracy": accuracy, "val_segment_accuracy": 0.5}))
        histories.append(path)
    for fold in (0, 1):
        defaults.append(tmp_path / f"default_{fold}.json")
        defaults[-1].write_text(json.dumps({"track_accuracy": 0.5, "seed": 0, "fold": fold}))
    outputs = {
        "summary": tmp_path / "summary.csv",
        "markdown": tmp_path / "summary.md",
        "selected": tmp_path / "selected.json",
        "figure": tmp_path / "figure.png",
    }
    summary = run_sweep_report(
        identity={"dataset": "demo", "scheme": "stratified_kfold", "model": "logreg"},
        points=tmp_path / "points.csv",
        point_runs=point_runs,
        histories=histories,
        # the unselected point's models are never opened
        models=[
            tmp_path / ("model.joblib" if point == "bbbbbbbbbb" else "absent.joblib")
            for point, _, _ in point_runs
        ],
        folds=tmp_path / "folds.csv",
        default_metrics=defaults,
        arrays=[],
        indexes=[],
        table=str(tmp_path / "table.csv"),
        swept=["C"],
        default_point="aaaaaaaaaa",
        outputs=outputs,
    )
    assert summary["point"].tolist() == ["bbbbbbbbbb", "aaaaaaaaaa"]
    selected = json.loads(outputs["selected"].read_text())
    assert selected["point"] == "bbbbbbbbbb" and selected["hyperparameters"] == {"C": 100.0}
    assert selected["test"] == {
        "selected (bbbbbbbbbb)": {"track_accuracy": [1.0, 1.0], "runs": [[0, 0], [0, 1]]},
        "default": {"track_accuracy": [0.5, 0.5], "runs": [[0, 0], [0, 1]]},
    }
