"""What every training job shares: its identity, its outputs and the fold it reads.

No torch and no scikit-learn here: a scikit-learn job does not pay for torch's import
nor a torch job for scikit-learn's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.evaluation.tables import segment_table, track_table
from genreflow.folds import ROLES
from genreflow.schemes import FINAL_SCHEME

CHECKPOINT_NAME = ".checkpoint.pt"


@dataclass(frozen=True)
class Job:
    """Identifies a training job and the files it writes.

    ``seed`` is the job's one of ``training.repeats`` (a final model's: the first);
    :attr:`random_seed` mixes in the fold. ``outputs`` maps ``model`` (``model.pt`` or
    ``model.joblib``), ``history`` and ``config`` to the paths the rule declares; an
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
