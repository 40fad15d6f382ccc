"""The ``models`` and ``training`` blocks (and the demo's scale): what each job trains.

Each enabled model is resolved once into the :class:`RunSettings` its training jobs
run: the registry's defaults, then ``models.<name>``, then (on the demo only)
``demo.models.<name>``, then ``training.max_epochs`` over the epochs the config did not
set. Checked against the light model index, so parsing imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from genreflow.errors import ConfigError, closest, unknown_key
from genreflow.models.index import IndexedModel
from genreflow.plan.features import input_problems
from genreflow.training.params import TrainParams, unknown_train_keys
from genreflow.training.settings import RunSettings
from genreflow.training.sweeps import swept_key_problems


@dataclass(frozen=True)
class TrainingPlan:
    """The ``training`` block: where and how often every model trains."""

    device: str
    amp: bool
    repeats: tuple[int, ...]  # the seeds of every repeated run
    threads: int  # CPU threads of a torch job
    max_epochs: int | None  # a cap over the epochs of models whose config sets none
    gpu_mem_mb: int

    @classmethod
    def from_block(cls, training: Mapping[str, Any]) -> TrainingPlan:
        """The plan of a checked ``training`` block."""
        return cls(
            device=training["device"],
            amp=bool(training["amp"]),
            repeats=tuple(training["repeats"]),
            threads=int(training["threads"]),
            max_epochs=training["max_epochs"],
            gpu_mem_mb=int(training["gpu_mem_mb"]),
        )


@dataclass(frozen=True)
class ModelPlan:
    """An enabled model as this run trains it."""

    name: str
    # what its training jobs run: inputs, arch and train resolved, caps applied
    run: RunSettings
    # what the config (and, for the demo, demo.models) sets over the model's defaults;
    # a sweep's points are set over these
    arch_overrides: Mapping[str, Any]
    train_overrides: Mapping[str, Any]
    reproduces: str
    published: Mapping[str, Any] | None
    # its fit draws no random numbers: trained once per fold, with the first seed
    deterministic: bool
    # the training.repeats it is trained with: all of them, or the first for a
    # deterministic model (another seed would train the same model again)
    seeds: tuple[int, ...]

    @property
    def family(self) -> str:
        return self.run.family

    @property
    def inputs(self) -> tuple[str, ...]:
        return self.run.inputs

    @property
    def arch(self) -> Mapping[str, Any]:
        return self.run.arch

    @property
    def train(self) -> TrainParams | None:
        return self.run.train

    @property
    def artifact(self) -> str:
        """The file name of the trained model (genreflow.saved's TORCH_ARTIFACT or
        CLASSICAL_ARTIFACT; not imported from there, which would load pandas at parse)."""
        return "model.pt" if self.family == "torch" else "model.joblib"

    def claim(self) -> dict[str, Any]:
        """What the model reproduces and its report's published figure (reports, cards)."""
        return {"reproduces": self.reproduces, "published": self.published}


def run_settings(
    model: IndexedModel,
    inputs: tuple[str, ...],
    arch: Mapping[str, Any],
    train: Mapping[str, Any],
    training: TrainingPlan,
    key: str,
) -> RunSettings:
    """What a job runs of ``model`` with these overrides: the one place a model's
    settings are merged, defaulted and capped (models and sweep points alike).

    ``training.max_epochs`` caps the model's own epochs; epochs the config sets (in
    ``train``) are honoured.
    """
    torch = model.family == "torch"
    params = TrainParams.resolve(model.train, train, key=key) if torch else None
    if params is not None and training.max_epochs and "epochs" not in train:
        params = replace(params, epochs=min(params.epochs, int(training.max_epochs)))
    return RunSettings(
        model=model.name,
        family=model.family,
        inputs=inputs,
        arch={**model.arch, **arch},
        train=params,
        # scikit-learn models fit on one CPU thread (BLAS threads fight over shared cores)
        device=training.device if torch else "cpu",
        amp=training.amp if torch else False,
        threads=training.threads if torch else 1,
    )


def model_problems(config: Mapping[str, Any], index: Mapping[str, IndexedModel]) -> list[str]:
    """Unknown models, ``arch`` and ``train`` keys, inputs, in models.*, demo.models.*
    and sweeps.models.*."""
    problems = []
    features = config.get("features") or {}
    blocks = [("models", config["models"])]
    if isinstance(config.get("demo"), Mapping):
        blocks.append(("demo.models", config["demo"].get("models") or {}))
    for where, models in blocks:
        for name, block in models.items():
            key = f"{where}.{name}"
            if name not in index:
                problems.append(
                    f"{key}: unknown model{closest(name, index)} (registered: "
                    f"{', '.join(sorted(index))})"
                )
                continue
            if not isinstance(block, Mapping):
                continue  # the schema has said so
            problems += _block_problems(key, index[name], block, features)
    sweeps = (config.get("sweeps") or {}).get("models") or {}
    for name, block in sweeps.items():
        if isinstance(block, Mapping) and name in index:  # else named with the sweeps
            grid, random = block.get("grid"), block.get("random")
            space = random.get("space") if isinstance(random, Mapping) else None
            for part, values in (("grid", grid), ("random.space", space)):
                if isinstance(values, Mapping):  # else the schema has said what it must be
                    problems += swept_key_problems(
                        index[name], list(values), f"sweeps.models.{name}.{part}"
                    )
    return problems


def _block_problems(
    key: str, model: IndexedModel, block: Mapping[str, Any], features: Mapping[str, Any]
) -> list[str]:
    problems = []
    arch, train, inputs = (block.get(part) for part in ("arch", "train", "inputs"))
    # a block of the wrong type is the schema's to name
    for name in arch if isinstance(arch, Mapping) else ():
        if name not in model.arch_keys:
            problems.append(unknown_key(f"{key}.arch.{name}", name, model.arch_keys))
    train = train if isinstance(train, Mapping) else {}
    if train and model.family != "torch":
        problems.append(
            f"{key}.train: {model.name} is a scikit-learn model and has no train block; "
            "set its estimator's keywords under arch."
        )
    elif train:
        unknown = unknown_train_keys(train, f"{key}.train")
        problems += unknown
        if not unknown:
            try:
                TrainParams.resolve(model.train, train, key=f"{key}.train")
            except ConfigError as exc:
                problems += str(exc).splitlines()
    for item in inputs if isinstance(inputs, list) else ():
        if isinstance(item, str):
            problems += input_problems(f"{key}.inputs", item, model.family, features)
    return problems


def default_input_problems(
    config: Mapping[str, Any], models: Mapping[str, ModelPlan], index: Mapping[str, IndexedModel]
) -> list[str]:
    """Problems of the inputs a model takes by default (its block names none)."""
    problems = []
    for name, model in models.items():
        if not config["models"][name].get("inputs"):  # else checked with its block
            for item in model.inputs:
                problems += [
                    f"{line} (the model's default inputs; set models.{name}.inputs or add the set)"
                    for line in input_problems(
                        f"models.{name}.inputs", item, index[name].family, config["features"]
                    )
                ]
    return problems


def resolve_models(
    config: Mapping[str, Any],
    index: Mapping[str, IndexedModel],
    training: TrainingPlan,
    demo: bool,
) -> dict[str, ModelPlan]:
    """The enabled models, in config order, with the demo's scale (``demo.models``) over
    ``models.*`` when ``demo``."""
    scales = (config["demo"].get("models") or {}) if demo else {}
    models = {}
    for name, block in config["models"].items():
        if not block.get("enabled", True):
            continue
        model = index[name]
        scale = scales.get(name) or {}
        arch = {**(block.get("arch") or {}), **(scale.get("arch") or {})}
        train = {**(block.get("train") or {}), **(scale.get("train") or {})}
        inputs = tuple(scale.get("inputs") or block.get("inputs") or model.inputs)
        models[name] = ModelPlan(
            name=name,
            run=run_settings(model, inputs, arch, train, training, key=f"models.{name}.train"),
            arch_overrides=arch,
            train_overrides=train,
            reproduces=model.reproduces,
            # a probe on another encoder's embeddings sets that encoder's figure
            published=block.get("published", model.published),
            deterministic=model.deterministic,
            seeds=training.repeats[:1] if model.deterministic else training.repeats,
        )
    return models
