"""Final models, their cards, `genreflow predict` on them, and the explain rule, end to end."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from test_predict import AU_FIXTURE, WAV_16K_FIXTURE

from conftest import TINY_CLASSICAL, TINY_DEMO, TINY_MODELS

pytestmark = pytest.mark.integration

FINAL = "results/final/demo"
TORCH_MODELS = [m for m in TINY_MODELS if m not in TINY_CLASSICAL]


def test_final_models_train_on_every_usable_track(tiny_demo):
    project, _, _ = tiny_demo
    split = pd.read_csv(project / FINAL / "split.csv", dtype={"track_id": str})
    manifest = pd.read_csv(project / "results/data/demo/manifest.csv", dtype={"track_id": str})
    usable = set(manifest.loc[manifest["status"] != "quarantined", "track_id"])
    assert set(split["track_id"]) == usable
    assert set(split["role"]) == {"train", "val"}
    for model in TINY_MODELS:
        folder = project / FINAL / model
        artifact = "model.joblib" if model in TINY_CLASSICAL else "model.pt"
        assert (folder / artifact).is_file()
        history = json.loads((folder / "history.json").read_text())
        assert "test" not in history  # no test part: the card cites the folds
        record = json.loads((folder / "config.json").read_text())
        assert record["scheme"] == "final" and record["repeat"] == 0  # the first seed
        if model in TINY_CLASSICAL:  # no early stopping to hold the val share for
            assert record["fit_on"] == ["train", "val"]
        assert record["features"]["clip_seconds"] == TINY_DEMO["demo"]["clip_seconds"]


@pytest.mark.parametrize("model", TINY_MODELS)
def test_model_card_cites_the_cross_validated_accuracy(tiny_demo, model):
    project, _, _ = tiny_demo
    card = (project / FINAL / model / "card.md").read_text()
    summary = pd.read_csv(project / "results/report/demo/stratified_kfold/summary.csv")
    accuracy = summary.set_index("model").loc[model, "track_accuracy_mean"]
    assert f"# Model card: {model}" in card
    for scheme in TINY_DEMO["folds"]["schemes"]:
        assert f"| {scheme} |" in card
    assert f"| stratified_kfold | 2 × 1 | {100 * accuracy:.1f}% ±" in card
    assert "**Seed:** 0 (the first of `training.repeats`" in card
    assert "## Known confusions" in card
    assert "## Intended use" in card and "synthetic" in card
    assert f"genreflow predict SONG [SONG ...] --model {FINAL}/{model}" in card
    # explain works for torch models on time–frequency inputs only
    assert ("genreflow explain SONG" in card) == (model in TORCH_MODELS)
    if model == "musicnn_svm":
        assert "**Pretrained embedding `musicnn`** (frozen" in card and ": musicnn (" in card
        assert "model MSD_musicnn" in card and "layer max_pool" in card
        assert "decodes songs at 16000 Hz itself" in card
        assert "Published figure: 77.24% (sklearn-audio-transfer-learning" in card


@pytest.mark.parametrize("model", TINY_MODELS)
def test_predict_classifies_demo_clips_and_real_fixtures(tiny_demo, model, tmp_path):
    project, _, _ = tiny_demo
    clips = sorted((project / "resources/downloads/demo/extracted").rglob("*.wav"))[:2]
    plot = tmp_path / "timeline.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genreflow.cli",
            "predict",
            *map(str, clips),
            str(AU_FIXTURE),
            str(WAV_16K_FIXTURE),
            "--model",
            f"{FINAL}/{model}",
            "--format",
            "json",
            "--plot",
            str(plot),
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert [f["status"] for f in files] == ["ok"] * 4
    assert files[2]["duration_s"] == pytest.approx(30.0, abs=0.1)
    assert plot.stat().st_size > 10_000


@pytest.mark.parametrize("model", TORCH_MODELS)
def test_explain_rule_explains_test_tracks_of_every_fold(tiny_demo, model):
    project, _, _ = tiny_demo
    explained = TINY_DEMO["explain"]["schemes"]
    assert set(explained) < set(TINY_DEMO["folds"]["schemes"])
    for scheme in TINY_DEMO["folds"]["schemes"]:
        folder = project / "results/explain/demo" / scheme / model
        if scheme not in explained:
            assert not folder.exists(), f"{scheme} is not in explain.schemes"
            continue
        figures = sorted(folder.glob("seed*/fold*/explanations.png"))
        # explain.folds: the first; the first seed of training.repeats
        assert [f.parent.relative_to(folder).as_posix() for f in figures] == ["seed0/fold0"]
        for figure in figures:
            table = pd.read_csv(figure.with_suffix(".csv"), dtype={"track_id": str})
            assert len(table) == TINY_DEMO["explain"]["tracks_per_fold"]
            assert table["genre"].is_unique  # genres taken in turn
            change = table["logit"] - table["baseline_logit"]
            complete = (table["ig_sum"] - change).abs() <= 0.01 * change.abs() + 2e-4
            assert (complete | ~table["converged"]).all()
            cap = TINY_DEMO["explain"]["ig_max_steps"]
            assert (table["converged"] | (table["ig_steps"] == cap)).all()
            assert table["grad_cam"].all() == (model == "cnn_seed001")
