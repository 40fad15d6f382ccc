"""Reference model: the short-chunk ResNet of Won et al. (2020), trained from scratch.

Reference reproduced
    Minz Won, Andres Ferraro, Dmitry Bogdanov and Xavier Serra, "Evaluation of CNN-based
    automatic music tagging models", SMC 2020 (code: ``minzwon/sota-music-tagging-models``,
    ``ShortChunkCNN_Res``). Their best simple model is a VGG-ish 2-D CNN with residual
    connections trained on short chunks (3.69 s) and evaluated on whole tracks. It is a
    tagging model (MagnaTagATune, MTG-Jamendo); it has no published GTZAN figure of its
    own and stands here as the modern from-scratch reference, trained with SpecAugment
    and mixup.

Architecture as described (and as in their code)
    Input: 128-band log-mel chunks (159 frames at 22050 Hz, hop 512 ≈ 3.69 s), through a
    ``BatchNorm2d(1)``. Seven ``Res_2d`` layers, each conv3×3(stride 2)–BN–ReLU–
    conv3×3–BN plus a shortcut, then ReLU; every layer has stride 2, so its shortcut
    is a strided 3×3 conv + BN (their ``conv_3``/``bn_3``, not a 1×1 projection), and
    the 128 mel bands shrink to 1 after seven layers. Channels 128, 128, 256, 256, 256,
    256, 512 (``n_channels=128``). Global max-pooling over time, dense 512, BN, ReLU,
    dropout 0.5, dense output.

Choices made where the description is vague
    * Channels exactly as their code (``n_channels=128``): 128, 128, 256, 256, 256, 256,
      512; convolutions keep their biases as in their code. 12,083,724 parameters for
      10 classes.
    * Global pooling takes the maximum over frequency *and* time, which equals their
      max over time whenever the frequency axis has shrunk to 1 (128 input rows), and
      still works for other row counts. Being global, it accepts any frame count ≥ 1:
      trained on random 159-frame crops, evaluated on whole clips (1293 frames → 11
      positions after the seven strides).
    * The output is logits (their tagging head ends in a sigmoid; cross-entropy here).
    * Inputs arrive normalised per row (``standardize``, the training default); the
      input BatchNorm is kept as in their code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.registry import ModelSpec, register

__all__ = ["SPEC", "Res2d", "ShortChunkResNet", "build"]


class Res2d(nn.Module):
    """Won et al.'s ``Res_2d``: conv–BN–ReLU–conv–BN plus a (strided) shortcut, ReLU.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    stride : int
        Stride of the first conv; where it is not 1 or the widths differ, the shortcut
        is a conv of the same kernel and stride followed by BN (as in their code).
    kernel_size : int
        Kernel size of all convolutions (3).
    """

    def __init__(
        self, in_channels: int, out_channels: int, stride: int = 2, kernel_size: int = 3
    ) -> None:
        super().__init__()
        padding = kernel_size // 2
        self.conv_1 = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)
        self.bn_1 = nn.BatchNorm2d(out_channels)
        self.conv_2 = nn.Conv2d(out_channels, out_channels, kernel_size, padding=padding)
        self.bn_2 = nn.BatchNorm2d(out_channels)
        self.shortcut: nn.Module
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
                nn.BatchNorm2d(out_channels),
            )
        else:
            self.shortcut = nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn_2(self.conv_2(self.relu(self.bn_1(self.conv_1(x)))))
        return self.relu(out + self.shortcut(x))


class ShortChunkResNet(nn.Module):
    """Input BN, seven stride-2 ``Res2d`` layers, global max-pool, dense head.

    Parameters
    ----------
    n_classes : int
        Number of output logits.
    n_channels : int
        Base width; the layers have ``n_channels`` × (1, 1, 2, 2, 2, 2, 4) channels.
    dropout : float
        Dropout probability in the dense head.
    """

    #: Width multiplier of each of the seven residual layers (Won et al.'s code).
    WIDTHS = (1, 1, 2, 2, 2, 2, 4)

    def __init__(self, n_classes: int, n_channels: int = 128, dropout: float = 0.5) -> None:
        super().__init__()
        self.spec_bn = nn.BatchNorm2d(1)
        layers = []
        in_channels = 1
        for multiplier in self.WIDTHS:
            layers.append(Res2d(in_channels, n_channels * multiplier, stride=2))
            in_channels = n_channels * multiplier
        self.layers = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(in_channels, in_channels),
            nn.BatchNorm1d(in_channels),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(in_channels, n_classes),
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Globally max-pooled features (batch, channels) of ``x`` (batch, rows, frames)."""
        x = self.layers(self.spec_bn(x.unsqueeze(1)))
        return x.amax(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, n_classes) of spectrograms ``x`` (batch, rows, frames)."""
        return self.head(self.embed(x))


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> ShortChunkResNet:
    """The short-chunk ResNet for one spectrogram input (any number of frames).

    Parameters
    ----------
    n_classes : int
        Number of genres.
    input_shapes : sequence of (rows, frames)
        Exactly one shape; 128 rows reduce the frequency axis to 1 as in the reference.
    **arch
        Keywords of :class:`ShortChunkResNet` (its signature holds the defaults).

    Returns
    -------
    ShortChunkResNet
    """
    if len(input_shapes) != 1:
        raise ValueError(f"shortchunk_resnet takes one input, got {len(input_shapes)}")
    return ShortChunkResNet(n_classes, **arch)


SPEC = register(
    ModelSpec(
        name="shortchunk_resnet",
        family="torch",
        inputs=("logmel@clip",),
        build=build,
        hyperparameters=ShortChunkResNet,
        train={
            "optimizer": "adamw",
            "lr": 1e-3,
            "weight_decay": 1e-4,
            "scheduler": "cosine",
            "epochs": 60,
            "patience": 12,
            "batch_size": 16,
            "augment": {
                "random_crop_frames": 159,
                "time_masks": 2,
                "time_mask_param": 24,
                "freq_masks": 2,
                "freq_mask_param": 16,
                "mixup_alpha": 0.2,
            },
        },
        reproduces="reference: short-chunk ResNet (Won et al. 2020), SpecAugment + mixup",
    )
)
