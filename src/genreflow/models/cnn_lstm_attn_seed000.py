"""Report 000: CNN → LSTM → 4-head self-attention (published: 44.5% validation, GTZAN).

Architecture as described
-------------------------
Input: a 128-band log-mel spectrogram of a 3 s segment (``logmel@s3``, 128 × 129).
Three convolution layers (32, 64, 128 filters, 3×3, batch normalisation, ReLU, 2×2
max-pooling each), which leave about 16 time steps (129 → 64 → 32 → 16 frames); the
frequency axis is collapsed; one LSTM layer (hidden 128) runs over the ~16 steps;
4-head self-attention over the LSTM outputs; mean-pooling over time; a classifier.
Trained with batch size 8 for up to 50 epochs with early stopping (patience 8),
learning-rate reduction on plateau, class-balanced batches and SpecAugment-style
masking (2 time masks up to 16 frames, 2 frequency masks up to 12 bands). The report
also trained on offline time-stretch/pitch-shift/noise copies (``augment.enabled`` in
the workflow's config, not a model setting).

Choices where the description is vague
--------------------------------------
* Convolutions use ``same`` padding and no bias (batch normalisation follows each);
  pooling floors odd sizes, so 128 × 129 becomes 16 × 16 after three blocks.
* The frequency axis is collapsed by its mean (not flatten + linear): it keeps the LSTM
  input at 128 features, works for any number of bands, and adds no parameters.
* The self-attention is plain ``nn.MultiheadAttention`` (query = key = value = LSTM
  outputs, no residual connection or layer norm, none being described); its attention
  dropout is 0.
* "Classifier": dropout 0.3 then one linear layer to the logits (no hidden layer is
  described). The optimiser is not named: the project's default (AdamW, lr 1e-3, no
  weight decay) applies; plateau reduction uses the project's default factor/patience.
* Unidirectional LSTM, as described (one layer, hidden 128).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from genreflow.models.layers import ConvBlock2d, to_image
from genreflow.models.registry import ModelSpec, Published, register


class CNNLSTMAttention(nn.Module):
    """Conv blocks → mean over frequency → LSTM → multi-head self-attention → mean → linear.

    Parameters
    ----------
    n_classes
        Output logits.
    input_shape
        ``(rows, frames)`` of the single input (checked: three 2×2 poolings must fit).
    filters
        Filters per convolution block (3×3, BN, ReLU, 2×2 max-pool each).
    lstm_hidden
        Hidden units of the single LSTM layer.
    heads
        Attention heads (must divide ``lstm_hidden``).
    dropout
        Dropout before the output layer.
    """

    def __init__(
        self,
        n_classes: int,
        input_shape: tuple[int, int],
        filters: Sequence[int] = (32, 64, 128),
        lstm_hidden: int = 128,
        heads: int = 4,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        rows, frames = input_shape
        blocks: list[ConvBlock2d] = []
        channels = 1
        for out_channels in filters:
            block = ConvBlock2d(channels, out_channels, 3, batch_norm=True, pool=2)
            rows, frames = block.output_size(rows, frames)
            blocks.append(block)
            channels = out_channels
        if rows < 1 or frames < 1:
            raise ValueError(f"input {tuple(input_shape)} is too small for {len(blocks)} poolings")
        self.features = nn.Sequential(*blocks)
        self.lstm = nn.LSTM(channels, lstm_hidden, num_layers=1, batch_first=True)
        self.attention = nn.MultiheadAttention(lstm_hidden, heads, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(lstm_hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, rows, frames) → logits (batch, n_classes)."""
        maps = self.features(to_image(x))  # (batch, channels, rows', steps)
        steps = maps.mean(dim=2).transpose(1, 2)  # (batch, steps, channels)
        h, _ = self.lstm(steps)
        attended, _ = self.attention(h, h, h, need_weights=False)
        return self.output(self.dropout(attended.mean(dim=1)))


def build(n_classes: int, input_shapes: Sequence[tuple[int, int]], **arch: Any) -> CNNLSTMAttention:
    """The report-000 CNN-LSTM-attention model for one input of shape ``input_shapes[0]``."""
    (shape,) = input_shapes
    return CNNLSTMAttention(n_classes, (int(shape[0]), int(shape[1])), **arch)


SPEC = register(
    ModelSpec(
        name="cnn_lstm_attn_seed000",
        family="torch",
        inputs=("logmel@s3",),
        build=build,
        hyperparameters=CNNLSTMAttention,
        train={
            "epochs": 50,
            "patience": 8,
            "batch_size": 8,
            "scheduler": "plateau",
            "class_balanced": True,
            "augment": {
                "time_masks": 2,
                "time_mask_param": 16,
                "freq_masks": 2,
                "freq_mask_param": 12,
            },
        },
        reproduces="report 000: CNN-LSTM-attention",
        published=Published(0.445, "validation", "GTZAN", "report 000"),
    )
)
