"""The resolved plan of a run: the one interpreter of the config.

:func:`resolve_plan` takes the merged config (``config/config.yaml`` with any
``--configfile`` over it) and returns a frozen :class:`Plan`: typed, final settings of
every block, each resolved once, by its own module:

- :mod:`~genreflow.plan.schema`: the config's shape (every schema violation);
- :mod:`~genreflow.plan.dataset`: the dataset (and the demo that generates one);
- :mod:`~genreflow.plan.features`: feature sets, segmentations, the clip length;
- :mod:`~genreflow.plan.folds`: fold schemes, their folds and holdout ratios;
- :mod:`~genreflow.plan.models`: every model's run settings, caps applied;
- :mod:`~genreflow.plan.sweeps`: every sweep point, resolved like a model;
- :mod:`~genreflow.plan.outputs`: final models and explained runs;
- :mod:`~genreflow.plan.library`: the ``classify`` target (a music library).

It raises one :class:`ConfigProblems` listing every problem, each with its key path
and the allowed values (the closest one for a typo). ``workflow/rules/common.smk``
turns the plan into paths and input functions; rules pass its objects' serialised
form (``to_dict``) to jobs, which rebuild them and never resolve a setting again.

Parsing never imports torch, scikit-learn or pandas: models are checked against the
light index of :mod:`genreflow.models.index`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genreflow.embeddings import kind_downloads
from genreflow.embeddings.checkpoints import folder_set_problems
from genreflow.embeddings.precomputed import PRECOMPUTED
from genreflow.embeddings.weights import WeightFile, set_weight_files
from genreflow.errors import ConfigError
from genreflow.models.index import load_index
from genreflow.plan.collection import collection_problems, resolve_collection
from genreflow.plan.dataset import (
    DatasetPlan,
    dataset_clip_seconds,
    dataset_problems,
    dataset_track_ids,
    registry_header,
    resolve_dataset,
    source_kind,
)
from genreflow.plan.estimate import Estimate, estimate
from genreflow.plan.features import (
    FeaturesPlan,
    augmented_input_problems,
    feature_clip_seconds,
    features_problems,
    precomputed_problems,
    resolve_features,
)
from genreflow.plan.folds import FoldsPlan, folds_problems, resolve_folds
from genreflow.plan.library import (
    FINAL_FOLDER,
    ClassifyPlan,
    resolve_classify,
    typed_classify,
)
from genreflow.plan.models import (
    ModelPlan,
    TrainingPlan,
    default_input_problems,
    model_problems,
    resolve_models,
)
from genreflow.plan.outputs import chosen, explain_problems, explained_folds
from genreflow.plan.schema import SCHEMA_PATH, ConfigProblems, schema_problems
from genreflow.plan.sweeps import SweepPlan, resolve_sweeps


@dataclass(frozen=True)
class Plan:
    """What a run does; built by :func:`resolve_plan`."""

    dataset: DatasetPlan
    # the features block models are trained with, clip length resolved (saved with each
    # model, so `genreflow predict` featurises songs exactly as its training tracks)
    features: FeaturesPlan
    # downloaded weights of embedding sets: {set: {parameter: WeightFile}} (rule fetch_weights)
    weights: Mapping[str, Mapping[str, WeightFile]]
    # the augment block's copies when augmentation is enabled, else none
    augmentations: tuple[Mapping[str, Any], ...]
    folds: FoldsPlan
    training: TrainingPlan
    models: Mapping[str, ModelPlan]  # enabled models, in config order
    final_models: tuple[str, ...]
    # explained fold scheme → its explained folds (the first explain.folds); empty when off
    explained: Mapping[str, tuple[int, ...]]
    sweep_scheme: str
    sweeps: Mapping[str, SweepPlan]
    # the classify target (a music library by one model); None while classify.library is null
    classify: ClassifyPlan | None = None

    @property
    def n_shards(self) -> int:
        return self.features.n_shards

    @property
    def arrays(self) -> tuple[str, ...]:
        """Every consolidated FEATURE@SEGMENTATION array."""
        return self.features.arrays

    @property
    def summary_sets(self) -> tuple[str, ...]:
        return self.features.summary_sets

    @property
    def embedding_sets(self) -> tuple[str, ...]:
        return self.features.embedding_sets

    @property
    def precomputed_sets(self) -> tuple[str, ...]:
        return self.features.precomputed_sets

    @property
    def schemes(self) -> Mapping[str, tuple[int, ...]]:
        """Fold scheme → its folds."""
        return self.folds.schemes

    @property
    def repeats(self) -> tuple[int, ...]:
        """training.repeats: the seeds of every repeated run."""
        return self.training.repeats

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
        check, so probes are not explained (the hybrid's pretrained branch comes last);
        nor is a model on a precomputed set, which no audio can be featurised into."""
        pretrained = {*self.embedding_sets, *self.precomputed_sets}
        return [
            name
            for name in self.torch_models
            if self.models[name].inputs[0].partition("@")[0] not in pretrained
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
        line = (
            f"genreflow: dataset {self.dataset.name}, {described}, {self.dataset.n_tracks} "
            f"tracks; fold schemes {', '.join(self.schemes)}; {len(self.models)} models "
            f"({len(self.final_models)} final)"
        )
        if self.classify is not None:
            line = f"{line}\n{self.classify.describe()}"
        collection = self.dataset.collection
        if collection is None:
            return line
        renamed = collection.renamed()
        labels = ", ".join(f"{name!r} → {label!r}" for name, label in renamed.items())
        pinned = (
            f"checked against its pin {collection.registry}"
            if collection.pinned
            else f"this run pins it to {collection.registry}"
        )
        return (
            f"{line}\n  your music: {collection.root}, {collection.n_files} files; {pinned}"
            f"\n  genre labels: {labels or 'the folder names, unchanged'}"
            f"\n  artist tags: {self._artist_line()}"
            f"\n  expected time: {self._estimate().describe()}"
        )

    def _estimate(self) -> Estimate:
        runs = {
            name: 1 if model.deterministic else len(self.repeats)
            for name, model in self.models.items()
        }
        n_folds = sum(len(folds) for folds in self.schemes.values())
        return estimate(self.dataset.n_tracks, runs, n_folds, len(self.final_models))

    def _artist_line(self) -> str:
        """What the artist tags let artist_kfold do, once the collection is pinned."""
        share = self.dataset.collection.artist_share
        needed = self.folds.artist_coverage
        if share is None:
            return "counted when the collection is pinned"
        if share >= needed:
            return f"{share:.0%} of the files name an artist; artist_kfold groups by artist"
        return (
            f"{share:.0%} of the files name an artist, below folds.artist_coverage "
            f"({needed:.0%}): artist_kfold's folds are stratified_kfold's and the report "
            "warns that one artist may be in train and test"
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
    config = typed_classify(config)
    problems = schema_problems(dict(config), schema_path)
    if isinstance(config.get("models"), Mapping):
        problems += model_problems(config, index)
    if problems:
        raise ConfigProblems(problems)  # later checks would misread a config of this shape
    dataset_block, features_block = config["dataset"], config["features"]
    collection, problems = resolve_collection(config)
    dataset_listed, registry_ok = dataset_problems(config, collection)
    problems += dataset_listed
    demo = source_kind(dataset_block) == "generated"
    clip = feature_clip_seconds(features_block, dataset_clip_seconds(config))
    problems += features_problems(features_block, clip)
    if any(block["kind"] == PRECOMPUTED for block in features_block["sets"].values()):
        # read where the dataset's tracks are known before any job (else by the import job)
        track_ids = None if dataset_listed else dataset_track_ids(config, collection)
        problems += precomputed_problems(features_block, track_ids, dataset_block["name"])
    if collection is not None:
        problems += collection_problems(config, collection, clip)
    if registry_ok or collection is not None:
        problems += folds_problems(
            config["folds"],
            dataset=dataset_block["name"],
            generated=demo,
            registry_columns=(
                None
                if demo
                # a collection's split is its CSV's (collection_problems checks it)
                else ["official_split"]
                if collection is not None
                # a registry built from FMA's metadata has its official split only
                else ["official_split"]
                if dataset_block.get("metadata")
                else registry_header(dataset_block)
            ),
            demo_clips_per_genre=config["demo"]["clips_per_genre"] if demo else None,
        )
    training = TrainingPlan.from_block(config["training"])
    try:
        models = resolve_models(config, index, training, demo=demo)
    except ConfigError as exc:
        problems += str(exc).splitlines()
        models = {}
    problems += default_input_problems(config, models, index)
    for name, model in models.items():
        problems += augmented_input_problems(
            f"models.{name}.inputs", list(model.inputs), features_block, config["augment"]
        )
    folds = resolve_folds(config["folds"])
    disabled = [name for name in config["models"] if name not in models]
    final_models = chosen("final.models", config["final"]["models"], models, problems, disabled)
    explained = explained_folds(config["explain"], folds.schemes, problems)
    classify = resolve_classify(
        config["classify"],
        dataset_block["name"],
        {name: models[name].artifact for name in final_models},
        problems,
    )
    problems += explain_problems(config["explain"])
    if classify is not None and classify.built:
        problems += _precomputed_classify_problems(
            classify, dataset_block["name"], models, features_block["sets"]
        )
    sweep_scheme, sweeps = resolve_sweeps(
        config["sweeps"], list(folds.schemes), models, index, training, problems
    )
    try:
        weights = set_weight_files(features_block["sets"], kind_downloads())
    except ConfigError as exc:
        problems.append(str(exc))
    # clap, mert and muq sets: their weights folder holds what the network needs
    problems += folder_set_problems(features_block["sets"])
    if problems:
        raise ConfigProblems(problems)
    dataset = resolve_dataset(config, collection)
    augment = config["augment"]
    return Plan(
        dataset=dataset,
        features=resolve_features(
            features_block,
            dataset.clip_seconds,
            [model.inputs for model in models.values()],
            dataset.n_tracks,
        ),
        weights=weights,
        augmentations=tuple(augment["copies"]) if augment["enabled"] else (),
        folds=folds,
        training=training,
        models=models,
        final_models=tuple(final_models),
        explained=explained,
        sweep_scheme=sweep_scheme,
        sweeps=sweeps,
        classify=classify,
    )


def _precomputed_classify_problems(
    classify: ClassifyPlan, dataset: str, models: Mapping[str, ModelPlan], sets: Mapping[str, Any]
) -> list[str]:
    """The classify target's final model reading a precomputed set: a library's songs
    have no precomputed embedding."""
    for name, model in models.items():
        if classify.model_dir != FINAL_FOLDER.format(dataset=dataset, model=name):
            continue
        read = [
            item
            for item in model.inputs
            if (sets.get(item.partition("@")[0]) or {}).get("kind") == PRECOMPUTED
        ]
        if read:
            return [
                (
                    f"classify.model: {name} reads precomputed embeddings ({', '.join(read)}), "
                    "which no song of a library has; classify with a model on audio features "
                    "or on an embedding genreflow computes (classify.model)"
                )
            ]
    return []


__all__ = [
    "ClassifyPlan",
    "ConfigProblems",
    "DatasetPlan",
    "FeaturesPlan",
    "FoldsPlan",
    "ModelPlan",
    "Plan",
    "SweepPlan",
    "TrainingPlan",
    "resolve_plan",
]
