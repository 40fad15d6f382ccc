"""FMA (Defferrard et al. 2017): the track registry from ``fma_metadata/tracks.csv``.

``tracks.csv`` has a two-row column header (a (group, field) MultiIndex such as
(``set``, ``subset``) or (``track``, ``genre_top``)) and the track id as its index. A
subset's registry holds, per track: the 6-digit ``track_id`` (the audio file's stem,
``fma_small/<first 3 digits>/<id>.mp3``), ``genre`` (``genre_top``), the artist id,
the title and the official split (``training`` / ``validation`` / ``test``, artists
kept apart). FMA publishes no per-track checksums, so ``wav_md5`` is blank and
validation decodes every file instead.
"""

from __future__ import annotations

import logging
import os
import zipfile
from pathlib import Path

import pandas as pd

from genreflow.errors import DataError
from genreflow.schemes import REGISTRY_SPLITS

log = logging.getLogger(__name__)
TRACKS_MEMBER = "fma_metadata/tracks.csv"
SUBSETS = ("small", "medium", "large")
# the registry column of the official split, and what its values mean
OFFICIAL_SPLIT_COLUMN, OFFICIAL_ROLES = REGISTRY_SPLITS["official"]
COLUMNS = {
    "subset": ("set", "subset"),
    "split": ("set", "split"),
    "genre": ("track", "genre_top"),
    "artist": ("artist", "id"),
    "title": ("track", "title"),
}


def audio_member(track_id: str, subset: str = "small") -> str:
    """The path of a track's MP3 inside ``fma_<subset>.zip``."""
    return f"fma_{subset}/{track_id[:3]}/{track_id}.mp3"


def read_tracks(source: str | os.PathLike) -> pd.DataFrame:
    """``tracks.csv`` with its two-row header, from the metadata zip or the CSV itself."""
    source = Path(source)
    try:
        if zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as archive:
                if TRACKS_MEMBER not in archive.namelist():
                    raise DataError(
                        f"{source} has no {TRACKS_MEMBER}: is dataset.metadata.source the "
                        "fma_metadata.zip archive?"
                    )
                with archive.open(TRACKS_MEMBER) as handle:
                    tracks = pd.read_csv(handle, index_col=0, header=[0, 1], low_memory=False)
        else:
            tracks = pd.read_csv(source, index_col=0, header=[0, 1], low_memory=False)
    except (pd.errors.ParserError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise DataError(f"{source}: cannot read FMA's tracks.csv ({exc}).") from exc
    missing = [f"({a}, {b})" for a, b in COLUMNS.values() if (a, b) not in tracks.columns]
    if missing:
        raise DataError(
            f"{source}: tracks.csv lacks column(s) {', '.join(missing)}; it needs FMA's "
            "two-row header (e.g. set,set / subset,split)."
        )
    return tracks


def fma_registry(
    tracks: pd.DataFrame, subset: str = "small", *, unlabelled: str = "error"
) -> pd.DataFrame:
    """The registry of one FMA subset: ``track_id, genre, wav_md5, artist, title, official_split``.

    The ``small`` subset is the tracks whose (``set``, ``subset``) is ``small``; the
    larger subsets contain the smaller ones, as in FMA. A track without ``genre_top``
    (FMA-small and -medium have none; many of FMA-large's tracks have several top
    genres or none) is an error naming it, or, with ``unlabelled="drop"``, left out and
    counted in the log.
    """
    if subset not in SUBSETS:
        raise DataError(f"dataset.metadata.subset: {subset!r} is not one of {', '.join(SUBSETS)}.")
    levels = SUBSETS[: SUBSETS.index(subset) + 1]
    chosen = tracks[tracks[COLUMNS["subset"]].isin(levels)]
    if chosen.empty:
        raise DataError(f"tracks.csv has no track of the {subset!r} subset.")
    split = chosen[COLUMNS["split"]].astype(str)
    unknown = sorted(set(split) - set(OFFICIAL_ROLES))
    if unknown:
        raise DataError(
            f"tracks.csv: (set, split) holds {', '.join(unknown)}; expected "
            f"{', '.join(OFFICIAL_ROLES)}."
        )
    genre = chosen[COLUMNS["genre"]]
    if genre.isna().any() and unlabelled == "drop":
        log.info(
            "%d of the %d tracks of the %s subset have no genre_top: left out "
            "(dataset.metadata.unlabelled: drop)",
            int(genre.isna().sum()),
            len(chosen),
            subset,
        )
        chosen, split = chosen[genre.notna()], split[genre.notna()]
        genre = genre[genre.notna()]
    elif genre.isna().any():
        ids = ", ".join(str(i) for i in chosen.index[genre.isna()][:5])
        raise DataError(
            f"tracks.csv: {int(genre.isna().sum())} track(s) of the {subset} subset have no "
            f"genre_top ({ids}, ...); set dataset.metadata.unlabelled: drop to leave them out."
        )
    artist = chosen[COLUMNS["artist"]]
    registry = pd.DataFrame(
        {
            "track_id": [f"{int(i):06d}" for i in chosen.index],
            "genre": genre.astype(str).to_numpy(),
            "wav_md5": "",
            "artist": [f"fma-artist-{int(a)}" if pd.notna(a) else "" for a in artist],
            "title": chosen[COLUMNS["title"]].fillna("").astype(str).to_numpy(),
            OFFICIAL_SPLIT_COLUMN: split.to_numpy(),
        }
    )
    return registry.sort_values("track_id", ignore_index=True)
