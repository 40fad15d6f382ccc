"""One training job: a registered model on one fold of one scheme."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from genreflow.atomic import atomic_path, write_json
from genreflow.environment import node_facts
from genreflow.evaluation.metrics import segment_table, track_table
from genreflow.folds import training_rows
from genreflow.models import get_model
from genreflow.models.classical import classical_probabilities, limit_to_data
from genreflow.schemes import FINAL_SCHEME
from genreflow.training.artifacts import (
    input_embeddings,
    input_sample_rates,
    package_versions,
    torch_record,
)
from genreflow.training.classical_data import ClassicalData
from genreflow.training.data import ROLES, Normalizer, load_fold
from genreflow.training.device import Precision, select_device
from genreflow.training.loop import evaluate, fit
from genreflow.training.params import TrainParams, fingerprint

log = logging.getLogger(__name__)

CHECKPOINT_NAME = ".checkpoint.pt"


@dataclass(frozen=True)
class Job:
    """Identifies a training job and the files it writes.

    ``outputs`` maps ``model`` (``model.pt`` or ``model.joblib``), ``history`` and
    ``config`` to the paths the rule declares; an interrupted torch job keeps its
    progress in :attr:`checkpoint`, beside the model.
    """

    dataset: str
    scheme: str
    model: str
    fold: int
    outputs: Mapping[str, str]

    @classmethod
    def from_rule(cls, wildcards: Mapping[str, str], outputs: Mapping[str, str]) -> Job:
        """The job of a training rule: its wildcards and its named outputs."""
        return cls(
            dataset=wildcards["dataset"],
            # a final model's rule has neither: it is the one fold of the "final" split
            scheme=wildcards.get("scheme", FINAL_SCHEME),
            model=wildcards["model"],
            fold=int(wildcards.get("fold", 0)),
            outputs=dict(outputs),
        )

    @property
    def checkpoint(self) -> Path:
        return Path(self.outputs["model"]).with_name(CHECKPOINT_NAME)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def genres_of(manifest: pd.DataFrame) -> list[str]:
    """The class labels: the manifest's genres, sorted (output unit i is genres[i])."""
    return sorted(manifest.loc[manifest["status"] != "quarantined", "genre"].unique())


def fold_roles(folds: pd.DataFrame, fold: int) -> tuple[str, ...]:
    """The roles ``fold`` has, in train/val/test order: a final model's split has no test."""
    present = set(folds.loc[folds["fold"] == fold, "role"])
    return tuple(role for role in ROLES if role in present)


def track_accuracy(index: pd.DataFrame, probabilities: np.ndarray, genres: Sequence[str]) -> float:
    """Accuracy after averaging each track's segment probabilities."""
    tracks = track_table(segment_table(index, probabilities, genres), genres)
    return float((tracks["genre"] == tracks["predicted"]).mean())


def train_torch(
    job: Job,
    *,
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
    inputs: Sequence[str],
    arch_overrides: Mapping[str, Any],
    train_overrides: Mapping[str, Any],
    training: Mapping[str, Any],
    feature_settings: Mapping[str, Any],
    roles: Sequence[str] | None = None,
) -> dict:
    """Train a torch model on one fold and write ``model.pt``, ``history.json``, ``config.json``.

    ``roles`` limits the parts loaded (a sweep point: train and val, so its test part
    is never scored); by default every part the fold has.

    The outputs appear only when training has finished (each written atomically);
    until then the job's progress lives in a checkpoint beside them, from which a
    re-run resumes.
    """
    spec = get_model(job.model)
    key = f"models.{job.model}"
    params = TrainParams.resolve(spec.train, train_overrides, key=f"{key}.train")
    arch = {**spec.arch, **arch_overrides}
    epochs = params.epochs
    if training.get("max_epochs") and "epochs" not in train_overrides:
        # the cap applies to the reports' defaults; an epochs set in the config is honoured
        epochs = min(epochs, int(training["max_epochs"]))
    seed = int(training["seed"]) + 1000 * job.fold
    device = select_device(training["device"])
    precision = Precision.for_device(device, bool(training.get("amp", True)))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(seed)

    genres = genres_of(manifest)
    roles = tuple(roles) if roles else fold_roles(folds, job.fold)
    splits = load_fold(arrays, indexes, folds, job.fold, genres, device, roles)
    input_shapes = [tuple(x.shape[1:]) for x in splits["train"].inputs]
    model = spec.build(len(genres), input_shapes, **arch)
    n_parameters = sum(p.numel() for p in model.parameters())
    normalizer = Normalizer.fit(params.normalize, splits["train"].inputs)
    resolved = {
        "dataset": job.dataset,
        "scheme": job.scheme,
        "model": job.model,
        "fold": job.fold,
        "inputs": list(inputs),
        "input_shapes": [list(s) for s in input_shapes],
        "genres": genres,
        "arch": arch,
        "train": params.as_dict(),
        "epochs": epochs,
        "seed": seed,
        "device": str(device),
        "precision": precision.describe(),
        "n_parameters": n_parameters,
        "n_examples": {role: len(split) for role, split in splits.items()},
        "reproduces": spec.reproduces,
        "features": dict(feature_settings),
        "sample_rates": input_sample_rates(feature_settings, inputs),
        "embeddings": input_embeddings(feature_settings, inputs),
    }
    log.info(
        "%s fold %d on %s (%s): %d parameters, %d epochs max",
        job.model,
        job.fold,
        device,
        precision.describe(),
        n_parameters,
        epochs,
    )
    checkpoint = job.checkpoint
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    result = fit(
        model,
        splits,
        normalizer,
        params,
        epochs=epochs,
        n_classes=len(genres),
        precision=precision,
        seed=seed,
        checkpoint=checkpoint,
        fingerprint=fingerprint(resolved),
    )
    test = None
    if "test" in splits:
        test_loss, test_accuracy, probabilities = evaluate(
            model, splits["test"], normalizer, precision
        )
        test = {
            "loss": test_loss,
            "segment_accuracy": test_accuracy,
            "track_accuracy": track_accuracy(splits["test"].index, probabilities.numpy(), genres),
            "n_tracks": int(splits["test"].index["track_id"].nunique()),
        }
        log.info(
            "test: segment accuracy %.3f, track accuracy %.3f (%d tracks)",
            test["segment_accuracy"],
            test["track_accuracy"],
            test["n_tracks"],
        )
    history = {
        "epochs": result.history,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "resumed_from_epoch": result.resumed_from,
        "train_seconds": round(result.seconds, 3),
        "n_parameters": n_parameters,
        "test": test,
    }
    with atomic_path(job.outputs["model"]) as tmp:
        torch.save(
            torch_record(
                job.model,
                model,
                arch=arch,
                inputs=inputs,
                input_shapes=input_shapes,
                genres=genres,
                normalizer=normalizer,
                features=feature_settings,
                train=params.as_dict(),
            ),
            tmp,
        )
    write_json(history, job.outputs["history"])
    write_json(
        {**resolved, "versions": package_versions(), "node": node_facts()},
        job.outputs["config"],
    )
    checkpoint.unlink(missing_ok=True)
    return history


def train_classical(
    job: Job,
    *,
    data: ClassicalData,
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
    inputs: Sequence[str],
    arch_overrides: Mapping[str, Any],
    training: Mapping[str, Any],
    feature_settings: Mapping[str, Any],
) -> dict:
    """Fit a scikit-learn pipeline on one fold's training examples of ``data``.

    ``model.joblib`` holds the estimator, its inputs (columns or array shape) and genres,
    and the feature settings, so the model can classify new audio on its own. Settings
    the fold's training examples cannot support (PCA components beyond their rank,
    calibration folds beyond the rarest genre's count) are lowered to what they allow,
    and each change recorded (``history.json``: ``adjusted``).
    """
    spec = get_model(job.model)
    arch = {**spec.arch, **arch_overrides}
    seed = int(training["seed"]) + 1000 * job.fold
    genres = genres_of(manifest)
    rows = {
        role: training_rows(data.index, folds, job.fold, role)
        for role in fold_roles(folds, job.fold)
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
    with threadpool_limits(limits=int(training.get("threads", 1))):
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
    history = {
        "train_accuracy": scores["train"]["track_accuracy"],
        "val_accuracy": scores["val"]["track_accuracy"] if "val" in scores else None,
        "train_seconds": round(seconds, 3),
        "adjusted": {key: {"asked": a, "used": u} for key, (a, u) in adjusted.items()},
        "test": scores.get("test"),
    }
    resolved = {
        "dataset": job.dataset,
        "scheme": job.scheme,
        "model": job.model,
        "fold": job.fold,
        "inputs": list(inputs),
        "columns": data.columns,
        "input_shape": data.input_shape,
        "genres": genres,
        "arch": arch,
        "seed": seed,
        "device": "cpu",
        "n_examples": {role: len(r) for role, r in rows.items()},
        "fit_on": fit_roles,
        "adjusted": history["adjusted"],
        "reproduces": spec.reproduces,
        "features": dict(feature_settings),
        "sample_rates": input_sample_rates(feature_settings, inputs),
        "embeddings": input_embeddings(feature_settings, inputs),
    }
    Path(job.outputs["model"]).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(job.outputs["model"]) as tmp:
        joblib.dump(
            {
                "model": job.model,
                "estimator": estimator,
                "inputs": list(inputs),
                "columns": data.columns,
                "input_shape": data.input_shape,
                "genres": genres,
                "features": dict(feature_settings),
                "sample_rates": resolved["sample_rates"],
            },
            tmp,
        )
    write_json(history, job.outputs["history"])
    write_json(
        {**resolved, "versions": package_versions(), "node": node_facts()},
        job.outputs["config"],
    )
    return history


def _codes(labels: np.ndarray, genres: Sequence[str]) -> np.ndarray:
    position = {genre: i for i, genre in enumerate(genres)}
    return np.array([position[label] for label in labels])
