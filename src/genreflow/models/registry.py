"""The model registry: every model is one module in this package that calls :func:`register`.

Modules are discovered automatically (see ``genreflow.models.__init__``), so adding a
model is one module plus one config block (``models.<name>`` in ``config/config.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from genreflow.errors import ConfigError


@dataclass(frozen=True)
class Published:
    """A seed report's own figure for its model, and what it was measured on.

    Reports show it beside the reproduction; it is not comparable number for number
    (another split, other data, often segment rather than track accuracy).
    """

    accuracy: float  # a fraction, e.g. 0.48
    split: str  # "test", "validation" or "split not stated"
    dataset: str  # "GTZAN", "FMA-small"
    source: str  # "seed 001"

    def describe(self) -> str:
        """Where the figure comes from and what it was measured on, e.g. "seed 001: test, GTZAN"."""
        return f"{self.source}: {self.split}, {self.dataset}"


@dataclass(frozen=True)
class ModelSpec:
    """What the workflow needs to know about a model.

    Attributes
    ----------
    name
        Registry key, config key and folder name (``results/models/.../<name>/``).
    family
        ``"torch"`` (trained by :mod:`genreflow.training`) or ``"sklearn"``.
    inputs
        Consolidated feature arrays, ``"<feature set>@<segmentation>"`` (torch), in the
        order the model's ``forward`` takes them; ``("gtzan_summary",)`` for sklearn.
    build
        torch: ``build(n_classes, input_shapes, **arch) -> nn.Module`` where
        ``input_shapes`` holds one ``(rows, frames)`` per input; the module's
        ``forward(*inputs)`` takes float tensors of shape (batch, rows, frames) and
        returns logits (batch, n_classes).
        sklearn: ``build(seed, **arch) -> sklearn estimator`` (a Pipeline with scaling).
    arch
        Default architecture (or estimator) hyperparameters: the seed report's own.
    train
        Default optimisation hyperparameters, keys of
        :class:`genreflow.training.params.TrainParams` (torch only).
    reproduces
        What the model reproduces, e.g. ``"seed 001: CNN on 3 s log-mel segments"``.
    published
        The seed's published figure for this model, if it reports one.
    """

    name: str
    family: Literal["torch", "sklearn"]
    inputs: tuple[str, ...]
    build: Callable[..., Any]
    arch: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    reproduces: str = ""
    published: Published | None = None


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry (a model module calls this at import)."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    MODELS[spec.name] = spec
    return spec


def get_model(name: str) -> ModelSpec:
    """The registered model ``name``; a :class:`ConfigError` naming the models otherwise."""
    from genreflow.models import load_all

    load_all()
    if name not in MODELS:
        raise ConfigError(f"models.{name}: unknown model; registered: {', '.join(sorted(MODELS))}.")
    return MODELS[name]
