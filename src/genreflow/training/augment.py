"""On-device training augmentation of normalised feature batches (batch, rows, frames)."""

from __future__ import annotations

import torch
import torchaudio

from genreflow.training.params import AugmentParams


class BatchAugmenter:
    """Applies :class:`AugmentParams` to a training batch, on whatever device it is on.

    Random crops (short-chunk training) pick one offset per batch so every input of a
    multi-input model is cut at the same frames. Mixup returns the mixed targets.
    """

    def __init__(self, params: AugmentParams):
        self.params = params
        masks = []
        for _ in range(params.time_masks):
            masks.append(torchaudio.transforms.TimeMasking(params.time_mask_param, iid_masks=True))
        for _ in range(params.freq_masks):
            masks.append(
                torchaudio.transforms.FrequencyMasking(params.freq_mask_param, iid_masks=True)
            )
        self.masks = [m for m in masks if (getattr(m, "mask_param", 1) or 0) > 0]

    def crop(self, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
        frames = self.params.random_crop_frames
        if not frames or inputs[0].shape[-1] <= frames:
            return inputs
        start = int(torch.randint(0, inputs[0].shape[-1] - frames + 1, ()))
        return [x[..., start : start + frames] for x in inputs]

    def __call__(
        self, inputs: list[torch.Tensor], labels: torch.Tensor, n_classes: int
    ) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Augmented inputs and (soft, for mixup) targets as class probabilities."""
        p = self.params
        inputs = self.crop(inputs)
        out = []
        for x in inputs:
            if p.time_shift > 0:
                limit = max(1, int(p.time_shift * x.shape[-1]))
                shift = int(torch.randint(-limit, limit + 1, ()))
                x = torch.roll(x, shifts=shift, dims=-1)
            if self.masks:
                x = x.unsqueeze(1)  # (batch, channel, rows, frames) for iid masks
                for mask in self.masks:
                    x = mask(x)
                x = x.squeeze(1)
            if p.noise_std > 0:
                x = x + p.noise_std * torch.randn_like(x)
            out.append(x)
        targets = torch.nn.functional.one_hot(labels, n_classes).float()
        if p.mixup_alpha > 0 and len(labels) > 1:
            lam = float(torch.distributions.Beta(p.mixup_alpha, p.mixup_alpha).sample())
            perm = torch.randperm(len(labels), device=labels.device)
            out = [lam * x + (1 - lam) * x[perm] for x in out]
            targets = lam * targets + (1 - lam) * targets[perm]
        return out, targets
