"""Test-set predictions of a saved scikit-learn fold model (``model.joblib``), reloaded
from disk like :mod:`genreflow.evaluation.predict`'s torch models, without torch."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from genreflow.errors import DataError
from genreflow.folds import training_rows
from genreflow.models.classical import classical_probabilities
from genreflow.predictions import segment_table
from genreflow.saved import SavedClassicalModel
from genreflow.training.classical_data import ClassicalData


def predict_classical_fold(
    model_path: str | Path, *, data: ClassicalData, folds: pd.DataFrame, fold: int
) -> tuple[pd.DataFrame, list[str]]:
    """Segment table of the fold's test examples (one per track for the summary table or
    a whole-clip array), and the genres."""
    saved = SavedClassicalModel.load(model_path)
    estimator, genres = saved.estimator, saved.genres
    if data.columns is not None:
        data = data.select(saved.columns)
    expected = saved.input_shape
    if expected is not None and list(data.input_shape) != list(expected):
        raise DataError(
            f"{model_path}: trained on examples of shape {expected}, but its input now holds "
            f"{data.input_shape}: re-run training after changing feature settings."
        )
    rows = training_rows(data.index, folds, fold, "test")
    probabilities = classical_probabilities(estimator, data.x[rows], genres)
    return segment_table(data.index.iloc[rows], probabilities, genres), genres
