"""The ``sweeps`` block: every swept model's points, each resolved like a model."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genreflow.errors import ConfigError, closest
from genreflow.models.index import IndexedModel
from genreflow.plan.models import ModelPlan, TrainingPlan, run_settings
from genreflow.training.settings import RunSettings
from genreflow.training.sweeps import point_id, sweep_overrides, swept_names


@dataclass(frozen=True)
class SweepPlan:
    """A model's hyperparameter sweep: its points and the default configuration's id."""

    model: str
    points: Mapping[str, RunSettings]  # point id → what its training jobs run
    swept: tuple[str, ...]
    default_point: str


def sweep_points(
    model: IndexedModel,
    inputs: tuple[str, ...],
    config_arch: Mapping[str, Any],
    config_train: Mapping[str, Any],
    sweep: Mapping[str, Any],
    training: TrainingPlan,
    key: str,
) -> dict[str, RunSettings]:
    """Every point of a sweep over the model's config blocks (``config_arch``,
    ``config_train``), resolved as a model is and named by those settings; points whose
    settings coincide are one point."""
    where = f"{key}.grid" if "grid" in sweep else f"{key}.random.space"
    points: dict[str, RunSettings] = {}
    for arch, train in sweep_overrides(model, config_arch, config_train, sweep, key):
        settings = run_settings(model, inputs, arch, train, training, key=where)
        points.setdefault(point_id(settings.arch, settings.train), settings)
    return points


def resolve_sweeps(
    block: Mapping[str, Any],
    schemes: list[str],
    models: Mapping[str, ModelPlan],
    index: Mapping[str, IndexedModel],
    training: TrainingPlan,
    problems: list[str],
) -> tuple[str, dict[str, SweepPlan]]:
    """The scheme swept on and every swept model's :class:`SweepPlan`; what cannot be
    swept is added to ``problems``."""
    scheme = block.get("scheme") or schemes[0]
    if block.get("models") and scheme not in schemes:
        problems.append(
            f"sweeps.scheme: {scheme} is not one of folds.schemes ({', '.join(schemes)})"
            f"{closest(scheme, schemes)}"
        )
    sweeps = {}
    for name, sweep in (block.get("models") or {}).items():
        if name not in models:
            reason = (
                "disabled" if name in index else f"not a registered model{closest(name, models)}"
            )
            problems.append(
                f"sweeps.models.{name}: {name} is {reason}; sweeps cover enabled models "
                f"({', '.join(models)})"
            )
            continue
        model = models[name]
        try:
            points = sweep_points(
                index[name],
                model.inputs,
                model.arch_overrides,
                model.train_overrides,
                sweep,
                training,
                f"sweeps.models.{name}",
            )
        except ConfigError as exc:
            problems += str(exc).splitlines()
            continue
        except (TypeError, ValueError) as exc:  # a range the schema cannot judge
            problems.append(f"sweeps.models.{name}: cannot draw its points ({exc})")
            continue
        if "lr" in swept_names(sweep) and any(
            settings.train is not None and settings.train.lr_grid for settings in points.values()
        ):
            problems.append(
                f"sweeps.models.{name}: lr is swept, but {name} searches its own learning "
                f"rate over train.lr_grid; set models.{name}.train.lr_grid: null to sweep lr"
            )
            continue
        sweeps[name] = SweepPlan(
            model=name,
            points=points,
            swept=tuple(swept_names(sweep)),
            default_point=point_id(model.arch, model.train),
        )
    return scheme, sweeps
