"""Integration: one training job per (scheme, model, fold) in the tiny demo run (see conftest)."""

import json

import pytest
import torch

from conftest import TINY_CLASSICAL, TINY_MODELS

pytestmark = pytest.mark.integration

SCHEME_FOLDS = {"stratified_kfold": 2, "artist_kfold": 2, "holdout": 1, "fault_filtered": 1}


def test_one_job_per_scheme_model_and_fold(tiny_demo):
    project, _, _ = tiny_demo
    root = project / "results/models/demo"
    for scheme, n_folds in SCHEME_FOLDS.items():
        for model in TINY_MODELS:
            artifact = "model.joblib" if model in TINY_CLASSICAL else "model.pt"
            folds = sorted(p.name for p in (root / scheme / model).iterdir())
            assert folds == [f"fold{k}" for k in range(n_folds)]
            for fold in folds:
                out = root / scheme / model / fold
                assert {p.name for p in out.iterdir()} == {artifact, "history.json", "config.json"}


def test_torch_artifacts(tiny_demo):
    project, _, _ = tiny_demo
    out = project / "results/models/demo/stratified_kfold/bilstm_seed004/fold1"
    history = json.loads((out / "history.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert len(history["epochs"]) == 1  # training.max_epochs
    assert config["inputs"] == ["mfcc@s3", "wavelet@s3"] and config["device"] == "cpu"
    assert config["train"]["grad_clip"] == 1.0  # the report's default, resolved
    saved = torch.load(out / "model.pt", weights_only=False)
    assert saved["model"] == "bilstm_seed004" and len(saved["genres"]) == 10
    assert "test" not in history  # scored by evaluation, from model.pt
    assert set(config["n_examples"]) == {"train", "val"}  # the test part never loaded


def test_torch_jobs_request_a_gpu(tiny_demo):
    project, config, _ = tiny_demo
    from workflow_runner import snakemake

    result = snakemake(project, "-n", "--forceall", "--configfile", str(config))
    text = result.stdout
    block = text[text.index("rule train_torch:") :].split("\n\n")[0]
    assert "gpu=1" in block


def test_classical_baseline_learns_the_demo(tiny_demo):
    project, _, _ = tiny_demo
    metrics = project / "results/eval/demo/holdout/logreg/fold0/metrics.json"
    assert json.loads(metrics.read_text())["track_accuracy"] > 0.3  # chance is 0.1
