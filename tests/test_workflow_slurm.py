"""Integration: the workflow submitted through the SLURM profile to a real one-node cluster.

The cluster (tests/slurm_cluster.py) runs on localhost with one fake GPU; the run uses
the project's profile, with the flags a site without accounting needs, and must give
the same outputs as a local run of the same config.
"""

import json
import re

import pandas as pd
import pytest

from conftest import only_models
from slurm_cluster import LocalSlurm
from workflow_runner import copy_project, snakemake, write_config

pytestmark = [pytest.mark.integration, pytest.mark.slurm]

MODELS = ("cnn_seed001", "logreg")
SLURM_DEMO = {
    "demo": {"clips_per_genre": 4, "clip_seconds": 6, "seed": 7},
    "features": {"tracks_per_job": 40},
    "folds": {"schemes": ["holdout"]},
    "training": {"max_epochs": 1, "threads": 1},
    "final": {"models": ["cnn_seed001"]},
    "explain": {"tracks_per_fold": 0},  # every SLURM job costs a Snakefile parse: keep few
}
# what the two runs are compared on; the local run builds only these
COMPARED_TABLES = (
    "results/data/demo/manifest.csv",
    "results/folds/demo/holdout.csv",
    "results/features/demo/tracks.csv",
    "results/report/demo/holdout/per_genre_f1.csv",
)
COMPARED_METRICS = tuple(
    f"results/eval/demo/holdout/{model}/seed0/fold0/metrics.json" for model in MODELS
)
# the node has 2 CPUs: a job asking for more would stay pending forever
FIT_TWO_CPUS = [
    "--set-threads", "extract_features=2", "validate=2", "train_torch=1",
    "train_final_torch=1", "extract_embeddings=1",
    "--set-resources", "train_torch:cpus_per_gpu=1", "train_torch:mem_mb=4000",
    "train_final_torch:cpus_per_gpu=1", "train_final_torch:mem_mb=4000",
    "extract_features:mem_mb=4000",
    "extract_embeddings:cpus_per_gpu=1", "extract_embeddings:mem_mb=4000",
]  # fmt: skip
# rules whose jobs train a torch model, each asking SLURM for a GPU
TORCH_TRAINING = ("rule_train_torch", "rule_train_final_torch")
# pretrained embeddings (musicnn), one job per set and shard, on a GPU too
EMBEDDINGS = ("rule_extract_embeddings",)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    slurm = LocalSlurm(tmp_path_factory.mktemp("slurm"))
    try:
        yield slurm.start()
    finally:
        slurm.stop()


@pytest.fixture(scope="module")
def runs(cluster, tmp_path_factory):
    """The same tiny config run through SLURM and locally."""
    projects = {}
    for kind in ("slurm", "local"):
        project = copy_project(tmp_path_factory.mktemp(kind))
        config = write_config(project, {**SLURM_DEMO, "models": only_models(MODELS)})
        args = ["--configfile", str(config)]
        if kind == "local":
            args = [*COMPARED_TABLES, *COMPARED_METRICS, *args]
        if kind == "slurm":
            args = [
                "--workflow-profile", "profiles/slurm",
                "--slurm-status-command", "squeue",
                "--slurm-no-account",
                "--slurm-init-seconds-before-status-checks", "1",
                "--slurm-keep-successful-logs",
                "--jobs", "4",
                "--latency-wait", "5",
                "--retries", "0",
                "--verbose",
                *FIT_TWO_CPUS,
                *args,
            ]  # fmt: skip
        result = snakemake(project, *args, env=cluster.env)
        projects[kind] = (project, result)
    return projects


def test_every_job_went_through_slurm(runs):
    project, result = runs["slurm"]
    log = result.stdout + result.stderr
    jobs = re.findall(r"^rule (\w+):", log, flags=re.MULTILINE)
    submitted = re.findall(r"SLURM jobid (\d+)", log)
    assert "train_torch" in jobs and "aggregate_report" in jobs
    # every rule instance but the local target `all` got its own SLURM job id
    assert len(set(submitted)) == len(jobs) - jobs.count("all") > 10
    slurm_logs = list((project / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) == len(set(submitted))


def test_training_and_embedding_jobs_asked_slurm_for_a_gpu(runs):
    _, result = runs["slurm"]
    calls = re.findall(r"^sbatch call: (.*)$", result.stdout + result.stderr, flags=re.MULTILINE)
    training = [call for call in calls if any(rule in call for rule in TORCH_TRAINING)]
    embedding = [call for call in calls if any(rule in call for rule in EMBEDDINGS)]
    others = [call for call in calls if call not in training + embedding]
    assert len(training) == 2 and others  # the fold model and the final model
    assert len(embedding) == 1  # one shard of 40 tracks, one set (musicnn)
    for call in training + embedding:
        assert "--gpus=1" in call and "--cpus-per-gpu=1" in call
    assert not any("--gpus" in call for call in others)


def test_slurm_and_local_runs_give_the_same_outputs(runs):
    slurm_project, _ = runs["slurm"]
    local_project, _ = runs["local"]
    for table in COMPARED_TABLES:
        assert pd.read_csv(slurm_project / table).equals(pd.read_csv(local_project / table)), table
    for part in COMPARED_METRICS:
        slurm = json.loads((slurm_project / part).read_text())
        local = json.loads((local_project / part).read_text())
        assert slurm["confusion"] == local["confusion"]
        assert slurm["log_loss"] == pytest.approx(local["log_loss"])
