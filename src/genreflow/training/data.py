"""Training data of one fold: consolidated arrays loaded once, normalised, on the device.

No per-sample file reads: each consolidated array is memory-mapped, the fold's rows
are read in one fancy-index, and the result is moved to the device once (when it
fits; otherwise kept in pinned host memory and copied per batch).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from genreflow.errors import DataError
from genreflow.folds import training_rows

log = logging.getLogger(__name__)

ROLES = ("train", "val", "test")


@dataclass
class Split:
    """The examples of one role: one tensor per model input, labels and the index rows."""

    inputs: list[torch.Tensor]
    labels: torch.Tensor
    index: pd.DataFrame  # track_id, source_track_id, segment, ... of each example

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, positions: torch.Tensor, device: torch.device) -> tuple[list, torch.Tensor]:
        inputs = [x[positions].to(device, non_blocking=True) for x in self.inputs]
        return inputs, self.labels[positions].to(device, non_blocking=True)


@dataclass
class Normalizer:
    """Per-row statistics from the training examples, applied on the device.

    ``standardize``: (x − mean) / std per feature row; ``minmax``: each example mapped
    to [0, 1] by its own range (report 003's segment normalisation); ``none``.
    """

    kind: str
    stats: list[tuple[torch.Tensor, torch.Tensor]]

    @classmethod
    def fit(cls, kind: str, inputs: Sequence[torch.Tensor]) -> Normalizer:
        stats = []
        for x in inputs:
            if kind == "standardize":
                mean = x.double().mean(dim=(0, 2), keepdim=True)[0]
                std = x.double().std(dim=(0, 2), keepdim=True)[0].clamp_min(1e-6)
                stats.append((mean.float(), std.float()))
            else:
                stats.append((torch.zeros(1), torch.ones(1)))
        return cls(kind, stats)

    def __call__(self, inputs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        out = []
        for x, (mean, std) in zip(inputs, self.stats):
            if self.kind == "standardize":
                x = (x - mean.to(x.device)) / std.to(x.device)
            elif self.kind == "minmax":
                low = x.amin(dim=(1, 2), keepdim=True)
                high = x.amax(dim=(1, 2), keepdim=True)
                x = (x - low) / (high - low).clamp_min(1e-6)
            out.append(x)
        return out

    def state(self) -> dict:
        return {"kind": self.kind, "stats": [(m.cpu(), s.cpu()) for m, s in self.stats]}

    @classmethod
    def from_state(cls, state: dict) -> Normalizer:
        return cls(state["kind"], list(state["stats"]))


def load_fold(
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    fold: int,
    genres: Sequence[str],
    device: torch.device,
    roles: Sequence[str] = ROLES,
) -> dict[str, Split]:
    """Read the examples of each of ``roles`` of ``fold`` from the consolidated arrays.

    ``arrays``/``indexes`` are the ``.npy`` arrays and ``.index.csv`` tables of the
    model's inputs, which must describe the same examples in the same order.
    """
    tables = [
        pd.read_csv(path, dtype={"track_id": str, "source_track_id": str}) for path in indexes
    ]
    for path, table in zip(indexes[1:], tables[1:]):
        same = table[["track_id", "segment"]].equals(tables[0][["track_id", "segment"]])
        if not same:
            raise DataError(
                f"{path} and {indexes[0]} list different examples: a multi-input model needs "
                "its inputs consolidated with the same segmentation."
            )
    index = tables[0]
    label_of = {genre: i for i, genre in enumerate(genres)}
    unknown = sorted(set(index["genre"]) - set(label_of))
    if unknown:
        raise DataError(f"{indexes[0]}: genres {', '.join(unknown)} are not in the manifest.")
    memmaps = [np.load(path, mmap_mode="r") for path in arrays]
    total_bytes = sum(m.nbytes for m in memmaps)
    on_device = device.type == "cpu" or _fits(device, total_bytes)
    splits = {}
    for role in roles:
        rows = training_rows(index, folds, fold, role)
        if len(rows) == 0:
            raise DataError(f"fold {fold} has no {role} examples in {indexes[0]}.")
        inputs = [torch.from_numpy(np.ascontiguousarray(m[rows])) for m in memmaps]
        if on_device:
            inputs = [x.to(device) for x in inputs]
        elif device.type == "cuda":
            inputs = [x.pin_memory() for x in inputs]
        labels = torch.tensor([label_of[g] for g in index["genre"].iloc[rows]], dtype=torch.long)
        splits[role] = Split(inputs, labels.to(device) if on_device else labels, index.iloc[rows])
    log.info(
        "fold %d: %s examples (%s), data %s",
        fold,
        "/".join(str(len(splits[r])) for r in roles),
        "/".join(roles),
        "on the device" if on_device else "in pinned host memory",
    )
    return splits


def _fits(device: torch.device, n_bytes: int) -> bool:
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes < 0.5 * free
