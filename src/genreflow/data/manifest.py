"""The manifest: one row per track, the single source of truth for every later stage."""

from __future__ import annotations

import pandas as pd

from genreflow.errors import DataError

MANIFEST_COLUMNS = (
    "track_id",
    "genre",
    "path",
    "status",
    "md5",
    "duration_s",
    "sample_rate",
    "artist",
    "reason",  # why a track is quarantined (or was repaired); blank for ok tracks
)
MANIFEST_STATUSES = ("ok", "repaired", "quarantined")


def build_manifest(
    registry: pd.DataFrame, validation: pd.DataFrame, repairs: pd.DataFrame
) -> pd.DataFrame:
    """Merge registry, validation and repair outcomes into the manifest.

    A track is ``ok`` if it validated, ``repaired`` if a repaired copy validated (its
    ``path`` then points at the copy), else ``quarantined`` (``path`` keeps the raw
    file, if any, for inspection; later stages skip the track), each with its ``reason``. ``md5``,
    ``duration_s`` and ``sample_rate`` describe the file at ``path`` (blank when
    quarantined). ``artist`` is blank where unknown.
    """
    missing = set(registry["track_id"]) ^ set(validation["track_id"])
    if missing:
        raise DataError(
            "validation table and registry disagree on track(s) "
            f"{', '.join(sorted(missing)[:5])}: re-run the validate rule."
        )
    table = validation.merge(registry[["track_id", "artist"]], on="track_id", how="left")
    repaired = repairs.set_index("track_id") if len(repairs) else None
    rows = []
    for row in table.itertuples(index=False):
        entry = {
            "track_id": row.track_id,
            "genre": row.genre,
            "path": row.path,
            "status": "ok",
            "md5": row.md5,
            "duration_s": row.duration_s,
            "sample_rate": row.sample_rate,
            "artist": row.artist,
            "reason": "",
        }
        if row.status != "ok":
            if repaired is None or row.track_id not in repaired.index:
                raise DataError(
                    f"track {row.track_id} failed validation ({row.status}) but has no repair "
                    "record: re-run the repair rule."
                )
            outcome = repaired.loc[row.track_id]
            if outcome["status"] == "repaired":
                entry.update(status="repaired", reason=f"{row.status}; {outcome.get('action', '')}")
                entry.update({k: outcome[k] for k in ("path", "md5", "duration_s", "sample_rate")})
            else:
                entry.update(status="quarantined", md5="", duration_s=None, sample_rate=None)
                entry["reason"] = f"{row.status}: {outcome.get('detail', '')}".removesuffix(": ")
        rows.append(entry)
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    manifest["sample_rate"] = pd.to_numeric(manifest["sample_rate"], errors="coerce").astype(
        "Int64"
    )
    manifest["duration_s"] = pd.to_numeric(manifest["duration_s"], errors="coerce")
    return manifest


def read_manifest(path: str) -> pd.DataFrame:
    """Read the manifest written by the manifest rule (blank cells as empty strings)."""
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in MANIFEST_COLUMNS if c not in manifest.columns]
    if missing:
        raise DataError(
            f"manifest {path} lacks column(s) {', '.join(missing)}: re-run the workflow."
        )
    return manifest


def usable_tracks(manifest: pd.DataFrame) -> pd.DataFrame:
    """Tracks later stages use: not quarantined, as ``track_id, source_track_id, genre, path``."""
    usable = manifest[manifest["status"] != "quarantined"]
    return pd.DataFrame(
        {
            "track_id": usable["track_id"].to_numpy(),
            "source_track_id": usable["track_id"].to_numpy(),
            "genre": usable["genre"].to_numpy(),
            "path": usable["path"].to_numpy(),
        }
    )
