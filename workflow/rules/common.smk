# Shared helpers: config checks, the dataset's inputs, and the workflow's targets.
import re

from genreflow.config import (
    archive_name,
    check_config,
    dataset_clip_seconds,
    dataset_genres,
    expected_track_count,
    feature_clip_seconds,
    folds_of,
    local_source_path,
    registry_is_built,
    selected_genres,
    source_kind,
)
from genreflow.errors import ConfigError
from genreflow.numba_cache import kernel_versions

try:
    check_config(config)
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None

DATASET = config["dataset"]["name"]
SOURCE_KIND = source_kind(config["dataset"])
if SOURCE_KIND == "generated":
    # The demo's own scale for heavy models (demo.models), merged over models.*.
    for _name, _override in config["demo"].get("models", {}).items():
        _block = config["models"].setdefault(_name, {})
        for _part in ("arch", "train"):
            _block[_part] = {**_block.get(_part, {}), **_override.get(_part, {})}
DEMO_RELEASE = "results/data/demo/release"


wildcard_constraints:
    dataset=re.escape(DATASET),
    shard=r"\d{3}",
    feature=r"[A-Za-z0-9_]+",
    segments=r"[A-Za-z0-9_]+",
    fold=r"\d+",
    scheme=r"[a-z_]+",
    point=r"[0-9a-f]{10}",


def dataset_registry():
    """The CSV of expected tracks: published with the demo, committed for GTZAN, built
    from the metadata archive for FMA."""
    if SOURCE_KIND == "generated":
        return f"{DEMO_RELEASE}/tracks.csv"
    if registry_is_built(config["dataset"]):
        return f"results/data/{DATASET}/registry.csv"
    return config["dataset"]["registry"]


def metadata_archive():
    """Where the metadata archive (dataset.metadata) is stored after download."""
    metadata = config["dataset"]["metadata"]
    name = archive_name(metadata, key="dataset.metadata")
    return f"resources/downloads/{DATASET}/{name}"


def dataset_archive():
    """Where the dataset archive is stored after download."""
    if SOURCE_KIND == "generated":
        return f"resources/downloads/{DATASET}/genreflow_demo.tar.gz"
    return f"resources/downloads/{DATASET}/{archive_name(config['dataset'])}"


def download_inputs(wildcards):
    """The demo's archive and published checksum are built by the workflow itself."""
    if SOURCE_KIND == "generated":
        return {
            "archive": f"{DEMO_RELEASE}/genreflow_demo.tar.gz",
            "checksum_file": f"{DEMO_RELEASE}/genreflow_demo.tar.gz.sha256",
        }
    return {}


def download_source():
    if SOURCE_KIND == "generated":
        return f"{DEMO_RELEASE}/genreflow_demo.tar.gz"
    return config["dataset"]["source"]


def extract_inputs(wildcards):
    return {"archive": dataset_archive()} if SOURCE_KIND != "folder" else {}


def dataset_folder():
    """An extracted copy used in place, or None when the source is an archive."""
    if SOURCE_KIND == "folder":
        return str(local_source_path(config["dataset"]["source"]))
    return None


def repair_sources():
    sources = list(config["dataset"]["repair_sources"])
    if SOURCE_KIND == "generated":
        sources.append(f"{DEMO_RELEASE}/originals")
    return sources


def format_spec():
    """The expected track format, as keyword arguments of genreflow's FormatSpec."""
    return {**config["dataset"]["format"], "clip_seconds": dataset_clip_seconds(config)}


# rule compile_kernels' numba cache, the seed of every librosa job's private cache
KERNELS = "results/kernels/{dataset}/numba_cache"


N_SHARDS = max(1, -(-expected_track_count(config) // config["features"]["tracks_per_job"]))
SHARDS = [f"{k:03d}" for k in range(N_SHARDS)]
FEATURES = f"results/features/{DATASET}"


def augmented_shard_table(wildcards):
    """The shard's augmented copies, when augmentation is enabled."""
    if config["augment"]["enabled"]:
        return [f"results/data/{DATASET}/augmented/shard{wildcards.shard}.csv"]
    return []


def _enabled_models():
    """Enabled models and their inputs, checked against the registry before any job runs."""
    from genreflow.models import MODELS, load_all

    load_all()
    sets, segments = config["features"]["sets"], config["features"]["segments"]
    found = {}
    for name, block in config["models"].items():
        if name not in MODELS:
            raise WorkflowError(
                f"Invalid configuration: models.{name}: unknown model; registered: "
                f"{', '.join(sorted(MODELS))}."
            )
        if not block.get("enabled", True):
            continue
        spec = MODELS[name]
        inputs = list(block.get("inputs") or spec.inputs)
        torch_model = spec.family == "torch"
        for item in inputs:
            feature, _, segmentation = item.partition("@")
            valid = feature in sets and (
                segmentation in segments if torch_model else not segmentation
            )
            if not valid:
                expected = "FEATURE@SEGMENTATION" if torch_model else "a summary feature set"
                raise WorkflowError(
                    f"Invalid configuration: models.{name}.inputs: {item!r} is not {expected} "
                    "of features.sets and features.segments."
                )
        found[name] = (spec.family, inputs)
    return found


ENABLED_MODELS = _enabled_models()
MODEL_INPUTS = {name: inputs for name, (_, inputs) in ENABLED_MODELS.items()}
TORCH_MODELS = [n for n, (family, _) in ENABLED_MODELS.items() if family == "torch"]
CLASSICAL_MODELS = [n for n, (family, _) in ENABLED_MODELS.items() if family == "sklearn"]
# A pattern matching no name keeps a rule out of the DAG when its family is unused.
TORCH_MODEL_PATTERN = "|".join(map(re.escape, TORCH_MODELS)) or "(?!x)x"
CLASSICAL_MODEL_PATTERN = "|".join(map(re.escape, CLASSICAL_MODELS)) or "(?!x)x"


def _model_claims():
    """What each enabled model reproduces and its seed's published figure, for reports."""
    from dataclasses import asdict

    from genreflow.models import MODELS

    return {
        name: {
            "reproduces": MODELS[name].reproduces,
            "published": asdict(MODELS[name].published) if MODELS[name].published else None,
        }
        for name in ENABLED_MODELS
    }


MODEL_CLAIMS = _model_claims()


def _chosen(key, chosen, available, among):
    """``chosen`` ('all' or names from ``available``) as a list; unknown names: an error."""
    if chosen == "all":
        return list(available)
    unknown = [name for name in chosen if name not in available]
    if unknown:
        raise WorkflowError(
            f"Invalid configuration: {key}: {', '.join(unknown)} not {among}; "
            f"choose from: {', '.join(available)}."
        )
    return list(chosen)


# the models trained on every track for `genreflow predict`
FINAL_MODELS = _chosen("final.models", config["final"]["models"], ENABLED_MODELS, "enabled")


def _sweeps():
    """The scheme swept on, and per swept model its points (id → train overrides)."""
    from genreflow.models import MODELS
    from genreflow.training.params import TrainParams
    from genreflow.training.sweeps import point_id, sweep_points, swept_names

    sweeps = config["sweeps"]
    scheme = sweeps.get("scheme") or config["folds"]["schemes"][0]
    if sweeps.get("models") and scheme not in config["folds"]["schemes"]:
        raise WorkflowError(
            f"Invalid configuration: sweeps.scheme: {scheme} is not one of folds.schemes "
            f"({', '.join(config['folds']['schemes'])})."
        )
    found = {}
    for name, block in (sweeps.get("models") or {}).items():
        if name not in TORCH_MODELS:
            raise WorkflowError(
                f"Invalid configuration: sweeps.models.{name}: sweeps cover enabled torch "
                f"models; enabled: {', '.join(TORCH_MODELS)}."
            )
        try:
            points = sweep_points(
                MODELS[name].train,
                config["models"][name].get("train", {}),
                block,
                key=f"sweeps.models.{name}",
            )
        except ConfigError as exc:
            raise WorkflowError(f"Invalid configuration: {exc}") from None
        default = TrainParams.resolve(MODELS[name].train, config["models"][name].get("train", {}))
        found[name] = {
            "points": points,
            "swept": swept_names(block),
            "default": point_id(default),
        }
    return scheme, found


SWEEP_SCHEME, SWEEPS = _sweeps()
SWEEP = "results/sweeps/{dataset}/{scheme}/{model}"


def _run_summary():
    """One line on what this configuration runs, printed once by the main process."""
    genres = selected_genres(config["dataset"]) or dataset_genres(config["dataset"])
    described = (
        f"{len(genres)} genres ({', '.join(genres)})"
        if genres
        else "genres from the dataset's metadata"
    )
    return (
        f"genreflow: dataset {DATASET}, {described}, {expected_track_count(config)} tracks; "
        f"fold schemes {', '.join(config['folds']['schemes'])}; "
        f"{len(ENABLED_MODELS)} models ({len(FINAL_MODELS)} final)"
    )


if workflow.is_main_process:
    print(_run_summary(), file=sys.stderr)
# The features block a model is trained with, its clip length resolved: saved with the
# model, so `genreflow predict` featurises songs exactly as its training tracks.
TRAINED_FEATURES = {**config["features"], "clip_seconds": feature_clip_seconds(config)}


def consolidated_arrays():
    """Every FEATURE@SEGMENTATION array: the configured ones and every torch model's inputs."""
    items = list(config["features"]["consolidate"])
    for name in TORCH_MODELS:
        items += [item for item in MODEL_INPUTS[name] if item not in items]
    return items


def model_inputs(wildcards):
    """The consolidated arrays and index tables a torch model reads."""
    inputs = MODEL_INPUTS[wildcards.model]
    return {
        "arrays": [f"{FEATURES}/consolidated/{item}.npy" for item in inputs],
        "indexes": [f"{FEATURES}/consolidated/{item}.index.csv" for item in inputs],
    }


def feature_outputs():
    """Per-track tables, the summary table and every consolidated array."""
    outputs = [f"{FEATURES}/tracks.csv"]
    if any(s["kind"] == "gtzan_summary" for s in config["features"]["sets"].values()):
        outputs.append(f"{FEATURES}/gtzan_summary.csv")
    for item in consolidated_arrays():
        outputs += [
            f"{FEATURES}/consolidated/{item}.npy",
            f"{FEATURES}/consolidated/{item}.index.csv",
        ]
    return outputs


def model_outputs():
    """One trained model per (fold scheme, enabled model, fold)."""
    outputs = []
    for scheme in config["folds"]["schemes"]:
        for name in ENABLED_MODELS:
            artifact = "model.pt" if name in TORCH_MODELS else "model.joblib"
            outputs += [
                f"results/models/{DATASET}/{scheme}/{name}/fold{fold}/{artifact}"
                for fold in folds_of(config, scheme)
            ]
    return outputs


# Evaluation and report paths (wildcards dataset, scheme, model, fold).
EVAL = "results/eval/{dataset}/{scheme}/{model}/fold{fold}"
MODEL_DIR = "results/models/{dataset}/{scheme}/{model}/fold{fold}"
REPORT = "results/report/{dataset}/{scheme}"
FINAL = "results/final/{dataset}/{model}"
EXPLAIN = "results/explain/{dataset}/{scheme}/{model}/fold{fold}"


def fold_figure(name, caption):
    """A per-fold figure in the Snakemake report, filed under its scheme and model."""
    return report(
        f"{EVAL}/{name}.png",
        caption=f"../report/{caption}.rst",
        category="Per fold: {scheme}",
        subcategory="{model}",
        labels={"model": "{model}", "fold": "{fold}", "figure": name.replace("_", " ")},
    )


def scheme_output(path, caption, label):
    """A table or figure of a scheme's aggregated report, in the Snakemake report."""
    return report(
        f"{REPORT}/{path}",
        caption=f"../report/{caption}.rst",
        category="Results: {scheme}",
        labels={"scheme": "{scheme}", "item": label},
    )


def evaluated_folds(scheme, pattern):
    """``pattern`` (with {dataset}, {scheme}, {model}, {fold}) for every model and fold."""
    return [
        pattern.format(dataset=DATASET, scheme=scheme, model=name, fold=fold)
        for name in ENABLED_MODELS
        for fold in folds_of(config, scheme)
    ]


def report_outputs():
    """The aggregated report of every fold scheme (it depends on every evaluation)."""
    return [
        f"results/report/{DATASET}/{scheme}/summary.md" for scheme in config["folds"]["schemes"]
    ]


def final_model_outputs():
    """Each final model's card (which needs the model and every scheme's report)."""
    return [f"results/final/{DATASET}/{name}/card.md" for name in FINAL_MODELS]


def final_artifacts(wildcards):
    """A final model's artifact and training record, torch or scikit-learn."""
    artifact = "model.pt" if wildcards.model in TORCH_MODELS else "model.joblib"
    folder = FINAL.format(**wildcards)
    return {
        "model": f"{folder}/{artifact}",
        "history": f"{folder}/history.json",
        "config": f"{folder}/config.json",
    }


def model_fold_metrics(wildcards):
    """metrics.json of every evaluated fold of one model, across the fold schemes."""
    return [
        f"{EVAL}/metrics.json".format(
            dataset=DATASET, scheme=scheme, model=wildcards.model, fold=fold
        )
        for scheme in config["folds"]["schemes"]
        for fold in folds_of(config, scheme)
    ]


# the fold schemes whose torch models are explained
EXPLAINED_SCHEMES = _chosen(
    "explain.schemes", config["explain"]["schemes"], config["folds"]["schemes"], "in folds.schemes"
)


def explain_outputs():
    """An explanation figure per torch model, explained fold scheme and fold (unless off)."""
    if not config["explain"]["tracks_per_fold"]:
        return []
    return [
        f"{EXPLAIN}/explanations.png".format(dataset=DATASET, scheme=scheme, model=name, fold=fold)
        for scheme in EXPLAINED_SCHEMES
        for name in TORCH_MODELS
        for fold in folds_of(config, scheme)
    ]


def sweep_rows(model):
    """The points table of a model's sweep: id and the value of each swept key."""
    sweep = SWEEPS[model]
    return [
        {"point": point, **{name: overrides.get(name) for name in sweep["swept"]}}
        for point, overrides in sweep["points"].items()
    ]


def sweep_point_files(wildcards, name):
    """``name`` (e.g. history.json) of every point and fold of a sweep."""
    folder = SWEEP.format(**wildcards)
    return [
        f"{folder}/{point}/fold{fold}/{name}"
        for point in SWEEPS[wildcards.model]["points"]
        for fold in folds_of(config, wildcards.scheme)
    ]


def sweep_outputs():
    """The report of every configured sweep."""
    return [
        f"{SWEEP}/report/summary.md".format(dataset=DATASET, scheme=SWEEP_SCHEME, model=name)
        for name in SWEEPS
    ]


def fold_outputs():
    return [f"results/folds/{DATASET}/{scheme}.csv" for scheme in config["folds"]["schemes"]]


def final_outputs():
    return [
        f"results/data/{DATASET}/manifest.csv",
        f"results/environment/{DATASET}.json",
        *feature_outputs(),
        *fold_outputs(),
        *model_outputs(),
        *report_outputs(),
        *final_model_outputs(),
        *explain_outputs(),
        *sweep_outputs(),
    ]
