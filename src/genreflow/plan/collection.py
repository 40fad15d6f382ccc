"""Your own music (``dataset.source`` a folder or a CSV): discovered, labelled, checked
against its pin, all when the workflow is parsed.

Light (no pandas): the walk lists files and reads only the bytes of files whose size
or modification time moved since they were pinned.
"""

from __future__ import annotations

import shlex
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genreflow.collection.aliases import load_aliases
from genreflow.collection.discover import Discovery, discover, is_collection_csv
from genreflow.collection.pinned import collection_changes, is_pinned_registry, read_pinned
from genreflow.errors import ConfigError


@dataclass(frozen=True)
class CollectionPlan:
    """A collection as the plan found it."""

    root: str  # the folder relative paths start from (the CSV's folder)
    registry: str  # the pinned registry: read if it exists, else written by rule pin
    pinned: bool  # the registry exists (and the collection matches it)
    labels: Mapping[str, str]  # genre folder name (or CSV value) → label
    n_files: int
    genre_counts: Mapping[str, int]  # label → files
    has_split: bool  # a CSV split column gave some files a split
    min_duration_s: float
    max_bad_share: float
    # share of the pinned files whose registry names an artist; None before pinning
    artist_share: float | None = None

    def renamed(self) -> dict[str, str]:
        """The labels that differ from their folder name, for the plan's summary."""
        return {name: label for name, label in self.labels.items() if name != label}


def is_collection(dataset: Mapping[str, Any]) -> bool:
    """A folder of your own music, or a CSV of it, given as ``dataset.source``.

    A local folder is a collection when ``dataset.registry`` is null (the first run pins
    it) or a collection's registry (with ``path`` and ``file_md5`` columns); a published
    dataset's registry or ``dataset.metadata`` makes it an extracted dataset (GTZAN, say).
    """
    source = str(dataset["source"])
    if "://" in source or source == "generated":
        return False
    if is_collection_csv(source):
        return True
    if not Path(source).expanduser().is_dir() or dataset.get("metadata"):
        return False
    registry = dataset.get("registry")
    return not registry or is_pinned_registry(registry)


def default_registry(name: str) -> str:
    """Where a collection's first run pins it when ``dataset.registry`` is null."""
    return f"results/data/{name}/registry.csv"


def pin_command() -> str:
    """The command that accepts a changed collection: this run's, with ``pin`` first."""
    files = []
    argv = sys.argv[1:]
    for i, arg in enumerate(argv):
        if arg in ("--configfile", "--configfiles"):
            for value in argv[i + 1 :]:
                if value.startswith("-"):
                    break
                files.append(value)
    given = " ".join(f"--configfile {shlex.quote(f)}" for f in files) or "--configfile <yours>"
    if any(arg == "--config" or arg.startswith("--config=") for arg in argv):
        given += " (genreflow pin reads config files only: put what --config sets in one)"
    return f"genreflow pin {given}"


def resolve_collection(config: Mapping[str, Any]) -> tuple[CollectionPlan | None, list[str]]:
    """The collection of ``config`` (None when its source is not one) and its problems."""
    dataset = config["dataset"]
    if not is_collection(dataset):
        return None, []
    block = dataset["collection"]
    problems: list[str] = []
    try:
        aliases = load_aliases(block["genre_aliases"], block["alias_table"])
    except ConfigError as exc:
        return None, [str(exc)]
    found: Discovery = discover(dataset["source"])
    problems += found.problems
    labels = aliases.mapping(f.genre_name for f in found.files)
    registry = dataset.get("registry") or default_registry(dataset["name"])
    pinned = Path(registry).is_file()
    artists = None
    if pinned and not problems:
        pin_problems, artists = _pin_problems(found, registry, labels)
        problems += pin_problems
    counts = Counter(labels[f.genre_name] for f in found.files)
    if len(counts) < 2 and not found.problems:
        problems.append(
            f"dataset.source: {dataset['source']} holds {len(counts)} genre(s); genre "
            "classification needs at least 2."
        )
    return (
        CollectionPlan(
            root=str(found.root),
            registry=registry,
            pinned=pinned,
            labels=labels,
            n_files=len(found.files),
            genre_counts=dict(sorted(counts.items())),
            has_split=any(f.split for f in found.files),
            min_duration_s=float(block["min_duration_s"]),
            max_bad_share=float(block["max_bad_share"]),
            artist_share=artists,
        ),
        problems,
    )


def _pin_problems(
    found: Discovery, registry: str, labels: Mapping[str, str]
) -> tuple[list[str], float | None]:
    """How the collection differs from its pin, and the share of pinned files with an
    artist."""
    try:
        pinned = read_pinned(registry)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        return [f"dataset.registry: {exc}"], None
    artists = sum(bool(row.get("artist", "").strip()) for row in pinned) / max(1, len(pinned))
    changes = collection_changes(found.root, found.files, pinned, labels)
    if not changes:
        return [], artists
    if pinned and len(changes.missing) == len(pinned) and found.files:
        return (
            [
                (
                    f"dataset.registry: {registry} was pinned from another collection: none of "
                    f"its {len(pinned)} files is under {found.root}. Give this collection its "
                    "own dataset.name (or dataset.registry), or pin it in place of the other: "
                    f"{pin_command()}"
                )
            ],
            artists,
        )
    return (
        [
            (
                f"dataset.source: {found.root} is not the collection pinned in {registry}: "
                f"{changes.describe()}. Results would claim a collection they were not trained on; "
                f"to accept the change (every later stage then reruns): {pin_command()}"
            )
        ],
        artists,
    )


def collection_problems(
    config: Mapping[str, Any], collection: CollectionPlan, clip_seconds: float | None
) -> list[str]:
    """What a collection cannot do with this config: no clip length, a genre with fewer
    songs than the folds need, a split scheme it has no split for."""
    problems = []
    folds = config["folds"]
    if clip_seconds is None:
        problems.append(
            "features.clip_seconds: your own music needs a clip length (config/my_music.yaml "
            "sets 30): every song is cut to an excerpt of that length (features.excerpt)."
        )
    if any(s in ("stratified_kfold", "artist_kfold") for s in folds["schemes"]):
        wanted = config["dataset"]["genres"]
        for genre, count in collection.genre_counts.items():
            if count < folds["n_folds"] and (wanted == "all" or genre in wanted):
                problems.append(
                    f"dataset.source: genre {genre!r} has {count} song(s), fewer than the "
                    f"{folds['n_folds']} folds.n_folds needs; add songs, lower folds.n_folds "
                    "or leave the genre out with dataset.genres."
                )
    if "official" in folds["schemes"] and not collection.has_split:
        problems.append(
            "folds.schemes: official needs a split column (train/valid/test) in the "
            "dataset.source CSV; this collection has none."
        )
    if "fault_filtered" in folds["schemes"]:
        problems.append("folds.schemes: fault_filtered is GTZAN's split; remove it.")
    return problems
