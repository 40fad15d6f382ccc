"""Explanation figures: an input spectrogram beside its Grad-CAM and IG overlays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genreflow.explain.attributions import Explanation
from genreflow.figures import plt, save_figure, themed


@dataclass
class ExplainedExample:
    """One explained example and what to call it in the figure."""

    title: str
    image: np.ndarray  # rows × frames of the first input, as the model saw it (normalised)
    explanation: Explanation
    seconds: float  # time spanned by the frames
    cam_layer: str | None = None  # qualified name of the Grad-CAM layer in the model


@themed
def plot_explanations(
    examples: Sequence[ExplainedExample], input_name: str, title: str, dest: str | Path
) -> None:
    """One row per example: the input, Grad-CAM over it, Integrated Gradients over it.

    Grad-CAM is drawn as a heat overlay (0 to its maximum); IG as signed attribution on
    a diverging scale symmetric about 0 (red: evidence for the genre, blue: against).
    """
    if not examples:
        raise ValueError("no examples to plot")
    figure, axes = plt.subplots(len(examples), 3, figsize=(13, 2.9 * len(examples)), squeeze=False)
    for row, example in zip(axes, examples):
        extent = (0.0, example.seconds, 0, example.image.shape[0])
        common = {"origin": "lower", "aspect": "auto", "extent": extent}
        row[0].imshow(example.image, cmap="magma", **common)
        row[0].set_title(f"{example.title}\n{input_name} (normalised)", fontsize=9)
        for ax in row[1:]:
            ax.imshow(example.image, cmap="gray", **common)
        cam = example.explanation.grad_cam
        if cam is None:
            row[1].set_title("Grad-CAM: the model has no convolution on this input", fontsize=9)
        else:
            shown = row[1].imshow(cam, cmap="jet", alpha=0.5, vmin=0, **common)
            figure.colorbar(shown, ax=row[1], fraction=0.04, pad=0.02)
            layer = f": {example.cam_layer}" if example.cam_layer else ""
            row[1].set_title(f"Grad-CAM (last convolution{layer})", fontsize=9)
        ig = example.explanation.integrated_gradients[0]
        limit = float(np.abs(ig).max()) or 1.0
        shown = row[2].imshow(ig, cmap="RdBu_r", alpha=0.75, vmin=-limit, vmax=limit, **common)
        figure.colorbar(shown, ax=row[2], fraction=0.04, pad=0.02)
        explanation = example.explanation
        row[2].set_title(
            f"Integrated Gradients (Δlogit {explanation.logit - explanation.baseline_logit:.2f}, "
            f"error {explanation.delta:+.2g})",
            fontsize=9,
        )
        for ax in row:
            ax.set_xlabel("time (s)")
            ax.grid(False)
        row[0].set_ylabel("mel band" if input_name.startswith("logmel") else "feature row")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    save_figure(figure, dest)
