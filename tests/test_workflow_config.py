"""Integration: the real presets plan their whole DAG, and config mistakes stop Snakemake
before any job (dry runs in a scratch project)."""

from __future__ import annotations

import pytest
import yaml

from workflow_runner import copy_project, snakemake, write_config

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "preset",
    ["gtzan.yaml", "gtzan_mini.yaml", "fma_small.yaml", "fma_medium.yaml", "fma_large.yaml"],
)
def test_real_presets_show_the_full_dag(tmp_path, preset):
    project = copy_project(tmp_path / "project")
    result = snakemake(project, "-n", "--configfile", f"config/{preset}")
    out = result.stdout
    preset_config = yaml.safe_load((project / "config" / preset).read_text())
    dataset, schemes = preset_config["dataset"]["name"], preset_config["folds"]["schemes"]
    for rule in ("download", "extract", "validate", "repair", "manifest"):
        assert f"rule {rule}:" in out, out
    assert "publish_demo" not in out
    for rule in (
        "extract_features",
        "consolidate_features",
        "assign_folds",
        "train_torch",
        "evaluate_torch",
        "aggregate_report",
        "train_final_torch",
        "model_card",
        "explain",
    ):
        assert f"rule {rule}:" in out, out
    # the demo trains a few final models; a real dataset trains every enabled model
    assert "18 models (18 final)" in result.stderr
    # the embedding stage and both probes, on every fold scheme and as final models
    assert "rule extract_embeddings:" in out
    assert f"results/features/{dataset}/consolidated/musicnn@clip.npy" in out
    for scheme in schemes:
        for probe, artifact in (("musicnn_svm", "model.joblib"), ("musicnn_mlp", "model.pt")):
            assert f"results/models/{dataset}/{scheme}/{probe}/seed0/fold0/{artifact}" in out
            assert f"results/eval/{dataset}/{scheme}/{probe}/seed0/fold0/metrics.json" in out
    assert f"results/final/{dataset}/musicnn_svm/card.md" in out
    if preset.startswith("fma"):
        assert "rule download_metadata:" in out and "rule registry_from_metadata:" in out
        assert f"results/folds/{dataset}/official.csv" in out
    if preset == "fma_small.yaml":
        assert "rule download_metadata:" in out and "rule registry_from_metadata:" in out
        assert "dataset fma_small, 8 genres (Electronic, Experimental" in result.stderr
        assert "results/folds/fma_small/official.csv" in out
        assert "8000 tracks" in result.stderr


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"models": {"polka_net": {"enabled": True}}}, "models.polka_net: unknown model"),
        ({"models": {"cnn_seed001": {"inputs": ["logmel@s9"]}}}, "models.cnn_seed001.inputs"),
        (
            {"models": {"cnn_seed001": {"train": {"lrr": 1.0}}}},
            "models.cnn_seed001.train.lrr: unknown key; did you mean 'lr'?",
        ),
        (
            {"models": {"cnn_seed001": {"arch": {"n_filterz": 3}}}},
            "models.cnn_seed001.arch.n_filterz: unknown key; did you mean 'filters'?",
        ),
        ({"final": {"models": ["svm", "polka_net"]}}, "final.models: polka_net is not one of"),
        (
            {"explain": {"schemes": ["holdout"]}},
            "explain.schemes: holdout is not one of stratified_kfold",
        ),
    ],
)
def test_config_errors_stop_before_any_job(tmp_path, change, expected):
    project = copy_project(tmp_path / "project")
    config = write_config(project, change)
    result = snakemake(project, "-n", "--configfile", str(config), check=False)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
