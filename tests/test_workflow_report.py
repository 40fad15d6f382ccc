"""Integration: per-run evaluation and the aggregated report of the tiny demo run (conftest)."""

import json
import re

import pandas as pd
import pytest
from PIL import Image

from conftest import TINY_CLASSICAL, TINY_MODELS

pytestmark = pytest.mark.integration

SCHEME_FOLDS = {"stratified_kfold": 2, "artist_kfold": 2, "holdout": 1, "fault_filtered": 1}
TORCH_MODELS = [m for m in TINY_MODELS if m not in TINY_CLASSICAL]


def test_every_run_is_evaluated(tiny_demo):
    project, _, _ = tiny_demo
    for scheme, n_folds in SCHEME_FOLDS.items():
        for model in TINY_MODELS:
            for fold in range(n_folds):
                out = project / f"results/eval/demo/{scheme}/{model}/seed0/fold{fold}"
                expected = {"predictions.csv", "track_predictions.csv", "metrics.json"}
                expected |= {"confusion.png"}
                if model in TORCH_MODELS:
                    expected |= {"learning_curves.png"}
                assert {p.name for p in out.iterdir()} == expected, out


def test_metrics_agree_with_the_track_predictions(tiny_demo):
    project, _, _ = tiny_demo
    folds = pd.read_csv(
        project / "results/folds/demo/stratified_kfold.csv", dtype={"track_id": str}
    )
    for model in TINY_MODELS:
        for fold in range(2):
            part = project / f"results/eval/demo/stratified_kfold/{model}/seed0/fold{fold}"
            metrics = json.loads((part / "metrics.json").read_text())
            assert (metrics["seed"], metrics["fold"]) == (0, fold)
            tracks = pd.read_csv(part / "track_predictions.csv", dtype={"track_id": str})
            test = folds[(folds["fold"] == fold) & (folds["role"] == "test")]
            assert set(tracks["track_id"]) == set(test["track_id"])
            assert metrics["n_test_tracks"] == len(tracks)
            accuracy = (tracks["genre"] == tracks["predicted"]).mean()
            assert metrics["track_accuracy"] == pytest.approx(accuracy)


def test_predictions_cover_the_folds_test_tracks(tiny_demo):
    project, _, _ = tiny_demo
    folds = pd.read_csv(project / "results/folds/demo/artist_kfold.csv", dtype={"track_id": str})
    test = set(folds.loc[(folds["fold"] == 1) & (folds["role"] == "test"), "track_id"])
    out = project / "results/eval/demo/artist_kfold/cnn_seed001/seed0/fold1"
    segments = pd.read_csv(out / "predictions.csv", dtype={"track_id": str})
    tracks = pd.read_csv(out / "track_predictions.csv", dtype={"track_id": str})
    assert set(tracks["track_id"]) == test  # augmented copies never reach the test part
    assert set(segments["track_id"]) == test
    assert (segments.groupby("track_id").size() == 2).all()  # 6 s clips, 3 s segments
    probabilities = segments.filter(like="prob_")
    assert probabilities.shape[1] == 10
    assert probabilities.sum(axis=1).to_numpy() == pytest.approx(1.0)


@pytest.mark.parametrize("scheme", list(SCHEME_FOLDS))
def test_each_scheme_has_a_report(tiny_demo, scheme):
    project, _, _ = tiny_demo
    out = project / f"results/report/demo/{scheme}"
    summary = pd.read_csv(out / "summary.csv")
    assert sorted(summary["model"]) == sorted(TINY_MODELS)
    assert (summary["n_folds"] == SCHEME_FOLDS[scheme]).all()
    assert (summary["n_seeds"] == 1).all() and (summary["n_runs"] == summary["n_folds"]).all()
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == len(TINY_MODELS) * SCHEME_FOLDS[scheme]
    assert summary["track_accuracy_mean"].is_monotonic_decreasing
    published = summary.set_index("model")["published_accuracy"]
    assert published["cnn_seed001"] == 0.48 and published["logreg"] == 0.45
    assert published["musicnn_svm"] == 0.7724
    comparisons = pd.read_csv(out / "comparisons.csv")
    assert len(comparisons) == len(TINY_MODELS) - 1
    assert comparisons["mcnemar_p"].between(0, 1).all()
    markdown = (out / "summary.md").read_text()
    assert f"# genreflow report: demo, {scheme}" in markdown and "jazz.00054" in markdown
    # published figures as their sources print them
    assert "77.24 (sklearn-audio-transfer-learning: test (fault-filtered split), GTZAN)" in markdown
    assert "## Sources of spread" in markdown and "not measured with one seed" in markdown
    for figure in ("accuracy", "runs", "per_genre_f1", "confusions", "confusion_pairs"):
        with Image.open(out / "figures" / f"{figure}.png") as image:
            assert image.width > 500


def test_snakemake_report_builds_one_html_with_every_caption(tiny_demo, tmp_path):
    project, config, _ = tiny_demo
    from workflow_runner import snakemake

    html = tmp_path / "report.html"
    snakemake(project, "--configfile", str(config), "--report", str(html))
    text = html.read_text()
    for caption in (project / "workflow" / "report").glob("*.rst"):
        if caption.name == "workflow.rst":
            continue
        # the caption's first words (up to any markup or apostrophe) are in the HTML
        opening = re.split(r"\*\*|``|'|\{\{", " ".join(caption.read_text().split()))[0]
        words = " ".join(opening.split()[:4])
        assert len(words) >= 10 and words in text, caption.name
    # captions are rendered per file, wildcards filled in
    assert "Training history of <strong>cnn_seed001</strong>, fold 1" in text
    for name in ("accuracy.png", "confusions.png", "learning_curves.png", "summary.csv"):
        assert name in text
