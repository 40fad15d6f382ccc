"""Two runs of one config from scratch, in two directories, give identical results; a
seed added to training.repeats afterwards trains only its own runs."""

import json

import pandas as pd
import pytest

from conftest import TINY_DEMO

pytestmark = pytest.mark.integration

# Columns and keys that measure wall-clock time, the only thing allowed to differ.
TIMING = ("seconds", "time", "duration_s", "per_epoch")


def _is_timing(name: str) -> bool:
    return any(part in name for part in TIMING)


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if not _is_timing(k)}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


def compared_files(project):
    results = project / "results"
    files = []
    for pattern in ("metrics.json", "predictions.csv", "track_predictions.csv"):
        files += sorted((results / "eval").rglob(pattern))
    files += sorted((results / "report").rglob("summary.csv"))
    return [path.relative_to(project) for path in files]


def test_a_second_run_from_scratch_gives_identical_numbers_then_repeats(tiny_demo, tmp_path):
    from workflow_runner import copy_project, snakemake, write_config

    first, _, _ = tiny_demo
    second = copy_project(tmp_path / "second")
    config = write_config(second, TINY_DEMO)
    targets = [
        f"results/report/demo/{scheme}/summary.csv" for scheme in TINY_DEMO["folds"]["schemes"]
    ]
    snakemake(second, *targets, "--configfile", str(config))

    files = compared_files(first)
    assert len(files) > 50 and files == compared_files(second)
    differing = []
    for relative in files:
        a, b = first / relative, second / relative
        if relative.suffix == ".json":
            same = _without_timing(json.loads(a.read_text())) == _without_timing(
                json.loads(b.read_text())
            )
        else:
            left, right = pd.read_csv(a), pd.read_csv(b)
            keep = [c for c in left.columns if not _is_timing(c)]
            same = list(left.columns) == list(right.columns) and left[keep].equals(right[keep])
        if not same:
            differing.append(str(relative))
    assert not differing, f"{len(differing)} file(s) differ between runs: {differing[:10]}"

    # then training.repeats [0, 1] in the second copy, one scheme's report: the new
    # seed's runs of the models that are not deterministic, nothing else retrained
    models = second / "results/models/demo/stratified_kfold"
    first_seed = {path: path.stat().st_mtime_ns for path in models.rglob("seed0/*/model.*")}
    repeated = json.loads(json.dumps(TINY_DEMO))
    repeated["training"]["repeats"] = [0, 1]
    report = "results/report/demo/stratified_kfold"
    snakemake(second, f"{report}/summary.md", "--configfile", str(write_config(second, repeated)))
    assert {path: path.stat().st_mtime_ns for path in first_seed} == first_seed
    assert sorted(p.parents[2].name for p in models.rglob("seed1/fold0/model.*")) == [
        "bilstm_seed004",
        "cnn_seed001",
    ]
    summary = pd.read_csv(second / report / "summary.csv").set_index("model")
    assert summary.loc["cnn_seed001", ["n_folds", "n_seeds", "n_runs"]].tolist() == [2, 2, 4]
    assert summary.loc["logreg", ["n_folds", "n_seeds", "n_runs"]].tolist() == [2, 1, 2]
    assert summary.loc["cnn_seed001", "track_accuracy_seed_std"] >= 0
    runs = pd.read_csv(second / report / "runs.csv")
    assert len(runs) == 2 * 4 + 2 * 2  # two repeated models × 4 runs, two deterministic × 2
    markdown = (second / report / "summary.md").read_text()
    assert "## Sources of spread" in markdown and "2 × 2 = 4" in markdown
    assert "the seed-to-seed spread of a difference" in markdown
    assert (second / report / "figures/runs.png").stat().st_size > 10_000
    # adding a third seed later: only its runs (a dry run lists what would run)
    repeated["training"]["repeats"] = [0, 1, 2]
    plan = snakemake(
        second, "-n", f"{report}/summary.md", "--configfile", str(write_config(second, repeated))
    ).stdout
    trained = [line for line in plan.splitlines() if "wildcards:" in line and "seed=" in line]
    assert trained and all("seed=2" in line for line in trained)
