"""The training loop: epochs, early stopping, best-epoch restore, checkpoints and resume."""

from __future__ import annotations

import copy
import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F

from genreflow.atomic import atomic_path
from genreflow.training.augment import BatchAugmenter
from genreflow.training.data import Normalizer, Split
from genreflow.training.device import Precision
from genreflow.training.optim import make_optimizer, make_scheduler, step_scheduler
from genreflow.training.params import TrainParams

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    """What :func:`fit` returns: the history and the restored best epoch; apart from it,
    the wall-clock seconds of each epoch and of this call (they differ between runs)."""

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    resumed_from: int | None = None
    epoch_seconds: list[float] = field(default_factory=list)
    seconds: float = 0.0


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch


def _order(n: int, labels: torch.Tensor, balanced: bool, seed: int) -> torch.Tensor:
    """Example order of one epoch: a permutation, or class-balanced draws with replacement."""
    generator = torch.Generator().manual_seed(seed)
    if not balanced:
        return torch.randperm(n, generator=generator)
    counts = torch.bincount(labels.cpu())
    weights = (1.0 / counts.clamp_min(1).double())[labels.cpu()]
    return torch.multinomial(weights, n, replacement=True, generator=generator)


def evaluate(
    model: torch.nn.Module,
    split: Split,
    normalizer: Normalizer,
    precision: Precision,
    batch_size: int = 256,
) -> tuple[float, float, torch.Tensor]:
    """Mean cross-entropy, accuracy and class probabilities over ``split`` (no augmentation)."""
    model.eval()
    probabilities, losses = [], []
    with torch.no_grad():
        for start in range(0, len(split), batch_size):
            positions = torch.arange(start, min(start + batch_size, len(split)))
            inputs, labels = split.batch(positions, precision.device)
            with precision.autocast():
                logits = model(*normalizer(inputs)).float()
            losses.append(F.cross_entropy(logits, labels, reduction="sum"))
            probabilities.append(logits.softmax(dim=1))
    probs = torch.cat(probabilities)
    labels = split.labels.to(probs.device)
    loss = float(torch.stack(losses).sum()) / len(split)
    return loss, float((probs.argmax(1) == labels).float().mean()), probs.cpu()


def track_accuracy(split: Split, probabilities: torch.Tensor) -> float:
    """Accuracy of the mean segment probabilities per track (how test parts are scored)."""
    codes, _ = pd.factorize(split.index["track_id"])
    codes = torch.as_tensor(codes, dtype=torch.long)
    n_tracks = int(codes.max()) + 1
    sums = torch.zeros(n_tracks, probabilities.shape[1], dtype=torch.float64)
    sums.index_add_(0, codes, probabilities.double().cpu())
    labels = torch.zeros(n_tracks, dtype=torch.long)
    labels[codes] = split.labels.cpu()
    return float((sums.argmax(1) == labels).double().mean())


def fit(
    model: torch.nn.Module,
    splits: dict[str, Split],
    normalizer: Normalizer,
    params: TrainParams,
    *,
    epochs: int,
    n_classes: int,
    precision: Precision,
    seed: int,
    checkpoint: Path,
    fingerprint: str,
) -> FitResult:
    """Train ``model`` on ``splits["train"]`` with early stopping on ``splits["val"]``.

    Every epoch ends with a checkpoint (model, optimiser, scheduler, history, best
    state) written atomically to ``checkpoint``; a run that finds a checkpoint with the
    same ``fingerprint`` (the resolved configuration) resumes after its last epoch.
    Randomness (order, augmentation, dropout) is seeded per epoch from ``seed``, so a
    resumed run continues exactly as an uninterrupted one would. The best epoch's
    weights (by ``params.monitor``) are restored at the end.
    """
    device = precision.device
    model.to(device)
    optimizer = make_optimizer(model, params)
    scheduler = make_scheduler(optimizer, params, epochs)
    scaler = precision.scaler()
    augmenter = BatchAugmenter(params.augment)
    result = FitResult()
    better = (lambda a, b: a < b) if params.monitor == "val_loss" else (lambda a, b: a > b)
    best_metric, best_state, bad_epochs, start_epoch = None, None, 0, 0

    if checkpoint.exists():
        state = torch.load(checkpoint, map_location=device, weights_only=False)
        if state.get("fingerprint") == fingerprint:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            if scheduler is not None and state["scheduler"] is not None:
                scheduler.load_state_dict(state["scheduler"])
            scaler.load_state_dict(state["scaler"])
            result.history = state["history"]
            result.epoch_seconds = state.get("epoch_seconds", [])
            best_metric, best_state = state["best_metric"], state["best_state"]
            bad_epochs, result.best_epoch = state["bad_epochs"], state["best_epoch"]
            start_epoch = result.resumed_from = state["epoch"] + 1
            log.info("resuming after epoch %d from %s", state["epoch"] + 1, checkpoint)
        else:
            log.info("ignoring %s: it was written for another configuration", checkpoint)

    train = splits["train"]
    progress = _progress(epochs, start_epoch)
    started = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        if params.patience is not None and bad_epochs >= params.patience:
            result.stopped_early = True
            break
        epoch_started = time.perf_counter()
        torch.manual_seed(_epoch_seed(seed, epoch))
        model.train()
        order = _order(len(train), train.labels, params.class_balanced, _epoch_seed(seed, epoch))
        total_loss, correct, seen = 0.0, 0, 0
        for start in range(0, len(order), params.batch_size):
            positions = order[start : start + params.batch_size]
            if len(positions) < 2 and len(order) > 1:
                continue  # a single example breaks batch norm
            inputs, labels = train.batch(positions, device)
            inputs, targets = augmenter(normalizer(inputs), labels, n_classes)
            with precision.autocast():
                logits = model(*inputs).float()
            loss = F.cross_entropy(logits, targets, label_smoothing=params.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if params.grad_clip:
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(model.parameters(), params.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach()) * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
        val_loss, val_accuracy, val_probabilities = evaluate(
            model, splits["val"], normalizer, precision
        )
        val_track_accuracy = track_accuracy(splits["val"], val_probabilities)
        metric = {
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "val_track_accuracy": val_track_accuracy,
        }[params.monitor]
        lr = optimizer.param_groups[0]["lr"]
        step_scheduler(scheduler, metric)
        entry = {
            "epoch": epoch + 1,
            "train_loss": total_loss / max(1, seen),
            "train_accuracy": correct / max(1, seen),
            "val_loss": val_loss,
            "val_accuracy": val_accuracy,
            "val_track_accuracy": val_track_accuracy,
            "lr": lr,
        }
        result.history.append(entry)
        result.epoch_seconds.append(round(time.perf_counter() - epoch_started, 3))
        if best_metric is None or better(metric, best_metric):
            best_metric, bad_epochs, result.best_epoch = metric, 0, epoch + 1
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad_epochs += 1
        log.info(
            "epoch %3d/%d  train loss %.4f acc %.3f  val loss %.4f acc %.3f (tracks %.3f)  "
            "lr %.2e  %.1f s%s",
            epoch + 1,
            epochs,
            entry["train_loss"],
            entry["train_accuracy"],
            val_loss,
            val_accuracy,
            val_track_accuracy,
            lr,
            result.epoch_seconds[-1],
            "  *" if result.best_epoch == epoch + 1 else "",
        )
        progress.update(1)
        _save_checkpoint(
            checkpoint,
            fingerprint=fingerprint,
            epoch=epoch,
            model=model.state_dict(),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict() if scheduler is not None else None,
            scaler=scaler.state_dict(),
            history=result.history,
            epoch_seconds=result.epoch_seconds,
            best_metric=best_metric,
            best_state=best_state,
            best_epoch=result.best_epoch,
            bad_epochs=bad_epochs,
        )
    else:
        result.stopped_early = params.patience is not None and bad_epochs >= params.patience
    progress.close()
    result.seconds = time.perf_counter() - started
    if best_state is not None:
        model.load_state_dict(best_state)
    log.info(
        "best epoch %d (%s); %s",
        result.best_epoch,
        params.monitor,
        "stopped early" if result.stopped_early else "ran every epoch",
    )
    return result


def _save_checkpoint(path: Path, **state) -> None:
    # through a file object, as SavedTorchModel.save: no temporary name inside the zip
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(state, fh)


def _progress(total: int, done: int):
    """A tqdm bar when attached to a terminal; a no-op otherwise (the log has the lines)."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    if tqdm is None or not sys.stderr.isatty():

        class _Silent:
            def update(self, n: int) -> None: ...

            def close(self) -> None: ...

        return _Silent()
    return tqdm(total=total, initial=done, unit="epoch", leave=False)
