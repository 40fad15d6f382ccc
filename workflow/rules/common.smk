# Paths and input functions, built from the run's plan (PLAN, resolved in the Snakefile
# by genreflow.plan, which checks the config). No validation and no config changes here.
import math
import re
from pathlib import Path

from genreflow.kernels.cache import kernel_versions
from genreflow.plan.resources import (
    consolidate_runtime,
    embedding_runtime as embedding_minutes,
    feature_runtime,
    segments_per_clip,
    training_runtime,
)

DATASET = PLAN.dataset.name
GENERATED = PLAN.dataset.is_demo
MODELS = PLAN.models
# the genres a run keeps (dataset.genres), None for all
SELECTED_GENRES = list(PLAN.dataset.selected) if PLAN.dataset.selected else None
# the classify target (classify.library); None while it is off
CLASSIFY = PLAN.classify


wildcard_constraints:
    dataset=re.escape(DATASET),
    shard=r"\d{3}\d*",
    feature=r"[A-Za-z0-9_]+",
    segments=r"[A-Za-z0-9_]+",
    fold=r"\d+",
    seed=r"\d+",
    scheme=r"[a-z_]+",
    point=r"[0-9a-f]{10}",
    # (a pattern matching no name keeps the classify target's rules out of the DAG)
    library=re.escape(CLASSIFY.name) if CLASSIFY else "(?!x)x",
    part=r"\d{5}\d*",


# ---- path patterns: one per kind of file (wildcards in braces) ----
DEMO_RELEASE = "results/data/demo/release"
DEMO_ARCHIVE = f"{DEMO_RELEASE}/genreflow_demo.tar.gz"
DEMO_CHECKSUM = f"{DEMO_ARCHIVE}.sha256"
DEMO_REGISTRY = f"{DEMO_RELEASE}/tracks.csv"
DEMO_ORIGINALS = f"{DEMO_RELEASE}/originals"
DOWNLOADS = "resources/downloads/{dataset}"
# pretrained networks' downloaded files (embedding sets' weights), shared by every dataset
WEIGHTS = "resources/downloads/weights/{file}"
DATA = "results/data/{dataset}"
MANIFEST = f"{DATA}/manifest.csv"
INVENTORY = f"{DATA}/inventory.csv"
VALIDATION = f"{DATA}/validation.csv"
REPAIRS = f"{DATA}/repairs.csv"
DUPLICATES = f"{DATA}/duplicates.csv"
REPAIRED = f"{DATA}/repaired"
REGISTRY_BUILT = f"{DATA}/registry.csv"
AUGMENTED = f"{DATA}/augmented"
AUGMENTED_TABLE = f"{AUGMENTED}/shard{{shard}}.csv"
# rule compile_kernels' numba cache, copied into every librosa job's private cache
KERNELS = "results/kernels/{dataset}/numba_cache"
ENVIRONMENT = "results/environment/{dataset}.json"
FEATURES = "results/features/{dataset}"
TRACK_TABLE = f"{FEATURES}/tracks.csv"
SUMMARY_TABLE = f"{FEATURES}/gtzan_summary.csv"
SHARD_TABLE = f"{FEATURES}/shards/shard{{shard}}.csv"
EMBEDDING_SHARD_TABLE = f"{FEATURES}/shards/{{feature}}/shard{{shard}}.csv"
# a precomputed set's tracks (rule import_precomputed) and its record (source, checksum)
PRECOMPUTED_TABLE = f"{FEATURES}/precomputed/{{feature}}.csv"
PRECOMPUTED_RECORD = f"{FEATURES}/precomputed/{{feature}}.json"
ARRAY = f"{FEATURES}/consolidated/{{feature}}@{{segments}}.npy"
ARRAY_INDEX = f"{FEATURES}/consolidated/{{feature}}@{{segments}}.index.csv"
FOLDS = "results/folds/{dataset}/{scheme}.csv"
# one training run: a model on one fold of a scheme, with one of training.repeats
RUN = "{scheme}/{model}/seed{seed}/fold{fold}"
MODEL_DIR = f"results/models/{{dataset}}/{RUN}"
EVAL = f"results/eval/{{dataset}}/{RUN}"
REPORT = "results/report/{dataset}/{scheme}"
FINAL = "results/final/{dataset}/{model}"
FINAL_SPLIT = "results/final/{dataset}/split.csv"
EXPLAIN = f"results/explain/{{dataset}}/{RUN}"
SWEEP = "results/sweeps/{dataset}/{scheme}/{model}"
SWEEP_POINT = f"{SWEEP}/{{point}}/seed{{seed}}/fold{{fold}}"
# a music library classified by one model (classify:), in shards of classify.shard_files
LIBRARY = "results/library/{dataset}/{library}"
LIBRARY_LISTING = f"{LIBRARY}/listing"
LIBRARY_SHARD = f"{LIBRARY_LISTING}/{{part}}.json"
LIBRARY_COUNTS = f"{LIBRARY}/listing.json"
LIBRARY_WALK_ERRORS = f"{LIBRARY}/walk.errors.csv"
LIBRARY_PART_TABLE = f"{LIBRARY}/parts/{{part}}.csv"
LIBRARY_PART_ERRORS = f"{LIBRARY}/parts/{{part}}.errors.csv"
LIBRARY_TABLE = f"{LIBRARY}/library.csv"
LIBRARY_ERRORS = f"{LIBRARY}/library.errors.csv"

SHARDS = [f"{k:03d}" for k in range(PLAN.n_shards)]
# SLURM runtimes (minutes) of the jobs that grow with the dataset
FEATURE_RUNTIME = feature_runtime(
    PLAN.dataset.n_tracks, PLAN.n_shards, PLAN.features.block["clip_seconds"]
)
CONSOLIDATE_RUNTIME = consolidate_runtime(PLAN.dataset.n_tracks)
# what every feature, embedding and training job reads of the features block
FEATURES_PLAN = PLAN.features.to_dict()
# A pattern matching no name keeps a rule out of the DAG when its family is unused.
TORCH_MODEL_PATTERN = "|".join(map(re.escape, PLAN.torch_models)) or "(?!x)x"
CLASSICAL_MODEL_PATTERN = "|".join(map(re.escape, PLAN.classical_models)) or "(?!x)x"
EMBEDDING_SET_PATTERN = "|".join(map(re.escape, PLAN.embedding_sets)) or "(?!x)x"
PRECOMPUTED_SET_PATTERN = "|".join(map(re.escape, PLAN.precomputed_sets)) or "(?!x)x"
# what each enabled model reproduces and its report's figure, for reports and cards
MODEL_CLAIMS = {name: model.claim() for name, model in MODELS.items()}


def here(pattern, **wildcards):
    """``pattern`` for this run's dataset (and any other wildcards given)."""
    return pattern.format(dataset=DATASET, **wildcards)


# ---- the data stage ----
def dataset_registry():
    """The CSV of expected tracks: published with the demo, committed for GTZAN, built
    from the metadata archive for FMA, pinned by its first run for your own music."""
    if GENERATED:
        return DEMO_REGISTRY
    if PLAN.dataset.is_collection:
        return PLAN.dataset.registry
    if PLAN.dataset.registry_built:
        return here(REGISTRY_BUILT)
    return PLAN.dataset.registry


def metadata_archive():
    """Where the metadata archive (dataset.metadata) is stored after download."""
    return f"{here(DOWNLOADS)}/{PLAN.dataset.metadata.archive}"


def dataset_archive():
    """Where the dataset archive is stored after download."""
    if GENERATED:
        return f"{here(DOWNLOADS)}/{Path(DEMO_ARCHIVE).name}"
    return f"{here(DOWNLOADS)}/{PLAN.dataset.archive}"


def download_inputs(wildcards):
    """The demo's archive and published checksum are built by the workflow itself."""
    if GENERATED:
        return {"archive": DEMO_ARCHIVE, "checksum_file": DEMO_CHECKSUM}
    return {}


def download_source():
    return DEMO_ARCHIVE if GENERATED else PLAN.dataset.source


def extract_inputs(wildcards):
    return {"archive": dataset_archive()} if PLAN.dataset.source_kind != "folder" else {}


def repair_sources():
    sources = list(PLAN.dataset.repair_sources)
    if GENERATED:
        sources.append(DEMO_ORIGINALS)
    return sources


# ---- features ----
def augmented_shard_table(wildcards):
    """The shard's augmented copies, when augmentation is enabled."""
    return [AUGMENTED_TABLE.format(**wildcards)] if config["augment"]["enabled"] else []


def embedding_runtime(wildcards):
    """Minutes for an embedding job of set ``wildcards.feature`` (its kind's cost)."""
    kind = PLAN.features.block["sets"][wildcards.feature]["kind"]
    return embedding_minutes(
        kind, PLAN.dataset.n_tracks, PLAN.n_shards, PLAN.features.block["clip_seconds"]
    )


def training_minutes(wildcards):
    """Minutes for a torch training job of ``wildcards.model`` (or of its sweep point):
    every track (an upper bound on a fold's train part), its segments and augmented
    copies, times its epochs and learning rates (plan.resources: at the model's CPU rate)."""
    if hasattr(wildcards, "point"):
        run = PLAN.sweeps[wildcards.model].points[wildcards.point]
    else:
        run = MODELS[wildcards.model].run
    segmentation = run.inputs[0].partition("@")[2]
    block = PLAN.features.block["segments"][segmentation]
    examples = PLAN.dataset.n_tracks * segments_per_clip(
        PLAN.features.block["clip_seconds"], block.get("seconds"), block.get("hop_seconds")
    )
    examples *= 1 + len(PLAN.augmentations)
    passes = run.train.epochs * len(run.train.lr_grid or [None])
    return training_runtime(wildcards.model, examples, passes)


def embedding_weights(wildcards):
    """The downloaded files of an embedding set's network ({parameter: path}), if any."""
    files = PLAN.weights.get(wildcards.feature, {})
    return {parameter: WEIGHTS.format(file=w.file_name) for parameter, w in files.items()}


def weight_file(wildcards):
    """The configured source and checksum of a downloaded file, by its name."""
    for files in PLAN.weights.values():
        for weight in files.values():
            if weight.file_name == wildcards.file:
                return weight
    raise ValueError(f"no embedding set downloads {wildcards.file}")


def consolidation_tracks(wildcards):
    """The table(s) listing each track's file of a set: its embedding shards', its
    import's (a precomputed set) or tracks.csv."""
    if wildcards.feature in PLAN.embedding_sets:
        return [here(EMBEDDING_SHARD_TABLE, feature=wildcards.feature, shard=s) for s in SHARDS]
    if wildcards.feature in PLAN.precomputed_sets:
        return [here(PRECOMPUTED_TABLE, feature=wildcards.feature)]
    return [here(TRACK_TABLE)]


def precomputed_source(wildcards):
    """The folder or .npz file a precomputed set is read from (features.sets.<set>.path)."""
    return PLAN.features.block["sets"][wildcards.feature]["path"]


def model_inputs(wildcards):
    """What a model reads: consolidated arrays and their index tables (FEATURE@SEGMENTATION
    inputs), or the summary table (a summary set's name)."""
    items = MODELS[wildcards.model].inputs
    pairs = [item.split("@") for item in items if "@" in item]
    inputs = {
        "arrays": [here(ARRAY, feature=f, segments=s) for f, s in pairs],
        "indexes": [here(ARRAY_INDEX, feature=f, segments=s) for f, s in pairs],
    }
    if any("@" not in item for item in items):
        inputs["table"] = here(SUMMARY_TABLE)
    # the record (source, checksum) of each precomputed input, for the model's provenance
    precomputed = [f for f, _ in pairs if f in PLAN.precomputed_sets]
    if precomputed:
        inputs["precomputed"] = [here(PRECOMPUTED_RECORD, feature=f) for f in precomputed]
    return inputs


def feature_outputs():
    """Per-track tables, the summary table and every consolidated array."""
    outputs = [here(TRACK_TABLE)]
    if PLAN.summary_sets:
        outputs.append(here(SUMMARY_TABLE))
    for item in PLAN.arrays:
        feature, segments = item.split("@")
        outputs += [
            here(ARRAY, feature=feature, segments=segments),
            here(ARRAY_INDEX, feature=feature, segments=segments),
        ]
    return outputs


# ---- folds, models, evaluation, report ----
def every_run(pattern, schemes=None, models=None, folds=None, first_seed=False):
    """``pattern`` for every (scheme, model, seed, fold) of this run (or of those given):
    each model's seeds (``ModelPlan.seeds``; with ``first_seed``, the first of
    training.repeats only); ``folds`` maps each scheme to its folds (by default all of
    them: ``PLAN.schemes``)."""
    folds = PLAN.schemes if folds is None else folds
    return [
        here(pattern, scheme=scheme, model=name, seed=seed, fold=fold)
        for scheme in (folds if schemes is None else schemes)
        for name in (MODELS if models is None else models)
        for seed in ([PLAN.first_seed] if first_seed else MODELS[name].seeds)
        for fold in folds[scheme]
    ]


def fold_outputs():
    return [here(FOLDS, scheme=scheme) for scheme in PLAN.schemes]


def model_outputs():
    """One trained model per (fold scheme, enabled model, fold)."""
    return [
        path
        for name, model in MODELS.items()
        for path in every_run(f"{MODEL_DIR}/{model.artifact}", models=[name])
    ]


def fold_figure(name, caption):
    """A per-fold figure in the Snakemake report, filed under its scheme and model."""
    return report(
        f"{EVAL}/{name}.png",
        caption=f"../report/{caption}.rst",
        category="Per fold: {scheme}",
        subcategory="{model}",
        labels={
            "model": "{model}",
            "seed": "{seed}",
            "fold": "{fold}",
            "figure": name.replace("_", " "),
        },
    )


def scheme_output(path, caption, label):
    """A table or figure of a scheme's aggregated report, in the Snakemake report."""
    return report(
        f"{REPORT}/{path}",
        caption=f"../report/{caption}.rst",
        category="Results: {scheme}",
        labels={"scheme": "{scheme}", "item": label},
    )


def scheme_runs(pattern):
    """An input function: ``pattern`` for every model, seed and fold of the job's scheme."""
    return lambda wildcards: every_run(pattern, schemes=[wildcards.scheme])


def report_outputs():
    """The aggregated report of every fold scheme (it depends on every evaluation)."""
    return [here(f"{REPORT}/summary.md", scheme=scheme) for scheme in PLAN.schemes]


# ---- final models ----
def final_model_outputs():
    """Each final model's card (which needs the model and every scheme's report)."""
    return [here(f"{FINAL}/card.md", model=name) for name in PLAN.final_models]


def final_artifacts(wildcards):
    """A final model's artifact and training record, torch or scikit-learn."""
    folder = FINAL.format(**wildcards)
    return {
        "model": f"{folder}/{MODELS[wildcards.model].artifact}",
        "history": f"{folder}/history.json",
        "config": f"{folder}/config.json",
    }


def model_run_metrics(wildcards):
    """metrics.json of every evaluated run of one model, across the fold schemes."""
    return every_run(f"{EVAL}/metrics.json", models=[wildcards.model])


# ---- explanations and sweeps ----
def explain_outputs():
    """An explanation figure per explained model, fold scheme and explained fold, of the
    first seed's run."""
    return every_run(
        f"{EXPLAIN}/explanations.png",
        models=PLAN.explained_models,
        folds=PLAN.explained,
        first_seed=True,
    )


def sweep_point_keys(wildcards):
    """(point, seed, fold) of every trained run of a sweep, in the order of its inputs."""
    return [
        (point, seed, fold)
        for point in PLAN.sweeps[wildcards.model].points
        for seed in MODELS[wildcards.model].seeds
        for fold in PLAN.schemes[wildcards.scheme]
    ]


def sweep_point(wildcards):
    """What a sweep point's training jobs run (RunSettings as a dict)."""
    return PLAN.sweeps[wildcards.model].points[wildcards.point].to_dict()


def sweep_points(wildcards):
    """Every point of a sweep: its id → its RunSettings as a dict."""
    points = PLAN.sweeps[wildcards.model].points
    return {point: settings.to_dict() for point, settings in points.items()}


def run_settings(wildcards):
    """What a model's training jobs run (RunSettings as a dict)."""
    return MODELS[wildcards.model].run.to_dict()


def sweep_point_files(name):
    """An input function: ``name`` (history.json, or "model" for the model's artifact)
    of every run of a sweep."""

    def files(wildcards):
        file = MODELS[wildcards.model].artifact if name == "model" else name
        return [
            f"{SWEEP_POINT}/{file}".format(**wildcards, point=point, seed=seed, fold=fold)
            for point, seed, fold in sweep_point_keys(wildcards)
        ]

    return files


def sweep_default_files(name):
    """An input function: ``name`` (e.g. metrics.json) of the default configuration's
    evaluated runs on the sweep's scheme."""
    return lambda wildcards: every_run(
        f"{EVAL}/{name}", schemes=[wildcards.scheme], models=[wildcards.model]
    )


def sweep_outputs():
    """The report of every configured sweep."""
    return [
        here(f"{SWEEP}/report/summary.md", scheme=PLAN.sweep_scheme, model=name)
        for name in PLAN.sweeps
    ]


# ---- a music library (the classify target) ----
def library_parts(pattern):
    """An input function: ``pattern`` for every shard of the library's listing, in its
    order (known once checkpoint list_library has walked the library)."""

    def parts(wildcards):
        listing = checkpoints.list_library.get(**wildcards).output.listing
        found = glob_wildcards(f"{listing}/{{part}}.json").part
        return [pattern.format(**wildcards, part=part) for part in sorted(found, key=int)]

    return parts


def library_model(wildcards):
    """The classifying model's artifact: one of this run's final models is built first."""
    return CLASSIFY.artifact


def library_job_minutes():
    """A classification job's time limit: 10 minutes and 2 s a file (a GTZAN-sized
    model on a 30 s excerpt decodes and classifies several files a second on one core;
    classify.whole on long songs may need --set-resources classify_shard:runtime=...)."""
    return 10 + math.ceil(2 * CLASSIFY.shard_files / 60) if CLASSIFY else 10


def library_outputs(wildcards):
    """The merged table, its errors and the summary of the classify target (which
    stops with one line while classify.library is null)."""
    if CLASSIFY is None:
        raise WorkflowError(
            "Invalid configuration: classify.library is null, so there is no library to "
            "classify; give it, e.g. snakemake classify --config classify='{library: "
            '~/Music}\' (docs/classify.md, "The same on a cluster")'
        )
    folder = here(LIBRARY, library=CLASSIFY.name)
    names = ("library.csv", "library.errors.csv", "summary.md", "summary.png", "summary.html")
    # the model and the kernels the shard jobs need, named here too so that a dry run
    # shows the jobs that build them (the shard jobs appear once the library is walked)
    return [f"{folder}/{name}" for name in names] + [CLASSIFY.artifact, here(KERNELS)]


def final_outputs():
    return [
        here(MANIFEST),
        here(ENVIRONMENT),
        *feature_outputs(),
        *fold_outputs(),
        *model_outputs(),
        *report_outputs(),
        *final_model_outputs(),
        *explain_outputs(),
        *sweep_outputs(),
    ]
