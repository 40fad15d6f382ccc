"""The ``folds`` block: fold schemes, their folds, and the ratios they split by.

The one place fold settings are checked; :func:`genreflow.folds.assign_folds` takes
them as :meth:`FoldsPlan.to_dict` gives them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genreflow.schemes import KFOLD_SCHEMES, REGISTRY_SPLITS, ROLES, folds_of


@dataclass(frozen=True)
class FoldsPlan:
    """The fold schemes of a run and how each splits the tracks."""

    schemes: Mapping[str, tuple[int, ...]]  # fold scheme → its folds
    n_folds: int  # folds of a k-fold scheme
    val_fraction: float  # share of a fold's training tracks carved out as val
    seed: int  # seeds every random split
    holdout: Mapping[str, float]  # train/val/test ratios of the holdout scheme, summing to 1
    artist_coverage: float  # share of tracks naming an artist that artist_kfold needs

    @property
    def min_tracks_per_genre(self) -> int:
        """Usable tracks a genre needs: one per fold of a k-fold scheme, else two."""
        return self.n_folds if any(s in KFOLD_SCHEMES for s in self.schemes) else 2

    def to_dict(self) -> dict[str, Any]:
        """The keyword arguments of :func:`genreflow.folds.assign_folds` (less the scheme)."""
        return {
            "n_folds": self.n_folds,
            "val_fraction": self.val_fraction,
            "seed": self.seed,
            "holdout": dict(self.holdout),
            "artist_coverage": self.artist_coverage,
        }


def holdout_problems(holdout: Mapping[str, Any]) -> list[str]:
    """Ratios of ``folds.holdout`` that are not a train/val/test split summing to 1."""
    unknown = sorted(set(holdout) - set(ROLES))
    if unknown:
        return [f"folds.holdout: unknown key(s) {', '.join(unknown)}; use {', '.join(ROLES)}."]
    problems = []
    for role, value in holdout.items():
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        if number is None:
            problems.append(f"folds.holdout.{role}: {value!r} is not a number.")
        elif not math.isfinite(number) or not 0 <= number < 1:
            problems.append(f"folds.holdout.{role}: {value!r} is not a ratio in [0, 1).")
    for role in ("train", "test"):
        if not holdout.get(role):
            problems.append(f"folds.holdout: the {role} ratio must be given and above 0.")
    if not problems:
        total = sum(holdout.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            problems.append(
                f"folds.holdout: ratios {dict(holdout)} sum to {total:g}; they must sum to 1."
            )
    return problems


def folds_problems(
    folds: Mapping[str, Any],
    *,
    dataset: str,
    generated: bool,
    registry_columns: list[str] | None,
    demo_clips_per_genre: int | None,
) -> list[str]:
    """Holdout ratios, registry split columns, and what the demo cannot split.

    ``registry_columns``: the registry's header (None: not readable, so not checked);
    ``demo_clips_per_genre``: the demo's clips of a genre (None: not the demo).
    """
    problems = []
    if "holdout" in folds["schemes"]:
        problems += holdout_problems(folds["holdout"])
    for scheme, (column, _) in REGISTRY_SPLITS.items():
        if scheme not in folds["schemes"] or generated or registry_columns is None:
            continue
        if column not in registry_columns:
            problems.append(
                f"folds.schemes: {scheme} needs a {column} column in the track registry; "
                f"{dataset} has none."
            )
    if "official" in folds["schemes"] and generated:
        problems.append("folds.schemes: the demo dataset has no official split; remove official.")
    if (
        demo_clips_per_genre is not None
        and any(s in KFOLD_SCHEMES for s in folds["schemes"])
        and folds["n_folds"] > demo_clips_per_genre
    ):
        problems.append(
            f"folds.n_folds: {folds['n_folds']} folds need at least that many clips per "
            f"genre; demo.clips_per_genre is {demo_clips_per_genre}."
        )
    return problems


def holdout_ratios(holdout: Mapping[str, Any]) -> dict[str, float]:
    """Checked ``folds.holdout`` ratios as the holdout scheme splits by: a val ratio of 0
    where none is given (val is then carved from the train part by ``val_fraction``)."""
    return {"val": 0.0, **{role: float(value) for role, value in holdout.items()}}


def resolve_folds(folds: Mapping[str, Any]) -> FoldsPlan:
    """The :class:`FoldsPlan` of a checked ``folds`` block."""
    return FoldsPlan(
        schemes={scheme: tuple(folds_of(scheme, folds["n_folds"])) for scheme in folds["schemes"]},
        n_folds=int(folds["n_folds"]),
        val_fraction=float(folds["val_fraction"]),
        seed=int(folds["seed"]),
        holdout=holdout_ratios(folds["holdout"]),
        artist_coverage=float(folds["artist_coverage"]),
    )
