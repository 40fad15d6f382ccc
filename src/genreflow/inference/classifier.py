"""A saved model and its feature settings, applied to whole songs in sliding windows.

The model's own record says how to featurise: the ``features`` block it was trained
with (sample rate, STFT, feature sets, segment length and hop). A song is decoded,
featurised over its whole length, cut into windows of the model's segment length at
the segmentation's hop (the training tracks' segments, extended to any length), and
the window probabilities are averaged into the song's, as evaluation averages a
track's segments.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import torch

from genreflow.errors import DataError
from genreflow.evaluation.predict import break_ties, load_torch_model
from genreflow.features.compute import FeatureSpec, compute_features
from genreflow.features.consolidate import segment_starts
from genreflow.features.settings import FeatureSettings, segmentations
from genreflow.features.summary import SUMMARY_COLUMNS
from genreflow.inference.songs import read_song
from genreflow.training.data import Normalizer

TORCH_ARTIFACT = "model.pt"
CLASSICAL_ARTIFACT = "model.joblib"


@dataclass
class SongPrediction:
    """What a model says about one song: per-window and overall genre probabilities."""

    path: str
    genres: list[str]
    starts_s: np.ndarray  # start of each window, seconds
    window_s: float
    probabilities: np.ndarray  # windows × genres, rows sum to 1
    duration_s: float
    warnings: list[str] = field(default_factory=list)

    @property
    def song_probabilities(self) -> np.ndarray:
        """Mean of the window probabilities (sums to 1)."""
        return self.probabilities.mean(axis=0)

    @property
    def genre(self) -> str:
        return self.genres[int(np.argmax(self.song_probabilities))]

    def top(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable genres and their probabilities, most probable first."""
        order = np.argsort(-self.song_probabilities, kind="stable")[:k]
        return [(self.genres[i], float(self.song_probabilities[i])) for i in order]


@dataclass
class SongAudio:
    """A decoded song at the model's sample rate (padded to one window if shorter)."""

    path: str
    y: np.ndarray
    duration_s: float  # before padding
    warnings: list[str]


class Classifier(ABC):
    """A saved model ready to classify audio files (see :func:`load_classifier`)."""

    name: str
    source: Path
    genres: list[str]
    settings: FeatureSettings
    window_samples: int
    hop_samples: int

    @property
    def window_s(self) -> float:
        return self.window_samples / self.settings.sample_rate

    def read(self, path: str | os.PathLike) -> SongAudio:
        """Decode ``path`` at the model's rate, padded to one window if shorter."""
        track = read_song(
            path,
            sample_rate=self.settings.sample_rate,
            silence_peak=self.settings.silence_peak,
        )
        y, warnings = track.y, []
        if len(y) < self.window_samples:
            warnings.append(
                f"shorter ({track.original_duration_s:.2f} s) than one "
                f"{self.window_s:.2f} s window: padded with silence"
            )
            y = np.pad(y, (0, self.window_samples - len(y)))
        return SongAudio(str(path), y, track.original_duration_s, warnings)

    def predict(self, path: str | os.PathLike) -> SongPrediction:
        """Classify one file; :class:`~genreflow.inference.songs.SongError` if it cannot be."""
        return self.predict_audio(self.read(path))

    def predict_audio(self, audio: SongAudio) -> SongPrediction:
        starts, probabilities = self.window_probabilities(audio.y)
        return SongPrediction(
            path=audio.path,
            genres=list(self.genres),
            starts_s=np.asarray(starts, dtype=np.float64) / self.settings.sample_rate,
            window_s=self.window_s,
            probabilities=probabilities,
            duration_s=audio.duration_s,
            warnings=list(audio.warnings),
        )

    @abstractmethod
    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Start sample of each window of ``y`` and its genre probabilities."""


class TorchClassifier(Classifier):
    """A torch model from ``model.pt``: features of the whole song, windows of frames."""

    def __init__(self, source: Path, device: torch.device | str = "cpu") -> None:
        self.source = source
        self.device = torch.device(device)
        self.model, saved = load_torch_model(source)
        self.model.to(self.device)
        self.name = saved["model"]
        self.genres = list(saved["genres"])
        self.settings = saved_settings(saved, source)
        self.normalizer = Normalizer.from_state(saved["normalizer"])
        self.inputs = list(saved["inputs"])
        names, segmentation = _split_inputs(self.inputs, source)
        self.specs = [self.settings.spec(name) for name in names]
        segment = segmentations(saved["features"]["segments"])[segmentation]
        hop = self.settings.hop_length
        self.segment_frames = int(saved["input_shapes"][0][-1])
        self.hop_frames = (
            self.settings.frames(segment.hop_seconds) if segment.seconds else self.segment_frames
        )
        # enough samples for a centred STFT to give segment_frames frames
        self.window_samples = self.segment_frames * hop
        self.hop_samples = self.hop_frames * hop

    def window_inputs(self, y: np.ndarray) -> tuple[list[int], list[torch.Tensor]]:
        """Start sample of each window and the model's normalised inputs for every window."""
        unique = {spec.name: spec for spec in self.specs}
        features = compute_features(
            y,
            self.settings.sample_rate,
            list(unique.values()),
            n_fft=self.settings.n_fft,
            hop_length=self.settings.hop_length,
        )
        n_frames = min(matrix.shape[-1] for matrix in features.values())
        starts = list(segment_starts(n_frames, self.segment_frames, self.hop_frames))
        stacked = [
            torch.from_numpy(
                np.stack([features[spec.name][:, s : s + self.segment_frames] for s in starts])
            ).to(self.device)
            for spec in self.specs
        ]
        return [s * self.settings.hop_length for s in starts], self.normalizer(stacked)

    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        starts, inputs = self.window_inputs(y)
        with torch.no_grad():
            probabilities = self.model(*inputs).float().softmax(dim=1)
        return starts, probabilities.double().cpu().numpy()


class ClassicalClassifier(Classifier):
    """A scikit-learn model from ``model.joblib``: the 57-value summary of each clip-long window."""

    def __init__(self, source: Path) -> None:
        self.source = source
        saved = joblib.load(source)
        self.name = saved.get("model", source.parent.name)
        self.estimator = saved["estimator"]
        self.columns = list(saved["columns"])
        self.genres = list(saved["genres"])
        self.settings = saved_settings(saved, source)
        summaries = [s for s in self.settings.specs if s.kind == "gtzan_summary"]
        if not summaries:
            raise DataError(f"{source}: its feature settings have no gtzan_summary set.")
        self.spec: FeatureSpec = summaries[0]
        if self.settings.clip_seconds is None:
            raise DataError(
                f"{source}: its feature settings lack the clip length the summaries were "
                "computed over; retrain it with this version of genreflow."
            )
        self.window_samples = round(self.settings.clip_seconds * self.settings.sample_rate)
        self.hop_samples = self.window_samples

    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        starts = list(range(0, len(y) - self.window_samples + 1, self.hop_samples))
        rows = []
        for start in starts:
            window = y[start : start + self.window_samples]
            values = compute_features(
                window,
                self.settings.sample_rate,
                [self.spec],
                n_fft=self.settings.n_fft,
                hop_length=self.settings.hop_length,
            )[self.spec.name]
            rows.append(values)
        x = pd.DataFrame(np.stack(rows), columns=list(SUMMARY_COLUMNS))[self.columns].to_numpy()
        by_class = pd.DataFrame(self.estimator.predict_proba(x), columns=self.estimator.classes_)
        probabilities = by_class.reindex(columns=self.genres, fill_value=0.0).to_numpy()
        probabilities = break_ties(probabilities, self.estimator.predict(x), self.genres)
        return starts, probabilities / probabilities.sum(axis=1, keepdims=True)


def saved_settings(saved: dict, source: Path) -> FeatureSettings:
    """The feature settings a model was trained with, from its saved record."""
    features = saved.get("features")
    if not features:
        raise DataError(
            f"{source}: the model was saved without its feature settings; retrain it with "
            "this version of genreflow (snakemake --forcerun train_torch train_classical)."
        )
    return FeatureSettings.from_config(features, features.get("clip_seconds"))


def _split_inputs(inputs: Sequence[str], source: Path) -> tuple[list[str], str]:
    """Feature set names and the one segmentation of ``FEATURE@SEGMENTATION`` inputs."""
    pairs = [item.partition("@") for item in inputs]
    segmentations_used = {segmentation for _, _, segmentation in pairs}
    if len(segmentations_used) != 1:
        raise DataError(
            f"{source}: inputs {', '.join(inputs)} mix segmentations; a song can be cut "
            "into windows of one segment length only."
        )
    return [name for name, _, _ in pairs], segmentations_used.pop()


def load_classifier(model_dir: str | os.PathLike, device: str = "cpu") -> Classifier:
    """The model saved in ``model_dir`` (``model.pt`` or ``model.joblib``), ready to classify.

    Raises
    ------
    DataError
        ``model_dir`` holds neither artifact, or the artifact lacks its feature settings.
    """
    model_dir = Path(model_dir)
    if (model_dir / TORCH_ARTIFACT).is_file():
        return TorchClassifier(model_dir / TORCH_ARTIFACT, device)
    if (model_dir / CLASSICAL_ARTIFACT).is_file():
        return ClassicalClassifier(model_dir / CLASSICAL_ARTIFACT)
    raise DataError(
        f"{model_dir}: holds neither {TORCH_ARTIFACT} nor {CLASSICAL_ARTIFACT}; point --model "
        "at a trained model's folder, e.g. results/final/<dataset>/<model> (built by snakemake)."
    )
