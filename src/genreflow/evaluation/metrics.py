"""Prediction tables and classification metrics (all metrics are scikit-learn's).

A *segment table* has one row per test example: ``track_id``, ``segment``, ``genre``
(the truth), ``predicted`` and one ``prob_<genre>`` column per genre. A *track table*
aggregates it by the mean probability over each track's segments, the usual way to
turn the reports' segment classifiers into track classifiers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
)

PROBABILITY_PREFIX = "prob_"


def probability_columns(genres: Sequence[str]) -> list[str]:
    """The probability column of each genre, in the model's output order."""
    return [f"{PROBABILITY_PREFIX}{genre}" for genre in genres]


def segment_table(
    index: pd.DataFrame, probabilities: np.ndarray, genres: Sequence[str]
) -> pd.DataFrame:
    """One row per example of ``index`` (``track_id``, ``segment``, ``genre``) with its
    class ``probabilities`` (examples × genres) and the most probable genre.

    Probabilities are stored in float64, renormalised so each row sums to 1 (a float32
    softmax is off by rounding, which scikit-learn's log-loss rejects).
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.shape != (len(index), len(genres)):
        raise ValueError(
            f"probabilities have shape {probabilities.shape}, expected "
            f"({len(index)}, {len(genres)})"
        )
    table = index[["track_id", "segment", "genre"]].reset_index(drop=True)
    table["predicted"] = np.asarray(genres)[probabilities.argmax(axis=1)]
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)
    probs = pd.DataFrame(probabilities, columns=probability_columns(genres))
    return pd.concat([table, probs], axis=1)


def track_table(segments: pd.DataFrame, genres: Sequence[str]) -> pd.DataFrame:
    """Aggregate a segment table to one row per track by mean probability.

    Columns: ``track_id``, ``genre``, ``n_segments``, ``predicted`` and the mean
    ``prob_<genre>`` columns; tracks keep their first-appearance order.
    """
    columns = probability_columns(genres)
    grouped = segments.groupby("track_id", sort=False)
    tracks = grouped[columns].mean()
    tracks.insert(0, "predicted", np.asarray(genres)[tracks.to_numpy().argmax(axis=1)])
    tracks.insert(0, "n_segments", grouped.size())
    tracks.insert(0, "genre", grouped["genre"].first())
    return tracks.reset_index()


def level_metrics(table: pd.DataFrame, genres: Sequence[str]) -> dict:
    """Accuracy, balanced accuracy, macro-F1 and log-loss of a segment or track table."""
    truth, predicted = table["genre"], table["predicted"]
    probabilities = table[probability_columns(genres)].to_numpy(dtype=np.float64)
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "balanced_accuracy": float(balanced_accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=list(genres), average="macro", zero_division=0)
        ),
        "log_loss": float(log_loss(truth, probabilities, labels=list(genres))),
        "n": len(table),
    }


def per_class_metrics(tracks: pd.DataFrame, genres: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support of every genre, on the track table."""
    precision, recall, f1, support = precision_recall_fscore_support(
        tracks["genre"], tracks["predicted"], labels=list(genres), zero_division=0
    )
    return {
        genre: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, genre in enumerate(genres)
    }


def fold_metrics(segments: pd.DataFrame, tracks: pd.DataFrame, genres: Sequence[str]) -> dict:
    """Everything ``metrics.json`` holds for one (model, fold)."""
    track_level = level_metrics(tracks, genres)
    return {
        "genres": list(genres),
        "n_test_tracks": track_level["n"],
        "n_test_segments": len(segments),
        "track_accuracy": track_level["accuracy"],
        "segment_accuracy": float(accuracy_score(segments["genre"], segments["predicted"])),
        "balanced_accuracy": track_level["balanced_accuracy"],
        "macro_f1": track_level["macro_f1"],
        "log_loss": track_level["log_loss"],
        "segment": level_metrics(segments, genres),
        "track": track_level,
        "per_class": per_class_metrics(tracks, genres),
        "confusion": confusion_matrix(
            tracks["genre"], tracks["predicted"], labels=list(genres)
        ).tolist(),
    }
