"""Report 004: a small residual CNN on 3-second log-mel segments.

Report reproduced
    Report 004 trains a convolutional network with residual connections on log-mel
    spectrograms of short GTZAN segments and reports **62.5 % accuracy** on GTZAN.

Architecture as described
    A Conv2D stem, residual blocks (conv–BN–ReLU–conv–BN added to an identity shortcut,
    or a 1×1 projection where the shape changes), dropout, global average pooling and a
    dense output layer; AdamW at 1e-3 with weight decay 1e-4, a 10-epoch linear warm-up
    followed by cosine annealing.

Choices made where the description is vague
    * Stem: one 3×3 conv (32 channels, no bias) + BN + ReLU at full resolution, then a
      2×2 max-pool.
    * Residual stages: one basic block per stage, widths 32, 64, 128, 256, the first
      at stride 1 (identity shortcut) and the others at stride 2 in their first conv
      with a strided 1×1 conv + BN projection shortcut (ResNet "option B"); ReLU after
      the addition, as in He et al. 2016. Convolutions followed by BN carry no bias.
      This gives 1,228,394 parameters for 10 classes.
    * Dropout: p = 0.3 on the last feature maps, in the order the report lists it
      (dropout, then global average pooling, then dense).
    * Global average pooling is adaptive, so any number of frames (≥ 1) is accepted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.registry import ModelSpec, Published, register

__all__ = ["SPEC", "ResNetCNN", "ResidualBlock", "build"]


class ResidualBlock(nn.Module):
    """Basic residual block: conv–BN–ReLU–conv–BN plus shortcut, then ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts; the shortcut is the identity when they match and ``stride`` is
        1, else a strided 1×1 conv + BN projection.
    stride : int
        Stride of the first conv (and of the projection).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class ResNetCNN(nn.Module):
    """Conv stem, residual stages, dropout, global average pooling, dense.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    stem_channels : int
        Width of the stem conv.
    widths : sequence of int
        Width of each residual block; the first keeps the stem's resolution, each
        later one halves it (stride 2).
    dropout : float
        Dropout probability on the last feature maps.
    """

    def __init__(
        self,
        n_classes: int,
        stem_channels: int = 32,
        widths: Sequence[int] = (32, 64, 128, 256),
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        blocks = []
        in_channels = stem_channels
        for index, width in enumerate(widths):
            blocks.append(ResidualBlock(in_channels, width, stride=1 if index == 0 else 2))
            in_channels = width
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(dropout)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of spectrograms ``x`` (batch, rows, frames)."""
        x = self.blocks(self.stem(x.unsqueeze(1)))
        x = self.pool(self.dropout(x)).flatten(1)
        return self.fc(x)


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> ResNetCNN:
    """The report-004 residual CNN for one spectrogram input.

    Parameters
    ----------
    n_classes : int
        Number of genres.
    input_shapes : sequence of (rows, frames)
        Exactly one shape (any size; the network pools globally).
    **arch
        Keywords of :class:`ResNetCNN` (its signature holds the defaults).

    Returns
    -------
    ResNetCNN
    """
    if len(input_shapes) != 1:
        raise ValueError(f"resnet_cnn_seed004 takes one input, got {len(input_shapes)}")
    return ResNetCNN(n_classes, **arch)


SPEC = register(
    ModelSpec(
        name="resnet_cnn_seed004",
        family="torch",
        inputs=("logmel@s3",),
        build=build,
        hyperparameters=ResNetCNN,
        train={
            "optimizer": "adamw",
            "lr": 1e-3,
            "weight_decay": 1e-4,
            "scheduler": "warmup_cosine",
            "warmup_epochs": 10,
            "epochs": 60,
            "patience": 12,
        },
        reproduces="report 004: CNN",
        published=Published(0.625, "split not stated", "GTZAN", "report 004"),
    )
)
