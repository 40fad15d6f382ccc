"""Per-run metrics, track aggregation, the summary across runs (folds and seeds), paired
tests, the report."""

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

from genreflow.evaluation.metrics import fold_metrics
from genreflow.evaluation.plots import plot_run_accuracy
from genreflow.evaluation.predict_classical import predict_classical_fold
from genreflow.evaluation.report import data_stage_counts, seed_sentence, write_report
from genreflow.evaluation.summary import (
    RunResult,
    bootstrap_interval,
    confusion_pairs,
    paired_comparisons,
    paired_runs,
    pooled_track_correct,
    summary_table,
    timing_table,
)
from genreflow.models.classical import break_ties
from genreflow.models.registry import Published
from genreflow.predictions import probability_columns, segment_table, track_table
from genreflow.training.classical_data import table_data

GENRES = ["blues", "jazz", "rock"]


def segments_from(rows):
    """A segment table from (track, segment, truth, p_blues, p_jazz, p_rock) rows."""
    index = pd.DataFrame(
        [(t, s, g) for t, s, g, *_ in rows], columns=["track_id", "segment", "genre"]
    )
    probabilities = np.array([p for *_, p0, p1, p2 in rows for p in (p0, p1, p2)]).reshape(-1, 3)
    return segment_table(index, probabilities, GENRES)


# two segments each; t2's segments disagree and the mean decides for jazz (0.55 vs 0.45)
SEGMENTS = segments_from(
    [
        ("t1", 0, "blues", 0.7, 0.2, 0.1),
        ("t1", 1, "blues", 0.6, 0.3, 0.1),
        ("t2", 0, "jazz", 0.8, 0.1, 0.1),
        ("t2", 1, "jazz", 0.0, 1.0, 0.0),
        ("t3", 0, "rock", 0.1, 0.5, 0.4),
        ("t3", 1, "rock", 0.1, 0.3, 0.6),
        ("t4", 0, "rock", 0.2, 0.2, 0.6),
        ("t4", 1, "rock", 0.3, 0.3, 0.4),
    ]
)


def test_segment_table_predicts_the_most_probable_genre():
    assert SEGMENTS["predicted"].tolist() == [
        "blues", "blues", "blues", "jazz", "jazz", "rock", "rock", "rock",
    ]  # fmt: skip
    assert np.allclose(SEGMENTS[probability_columns(GENRES)].sum(axis=1), 1.0)


def test_track_aggregation_by_mean_probability():
    tracks = track_table(SEGMENTS, GENRES)
    assert tracks["track_id"].tolist() == ["t1", "t2", "t3", "t4"]
    assert tracks["n_segments"].tolist() == [2, 2, 2, 2]
    assert tracks["predicted"].tolist() == ["blues", "jazz", "rock", "rock"]
    t2 = tracks.set_index("track_id").loc["t2", probability_columns(GENRES)]
    assert np.allclose(t2, [0.4, 0.55, 0.05])
    # t3's segments vote jazz, rock; the mean probability picks rock (0.5 vs 0.4)
    assert tracks.set_index("track_id").loc["t3", "prob_rock"] == pytest.approx(0.5)


def test_fold_metrics_equal_scikit_learn():
    tracks = track_table(SEGMENTS, GENRES)
    metrics = fold_metrics(SEGMENTS, tracks, GENRES)
    truth, predicted = tracks["genre"], tracks["predicted"]
    probabilities = tracks[probability_columns(GENRES)].to_numpy()
    assert metrics["track_accuracy"] == accuracy_score(truth, predicted) == 1.0
    assert metrics["segment_accuracy"] == accuracy_score(SEGMENTS["genre"], SEGMENTS["predicted"])
    assert metrics["segment_accuracy"] == pytest.approx(6 / 8)
    assert metrics["balanced_accuracy"] == balanced_accuracy_score(truth, predicted)
    assert metrics["macro_f1"] == f1_score(truth, predicted, average="macro")
    assert metrics["log_loss"] == pytest.approx(log_loss(truth, probabilities, labels=GENRES))
    assert metrics["segment"]["macro_f1"] == pytest.approx(
        f1_score(SEGMENTS["genre"], SEGMENTS["predicted"], average="macro")
    )
    _, recall, f1, support = precision_recall_fscore_support(
        SEGMENTS["genre"], SEGMENTS["predicted"], labels=GENRES
    )
    segment_level = fold_metrics(SEGMENTS, SEGMENTS, GENRES)["per_class"]
    assert [segment_level[g]["recall"] for g in GENRES] == pytest.approx(recall)
    assert [segment_level[g]["f1"] for g in GENRES] == pytest.approx(f1)
    assert [segment_level[g]["support"] for g in GENRES] == support.tolist()
    assert metrics["confusion"] == confusion_matrix(truth, predicted, labels=GENRES).tolist()
    assert metrics["n_test_tracks"] == 4 and metrics["n_test_segments"] == 8


def test_a_genre_absent_from_the_test_part_is_reported_with_zero_support():
    tracks = track_table(SEGMENTS[SEGMENTS["genre"] != "jazz"], GENRES)
    metrics = fold_metrics(SEGMENTS[SEGMENTS["genre"] != "jazz"], tracks, GENRES)
    assert metrics["per_class"]["jazz"]["support"] == 0
    assert np.asarray(metrics["confusion"]).shape == (3, 3)


def run_result(model, fold, truth, predicted, *, seed=0, n_parameters=1000, seconds=10.0):
    """A run's result; fold k's test tracks are f<k>t0, f<k>t1, ..."""
    tracks = pd.DataFrame(
        {
            "track_id": [f"f{fold}t{i}" for i in range(len(truth))],
            "genre": truth,
            "predicted": predicted,
        }
    )
    accuracy = float(np.mean(np.asarray(truth) == np.asarray(predicted)))
    confusion = confusion_matrix(truth, predicted, labels=GENRES)
    per_class = {g: {"f1": accuracy, "precision": 0, "recall": 0, "support": 0} for g in GENRES}
    metrics = {
        "model": model,
        "seed": seed,
        "fold": fold,
        "genres": GENRES,
        "track_accuracy": accuracy,
        "segment_accuracy": accuracy / 2,
        "macro_f1": accuracy / 4,
        "balanced_accuracy": accuracy,
        "per_class": per_class,
        "confusion": confusion.tolist(),
    }
    history = {"n_parameters": n_parameters}
    timing = {"train_seconds": seconds}
    return RunResult(model, seed, fold, metrics, tracks, history, {"device": "cpu"}, timing)


def test_summary_mean_and_std_across_folds():
    truth = ["blues", "jazz", "rock", "rock"]
    results = [
        # model a: 3/4 then 1/4 correct; model b: 4/4 twice
        run_result("a", 0, truth, ["blues", "jazz", "rock", "jazz"]),
        run_result("a", 1, truth, ["jazz", "jazz", "blues", "blues"]),
        run_result("b", 0, truth, truth, n_parameters=None, seconds=1.5),
        run_result("b", 1, truth, truth, n_parameters=None, seconds=2.0),
    ]
    table = summary_table(
        results,
        reproduces={"a": "report 00x: a"},
        published={"a": Published(0.48, "test", "GTZAN", "report 001"), "b": None},
    ).set_index("model")
    assert table.index.tolist() == ["b", "a"]  # most accurate first
    assert table.loc["a", "track_accuracy_mean"] == pytest.approx(0.5)
    assert table.loc["a", "track_accuracy_std"] == pytest.approx(np.std([0.75, 0.25], ddof=1))
    assert table.loc["a", "segment_accuracy_mean"] == pytest.approx(0.25)
    assert table.loc["b", "track_accuracy_std"] == 0.0
    assert table.loc["a", "n_test_tracks"] == 8 and table.loc["a", "n_folds"] == 2
    assert "train_seconds" not in table and pd.isna(table.loc["b", "n_parameters"])
    timing = timing_table(results, ["b", "a"]).set_index("model")
    assert timing.loc["b", ["n_runs", "train_seconds", "train_seconds_per_run"]].tolist() == [
        2,
        3.5,
        1.75,
    ]
    assert timing.loc["a", "device"] == "cpu"
    assert table.loc["a", "published_accuracy"] == 0.48
    assert table.loc["a", "published_on"] == "report 001: test, GTZAN"
    assert table.loc["a", "reproduces"] == "report 00x: a" and table.loc["b", "published_on"] == ""
    low, high = table.loc["a", ["track_accuracy_ci_low", "track_accuracy_ci_high"]]
    assert 0.0 <= low < 0.5 < high <= 1.0
    assert (
        table.loc["b", "track_accuracy_ci_low"],
        table.loc["b", "track_accuracy_ci_high"],
    ) == (
        1.0,
        1.0,
    )


def test_a_single_fold_has_no_standard_deviation():
    truth = ["blues", "jazz", "rock"]
    table = summary_table([run_result("a", 0, truth, truth)], reproduces={}, published={})
    assert np.isnan(table.loc[0, "track_accuracy_std"])


def test_bootstrap_interval_brackets_the_accuracy_and_narrows_with_more_tracks():
    rng = np.random.default_rng(0)
    small = rng.random(40) < 0.7
    large = rng.random(4000) < 0.7
    low_s, high_s = bootstrap_interval(small)
    low_l, high_l = bootstrap_interval(large)
    assert low_s <= small.mean() <= high_s and low_l <= large.mean() <= high_l
    assert high_l - low_l < (high_s - low_s) / 4
    assert bootstrap_interval(small, seed=3) == bootstrap_interval(small, seed=3)


def test_mcnemar_counts_discordant_tracks_and_matches_the_exact_binomial():
    truth = ["blues"] * 10
    best = run_result("best", 0, truth, ["blues"] * 10)
    # six tracks only best gets right, none only the other: p = 2 · 0.5^6
    other = run_result("other", 0, truth, ["jazz"] * 6 + ["blues"] * 4)
    same = run_result("same", 0, truth, ["blues"] * 10)
    table = paired_comparisons([best, other, same], best="best").set_index("model")
    assert table.loc["other", ["best_only", "model_only", "n_tracks"]].tolist() == [
        6,
        0,
        10,
    ]
    assert table.loc["other", "mcnemar_p"] == pytest.approx(2 * 0.5**6)
    assert table.loc["same", "mcnemar_p"] == 1.0
    assert np.isnan(table.loc["other", "wilcoxon_p"])  # one fold


def test_confusion_pairs_count_both_directions():
    confusions = {
        "a": np.array([[5, 1, 0], [2, 3, 0], [0, 0, 4]]),
        "b": np.array([[4, 0, 2], [1, 5, 0], [0, 0, 4]]),
    }
    pairs = confusion_pairs(confusions, GENRES).set_index("pair")
    assert pairs.index.tolist() == ["blues ↔ jazz", "blues ↔ rock"]
    assert pairs.loc["blues ↔ jazz", ["errors", "first_as_second", "second_as_first"]].tolist() == [
        4,
        1,
        3,
    ]
    assert pairs["share_of_errors"].sum() == pytest.approx(1.0)


def test_classical_predictions_cover_the_test_tracks_in_the_models_genre_order(
    tmp_path,
):
    rng = np.random.default_rng(0)
    genres = ["blues", "jazz", "rock"]
    table = pd.DataFrame(
        {
            "track_id": [f"{g}.{i:05d}" for g in genres for i in range(6)],
            "genre": [g for g in genres for _ in range(6)],
            "x": [float(k) + rng.normal(0, 0.1) for k in range(3) for _ in range(6)],
        }
    )
    table["source_track_id"] = table["track_id"]
    # the last two tracks of every genre are the test part
    roles = ["train"] * 4 + ["test"] * 2
    folds = pd.DataFrame({"track_id": table["track_id"], "fold": 0, "role": roles * 3})
    train = folds["role"] == "train"
    # trained without rock: its probability column must still be there, at 0
    keep = train & (table["genre"] != "rock")
    estimator = LogisticRegression().fit(
        table.loc[keep, ["x"]].to_numpy(), table.loc[keep, "genre"]
    )
    joblib.dump(
        {"estimator": estimator, "columns": ["x"], "genres": genres},
        tmp_path / "m.joblib",
    )
    segments, found = predict_classical_fold(
        tmp_path / "m.joblib", data=table_data(table), folds=folds, fold=0
    )
    assert found == genres
    assert segments["track_id"].tolist() == table.loc[~train, "track_id"].tolist()
    assert (segments["prob_rock"] == 0).all()
    assert np.allclose(segments[probability_columns(genres)].sum(axis=1), 1.0)


def test_report_writes_tables_figures_and_markdown(tmp_path):
    truth = ["blues", "jazz", "rock", "rock"]
    results = [run_result("cnn", k, truth, ["blues", "jazz", "rock", "jazz"]) for k in range(2)] + [
        run_result("svm", k, truth, truth, n_parameters=None) for k in range(2)
    ]
    manifest = pd.DataFrame(
        {
            "track_id": ["a", "b", "c", "d"],
            "genre": ["rock", "jazz", "rock", "jazz"],
            "path": ["a.wav", "repaired/b.wav", "c.wav", "d.mp3"],
            "status": ["ok", "repaired", "ok", "quarantined"],
            "reason": ["", "undecodable; re-derived from b.au", "", "zero bytes"],
        }
    )
    duplicates = pd.DataFrame(
        {
            "group": [0, 0],
            "track_id": ["a", "c"],
            "genre": ["rock", "rock"],
            "artist": ["X", "X"],
            "title": ["Song", "Song"],
            "matched": ["c", "a"],
            "similarity": [1.0, 1.0],
            "offset_s": [0.0, 0.0],
            "kind": ["exact", "exact"],
            "registry_agrees": ["yes", "yes"],
        }
    )
    registry = pd.DataFrame(
        {"track_id": ["a", "b", "c"], "artist": ["X", "Y", "X"], "title": ["Song", "T", "Song"]}
    )
    leakage = {
        "scheme": "artist_kfold",
        "artist_coverage": 0.5,
        "artist_coverage_needed": 0.8,
        "artists_grouped": False,
        "artist_fallback": True,
        "duplicate_groups_split": 0,
    }
    names = ["summary", "comparisons", "per_genre_f1", "timing"]
    outputs = {name: tmp_path / f"{name}.csv" for name in names}
    outputs["markdown"] = tmp_path / "summary.md"
    outputs["runs"] = tmp_path / "runs.csv"
    for figure in ("accuracy", "runs", "per_genre_f1", "confusions", "confusion_pairs"):
        outputs[f"{figure}_png"] = tmp_path / "figures" / f"{figure}.png"
    write_report(
        results,
        identity={"dataset": "demo", "scheme": "stratified_kfold"},
        reproduces={"cnn": "report 001: CNN", "svm": "baseline: RBF SVM"},
        published={"cnn": Published(0.48, "test", "GTZAN", "report 001"), "svm": None},
        manifest=manifest,
        outputs=outputs,
        duplicates=duplicates,
        leakage=leakage,
        registry=registry,
    )
    summary = pd.read_csv(outputs["summary"])
    assert summary["model"].tolist() == ["svm", "cnn"]
    comparisons = pd.read_csv(outputs["comparisons"])
    assert comparisons["model"].tolist() == ["cnn"] and comparisons["best_only"].item() == 2
    markdown = outputs["markdown"].read_text()
    assert "# genreflow report: demo, stratified_kfold" in markdown
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in markdown.splitlines()
        if line.startswith("|")
    ]
    assert ["repaired", "1"] in rows and ["quarantined", "1"] in rows
    assert "re-derived from b.au" in markdown
    assert "### Quarantined files (1)" in markdown and ["d", "jazz", "d.mp3", "zero bytes"] in rows
    assert "found 1 group(s) of one recording (2 tracks; 1 exact, 0 near)" in markdown
    assert "the folds keep each group in one role" in markdown
    assert "same artist and title for 1 set(s) of tracks; the audit grouped all" in markdown
    assert "**Warning:** only 50% of the tracks name their artist" in markdown
    assert "48 (report 001: test, GTZAN)" in markdown
    assert "75.0 ± 0.0" in markdown  # cnn's track accuracy
    assert "![accuracy](figures/accuracy.png)" in markdown
    assert "![runs](figures/runs.png)" in markdown
    assert "so they have a file of their own): [timing.csv](timing.csv)" in markdown
    assert pd.read_csv(outputs["timing"])["model"].tolist() == ["svm", "cnn"]
    assert "## Sources of spread" in markdown and "2 × 1 = 2" in markdown
    # one seed: the seed-to-seed spread is said not to be measured
    assert "**svm** vs **cnn**: 25.0 points over 2 paired run(s); the seed-to-seed" in markdown
    runs = pd.read_csv(outputs["runs"])
    assert runs[["model", "seed", "fold"]].values.tolist() == [
        ["svm", 0, 0],
        ["svm", 0, 1],
        ["cnn", 0, 0],
        ["cnn", 0, 1],
    ]
    for figure in ("accuracy", "runs", "per_genre_f1", "confusions", "confusion_pairs"):
        with Image.open(outputs[f"{figure}_png"]) as image:
            assert image.width > 400 and image.height > 200
    assert not list(tmp_path.rglob(".*.tmp*"))  # atomic writes left no temporary file


def test_data_stage_counts_list_every_status():
    counts = data_stage_counts(pd.DataFrame({"status": ["ok", "ok", "quarantined"]}))
    assert counts.to_dict("list") == {
        "status": ["ok", "repaired", "quarantined"],
        "tracks": [2, 0, 1],
    }


def test_run_result_loads_what_the_rules_write(tmp_path):
    truth = ["blues", "jazz"]
    source = run_result("m", 1, truth, truth)
    (tmp_path / "metrics.json").write_text(json.dumps(source.metrics))
    source.tracks.to_csv(tmp_path / "tracks.csv", index=False)
    (tmp_path / "history.json").write_text(json.dumps(source.history))
    (tmp_path / "config.json").write_text(json.dumps(source.config))
    (tmp_path / "timing.json").write_text(json.dumps(source.timing))
    names = ("metrics.json", "tracks.csv", "history.json", "config.json", "timing.json")
    loaded = RunResult.load(*(tmp_path / n for n in names))
    assert (loaded.model, loaded.seed, loaded.fold) == ("m", 0, 1)
    assert loaded.correct.tolist() == [True, True]


def test_saturated_probabilities_follow_the_estimators_decision():
    probabilities = np.array([[0.5, 0.5, 0.0], [0.2, 0.7, 0.1]])
    fixed = break_ties(probabilities, ["jazz", "blues"], GENRES)
    assert np.asarray(GENRES)[fixed.argmax(axis=1)].tolist() == ["jazz", "jazz"]
    assert np.array_equal(fixed[1], probabilities[1])  # untied rows are left alone


# ---- repeated seeds: spreads, pooled bootstrap, pairing -----------------------------

TRUTH = ["blues"] * 10


def hits(n):
    """Predictions of TRUTH with the first n right."""
    return ["blues"] * n + ["jazz"] * (10 - n)


def test_spread_separates_folds_seeds_and_runs():
    # fold 0: seeds score 0.6 and 0.8; fold 1: 0.2 and 0.4
    runs = [
        run_result("m", fold, TRUTH, hits(n), seed=seed)
        for fold, seed, n in ((0, 0, 6), (0, 1, 8), (1, 0, 2), (1, 1, 4))
    ]
    row = summary_table(runs, reproduces={}, published={}).iloc[0]
    assert (row["n_folds"], row["n_seeds"], row["n_runs"]) == (2, 2, 4)
    assert row["track_accuracy_mean"] == pytest.approx(0.5)
    assert row["track_accuracy_std"] == pytest.approx(np.std([0.7, 0.3], ddof=1))
    # within each fold the two seeds are 0.2 apart: sample variance 0.02 in both
    assert row["track_accuracy_seed_std"] == pytest.approx(np.sqrt(0.02))
    assert row["track_accuracy_run_std"] == pytest.approx(np.std([0.6, 0.8, 0.2, 0.4], ddof=1))
    # every run pooled per track: 20 test tracks, not 40
    assert row["n_test_tracks"] == 20
    assert row["track_accuracy_ci_low"] < 0.5 < row["track_accuracy_ci_high"]


def test_pooled_tracks_score_the_share_of_their_runs():
    runs = [run_result("m", 0, TRUTH, hits(n), seed=seed) for seed, n in ((0, 6), (1, 8))]
    pooled = pooled_track_correct(runs)
    assert pooled.index.tolist() == [f"f0t{i}" for i in range(10)]
    assert pooled.tolist() == [1.0] * 6 + [0.5] * 2 + [0.0] * 2


def test_runs_pair_by_seed_and_fold_and_a_deterministic_run_with_every_seed():
    repeated = [run_result("a", f, TRUTH, hits(5), seed=s) for f in (0, 1) for s in (0, 1)]
    other = [run_result("b", f, TRUTH, hits(5), seed=s) for f in (0, 1) for s in (0, 1)]
    once = [run_result("c", f, TRUTH, hits(5), seed=0) for f in (0, 1)]
    pairs = paired_runs(repeated, other)
    assert [(x.fold, x.seed, y.fold, y.seed) for x, y in pairs] == [
        (0, 0, 0, 0),
        (0, 1, 0, 1),
        (1, 0, 1, 0),
        (1, 1, 1, 1),
    ]
    pairs = paired_runs(repeated, once)
    assert [(x.fold, x.seed, y.seed) for x, y in pairs] == [
        (0, 0, 0),
        (0, 1, 0),
        (1, 0, 0),
        (1, 1, 0),
    ]


def test_mcnemar_runs_once_per_seed_and_keeps_the_largest_p():
    best = [run_result("best", 0, TRUTH, hits(10), seed=s) for s in (0, 1)]
    # seed 0: 6 tracks only best got right (p = 2 · 0.5^6); seed 1: 2 (p = 0.5)
    other = [run_result("other", 0, TRUTH, hits(n), seed=s) for s, n in ((0, 4), (1, 8))]
    row = paired_comparisons(best + other, best="best").iloc[0]
    assert (row["best_only"], row["model_only"], row["n_tracks"]) == (8, 0, 10)
    assert row["mcnemar_p"] == pytest.approx(0.5)
    assert (row["n_pairs"], row["n_seeds"]) == (2, 2)
    assert row["mean_difference"] == pytest.approx(0.4)


def comparison(difference, best="a", model="b"):
    return {"compared_with": best, "model": model, "mean_difference": difference, "n_pairs": 4}


def spreads(**seed_stds):
    return pd.DataFrame(
        {"model": list(seed_stds), "track_accuracy_seed_std": list(seed_stds.values())}
    )


def test_the_seed_sentence_says_whether_a_difference_exceeds_the_seed_spread():
    table = spreads(a=0.03, b=0.04)  # a difference's seed spread: 0.05
    assert "which exceeds the seed-to-seed spread" in seed_sentence(comparison(0.06), table, ())
    assert "does not exceed" in seed_sentence(comparison(0.04), table, ())
    # a deterministic model adds no seed spread: 0.03 is all there is
    assert "which exceeds" in seed_sentence(comparison(0.04), table, ("b",))
    assert "both are deterministic" in seed_sentence(comparison(0.01), table, ("a", "b"))
    one_seed = spreads(a=float("nan"), b=float("nan"))
    assert "not measured with one seed" in seed_sentence(comparison(0.2), one_seed, ())


def test_a_figure_of_the_same_runs_has_the_same_bytes_and_leaves_numpy_alone(tmp_path):
    runs = pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 4,
            "fold": [0, 1] * 4,
            "track_accuracy": [0.5, 0.6, 0.55, 0.65, 0.7, 0.8, 0.75, 0.72],
        }
    )
    for seed, name in ((1, "one.png"), (2, "two.png")):
        np.random.seed(seed)  # seaborn jitters the dots with numpy's global generator
        plot_run_accuracy(runs, ["a", "b"], 0.1, "runs", tmp_path / name)
        assert np.random.randint(1000) == {1: 37, 2: 168}[seed]  # its state restored
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
