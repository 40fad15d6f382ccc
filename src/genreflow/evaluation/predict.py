"""Test-set predictions of a saved torch fold model, reloaded from its artifact on disk.

Evaluation never trusts numbers computed during training: it rebuilds the model from
``model.pt`` (:class:`genreflow.saved.SavedTorchModel`; scikit-learn's ``model.joblib``:
:mod:`genreflow.evaluation.predict_classical`)
and predicts the fold's test part afresh, so the report describes exactly the artifact
a user would load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import torch

from genreflow.errors import DataError
from genreflow.predictions import segment_table
from genreflow.saved import SavedTorchModel
from genreflow.training.data import Normalizer, load_fold
from genreflow.training.device import Precision
from genreflow.training.loop import evaluate


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
    saved = SavedTorchModel.load(model_path)
    model, genres = saved.network(), list(saved.genres)
    split = load_fold(arrays, indexes, folds, fold, genres, device, roles=("test",))["test"]
    shapes = [tuple(x.shape[1:]) for x in split.inputs]
    expected = [tuple(shape) for shape in saved.input_shapes]
    if shapes != expected:
        raise DataError(
            f"{model_path}: trained on inputs of shape {expected}, but the consolidated "
            f"arrays now hold {shapes}: re-run training after changing feature settings."
        )
    model.to(device)
    normalizer = Normalizer.from_state(saved.normalizer)
    precision = Precision.for_device(device, enabled=False)
    _, _, probabilities = evaluate(model, split, normalizer, precision)
    return segment_table(split.index, probabilities.double().numpy(), genres), genres
