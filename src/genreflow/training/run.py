"""One torch training job: a registered model on one fold of one scheme."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from genreflow.atomic import atomic_path, write_json
from genreflow.environment import node_facts
from genreflow.models import get_model
from genreflow.training.artifacts import (
    input_embeddings,
    input_sample_rates,
    package_versions,
    torch_record,
)
from genreflow.training.data import Normalizer, load_fold
from genreflow.training.device import Precision, select_device
from genreflow.training.job import Job, genres_of, training_roles
from genreflow.training.loop import fit
from genreflow.training.params import TrainParams, fingerprint

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


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
) -> dict:
    """Train a torch model on one fold and write ``model.pt``, ``history.json``, ``config.json``.

    Only the fold's train and val parts are loaded: the test part is scored by
    evaluation, from the saved model.

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
    seed = job.random_seed
    device = select_device(training["device"])
    precision = Precision.for_device(device, bool(training.get("amp", True)))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    else:
        torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(seed)

    genres = genres_of(manifest)
    roles = training_roles(folds, job.fold)
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
        "repeat": job.seed,  # the run's one of training.repeats
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
    history = {
        "epochs": result.history,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "resumed_from_epoch": result.resumed_from,
        "train_seconds": round(result.seconds, 3),
        "n_parameters": n_parameters,
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
