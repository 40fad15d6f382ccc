"""Checks of the workflow config that a JSON schema cannot express.

Imported by the Snakefile after schema validation, so it uses the standard
library only. Every error names the config key and says what to do.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from genreflow.checksums import parse_checksum
from genreflow.errors import ConfigError
from genreflow.genres import GTZAN_GENRES

GENERATED = "generated"


def is_url(source: str) -> bool:
    """True for http(s) and file URLs, false for local paths."""
    return urlparse(str(source)).scheme in ("http", "https", "file")


def local_source_path(source: str) -> Path:
    """The filesystem path a local path or ``file://`` URL points at."""
    parsed = urlparse(str(source))
    return Path(url2pathname(parsed.path)) if parsed.scheme == "file" else Path(source)


def source_kind(dataset: dict[str, Any]) -> str:
    """``"generated"`` (the demo), ``"folder"`` (an extracted copy used in place) or ``"archive"``."""
    source = str(dataset["source"])
    if source == GENERATED:
        return "generated"
    if (not is_url(source) or urlparse(source).scheme == "file") and local_source_path(
        source
    ).is_dir():
        return "folder"
    return "archive"


def archive_name(dataset: dict[str, Any], key: str = "dataset") -> str:
    """File name an archive (``dataset`` or ``dataset.metadata``) is stored under in
    ``resources/downloads/<name>/``."""
    if dataset.get("archive_name"):
        return dataset["archive_name"]
    name = os.path.basename(urlparse(str(dataset["source"])).path.rstrip("/"))
    if not name:
        raise ConfigError(
            f"{key}.archive_name: cannot derive a file name from {key}.source "
            f"{dataset['source']!r}; set {key}.archive_name."
        )
    return name


def registry_is_built(dataset: dict[str, Any]) -> bool:
    """True when the workflow builds the registry from ``dataset.metadata`` (FMA)."""
    return bool(dataset.get("metadata"))


def dataset_genres(dataset: dict[str, Any]) -> list[str] | None:
    """The genres the dataset's registry defines (GTZAN's ten for the demo).

    None when the registry is built from metadata by the workflow: its genres are only
    known then (the registry rule checks ``dataset.genres`` against them).
    """
    if dataset["source"] == GENERATED:
        return list(GTZAN_GENRES)
    if registry_is_built(dataset):
        return None
    with open(dataset["registry"], newline="") as fh:
        return sorted({row["genre"] for row in csv.DictReader(fh)})


def selected_genres(dataset: dict[str, Any]) -> list[str] | None:
    """The configured genre selection, or ``None`` for all."""
    genres = dataset.get("genres", "all")
    return None if genres == "all" else list(genres)


def schema_problems(config: dict[str, Any], schema_path: str | os.PathLike) -> list[str]:
    """One line per schema violation, each starting with the dotted config key.

    Snakemake's own ``validate`` (which also fills defaults) reports only the first
    violation, deep in a dump of the schema; this lists them all, readably.
    """
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        key = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        if error.validator == "additionalProperties":
            unexpected = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            allowed = ", ".join(error.schema.get("properties", {}))
            for name in unexpected:
                prefix = "" if key == "(top level)" else f"{key}."
                problems.append(f"{prefix}{name}: unknown key (allowed here: {allowed})")
        else:
            problems.append(f"{key}: {error.message}")
    return problems


def check_config(config: dict[str, Any]) -> None:
    """Raise :class:`ConfigError` for values the schema accepts but the workflow cannot use.

    Relative paths are resolved against the current directory (Snakemake's
    working directory).
    """
    dataset = config["dataset"]
    name, source = dataset["name"], str(dataset["source"])
    if (name == "demo") != (source == GENERATED):
        raise ConfigError(
            f"dataset.source: {source!r} with dataset.name {name!r}: the demo dataset is "
            f"'{GENERATED}' and only it is; give real datasets their own name and a URL or path."
        )
    if dataset.get("checksum"):
        parse_checksum(dataset["checksum"], key="dataset.checksum")
    if source != GENERATED:
        if not is_url(source) or urlparse(source).scheme == "file":
            path = local_source_path(source)
            if not path.exists():
                raise ConfigError(
                    f"dataset.source: {path} does not exist. Point it at the downloaded archive, "
                    "an extracted dataset folder, or an http(s) URL."
                )
        if registry_is_built(dataset):
            _check_metadata(dataset)
        elif not dataset.get("registry"):
            raise ConfigError(
                "dataset.registry: a real dataset needs its track registry CSV "
                "(or dataset.metadata to build it from)."
            )
        elif not Path(dataset["registry"]).is_file():
            raise ConfigError(f"dataset.registry: {dataset['registry']} does not exist.")
        if source_kind(dataset) == "archive":
            archive_name(dataset)
    if dataset.get("subset") and not Path(dataset["subset"]).is_file():
        raise ConfigError(f"dataset.subset: {dataset['subset']} does not exist.")
    for i, repair_source in enumerate(dataset.get("repair_sources", [])):
        if not Path(repair_source).exists():
            raise ConfigError(
                f"dataset.repair_sources[{i}]: {repair_source} does not exist. List folders or "
                "archives holding original copies of tracks (e.g. GTZAN's .au files)."
            )
    _check_features(config)
    _check_folds(config)
    wanted = selected_genres(dataset)
    known = dataset_genres(dataset)
    if wanted is not None and known is not None:
        unknown = [g for g in wanted if g not in known]
        if unknown:
            raise ConfigError(
                f"dataset.genres: unknown genre(s) {', '.join(unknown)}; "
                f"{name} has {', '.join(known)}."
            )


def _check_metadata(dataset: dict[str, Any]) -> None:
    metadata = dataset["metadata"]
    if dataset.get("registry"):
        raise ConfigError(
            "dataset.registry: set it to null when dataset.metadata builds the registry."
        )
    if not dataset.get("n_tracks"):
        raise ConfigError(
            "dataset.n_tracks: give the expected number of tracks (FMA-small: 8000) when "
            "dataset.metadata builds the registry; it sizes the feature jobs."
        )
    if metadata.get("checksum"):
        parse_checksum(metadata["checksum"], key="dataset.metadata.checksum")
    source = str(metadata["source"])
    is_local = not is_url(source) or urlparse(source).scheme == "file"
    if is_local and not local_source_path(source).is_file():
        raise ConfigError(
            f"dataset.metadata.source: {local_source_path(source)} does not exist. Point "
            "it at the downloaded metadata archive or an http(s) URL."
        )
    archive_name(metadata, key="dataset.metadata")


def dataset_clip_seconds(config: dict[str, Any]) -> float | None:
    """The dataset's clip length: its format's, else the demo's."""
    clip = config["dataset"]["format"].get("clip_seconds")
    if clip is None and config["dataset"]["source"] == GENERATED:
        clip = float(config["demo"]["clip_seconds"])
    return clip


def feature_clip_seconds(config: dict[str, Any]) -> float | None:
    """The clip length features are computed on (``features.clip_seconds`` or the dataset's)."""
    return config["features"].get("clip_seconds") or dataset_clip_seconds(config)


def expected_track_count(config: dict[str, Any]) -> int:
    """How many tracks the dataset should have, known before any job runs."""
    dataset = config["dataset"]
    wanted = selected_genres(dataset)
    if dataset["source"] == GENERATED:
        n_genres = len(wanted) if wanted is not None else len(GTZAN_GENRES)
        return n_genres * int(config["demo"]["clips_per_genre"])
    if registry_is_built(dataset):
        return int(dataset["n_tracks"])
    with open(dataset["registry"], newline="") as fh:
        rows = list(csv.DictReader(fh))
    if dataset.get("subset"):
        lines = Path(dataset["subset"]).read_text().splitlines()
        ids = {line.split("#", 1)[0].strip() for line in lines} - {""}
        rows = [row for row in rows if row["track_id"] in ids]
    if wanted is not None:
        rows = [row for row in rows if row["genre"] in wanted]
    return len(rows)


def _check_features(config: dict[str, Any]) -> None:
    features = config["features"]
    sets, segments = features["sets"], features["segments"]
    clip = feature_clip_seconds(config)
    for name, block in segments.items():
        seconds = block.get("seconds")
        if seconds is not None and clip is not None and seconds > clip:
            raise ConfigError(
                f"features.segments.{name}.seconds: {seconds:g} s is longer than the "
                f"{clip:g} s clips; shorten it or set features.clip_seconds."
            )
    for i, item in enumerate(features.get("consolidate", [])):
        feature, _, segmentation = item.partition("@")
        if feature not in sets:
            raise ConfigError(
                f"features.consolidate[{i}]: {item!r} names no feature set; "
                f"features.sets has {', '.join(sets)}."
            )
        if sets[feature]["kind"] == "gtzan_summary":
            raise ConfigError(
                f"features.consolidate[{i}]: {feature!r} is a per-track summary table, "
                "not a sequence; it is written as gtzan_summary.csv."
            )
        if segmentation not in segments:
            raise ConfigError(
                f"features.consolidate[{i}]: {item!r} names no segmentation; "
                f"features.segments has {', '.join(segments)}."
            )
    if features["n_fft"] < features["hop_length"]:
        raise ConfigError("features.hop_length: must not exceed features.n_fft.")


def _check_folds(config: dict[str, Any]) -> None:
    folds, dataset = config["folds"], config["dataset"]
    if "holdout" in folds["schemes"]:
        total = sum(folds["holdout"].values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError(f"folds.holdout: the ratios sum to {total:g}, not 1.")
    # registry columns the split schemes read; a registry built from FMA's metadata has
    # official_split only
    for scheme, column in (
        ("fault_filtered", "fault_filtered_split"),
        ("official", "official_split"),
    ):
        if scheme not in folds["schemes"] or dataset["source"] == GENERATED:
            continue
        if registry_is_built(dataset):
            header = ["official_split"]
        else:
            with open(dataset["registry"], newline="") as fh:
                header = next(csv.reader(fh), [])
        if column not in header:
            raise ConfigError(
                f"folds.schemes: {scheme} needs a {column} column in the track registry; "
                f"{dataset['name']} has none."
            )
    if "official" in folds["schemes"] and dataset["source"] == GENERATED:
        raise ConfigError("folds.schemes: the demo dataset has no official split; remove official.")
    if dataset["source"] == GENERATED and folds["n_folds"] > config["demo"]["clips_per_genre"]:
        raise ConfigError(
            f"folds.n_folds: {folds['n_folds']} folds need at least that many clips per "
            f"genre; demo.clips_per_genre is {config['demo']['clips_per_genre']}."
        )


def folds_of(config: dict[str, Any], scheme: str) -> list[int]:
    """The fold numbers a scheme produces."""
    if scheme in ("holdout", "fault_filtered", "official"):
        return [0]
    return list(range(int(config["folds"]["n_folds"])))
