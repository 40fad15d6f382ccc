"""One scikit-learn training job: a registered classical model on one fold."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from genreflow.folds import training_rows
from genreflow.models import get_model
from genreflow.models.classical import classical_probabilities, limit_to_data
from genreflow.saved import SavedClassicalModel
from genreflow.schemes import FINAL_SCHEME
from genreflow.training.classical_data import ClassicalData
from genreflow.training.job import (
    Job,
    genres_of,
    run_record,
    track_accuracy,
    training_roles,
    write_run_files,
)
from genreflow.training.settings import RunSettings

log = logging.getLogger(__name__)


def train_classical(
    job: Job,
    *,
    settings: RunSettings,
    features: Mapping[str, Any],
    data: ClassicalData,
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
    precomputed: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """Fit a scikit-learn pipeline on one fold's training examples of ``data``.

    ``settings`` are the plan's (the estimator's keywords in ``arch``); ``features`` the
    plan's features block, saved with the model; ``precomputed`` the import records of
    its precomputed input (provenance).

    ``model.joblib`` holds the estimator, its inputs (columns or array shape) and genres,
    and the feature settings, so the model can classify new audio on its own. Settings
    the fold's training examples cannot support (PCA components beyond their rank,
    calibration folds beyond the rarest genre's count) are lowered to what they allow,
    and each change recorded (``history.json``: ``adjusted``).
    """
    spec = get_model(job.model)
    arch = dict(settings.arch)
    seed = job.random_seed
    genres = genres_of(manifest)
    rows = {
        role: training_rows(data.index, folds, job.fold, role)
        for role in training_roles(folds, job.fold)
    }
    x, y = data.x, data.labels
    estimator = spec.build(seed, **arch)
    # a final model's val share exists for early stopping, which scikit-learn models
    # do not do: they fit on every usable track
    fit_roles = ["train", "val"] if job.scheme == FINAL_SCHEME else ["train"]
    fit_rows = np.concatenate([rows[role] for role in fit_roles])
    adjusted = limit_to_data(estimator, n_features=x.shape[1], labels=y[fit_rows])
    for setting, (asked, used) in adjusted.items():
        log.info(
            "%s: %d asked, %d used (%d training examples)", setting, asked, used, len(fit_rows)
        )
    started = time.perf_counter()
    # BLAS threads fighting over shared cores make small fits tens of times slower
    with threadpool_limits(limits=settings.threads):
        estimator.fit(x[fit_rows], y[fit_rows])
    seconds = time.perf_counter() - started
    scores = {}
    for role, r in rows.items():
        probabilities = classical_probabilities(estimator, x[r], genres)
        scores[role] = {
            "segment_accuracy": float((probabilities.argmax(1) == _codes(y[r], genres)).mean()),
            "track_accuracy": track_accuracy(data.index.iloc[r], probabilities, genres),
            "n_tracks": int(data.index["track_id"].iloc[r].nunique()),
        }
    log.info(
        "%s fold %d: %s (%.1f s)",
        job.model,
        job.fold,
        ", ".join(f"{role} {score['track_accuracy']:.3f}" for role, score in scores.items()),
        seconds,
    )
    # track accuracy (the mean of segment probabilities per track, as the test part is
    # scored) is what sweeps select on; segment accuracy is kept beside it
    history = {
        **{
            f"{role}_{level}_accuracy": scores[role][f"{level}_accuracy"]
            if role in scores
            else None
            for role in ("train", "val")
            for level in ("track", "segment")
        },
        "adjusted": {key: {"asked": a, "used": u} for key, (a, u) in adjusted.items()},
    }
    record = run_record(
        job,
        settings,
        features,
        genres=genres,
        n_examples={role: len(r) for role, r in rows.items()},
        reproduces=spec.reproduces,
        columns=data.columns,
        input_shape=data.input_shape,
        device="cpu",
        fit_on=fit_roles,
        adjusted=history["adjusted"],
        precomputed=precomputed,
    )
    SavedClassicalModel.of(
        job.model,
        estimator,
        inputs=settings.inputs,
        columns=data.columns,
        input_shape=data.input_shape,
        genres=genres,
        features=features,
    ).save(job.outputs["model"])
    write_run_files(job, history, record, {"train_seconds": round(seconds, 3)})
    return history


def _codes(labels: np.ndarray, genres: Sequence[str]) -> np.ndarray:
    position = {genre: i for i, genre in enumerate(genres)}
    return np.array([position[label] for label in labels])
