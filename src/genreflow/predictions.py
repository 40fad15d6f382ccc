"""Prediction tables: a fold model's test predictions per segment and per track.

A *segment table* has one row per test example: ``track_id``, ``segment``, ``genre``
(the truth), ``predicted`` and one ``prob_<genre>`` column per genre. A *track table*
aggregates it by the mean probability over each track's segments, the usual way to
turn the reports' segment classifiers into track classifiers.

numpy and pandas only: training jobs build these tables without importing the metrics
(scikit-learn).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

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
