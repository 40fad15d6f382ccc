"""Optimisers and learning-rate schedules named in :class:`TrainParams`."""

from __future__ import annotations

import math

import torch

from genreflow.training.params import TrainParams


def make_optimizer(model: torch.nn.Module, params: TrainParams) -> torch.optim.Optimizer:
    weights = model.parameters()
    if params.optimizer == "adam":
        return torch.optim.Adam(weights, lr=params.lr, weight_decay=params.weight_decay)
    if params.optimizer == "adamw":
        return torch.optim.AdamW(weights, lr=params.lr, weight_decay=params.weight_decay)
    if params.optimizer == "rmsprop":
        return torch.optim.RMSprop(weights, lr=params.lr, weight_decay=params.weight_decay)
    return torch.optim.SGD(
        weights, lr=params.lr, momentum=params.momentum, weight_decay=params.weight_decay
    )


def make_scheduler(optimizer: torch.optim.Optimizer, params: TrainParams, epochs: int):
    """A scheduler stepped once per epoch (``plateau`` with the monitored metric)."""
    if params.scheduler == "plateau":
        mode = "min" if params.monitor == "val_loss" else "max"
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode=mode, factor=params.plateau_factor, patience=params.plateau_patience
        )
    if params.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs))
    if params.scheduler == "warmup_cosine":
        warmup = min(params.warmup_epochs, max(0, epochs - 1))

        def factor(epoch: int) -> float:
            if epoch < warmup:
                return (epoch + 1) / (warmup + 1)
            progress = (epoch - warmup) / max(1, epochs - warmup)
            return 0.5 * (1 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    if params.scheduler == "step":
        return torch.optim.lr_scheduler.StepLR(
            optimizer, step_size=params.step_size, gamma=params.step_gamma
        )
    return None


def step_scheduler(scheduler, metric: float) -> None:
    if scheduler is None:
        return
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        scheduler.step(metric)
    else:
        scheduler.step()
