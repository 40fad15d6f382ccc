"""Folds: which tracks train, validate and test in each fold of an evaluation scheme.

Every scheme assigns whole tracks (segments and augmented copies follow their track,
see :func:`training_rows`) and leaves quarantined tracks out. The result is a long
table with one row per (usable track, fold): ``track_id``, ``fold`` (0, 1, ...) and
``role`` (``train``, ``val`` or ``test``). ``val`` is for early stopping and model
selection; ``test`` is only ever scored.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from genreflow.errors import ConfigError, DataError
from genreflow.schemes import KFOLD_SCHEMES, REGISTRY_SPLITS, ROLES, SCHEMES

# scikit-learn's splitters are imported where a scheme is assigned: training and
# evaluation jobs read fold rows (training_rows) without loading scikit-learn
log = logging.getLogger(__name__)

FOLD_COLUMNS = ("track_id", "fold", "role")


def assign_folds(
    manifest: pd.DataFrame,
    scheme: str,
    *,
    seed: int,
    n_folds: int = 5,
    val_fraction: float = 0.2,
    holdout: Mapping[str, float] | None = None,
    split_table: pd.DataFrame | None = None,
    duplicates: Mapping[str, int] | None = None,
    artist_coverage: float = 0.0,
) -> pd.DataFrame:
    """Assign every usable track of ``manifest`` a role in each fold of ``scheme``.

    Parameters
    ----------
    manifest : DataFrame
        The manifest (``track_id``, ``genre``, ``status``; ``artist`` for
        ``artist_kfold``). Quarantined tracks are left out.
    scheme : str
        One of :data:`SCHEMES`:

        - ``stratified_kfold``: ``StratifiedKFold`` on genre gives each fold's test
          part; ``val_fraction`` of the remaining tracks (stratified) become val.
        - ``holdout``: one fold split by the ``holdout`` ratios, stratified by genre;
          if the ``val`` ratio is 0 or absent, val is ``val_fraction`` of the train part.
        - ``official``: one fold taken from ``split_table``'s ``official_split``
          (``training`` / ``validation`` / ``test``: FMA's split, which keeps artists
          apart); tracks it leaves blank are left out.
        - ``fault_filtered``: one fold taken from ``split_table``'s
          ``fault_filtered_split`` (``valid`` means val); tracks it leaves blank are
          left out.
        - ``artist_kfold``: ``StratifiedGroupKFold`` grouped by artist (a track of
          unknown artist is its own group); val is one fold of a second grouped split
          of the training part, about ``val_fraction`` of it, so no artist has two
          roles in one fold.
    seed : int
        Seeds every random choice: same inputs and seed, same table.
    n_folds : int, default=5
        Number of folds of the k-fold schemes (ignored by the others).
    val_fraction : float, default=0.2
        Share of a fold's training tracks carved out as val, where the scheme does so.
    holdout : mapping, default=None
        ``train``/``val``/``test`` ratios for ``holdout``, summing to 1, as the plan
        checked them (:func:`genreflow.plan.folds.holdout_ratios`: ``val`` 0 when the
        config gives none); required by ``holdout``.
    split_table : DataFrame, default=None
        Registry-like table with ``track_id`` and the split column of
        ``fault_filtered`` or ``official`` (see :data:`REGISTRY_SPLITS`).
    duplicates : mapping, default=None
        ``track_id → group`` of the duplicate audit: the tracks of a group always get
        the same role in a fold (the splitting schemes split one of them and the rest
        follow; ``artist_kfold`` merges the groups with the artists'). A published
        split is kept as published (:func:`split_duplicates` counts what it splits).
    artist_coverage : float, default=0.0
        ``artist_kfold`` needs this share of the usable tracks to name an artist; below
        it the folds are ``stratified_kfold``'s, with a warning.

    Returns
    -------
    folds : DataFrame
        Columns ``track_id``, ``fold``, ``role``, sorted by fold then track.
    """
    if scheme not in SCHEMES:
        raise ConfigError(
            f"folds.scheme: unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}."
        )
    tracks = _usable_tracks(manifest, need_artist=scheme == "artist_kfold")
    usable = set(tracks["track_id"])
    duplicates = {t: g for t, g in (duplicates or {}).items() if t in usable}
    if scheme == "artist_kfold" and artist_share(tracks) < artist_coverage:
        log.warning(
            "artist_kfold: only %.0f%% of the usable tracks name an artist (folds."
            "artist_coverage is %.0f%%): these folds are stratified_kfold's, and one artist "
            "may be in train and test.",
            100 * artist_share(tracks),
            100 * artist_coverage,
        )
        scheme = "stratified_kfold"
    if scheme in KFOLD_SCHEMES:
        # copies of one recording count once: they always share a role
        _check_n_folds(_one_per_group(tracks, duplicates)[0], n_folds)
    if scheme in REGISTRY_SPLITS:
        roles = _registry_split(scheme, tracks, manifest, split_table)
    elif scheme == "artist_kfold":
        roles = _artist_kfold(tracks, seed, n_folds, val_fraction, duplicates)
    else:
        # split one track of each duplicate group; the others take its role
        kept, of_track = _one_per_group(tracks, duplicates)
        if scheme == "stratified_kfold":
            kept_roles = _stratified_kfold(kept, seed, n_folds, val_fraction)
        else:
            if holdout is None:
                raise ConfigError(
                    "folds.holdout: the holdout scheme needs its train/val/test ratios."
                )
            kept_roles = _holdout(kept, seed, dict(holdout), val_fraction)
        roles = [fold_roles[of_track] for fold_roles in kept_roles]

    track_ids = tracks["track_id"].to_numpy()
    parts = []
    for fold, fold_roles in enumerate(roles):
        keep = fold_roles != ""
        parts.append(pd.DataFrame({"track_id": track_ids[keep], "role": fold_roles[keep]}))
    folds = pd.concat(parts, keys=range(len(parts)), names=["fold", None]).reset_index(level=0)
    folds = folds.reset_index(drop=True).astype({"fold": "int64", "role": str})
    _check_roles_present(folds, scheme)
    return folds[list(FOLD_COLUMNS)]


def final_split(
    manifest: pd.DataFrame,
    *,
    seed: int,
    val_fraction: float,
    duplicates: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """Every usable track in one fold (0) for a final model: ``train``, and ``val``.

    ``val`` is a genre-stratified ``val_fraction`` of the tracks, used only for early
    stopping: a final model is trained on (nearly) all the data and has no test part;
    its accuracy is the cross-validated one of the fold schemes. The copies of one
    recording (``duplicates``: ``track_id → group``) share a role, as in the folds.

    Returns
    -------
    folds : DataFrame
        Columns ``track_id``, ``fold`` (all 0), ``role`` (``train`` or ``val``).
    """
    _check_fraction(val_fraction, "final.val_fraction")
    tracks = _usable_tracks(manifest, need_artist=False)
    kept, of_track = _one_per_group(tracks, duplicates or {})
    y = kept["genre"].to_numpy()
    roles = _empty_roles(len(y), "train")
    _, val = _stratified_carve(
        np.arange(len(y)), y, val_fraction, _sub_seed(seed, 0), "final.val_fraction"
    )
    roles[val] = "val"
    roles = roles[of_track]
    folds = pd.DataFrame({"track_id": tracks["track_id"].to_numpy(), "fold": 0, "role": roles})
    return folds.astype({"fold": "int64", "role": str})[list(FOLD_COLUMNS)]


def training_rows(index: pd.DataFrame, folds: pd.DataFrame, fold: int, role: str) -> np.ndarray:
    """Positions of the rows of ``index`` to use for ``role`` in ``fold``.

    Parameters
    ----------
    index : DataFrame
        Segment/row index with ``track_id`` and ``source_track_id``: an augmented
        copy has its own ``track_id`` and its source's id in ``source_track_id``; an
        original has ``source_track_id == track_id``.
    folds : DataFrame
        Table from :func:`assign_folds`.
    fold : int
        Fold number.
    role : {"train", "val", "test"}
        For ``train``, originals of train tracks plus augmented copies whose source
        is a train track of this fold; for ``val`` and ``test``, originals only.

    Returns
    -------
    rows : ndarray of int
        Row positions (for ``iloc`` or array indexing), in index order.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    missing = {"track_id", "source_track_id"} - set(index.columns)
    if missing:
        raise DataError(
            f"row index lacks column(s) {', '.join(sorted(missing))}: re-run the features rule."
        )
    in_fold = folds[folds["fold"] == fold]
    if in_fold.empty:
        raise DataError(
            f"folds table has no fold {fold} (it has {sorted(folds['fold'].unique())}): "
            "re-run the folds rule."
        )
    ids = set(in_fold.loc[in_fold["role"] == role, "track_id"])
    source = index["source_track_id"]
    selected = source.isin(ids)
    if role != "train":
        selected &= index["track_id"] == source
    return np.flatnonzero(selected.to_numpy())


def fold_summary(folds: pd.DataFrame, manifest: pd.DataFrame) -> pd.DataFrame:
    """Count tracks per fold, role and genre.

    Parameters
    ----------
    folds : DataFrame
        Table from :func:`assign_folds`.
    manifest : DataFrame
        The manifest the folds were made from (for each track's genre).

    Returns
    -------
    summary : DataFrame
        Columns ``fold``, ``role``, ``genre``, ``n_tracks``, one row per combination
        (zero counts included).
    """
    genre = folds["track_id"].map(manifest.set_index("track_id")["genre"])
    if genre.isna().any():
        unknown = folds.loc[genre.isna(), "track_id"].unique()
        raise DataError(
            f"folds table names track(s) not in the manifest ({', '.join(unknown[:5])}): "
            "re-run the folds rule."
        )
    counts = folds.assign(genre=genre).groupby(["fold", "role", "genre"]).size()
    full = pd.MultiIndex.from_product(
        [sorted(folds["fold"].unique()), list(ROLES), sorted(genre.unique())],
        names=["fold", "role", "genre"],
    )
    return counts.reindex(full, fill_value=0).rename("n_tracks").reset_index()


def _usable_tracks(manifest: pd.DataFrame, *, need_artist: bool) -> pd.DataFrame:
    """The non-quarantined tracks, sorted by id (so row order cannot change the folds)."""
    needed = {"track_id", "genre", "status"} | ({"artist"} if need_artist else set())
    missing = needed - set(manifest.columns)
    if missing:
        raise DataError(
            f"manifest lacks column(s) {', '.join(sorted(missing))}: re-run the manifest rule."
        )
    duplicated = manifest.loc[manifest["track_id"].duplicated(), "track_id"].unique()
    if len(duplicated):
        raise DataError(
            f"manifest lists track(s) {', '.join(map(str, duplicated[:5]))} more than once: "
            "re-run the manifest rule."
        )
    quarantined = manifest["status"] == "quarantined"
    if quarantined.any():
        log.info("leaving out %d quarantined track(s)", int(quarantined.sum()))
    columns = ["track_id", "genre"] + (["artist"] if "artist" in manifest.columns else [])
    tracks = manifest.loc[~quarantined, columns].sort_values("track_id", kind="stable")
    if tracks.empty:
        raise DataError("manifest has no usable (non-quarantined) tracks to split into folds.")
    return tracks.reset_index(drop=True)


def _check_n_folds(tracks: pd.DataFrame, n_folds: int) -> None:
    if isinstance(n_folds, bool) or not isinstance(n_folds, (int, np.integer)) or n_folds < 2:
        raise ConfigError(f"folds.n_folds: k-fold schemes need at least 2 folds, not {n_folds!r}.")
    counts = tracks["genre"].value_counts()
    if n_folds > counts.min():
        raise ConfigError(
            f"folds.n_folds: {n_folds} folds need at least {n_folds} usable tracks per genre, "
            f"but genre {counts.idxmin()!r} has {counts.min()}; use at most {counts.min()} folds."
        )


def _sub_seed(seed: int, fold: int) -> int:
    """An independent seed for the val carve of ``fold``, derived from ``seed``."""
    return int(np.random.SeedSequence([seed, fold]).generate_state(1)[0])


def _empty_roles(n: int, fill: str) -> np.ndarray:
    return np.full(n, fill, dtype=object)


def _stratified_kfold(
    tracks: pd.DataFrame, seed: int, n_folds: int, val_fraction: float
) -> list[np.ndarray]:
    _check_fraction(val_fraction, "folds.val_fraction")
    y = tracks["genre"].to_numpy()
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_folds, shuffle=True, random_state=seed)
    folds = []
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y)):
        roles = _empty_roles(len(y), "train")
        roles[test] = "test"
        _, val = _stratified_carve(
            train, y, val_fraction, _sub_seed(seed, fold), "folds.val_fraction"
        )
        roles[val] = "val"
        folds.append(roles)
    return folds


def _holdout(
    tracks: pd.DataFrame, seed: int, ratios: dict[str, float], val_fraction: float
) -> list[np.ndarray]:
    y = tracks["genre"].to_numpy()
    rest, test = _stratified_carve(np.arange(len(y)), y, ratios["test"], seed, "folds.holdout")
    if ratios["val"] > 0:
        share, key = ratios["val"] / (ratios["train"] + ratios["val"]), "folds.holdout"
    else:
        _check_fraction(val_fraction, "folds.val_fraction")
        share, key = val_fraction, "folds.val_fraction"
    _, val = _stratified_carve(rest, y, share, _sub_seed(seed, 0), key)
    roles = _empty_roles(len(y), "train")
    roles[test] = "test"
    roles[val] = "val"
    return [roles]


def _registry_split(
    scheme: str, tracks: pd.DataFrame, manifest: pd.DataFrame, split_table: pd.DataFrame | None
) -> list[np.ndarray]:
    """The one fold of a split published in a registry column (see :data:`REGISTRY_SPLITS`)."""
    column, role_of = REGISTRY_SPLITS[scheme]
    if split_table is None or column not in split_table.columns or "track_id" not in split_table:
        raise DataError(
            f"folds.scheme is {scheme}, but the dataset's track registry has no {column} "
            "column: choose another folds.scheme."
        )
    if split_table["track_id"].duplicated().any():
        raise DataError(f"the {scheme} split table lists some tracks more than once.")
    split = split_table.set_index("track_id")[column]
    split = split.fillna("").astype(str).str.strip()
    unknown = set(split.unique()) - set(role_of) - {""}
    if unknown:
        raise DataError(
            f"the {column} column holds {', '.join(sorted(unknown))}; expected "
            f"{', '.join(role_of)} or blank."
        )
    in_split = split[split != ""]
    if in_split.empty:
        raise DataError(
            f"folds.scheme is {scheme}, but the registry's {column} column is blank: "
            "choose another folds.scheme."
        )
    quarantined = set(manifest.loc[manifest["status"] == "quarantined", "track_id"])
    dropped = sorted(set(in_split.index) & quarantined)
    if dropped:
        log.warning(
            "%s: dropping %d quarantined track(s) of the split: %s",
            scheme,
            len(dropped),
            ", ".join(dropped[:10]),
        )
    absent = set(in_split.index) - set(manifest["track_id"])
    if absent:
        log.warning("%s: %d track(s) of the split are not in the manifest", scheme, len(absent))
    roles = tracks["track_id"].map(in_split).map(role_of).fillna("")
    n_left_out = int((roles == "").sum())
    if n_left_out:
        log.info("%s: leaving out %d usable track(s) outside the split", scheme, n_left_out)
    return [roles.to_numpy(dtype=object)]


def _artist_kfold(
    tracks: pd.DataFrame,
    seed: int,
    n_folds: int,
    val_fraction: float,
    duplicates: Mapping[str, int],
) -> list[np.ndarray]:
    _check_fraction(val_fraction, "folds.val_fraction")
    y = tracks["genre"].to_numpy()
    groups = merged_groups(artist_groups(tracks), tracks["track_id"].to_numpy(), duplicates)
    n_groups = len(np.unique(groups))
    if n_groups < n_folds:
        raise ConfigError(
            f"folds.n_folds: artist_kfold with {n_folds} folds needs at least {n_folds} artists, "
            f"but the usable tracks have {n_groups}; use fewer folds."
        )
    from sklearn.model_selection import StratifiedGroupKFold

    splitter = StratifiedGroupKFold(n_folds, shuffle=True, random_state=seed)
    folds = []
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        roles = _empty_roles(len(y), "train")
        roles[test] = "test"
        roles[_grouped_carve(train, y, groups, val_fraction, _sub_seed(seed, fold))] = "val"
        folds.append(roles)
    return folds


def artist_groups(tracks: pd.DataFrame) -> np.ndarray:
    """Group id per track: its artist, or ``unknown:<track_id>`` where the artist is blank.

    Parameters
    ----------
    tracks : DataFrame
        Table with ``track_id`` and ``artist`` (blank or NaN where unknown).

    Returns
    -------
    groups : ndarray of str
    """
    artist = tracks["artist"].fillna("").astype(str).str.strip()
    unknown = "unknown:" + tracks["track_id"].astype(str)
    return artist.where(artist != "", unknown).to_numpy(dtype=object)


def _one_per_group(
    tracks: pd.DataFrame, duplicates: Mapping[str, int]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The first track of each duplicate group (and every track without a copy), and for
    each of ``tracks`` the position of its group's track among them."""
    keys = (
        tracks["track_id"]
        .map(lambda t: f"group:{duplicates[t]}" if t in duplicates else f"track:{t}")
        .to_numpy()
    )
    first = ~pd.Series(keys).duplicated().to_numpy()
    position = pd.Series(np.arange(int(first.sum())), index=keys[first])
    return tracks[first].reset_index(drop=True), position.loc[keys].to_numpy()


def read_duplicate_groups(path: str | os.PathLike) -> dict[str, int]:
    """``track_id → group`` from the duplicate audit's table (rule audit_duplicates)."""
    table = pd.read_csv(path, dtype={"track_id": str}, keep_default_na=False)
    return dict(zip(table["track_id"], table["group"].astype(int)))


def artist_share(tracks: pd.DataFrame) -> float:
    """The share of ``tracks`` whose ``artist`` is not blank."""
    if "artist" not in tracks.columns or tracks.empty:
        return 0.0
    return float((tracks["artist"].fillna("").astype(str).str.strip() != "").mean())


def merged_groups(
    groups: np.ndarray, track_ids: np.ndarray, duplicates: Mapping[str, int]
) -> np.ndarray:
    """``groups`` with every two groups that share a duplicate group made one."""
    if not duplicates:
        return groups
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels, group_of = np.unique(groups.astype(str), return_inverse=True)
    dup = pd.Series(track_ids).map(duplicates)
    edges = pd.DataFrame({"group": group_of, "dup": dup}).dropna()
    # join each group to the first group of its duplicate group
    first = edges.groupby("dup")["group"].transform("first").to_numpy()
    graph = coo_matrix(
        (np.ones(len(edges)), (edges["group"].to_numpy(), first)), shape=(len(labels),) * 2
    )
    _, component = connected_components(graph, directed=False)
    return np.array([f"group:{c}" for c in component[group_of]], dtype=object)


def leakage(
    folds: pd.DataFrame,
    manifest: pd.DataFrame,
    scheme: str,
    duplicates: Mapping[str, int],
    *,
    artist_coverage: float = 0.0,
    **_: object,
) -> dict[str, object]:
    """What the report says about leaks between train and test in ``scheme``'s folds:
    the artist coverage (and whether ``artist_kfold`` fell back), the duplicate groups
    and how many of them a published split puts in two roles."""
    usable = manifest[manifest["status"] != "quarantined"]
    coverage = artist_share(usable)
    return {
        "scheme": scheme,
        "artist_coverage": round(coverage, 4),
        "artist_coverage_needed": artist_coverage,
        "artists_grouped": scheme == "artist_kfold" and coverage >= artist_coverage,
        "artist_fallback": scheme == "artist_kfold" and coverage < artist_coverage,
        "duplicate_groups": len(set(duplicates.values())),
        "duplicate_tracks": len(duplicates),
        "duplicate_groups_split": split_duplicates(folds, duplicates),
    }


def split_duplicates(folds: pd.DataFrame, duplicates: Mapping[str, int]) -> int:
    """How many duplicate groups have members in two roles of one fold (a published
    split can do that; the other schemes never do)."""
    if not duplicates or folds.empty:
        return 0
    grouped = folds.assign(group=folds["track_id"].map(duplicates)).dropna(subset=["group"])
    roles = grouped.groupby(["fold", "group"])["role"].nunique()
    return int(roles[roles > 1].index.get_level_values("group").nunique())


def _grouped_carve(
    idx: np.ndarray, y: np.ndarray, groups: np.ndarray, fraction: float, random_state: int
) -> np.ndarray:
    """About ``fraction`` of ``idx``, as whole groups, stratified by ``y`` as far as possible."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold

    n_splits = max(2, round(1 / fraction))
    n_groups = len(np.unique(groups[idx]))
    if n_groups < n_splits:
        raise ConfigError(
            f"folds.val_fraction: carving {fraction:g} of a fold's training tracks by artist "
            f"needs at least {n_splits} artists there, but there are {n_groups}."
        )
    if np.unique(y[idx], return_counts=True)[1].max() < n_splits:
        # Too few tracks per genre to stratify (sklearn refuses): keep artists whole only.
        log.info("folds.val_fraction: too few tracks per genre to stratify by artist; unstratified")
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=random_state)
        return idx[next(splitter.split(idx, y[idx], groups[idx]))[1]]
    splitter = StratifiedGroupKFold(n_splits, shuffle=True, random_state=random_state)
    with warnings.catch_warnings():
        # Few members in some genre only makes the val part less balanced, not invalid.
        warnings.filterwarnings("ignore", "The least populated class", UserWarning)
        parts = [idx[part] for _, part in splitter.split(idx, y[idx], groups[idx])]
    target = fraction * len(idx)
    return min(parts, key=lambda part: abs(len(part) - target))


def _stratified_carve(
    idx: np.ndarray, y: np.ndarray, fraction: float, random_state: int, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Split ``idx`` into (rest, ``fraction`` of it), stratified by ``y``."""
    from sklearn.model_selection import train_test_split

    # A count, not the fraction: sklearn takes ceil(fraction * n), where float error can add one.
    n_part = min(max(round(fraction * len(idx)), 1), len(idx) - 1)
    n_classes = len(np.unique(y[idx]))
    if n_part < n_classes <= len(idx) - n_classes:
        # Small datasets: one track per genre at least, so every genre is validated on.
        log.info(
            "%s: %g of %d tracks is %d, fewer than the %d genres; taking %d",
            key,
            fraction,
            len(idx),
            n_part,
            n_classes,
            n_classes,
        )
        n_part = n_classes
    try:
        rest, part = train_test_split(
            idx, test_size=n_part, stratify=y[idx], random_state=random_state
        )
    except ValueError as exc:
        raise ConfigError(
            f"{key}: cannot take a genre-stratified {fraction:g} of {len(idx)} tracks ({exc})."
        ) from exc
    return np.sort(rest), np.sort(part)


def _check_fraction(value: float, key: str) -> None:
    if not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(f"{key}: {value!r} must be a fraction strictly between 0 and 1.")


def _check_roles_present(folds: pd.DataFrame, scheme: str) -> None:
    present = folds.groupby("fold")["role"].unique()
    for fold, roles in present.items():
        missing = [role for role in ROLES if role not in roles]
        if missing:
            raise DataError(
                f"folds: fold {fold} of scheme {scheme} has no {', '.join(missing)} tracks; "
                "there are too few usable tracks for this scheme and its settings."
            )
