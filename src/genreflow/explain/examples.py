"""Choosing and explaining examples: test tracks of a fold, or the windows of a song."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genreflow.atomic import write_csv
from genreflow.explain.attributions import (
    COMPLETENESS_TOLERANCE,
    MAX_STEPS,
    explain,
    last_conv_layer,
)
from genreflow.explain.figures import ExplainedExample, plot_explanations
from genreflow.inference.classifier import SongAudio, SongPrediction, TorchClassifier
from genreflow.saved import SavedTorchModel
from genreflow.training.data import Normalizer, load_fold

log = logging.getLogger(__name__)


def choose_tracks(index: pd.DataFrame, genres: Sequence[str], n_tracks: int) -> list[str]:
    """Up to ``n_tracks`` track ids, taking genres in turn (each genre's tracks by id)."""
    by_genre = {
        genre: sorted(index.loc[index["genre"] == genre, "track_id"].unique()) for genre in genres
    }
    chosen: list[str] = []
    for rank in range(max((len(ids) for ids in by_genre.values()), default=0)):
        for genre in genres:
            if len(chosen) < n_tracks and rank < len(by_genre[genre]):
                chosen.append(by_genre[genre][rank])
    return chosen


def explain_window(
    model: torch.nn.Module,
    inputs: Sequence[torch.Tensor],
    *,
    title: str,
    seconds: float,
    steps: int,
    max_steps: int = MAX_STEPS,
    target: int | None = None,
) -> ExplainedExample:
    """Explain one example (a batch of one per input), by default its predicted genre."""
    if target is None:
        with torch.no_grad():
            target = int(model(*inputs).argmax(dim=1)[0])
    layer = last_conv_layer(model, inputs)
    explanation = explain(model, inputs, target, steps=steps, max_steps=max_steps, layer=layer)
    layer_name = next((name for name, module in model.named_modules() if module is layer), None)
    return ExplainedExample(
        title, inputs[0][0].cpu().numpy(), explanation, seconds, cam_layer=layer_name
    )


def explain_fold(
    model_path: str | Path,
    *,
    arrays: Sequence[str],
    indexes: Sequence[str],
    folds: pd.DataFrame,
    fold: int,
    n_tracks: int,
    steps: int,
    max_steps: int = MAX_STEPS,
    figure: str | Path,
    table: str | Path,
) -> pd.DataFrame:
    """Explain the middle segment of a few test tracks of ``fold``; write the figure and table.

    The table has one row per explained segment: the true and predicted genre, the
    explained logit and its baseline, the sum of the IG attributions, the
    completeness error (``delta``), the integration steps used and whether the error
    came within tolerance before ``max_steps`` (``converged``).
    """
    saved = SavedTorchModel.load(model_path)
    model, genres = saved.network(), list(saved.genres)
    split = load_fold(arrays, indexes, folds, fold, genres, torch.device("cpu"), roles=("test",))[
        "test"
    ]
    normalizer = Normalizer.from_state(saved.normalizer)
    index = split.index.reset_index(drop=True)
    features = saved.features
    seconds = split.inputs[0].shape[-1] * features["hop_length"] / features["sample_rate"]
    examples, rows = [], []
    for track_id in choose_tracks(index, genres, n_tracks):
        positions = np.flatnonzero(index["track_id"].to_numpy() == track_id)
        position = int(positions[len(positions) // 2])
        # normalised one example at a time: the test part may be memory-mapped rows
        example_inputs = normalizer([x[position : position + 1] for x in split.inputs])
        with torch.no_grad():
            probabilities = model(*example_inputs).softmax(dim=1)[0]
        predicted = int(probabilities.argmax())
        genre = index.at[position, "genre"]
        example = explain_window(
            model,
            example_inputs,
            title=(
                f"{track_id} (segment {index.at[position, 'segment']}): {genre}, "
                f"predicted {genres[predicted]} {float(probabilities[predicted]):.0%}"
            ),
            seconds=seconds,
            steps=steps,
            max_steps=max_steps,
            target=predicted,
        )
        examples.append(example)
        explanation = example.explanation
        rows.append(
            {
                "track_id": track_id,
                "segment": int(index.at[position, "segment"]),
                "genre": genre,
                "predicted": genres[predicted],
                "probability": float(probabilities[predicted]),
                "logit": explanation.logit,
                "baseline_logit": explanation.baseline_logit,
                "ig_sum": float(sum(a.sum() for a in explanation.integrated_gradients)),
                "delta": explanation.delta,
                "ig_steps": explanation.steps,
                "converged": explanation.converged,
                "grad_cam": explanation.grad_cam is not None,
            }
        )
        if explanation.converged:
            log.info("%s: IG completeness error %.3g", track_id, explanation.delta)
        else:
            log.warning(
                "%s: IG completeness error %.3g still above %.0f%% of the logit change at "
                "%d steps (explain.ig_max_steps)",
                track_id,
                explanation.delta,
                100 * COMPLETENESS_TOLERANCE,
                explanation.steps,
            )
    plot_explanations(
        examples,
        saved.inputs[0],
        f"{saved.model}, fold {fold}: why each segment got its predicted genre",
        figure,
    )
    explained = pd.DataFrame(rows)
    write_csv(explained, table)
    return explained


def explain_song(
    classifier: TorchClassifier, audio: SongAudio, prediction: SongPrediction, steps: int
) -> ExplainedExample:
    """Explain the window of a song most typical of its decided genre (highest probability)."""
    starts, inputs = classifier.window_inputs(audio.y)
    column = prediction.genres.index(prediction.genre)
    best = int(np.argmax(prediction.probabilities[:, column]))
    window = [x[best : best + 1] for x in inputs]
    start = starts[best] / classifier.sample_rate
    return explain_window(
        classifier.model,
        window,
        title=(
            f"{Path(prediction.path).name} at {start:.1f}–{start + classifier.window_s:.1f} s: "
            f"{prediction.genre} {prediction.probabilities[best, column]:.0%} "
            f"(song {prediction.song_probabilities[column]:.0%})"
        ),
        seconds=classifier.window_s,
        steps=steps,
        target=column,
    )
