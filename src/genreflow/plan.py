"""The resolved plan of a run: everything the workflow decides before its first job.

:func:`resolve_plan` takes the merged config (``config/config.yaml`` with any
``--configfile`` over it) and returns a frozen :class:`Plan`: the dataset and its
derived facts, the demo's scale applied, every enabled model with its inputs, ``arch``
and :class:`~genreflow.training.params.TrainParams`, the fold schemes and their folds,
final models, explanations and sweeps. It raises one :class:`ConfigProblems` listing
every problem, each with its key path and the allowed values (the closest one for a
typo). ``workflow/rules/common.smk`` turns the plan into paths and input functions.

Parsing never imports torch or scikit-learn: models are checked against the light
index of :mod:`genreflow.models.index`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genreflow.config import (
    GENERATED,
    dataset_clip_seconds,
    dataset_genres,
    dataset_problems,
    expected_track_count,
    feature_clip_seconds,
    frame_problems,
    registry_is_built,
    schema_problems,
    selected_genres,
    source_kind,
)
from genreflow.embeddings import EMBEDDING_KINDS, kind_downloads
from genreflow.embeddings.weights import WeightFile, set_weight_files
from genreflow.errors import ConfigError, closest, unknown_key
from genreflow.models.index import IndexedModel, load_index
from genreflow.schemes import folds_of
from genreflow.training.params import TrainParams, unknown_train_keys
from genreflow.training.sweeps import point_id, sweep_points, swept_key_problems, swept_names

# the schema of a checkout (the Snakefile passes its own)
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigProblems(ConfigError):
    """Every problem of a config, one line each (``problems``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class DatasetPlan:
    """The dataset and what is known about it before any job runs."""

    name: str
    source: str
    source_kind: str  # "generated" (the demo), "folder" or "archive"
    registry_built: bool  # built from dataset.metadata (FMA) by the workflow
    genres: tuple[str, ...] | None  # the genres of a run; None: known from the metadata
    selected: tuple[str, ...] | None  # dataset.genres; None: all
    n_tracks: int
    clip_seconds: float | None
    # the expected track format, keyword arguments of genreflow's FormatSpec
    format: Mapping[str, Any]


@dataclass(frozen=True)
class ModelPlan:
    """An enabled model as this run trains it."""

    name: str
    family: str  # "torch" or "sklearn"
    inputs: tuple[str, ...]
    # what the config (and, for the demo, demo.models) sets over the model's defaults;
    # training applies these to the registered model
    arch_overrides: Mapping[str, Any]
    train_overrides: Mapping[str, Any]
    arch: Mapping[str, Any]  # resolved
    train: TrainParams | None  # resolved (torch models)
    reproduces: str
    published: Mapping[str, Any] | None
    # its fit draws no random numbers: trained once per fold, with the first seed
    deterministic: bool
    # the training.repeats it is trained with: all of them, or the first for a
    # deterministic model (another seed would train the same model again)
    seeds: tuple[int, ...]

    @property
    def artifact(self) -> str:
        """The file name of the trained model."""
        return "model.pt" if self.family == "torch" else "model.joblib"

    def claim(self) -> dict[str, Any]:
        """What the model reproduces and its report's published figure (reports, cards)."""
        return {"reproduces": self.reproduces, "published": self.published}


@dataclass(frozen=True)
class SweepPlan:
    """A model's hyperparameter sweep: its points and the default configuration's id."""

    model: str
    # point id → {"arch": arch overrides, "train": train overrides}
    points: Mapping[str, Mapping[str, Mapping[str, Any]]]
    swept: tuple[str, ...]
    default_point: str


@dataclass(frozen=True)
class Plan:
    """What a run does; built by :func:`resolve_plan`."""

    dataset: DatasetPlan
    # the features block models are trained with, clip length resolved (saved with each
    # model, so `genreflow predict` featurises songs exactly as its training tracks)
    features: Mapping[str, Any]
    n_shards: int
    # every consolidated FEATURE@SEGMENTATION array: features.consolidate, then every
    # model's array inputs
    arrays: tuple[str, ...]
    summary_sets: tuple[str, ...]  # feature sets of kind gtzan_summary (one table row per track)
    embedding_sets: tuple[str, ...]  # feature sets computed by pretrained networks
    # downloaded weights of embedding sets: {set: {parameter: WeightFile}} (rule fetch_weights)
    weights: Mapping[str, Mapping[str, WeightFile]]
    schemes: Mapping[str, tuple[int, ...]]  # fold scheme → its folds
    repeats: tuple[int, ...]  # training.repeats: the seeds of every repeated run
    models: Mapping[str, ModelPlan]  # enabled models, in config order
    final_models: tuple[str, ...]
    # explained fold scheme → its explained folds (the first explain.folds); empty when off
    explained: Mapping[str, tuple[int, ...]]
    sweep_scheme: str
    sweeps: Mapping[str, SweepPlan]

    @property
    def first_seed(self) -> int:
        """The seed of final models and explanations (the first of training.repeats)."""
        return self.repeats[0]

    @property
    def torch_models(self) -> list[str]:
        return [name for name, model in self.models.items() if model.family == "torch"]

    @property
    def explained_models(self) -> list[str]:
        """Torch models whose first input (the one explanations draw) is time–frequency:
        an attribution over an embedding's dimensions says nothing a listener could
        check, so probes are not explained (the hybrid's pretrained branch comes last)."""
        return [
            name
            for name in self.torch_models
            if self.models[name].inputs[0].partition("@")[0] not in self.embedding_sets
        ]

    @property
    def classical_models(self) -> list[str]:
        return [name for name, model in self.models.items() if model.family == "sklearn"]

    def describe(self) -> str:
        """One line on what this run does."""
        genres = self.dataset.genres
        described = (
            f"{len(genres)} genres ({', '.join(genres)})"
            if genres
            else "genres from the dataset's metadata"
        )
        return (
            f"genreflow: dataset {self.dataset.name}, {described}, {self.dataset.n_tracks} "
            f"tracks; fold schemes {', '.join(self.schemes)}; {len(self.models)} models "
            f"({len(self.final_models)} final)"
        )


def resolve_plan(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> Plan:
    """The plan of a run of ``config``; :class:`ConfigProblems` lists every problem.

    Problems come in two passes. First the schema and every model, sweep and demo
    block: a typo anywhere is named there, with every other problem of the config's
    shape. Then, on a config of the right shape, all the values the schema cannot judge
    at once: files that do not exist, segments longer than the clips, splits a registry
    lacks, names in final.models, explain.schemes and sweeps.
    """
    index = load_index()
    problems = [_replaced(line) for line in schema_problems(dict(config), schema_path)]
    if isinstance(config.get("models"), Mapping):
        problems += model_problems(config, index)
    if problems:
        raise ConfigProblems(problems)  # later checks would misread a config of this shape
    problems = dataset_problems(dict(config))
    try:
        models = _models(config, index)
    except ConfigError as exc:
        problems += str(exc).splitlines()
        models = {}
    disabled = [name for name in config["models"] if name not in models]
    features_block = config["features"]
    for name, model in models.items():
        if not config["models"][name].get("inputs"):  # else checked with its block
            for item in model.inputs:
                problems += [
                    f"{line} (the model's default inputs; set models.{name}.inputs or add the set)"
                    for line in _input_problems(
                        f"models.{name}.inputs", item, index[name], features_block
                    )
                ]
    schemes = {
        scheme: tuple(folds_of(scheme, config["folds"]["n_folds"]))
        for scheme in config["folds"]["schemes"]
    }
    final_models = _chosen("final.models", config["final"]["models"], models, problems, disabled)
    explained = _chosen("explain.schemes", config["explain"]["schemes"], schemes, problems)
    steps, max_steps = config["explain"]["ig_steps"], config["explain"]["ig_max_steps"]
    if max_steps < steps:
        problems.append(
            f"explain.ig_max_steps: {max_steps} is below explain.ig_steps ({steps}), where "
            "Integrated Gradients starts; raise it or lower ig_steps"
        )
    sweep_scheme, sweeps = _sweeps(config, models, index, problems)
    try:
        weights = set_weight_files(features_block["sets"], kind_downloads())
    except ConfigError as exc:
        problems.append(str(exc))
    for name, block in features_block["sets"].items():
        if block["kind"] == "vggish" and block.get("postprocess") and not block.get("pca"):
            problems.append(
                f"features.sets.{name}.postprocess: the AudioSet postprocessing needs the PCA "
                f"parameters; set features.sets.{name}.pca (see config/gtzan.yaml)"
            )
    if problems:
        raise ConfigProblems(problems)
    dataset = config["dataset"]
    n_tracks = expected_track_count(dict(config))
    selected = selected_genres(dataset)
    genres = selected or dataset_genres(dataset)
    clip_seconds = dataset_clip_seconds(dict(config))
    features = {**config["features"], "clip_seconds": feature_clip_seconds(dict(config))}
    arrays = list(config["features"]["consolidate"])
    for model in models.values():
        arrays += [item for item in model.inputs if "@" in item and item not in arrays]
    return Plan(
        dataset=DatasetPlan(
            name=dataset["name"],
            source=str(dataset["source"]),
            source_kind=source_kind(dataset),
            registry_built=registry_is_built(dataset),
            genres=tuple(genres) if genres else None,
            selected=tuple(selected) if selected else None,
            n_tracks=n_tracks,
            clip_seconds=clip_seconds,
            format={**dataset["format"], "clip_seconds": clip_seconds},
        ),
        features=features,
        n_shards=max(1, -(-n_tracks // config["features"]["tracks_per_job"])),
        arrays=tuple(arrays),
        summary_sets=tuple(
            name
            for name, block in config["features"]["sets"].items()
            if block["kind"] == "gtzan_summary"
        ),
        embedding_sets=tuple(
            name
            for name, block in config["features"]["sets"].items()
            if block["kind"] in EMBEDDING_KINDS
        ),
        weights=weights,
        schemes=schemes,
        repeats=tuple(config["training"]["repeats"]),
        models=models,
        final_models=tuple(final_models),
        explained=(
            {
                scheme: _first_folds(schemes[scheme], config["explain"]["folds"])
                for scheme in explained
            }
            if config["explain"]["tracks_per_fold"]
            else {}
        ),
        sweep_scheme=sweep_scheme,
        sweeps=sweeps,
    )


# keys of earlier configs, with what replaced them
REPLACED_KEYS = {
    "training.seed": (
        "training.repeats, a list of seeds: [0] trains each model once per fold as "
        "training.seed: 0 did, [0, 1, 2] three times"
    ),
}


def _replaced(problem: str) -> str:
    """A schema problem, or what to write instead for a key that was replaced."""
    key = problem.split(":", 1)[0]
    if key in REPLACED_KEYS and "unknown key" in problem:
        return f"{key}: replaced by {REPLACED_KEYS[key]}"
    return problem


def _first_folds(folds: tuple[int, ...], count: int | str) -> tuple[int, ...]:
    """``folds`` or, given a number, the first ``count`` of them."""
    return folds if count == "all" else folds[: int(count)]


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
        if isinstance(block, Mapping) and name in index:  # else named by _sweeps
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
            problems += _input_problems(f"{key}.inputs", item, model, features)
    return problems


def _input_problems(
    key: str, item: str, model: IndexedModel, features: Mapping[str, Any]
) -> list[str]:
    sets, segments = features.get("sets") or {}, features.get("segments") or {}
    feature, _, segmentation = item.partition("@")
    summaries = [name for name, block in sets.items() if block.get("kind") == "gtzan_summary"]
    if model.family == "sklearn" and not segmentation and feature in summaries:
        return []
    if feature in sets and segmentation in segments and feature not in summaries:
        return frame_problems(key, item, {"sets": sets, "segments": segments})
    pairs = [f"{s}@{g}" for s in sets if s not in summaries for g in segments]
    allowed = "FEATURE@SEGMENTATION of features.sets and features.segments"
    if model.family == "sklearn":
        allowed = f"a summary set ({', '.join(summaries) or 'none configured'}) or " + allowed
    return [f"{key}: {item!r} is not {allowed} ({', '.join(pairs)})" + closest(item, pairs)]


def _models(config: Mapping[str, Any], index: Mapping[str, IndexedModel]) -> dict[str, ModelPlan]:
    """The enabled models, with the demo's scale (demo.models) over models.* on the demo."""
    demo = config["demo"].get("models") or {} if config["dataset"]["source"] == GENERATED else {}
    repeats = tuple(config["training"]["repeats"])
    models = {}
    for name, block in config["models"].items():
        if not block.get("enabled", True):
            continue
        model = index[name]
        scale = demo.get(name) or {}
        arch = {**(block.get("arch") or {}), **(scale.get("arch") or {})}
        train = {**(block.get("train") or {}), **(scale.get("train") or {})}
        models[name] = ModelPlan(
            name=name,
            family=model.family,
            inputs=tuple(scale.get("inputs") or block.get("inputs") or model.inputs),
            arch_overrides=arch,
            train_overrides=train,
            arch={**model.arch, **arch},
            train=(
                TrainParams.resolve(model.train, train, key=f"models.{name}.train")
                if model.family == "torch"
                else None
            ),
            reproduces=model.reproduces,
            published=model.published,
            deterministic=model.deterministic,
            seeds=repeats[:1] if model.deterministic else repeats,
        )
    return models


def _chosen(
    key: str,
    chosen: Any,
    available: Mapping[str, Any],
    problems: list[str],
    disabled: list[str] = (),
) -> list[str]:
    """``chosen`` ('all' or names from ``available``) as a list; unknown names: problems."""
    if chosen == "all":
        return list(available)
    for name in chosen:
        if name in disabled:
            problems.append(f"{key}: {name} is disabled (models.{name}.enabled is false)")
        elif name not in available:
            problems.append(
                f"{key}: {name} is not one of {', '.join(available)}{closest(name, available)}"
            )
    return [name for name in chosen if name in available]


def _sweeps(
    config: Mapping[str, Any],
    models: Mapping[str, ModelPlan],
    index: Mapping[str, IndexedModel],
    problems: list[str],
) -> tuple[str, dict[str, SweepPlan]]:
    """The scheme swept on, and every swept model's points."""
    block = config["sweeps"]
    schemes = config["folds"]["schemes"]
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
                model.arch_overrides,
                model.train_overrides,
                sweep,
                key=f"sweeps.models.{name}",
            )
        except ConfigError as exc:
            problems += str(exc).splitlines()
            continue
        except (TypeError, ValueError) as exc:  # a range the schema cannot judge
            problems.append(f"sweeps.models.{name}: cannot draw its points ({exc})")
            continue
        sweeps[name] = SweepPlan(
            model=name,
            points=points,
            swept=tuple(swept_names(sweep)),
            default_point=point_id(model.arch, model.train),
        )
    return scheme, sweeps


__all__ = [
    "ConfigProblems",
    "DatasetPlan",
    "ModelPlan",
    "Plan",
    "SweepPlan",
    "model_problems",
    "resolve_plan",
]
