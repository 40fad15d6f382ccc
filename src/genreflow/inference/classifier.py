"""A saved model and its feature settings, applied to whole songs in sliding windows.

The model's own record says how to featurise: the ``features`` block it was trained
with (sample rate, STFT, feature sets, segment length and hop). A song is decoded,
featurised over its whole length, cut into windows of the model's segment length at
the segmentation's hop (the training tracks' segments, extended to any length), and
the window probabilities are averaged into the song's, as evaluation averages a
track's segments.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.weights import fetched_files
from genreflow.errors import DataError
from genreflow.features.compute import FeatureSpec, compute_features
from genreflow.features.consolidate import segment_starts
from genreflow.features.settings import FeatureSettings, segmentations
from genreflow.features.summary import SUMMARY_COLUMNS
from genreflow.inference.songs import read_song
from genreflow.models.classical import classical_probabilities
from genreflow.saved import (
    TORCH_ARTIFACT,
    SavedClassicalModel,
    SavedTorchModel,
    saved_artifact,
)
from genreflow.training.data import Normalizer


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
    def sample_rate(self) -> int:
        """The rate songs are decoded at: the features', or an embedding network's own."""
        return self.settings.sample_rate

    @property
    def window_s(self) -> float:
        return self.window_samples / self.sample_rate

    def read(self, path: str | os.PathLike, *, whole: bool = False) -> SongAudio:
        """Decode ``path``'s excerpt (the one the model's training tracks were cut to;
        ``whole``: the whole file) at the model's rate, padded to one window if shorter."""
        track = read_song(
            path,
            sample_rate=self.sample_rate,
            silence_peak=self.settings.silence_peak,
            excerpt=None if whole else self.settings.excerpt,
        )
        y, warnings = track.y, []
        if len(y) < self.window_samples:
            warnings.append(
                f"shorter ({track.original_duration_s:.2f} s) than one "
                f"{self.window_s:.2f} s window: padded with silence"
            )
            y = np.pad(y, (0, self.window_samples - len(y)))
        return SongAudio(str(path), y, track.original_duration_s, warnings)

    def predict(self, path: str | os.PathLike, *, whole: bool = False) -> SongPrediction:
        """Classify one file's excerpt (``whole``: all of it); raises
        :class:`~genreflow.inference.songs.SongError` if it cannot be."""
        return self.predict_audio(self.read(path, whole=whole))

    def predict_audio(self, audio: SongAudio) -> SongPrediction:
        starts, probabilities = self.window_probabilities(audio.y)
        return SongPrediction(
            path=audio.path,
            genres=list(self.genres),
            starts_s=np.asarray(starts, dtype=np.float64) / self.sample_rate,
            window_s=self.window_s,
            probabilities=probabilities,
            duration_s=audio.duration_s,
            warnings=list(audio.warnings),
        )

    def predict_audios(self, audios: Sequence[SongAudio]) -> list[SongPrediction]:
        """:meth:`predict_audio` of several songs (a torch model: in one forward pass)."""
        return [self.predict_audio(audio) for audio in audios]

    @abstractmethod
    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        """Start sample of each window of ``y`` and its genre probabilities."""


class Windows:
    """A model's inputs computed over a whole song and cut into its training windows.

    Each input is ``FEATURE@SEGMENTATION`` (one segmentation for all). The song is
    decoded at :attr:`sample_rate`: the network's own rate when every input is an
    embedding set of that rate (so a file is resampled once, as the embedding stage
    decodes training tracks, and not at all when it is already at that rate), else the
    features' rate, from which an embedding's network resamples. A window is as long as
    a training example; consecutive windows are the segmentation's hop apart.
    """

    def __init__(
        self,
        settings: FeatureSettings,
        inputs: Sequence[str],
        input_shapes: Sequence[Sequence[int]],
        segments: dict,
        source: Path,
        device: torch.device | str = "cpu",
    ) -> None:
        self.settings = settings
        names, segmentation = _split_inputs(inputs, source)
        self.specs = [settings.spec(name) for name in names]
        precomputed = [spec for spec in self.specs if spec.is_precomputed]
        if precomputed:
            raise DataError(
                f"{source}: reads precomputed embeddings ({precomputed[0].name}, from "
                f"{precomputed[0].params.get('path')}), computed by another tool, so genreflow "
                "cannot featurise new audio for it; classify songs with a model on audio "
                "features or on an embedding genreflow computes (musicnn, vggish, ...)"
            )
        segment = segmentations(segments)[segmentation]
        self.segment_frames = [int(shape[-1]) for shape in input_shapes]
        self.hop_frames = [
            settings.frames(segment.hop_seconds, spec.name) if segment.seconds else frames
            for spec, frames in zip(self.specs, self.segment_frames)
        ]
        self.extractors = {
            spec.name: EMBEDDING_KINDS[spec.kind].build(
                spec.params,
                device=device,
                files=fetched_files(spec.name, spec.kind, spec.params),
            )
            for spec in self.specs
            if spec.is_embedding
        }
        rates = {settings.sample_rate_of(spec.name) for spec in self.specs}
        embedded = all(spec.is_embedding for spec in self.specs) and len(rates) == 1
        self.sample_rate = rates.pop() if embedded else settings.sample_rate
        sr = self.sample_rate
        # enough samples for each input to give its frames (a centred STFT gives one
        # frame per hop; a network's frames are its own examples)
        self.window_samples = max(
            math.ceil(frames * settings.frame_seconds(spec.name) * sr)
            if spec.is_embedding
            else frames * settings.hop_length
            for spec, frames in zip(self.specs, self.segment_frames)
        )
        first = self.specs[0].name
        self.hop_samples = self.hop_frames[0] * settings.frame_seconds(first) * sr

    def __call__(self, y: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
        """Start sample of each window of ``y`` and one (windows, rows, frames) array per input."""
        unique = {spec.name: spec for spec in self.specs}
        sr = self.sample_rate
        features = compute_features(
            y,
            sr,
            [spec for spec in unique.values() if not spec.is_embedding],
            n_fft=self.settings.n_fft,
            hop_length=self.settings.hop_length,
        )
        for name, extractor in self.extractors.items():
            features[name] = extractor(y, sr)
        n_windows = min(
            len(segment_starts(features[spec.name].shape[-1], frames, hop))
            for spec, frames, hop in zip(self.specs, self.segment_frames, self.hop_frames)
        )
        stacked = [
            np.stack([features[spec.name][:, k * hop : k * hop + frames] for k in range(n_windows)])
            for spec, frames, hop in zip(self.specs, self.segment_frames, self.hop_frames)
        ]
        return [round(k * self.hop_samples) for k in range(n_windows)], stacked


class TorchClassifier(Classifier):
    """A torch model from ``model.pt``: features of the whole song, windows of frames."""

    def __init__(self, source: Path, device: torch.device | str = "cpu") -> None:
        self.source = source
        self.device = torch.device(device)
        saved = SavedTorchModel.load(source)
        self.model = saved.network().to(self.device)
        self.name = saved.model
        self.genres = list(saved.genres)
        self.settings = saved_settings(saved.features, source)
        self.normalizer = Normalizer.from_state(saved.normalizer)
        self.inputs = list(saved.inputs)
        self.windows = Windows(
            self.settings,
            self.inputs,
            saved.input_shapes,
            saved.features["segments"],
            source,
            self.device,
        )
        self.window_samples = self.windows.window_samples
        self.hop_samples = round(self.windows.hop_samples)

    @property
    def sample_rate(self) -> int:
        return self.windows.sample_rate

    def window_inputs(self, y: np.ndarray) -> tuple[list[int], list[torch.Tensor]]:
        """Start sample of each window and the model's normalised inputs for every window."""
        starts, stacked = self.windows(y)
        tensors = [torch.from_numpy(x).to(self.device) for x in stacked]
        return starts, self.normalizer(tensors)

    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        starts, inputs = self.window_inputs(y)
        return starts, self._probabilities(inputs)

    def predict_audios(self, audios: Sequence[SongAudio]) -> list[SongPrediction]:
        """Every song's windows through the network in one batch (eval mode: a window's
        output does not depend on its batch)."""
        if not audios:
            return []
        windows = [self.window_inputs(audio.y) for audio in audios]
        batched = [torch.cat(parts) for parts in zip(*(inputs for _, inputs in windows))]
        probabilities = self._probabilities(batched)
        ends = np.cumsum([len(starts) for starts, _ in windows])
        return [
            SongPrediction(
                path=audio.path,
                genres=list(self.genres),
                starts_s=np.asarray(starts, dtype=np.float64) / self.sample_rate,
                window_s=self.window_s,
                probabilities=probabilities[end - len(starts) : end],
                duration_s=audio.duration_s,
                warnings=list(audio.warnings),
            )
            for audio, (starts, _), end in zip(audios, windows, ends)
        ]

    def _probabilities(self, inputs: Sequence[torch.Tensor]) -> np.ndarray:
        with torch.no_grad():
            probabilities = self.model(*inputs).float().softmax(dim=1)
        return probabilities.double().cpu().numpy()


class ClassicalClassifier(Classifier):
    """A scikit-learn model from ``model.joblib``.

    On the summary table: the 57 values of each clip-long window. On an array input
    (e.g. ``musicnn@clip``): the model's windows, as a torch model's.
    """

    def __init__(self, source: Path) -> None:
        self.source = source
        saved = SavedClassicalModel.load(source)
        self.name = saved.model
        self.estimator = saved.estimator
        self.columns = saved.columns
        self.genres = list(saved.genres)
        self.settings = saved_settings(saved.features, source)
        self.windows: Windows | None = None
        if self.columns is None:  # an array input
            self.windows = Windows(
                self.settings,
                saved.inputs,
                [saved.input_shape],
                saved.features["segments"],
                source,
            )
            self.window_samples = self.windows.window_samples
            self.hop_samples = round(self.windows.hop_samples)
            return
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

    @property
    def sample_rate(self) -> int:
        return self.windows.sample_rate if self.windows else self.settings.sample_rate

    def window_probabilities(self, y: np.ndarray) -> tuple[list[int], np.ndarray]:
        if self.windows is not None:
            starts, (x,) = self.windows(y)
            return starts, classical_probabilities(self.estimator, x, self.genres)
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
        return starts, classical_probabilities(self.estimator, x, self.genres)


def saved_settings(features: dict, source: Path) -> FeatureSettings:
    """The feature settings a model was trained with, from its saved record's block."""
    if not features:
        raise DataError(
            f"{source}: the model was saved without its feature settings; retrain it with "
            "this version of genreflow (snakemake --forcerun train_torch train_classical)."
        )
    return FeatureSettings.from_dict(features)


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
    artifact = saved_artifact(model_dir)
    if artifact.name == TORCH_ARTIFACT:
        return TorchClassifier(artifact, device)
    return ClassicalClassifier(artifact)
