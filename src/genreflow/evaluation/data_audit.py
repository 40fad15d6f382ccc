"""The report's data section: what was left out, what was repeated, what may leak."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from genreflow.schemes import REGISTRY_SPLITS

LISTED = 50  # rows of a table shown in summary.md; the CSV beside it has them all


def _table(table: pd.DataFrame, source: str) -> list[str]:
    lines = [table.head(LISTED).to_markdown(index=False), ""]
    if len(table) > LISTED:
        lines += [f"… and {len(table) - LISTED} more in `{source}`.", ""]
    return lines


def registry_repeats(registry: pd.DataFrame, usable: set[str]) -> pd.DataFrame:
    """Artist–title pairs the registry names for two or more usable tracks (GTZAN's
    known repetitions, as far as its artist and title columns tell)."""
    if not {"artist", "title"} <= set(registry.columns):
        return pd.DataFrame(columns=["artist", "title", "track_ids"])
    named = registry[registry["track_id"].isin(usable)]
    named = named[(named["artist"].str.strip() != "") & (named["title"].str.strip() != "")]
    keyed = named.assign(key=named["artist"].str.lower() + "\0" + named["title"].str.lower())
    repeated = keyed[keyed.duplicated("key", keep=False)]
    return (
        repeated.groupby("key")
        .agg(
            artist=("artist", "first"),
            title=("title", "first"),
            track_ids=("track_id", lambda ids: " ".join(sorted(ids))),
        )
        .reset_index(drop=True)
        .sort_values(["artist", "title"], ignore_index=True)
    )


def quarantine_lines(manifest: pd.DataFrame) -> list[str]:
    """The quarantined and repaired tracks, each with its reason."""
    lines: list[str] = []
    for status, title in (("quarantined", "Quarantined files"), ("repaired", "Repaired tracks")):
        rows = manifest[manifest["status"] == status]
        if rows.empty:
            continue
        shown = pd.DataFrame(
            {
                "track": rows["track_id"],
                "genre": rows["genre"],
                "file": [Path(p).name if p else "" for p in rows["path"]],
                "reason": rows.get("reason", ""),
            }
        )
        lines += [f"### {title} ({len(rows)})", ""] + _table(shown, "manifest.csv")
    return lines


def duplicate_lines(
    duplicates: pd.DataFrame,
    leakage: Mapping[str, object],
    registry: pd.DataFrame,
    usable: set[str],
) -> list[str]:
    """The duplicate audit's groups, the registry's own repeats, and the folds' leaks."""
    n_groups = duplicates["group"].nunique() if len(duplicates) else 0
    kinds = duplicates.groupby("group")["kind"].min() if len(duplicates) else pd.Series()
    lines = ["### Duplicates and leakage", ""]
    if n_groups:
        split = int(leakage.get("duplicate_groups_split", 0))
        kept = (
            "the folds keep each group in one role"
            if not split
            else f"the published split puts {split} of them in two roles of one fold"
        )
        lines += [
            (
                f"The duplicate audit found {n_groups} group(s) of one recording "
                f"({len(duplicates)} tracks; {int((kinds == 'exact').sum())} exact, "
                f"{int((kinds == 'near').sum())} near): {kept}."
            ),
            "",
        ]
        shown = duplicates[
            [
                "group",
                "track_id",
                "genre",
                "artist",
                "title",
                "similarity",
                "kind",
                "registry_agrees",
            ]
        ]
        lines += _table(shown, "duplicates.csv")
    else:
        lines += ["The duplicate audit found no two tracks holding the same recording.", ""]
    repeats = registry_repeats(registry, usable)
    if len(repeats):
        grouped = set(duplicates["track_id"]) if len(duplicates) else set()
        found = sum(all(t in grouped for t in ids.split()) for ids in repeats["track_ids"])
        lines += [
            (
                f"The registry names the same artist and title for {len(repeats)} set(s) of "
                f"tracks; the audit grouped all tracks of {found} of them (the rest may be "
                "other performances or versions of a song, which a fingerprint does not match)."
            ),
            "",
        ]
    coverage = float(leakage.get("artist_coverage", 0.0))
    if leakage.get("artist_fallback"):
        lines += [
            (
                f"**Warning:** only {coverage:.0%} of the tracks name their artist (artist_kfold "
                f"needs {float(leakage['artist_coverage_needed']):.0%}), so these folds are "
                "stratified_kfold's: one artist may be in train and test, which flatters "
                "accuracy."
            ),
            "",
        ]
    elif not leakage.get("artists_grouped") and leakage.get("scheme") not in REGISTRY_SPLITS:
        lines += [
            (
                f"These folds do not group tracks by artist ({coverage:.0%} of tracks name one): "
                "one artist may be in train and test, which flatters accuracy; artist_kfold "
                "keeps artists apart."
            ),
            "",
        ]
    return lines
