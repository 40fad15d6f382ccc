"""Reading a dataset's track registry: the published list of tracks and their checksums."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from genreflow.errors import DataError

REQUIRED_COLUMNS = ("track_id", "genre", "wav_md5")
OPTIONAL_COLUMNS = ("artist", "title")


def read_registry(
    path: str | os.PathLike,
    *,
    subset: str | os.PathLike | None = None,
    genres: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Load the registry of expected tracks.

    Parameters
    ----------
    path
        CSV with at least ``track_id, genre, wav_md5`` (``artist``, ``title`` optional;
        blank means unknown).
    subset
        Optional text file with one track id per line: only those tracks are expected
        (e.g. the 100-track ``gtzan_mini``).
    genres
        Optional genre selection; ``None`` keeps all.

    Returns
    -------
    DataFrame indexed by position, one row per expected track, sorted by track id,
    with missing optional columns added as empty strings.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"track registry {path} does not exist: check dataset.registry.")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"track registry {path} lacks column(s) {', '.join(missing)}; "
            f"it needs {', '.join(REQUIRED_COLUMNS)}."
        )
    duplicated = table["track_id"][table["track_id"].duplicated()].unique()
    if len(duplicated):
        raise DataError(f"track registry {path} lists track(s) twice: {', '.join(duplicated[:5])}.")
    for column in OPTIONAL_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    if subset is not None:
        wanted = read_track_list(subset)
        unknown = sorted(set(wanted) - set(table["track_id"]))
        if unknown:
            raise DataError(
                f"subset list {subset} names tracks absent from {path}: {', '.join(unknown[:5])}."
            )
        table = table[table["track_id"].isin(wanted)]
    if genres is not None:
        unknown_genres = sorted(set(genres) - set(table["genre"]))
        if unknown_genres:
            raise DataError(
                f"dataset.genres names genre(s) absent from {path}: {', '.join(unknown_genres)}."
            )
        table = table[table["genre"].isin(genres)]
    return table.sort_values("track_id").reset_index(drop=True)


def read_track_list(path: str | os.PathLike) -> list[str]:
    """Track ids from a text file, one per line; blank lines and ``#`` comments ignored."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"track list {path} does not exist: check dataset.subset.")
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]
