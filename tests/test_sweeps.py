"""Sweep points: named by their resolved settings, reproducible, selected on validation."""

import pandas as pd
import pytest

from genreflow.errors import ConfigError
from genreflow.evaluation.sweep import summarise_points, validation_scores
from genreflow.models import get_model
from genreflow.training.params import TrainParams
from genreflow.training.sweeps import point_id, sweep_points, swept_names

DEFAULTS = get_model("cnn_seed001").train


def test_a_grid_has_every_combination_with_stable_names():
    sweep = {"grid": {"lr": [1e-4, 1e-3], "batch_size": [16, 32, 64]}}
    points = sweep_points(DEFAULTS, {}, sweep, "sweeps.models.cnn_seed001")
    assert len(points) == 6
    assert all(len(pid) == 10 for pid in points)
    assert points == sweep_points(DEFAULTS, {}, sweep, "k")  # same settings, same names
    resolved = TrainParams.resolve(DEFAULTS, {"lr": 1e-4, "batch_size": 16})
    assert point_id(resolved) in points
    assert swept_names(sweep) == ["lr", "batch_size"]


def test_growing_a_grid_keeps_the_existing_points_names():
    small = sweep_points(DEFAULTS, {}, {"grid": {"lr": [1e-4, 1e-3]}}, "k")
    large = sweep_points(DEFAULTS, {}, {"grid": {"lr": [1e-4, 1e-3, 1e-2]}}, "k")
    assert set(small) < set(large)


def test_points_are_named_by_resolved_settings():
    """The model's default value and the config's train block are part of a point."""
    default_lr = TrainParams.resolve(DEFAULTS).lr
    points = sweep_points(DEFAULTS, {}, {"grid": {"lr": [default_lr, 2 * default_lr]}}, "k")
    assert point_id(TrainParams.resolve(DEFAULTS)) in points
    with_config = sweep_points(
        DEFAULTS, {"weight_decay": 0.01}, {"grid": {"lr": [2 * default_lr]}}, "k"
    )
    assert not set(with_config) & set(points)
    (overrides,) = with_config.values()
    assert overrides == {"weight_decay": 0.01, "lr": 2 * default_lr}


def test_duplicate_points_collapse():
    default_optimizer = TrainParams.resolve(DEFAULTS).optimizer
    points = sweep_points(DEFAULTS, {}, {"grid": {"optimizer": [default_optimizer] * 2}}, "k")
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
    points = sweep_points(DEFAULTS, {}, sweep, "k")
    assert points == sweep_points(DEFAULTS, {}, sweep, "k")
    assert len(points) == 12
    for overrides in points.values():
        assert 1e-4 <= overrides["lr"] <= 1e-2
        assert overrides["optimizer"] in ("adam", "adamw", "sgd")
        assert 8 <= overrides["batch_size"] <= 64 and isinstance(overrides["batch_size"], int)
    other_seed = {"random": {**sweep["random"], "seed": 4}}
    assert set(sweep_points(DEFAULTS, {}, other_seed, "k")) != set(points)


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
        sweep_points(DEFAULTS, {}, sweep, "k")


def history(best_epoch: int, val_accuracies: list[float]) -> dict:
    return {
        "best_epoch": best_epoch,
        "epochs": [
            {"epoch": i + 1, "val_accuracy": acc, "val_loss": 1 - acc}
            for i, acc in enumerate(val_accuracies)
        ],
    }


def test_selection_uses_the_restored_epochs_validation_accuracy():
    histories = {
        ("aaaaaaaaaa", 0): history(2, [0.5, 0.7, 0.9]),  # the restored epoch is 2: 0.7
        ("aaaaaaaaaa", 1): history(1, [0.6, 0.2]),
        ("bbbbbbbbbb", 0): history(1, [0.66]),
        ("bbbbbbbbbb", 1): history(1, [0.66]),
    }
    scores = validation_scores(histories)
    assert scores.set_index(["point", "fold"]).loc[("aaaaaaaaaa", 0), "val_accuracy"] == 0.7
    points = pd.DataFrame({"point": ["aaaaaaaaaa", "bbbbbbbbbb"], "lr": [0.1, 0.01]})
    summary = summarise_points(points, scores)
    # mean 0.65 against 0.66: b is selected and ranked first
    assert list(summary["point"]) == ["bbbbbbbbbb", "aaaaaaaaaa"]
    assert list(summary["rank"]) == [1, 2]
    assert summary.loc[0, "val_accuracy_std"] == 0.0
    assert summary.loc[1, "val_accuracy_mean"] == pytest.approx(0.65)


def test_sweep_report_files(tmp_path):
    from genreflow.evaluation.sweep import write_sweep_report

    histories = {
        (point, fold): history(1, [acc + 0.01 * fold])
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
        "selected (bbbbbbbbbb)": {"track_accuracy": [0.8, 0.7]},
        "default": {"track_accuracy": [0.6, 0.65]},
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
    assert "| selected (bbbbbbbbbb) | 75.0% | 80.0%, 70.0% |" in markdown
    assert "| default | 62.5% | 60.0%, 65.0% |" in markdown
    assert "| aaaaaaaaaa (default) |" in markdown
    assert "default configuration)" not in markdown  # the selected point is not the default
    import json

    selected = json.loads(outputs["selected"].read_text())
    assert selected["point"] == "bbbbbbbbbb"
    assert selected["hyperparameters"] == {"lr": 0.003, "batch_size": 32, "optimizer": "sgd"}
    assert isinstance(selected["hyperparameters"]["batch_size"], int)
    assert outputs["figure"].stat().st_size > 10_000
