"""Where training runs: CUDA if available, else Apple MPS, else CPU (overridable)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch

from genreflow.errors import ConfigError

DEVICES = ("auto", "cuda", "mps", "cpu")


def select_device(preference: str = "auto") -> torch.device:
    """The device for ``preference``; asking for an absent accelerator is a config error."""
    if preference not in DEVICES:
        raise ConfigError(f"training.device: {preference!r} is not one of {', '.join(DEVICES)}.")
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if preference == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (preference == "cuda" and not cuda) or (preference == "mps" and not mps):
        raise ConfigError(f"training.device: {preference} requested but not available here.")
    return torch.device(preference)


@dataclass(frozen=True)
class Precision:
    """Automatic mixed precision on CUDA (bf16 where supported, else fp16 with loss scaling)."""

    device: torch.device
    dtype: torch.dtype | None

    @classmethod
    def for_device(cls, device: torch.device, enabled: bool = True) -> Precision:
        if device.type != "cuda" or not enabled:
            return cls(device, None)
        return cls(device, torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16)

    def autocast(self):
        if self.dtype is None:
            return nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.dtype)

    def scaler(self) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(self.device.type, enabled=self.dtype == torch.float16)

    def describe(self) -> str:
        return "fp32" if self.dtype is None else f"amp-{str(self.dtype).removeprefix('torch.')}"
