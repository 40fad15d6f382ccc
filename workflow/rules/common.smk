# Shared helpers: config checks, the dataset's inputs, and the workflow's targets.
import re

from genreflow.config import (
    archive_name,
    check_config,
    expected_track_count,
    feature_clip_seconds,
    local_source_path,
    selected_genres,
    source_kind,
)
from genreflow.errors import ConfigError

try:
    check_config(config)
except ConfigError as exc:
    raise WorkflowError(f"Invalid configuration: {exc}") from None

DATASET = config["dataset"]["name"]
SOURCE_KIND = source_kind(config["dataset"])
DEMO_RELEASE = "results/data/demo/release"


wildcard_constraints:
    dataset=re.escape(DATASET),
    shard=r"\d{3}",
    feature=r"[A-Za-z0-9_]+",
    segments=r"[A-Za-z0-9_]+",


def dataset_registry():
    """The CSV of expected tracks: published with the demo, committed for real data."""
    if SOURCE_KIND == "generated":
        return f"{DEMO_RELEASE}/tracks.csv"
    return config["dataset"]["registry"]


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
    spec = dict(config["dataset"]["format"])
    if spec["clip_seconds"] is None and SOURCE_KIND == "generated":
        spec["clip_seconds"] = float(config["demo"]["clip_seconds"])
    return spec


N_SHARDS = max(1, -(-expected_track_count(config) // config["features"]["tracks_per_job"]))
SHARDS = [f"{k:03d}" for k in range(N_SHARDS)]
FEATURES = f"results/features/{DATASET}"


def augmented_shard_table(wildcards):
    """The shard's augmented copies, when augmentation is enabled."""
    if config["augment"]["enabled"]:
        return [f"results/data/{DATASET}/augmented/shard{wildcards.shard}.csv"]
    return []


def feature_outputs():
    """Per-track tables, the summary table and every consolidated array."""
    outputs = [f"{FEATURES}/tracks.csv"]
    if any(s["kind"] == "gtzan_summary" for s in config["features"]["sets"].values()):
        outputs.append(f"{FEATURES}/gtzan_summary.csv")
    for item in config["features"]["consolidate"]:
        outputs += [
            f"{FEATURES}/consolidated/{item}.npy",
            f"{FEATURES}/consolidated/{item}.index.csv",
        ]
    return outputs


def fold_outputs():
    return [f"results/folds/{DATASET}/{scheme}.csv" for scheme in config["folds"]["schemes"]]


def final_outputs():
    return [f"results/data/{DATASET}/manifest.csv", *feature_outputs(), *fold_outputs()]
