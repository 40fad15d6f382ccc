"""Tables across folds and models: the summary, paired tests, per-genre F1, error pairs.

Every statistic is a library's: the bootstrap interval is :func:`scipy.stats.bootstrap`
over the pooled test tracks, the exact McNemar test is a two-sided
:func:`scipy.stats.binomtest` on the discordant tracks, and the fold-wise test is
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


@dataclass
class FoldResult:
    """One evaluated (model, fold): its metrics, track predictions and training record."""

    model: str
    fold: int
    metrics: dict
    tracks: pd.DataFrame
    history: dict
    config: dict

    @classmethod
    def load(
        cls,
        metrics: str | Path,
        tracks: str | Path,
        history: str | Path,
        config: str | Path,
    ) -> FoldResult:
        record = json.loads(Path(metrics).read_text())
        return cls(
            model=record["model"],
            fold=int(record["fold"]),
            metrics=record,
            tracks=pd.read_csv(tracks, dtype={"track_id": str}),
            history=json.loads(Path(history).read_text()),
            config=json.loads(Path(config).read_text()),
        )

    @property
    def correct(self) -> pd.Series:
        """Whether each test track was classified correctly, indexed by track id."""
        return pd.Series(
            (self.tracks["genre"] == self.tracks["predicted"]).to_numpy(),
            index=self.tracks["track_id"],
        )


def by_model(results: Sequence[FoldResult]) -> dict[str, list[FoldResult]]:
    """Results grouped by model (first-appearance order), each sorted by fold."""
    grouped: dict[str, list[FoldResult]] = {}
    for result in results:
        grouped.setdefault(result.model, []).append(result)
    return {model: sorted(folds, key=lambda r: r.fold) for model, folds in grouped.items()}


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof 1; NaN for a single fold)."""
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    return float(values.mean()), std


def bootstrap_interval(correct: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the accuracy of ``correct`` (one bool per track)."""
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


def summary_table(
    results: Sequence[FoldResult],
    *,
    reproduces: Mapping[str, str],
    published: Mapping[str, Published | None],
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model, sorted by mean track accuracy (best first).

    Accuracies are fractions. ``*_std`` is the sample standard deviation across folds;
    ``track_accuracy_ci_*`` bound the accuracy over every test track of every fold.
    """
    rows = []
    for model, folds in by_model(results).items():
        row = {
            "model": model,
            "reproduces": reproduces.get(model, ""),
            "n_folds": len(folds),
        }
        for metric in (
            "track_accuracy",
            "segment_accuracy",
            "macro_f1",
            "balanced_accuracy",
        ):
            mean, std = mean_std([r.metrics[metric] for r in folds])
            row[f"{metric}_mean"], row[f"{metric}_std"] = mean, std
        correct = np.concatenate([r.correct.to_numpy() for r in folds])
        row["track_accuracy_ci_low"], row["track_accuracy_ci_high"] = bootstrap_interval(
            correct, seed
        )
        row["n_test_tracks"] = len(correct)
        n_parameters = folds[0].history.get("n_parameters")
        row["n_parameters"] = int(n_parameters) if n_parameters is not None else None
        row["train_seconds"] = round(sum(r.history.get("train_seconds", 0.0) for r in folds), 1)
        row["device"] = ", ".join(sorted({str(r.config.get("device", "?")) for r in folds}))
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


def paired_comparisons(results: Sequence[FoldResult], best: str) -> pd.DataFrame:
    """Every other model against ``best`` on the same test tracks.

    ``best_only``/``model_only`` count the tracks only one of the two got right;
    ``mcnemar_p`` is the exact two-sided McNemar test on those (pooled over folds);
    ``wilcoxon_p`` the Wilcoxon signed-rank test on the fold accuracies (NaN with one
    fold or identical accuracies; with k folds it cannot go below 2 / 2^k).
    """
    grouped = by_model(results)
    reference = {r.fold: r for r in grouped[best]}
    rows = []
    for model, folds in grouped.items():
        if model == best:
            continue
        common = [r for r in folds if r.fold in reference]
        pairs = [
            pd.concat([reference[r.fold].correct, r.correct], axis=1, join="inner") for r in common
        ]
        pooled = pd.concat(pairs) if pairs else pd.DataFrame(columns=[0, 1], dtype=bool)
        best_only = int((pooled.iloc[:, 0] & ~pooled.iloc[:, 1]).sum())
        model_only = int((~pooled.iloc[:, 0] & pooled.iloc[:, 1]).sum())
        discordant = best_only + model_only
        mcnemar = stats.binomtest(best_only, discordant).pvalue if discordant else 1.0
        rows.append(
            {
                "model": model,
                "compared_with": best,
                "n_tracks": len(pooled),
                "best_only": best_only,
                "model_only": model_only,
                "mcnemar_p": float(mcnemar),
                "wilcoxon_p": _wilcoxon(
                    [reference[r.fold].metrics["track_accuracy"] for r in common],
                    [r.metrics["track_accuracy"] for r in common],
                ),
                "n_folds": len(common),
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
            "n_folds",
        ],
    )


def per_genre_f1(results: Sequence[FoldResult], genres: Sequence[str]) -> pd.DataFrame:
    """Mean F1 across folds of every genre (columns) for every model (rows)."""
    table = {
        model: [np.mean([r.metrics["per_class"][g]["f1"] for r in folds]) for g in genres]
        for model, folds in by_model(results).items()
    }
    return pd.DataFrame.from_dict(table, orient="index", columns=list(genres))


def summed_confusions(results: Sequence[FoldResult]) -> dict[str, np.ndarray]:
    """Each model's track confusion matrix summed over its folds."""
    return {
        model: np.sum([np.asarray(r.metrics["confusion"]) for r in folds], axis=0)
        for model, folds in by_model(results).items()
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
