"""What every training job shares: its identity, its outputs and the fold it reads.

No torch and no scikit-learn here: a scikit-learn job does not pay for torch's import
nor a torch job for scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from genreflow.atomic import write_json
from genreflow.environment import node_facts
from genreflow.predictions import segment_table, track_table
from genreflow.saved import input_sample_rates
from genreflow.schemes import FINAL_SCHEME, ROLES
from genreflow.training.provenance import input_embeddings, package_versions
from genreflow.training.settings import RunSettings

CHECKPOINT_NAME = ".checkpoint.pt"


@dataclass(frozen=True)
class Job:
    """Identifies a training job and the files it writes.

    ``seed`` is the job's one of ``training.repeats`` (a final model's: the first);
    :attr:`random_seed` mixes in the fold. ``outputs`` maps ``model`` (``model.pt`` or
    ``model.joblib``), ``history``, ``config`` and ``timing`` to the paths the rule declares; an
    interrupted torch job keeps its progress in :attr:`checkpoint`, beside the model.
    """

    dataset: str
    scheme: str
    model: str
    fold: int
    seed: int
    outputs: Mapping[str, str]

    @classmethod
    def from_rule(cls, wildcards: Mapping[str, str], outputs: Mapping[str, str], seed: int) -> Job:
        """The job of a training rule: its wildcards, its named outputs and its seed."""
        return cls(
            dataset=wildcards["dataset"],
            # a final model's rule has neither: it is the one fold of the "final" split
            scheme=wildcards.get("scheme", FINAL_SCHEME),
            model=wildcards["model"],
            fold=int(wildcards.get("fold", 0)),
            seed=int(seed),
            outputs=dict(outputs),
        )

    @property
    def random_seed(self) -> int:
        """What seeds the job's generators: distinct for every (seed, fold) pair, as
        seeds are below 1000 (the config schema's limit)."""
        return self.seed + 1000 * self.fold

    @property
    def checkpoint(self) -> Path:
        return Path(self.outputs["model"]).with_name(CHECKPOINT_NAME)


def run_record(
    job: Job,
    settings: RunSettings,
    features: Mapping[str, Any],
    *,
    genres: Sequence[str],
    n_examples: Mapping[str, int],
    reproduces: str,
    precomputed: Mapping[str, Mapping[str, Any]] | None = None,
    **facts: Any,
) -> dict[str, Any]:
    """What ``config.json`` records of a run, torch or scikit-learn: the job, the
    settings the plan resolved for it (as it ran them), the data and the features, and
    ``facts`` of the family (input shapes, device, parameters, columns, ...);
    ``precomputed``: rule import_precomputed's records of its precomputed inputs."""
    return {
        "dataset": job.dataset,
        "scheme": job.scheme,
        "model": job.model,
        "fold": job.fold,
        "repeat": job.seed,  # the run's one of training.repeats
        "seed": job.random_seed,
        "inputs": list(settings.inputs),
        "genres": list(genres),
        "arch": dict(settings.arch),
        "train": settings.train.as_dict() if settings.train is not None else None,
        **facts,
        "n_examples": dict(n_examples),
        "reproduces": reproduces,
        "features": dict(features),
        "sample_rates": input_sample_rates(features, settings.inputs),
        "embeddings": input_embeddings(features, settings.inputs, precomputed),
    }


def write_run_files(
    job: Job, history: Mapping[str, Any], record: Mapping[str, Any], timing: Mapping[str, Any]
) -> None:
    """``history.json``, ``config.json`` (the record, with package versions and the node
    it ran on) and ``timing.json`` (wall-clock seconds, and the epoch a resumed job went
    on from: what differs between two runs of one job), each written atomically."""
    write_json(dict(history), job.outputs["history"])
    write_json(dict(timing), job.outputs["timing"])
    write_json(
        {**record, "versions": package_versions(), "node": node_facts()}, job.outputs["config"]
    )


def genres_of(manifest: pd.DataFrame) -> list[str]:
    """The class labels: the manifest's genres, sorted (output unit i is genres[i])."""
    return sorted(manifest.loc[manifest["status"] != "quarantined", "genre"].unique())


def training_roles(folds: pd.DataFrame, fold: int) -> tuple[str, ...]:
    """The parts of ``fold`` a training job reads: train and, where the fold has one, val.

    Never the test part: evaluation scores it once, from the saved model.
    """
    present = set(folds.loc[folds["fold"] == fold, "role"])
    return tuple(role for role in ROLES if role in present and role != "test")


def track_accuracy(index: pd.DataFrame, probabilities: np.ndarray, genres: Sequence[str]) -> float:
    """Accuracy after averaging each track's segment probabilities."""
    tracks = track_table(segment_table(index, probabilities, genres), genres)
    return float((tracks["genre"] == tracks["predicted"]).mean())
