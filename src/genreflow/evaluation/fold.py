"""Everything one run's evaluation (a model, seed and fold) leaves on disk."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.atomic import write_csv, write_json
from genreflow.evaluation.metrics import fold_metrics
from genreflow.evaluation.plots import plot_confusion, plot_learning_curves
from genreflow.predictions import track_table


def write_fold_evaluation(
    segments: pd.DataFrame,
    genres: Sequence[str],
    *,
    identity: Mapping[str, object],
    outputs: Mapping[str, str | Path],
    history: Mapping | None = None,
) -> dict:
    """Write predictions, metrics and figures of one fold model's test part.

    ``identity`` (dataset, scheme, model, seed, fold) heads ``metrics.json``; ``outputs``
    names the files: ``predictions`` (segments), ``tracks``, ``metrics``, ``confusion``
    and, for models trained by epochs (``history`` given), ``learning_curves``.
    """
    identity = {**identity, "seed": int(identity["seed"]), "fold": int(identity["fold"])}
    tracks = track_table(segments, genres)
    metrics = {**identity, **fold_metrics(segments, tracks, genres)}
    title = (
        f"{identity['model']} · {identity['scheme']} fold {identity['fold']}, "
        f"seed {identity['seed']}"
    )
    write_csv(segments, outputs["predictions"])
    write_csv(tracks, outputs["tracks"])
    write_json(metrics, outputs["metrics"])
    plot_confusion(np.asarray(metrics["confusion"]), genres, title, outputs["confusion"])
    if history is not None and "learning_curves" in outputs:
        plot_learning_curves(history, title, outputs["learning_curves"])
    return metrics
