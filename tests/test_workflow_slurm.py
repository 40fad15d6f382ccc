"""Integration: the workflow submitted through the SLURM profile to a real one-node cluster.

The cluster (tests/slurm_cluster.py) runs on localhost with one fake GPU; the run uses
the project's profile, with the flags a site without accounting needs, and must give
the same outputs as a local run of the same config.
"""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genreflow.library.classify import Options, classify_library

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
# the profile, with the flags a site without accounting needs
THROUGH_SLURM = [
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
]  # fmt: skip
KERNELS = "results/kernels"
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
            # the SLURM run's compiled kernels (a build cache, not compared): a minute saved
            shutil.copytree(projects["slurm"][0] / KERNELS, project / KERNELS)
        if kind == "slurm":
            args = [*THROUGH_SLURM, *args]
        result = snakemake(project, *args, env=cluster.env)
        projects[kind] = (project, result, config)
    return projects


def test_every_job_went_through_slurm(runs):
    project, result, _ = runs["slurm"]
    log = result.stdout + result.stderr
    jobs = re.findall(r"^rule (\w+):", log, flags=re.MULTILINE)
    submitted = re.findall(r"SLURM jobid (\d+)", log)
    assert "train_torch" in jobs and "aggregate_report" in jobs
    # every rule instance but the local target `all` got its own SLURM job id
    assert len(set(submitted)) == len(jobs) - jobs.count("all") > 10
    slurm_logs = list((project / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert len(slurm_logs) == len(set(submitted))


def test_training_and_embedding_jobs_asked_slurm_for_a_gpu(runs):
    _, result, _ = runs["slurm"]
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
    slurm_project, _, _ = runs["slurm"]
    local_project, _, _ = runs["local"]
    for table in COMPARED_TABLES:
        assert pd.read_csv(slurm_project / table).equals(pd.read_csv(local_project / table)), table
    for part in COMPARED_METRICS:
        slurm = json.loads((slurm_project / part).read_text())
        local = json.loads((local_project / part).read_text())
        assert slurm["confusion"] == local["confusion"]
        assert slurm["log_loss"] == pytest.approx(local["log_loss"])


def test_a_library_classified_through_slurm_equals_the_single_machine_table(
    runs, cluster, tmp_path
):
    """`snakemake classify` on the cluster: one SLURM job per shard of 2 files, merged
    into the table `genreflow classify` writes on one machine for the same files."""
    project, _, config = runs["slurm"]
    model = project / "results" / "final" / "demo" / "cnn_seed001"
    library = tmp_path / "My Music"
    for i, relpath in enumerate(("Jazz/01.wav", "Rock/02.flac", "Rock/04.wav")):
        path = library / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(7 * 22050) / 22050
        sf.write(path, 0.3 * np.sin(2 * np.pi * (150 + 80 * i) * t), 22050)
    (library / "Rock" / "03 broken.wav").write_text("not a song\n")
    classify = f"classify={{library: {library}, model: {model}, shard_files: 2}}"
    result = snakemake(
        project, "classify", *THROUGH_SLURM, "--configfile", str(config), "--config", classify,
        env=cluster.env,
    )  # fmt: skip
    calls = re.findall(r"^sbatch call: (.*)$", result.stdout + result.stderr, flags=re.MULTILINE)
    assert sum("rule_classify_shard" in call for call in calls) == 2
    out = project / "results" / "library" / "demo" / "My_Music"
    table = pd.read_csv(out / "library.csv")
    alone = tmp_path / "alone.csv"
    classify_library(library, alone, Options(str(model)), progress=False)
    expected = pd.read_csv(alone)
    assert len(table) == 3
    probabilities = [c for c in table.columns if c.startswith("probability")]
    others = [c for c in table.columns if c not in probabilities]
    assert table[others].equals(expected[others])
    assert np.allclose(table[probabilities], expected[probabilities], atol=2e-4)
    errors = pd.read_csv(out / "library.errors.csv")
    assert errors[["path", "reason"]].values.tolist() == [
        [str(library / "Rock" / "03 broken.wav"), "not audio"]
    ]
