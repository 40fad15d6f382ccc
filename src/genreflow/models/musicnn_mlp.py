"""Probe: a one-hidden-layer MLP on musicnn patch embeddings (MARBLE-style).

Published: 73.5% test accuracy on GTZAN's fault-filtered split for musicnn in MARBLE
v1 (Yuan et al., 2023), whose probes are small MLPs on frozen embeddings.

Model as described
------------------
Input ``musicnn@s3``: MSD_musicnn's ``max_pool`` (753 values) of one 3 s patch per
example, standardised per dimension with the training patches' statistics. Dense 512,
ReLU, dropout, dense output over the genres. A track is scored by the mean of its
patches' probabilities, as every segment model in genreflow is; early stopping and the
restored epoch follow the validation **track** accuracy.

Choices where the description is vague
--------------------------------------
* Dropout 0.2, Adam at 1e-3, batches of 64 patches, up to 50 epochs with patience 10:
  MARBLE's probe settings are per task and not all published; these are its usual
  values.
* The input is flattened, so any ``FEATURE@SEGMENTATION`` of an embedding set works
  (e.g. ``musicnn@s6``: two patches side by side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.registry import ModelSpec, Published, register


class EmbeddingMLP(nn.Module):
    """Flatten, dense ``hidden`` (ReLU, dropout), dense output.

    Parameters
    ----------
    n_classes
        Output units.
    input_shape
        (rows, frames) of one example, e.g. (753, 1) for one musicnn patch.
    hidden
        Units of the hidden layer.
    dropout
        Dropout after the hidden layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int],
        hidden: int = 512,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        rows, frames = input_shape
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(rows * frames, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, rows, frames) → logits (batch, n_classes)."""
        return self.classifier(x)


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> EmbeddingMLP:
    """The probe for one input of shape ``input_shapes[0]``."""
    (shape,) = input_shapes
    return EmbeddingMLP(n_classes, (int(shape[0]), int(shape[1])), **arch)


SPEC = register(
    ModelSpec(
        name="musicnn_mlp",
        family="torch",
        inputs=("musicnn@s3",),
        build=build,
        hyperparameters=EmbeddingMLP,
        train={
            "epochs": 50,
            "patience": 10,
            "monitor": "val_track_accuracy",
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 64,
            "normalize": "standardize",
        },
        reproduces="probe: MLP (512) on musicnn (MSD) 3 s patches",
        published=Published(0.735, "test (fault-filtered split)", "GTZAN", "MARBLE v1"),
    )
)
