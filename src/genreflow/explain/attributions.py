"""Grad-CAM and Integrated Gradients attributions of a torch model's prediction (Captum).

Both explain the *logit* of a target genre for one example (a window of a song):

- Grad-CAM (Selvaraju et al. 2017), :class:`captum.attr.LayerGradCam`: the last
  convolutional layer's feature maps weighted by the spatial mean of the logit's
  gradient with respect to them, summed over channels, ReLU'd, then interpolated to the
  first input's (rows × frames) grid.
- Integrated Gradients (Sundararajan et al. 2017), :class:`captum.attr.IntegratedGradients`:
  the gradient averaged along the straight path from a baseline to the input, times
  (input − baseline), for every input. The baseline is zero in the normalised input
  space: the training set's mean (``standardize``) or an all-minimum example. By
  completeness the attributions sum to logit(input) − logit(baseline); the
  convergence delta returned is the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam
from torch import nn

COMPLETENESS_TOLERANCE = 0.01  # of |logit(x) − logit(baseline)|
ABSOLUTE_TOLERANCE = 1e-4
MAX_STEPS = 1024  # the most integration steps tried unless the caller caps them lower


@dataclass
class Explanation:
    """Attributions of one example's target logit (arrays on the CPU)."""

    target: int
    grad_cam: np.ndarray | None  # rows × frames of the first input, ≥ 0; None: no conv layer
    integrated_gradients: list[np.ndarray]  # one rows × frames array per input
    logit: float
    baseline_logit: float
    delta: float  # sum of IG attributions − (logit − baseline_logit)
    steps: int  # integration steps used
    converged: bool  # |delta| within the completeness tolerance


def last_conv_layer(model: nn.Module, inputs: Sequence[torch.Tensor]) -> nn.Conv2d | None:
    """The last ``Conv2d`` to run in a forward pass whose output depends on the first input.

    Found by running the model twice, the second time with the first input changed, and
    keeping the convolutions whose outputs moved: in a multi-input model (one tower per
    input) Grad-CAM is then taken from the tower that sees the displayed input. None
    when no convolution sees it (e.g. a purely recurrent model).
    """
    convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convolutions:
        return None
    outputs: list[list[tuple[nn.Module, torch.Tensor]]] = [[], []]
    run = 0

    def record(module: nn.Module, _args, output: torch.Tensor) -> None:
        outputs[run].append((module, output.detach().clone()))

    handles = [m.register_forward_hook(record) for m in convolutions]
    try:
        with torch.no_grad():
            model(*inputs)
            run = 1
            changed = [inputs[0] + torch.randn_like(inputs[0]), *inputs[1:]]
            model(*changed)
    finally:
        for handle in handles:
            handle.remove()
    moved = [
        module
        for (module, before), (_, after) in zip(*outputs)
        if not torch.allclose(before, after)
    ]
    return moved[-1] if moved else None


def explain(
    model: nn.Module,
    inputs: Sequence[torch.Tensor],
    target: int,
    *,
    steps: int = 64,
    max_steps: int = MAX_STEPS,
    layer: nn.Module | None = None,
) -> Explanation:
    """Grad-CAM and Integrated Gradients of logit ``target`` for one example.

    Parameters
    ----------
    model
        In eval mode, taking ``*inputs`` of shape (1, rows, frames) each, normalised.
    inputs
        One example: a batch of one per model input.
    target
        The output unit (genre index) to explain.
    steps, max_steps
        Integration steps (Gauss–Legendre) of Integrated Gradients: ``steps`` first,
        doubled while the completeness error exceeds 1% of the explained logit change
        (plus 1e-4), up to ``max_steps``.
    layer
        The Grad-CAM layer; by default :func:`last_conv_layer`.
    """
    model.eval()
    inputs = tuple(x.detach().float() for x in inputs)
    baselines = tuple(torch.zeros_like(x) for x in inputs)
    with torch.no_grad():
        logit = float(model(*inputs)[0, target])
        baseline_logit = float(model(*baselines)[0, target])
    integrated_gradients = IntegratedGradients(model)
    while True:
        attributions, delta = integrated_gradients.attribute(
            inputs,
            baselines=baselines,
            target=target,
            n_steps=steps,
            internal_batch_size=min(steps, 16),
            return_convergence_delta=True,
        )
        allowed = COMPLETENESS_TOLERANCE * abs(logit - baseline_logit) + ABSOLUTE_TOLERANCE
        converged = abs(float(delta[0])) <= allowed
        if converged or steps >= max_steps:
            break
        steps *= 2  # a sharper path integral needs a finer quadrature
    layer = layer if layer is not None else last_conv_layer(model, inputs)
    cam = None
    if layer is not None:
        maps = LayerGradCam(model, layer).attribute(inputs, target=target, relu_attributions=True)
        cam = LayerAttribution.interpolate(maps, tuple(inputs[0].shape[-2:]), "bilinear")
        cam = cam[0, 0].detach().cpu().numpy()
    return Explanation(
        target=target,
        grad_cam=cam,
        integrated_gradients=[a[0].detach().cpu().numpy() for a in attributions],
        logit=logit,
        baseline_logit=baseline_logit,
        delta=float(delta[0]),
        steps=steps,
        converged=converged,
    )
