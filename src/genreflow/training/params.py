"""Optimisation hyperparameters of a torch model, resolved from defaults and config."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from genreflow.errors import ConfigError, unknown_key

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("none", "plateau", "cosine", "warmup_cosine", "step")
NORMALIZATIONS = ("standardize", "minmax", "none")
MONITORS = ("val_loss", "val_accuracy", "val_track_accuracy")


def fingerprint(resolved: dict[str, Any]) -> str:
    """A short stable hash of a resolved configuration (JSON with sorted keys)."""
    text = json.dumps(resolved, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# the types a field's annotation allows (an int is a float; a bool is not a number)
_FIELD_TYPES = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}
_TYPE_NAMES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def type_problems(params: Any, key: str) -> list[str]:
    """A problem line per field of the dataclass ``params`` whose value has the wrong type."""
    problems = []
    for f in fields(params):
        text = str(f.type)
        optional = text.endswith("| None")
        base = text.removesuffix("| None").strip()
        if base not in _FIELD_TYPES:
            continue  # a nested dataclass, checked on its own
        value = getattr(params, f.name)
        if value is None and optional:
            continue
        is_bool = isinstance(value, bool)
        if not isinstance(value, _FIELD_TYPES[base]) or (is_bool and base != "bool"):
            wanted = _TYPE_NAMES[base] + (" or null" if optional else "")
            problems.append(f"{key}.{f.name}: {value!r} is not {wanted}")
    return problems


def train_keys() -> tuple[str, ...]:
    """Every key a ``train`` block may set (the fields of :class:`TrainParams`)."""
    return tuple(f.name for f in fields(TrainParams))


def unknown_train_keys(train: Mapping[str, Any], key: str) -> list[str]:
    """A problem line per key of a ``train`` block (at ``key``) that TrainParams lacks."""
    problems = []
    known = list(train_keys())
    for name in train:
        if name not in known:
            problems.append(unknown_key(f"{key}.{name}", name, known))
    augment = train.get("augment") or {}
    if isinstance(augment, Mapping):
        augment_known = [f.name for f in fields(AugmentParams)]
        for name in augment:
            if name not in augment_known:
                problems.append(unknown_key(f"{key}.augment.{name}", name, augment_known))
    return problems


@dataclass(frozen=True)
class AugmentParams:
    """On-device training augmentation of feature matrices (batch, rows, frames).

    ``time_masks``/``freq_masks`` SpecAugment masks (torchaudio), each up to
    ``*_mask_param`` frames/rows wide; ``noise_std`` additive Gaussian noise (in
    normalised units); ``time_shift`` random circular shift up to that fraction of the
    frames; ``mixup_alpha`` mixup (0 = off); ``random_crop_frames`` trains on random
    crops of that many frames (short-chunk training; evaluation sees whole inputs).
    """

    time_masks: int = 0
    time_mask_param: int = 0
    freq_masks: int = 0
    freq_mask_param: int = 0
    noise_std: float = 0.0
    time_shift: float = 0.0
    mixup_alpha: float = 0.0
    random_crop_frames: int | None = None


@dataclass(frozen=True)
class TrainParams:
    """How a torch model is optimised (the report's choices are each model's defaults)."""

    epochs: int = 30
    patience: int | None = 5
    # what early stopping and the restored epoch follow: "val_loss", or accuracy as the
    # test part is scored, "val_track_accuracy" (the mean of segment probabilities per
    # track; what models that watch accuracy use), or "val_accuracy" (segments, kept for
    # comparison; every epoch's history holds both)
    monitor: str = "val_loss"
    batch_size: int = 32
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9  # sgd only
    scheduler: str = "none"
    warmup_epochs: int = 0  # warmup_cosine
    plateau_factor: float = 0.5
    plateau_patience: int = 3
    step_size: int = 10  # step
    step_gamma: float = 0.5
    label_smoothing: float = 0.0
    class_balanced: bool = False  # sample batches with equal expected count per genre
    normalize: str = "standardize"  # per row, training statistics; minmax maps to [0, 1]
    grad_clip: float | None = None
    augment: AugmentParams = field(default_factory=AugmentParams)
    # learning rates tried (MARBLE's probe protocol): the model is trained at each on the
    # fold's train part, and the one whose best epoch scores best on its val part (by
    # ``monitor``) is kept; ``lr`` is then unused. None: train once, at ``lr``. Left out
    # of :meth:`as_dict` while None, so no other model's record or fingerprint changes.
    lr_grid: tuple[float, ...] | None = None

    @classmethod
    def resolve(cls, *layers: Mapping[str, Any], key: str = "train") -> TrainParams:
        """Merge mappings left to right (model defaults, then config) into params.

        Unknown keys and impossible values raise :class:`ConfigError` naming ``key``.
        """
        merged: dict[str, Any] = {}
        augment: dict[str, Any] = {}
        for layer in layers:
            for name, value in (layer or {}).items():
                if name != "augment":
                    merged[name] = value
                elif isinstance(value, Mapping):
                    augment.update(value)
                elif value is not None:
                    raise ConfigError(f"{key}.augment: give a mapping of augmentation settings.")
        problems = unknown_train_keys({**merged, "augment": augment}, key)
        if problems:
            raise ConfigError("\n".join(problems))
        grid = merged.get("lr_grid")
        if grid is not None:
            if not isinstance(grid, (list, tuple)) or not grid:
                raise ConfigError(
                    f"{key}.lr_grid: {grid!r} is not a list of learning rates (or null)"
                )
            merged["lr_grid"] = tuple(grid)
        params = cls(**merged, augment=AugmentParams(**augment))
        params.check(key)
        return params

    def check(self, key: str) -> None:
        """Raise :class:`ConfigError` listing every value of a wrong type or out of range."""
        problems = type_problems(self, key) + type_problems(self.augment, f"{key}.augment")
        if not problems:
            for name, allowed in (
                ("optimizer", OPTIMIZERS),
                ("scheduler", SCHEDULERS),
                ("normalize", NORMALIZATIONS),
                ("monitor", MONITORS),
            ):
                if getattr(self, name) not in allowed:
                    problems.append(
                        f"{key}.{name}: {getattr(self, name)!r} is not one of {', '.join(allowed)}"
                    )
            for name in ("epochs", "batch_size", "lr"):
                if getattr(self, name) <= 0:
                    problems.append(f"{key}.{name}: {getattr(self, name)!r} must be positive")
            for rate in self.lr_grid or ():
                if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
                    problems.append(f"{key}.lr_grid: {rate!r} is not a positive learning rate")
        if problems:
            raise ConfigError("\n".join(problems))

    def as_dict(self) -> dict[str, Any]:
        values = asdict(self)
        if values["lr_grid"] is None:
            del values["lr_grid"]
        else:
            values["lr_grid"] = list(values["lr_grid"])
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrainParams:
        """The params :meth:`as_dict` gave: every field (``lr_grid`` where set), none
        merged or defaulted."""
        augment = dict(values["augment"])
        missing = sorted(
            {*train_keys()} - set(values) - {"lr_grid"}
            | {f.name for f in fields(AugmentParams)} - set(augment)
        )
        if missing:
            raise ValueError(f"resolved train settings lack {', '.join(missing)}")
        grid = values.get("lr_grid")
        return cls(
            **{
                **values,
                "augment": AugmentParams(**augment),
                "lr_grid": tuple(grid) if grid is not None else None,
            }
        )
