"""Report 001: a small CNN on 3 s log-mel segments (published: 48% test accuracy, GTZAN).

Architecture as described
-------------------------
Input: a 64-band log-mel spectrogram of a 3 s segment (``logmel64@s3``, 64 × 129).
Two convolution blocks — 64 filters 3×3, then 64 filters 3×5 — each followed by ReLU,
2×4 max-pooling and dropout 0.2; flatten; dense 32 (ReLU, dropout 0.2); dense output
over the genres (softmax, here the logits). Adam, learning rate 1e-3, batch size 32, up
to 30 epochs with early stopping on validation loss (patience 5), standardised inputs.

Choices where the description is vague
--------------------------------------
* Padding: ``same`` (the output of each convolution keeps rows × frames); pooling floors
  odd sizes, so the 64 × 129 input becomes 32 × 32 and then 16 × 8 (the flattened
  feature vector is 64 · 16 · 8 = 8192).
* "2×4 pooling" is read as 2 along frequency (rows) and 4 along time (frames): the
  description pools time harder than frequency.
* No batch normalisation (none is described or implied).
* Dropout 0.2 sits after each pooling layer and after the dense-32 layer; nothing
  is applied to the output layer.
* The flatten size is derived from ``input_shapes`` in :func:`build`, so the same model
  builds for any segment length (inputs of other lengths need a rebuild).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.layers import ConvBlock2d, to_image
from genreflow.models.registry import ModelSpec, Published, register


class CNNReport001(nn.Module):
    """Two conv blocks, flatten, dense, output (see the module docstring).

    Parameters
    ----------
    n_classes
        Output logits.
    input_shape
        ``(rows, frames)`` of the single input.
    filters
        Filters per convolution block.
    kernels
        ``(k_rows, k_frames)`` per convolution block.
    pool
        ``(p_rows, p_frames)`` max-pool window after every convolution block.
    dense
        Units of the hidden dense layer.
    dropout
        Dropout after every pooling layer and after the hidden dense layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int],
        filters: Sequence[int] = (64, 64),
        kernels: Sequence[Sequence[int]] = ((3, 3), (3, 5)),
        pool: Sequence[int] = (2, 4),
        dense: int = 32,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        if len(filters) != len(kernels):
            raise ValueError("filters and kernels need one entry per convolution block")
        rows, frames = input_shape
        blocks: list[ConvBlock2d] = []
        channels = 1
        for out_channels, kernel in zip(filters, kernels):
            block = ConvBlock2d(
                channels, out_channels, tuple(kernel), pool=tuple(pool), dropout=dropout
            )
            rows, frames = block.output_size(rows, frames)
            blocks.append(block)
            channels = out_channels
        if rows < 1 or frames < 1:
            raise ValueError(f"input {tuple(input_shape)} is too small for {len(blocks)} poolings")
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(channels * rows * frames, dense),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(dense, n_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, rows, frames) → logits (batch, n_classes)."""
        return self.classifier(self.features(to_image(x)))


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> CNNReport001:
    """The report-001 CNN for one input of shape ``input_shapes[0]``."""
    (shape,) = input_shapes
    return CNNReport001(n_classes, (int(shape[0]), int(shape[1])), **arch)


SPEC = register(
    ModelSpec(
        name="cnn_seed001",
        family="torch",
        inputs=("logmel64@s3",),
        build=build,
        hyperparameters=CNNReport001,
        train={
            "epochs": 30,
            "patience": 5,
            "monitor": "val_loss",
            "optimizer": "adam",
            "lr": 1e-3,
            "batch_size": 32,
            "normalize": "standardize",
        },
        reproduces="report 001: CNN on 3 s log-mel segments",
        published=Published(0.48, "test", "GTZAN", "report 001"),
    )
)
