"""CLAP, MERT and MuQ sets with small random weights, from features to the report: the
environment record, the report and the model cards name every weight file's SHA-256 and
the licence; an empty weights folder stops Snakemake before any job."""

from __future__ import annotations

import json

import pytest

from genreflow.embeddings.checkpoints import sha256

from conftest import only_models
from tiny_checkpoints import clap_folder, mert_folder, muq_folder

pytestmark = pytest.mark.integration

GENRES = ["blues", "jazz", "rock"]
PROBES = {"musicnn_svm": "clap@clip", "marble_mlp": "mert@clip", "musicnn_mlp": "muq@clip"}
LICENCES = {"clap": "Apache-2.0", "mert": "CC-BY-NC-4.0", "muq": "CC-BY-NC-4.0"}


def test_every_encoder_and_its_probe_from_features_to_report(tmp_path):
    from workflow_runner import copy_project, snakemake, write_config

    project = copy_project(tmp_path / "project")
    folders = {
        "clap": clap_folder(tmp_path / "weights" / "clap"),
        "mert": mert_folder(tmp_path / "weights" / "mert"),
        "muq": muq_folder(tmp_path / "weights" / "muq"),
    }
    models = only_models(list(PROBES))
    for name, inputs in PROBES.items():
        models[name].update(inputs=[inputs], published=None)
    models["marble_mlp"]["train"] = {"lr_grid": [0.001, 0.01]}
    sets = {
        name: {"kind": name, "weights": str(folder), "licence": LICENCES[name]}
        for name, folder in folders.items()
    }
    config = {
        "dataset": {"genres": GENRES},
        "demo": {"clips_per_genre": 6, "clip_seconds": 6, "seed": 7},
        "features": {"consolidate": list(PROBES.values()), "sets": sets},
        "folds": {"schemes": ["stratified_kfold"], "n_folds": 2},
        "final": {"models": list(PROBES)},
        "explain": {"tracks_per_fold": 0},
        "training": {"max_epochs": 2, "threads": 1},
        "sweeps": {"models": {}},
        "models": models,
    }
    # an empty kernel cache in place of rule compile_kernels' (about a minute on 2 cores):
    # each librosa job compiles what it needs itself
    kernels = project / "results" / "kernels" / "demo"
    (kernels / "numba_cache").mkdir(parents=True)
    (kernels / "host.json").write_text("{}\n")
    snakemake(project, "--configfile", str(write_config(project, config)))

    results = project / "results"
    environment = json.loads((results / "environment" / "demo.json").read_text())
    report = (results / "report" / "demo" / "stratified_kfold" / "summary.md").read_text()
    for name, folder in folders.items():
        weights = environment["weights"][name]
        assert weights["licence"] == LICENCES[name]
        for file, digest in weights["sha256"].items():
            assert digest == sha256(folder / file)
        assert f"Weights of `{name}`:" in report and f"licence **{LICENCES[name]}**" in report
    for model, inputs in PROBES.items():
        name = inputs.partition("@")[0]
        text = (results / "final" / "demo" / model / "card.md").read_text()
        assert f"**Weights of `{name}`:**" in text and f"**{LICENCES[name]}**" in text
        for digest in environment["weights"][name]["sha256"].values():
            assert digest in text

    # an empty folder: one line naming the key, before any job
    (tmp_path / "empty").mkdir()
    config["features"]["sets"]["muq"]["weights"] = str(tmp_path / "empty")
    failed = snakemake(
        project, "-n", "--configfile", str(write_config(project, config)), check=False
    )
    assert failed.returncode != 0
    assert (
        f"features.sets.muq.weights: {tmp_path / 'empty'} lacks config.json, "
        "model.safetensors or pytorch_model.bin" in failed.stdout + failed.stderr
    )
