"""What a config's ``dataset`` block means, and the problems a JSON schema cannot see.

Used by :mod:`genreflow.plan` when the workflow is parsed, so it stays light (no
numpy, pandas or torch). Every problem names the config key and says what to do.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from genreflow.checksums import parse_checksum
from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.errors import ConfigError, closest, unknown_key
from genreflow.genres import GTZAN_GENRES
from genreflow.schemes import KFOLD_SCHEMES, REGISTRY_SPLITS

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

    Snakemake's own ``validate`` reports only the first violation, deep in a dump of the
    schema; this lists them all, readably, with the closest valid name for a typo.
    """
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return _problems(validator, config, [])


def _problems(validator: Any, instance: Any, path: list[object]) -> list[str]:
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path)):
        parts = [*path, *error.absolute_path]
        key = ".".join(str(part) for part in parts) or "(top level)"
        prefix = "" if not parts else f"{key}."
        if error.validator == "additionalProperties":
            allowed = list(error.schema.get("properties", {}))
            for name in sorted(set(error.instance) - set(allowed)):
                problems.append(unknown_key(f"{prefix}{name}", name, allowed))
        elif error.validator == "oneOf" and _kind_branch(error) is not None:
            # a block chosen by its `kind` (features.sets, augment.copies): its own errors
            branch = validator.evolve(schema=_kind_branch(error))
            problems += _problems(branch, error.instance, parts)
        elif error.validator == "oneOf" and isinstance(error.instance, dict):
            kinds = [
                b.get("properties", {}).get("kind", {}).get("const") for b in error.schema["oneOf"]
            ]
            kind = error.instance.get("kind")
            problems.append(
                f"{prefix}kind: {kind!r} is not a known kind{closest(kind, kinds)} "
                f"(allowed: {', '.join(str(k) for k in kinds if k)})"
            )
        else:
            problems.append(f"{key}: {error.message}")
    return problems


def _kind_branch(error: Any) -> dict[str, Any] | None:
    """The ``oneOf`` branch whose ``kind`` constant matches the instance's, if any."""
    if not isinstance(error.instance, dict):
        return None
    for branch in error.schema["oneOf"]:
        if branch.get("properties", {}).get("kind", {}).get("const") == error.instance.get("kind"):
            return branch
    return None


def dataset_problems(config: dict[str, Any]) -> list[str]:
    """Values the schema accepts but the workflow cannot use, one line each.

    Relative paths are resolved against the current directory (Snakemake's
    working directory).
    """
    problems: list[str] = []
    dataset = config["dataset"]
    name, source = dataset["name"], str(dataset["source"])
    if (name == "demo") != (source == GENERATED):
        problems.append(
            f"dataset.source: {source!r} with dataset.name {name!r}: the demo dataset is "
            f"'{GENERATED}' and only it is; give real datasets their own name and a URL or path."
        )
    if dataset.get("checksum"):
        problems += _caught(parse_checksum, dataset["checksum"], key="dataset.checksum")
    registry_ok = source == GENERATED
    if source != GENERATED:
        if not is_url(source) or urlparse(source).scheme == "file":
            path = local_source_path(source)
            if not path.exists():
                problems.append(
                    f"dataset.source: {path} does not exist. Point it at the downloaded "
                    "archive, an extracted dataset folder, or an http(s) URL."
                )
        if registry_is_built(dataset):
            problems += _metadata_problems(dataset)
            registry_ok = not problems
        elif not dataset.get("registry"):
            problems.append(
                "dataset.registry: a real dataset needs its track registry CSV "
                "(or dataset.metadata to build it from)."
            )
        elif not Path(dataset["registry"]).is_file():
            problems.append(f"dataset.registry: {dataset['registry']} does not exist.")
        else:
            registry_ok = True
        if source_kind(dataset) == "archive":
            problems += _caught(archive_name, dataset)
    if dataset.get("subset") and not Path(dataset["subset"]).is_file():
        problems.append(f"dataset.subset: {dataset['subset']} does not exist.")
    for i, repair_source in enumerate(dataset.get("repair_sources", [])):
        if not Path(repair_source).exists():
            problems.append(
                f"dataset.repair_sources[{i}]: {repair_source} does not exist. List folders "
                "or archives holding original copies of tracks (e.g. GTZAN's .au files)."
            )
    problems += features_problems(config)
    if registry_ok:
        problems += folds_problems(config)
        wanted = selected_genres(dataset)
        known = dataset_genres(dataset)
        if wanted is not None and known is not None:
            for genre in wanted:
                if genre not in known:
                    problems.append(
                        f"dataset.genres: unknown genre {genre!r}{closest(genre, known)} "
                        f"({name} has {', '.join(known)})"
                    )
    return problems


def _caught(function: Any, *args: Any, **kwargs: Any) -> list[str]:
    """The message of the :class:`ConfigError` ``function`` raises, as a problem list."""
    try:
        function(*args, **kwargs)
    except ConfigError as exc:
        return [str(exc)]
    return []


def _metadata_problems(dataset: dict[str, Any]) -> list[str]:
    problems = []
    metadata = dataset["metadata"]
    if dataset.get("registry"):
        problems.append(
            "dataset.registry: set it to null when dataset.metadata builds the registry."
        )
    if not dataset.get("n_tracks"):
        problems.append(
            "dataset.n_tracks: give the expected number of tracks (FMA-small: 8000) when "
            "dataset.metadata builds the registry; it sizes the feature jobs."
        )
    if metadata.get("checksum"):
        problems += _caught(parse_checksum, metadata["checksum"], key="dataset.metadata.checksum")
    source = str(metadata["source"])
    is_local = not is_url(source) or urlparse(source).scheme == "file"
    if is_local and not local_source_path(source).is_file():
        problems.append(
            f"dataset.metadata.source: {local_source_path(source)} does not exist. Point "
            "it at the downloaded metadata archive or an http(s) URL."
        )
    problems += _caught(archive_name, metadata, key="dataset.metadata")
    return problems


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


def features_problems(config: dict[str, Any]) -> list[str]:
    """Segments longer than the clips, arrays naming no set or segmentation, hop > n_fft."""
    problems = []
    features = config["features"]
    sets, segments = features["sets"], features["segments"]
    clip = feature_clip_seconds(config)
    for name, block in segments.items():
        seconds = block.get("seconds")
        if seconds is not None and clip is not None and seconds > clip:
            problems.append(
                f"features.segments.{name}.seconds: {seconds:g} s is longer than the "
                f"{clip:g} s clips; shorten it or set features.clip_seconds."
            )
    for i, item in enumerate(features.get("consolidate", [])):
        feature, _, segmentation = item.partition("@")
        if feature not in sets:
            problems.append(
                f"features.consolidate[{i}]: {item!r} names no feature set"
                f"{closest(feature, sets)} (features.sets has {', '.join(sets)})"
            )
        elif sets[feature]["kind"] == "gtzan_summary":
            problems.append(
                f"features.consolidate[{i}]: {feature!r} is a per-track summary table, "
                "not a sequence; it is written as gtzan_summary.csv."
            )
        if segmentation not in segments:
            problems.append(
                f"features.consolidate[{i}]: {item!r} names no segmentation"
                f"{closest(segmentation, segments)} (features.segments has {', '.join(segments)})"
            )
        else:
            problems += frame_problems(f"features.consolidate[{i}]", item, features)
    if features["n_fft"] < features["hop_length"]:
        problems.append("features.hop_length: must not exceed features.n_fft.")
    return problems


def frame_problems(key: str, item: str, features: dict[str, Any]) -> list[str]:
    """An embedding set's FEATURE@SEGMENTATION whose segments are shorter than one frame."""
    feature, _, segmentation = item.partition("@")
    block = features["sets"].get(feature) or {}
    if block.get("kind") not in EMBEDDING_KINDS or segmentation not in features["segments"]:
        return []
    frame = EMBEDDING_KINDS[block["kind"]].frame_seconds
    problems = []
    for part in ("seconds", "hop_seconds"):
        seconds = features["segments"][segmentation].get(part)
        if seconds is not None and round(seconds / frame) < 1:
            problems.append(
                f"{key}: {item!r}: features.segments.{segmentation}.{part} ({seconds:g} s) is "
                f"shorter than one {frame:.3f} s frame of {block['kind']}; use a longer "
                "segmentation."
            )
    return problems


def folds_problems(config: dict[str, Any]) -> list[str]:
    """Holdout ratios, registry split columns, and what the demo cannot split."""
    problems = []
    folds, dataset = config["folds"], config["dataset"]
    generated = dataset["source"] == GENERATED
    if "holdout" in folds["schemes"]:
        total = sum(folds["holdout"].values())
        if abs(total - 1.0) > 1e-6:
            problems.append(f"folds.holdout: the ratios sum to {total:g}, not 1.")
    for scheme, (column, _) in REGISTRY_SPLITS.items():
        if scheme not in folds["schemes"] or generated:
            continue
        if registry_is_built(dataset):
            # a registry built from FMA's metadata has its official split only
            header = [REGISTRY_SPLITS["official"][0]]
        else:
            with open(dataset["registry"], newline="") as fh:
                header = next(csv.reader(fh), [])
        if column not in header:
            problems.append(
                f"folds.schemes: {scheme} needs a {column} column in the track registry; "
                f"{dataset['name']} has none."
            )
    if "official" in folds["schemes"] and generated:
        problems.append("folds.schemes: the demo dataset has no official split; remove official.")
    if (
        generated
        and any(s in KFOLD_SCHEMES for s in folds["schemes"])
        and folds["n_folds"] > config["demo"]["clips_per_genre"]
    ):
        problems.append(
            f"folds.n_folds: {folds['n_folds']} folds need at least that many clips per "
            f"genre; demo.clips_per_genre is {config['demo']['clips_per_genre']}."
        )
    return problems
