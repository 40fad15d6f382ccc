"""One torch training job: a registered model on one fold of one scheme."""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import replace
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
    precomputed: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict:
    """Train a torch model on one fold and write ``model.pt``, ``history.json``, ``config.json``.

    ``settings`` are the plan's, every default and cap applied (``train.epochs`` is the
    most epochs it runs); ``features`` the plan's features block, saved with the model;
    ``precomputed`` the import records of its precomputed inputs (provenance). Only the
    fold's train and val parts are loaded: the test part is scored by evaluation, from
    the saved model.

    With ``train.lr_grid`` the model is trained once per learning rate of the grid, each
    from the same initialisation and data order (the job's seed), and the run whose best
    epoch scores best on the val part (by ``train.monitor``; a tie goes to the lower
    validation loss, then to the earlier rate of the grid) is the model saved: the
    final model at the selected rate. ``history.json`` holds the selected run's epochs
    and every rate's best score (``lr_search``).

    The outputs appear only when training has finished (each written atomically);
    until then the job's progress lives in a checkpoint beside them (one per rate of a
    grid), from which a re-run resumes.
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
        precomputed=precomputed,
    )
    log.info(
        "%s fold %d on %s (%s): %d parameters, %d epochs max%s",
        job.model,
        job.fold,
        device,
        precision.describe(),
        n_parameters,
        params.epochs,
        f", learning rates {', '.join(f'{lr:g}' for lr in params.lr_grid)}"
        if params.lr_grid
        else "",
    )
    job.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if params.lr_grid is None:
        runs = [(params, job.checkpoint, fingerprint(resolved))]
    else:
        runs = [
            (
                replace(params, lr=float(lr), lr_grid=None),
                job.checkpoint.with_name(f"{job.checkpoint.stem}.lr{k}.pt"),
                fingerprint({**resolved, "lr_searched": float(lr)}),
            )
            for k, lr in enumerate(params.lr_grid)
        ]
    selected, search, seconds = None, [], 0.0
    for k, (run_params, checkpoint, run_fingerprint) in enumerate(runs):
        if k:  # every rate from the same initialisation and data order
            seed_everything(seed)
            model = spec.build(len(genres), input_shapes, **arch)
        result = fit(
            model,
            splits,
            normalizer,
            run_params,
            epochs=run_params.epochs,
            n_classes=len(genres),
            precision=precision,
            seed=seed,
            checkpoint=checkpoint,
            fingerprint=run_fingerprint,
        )
        seconds += result.seconds
        best = next(e for e in result.history if e["epoch"] == result.best_epoch)
        search.append(
            {
                "lr": run_params.lr,
                "best_epoch": result.best_epoch,
                "epochs_run": len(result.history),
                **{name: best[name] for name in ("val_loss", "val_accuracy", "val_track_accuracy")},
            }
        )
        if selected is None or _better(best, selected[2], params.monitor):
            # the next rate builds a new network: this one's weights stay as they are
            selected = (run_params, result, best, model.state_dict())
    run_params, result, _, state = selected
    model.load_state_dict(state)
    history = {
        "epochs": result.history,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "n_parameters": n_parameters,
    }
    if params.lr_grid is not None:
        history["lr_search"] = search
        history["selected_lr"] = run_params.lr
        log.info(
            "learning rate %g selected (%s %s)",
            run_params.lr,
            params.monitor,
            ", ".join(f"{r['lr']:g}: {r[params.monitor]:.4f}" for r in search),
        )
        resolved = {**resolved, "selected_lr": run_params.lr}
    timing = {
        "train_seconds": round(seconds, 3),
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
        # the rate the saved model was trained at (the selected one of a grid)
        train={**params.as_dict(), "lr": run_params.lr},
    ).save(job.outputs["model"])
    write_run_files(job, history, resolved, timing)
    for _, checkpoint, _ in runs:
        checkpoint.unlink(missing_ok=True)
    return history


def _better(entry: Mapping[str, float], than: Mapping[str, float], monitor: str) -> bool:
    """Whether a run's best epoch ``entry`` beats ``than`` on ``monitor`` (higher
    accuracy or lower loss), a tie going to the lower validation loss."""
    sign = 1.0 if monitor == "val_loss" else -1.0
    ours, theirs = sign * entry[monitor], sign * than[monitor]
    if ours != theirs:
        return ours < theirs
    return entry["val_loss"] < than["val_loss"]
