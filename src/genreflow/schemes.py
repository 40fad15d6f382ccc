"""The fold schemes: their names, their fold numbers and the registry columns they read.

Kept apart from :mod:`genreflow.folds` (which splits tracks with scikit-learn) so that
parsing the workflow can plan every scheme's jobs without importing it.
"""

from __future__ import annotations

# a track's part in a fold: trained on, validated on (early stopping, selection), tested on
ROLES = ("train", "val", "test")
SCHEMES = ("stratified_kfold", "holdout", "fault_filtered", "official", "artist_kfold")
KFOLD_SCHEMES = ("stratified_kfold", "artist_kfold")
# the one "fold" of a final model's split (every usable track, a val share for stopping)
FINAL_SCHEME = "final"
FAULT_FILTERED_COLUMN = "fault_filtered_split"
# Values of the registry's fault_filtered_split column and the role each maps to.
FAULT_FILTERED_ROLES = {"train": "train", "valid": "val", "test": "test"}
# Schemes read from a registry column: the column and what its values mean.
REGISTRY_SPLITS: dict[str, tuple[str, dict[str, str]]] = {
    "fault_filtered": (FAULT_FILTERED_COLUMN, FAULT_FILTERED_ROLES),
    # a dataset's own published split, e.g. FMA's (set, split)
    "official": ("official_split", {"training": "train", "validation": "val", "test": "test"}),
}


def folds_of(scheme: str, n_folds: int) -> list[int]:
    """The fold numbers ``scheme`` produces: ``n_folds`` of them for a k-fold scheme, else one."""
    return list(range(n_folds)) if scheme in KFOLD_SCHEMES else [0]
