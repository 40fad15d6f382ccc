"""Pretrained networks read from a folder of Hugging Face files: CLAP, MERT and MuQ.

The ``clap``, ``mert`` and ``muq`` kinds of ``features.sets`` load their network with
``transformers`` from a folder the user names (``features.sets.<set>.weights: PATH``),
laid out as a Hugging Face snapshot: ``config.json``, the weights
(``model.safetensors`` or ``pytorch_model.bin``, or a sharded index with its shards),
``preprocessor_config.json`` (CLAP, MERT), and for MERT its model code
(``configuration_MERT.py``, ``modeling_MERT.py``, named by ``config.json``'s
``auto_map``); MuQ's network is built by genreflow (:mod:`genreflow.embeddings.muq`,
not ``transformers``' auto classes) from the same kind of folder. Nothing is downloaded
implicitly: ``genreflow weights fetch NAME --to DIR`` fetches one of
:data:`KNOWN_CHECKPOINTS` into a folder (see :mod:`genreflow.embeddings.fetch`) and
records the SHA-256 of every file in ``DIR/SHA256SUMS`` and its source and licence in
``DIR/genreflow-weights.json``.

This module is light (no torch, no transformers): the plan checks a set's folder with
:func:`folder_problem` before any job, and training jobs record a set's provenance
(:func:`provenance`: the SHA-256 of every file the network needs, the licence) with
their model, from which the model card names them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genreflow.errors import ConfigError, DataError

# the rate each network was trained at and the chunk of audio it sees at once
CLAP_SAMPLE_RATE = 48_000
CLAP_CHUNK_SECONDS = 10.0  # ClapFeatureExtractor's max_length_s: HTSAT's whole input
MERT_SAMPLE_RATE = 24_000
MERT_CHUNK_SECONDS = 5.0  # MERT-v1 was pretrained on 5 s excerpts
MUQ_SAMPLE_RATE = 24_000
MUQ_CHUNK_SECONDS = 30.0  # a GTZAN clip: the MuQ README feeds a whole clip
RESAMPLER = "soxr_hq"

CONFIG_FILE = "config.json"
PREPROCESSOR_FILE = "preprocessor_config.json"
# one of these holds the weights, in transformers' order of preference
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
WEIGHT_INDEXES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
WEIGHTS_WORDS = "model.safetensors or pytorch_model.bin"
# MERT's model code, when config.json names none (its auto_map)
MERT_CODE = ("configuration_MERT.py", "modeling_MERT.py")
SUMS_FILE = "SHA256SUMS"  # sha256sum's format, written by genreflow weights fetch
RECORD_FILE = "genreflow-weights.json"  # where the files came from, and their licence
HUB = "https://huggingface.co"

# what config.json's model_type is for each kind ("hubert": a MERT converted to HuBERT;
# MuQ's config.json, MuQConfig's fields, has none: see model_type_of)
MODEL_TYPES = {"clap": ("clap",), "mert": ("mert_model", "hubert"), "muq": ("muq",)}
# the files each kind reads besides the weights (and MERT's model code)
KIND_FILES = {
    "clap": (CONFIG_FILE, PREPROCESSOR_FILE),
    "mert": (CONFIG_FILE, PREPROCESSOR_FILE),
    "muq": (CONFIG_FILE,),
}
# how a mert set's network is built: the folder's own model code (trust_remote_code,
# from that folder only), or transformers' HubertModel on the same weights
MERT_CODES = ("folder", "hubert")


@dataclass(frozen=True)
class Checkpoint:
    """A published checkpoint ``genreflow weights fetch`` knows."""

    name: str
    repo: str  # on the Hugging Face hub
    kind: str  # the embedding kind that reads it
    # what the kind needs of the repository; a tuple: the first of these that is there
    # (the weights: safetensors where the repository has them, else the pickle)
    files: tuple[str | tuple[str, ...], ...]
    licence: str
    # of the whole checkpoint and of its weights file, approximately (as the hub pages
    # gave them when this table was written; not checked against the files here)
    parameters: str
    size: str
    revision: str = "main"

    def url(self, file: str, base: str | None = None, revision: str | None = None) -> str:
        """``<base>/<repo>/resolve/<revision>/<file>``: the hub's (or a mirror's) URL."""
        root = (base or HUB).rstrip("/")
        return f"{root}/{self.repo}/resolve/{revision or self.revision}/{file}"


_MERT_FILES = (CONFIG_FILE, *MERT_CODE, PREPROCESSOR_FILE, WEIGHT_FILES)
KNOWN_CHECKPOINTS: dict[str, Checkpoint] = {
    c.name: c
    for c in (
        Checkpoint(
            "larger_clap_music",
            "laion/larger_clap_music",
            "clap",
            (CONFIG_FILE, PREPROCESSOR_FILE, WEIGHT_FILES),
            "Apache-2.0",
            "about 194 M (both towers)",
            "about 0.8 GB",
        ),
        Checkpoint(
            "MERT-v1-95M",
            "m-a-p/MERT-v1-95M",
            "mert",
            _MERT_FILES,
            "CC-BY-NC-4.0",
            "95 M",
            "about 0.4 GB",
        ),
        Checkpoint(
            "MERT-v1-330M",
            "m-a-p/MERT-v1-330M",
            "mert",
            _MERT_FILES,
            "CC-BY-NC-4.0",
            "330 M",
            "about 1.3 GB",
        ),
        Checkpoint(
            "MuQ-large-msd-iter",
            "OpenMuQ/MuQ-large-msd-iter",
            "muq",
            (CONFIG_FILE, WEIGHT_FILES),
            "CC-BY-NC-4.0",
            "about 300 M",
            "about 1.2 GB",
        ),
    )
}
DEFAULT_CHECKPOINT = {
    "clap": "larger_clap_music",
    "mert": "MERT-v1-95M",
    "muq": "MuQ-large-msd-iter",
}


def known_checkpoint(name: str) -> Checkpoint:
    """The checkpoint called ``name`` (or its hub repository), else a ConfigError."""
    for checkpoint in KNOWN_CHECKPOINTS.values():
        if name.lower() in (checkpoint.name.lower(), checkpoint.repo.lower()):
            return checkpoint
    raise ConfigError(
        f"{name!r} is not a checkpoint genreflow knows; known: {', '.join(KNOWN_CHECKPOINTS)}."
    )


# ---- what a folder holds ----


def read_config(folder: str | os.PathLike) -> dict[str, Any]:
    """``config.json`` of ``folder`` as a dict ({} when it is missing or unreadable)."""
    try:
        config = json.loads((Path(folder) / CONFIG_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def model_type_of(config: Mapping[str, Any]) -> str | None:
    """config.json's ``model_type``; ``muq`` for MuQConfig's fields, which name none."""
    if config.get("model_type"):
        return str(config["model_type"])
    if "w2v2_config" in config and "encoder_dim" in config:
        return "muq"
    return None


def weight_files(folder: str | os.PathLike) -> list[Path]:
    """The weights of ``folder`` transformers would load: one file, or an index and its
    shards (the shards whether present or not); [] when there are none."""
    folder = Path(folder)
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return [folder / name]
    for name in WEIGHT_INDEXES:
        index = folder / name
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                return [index]
            return [index, *(folder / shard for shard in shards)]
    return []


def code_files(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The model code a config's ``auto_map`` names (``"modeling_MERT.MERTModel"`` →
    ``modeling_MERT.py``), else MERT's two files."""
    auto_map = config.get("auto_map")
    if isinstance(auto_map, Mapping) and auto_map:
        names = []
        for reference in auto_map.values():
            reference = reference[0] if isinstance(reference, list | tuple) else reference
            module = str(reference).split("--")[-1].rpartition(".")[0]
            if module and f"{module}.py" not in names:
                names.append(f"{module}.py")
        return tuple(names)
    return MERT_CODE


def uses_folder_code(kind: str, code: str | None) -> bool:
    """Whether a set runs model code from its folder (MERT's, with ``code: folder``)."""
    return kind == "mert" and (code or "folder") == "folder"


def expected_files(kind: str, code: str | None = None, config: Mapping | None = None) -> str:
    """The files a ``kind`` folder must hold, in words."""
    names = [CONFIG_FILE, WEIGHTS_WORDS, *KIND_FILES[kind][1:]]
    if uses_folder_code(kind, code):
        names += code_files(config or {})
    return ", ".join(names)


def folder_problem(
    key: str, folder: Any, kind: str, code: str | None = None, *, checkpoint: str | None = None
) -> str | None:
    """One line on what is wrong with set ``key``'s weights folder, or None.

    The folder must exist and hold :func:`expected_files`, its ``config.json`` must be
    of the kind's model type, and a MERT built as transformers' HubertModel
    (``code: hubert``) must not use the CQT input or DeepNorm HubertModel lacks.
    """
    name = checkpoint or DEFAULT_CHECKPOINT.get(kind, "NAME")
    is_path = isinstance(folder, str | os.PathLike) and bool(str(folder))
    fetch = f"fetch one with `genreflow weights fetch {name} --to {folder if is_path else 'DIR'}`"
    if not is_path:
        return f"{key}: {folder!r} is not a folder path; {fetch}"
    path = Path(folder)
    if not path.is_dir():
        state = "is not a folder" if path.exists() else "does not exist"
        if not path.exists() and re.fullmatch(r"[\w.-]+/[\w.-]+", str(folder)):
            state += " (a hub repository id is never downloaded here)"
        return (
            f"{key}: {folder} {state}; a {kind} checkpoint folder holds "
            f"{expected_files(kind, code)}: {fetch}"
        )
    config = read_config(path)
    model_type = model_type_of(config)
    if config and model_type not in MODEL_TYPES[kind]:
        return (
            f"{key}: {folder} holds a {model_type or 'unknown'} checkpoint (config.json "
            f"model_type {model_type!r}), not {kind} ({' or '.join(MODEL_TYPES[kind])}): {fetch}"
        )
    missing = [f for f in KIND_FILES[kind] if not (path / f).is_file()]
    weights = weight_files(path)
    if not weights:
        missing.insert(1, WEIGHTS_WORDS)
    else:
        missing += [str(p.relative_to(path)) for p in weights if not p.is_file()]
    if uses_folder_code(kind, code):
        missing += [f for f in code_files(config) if not (path / f).is_file()]
    if missing:
        return (
            f"{key}: {folder} lacks {', '.join(missing)}; a {kind} checkpoint folder holds "
            f"{expected_files(kind, code, config)}: {fetch}"
        )
    if model_type not in MODEL_TYPES[kind]:  # config.json unreadable
        return f"{key}: {path / CONFIG_FILE} is not a readable JSON config: {fetch}"
    if kind == "mert":
        if code == "hubert":
            extras = [k for k in ("feature_extractor_cqt", "deepnorm") if config.get(k)]
            if extras:
                return (
                    f"{key}: {folder}'s config.json sets {' and '.join(extras)}, which "
                    "transformers' HubertModel does not have: use code: folder"
                )
        elif model_type == "hubert" or not config.get("auto_map"):
            return (
                f"{key}: {folder}'s config.json names no model code (auto_map); for a "
                "HuBERT-layout checkpoint set code: hubert"
            )
    return None


def folder_set_problems(sets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The plan's check of every clap, mert and muq set's weights folder: one line per set."""
    problems = []
    for name, block in sets.items():
        if block.get("kind") in MODEL_TYPES:
            problem = folder_problem(
                f"features.sets.{name}.weights",
                block.get("weights"),
                block["kind"],
                block.get("code"),
            )
            if problem is not None:
                problems.append(problem)
    return problems


def needed_files(folder: str | os.PathLike, kind: str, code: str | None = None) -> list[Path]:
    """Every file of ``folder`` the network is built from (config, preprocessor, weights,
    model code), in a fixed order; raises the plan's one-line ConfigError if one is missing."""
    problem = folder_problem("weights", folder, kind, code)
    if problem is not None:
        raise ConfigError(problem)
    path = Path(folder)
    files = [path / name for name in KIND_FILES[kind]]
    if uses_folder_code(kind, code):
        files += [path / name for name in code_files(read_config(path))]
    return files + weight_files(path)


# ---- provenance ----


def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file (hashlib; genreflow.checksums would pull in soundfile)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_sums(folder: str | os.PathLike) -> dict[str, str]:
    """``{file: sha256}`` of ``folder``'s SHA256SUMS ({} when there is none)."""
    try:
        text = (Path(folder) / SUMS_FILE).read_text()
    except OSError:
        return {}
    sums = {}
    for line in text.splitlines():
        digest, _, name = line.strip().partition(" ")
        if digest and name:
            sums[name.strip().lstrip("*")] = digest.lower()
    return sums


def sums_text(digests: Mapping[str, str]) -> str:
    """SHA256SUMS' text (``sha256sum -c`` reads it) of ``{file: sha256}``."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(digests.items()))


def folder_digests(
    folder: str | os.PathLike, files: list[Path], *, verify: bool = False
) -> dict[str, str]:
    """``{file: sha256}`` of ``files`` (paths in ``folder``).

    A file SHA256SUMS lists is taken from it, unless ``verify``: then every file is
    hashed and one that differs from SHA256SUMS is a DataError naming it (the network
    is built from what was fetched, or not at all). A file SHA256SUMS does not list is
    hashed.
    """
    folder = Path(folder)
    recorded = read_sums(folder)
    digests = {}
    for path in files:
        name = path.relative_to(folder).as_posix()
        if name in recorded and not verify:
            digests[name] = recorded[name]
            continue
        digest = sha256(path)
        if name in recorded and recorded[name] != digest:
            raise DataError(
                f"{path}: SHA-256 {digest} is not the {recorded[name]} that "
                f"{folder / SUMS_FILE} records; the file changed since it was fetched: "
                "fetch it again (genreflow weights fetch) or remove its line."
            )
        digests[name] = digest
    return digests


def fetch_record(folder: str | os.PathLike) -> dict[str, Any]:
    """``genreflow-weights.json`` of ``folder`` ({} when there is none)."""
    try:
        record = json.loads((Path(folder) / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def checkpoint_of(folder: str | os.PathLike) -> Checkpoint | None:
    """The known checkpoint a folder holds: by its fetch record, else by the hub name
    its ``config.json`` carries (``_name_or_path``)."""
    names = [fetch_record(folder).get("name"), read_config(folder).get("_name_or_path")]
    for name in names:
        if name:
            try:
                return known_checkpoint(str(name))
            except ConfigError:
                continue
    return None


def licence_of(folder: str | os.PathLike, licence: str | None = None) -> str:
    """The set's ``licence``, else the fetch record's, else the known checkpoint's."""
    if licence:
        return licence
    recorded = fetch_record(folder).get("licence")
    if recorded:
        return str(recorded)
    checkpoint = checkpoint_of(folder)
    if checkpoint is not None:
        return checkpoint.licence
    return "unknown (set the set's licence)"


def provenance(
    folder: str | os.PathLike,
    kind: str,
    code: str | None = None,
    licence: str | None = None,
    *,
    verify: bool = False,
) -> dict[str, Any]:
    """What a model built on a ``kind`` folder records: the folder, the checkpoint and
    where it came from, the licence, and the SHA-256 of every file the network needs."""
    files = needed_files(folder, kind, code)
    record = fetch_record(folder)
    checkpoint = checkpoint_of(folder)
    source = None
    if record.get("repo"):
        source = f"{record['repo']}@{record.get('revision', 'main')}"
    elif checkpoint is not None:
        source = checkpoint.repo
    return {
        "folder": str(Path(folder).resolve()),
        "checkpoint": checkpoint.name if checkpoint else None,
        "source": source,
        "licence": licence_of(folder, licence),
        "sha256": folder_digests(folder, files, verify=verify),
    }
