"""Training data of one fold: consolidated arrays loaded once, normalised, on the device.

No per-sample file reads: each consolidated array is memory-mapped, the fold's rows
are read in one fancy-index, and the result is moved to the device once (when it
fits; otherwise kept in pinned host memory and copied per batch). A fold larger than
``max_bytes`` (:data:`FOLD_MEMORY_BYTES`: a 100,000-track dataset's log-mel arrays are
tens of GB) is not read at all: its rows stay memory-mapped (:class:`MappedRows`) and
each batch reads its own rows, so a job's memory does not grow with the dataset.
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
# a fold whose examples take more than this is read batch by batch from the arrays
FOLD_MEMORY_BYTES = 2 * 2**30
STATS_CHUNK_ROWS = 4096  # examples read at once when fitting statistics on mapped rows


class MappedRows:
    """Some rows of a memory-mapped array, read when indexed: ``x[positions]`` is a tensor.

    Stands in for a fold's tensor of one input where holding it would not fit: the
    training loop's batches, the evaluation's and the statistics read only their rows
    (in file order, so the page cache reads ahead).
    """

    def __init__(self, array: np.ndarray, rows: np.ndarray) -> None:
        self.array, self.rows = array, np.asarray(rows)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self.rows), *self.array.shape[1:])

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, positions) -> torch.Tensor:
        if isinstance(positions, slice):
            chosen = self.rows[positions]
        else:
            chosen = self.rows[np.asarray(positions, dtype=np.int64).reshape(-1)]
        order = np.argsort(chosen, kind="stable")
        block = np.empty((len(chosen), *self.array.shape[1:]), dtype=self.array.dtype)
        block[order] = self.array[chosen[order]]
        return torch.from_numpy(block)

    def chunks(self, size: int = STATS_CHUNK_ROWS):
        """Consecutive blocks of the rows, as tensors."""
        for start in range(0, len(self.rows), size):
            yield self[slice(start, start + size)]


@dataclass
class Split:
    """The examples of one role: one tensor per model input, labels and the index rows."""

    inputs: list[torch.Tensor | MappedRows]
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
    def fit(cls, kind: str, inputs: Sequence[torch.Tensor | MappedRows]) -> Normalizer:
        stats = []
        for x in inputs:
            if kind == "standardize":
                mean, std = _row_stats(x)
                stats.append((mean.float(), std.clamp_min(1e-6).float()))
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


def _row_stats(x: torch.Tensor | MappedRows) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and (unbiased) standard deviation of each feature row over examples and
    frames, in float64: ``(rows, 1)`` each. Mapped rows are summed a chunk at a time."""
    if isinstance(x, torch.Tensor):
        return x.double().mean(dim=(0, 2), keepdim=True)[0], x.double().std(
            dim=(0, 2), keepdim=True
        )[0]
    total = torch.zeros(x.shape[1], 1, dtype=torch.float64)
    squares = torch.zeros_like(total)
    count = 0
    for chunk in x.chunks():
        chunk = chunk.double()
        total += chunk.sum(dim=(0, 2)).unsqueeze(1)
        squares += (chunk * chunk).sum(dim=(0, 2)).unsqueeze(1)
        count += chunk.shape[0] * chunk.shape[2]
    mean = total / count
    variance = (squares - count * mean * mean) / max(count - 1, 1)
    return mean, variance.clamp_min(0).sqrt()


def load_fold(
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    fold: int,
    genres: Sequence[str],
    device: torch.device,
    roles: Sequence[str] = ROLES,
    *,
    max_bytes: int | None = None,
) -> dict[str, Split]:
    """Read the examples of each of ``roles`` of ``fold`` from the consolidated arrays.

    ``arrays``/``indexes`` are the ``.npy`` arrays and ``.index.csv`` tables of the
    model's inputs, which must describe the same examples in the same order. When the
    roles' examples take more than ``max_bytes`` (default :data:`FOLD_MEMORY_BYTES`)
    they stay memory-mapped (:class:`MappedRows`) and are read batch by batch.
    """
    if max_bytes is None:
        max_bytes = FOLD_MEMORY_BYTES
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
    chosen = {role: training_rows(index, folds, fold, role) for role in roles}
    for role, rows in chosen.items():
        if len(rows) == 0:
            raise DataError(f"fold {fold} has no {role} examples in {indexes[0]}.")
    example_bytes = sum(m.nbytes // max(len(m), 1) for m in memmaps)
    mapped = sum(len(rows) for rows in chosen.values()) * example_bytes > max_bytes
    on_device = not mapped and (device.type == "cpu" or _fits(device, total_bytes))
    splits = {}
    for role, rows in chosen.items():
        labels = torch.tensor([label_of[g] for g in index["genre"].iloc[rows]], dtype=torch.long)
        if mapped:
            inputs = [MappedRows(m, rows) for m in memmaps]
            splits[role] = Split(inputs, labels, index.iloc[rows])
            continue
        inputs = [torch.from_numpy(np.ascontiguousarray(m[rows])) for m in memmaps]
        if on_device:
            inputs = [x.to(device) for x in inputs]
        elif device.type == "cuda":
            inputs = [x.pin_memory() for x in inputs]
        splits[role] = Split(inputs, labels.to(device) if on_device else labels, index.iloc[rows])
    log.info(
        "fold %d: %s examples (%s), data %s",
        fold,
        "/".join(str(len(splits[r])) for r in roles),
        "/".join(roles),
        f"read batch by batch from the memory-mapped arrays (larger than {max_bytes / 2**30:g} GiB)"
        if mapped
        else "on the device"
        if on_device
        else "in pinned host memory",
    )
    return splits


def _fits(device: torch.device, n_bytes: int) -> bool:
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return n_bytes < 0.5 * free
