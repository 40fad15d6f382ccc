"""Grid sweeps on the demo: points as jobs, selection on validation track accuracy, one
test, reruns; a torch model's train keys and a scikit-learn model's arch keys."""

import json

import pandas as pd
import pytest

from conftest import TINY_DEMO
from workflow_runner import snakemake, write_config

pytestmark = pytest.mark.integration

SWEEP = "results/sweeps/demo/stratified_kfold/cnn_seed001"
GRID = TINY_DEMO["sweeps"]["models"]["cnn_seed001"]["grid"]


def test_every_point_trains_on_every_fold_without_seeing_test(tiny_demo):
    project, _, _ = tiny_demo
    points = pd.read_csv(project / SWEEP / "points.csv", dtype={"point": str})
    assert len(points) == 4
    assert sorted(zip(points["lr"], points["batch_size"])) == [
        (lr, bs) for lr in GRID["lr"] for bs in GRID["batch_size"]
    ]
    for point in points["point"]:
        for fold in (0, 1):
            folder = project / SWEEP / point / "seed0" / f"fold{fold}"
            history = json.loads((folder / "history.json").read_text())
            assert "test" not in history  # the test part was not even loaded
            record = json.loads((folder / "config.json").read_text())
            row = points.set_index("point").loc[point]
            assert record["train"]["lr"] == row["lr"]
            assert record["train"]["batch_size"] == row["batch_size"]
            assert set(record["n_examples"]) == {"train", "val"}


def test_sweep_report_selects_on_validation_and_tests_once(tiny_demo):
    project, _, _ = tiny_demo
    report = project / SWEEP / "report"
    summary = pd.read_csv(report / "summary.csv", dtype={"point": str})
    assert list(summary["rank"]) == [1, 2, 3, 4]
    assert summary["val_track_accuracy_mean"].is_monotonic_decreasing
    assert (summary["n_runs"] == 2).all()  # two folds, one seed
    selected = json.loads((report / "selected.json").read_text())
    assert selected["point"] == summary.loc[0, "point"]
    assert set(selected["hyperparameters"]) == {"lr", "batch_size"}
    default = [
        json.loads(
            (
                project
                / f"results/eval/demo/stratified_kfold/cnn_seed001/seed0/fold{k}/metrics.json"
            ).read_text()
        )["track_accuracy"]
        for k in (0, 1)
    ]
    assert selected["test"]["default"]["track_accuracy"] == default
    chosen = selected["test"][f"selected ({selected['point']})"]["track_accuracy"]
    assert len(chosen) == 2 and all(0 <= a <= 1 for a in chosen)
    markdown = (report / "summary.md").read_text()
    assert f"Point `{selected['point']}`" in markdown and "| default |" in markdown
    assert (report / "accuracy_by_hyperparameter.png").stat().st_size > 10_000


def test_a_larger_grid_trains_only_the_new_points(tiny_demo):
    project, _config, _ = tiny_demo
    larger = json.loads(json.dumps(TINY_DEMO))
    larger["sweeps"]["models"]["cnn_seed001"]["grid"]["lr"].append(0.01)
    bigger = write_config(project, larger, "larger_grid.yaml")
    result = snakemake(project, "-n", "--configfile", str(bigger))
    stats = result.stdout.split("Job stats:")[1]
    counts = {
        line.split()[0]: int(line.split()[1])
        for line in stats.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    }
    assert counts["train_sweep_torch"] == 2 * 2  # two new points × two folds
    assert counts["sweep_report"] == 1
    assert "train_torch" not in counts and "train_final_torch" not in counts


def test_a_scikit_learn_sweep_selects_an_estimators_keyword(tiny_demo):
    project, _, _ = tiny_demo
    sweep = project / "results/sweeps/demo/stratified_kfold/logreg"
    points = pd.read_csv(sweep / "points.csv", dtype={"point": str})
    assert sorted(points["C"]) == [0.1, 1.0]
    for point, c in zip(points["point"], points["C"]):
        for fold in (0, 1):
            run = sweep / point / "seed0" / f"fold{fold}"
            assert json.loads((run / "config.json").read_text())["arch"]["C"] == c
            history = json.loads((run / "history.json").read_text())
            assert 0 <= history["val_track_accuracy"] <= 1
    summary = pd.read_csv(sweep / "report/summary.csv", dtype={"point": str})
    assert summary["val_track_accuracy_mean"].is_monotonic_decreasing
    selected = json.loads((sweep / "report/selected.json").read_text())
    assert selected["hyperparameters"]["C"] in (0.1, 1.0)
    # C 1.0 is logreg's registered default: its point is the default configuration's
    default = points.loc[points["C"] == 1.0, "point"].item()
    assert f"| {default} (default) |" in (sweep / "report/summary.md").read_text()
    tested = selected["test"][f"selected ({selected['point']})"]["track_accuracy"]
    assert len(tested) == 2 and all(0 <= a <= 1 for a in tested)
