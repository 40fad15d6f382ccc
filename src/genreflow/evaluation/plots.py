"""Figures of the evaluation stage (seaborn/matplotlib, written atomically as PNG)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import seaborn as sns

from genreflow.figures import plt, save_figure, themed


def row_shares(counts: np.ndarray) -> np.ndarray:
    """Each row of a confusion matrix divided by its total (rows without tracks stay 0)."""
    counts = np.asarray(counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)


def draw_confusion(
    ax: plt.Axes,
    counts: np.ndarray,
    genres: Sequence[str],
    *,
    annotate_share: bool = True,
) -> None:
    """A confusion heatmap on ``ax``: colour is the row share, cells show count (and share)."""
    counts = np.asarray(counts, dtype=int)
    shares = row_shares(counts)
    if annotate_share:
        labels = np.array(
            [[f"{c}\n{s:.0%}" if c else "" for c, s in zip(r, sr)] for r, sr in zip(counts, shares)]
        )
    else:
        labels = np.array([[str(c) if c else "" for c in row] for row in counts])
    sns.heatmap(
        shares,
        ax=ax,
        annot=labels,
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        cbar=False,
        square=True,
        linewidths=0.5,
        linecolor="white",
        xticklabels=genres,
        yticklabels=genres,
        annot_kws={"fontsize": 7 if annotate_share else 6},
    )
    ax.set_xlabel("predicted genre")
    ax.set_ylabel("true genre")
    ax.tick_params(axis="x", rotation=45)
    ax.tick_params(axis="y", rotation=0)


@themed
def plot_confusion(counts: np.ndarray, genres: Sequence[str], title: str, dest: str | Path) -> None:
    """One confusion matrix: counts and row-normalised share per cell."""
    figure, ax = plt.subplots(figsize=(7.5, 6.5))
    draw_confusion(ax, counts, genres)
    accuracy = np.trace(counts) / max(1, np.sum(counts))
    ax.set_title(f"{title}\ntrack accuracy {accuracy:.1%} ({int(np.sum(counts))} tracks)")
    save_figure(figure, dest)


@themed
def plot_learning_curves(history: Mapping, title: str, dest: str | Path) -> None:
    """Train/validation loss and accuracy per epoch (segment accuracy, and validation
    track accuracy where the history has it), the restored best epoch marked."""
    epochs = pd.DataFrame(history["epochs"])
    figure, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    has_tracks = "val_track_accuracy" in epochs
    for ax, metric, label in (
        (loss_ax, "loss", "cross-entropy"),
        (acc_ax, "accuracy", "accuracy"),
    ):
        val_label = "validation (segments)" if metric == "accuracy" and has_tracks else "validation"
        ax.plot(epochs["epoch"], epochs[f"train_{metric}"], marker="o", label="train")
        ax.plot(epochs["epoch"], epochs[f"val_{metric}"], marker="o", label=val_label)
        ax.axvline(history["best_epoch"], color="0.3", linestyle="--", linewidth=1)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
    if has_tracks:
        acc_ax.plot(
            epochs["epoch"],
            epochs["val_track_accuracy"],
            marker="s",
            linestyle="--",
            label="validation (tracks)",
        )
    acc_ax.legend(loc="upper left", fontsize=8)  # the best epoch's note sits below its point
    acc_ax.set_ylim(0, 1)
    best = epochs.loc[epochs["epoch"] == history["best_epoch"]]
    if len(best):
        shown = "val_track_accuracy" if has_tracks else "val_accuracy"
        acc_ax.annotate(
            f"best epoch {history['best_epoch']}\nval {best[shown].iloc[0]:.1%}"
            + (" (tracks)" if has_tracks else ""),
            xy=(history["best_epoch"], best[shown].iloc[0]),
            xytext=(8, -30),
            textcoords="offset points",
            fontsize=9,
        )
    loss_ax.legend(loc="upper right")
    figure.suptitle(title)
    save_figure(figure, dest)


@themed
def plot_accuracy(summary: pd.DataFrame, chance: float, title: str, dest: str | Path) -> None:
    """Track accuracy per model: mean ± std across folds, 95% bootstrap interval, and the
    report's published figure (measured on its own split and data) where there is one."""
    order = summary.sort_values("track_accuracy_mean")
    y = np.arange(len(order))
    figure, ax = plt.subplots(figsize=(9, 0.45 * len(order) + 1.6))
    ax.barh(y, order["track_accuracy_mean"], color=sns.color_palette()[0], alpha=0.8)
    ax.errorbar(
        order["track_accuracy_mean"],
        y,
        xerr=order["track_accuracy_std"].fillna(0),
        fmt="none",
        ecolor="black",
        capsize=3,
        label="mean ± std across folds",
    )
    ax.hlines(
        y,
        order["track_accuracy_ci_low"],
        order["track_accuracy_ci_high"],
        color="0.55",
        linewidth=5,
        alpha=0.5,
        label="95% bootstrap interval (test tracks)",
    )
    published = order["published_accuracy"].notna()
    ax.scatter(
        order.loc[published, "published_accuracy"],
        y[published.to_numpy()],
        marker="D",
        color=sns.color_palette()[3],
        zorder=3,
        label="published by the report (its own split)",
    )
    ax.axvline(chance, color="0.4", linestyle=":", label=f"chance ({chance:.0%})")
    ax.set_yticks(y, order["model"])
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("track accuracy")
    ax.set_title(title)
    # below the axes: inside, it hid the bottom rows' published markers
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=8, frameon=False)
    save_figure(figure, dest)


@themed
def plot_run_accuracy(
    runs: pd.DataFrame, order: Sequence[str], chance: float, title: str, dest: str | Path
) -> None:
    """Track accuracy of every run (``model``, ``fold``, ``track_accuracy``): a box per
    model over its runs, each run a dot coloured by fold (models in ``order``, top down)."""
    runs = runs.assign(fold=runs["fold"].map(lambda f: f"fold {f}"))
    figure, ax = plt.subplots(figsize=(9, 0.45 * len(order) + 1.8))
    with warnings.catch_warnings():
        # seaborn 0.13 passes matplotlib's deprecated ``vert`` (removed in matplotlib
        # 3.13, which the lock does not reach): harmless noise in every report's log
        warnings.simplefilter("ignore", matplotlib.MatplotlibDeprecationWarning)
        sns.boxplot(
            data=runs,
            x="track_accuracy",
            y="model",
            order=list(order),
            ax=ax,
            color="0.92",
            showfliers=False,
            width=0.6,
        )
    sns.stripplot(
        data=runs,
        x="track_accuracy",
        y="model",
        order=list(order),
        hue="fold",
        ax=ax,
        size=5,
        jitter=0.15,
        alpha=0.85,
    )
    ax.axvline(chance, color="0.4", linestyle=":", label=f"chance ({chance:.0%})")
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("test track accuracy of one run (one seed on one fold)")
    ax.set_ylabel("")
    ax.set_title(title)
    # beside the axes: below, it met the axis label at some heights
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    save_figure(figure, dest)


@themed
def plot_f1_heatmap(f1: pd.DataFrame, title: str, dest: str | Path) -> None:
    """Per-genre F1 (models × genres), mean over runs."""
    figure, ax = plt.subplots(figsize=(0.75 * f1.shape[1] + 3, 0.42 * f1.shape[0] + 1.8))
    sns.heatmap(
        f1,
        ax=ax,
        annot=True,
        fmt=".2f",
        cmap="viridis",
        vmin=0,
        vmax=1,
        annot_kws={"size": 8},
    )
    ax.set_xlabel("genre")
    ax.set_ylabel("model")
    ax.tick_params(axis="x", rotation=45)
    ax.set_title(title)
    save_figure(figure, dest)


@themed
def plot_confusion_grid(
    confusions: Mapping[str, np.ndarray],
    genres: Sequence[str],
    title: str,
    dest: str | Path,
) -> None:
    """One confusion matrix per model (summed over its runs), in a grid."""
    n = len(confusions)
    columns = min(4, n)
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 4.4 * rows), squeeze=False)
    # sns.heatmap draws the whole figure to check its tick labels: with only the axes
    # being drawn visible, n heatmaps cost n draws of one axes, not n draws of up to n
    for ax in axes.flat:
        ax.set_visible(False)
    for ax, (model, counts) in zip(axes.flat, confusions.items()):
        ax.set_visible(True)
        draw_confusion(ax, counts, genres, annotate_share=False)
        accuracy = np.trace(counts) / max(1, np.sum(counts))
        ax.set_title(f"{model} ({accuracy:.0%})", fontsize=10)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("predicted", fontsize=8)
        ax.set_ylabel("true", fontsize=8)
        ax.set_visible(False)
    for ax in list(axes.flat)[:n]:
        ax.set_visible(True)
    figure.suptitle(title, fontsize=13)
    figure.tight_layout()
    save_figure(figure, dest)


@themed
def plot_confusion_pairs(pairs: pd.DataFrame, title: str, dest: str | Path) -> None:
    """The genre pairs that account for most errors, over every model and fold."""
    figure, ax = plt.subplots(figsize=(8, 0.4 * max(len(pairs), 1) + 1.5))
    if len(pairs):
        sns.barplot(
            data=pairs,
            x="share_of_errors",
            y="pair",
            ax=ax,
            color=sns.color_palette()[1],
            errorbar=None,  # one value per pair
        )
        for y, (share, count) in enumerate(zip(pairs["share_of_errors"], pairs["errors"])):
            ax.text(share, y, f"  {count}", va="center", fontsize=8)
    else:
        ax.text(0.5, 0.5, "no errors", ha="center", va="center", transform=ax.transAxes)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("share of all misclassified test tracks (both directions)")
    ax.set_ylabel("")
    ax.set_title(title)
    save_figure(figure, dest)
