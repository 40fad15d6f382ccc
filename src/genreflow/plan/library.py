"""The ``classify`` block: a whole music library classified by one model, as the
workflow's ``classify`` target (rules in ``workflow/rules/library.smk``).

Off while ``classify.library`` is null. Otherwise the library folder must exist, and
``classify.model`` is either one of this run's final models (its path
``results/final/<dataset>/<model>``, or null for the first of ``final.models``; the
workflow trains it first if needed) or an existing model folder (``model.pt`` or
``model.joblib``) from anywhere.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# a final model's folder, as workflow/rules/common.smk's FINAL pattern names it
FINAL_FOLDER = "results/final/{dataset}/{model}"
# genreflow.saved's TORCH_ARTIFACT and CLASSICAL_ARTIFACT (not imported from there,
# which would load pandas at parse)
ARTIFACTS = ("model.pt", "model.joblib")
# keys a `--config classify='{...}'` override gives as text (Snakemake reads nested
# values as text): read back as YAML, so the documented one-line command works
TYPED_KEYS = ("shard_files", "top_k", "whole", "threads", "least_confident")
NULLABLE_KEYS = ("library", "model", "name")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class ClassifyPlan:
    """What ``snakemake classify`` does; built by :func:`resolve_classify`."""

    library: str  # the music folder, absolute
    name: str  # names results/library/<dataset>/<name>/
    model_dir: str  # the model's folder (relative to the working directory, or absolute)
    artifact: str  # its model.pt or model.joblib: the shard jobs' input
    built: bool  # one of this run's final models (the workflow trains it first)
    shard_files: int  # files per classification job
    top_k: int
    whole: bool
    device: str
    threads: int  # CPU threads (and torch threads) per classification job
    least_confident: int  # files listed in the summary

    def describe(self) -> str:
        """One line on what the classify target does."""
        source = "a final model of this run" if self.built else "an existing model folder"
        return (
            f"  classify: {self.library} in jobs of {self.shard_files} files, by "
            f"{self.model_dir} ({source}), into results/library/<dataset>/{self.name}/"
        )


def typed_classify(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``config`` with the classify block's text read back as YAML where its key is not
    text (``shard_files: '2'`` → 2, ``whole: 'true'`` → True, ``model: 'null'`` → None):
    what ``--config classify='{...}'`` gives. Anything else is left to the schema."""
    block = config.get("classify")
    if not isinstance(block, Mapping):
        return config
    import yaml

    typed = dict(block)
    for key, value in block.items():
        if not isinstance(value, str):
            continue
        if key in NULLABLE_KEYS and value in ("null", "Null", "NULL", ""):
            typed[key] = None
        elif key in TYPED_KEYS:
            try:
                parsed = yaml.safe_load(value)
            except yaml.YAMLError:
                continue
            if isinstance(parsed, (int, bool)):
                typed[key] = parsed
    return {**config, "classify": typed}


def resolve_classify(
    block: Mapping[str, Any],
    dataset: str,
    final_models: Mapping[str, str],
    problems: list[str],
) -> ClassifyPlan | None:
    """The classify target's plan, or None when ``classify.library`` is null; each
    problem (a missing folder, a folder without a model) is added to ``problems``.
    ``final_models`` maps each final model of the run to its artifact's file name."""
    if block["library"] is None:
        return None
    library = Path(os.path.expanduser(block["library"])).absolute()
    if not library.is_dir():
        what = "is not a folder" if library.exists() else "does not exist"
        problems.append(
            f"classify.library: {block['library']} {what}; give the folder that holds your music"
        )
    model = _model(block["model"], dataset, final_models, problems)
    if model is None:
        return None
    model_dir, artifact, built = model
    name = block["name"] or _UNSAFE.sub("_", library.name).strip("_") or "library"
    return ClassifyPlan(
        library=os.path.normpath(library),
        name=name,
        model_dir=model_dir,
        artifact=artifact,
        built=built,
        shard_files=block["shard_files"],
        top_k=block["top_k"],
        whole=block["whole"],
        device=block["device"],
        threads=block["threads"],
        least_confident=block["least_confident"],
    )


def _model(
    given: str | None, dataset: str, final_models: Mapping[str, str], problems: list[str]
) -> tuple[str, str, bool] | None:
    """(folder, artifact, built by this run) of ``classify.model``; None after a problem."""
    finals = {FINAL_FOLDER.format(dataset=dataset, model=name): name for name in final_models}
    if given is None:
        if not final_models:
            problems.append(
                "classify.model: null takes the first of final.models, which is empty; "
                "give a model folder (results/final/<dataset>/<model>)"
            )
            return None
        given = next(iter(finals))
    folder = os.path.normpath(os.path.expanduser(given))
    for final, name in finals.items():
        if Path(folder).absolute() == Path(final).absolute():
            return final, f"{final}/{final_models[name]}", True
    for artifact in ARTIFACTS:
        if (Path(folder) / artifact).is_file():
            return folder, f"{folder}/{artifact}", False
    listed = ", ".join(finals) or "none: final.models is empty"
    problems.append(
        f"classify.model: {given} holds neither {' nor '.join(ARTIFACTS)}; give a trained "
        f"model's folder, or one of this run's final models ({listed})"
    )
    return None
