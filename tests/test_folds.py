"""Folds: every scheme's invariants, on a synthetic manifest and the real GTZAN registry."""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
import pytest
import yaml

from genreflow.errors import ConfigError, DataError
from genreflow.folds import (
    artist_groups,
    assign_folds,
    final_split,
    fold_summary,
    training_rows,
)
from genreflow.plan.folds import holdout_problems, holdout_ratios, resolve_folds
from genreflow.schemes import SCHEMES

from conftest import PROJECT_ROOT

GENRES = [f"g{i}" for i in range(10)]
QUARANTINED = ["g0.00003", "g5.00007"]
KFOLD = ("stratified_kfold", "artist_kfold")
RANDOM = ("stratified_kfold", "holdout", "artist_kfold")
HOLDOUTS = [
    {"train": 0.8, "test": 0.2},
    {"train": 0.5, "val": 0.2, "test": 0.3},
    {"train": 0.6, "val": 0.2, "test": 0.2},
]


def synthetic_manifest() -> pd.DataFrame:
    """10 genres x 20 tracks, 6 artists per genre, some blank artists, 2 quarantined."""
    rows = []
    for genre in GENRES:
        for i in range(20):
            track_id = f"{genre}.{i:05d}"
            artist = "" if i >= 18 else f"{genre}-artist{i % 6}"
            rows.append(
                {
                    "track_id": track_id,
                    "genre": genre,
                    "path": f"wav/{track_id}.wav",
                    "status": "quarantined" if track_id in QUARANTINED else "ok",
                    "md5": "",
                    "duration_s": 30.0,
                    "sample_rate": 22050,
                    "artist": artist,
                }
            )
    manifest = pd.DataFrame(rows)
    # One artist spanning two genres, and an unknown artist read back as NaN.
    manifest.loc[manifest["track_id"].isin(["g1.00000", "g2.00000"]), "artist"] = "crossover"
    manifest.loc[manifest["track_id"] == "g3.00017", "artist"] = np.nan
    # Row order must not matter.
    return manifest.sample(frac=1, random_state=0).reset_index(drop=True)


def synthetic_split() -> pd.DataFrame:
    """Fault-filtered-like split: per genre 10 train, 4 valid, 4 test, 2 blank."""
    manifest = synthetic_manifest()
    number = manifest["track_id"].str[-2:].astype(int)
    split = np.select([number < 10, number < 14, number < 18], ["train", "valid", "test"], "")
    official = pd.Series(split).map({"train": "training", "valid": "validation", "test": "test"})
    return pd.DataFrame(
        {
            "track_id": manifest["track_id"],
            "fault_filtered_split": split,
            "official_split": official.fillna("").to_numpy(),
        }
    )


def gtzan_manifest(registry: pd.DataFrame) -> pd.DataFrame:
    return registry[["track_id", "genre", "artist"]].assign(status="ok")


# the default config's folds block, as the plan resolves it (holdout ratios checked)
CONFIG_FOLDS = resolve_folds(
    yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())["folds"]
)


def make_folds(scheme: str, manifest: pd.DataFrame, seed: int = 0, **kwargs) -> pd.DataFrame:
    if scheme in ("fault_filtered", "official"):
        kwargs.setdefault("split_table", synthetic_split())
    if scheme == "holdout":
        kwargs.setdefault("holdout", CONFIG_FOLDS.holdout)
    return assign_folds(manifest, scheme, seed=seed, **kwargs)


def usable_ids(manifest: pd.DataFrame) -> set[str]:
    return set(manifest.loc[manifest["status"] != "quarantined", "track_id"])


@pytest.mark.parametrize("scheme", SCHEMES)
def test_every_scheme_gives_disjoint_roles_and_covers_tracks(scheme):
    manifest = synthetic_manifest()
    folds = make_folds(scheme, manifest)
    assert list(folds.columns) == ["track_id", "fold", "role"]
    assert set(folds["role"]) == {"train", "val", "test"}
    n_folds = 5 if scheme in KFOLD else 1
    assert sorted(folds["fold"].unique()) == list(range(n_folds))
    # One row per (track, fold): no track has two roles in one fold.
    assert not folds.duplicated(["track_id", "fold"]).any()
    assert not set(QUARANTINED) & set(folds["track_id"])
    expected = usable_ids(manifest)
    if scheme in ("fault_filtered", "official"):
        split = synthetic_split().set_index("track_id")["fault_filtered_split"]
        expected = {t for t in expected if split[t] != ""}
    for _, part in folds.groupby("fold"):
        assert set(part["track_id"]) == expected
        assert len(part) == len(expected)
        counts = part["role"].value_counts()
        assert counts["train"] > 0 and counts["val"] > 0 and counts["test"] > 0
    if scheme in KFOLD:
        tested = folds.loc[folds["role"] == "test", "track_id"]
        assert tested.is_unique and set(tested) == expected


@pytest.mark.parametrize("scheme", SCHEMES)
def test_folds_are_deterministic_for_a_seed(scheme):
    manifest = synthetic_manifest()
    first = make_folds(scheme, manifest, seed=7)
    pd.testing.assert_frame_equal(first, make_folds(scheme, manifest, seed=7))
    # Independent of the manifest's row order.
    shuffled = manifest.sample(frac=1, random_state=3)
    pd.testing.assert_frame_equal(first, make_folds(scheme, shuffled, seed=7))
    if scheme in RANDOM:
        other = make_folds(scheme, manifest, seed=8)
        assert not first["role"].equals(other["role"])


def assert_artists_in_one_role(folds: pd.DataFrame, manifest: pd.DataFrame) -> None:
    artist = manifest.set_index("track_id")["artist"].fillna("").str.strip()
    table = folds.assign(artist=folds["track_id"].map(artist))
    known = table[table["artist"] != ""]
    roles_per_artist = known.groupby(["fold", "artist"])["role"].nunique()
    assert (roles_per_artist == 1).all(), roles_per_artist[roles_per_artist > 1]


def test_artist_kfold_keeps_each_artist_in_one_role_per_fold():
    manifest = synthetic_manifest()
    folds = make_folds("artist_kfold", manifest)
    assert_artists_in_one_role(folds, manifest)
    # The cross-genre artist too.
    crossover = folds[folds["track_id"].isin(["g1.00000", "g2.00000"])]
    assert (crossover.groupby("fold")["role"].nunique() == 1).all()


def test_artist_groups_give_unknown_artists_their_own_group():
    manifest = synthetic_manifest().sort_values("track_id").reset_index(drop=True)
    groups = pd.Series(artist_groups(manifest), index=manifest["track_id"])
    assert groups["g3.00017"] == "unknown:g3.00017"  # NaN artist
    assert groups["g3.00018"] == "unknown:g3.00018"  # blank artist
    assert groups["g1.00000"] == groups["g2.00000"] == "crossover"


def test_artist_kfold_on_gtzan(gtzan_registry):
    manifest = gtzan_manifest(gtzan_registry)
    folds = assign_folds(manifest, "artist_kfold", seed=0)
    assert_artists_in_one_role(folds, manifest)
    assert len(folds) == 5 * 1000 and not folds.duplicated(["track_id", "fold"]).any()
    tested = folds.loc[folds["role"] == "test", "track_id"]
    assert tested.is_unique and len(tested) == 1000
    for _, part in folds.groupby("fold"):
        assert (part["role"].value_counts() > 0).all() and part["role"].nunique() == 3


def assert_test_counts_near_ideal(folds, manifest, ratio):
    genre = manifest.set_index("track_id")["genre"]
    usable = manifest[manifest["status"] != "quarantined"]
    ideal = usable["genre"].value_counts() * ratio
    tests = folds[folds["role"] == "test"]
    for _, part in tests.groupby("fold"):
        counts = part["track_id"].map(genre).value_counts().reindex(ideal.index, fill_value=0)
        assert ((counts - ideal).abs() < 1).all(), pd.DataFrame({"got": counts, "ideal": ideal})


@pytest.mark.parametrize("source", ["synthetic", "gtzan"])
def test_stratified_kfold_test_counts_within_one_of_ideal(source, gtzan_registry):
    manifest = synthetic_manifest() if source == "synthetic" else gtzan_manifest(gtzan_registry)
    for seed in (0, 1):
        folds = assign_folds(manifest, "stratified_kfold", seed=seed, n_folds=5)
        assert_test_counts_near_ideal(folds, manifest, 1 / 5)


@pytest.mark.parametrize("source", ["synthetic", "gtzan"])
@pytest.mark.parametrize("ratios", HOLDOUTS, ids=["80-20", "50-20-30", "60-20-20"])
def test_holdout_ratios_and_stratification(source, ratios, gtzan_registry):
    manifest = synthetic_manifest() if source == "synthetic" else gtzan_manifest(gtzan_registry)
    folds = assign_folds(
        manifest, "holdout", seed=0, holdout=holdout_ratios(ratios), val_fraction=0.25
    )
    assert set(folds["fold"]) == {0}
    assert_test_counts_near_ideal(folds, manifest, ratios["test"])
    n = len(usable_ids(manifest))
    counts = folds["role"].value_counts()
    assert abs(counts["test"] - ratios["test"] * n) <= 1
    if ratios.get("val", 0):
        assert abs(counts["val"] - ratios["val"] * n) <= 1
    else:  # carved from the train part by val_fraction
        assert abs(counts["val"] - 0.25 * (1 - ratios["test"]) * n) <= 1


def test_holdout_splits_by_the_plans_ratios():
    manifest = synthetic_manifest()
    assert dict(CONFIG_FOLDS.holdout) == {"val": 0.2, "train": 0.6, "test": 0.2}
    counts = make_folds("holdout", manifest)["role"].value_counts()
    assert counts.to_dict() == {"train": 118, "val": 40, "test": 40}
    with pytest.raises(ConfigError, match="folds.holdout: the holdout scheme needs"):
        assign_folds(manifest, "holdout", seed=0)


def test_stratified_kfold_val_is_val_fraction_of_training_part():
    manifest = synthetic_manifest()
    folds = assign_folds(manifest, "stratified_kfold", seed=0, val_fraction=0.25)
    for _, part in folds.groupby("fold"):
        counts = part["role"].value_counts()
        assert abs(counts["val"] - 0.25 * (counts["train"] + counts["val"])) <= 1


def test_fault_filtered_on_gtzan(gtzan_registry, caplog):
    manifest = gtzan_manifest(gtzan_registry)
    with caplog.at_level(logging.INFO, logger="genreflow.folds"):
        folds = assign_folds(manifest, "fault_filtered", seed=0, split_table=gtzan_registry)
    assert set(folds["fold"]) == {0}
    assert folds["role"].value_counts().to_dict() == {"train": 443, "val": 197, "test": 290}
    assert "leaving out 70 usable track(s)" in caplog.text
    expected = gtzan_registry.set_index("track_id")["fault_filtered_split"].replace("valid", "val")
    assert (folds.set_index("track_id")["role"] == expected[folds["track_id"]]).all()


def test_fault_filtered_drops_quarantined_split_tracks(gtzan_registry, caplog):
    manifest = gtzan_manifest(gtzan_registry)
    manifest.loc[manifest["track_id"] == "blues.00000", "status"] = "quarantined"  # a valid one
    with caplog.at_level(logging.INFO, logger="genreflow.folds"):
        folds = assign_folds(manifest, "fault_filtered", seed=0, split_table=gtzan_registry)
    assert folds["role"].value_counts().to_dict() == {"train": 443, "val": 196, "test": 290}
    assert "dropping 1 quarantined track(s) of the split: blues.00000" in caplog.text


def segment_index(manifest: pd.DataFrame) -> pd.DataFrame:
    """3 segments per usable track, plus 2 augmented copies (2 segments each) per track."""
    rows = []
    for track_id in sorted(usable_ids(manifest)):
        rows += [
            {"track_id": track_id, "source_track_id": track_id, "segment": s} for s in range(3)
        ]
        for copy in range(2):
            aug = f"{track_id}.aug{copy}"
            rows += [{"track_id": aug, "source_track_id": track_id, "segment": s} for s in range(2)]
    return pd.DataFrame(rows).sample(frac=1, random_state=1).reset_index(drop=True)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_training_rows_use_augmented_copies_only_of_train_tracks(scheme):
    manifest = synthetic_manifest()
    folds = make_folds(scheme, manifest)
    index = segment_index(manifest)
    augmented = index["track_id"] != index["source_track_id"]
    for fold, part in folds.groupby("fold"):
        role_of = part.set_index("track_id")["role"]
        seen = []
        for role in ("train", "val", "test"):
            rows = training_rows(index, folds, fold, role)
            assert rows.dtype.kind == "i" and (np.diff(rows) > 0).all()
            chosen = index.iloc[rows]
            assert (chosen["source_track_id"].map(role_of) == role).all()
            if role == "train":
                ids = set(role_of[role_of == "train"].index)
                expected = index["source_track_id"].isin(ids)
                assert set(rows) == set(np.flatnonzero(expected))
                assert augmented.iloc[rows].sum() == 4 * len(ids)
            else:
                assert not augmented.iloc[rows].any()
                assert len(rows) == 3 * (role_of == role).sum()
            seen.append(set(rows))
        assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_training_rows_rejects_unknown_fold_and_role():
    manifest = synthetic_manifest()
    folds = make_folds("holdout", manifest)
    index = segment_index(manifest)
    with pytest.raises(DataError, match="no fold 3"):
        training_rows(index, folds, 3, "train")
    with pytest.raises(ValueError, match="role"):
        training_rows(index, folds, 0, "validation")


def test_fold_summary_counts_every_fold_role_genre():
    manifest = synthetic_manifest()
    folds = make_folds("stratified_kfold", manifest)
    summary = fold_summary(folds, manifest)
    assert list(summary.columns) == ["fold", "role", "genre", "n_tracks"]
    assert len(summary) == 5 * 3 * 10
    assert summary["n_tracks"].sum() == len(folds)
    per_genre = summary.groupby(["fold", "genre"])["n_tracks"].sum()
    assert set(per_genre.xs("g0", level="genre")) == {19}
    assert set(per_genre.xs("g1", level="genre")) == {20}


def test_unknown_scheme():
    with pytest.raises(ConfigError, match="folds.scheme.*stratified_kfold, holdout"):
        assign_folds(synthetic_manifest(), "leave_one_out", seed=0)


@pytest.mark.parametrize("scheme", KFOLD)
def test_n_folds_below_two(scheme):
    with pytest.raises(ConfigError, match="folds.n_folds.*at least 2.*not 1"):
        assign_folds(synthetic_manifest(), scheme, seed=0, n_folds=1)


@pytest.mark.parametrize("scheme", KFOLD)
def test_more_folds_than_smallest_class(scheme):
    # g0 and g5 have 19 usable tracks after quarantine.
    with pytest.raises(ConfigError, match=r"folds.n_folds: 20 folds.*has 19; use at most 19"):
        assign_folds(synthetic_manifest(), scheme, seed=0, n_folds=20)


@pytest.mark.parametrize(
    "ratios", [{"train": 0.6, "val": 0.3, "test": 0.2}, {"train": 0.5, "test": 0.2}]
)
def test_holdout_ratios_must_sum_to_one(ratios):
    problems = holdout_problems(ratios)
    assert any(re.match("folds.holdout.*sum to", line) for line in problems), problems


def test_holdout_rejects_unknown_keys():
    problems = holdout_problems({"train": 0.8, "valid": 0.2})
    assert any(re.match("folds.holdout.*valid", line) for line in problems), problems


@pytest.mark.parametrize("split_table", [None, pd.DataFrame({"track_id": ["g0.00000"]})])
@pytest.mark.parametrize("scheme", ["fault_filtered", "official"])
def test_registry_splits_need_their_column(split_table, scheme):
    with pytest.raises(DataError, match=f"folds.scheme is {scheme}.*has no .*_split column"):
        assign_folds(synthetic_manifest(), scheme, seed=0, split_table=split_table)


def test_official_split_maps_training_validation_test():
    manifest = synthetic_manifest()
    folds = make_folds("official", manifest).set_index("track_id")["role"]
    split = synthetic_split().set_index("track_id")["official_split"]
    expected = split[split != ""].map({"training": "train", "validation": "val", "test": "test"})
    expected = expected.drop(QUARANTINED, errors="ignore")
    pd.testing.assert_series_equal(folds.sort_index(), expected.sort_index(), check_names=False)


def test_official_split_rejects_unknown_values():
    table = synthetic_split().assign(official_split="train")
    with pytest.raises(DataError, match="official_split column holds train"):
        assign_folds(synthetic_manifest(), "official", seed=0, split_table=table)


def test_val_fraction_must_be_a_fraction():
    with pytest.raises(ConfigError, match="folds.val_fraction"):
        assign_folds(synthetic_manifest(), "stratified_kfold", seed=0, val_fraction=0)


def test_final_split_uses_every_usable_track_once():
    manifest = synthetic_manifest()
    split = final_split(manifest, seed=3, val_fraction=0.1)
    assert set(split["track_id"]) == usable_ids(manifest)
    assert split["track_id"].is_unique
    assert set(split["fold"]) == {0}
    assert set(split["role"]) == {"train", "val"}  # no test part: the folds give accuracy
    val = split[split["role"] == "val"]
    assert len(val) == round(0.1 * len(split))
    genre = val["track_id"].str.split(".").str[0]
    assert genre.value_counts().min() >= 1  # stratified: every genre validated on
    again = final_split(manifest.sample(frac=1, random_state=1), seed=3, val_fraction=0.1)
    pd.testing.assert_frame_equal(split, again)


def test_final_split_names_its_key():
    with pytest.raises(ConfigError, match="final.val_fraction"):
        final_split(synthetic_manifest(), seed=0, val_fraction=1.0)


# duplicates: a group of tracks holding one recording never has two roles in a fold
DUPLICATES = {"g1.00002": 0, "g4.00011": 0, "g7.00019": 0, "g2.00005": 1, "g2.00006": 1}


@pytest.mark.parametrize("scheme", RANDOM)
def test_duplicates_always_share_their_role(scheme):
    manifest = synthetic_manifest()
    folds = assign_folds(
        manifest,
        scheme,
        seed=3,
        n_folds=5,
        holdout={"train": 0.6, "val": 0.2, "test": 0.2},
        duplicates=DUPLICATES,
    )
    from genreflow.folds import split_duplicates

    assert split_duplicates(folds, DUPLICATES) == 0
    roles = folds.assign(group=folds["track_id"].map(DUPLICATES)).dropna(subset=["group"])
    assert (roles.groupby(["fold", "group"])["role"].nunique() == 1).all()
    # every usable track still has a role in each fold
    usable = manifest.loc[manifest["status"] != "quarantined", "track_id"]
    assert (folds.groupby("fold")["track_id"].nunique() == len(usable)).all()


def test_artist_kfold_falls_back_below_its_coverage(caplog):
    manifest = synthetic_manifest()
    manifest.loc[manifest.index % 2 == 0, "artist"] = ""  # about half name an artist
    with caplog.at_level(logging.WARNING):
        folds = assign_folds(manifest, "artist_kfold", seed=3, n_folds=5, artist_coverage=0.8)
    assert "artist_kfold: only" in caplog.text and "stratified_kfold" in caplog.text
    stratified = assign_folds(manifest, "stratified_kfold", seed=3, n_folds=5)
    pd.testing.assert_frame_equal(folds, stratified)


def test_a_final_models_val_part_keeps_copies_of_a_recording_together():
    split = final_split(synthetic_manifest(), seed=3, val_fraction=0.2, duplicates=DUPLICATES)
    roles = split.assign(group=split["track_id"].map(DUPLICATES)).dropna(subset=["group"])
    assert (roles.groupby("group")["role"].nunique() == 1).all()
    plain = final_split(synthetic_manifest(), seed=3, val_fraction=0.2)
    pd.testing.assert_frame_equal(
        plain, final_split(synthetic_manifest(), seed=3, val_fraction=0.2, duplicates={})
    )
