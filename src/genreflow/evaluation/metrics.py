"""Classification metrics of segment and track tables (all metrics are scikit-learn's;
the tables are in :mod:`genreflow.predictions`)."""

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

from genreflow.predictions import probability_columns


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
