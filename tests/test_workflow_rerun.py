"""Two runs of one config from scratch, in two directories, give identical results."""

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


def test_a_second_run_from_scratch_gives_identical_numbers(tiny_demo, tmp_path):
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
