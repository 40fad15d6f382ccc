"""Hyperparameter sweeps: grid or random points, each named by a hash of its settings.

A sweep block of the config names, per model, either a ``grid`` (every combination of
the listed values) or a ``random`` sample (``n`` points drawn with ``seed`` from a
``space`` of ``choice`` lists and ``uniform`` / ``log_uniform`` / ``int_uniform``
ranges). A swept name is a ``train`` key (:class:`TrainParams`, torch models) or an
``arch`` key of the model (a torch architecture's keyword, or a scikit-learn
estimator's: ``C``, ``n_estimators``, ...). The plan resolves each point into the
complete settings its jobs run (model defaults, then the model's config blocks, then
the point, then the run's caps) and names it by a short hash of them
(:func:`point_id`): the name is the point's wildcard in output paths, so a point keeps
its folder when the grid grows and only new points are trained.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from genreflow.errors import ConfigError, unknown_key
from genreflow.training.params import TrainParams, fingerprint, train_keys
from genreflow.training.settings import RunSettings

if TYPE_CHECKING:
    import pandas as pd

    from genreflow.models.index import IndexedModel

POINT_ID_LENGTH = 10
RANGE_KINDS = ("choice", "uniform", "log_uniform", "int_uniform")


def point_id(arch: Mapping[str, Any], train: TrainParams | None) -> str:
    """The short stable name of a point: a hash of its resolved ``arch`` and ``train``
    settings (``train`` None for a scikit-learn model)."""
    resolved = {"arch": dict(arch), "train": train.as_dict() if train is not None else {}}
    return fingerprint(resolved)[:POINT_ID_LENGTH]


def swept_key_problems(model: IndexedModel, names: list[str], key: str) -> list[str]:
    """A problem line per swept name that is neither a ``train`` key the model takes
    (torch models) nor one of its ``arch`` keys, or that is both."""
    trains = list(train_keys()) if model.family == "torch" else []
    problems = []
    for name in names:
        if name in trains and name in model.arch_keys:
            problems.append(
                f"{key}.{name}: both a train key and an arch key of {model.name}; "
                "rename the architecture's keyword"
            )
        elif name not in trains and name not in model.arch_keys:
            line = unknown_key(f"{key}.{name}", name, [*trains, *model.arch_keys])
            if model.family != "torch" and name in train_keys():
                line += f" ({model.name} is a scikit-learn model: sweep its estimator's keywords)"
            problems.append(line)
    return problems


def grid_values(grid: Mapping[str, list], key: str) -> list[dict[str, Any]]:
    """Every combination of the grid's values, in the order the keys are given."""
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{key}.grid.{name}: give a non-empty list of values.")
    names = list(grid)
    return [dict(zip(names, combo)) for combo in itertools.product(*grid.values())]


def _draw(generator: np.random.Generator, spec: Mapping[str, Any], key: str) -> Any:
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in RANGE_KINDS:
        raise ConfigError(f"{key}: give one of {', '.join(RANGE_KINDS)}, e.g. {{choice: [8, 16]}}.")
    kind, value = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{key}.choice: give a non-empty list.")
        return value[int(generator.integers(len(value)))]
    if not isinstance(value, list) or len(value) != 2 or not value[0] < value[1]:
        raise ConfigError(f"{key}.{kind}: give [low, high] with low < high.")
    low, high = value
    if kind == "uniform":
        return float(generator.uniform(low, high))
    if kind == "int_uniform":
        return int(generator.integers(int(low), int(high) + 1))
    if low <= 0:
        raise ConfigError(f"{key}.log_uniform: the range must be positive.")
    return float(math.exp(generator.uniform(math.log(low), math.log(high))))


def random_values(random: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """``random.n`` points drawn from ``random.space`` with ``random.seed``."""
    space = random.get("space") or {}
    if not space:
        raise ConfigError(f"{key}.random.space: name at least one hyperparameter.")
    generator = np.random.default_rng(int(random.get("seed", 0)))
    return [
        {name: _draw(generator, spec, f"{key}.random.space.{name}") for name, spec in space.items()}
        for _ in range(int(random["n"]))
    ]


def sweep_overrides(
    model: IndexedModel,
    config_arch: Mapping[str, Any],
    config_train: Mapping[str, Any],
    sweep: Mapping[str, Any],
    key: str,
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every point of a model's sweep as the ``(arch, train)`` overrides to train it
    with: the model's config blocks, the point's values over them. The plan resolves
    each into its complete settings and names it (:func:`point_id`).

    Parameters
    ----------
    model
        The model as the index holds it: family, ``arch`` keys.
    config_arch, config_train
        The model's ``models.<name>.arch`` and ``.train`` blocks (the demo's scale
        applied).
    sweep
        ``{"grid": {...}}`` or ``{"random": {"n": ..., "seed": ..., "space": {...}}}``.
    key
        Config key of the sweep, for error messages.
    """
    if ("grid" in sweep) == ("random" in sweep):
        raise ConfigError(f"{key}: give either grid or random.")
    where = f"{key}.grid" if "grid" in sweep else f"{key}.random.space"
    problems = swept_key_problems(model, swept_names(sweep), where)
    if problems:
        raise ConfigError("\n".join(problems))
    values = (
        grid_values(sweep["grid"], key) if "grid" in sweep else random_values(sweep["random"], key)
    )
    return [
        (
            {**config_arch, **{k: v for k, v in point.items() if k in model.arch_keys}},
            {**config_train, **{k: v for k, v in point.items() if k not in model.arch_keys}},
        )
        for point in values
    ]


def points_table(points: Mapping[str, RunSettings], swept: list[str]) -> pd.DataFrame:
    """One row per point: its id and the value of each swept hyperparameter."""
    import pandas as pd  # here: the workflow imports this module when it is parsed

    rows = [
        {"point": pid, **{name: settings.value(name) for name in swept}}
        for pid, settings in points.items()
    ]
    return pd.DataFrame(rows, columns=["point", *swept])


def swept_names(sweep: Mapping[str, Any]) -> list[str]:
    """The hyperparameters a sweep varies, in config order."""
    return list(sweep["grid"]) if "grid" in sweep else list(sweep["random"]["space"])
