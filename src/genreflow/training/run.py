"""One torch training job: a registered model on one fold of one scheme."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from genreflow.models import get_model
from genreflow.saved import SavedTorchModel
from genreflow.training.data import Normalizer, load_fold
from genreflow.training.device import Precision, select_device
from genreflow.training.job import Job, genres_of, run_record, training_roles, write_run_files
from genreflow.training.loop import fit
from genreflow.training.params import fingerprint
from genreflow.training.settings import RunSettings

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def train_torch(
    job: Job,
    *,
    settings: RunSettings,
    features: Mapping[str, Any],
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
) -> dict:
    """Train a torch model on one fold and write ``model.pt``, ``history.json``, ``config.json``.

    ``settings`` are the plan's, every default and cap applied (``train.epochs`` is the
    most epochs it runs); ``features`` the plan's features block, saved with the model.
    Only the fold's train and val parts are loaded: the test part is scored by
    evaluation, from the saved model.

    The outputs appear only when training has finished (each written atomically);
    until then the job's progress lives in a checkpoint beside them, from which a
    re-run resumes.
    """
    spec = get_model(job.model)
    params, arch = settings.train, dict(settings.arch)
    seed = job.random_seed
    device = select_device(settings.device)
    precision = Precision.for_device(device, settings.amp)
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
    resolved = run_record(
        job,
        settings,
        features,
        genres=genres,
        n_examples={role: len(split) for role, split in splits.items()},
        reproduces=spec.reproduces,
        input_shapes=[list(s) for s in input_shapes],
        device=str(device),
        precision=precision.describe(),
        n_parameters=n_parameters,
    )
    log.info(
        "%s fold %d on %s (%s): %d parameters, %d epochs max",
        job.model,
        job.fold,
        device,
        precision.describe(),
        n_parameters,
        params.epochs,
    )
    checkpoint = job.checkpoint
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    result = fit(
        model,
        splits,
        normalizer,
        params,
        epochs=params.epochs,
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
        "n_parameters": n_parameters,
    }
    timing = {
        "train_seconds": round(result.seconds, 3),
        "epoch_seconds": result.epoch_seconds,
        "resumed_from_epoch": result.resumed_from,
    }
    SavedTorchModel.of(
        job.model,
        model,
        arch=arch,
        inputs=settings.inputs,
        input_shapes=input_shapes,
        genres=genres,
        normalizer=normalizer.state(),
        features=features,
        train=params.as_dict(),
    ).save(job.outputs["model"])
    write_run_files(job, history, resolved, timing)
    checkpoint.unlink(missing_ok=True)
    return history
