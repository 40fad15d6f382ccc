"""Genre probability over time: one curve per genre across a song's sliding windows."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import seaborn as sns

from genreflow.figures import plt, save_figure, themed
from genreflow.inference.classifier import SongPrediction


@themed
def plot_timeline(predictions: Sequence[SongPrediction], dest: str | Path) -> None:
    """One panel per song: each genre's probability at each window's centre.

    The decided genre (highest mean probability) is drawn thick and named in the
    panel's title, with its mean as a dashed line; the others are thin.
    """
    if not predictions:
        raise ValueError("no predictions to plot")
    genres = predictions[0].genres
    palette = dict(
        zip(genres, sns.color_palette("tab10" if len(genres) <= 10 else "husl", len(genres)))
    )
    figure, axes = plt.subplots(
        len(predictions), 1, figsize=(9, 3.2 * len(predictions)), squeeze=False
    )
    for ax, prediction in zip(axes[:, 0], predictions):
        centres = prediction.starts_s + prediction.window_s / 2
        decided = prediction.genre
        for column, genre in enumerate(genres):
            chosen = genre == decided
            ax.plot(
                centres,
                prediction.probabilities[:, column],
                marker="o" if len(centres) < 30 else None,
                markersize=4,
                linewidth=3 if chosen else 1,
                alpha=1.0 if chosen else 0.7,
                color=palette[genre],
                label=genre,
                zorder=3 if chosen else 2,
            )
        mean = float(prediction.song_probabilities[genres.index(decided)])
        ax.axhline(mean, color=palette[decided], linestyle="--", linewidth=1)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(0, max(prediction.duration_s, prediction.window_s))
        ax.set_xlabel("time (s), window centres")
        ax.set_ylabel("probability")
        ax.set_title(
            f"{Path(prediction.path).name} → {decided} (mean {mean:.0%} over "
            f"{len(centres)} × {prediction.window_s:.1f} s windows)",
            fontsize=10,
        )
    axes[0, 0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    figure.tight_layout()
    save_figure(figure, dest)
