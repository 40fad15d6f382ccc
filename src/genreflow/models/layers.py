"""Small building blocks shared by the model modules (not a model: see ``registry.NOT_MODELS``).

Every block is functional (no in-place operations on its input), so models built from
them run under ``torch.use_deterministic_algorithms(True)`` on CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


def to_image(x: torch.Tensor) -> torch.Tensor:
    """Add a channel axis: (batch, rows, frames) → (batch, 1, rows, frames)."""
    return x.unsqueeze(1)


class ConvBlock2d(nn.Module):
    """Conv2d → optional BatchNorm2d → ReLU → optional MaxPool2d → optional Dropout.

    Parameters
    ----------
    in_channels, out_channels
        Feature maps in and out.
    kernel_size
        ``k`` or ``(k_rows, k_frames)``.
    padding
        ``"same"`` (default: the output keeps the input's rows × frames, odd kernels
        only), ``"valid"`` (no padding) or explicit ``(p_rows, p_frames)``.
    batch_norm
        Insert ``BatchNorm2d`` after the convolution; the convolution then has no bias
        (BatchNorm's shift replaces it).
    pool
        Max-pool window (and stride) ``p`` or ``(p_rows, p_frames)``; ``None`` for none.
        Pooling floors odd sizes (Keras' ``valid`` pooling).
    dropout
        Dropout probability after pooling (``0`` for none).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int] = 3,
        *,
        padding: str | int | Sequence[int] = "same",
        batch_norm: bool = False,
        pool: int | Sequence[int] | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        kernel = _pair(kernel_size)
        if padding == "same":
            if kernel[0] % 2 == 0 or kernel[1] % 2 == 0:
                raise ValueError(f"'same' padding needs odd kernels, got {kernel}")
            pad = (kernel[0] // 2, kernel[1] // 2)
        elif padding == "valid":
            pad = (0, 0)
        else:
            pad = _pair(padding)  # type: ignore[arg-type]
        self.conv = nn.Conv2d(in_channels, out_channels, kernel, padding=pad, bias=not batch_norm)
        self.norm = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(_pair(pool)) if pool is not None else nn.Identity()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, in_channels, rows, frames) → (batch, out_channels, rows', frames')."""
        return self.drop(self.pool(self.act(self.norm(self.conv(x)))))

    def output_size(self, rows: int, frames: int) -> tuple[int, int]:
        """The (rows, frames) this block maps an input of ``rows × frames`` to."""
        conv = self.conv
        rows = rows + 2 * conv.padding[0] - conv.kernel_size[0] + 1
        frames = frames + 2 * conv.padding[1] - conv.kernel_size[1] + 1
        if isinstance(self.pool, nn.MaxPool2d):
            pool_rows, pool_frames = _pair(self.pool.kernel_size)
            rows, frames = rows // pool_rows, frames // pool_frames
        return rows, frames


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau-style) attention pooling over time.

    ``score_t = v · tanh(W h_t + b)``, ``weights = softmax_t(score)``,
    ``pooled = Σ_t weights_t h_t``.

    Parameters
    ----------
    dim
        Features per time step of the input sequence.
    attention_dim
        Width of the hidden scoring layer (``W``); defaults to ``dim``.
    """

    def __init__(self, dim: int, attention_dim: int | None = None) -> None:
        super().__init__()
        attention_dim = attention_dim or dim
        self.proj = nn.Linear(dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1, bias=False)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pool ``h`` (batch, time, dim) into (pooled (batch, dim), weights (batch, time))."""
        scores = self.score(torch.tanh(self.proj(h))).squeeze(-1)
        weights = torch.softmax(scores, dim=1)
        pooled = torch.bmm(weights.unsqueeze(1), h).squeeze(1)
        return pooled, weights
