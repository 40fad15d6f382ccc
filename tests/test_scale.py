"""What keeps a 100,000-track dataset workable: a bounded number of feature jobs, shard
names past 999, the registry read once per parse, and resources that grow with the
tracks a job holds. Behaviour only; benchmarks/scale.py measures the times."""

from __future__ import annotations

import csv
import os
import re
import subprocess
from pathlib import Path

import pytest

from genreflow.plan.dataset import registry_columns
from genreflow.plan.features import feature_jobs
from genreflow.plan.resources import (
    MAX_TRAINING_RUNTIME,
    MIN_RUNTIME,
    UNMEASURED_TRAINING_RUNTIME,
    consolidate_runtime,
    embedding_runtime,
    feature_runtime,
    segments_per_clip,
    training_runtime,
)

from conftest import PROJECT_ROOT
from workflow_runner import SNAKEMAKE


def test_feature_jobs_are_bounded_by_max_jobs():
    assert feature_jobs(1000, 40, 64) == 25  # GTZAN: 40 tracks a job
    assert feature_jobs(8000, 40, 64) == 64
    assert feature_jobs(106_574, 40, 64) == 64  # FMA-large: about 1,700 a job
    assert feature_jobs(3, 40, 64) == 1


def test_runtimes_grow_with_the_tracks_a_job_holds():
    small, large = feature_runtime(1000, 25, 30.0), feature_runtime(106_574, 64, 30.0)
    assert small == MIN_RUNTIME and large > 30  # about 1,700 clips a job
    assert embedding_runtime("muq", 106_574, 64, 30.0) > embedding_runtime(
        "musicnn", 106_574, 64, 30.0
    )
    assert feature_runtime(106_574, 64, 10.0) < large  # shorter clips, less work
    assert consolidate_runtime(1000) == MIN_RUNTIME < consolidate_runtime(1_000_000)


def test_training_jobs_ask_for_time_in_proportion_to_their_examples_and_epochs():
    assert segments_per_clip(30.0, 3.0, 3.0) == 10 and segments_per_clip(30.0, 3.0, 1.5) == 19
    assert segments_per_clip(None, None, None) == 1  # a whole-clip input
    gtzan = training_runtime("cnn_seed001", 1000 * 10, 30)
    fma_medium = training_runtime("cnn_seed001", 25_000 * 10, 30)
    assert MIN_RUNTIME < gtzan and 20 * gtzan < fma_medium < 30 * gtzan
    assert training_runtime("cnn_seed001", 1000 * 10, 60) > 1.8 * gtzan  # twice the epochs
    assert training_runtime("unet_parallel_seed003", 106_574 * 10, 30) == MAX_TRAINING_RUNTIME
    assert training_runtime("a_new_model", 10**9, 100) == UNMEASURED_TRAINING_RUNTIME


def test_the_plan_gives_each_training_job_its_own_runtime():
    def runtimes(*configfile: str) -> dict[str, int]:
        dry = subprocess.run(
            [*SNAKEMAKE, "-n", "--forceall", *configfile],
            capture_output=True, text=True, check=True, cwd=PROJECT_ROOT,
        )  # fmt: skip
        found = {}
        for job in (dry.stdout + dry.stderr).split("\nrule ")[1:]:
            if job.startswith("train_torch:"):
                model = re.search(r"model=(\w+)", job).group(1)
                found[model] = int(re.search(r"runtime=(\d+)", job).group(1))
        return found

    demo, gtzan = runtimes(), runtimes("--configfile", "config/gtzan.yaml")
    assert gtzan["cnn_seed001"] > demo["cnn_seed001"]
    assert gtzan["unet_parallel_seed003"] > gtzan["cnn_seed001"]


def _registry(path: Path, n: int) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["track_id", "genre", "wav_md5", "artist", "title"])
        writer.writerows([f"t{i:06d}", f"g{i % 4}", "", f"a{i % 7}", ""] for i in range(n))
    return path


def test_the_registry_is_read_once_per_version(tmp_path):
    path = _registry(tmp_path / "registry.csv", 100)
    first = registry_columns(path)
    assert first["track_id"][:2] == ("t000000", "t000001") and len(first["genre"]) == 100
    assert "artist" not in first  # only the columns the plan reads
    assert registry_columns(path) is first  # cached
    _registry(path, 120)
    os.utime(path, ns=(1, 1))  # a new version, whatever the clock
    assert len(registry_columns(path)["track_id"]) == 120


@pytest.mark.integration
def test_shards_past_999_are_planned(tmp_path):
    """1,200 tracks at one a job: shard 1100's job exists (shard ids grow a digit)."""
    from workflow_runner import copy_project, snakemake, write_config

    project = copy_project(tmp_path / "project")
    registry = _registry(tmp_path / "registry.csv", 1200)
    (tmp_path / "archive.tar.gz").write_bytes(b"not read by a dry run")
    config = {
        "dataset": {
            "name": "many",
            "source": str(tmp_path / "archive.tar.gz"),
            "checksum": None,
            "archive_name": "archive.tar.gz",
            "registry": str(registry),
            "genres": "all",
            "format": {
                "sample_rate": 22050,
                "channels": 1,
                "clip_seconds": 30,
                "duration_tolerance_s": 1.0,
            },
        },
        "features": {"tracks_per_job": 1, "max_jobs": 2000},
    }
    result = snakemake(
        project,
        "results/features/many/shards/shard1100.csv",
        "-n",
        "--configfile",
        str(write_config(project, config)),
    )
    assert "results/features/many/shards/shard1100.csv" in result.stdout


def test_the_slurm_profile_leaves_training_runtimes_to_the_plan():
    import yaml

    profile = yaml.safe_load((PROJECT_ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    for rule in ("train_torch", "train_final_torch", "train_sweep_torch"):
        assert "runtime" not in profile["set-resources"][rule], rule
