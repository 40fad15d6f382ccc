"""The model registry: every model is one module in this package that calls :func:`register`.

Modules are discovered automatically (:func:`load_all`), so adding a model is one
module plus one config block (``models.<name>`` in ``config/config.yaml``).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from genreflow.errors import ConfigError


@dataclass(frozen=True)
class Published:
    """A report's own figure for its model, and what it was measured on.

    Reports show it beside the reproduction; it is not comparable number for number
    (another split, other data, often segment rather than track accuracy).
    """

    accuracy: float  # a fraction, e.g. 0.48
    split: str  # "test", "validation" or "split not stated"
    dataset: str  # "GTZAN", "FMA-small"
    source: str  # "report 001"
    # how it was measured where the source names a protocol (a benchmark's probes: the
    # encoder and probe), e.g. "musicnn, MLP 512, lr searched on validation"
    protocol: str | None = None

    def describe(self) -> str:
        """Where the figure comes from and what it was measured on, e.g. "report 001: test, GTZAN"."""
        described = f"{self.source}: {self.split}, {self.dataset}"
        return f"{described}; {self.protocol}" if self.protocol else described

    def as_dict(self) -> dict[str, Any]:
        """Its fields (``protocol`` where set), as the model index and reports hold them."""
        values = {
            "accuracy": self.accuracy,
            "split": self.split,
            "dataset": self.dataset,
            "source": self.source,
        }
        return {**values, "protocol": self.protocol} if self.protocol else values


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
    hyperparameters
        The class (or function) whose keyword parameters are the ``arch`` keys: the
        ``nn.Module`` that ``build`` constructs, or the scikit-learn estimator class. Its
        signature is the one home of the architecture's defaults (the report's own).
    variant
        torch: ``arch`` values that differ from ``hyperparameters``' defaults (one
        architecture registered as several models, e.g. report 002's ablations).
        sklearn: the estimator keyword arguments genreflow sets; every other one keeps
        scikit-learn's default, which lives in the estimator.
    train
        The report's optimisation choices, keys of
        :class:`genreflow.training.params.TrainParams` (whose fields hold every other
        default; torch only).
    reproduces
        What the model reproduces, e.g. ``"report 001: CNN on 3 s log-mel segments"``.
    published
        The report's published figure for this model, if it reports one.
    deterministic
        Whether training gives the same model whatever the seed (scikit-learn models
        whose fit draws no random numbers: logistic regression with lbfgs, an SVM).
        Such a model is trained once per fold, with the first of ``training.repeats``;
        every other model once per seed.
    """

    name: str
    family: Literal["torch", "sklearn"]
    inputs: tuple[str, ...]
    build: Callable[..., Any]
    hyperparameters: Callable[..., Any]
    variant: Mapping[str, Any] = field(default_factory=dict)
    train: Mapping[str, Any] = field(default_factory=dict)
    reproduces: str = ""
    published: Published | None = None
    deterministic: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.variant) - set(self.arch_keys))
        if unknown:
            raise ValueError(f"model {self.name!r}: variant keys {unknown} are not arch keys")

    @property
    def arch_keys(self) -> tuple[str, ...]:
        """Every key ``models.<name>.arch`` may set: the keyword parameters with defaults."""
        return tuple(keyword_defaults(self.hyperparameters))

    @property
    def arch(self) -> dict[str, Any]:
        """The architecture a model is built with when the config overrides nothing."""
        if self.family == "sklearn":
            return dict(self.variant)
        return {**keyword_defaults(self.hyperparameters), **self.variant}


# set by the workflow, never by a model's arch block
NOT_ARCH = ("random_state",)


def keyword_defaults(target: Callable[..., Any]) -> dict[str, Any]:
    """``target``'s parameters that have a default, with it (``NOT_ARCH`` left out).

    Parameters without a default (``n_classes``, ``input_shape(s)``) are what the
    workflow passes; the others are hyperparameters.
    """
    return {
        name: parameter.default
        for name, parameter in inspect.signature(target).parameters.items()
        if parameter.default is not inspect.Parameter.empty and name not in NOT_ARCH
    }


MODELS: dict[str, ModelSpec] = {}
# the module whose import registered each model (recorded in models/index.json)
MODULES: dict[str, str] = {}


def register(spec: ModelSpec) -> ModelSpec:
    """Add ``spec`` to the registry (a model module calls this at import)."""
    if spec.name in MODELS:
        raise ValueError(f"model {spec.name!r} is registered twice")
    MODELS[spec.name] = spec
    MODULES[spec.name] = _importing_module()
    return spec


def _importing_module() -> str:
    """The module whose top-level code is running (through helpers such as
    ``register_classical``): the one that registers the model."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_name != "<module>":
        frame = frame.f_back
    return frame.f_globals.get("__name__", "") if frame is not None else ""


# the modules of this package that register no model
NOT_MODELS = frozenset({"registry", "layers", "index", "index_build"})


def load_all() -> dict[str, ModelSpec]:
    """Import every model module of this package once, filling :data:`MODELS`."""
    package = __name__.rpartition(".")[0]
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name not in NOT_MODELS:
            importlib.import_module(f"{package}.{module.name}")
    return MODELS


def get_model(name: str) -> ModelSpec:
    """The registered model ``name``; a :class:`ConfigError` naming the models otherwise.

    Only the model's own module is imported (named by the index), so a torch job does
    not import scikit-learn's estimators nor a scikit-learn job torch; the whole zoo is
    loaded only for a name the index does not know.
    """
    from genreflow.models.index import load_index

    if name not in MODELS:
        module = getattr(load_index().get(name), "module", None)
        if module:
            importlib.import_module(module)
    if name not in MODELS:
        load_all()
    if name not in MODELS:
        raise ConfigError(f"models.{name}: unknown model; registered: {', '.join(sorted(MODELS))}.")
    return MODELS[name]
