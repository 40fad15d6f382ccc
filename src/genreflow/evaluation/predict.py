"""Test-set predictions of a saved fold model, reloaded from its artifact on disk.

Evaluation never trusts numbers computed during training: it rebuilds the model from
``model.pt`` (or ``model.joblib``) and predicts the fold's test part afresh, so the
report describes exactly the artifact a user would load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import torch

from genreflow.errors import DataError
from genreflow.evaluation.metrics import segment_table
from genreflow.folds import training_rows
from genreflow.models import get_model
from genreflow.training.data import Normalizer, load_fold
from genreflow.training.device import Precision
from genreflow.training.loop import evaluate


def load_torch_model(path: str | Path) -> tuple[torch.nn.Module, dict]:
    """The model saved by a torch training job, in eval mode on the CPU, and its record."""
    saved = torch.load(path, map_location="cpu", weights_only=True)
    spec = get_model(saved["model"])
    shapes = [tuple(shape) for shape in saved["input_shapes"]]
    model = spec.build(len(saved["genres"]), shapes, **saved["arch"])
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved


def predict_torch_fold(
    model_path: str | Path,
    *,
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    fold: int,
    device: torch.device,
) -> tuple[pd.DataFrame, list[str]]:
    """Segment table of the fold's test examples, and the model's genres."""
    model, saved = load_torch_model(model_path)
    genres = list(saved["genres"])
    split = load_fold(arrays, indexes, folds, fold, genres, device, roles=("test",))["test"]
    shapes = [tuple(x.shape[1:]) for x in split.inputs]
    expected = [tuple(shape) for shape in saved["input_shapes"]]
    if shapes != expected:
        raise DataError(
            f"{model_path}: trained on inputs of shape {expected}, but the consolidated "
            f"arrays now hold {shapes}: re-run training after changing feature settings."
        )
    model.to(device)
    normalizer = Normalizer.from_state(saved["normalizer"])
    precision = Precision.for_device(device, enabled=False)
    _, _, probabilities = evaluate(model, split, normalizer, precision)
    return segment_table(split.index, probabilities.double().numpy(), genres), genres


def break_ties(
    probabilities: np.ndarray, decisions: Sequence[str], genres: Sequence[str]
) -> np.ndarray:
    """Resolve tied top probabilities in favour of the estimator's own decision.

    One-vs-rest probabilities saturate (an SGD's sigmoids of decision values in the
    hundreds are all exactly 1.0), so the most probable genre can be a tie that the
    decision function, which ``predict`` uses, does not have. The decided genre gets
    1e-9 more probability in those rows only.
    """
    probabilities = np.array(probabilities, dtype=np.float64)
    top = probabilities.max(axis=1, keepdims=True)
    tied = (probabilities == top).sum(axis=1) > 1
    column = {genre: i for i, genre in enumerate(genres)}
    for row in np.flatnonzero(tied):
        probabilities[row, column[decisions[row]]] += 1e-9
    return probabilities


def predict_classical_fold(
    model_path: str | Path, *, table: pd.DataFrame, folds: pd.DataFrame, fold: int
) -> tuple[pd.DataFrame, list[str]]:
    """Segment table (one "segment" per track) of the fold's test tracks, and the genres."""
    saved = joblib.load(model_path)
    estimator, columns, genres = (
        saved["estimator"],
        saved["columns"],
        list(saved["genres"]),
    )
    missing = sorted(set(columns) - set(table.columns))
    if missing:
        raise DataError(
            f"{model_path}: the summary table lacks columns the model was trained on "
            f"({', '.join(missing[:5])}…): re-run training."
        )
    rows = training_rows(table, folds, fold, "test")
    test = table.iloc[rows]
    x = test[columns].to_numpy(dtype=np.float64)
    probabilities = estimator.predict_proba(x)
    # classes the training part lacked get probability 0, in the genres' order
    by_class = pd.DataFrame(probabilities, columns=estimator.classes_)
    probabilities = by_class.reindex(columns=genres, fill_value=0.0).to_numpy()
    probabilities = break_ties(probabilities, estimator.predict(x), genres)
    index = test.assign(segment=0)
    return segment_table(index, probabilities, genres), genres
