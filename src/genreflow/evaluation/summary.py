"""Tables across runs and models: the summary, paired tests, per-genre F1, error pairs.

A *run* is one trained model: a model on one fold of a scheme, with one seed of
``training.repeats`` (a deterministic model has one run per fold). Every statistic is a
library's: the bootstrap interval is :func:`scipy.stats.bootstrap` over the test tracks
(each track's accuracy the mean over its runs), the exact McNemar test is a two-sided
:func:`scipy.stats.binomtest` on the discordant tracks, and the run-wise test is
:func:`scipy.stats.wilcoxon`.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from genreflow.models.registry import Published

CONFIDENCE = 0.95
# the metrics the summary gives a mean and spread of, one column pair each
SUMMARY_METRICS = ("track_accuracy", "segment_accuracy", "macro_f1", "balanced_accuracy")


@dataclass
class RunResult:
    """One evaluated run (model, seed, fold): its metrics, track predictions, training
    record and training time (``timing.json``)."""

    model: str
    seed: int
    fold: int
    metrics: dict
    tracks: pd.DataFrame
    history: dict
    config: dict
    timing: dict

    @classmethod
    def load(
        cls,
        metrics: str | Path,
        tracks: str | Path,
        history: str | Path,
        config: str | Path,
        timing: str | Path,
    ) -> RunResult:
        record = json.loads(Path(metrics).read_text())
        return cls(
            model=record["model"],
            seed=int(record["seed"]),
            fold=int(record["fold"]),
            metrics=record,
            tracks=pd.read_csv(tracks, dtype={"track_id": str}),
            history=json.loads(Path(history).read_text()),
            config=json.loads(Path(config).read_text()),
            timing=json.loads(Path(timing).read_text()),
        )

    @property
    def correct(self) -> pd.Series:
        """Whether each test track was classified correctly, indexed by track id."""
        return pd.Series(
            (self.tracks["genre"] == self.tracks["predicted"]).to_numpy(),
            index=self.tracks["track_id"],
        )


def by_model(results: Sequence[RunResult]) -> dict[str, list[RunResult]]:
    """Results grouped by model (first-appearance order), each sorted by fold, then seed."""
    grouped: dict[str, list[RunResult]] = {}
    for result in results:
        grouped.setdefault(result.model, []).append(result)
    return {model: sorted(runs, key=lambda r: (r.fold, r.seed)) for model, runs in grouped.items()}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; NaN for a single value)."""
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), std


def run_table(
    results: Sequence[RunResult], metrics: Sequence[str] = ("track_accuracy",)
) -> pd.DataFrame:
    """One row per run: ``model``, ``seed``, ``fold`` and a column per metric of
    ``metrics`` (keys of its ``metrics.json``)."""
    return pd.DataFrame(
        [
            {
                "model": r.model,
                "seed": r.seed,
                "fold": r.fold,
                **{metric: r.metrics[metric] for metric in metrics},
            }
            for r in results
        ],
        columns=["model", "seed", "fold", *metrics],
    )


def spread(runs: pd.DataFrame, metric: str = "track_accuracy") -> dict[str, float]:
    """The sources of spread of one model's runs (:func:`run_table`) in ``metric``.

    ``mean``: over every run. ``fold_std``: the sample std of the fold means (each the
    mean over the fold's seeds). ``seed_std``: the seed-to-seed std within a fold, pooled
    over folds (the root of the mean within-fold sample variance; NaN when no fold has
    two seeds). ``run_std``: the sample std over every run.
    """
    by_fold = runs.groupby("fold")[metric]
    within = by_fold.var(ddof=1).dropna()
    return {
        "mean": float(runs[metric].mean()),
        "fold_std": mean_std(by_fold.mean())[1],
        "seed_std": float(np.sqrt(within.mean())) if len(within) else float("nan"),
        "run_std": mean_std(runs[metric])[1],
    }


def bootstrap_interval(correct: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean of ``correct``: one value per track,
    whether it was classified correctly (or the share of its runs that did)."""
    correct = np.asarray(correct, dtype=float)
    if len(correct) < 2:
        return float("nan"), float("nan")
    if correct.min() == correct.max():  # every resample has the same accuracy
        return float(correct[0]), float(correct[0])
    result = stats.bootstrap(
        (correct,),
        np.mean,
        confidence_level=CONFIDENCE,
        n_resamples=2000,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def pooled_track_correct(runs: Sequence[RunResult]) -> pd.Series:
    """Every run's predictions pooled per test track: the share of the track's runs that
    classified it correctly (0 or 1 with one run per track). Resampling these tracks
    keeps a track's runs together, so repeats do not pass for more tracks."""
    correct = pd.concat([r.correct for r in runs])
    return correct.astype(float).groupby(level=0, sort=False).mean()


def summary_table(
    results: Sequence[RunResult],
    *,
    reproduces: Mapping[str, str],
    published: Mapping[str, Published | None],
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model, sorted by mean track accuracy (best first).

    Accuracies are fractions, means over every run. ``*_std`` is the sample standard
    deviation across folds (of each fold's mean over seeds); for track accuracy
    ``track_accuracy_seed_std`` and ``track_accuracy_run_std`` give the spread over seeds
    within a fold and over every run (:func:`spread`). ``track_accuracy_ci_*`` bound the
    accuracy over every test track, each run's prediction pooled (:func:`pooled_track_correct`).
    """
    rows = []
    for model, runs in by_model(results).items():
        row = {
            "model": model,
            "reproduces": reproduces.get(model, ""),
            "n_folds": len({r.fold for r in runs}),
            "n_seeds": len({r.seed for r in runs}),
            "n_runs": len(runs),
        }
        table = run_table(runs, SUMMARY_METRICS)
        for metric in SUMMARY_METRICS:
            sources = spread(table, metric)
            row[f"{metric}_mean"], row[f"{metric}_std"] = sources["mean"], sources["fold_std"]
            if metric == "track_accuracy":
                row["track_accuracy_seed_std"] = sources["seed_std"]
                row["track_accuracy_run_std"] = sources["run_std"]
        correct = pooled_track_correct(runs)
        row["track_accuracy_ci_low"], row["track_accuracy_ci_high"] = bootstrap_interval(
            correct.to_numpy(), seed
        )
        row["n_test_tracks"] = len(correct)
        n_parameters = runs[0].history.get("n_parameters")
        row["n_parameters"] = int(n_parameters) if n_parameters is not None else None
        row["device"] = ", ".join(sorted({str(r.config.get("device", "?")) for r in runs}))
        claim = published.get(model)
        row["published_accuracy"] = claim.accuracy if claim else None
        row["published_on"] = claim.describe() if claim else ""
        rows.append(row)
    table = pd.DataFrame(rows)
    table["n_parameters"] = table["n_parameters"].astype("Int64")
    table["published_accuracy"] = table["published_accuracy"].astype(float)
    return table.sort_values(
        ["track_accuracy_mean", "model"], ascending=[False, True], ignore_index=True
    )


def _wilcoxon(best: Sequence[float], other: Sequence[float]) -> float:
    differences = np.asarray(best) - np.asarray(other)
    if len(differences) < 2 or not np.any(differences):
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(stats.wilcoxon(best, other).pvalue)


def timing_table(results: Sequence[RunResult], order: Sequence[str]) -> pd.DataFrame:
    """Training time per model (models in ``order``): its runs, their wall-clock
    seconds summed and per run, and the devices. Apart from the summary because it
    differs between two runs of the same jobs."""
    rows = []
    for model in order:
        runs = by_model(results)[model]
        seconds = [float(r.timing["train_seconds"]) for r in runs]
        rows.append(
            {
                "model": model,
                "n_runs": len(runs),
                "train_seconds": round(sum(seconds), 1),
                "train_seconds_per_run": round(sum(seconds) / len(seconds), 2),
                "device": ", ".join(sorted({str(r.config.get("device", "?")) for r in runs})),
            }
        )
    return pd.DataFrame(rows)


def paired_runs(
    first: Sequence[RunResult], second: Sequence[RunResult]
) -> list[tuple[RunResult, RunResult]]:
    """The runs of two models that face the same test part, paired by fold and seed.

    Runs of the same seed and fold pair up; a model with one run in a fold (a
    deterministic one) pairs that run with every seed of the other model there.
    """
    pairs = []
    for fold in sorted({r.fold for r in first} & {r.fold for r in second}):
        a = {r.seed: r for r in first if r.fold == fold}
        b = {r.seed: r for r in second if r.fold == fold}
        if len(a) == 1 or len(b) == 1:
            pairs += [(x, y) for x in a.values() for y in b.values()]
        else:
            pairs += [(a[seed], b[seed]) for seed in sorted(a.keys() & b.keys())]
    return pairs


def _mcnemar(pairs: Sequence[tuple[RunResult, RunResult]]) -> tuple[int, int, int, float]:
    """Tracks only the first got right, only the second, all paired tracks, and the
    exact two-sided McNemar p-value, pooled over ``pairs`` (runs of different folds)."""
    joined = [pd.concat([x.correct, y.correct], axis=1, join="inner") for x, y in pairs]
    pooled = pd.concat(joined) if joined else pd.DataFrame(columns=[0, 1], dtype=bool)
    first_only = int((pooled.iloc[:, 0] & ~pooled.iloc[:, 1]).sum())
    second_only = int((~pooled.iloc[:, 0] & pooled.iloc[:, 1]).sum())
    discordant = first_only + second_only
    p = stats.binomtest(first_only, discordant).pvalue if discordant else 1.0
    return first_only, second_only, len(pooled), float(p)


def paired_comparisons(results: Sequence[RunResult], best: str) -> pd.DataFrame:
    """Every other model against ``best`` on the same test tracks, run by run.

    Runs pair by fold and seed (:func:`paired_runs`). McNemar's exact test needs each
    track once, so it is run per seed: the pairs of one seed, pooled over folds. The
    table gives, summed over seeds, the tracks only one of the two got right
    (``best_only``, ``model_only``), and the largest (most cautious) per-seed
    ``mcnemar_p``; ``wilcoxon_p`` is the Wilcoxon signed-rank test on the paired runs'
    track accuracies (NaN with one pair or none differing; with k pairs it cannot go
    below 2 / 2^k). ``mean_difference`` is the mean of best minus model over the pairs.
    """
    grouped = by_model(results)
    reference = grouped[best]
    rows = []
    for model, runs in grouped.items():
        if model == best:
            continue
        pairs = paired_runs(reference, runs)
        # one McNemar test per seed; a deterministic model's run counts in every seed
        # of the other model
        repeated = _many_seeds(runs)
        by_seed: dict[int, list[tuple[RunResult, RunResult]]] = {}
        for x, y in pairs:
            by_seed.setdefault(y.seed if repeated else x.seed, []).append((x, y))
        tests = [_mcnemar(seed_pairs) for seed_pairs in by_seed.values()]
        best_accuracy = [x.metrics["track_accuracy"] for x, _ in pairs]
        model_accuracy = [y.metrics["track_accuracy"] for _, y in pairs]
        rows.append(
            {
                "model": model,
                "compared_with": best,
                "n_tracks": max((t[2] for t in tests), default=0),
                "best_only": sum(t[0] for t in tests),
                "model_only": sum(t[1] for t in tests),
                "mcnemar_p": max((t[3] for t in tests), default=float("nan")),
                "wilcoxon_p": _wilcoxon(best_accuracy, model_accuracy),
                "n_pairs": len(pairs),
                "n_seeds": len(by_seed),
                "mean_difference": (
                    float(np.mean(np.subtract(best_accuracy, model_accuracy)))
                    if pairs
                    else float("nan")
                ),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "compared_with",
            "n_tracks",
            "best_only",
            "model_only",
            "mcnemar_p",
            "wilcoxon_p",
            "n_pairs",
            "n_seeds",
            "mean_difference",
        ],
    )


def _many_seeds(runs: Sequence[RunResult]) -> bool:
    """Whether some fold has runs of several seeds."""
    folds = [r.fold for r in runs]
    return len(folds) != len(set(folds))


def per_genre_f1(results: Sequence[RunResult], genres: Sequence[str]) -> pd.DataFrame:
    """Mean F1 over runs of every genre (columns) for every model (rows)."""
    table = {
        model: [np.mean([r.metrics["per_class"][g]["f1"] for r in runs]) for g in genres]
        for model, runs in by_model(results).items()
    }
    return pd.DataFrame.from_dict(table, orient="index", columns=list(genres))


def summed_confusions(results: Sequence[RunResult]) -> dict[str, np.ndarray]:
    """Each model's track confusion matrix summed over its runs."""
    return {
        model: np.sum([np.asarray(r.metrics["confusion"]) for r in runs], axis=0)
        for model, runs in by_model(results).items()
    }


def confusion_pairs(
    confusions: Mapping[str, np.ndarray], genres: Sequence[str], top: int = 10
) -> pd.DataFrame:
    """The genre pairs with the most errors (both directions), over every model given."""
    total = np.sum(list(confusions.values()), axis=0)
    errors = int(total.sum() - np.trace(total))
    rows = []
    for i, j in combinations(range(len(genres)), 2):
        count = int(total[i, j] + total[j, i])
        if count:
            rows.append(
                {
                    "pair": f"{genres[i]} ↔ {genres[j]}",
                    "errors": count,
                    "first_as_second": int(total[i, j]),
                    "second_as_first": int(total[j, i]),
                }
            )
    table = pd.DataFrame(rows, columns=["pair", "errors", "first_as_second", "second_as_first"])
    table["share_of_errors"] = table["errors"] / errors if errors else 0.0
    return table.sort_values(["errors", "pair"], ascending=[False, True]).head(top)
