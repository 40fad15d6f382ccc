"""Trained models on disk: one record type per model family, each with ``save`` and ``load``.

The one home of the artifact format: training writes it, evaluation, final models,
``genreflow predict``, sweeps and explanations read it back. A record holds enough to
rebuild the model and featurise new audio exactly as its training tracks were: its
inputs and their shapes, its genres, and the plan's ``features`` block (clip length
resolved; ``sample_rates`` gives the rate each input is computed at). torch and
scikit-learn are imported by the family that needs them only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from genreflow.atomic import atomic_path
from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.precomputed import PRECOMPUTED
from genreflow.errors import DataError

if TYPE_CHECKING:
    import torch

TORCH_ARTIFACT = "model.pt"
CLASSICAL_ARTIFACT = "model.joblib"


def input_sample_rates(features: Mapping[str, Any], inputs: Sequence[str]) -> dict[str, int | None]:
    """The rate audio is decoded at for STFT sets (``decoded``) and each input's set is
    computed at (an embedding network's own; a precomputed set's: unknown, None)."""
    rates = {"decoded": features.get("sample_rate")}
    sets = features.get("sets") or {}
    for item in inputs:
        name = item.partition("@")[0]
        kind = (sets.get(name) or {}).get("kind")
        rates[name] = (
            EMBEDDING_KINDS[kind].sample_rate
            if kind in EMBEDDING_KINDS
            else None
            if kind == PRECOMPUTED
            else rates["decoded"]
        )
    return rates


@dataclass
class SavedTorchModel:
    """What ``model.pt`` holds (a plain dict of these fields, loadable with
    ``torch.load(..., weights_only=True)``)."""

    model: str
    state_dict: dict[str, Any]
    arch: dict[str, Any]
    inputs: list[str]
    input_shapes: list[tuple[int, ...]]
    genres: list[str]
    normalizer: dict[str, Any]  # genreflow.training.data.Normalizer.state()
    features: dict[str, Any]
    sample_rates: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def of(
        cls,
        name: str,
        network: torch.nn.Module,
        *,
        arch: Mapping[str, Any],
        inputs: Sequence[str],
        input_shapes: Sequence[Sequence[int]],
        genres: Sequence[str],
        normalizer: Mapping[str, Any],
        features: Mapping[str, Any],
        train: Mapping[str, Any],
    ) -> SavedTorchModel:
        """The record of a trained ``network`` (its weights moved to the CPU)."""
        return cls(
            model=name,
            state_dict={k: v.cpu() for k, v in network.state_dict().items()},
            arch=dict(arch),
            inputs=list(inputs),
            input_shapes=[tuple(shape) for shape in input_shapes],
            genres=list(genres),
            normalizer=dict(normalizer),
            features=dict(features),
            sample_rates=input_sample_rates(features, inputs),
            train=dict(train),
        )

    def save(self, path: str | Path) -> None:
        """Write ``path`` atomically; the same record gives the same bytes."""
        import torch

        # through a file object: torch then names the zip's folder "archive", not after
        # the temporary file (whose random name would differ between two runs)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            torch.save({f.name: getattr(self, f.name) for f in fields(self)}, fh)

    @classmethod
    def load(cls, path: str | Path) -> SavedTorchModel:
        """The record in ``path``; one saved by an older genreflow may lack the feature
        settings (empty here: ``genreflow predict`` then says to retrain it)."""
        import torch

        saved = torch.load(path, map_location="cpu", weights_only=True)
        missing = [f.name for f in fields(cls) if f.name not in saved]
        if set(missing) - {"features", "sample_rates", "train"}:
            raise DataError(f"{path}: not a genreflow torch model (it lacks {', '.join(missing)}).")
        return cls(**{f.name: saved.get(f.name, {}) for f in fields(cls)})

    def network(self) -> torch.nn.Module:
        """The model rebuilt from its registered architecture, in eval mode on the CPU."""
        from genreflow.models import get_model

        shapes = [tuple(shape) for shape in self.input_shapes]
        network = get_model(self.model).build(len(self.genres), shapes, **self.arch)
        network.load_state_dict(self.state_dict)
        return network.eval()


@dataclass
class SavedClassicalModel:
    """What ``model.joblib`` holds: the fitted scikit-learn estimator and its inputs
    (the summary table's ``columns``, or an array's ``input_shape``)."""

    model: str
    estimator: Any
    inputs: list[str]
    columns: list[str] | None
    input_shape: list[int] | None
    genres: list[str]
    features: dict[str, Any]
    sample_rates: dict[str, Any]

    @classmethod
    def of(
        cls,
        name: str,
        estimator: Any,
        *,
        inputs: Sequence[str],
        columns: Sequence[str] | None,
        input_shape: Sequence[int] | None,
        genres: Sequence[str],
        features: Mapping[str, Any],
    ) -> SavedClassicalModel:
        """The record of a fitted ``estimator``."""
        return cls(
            model=name,
            estimator=estimator,
            inputs=list(inputs),
            columns=list(columns) if columns is not None else None,
            input_shape=list(input_shape) if input_shape is not None else None,
            genres=list(genres),
            features=dict(features),
            sample_rates=input_sample_rates(features, inputs),
        )

    def save(self, path: str | Path) -> None:
        """Write ``path`` atomically."""
        import joblib

        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            joblib.dump({f.name: getattr(self, f.name) for f in fields(self)}, tmp)

    @classmethod
    def load(cls, path: str | Path) -> SavedClassicalModel:
        import joblib

        saved = joblib.load(path)
        return cls(
            model=saved.get("model", Path(path).parent.name),
            estimator=saved["estimator"],
            inputs=list(saved.get("inputs") or []),
            columns=saved.get("columns"),
            input_shape=saved.get("input_shape"),
            genres=list(saved["genres"]),
            features=saved.get("features") or {},
            sample_rates=saved.get("sample_rates") or {},
        )


def saved_artifact(model_dir: str | Path) -> Path:
    """The artifact a model folder holds (``model.pt`` or ``model.joblib``).

    Raises
    ------
    DataError
        ``model_dir`` holds neither.
    """
    model_dir = Path(model_dir)
    for name in (TORCH_ARTIFACT, CLASSICAL_ARTIFACT):
        if (model_dir / name).is_file():
            return model_dir / name
    raise DataError(
        f"{model_dir}: holds neither {TORCH_ARTIFACT} nor {CLASSICAL_ARTIFACT}; point --model "
        "at a trained model's folder, e.g. results/final/<dataset>/<model> (built by snakemake)."
    )
