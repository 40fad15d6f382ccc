"""The duplicate audit: which tracks of a dataset hold the same recording.

Each usable track's excerpt is decoded at the fingerprint rate and fingerprinted
(:mod:`genreflow.data.fingerprint`); matching fingerprints form groups. The table lists
each group's tracks with what the registry says of them (artist, title), so a published
dataset's known repetitions (Sturm's for GTZAN) can be checked against what was heard.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from genreflow.audio import UndecodableAudioError, decode_excerpt
from genreflow.data.fingerprint import (
    FINGERPRINT_SAMPLE_RATE,
    classify_pair,
    duplicate_groups,
    find_duplicates,
    fingerprint,
)
from genreflow.excerpts import Excerpt

log = logging.getLogger(__name__)

DUPLICATE_COLUMNS = (
    "group",
    "track_id",
    "genre",
    "artist",
    "title",
    "matched",  # the group's track it matched best
    "similarity",  # 1 - bit error rate of the aligned fingerprints
    "offset_s",  # where this track's excerpt starts in the matched one's
    "kind",  # exact (identical fingerprints) or near
    "registry_agrees",  # yes: same non-blank artist and title; no: they differ; blank: unknown
)


def track_fingerprint(path: str | os.PathLike, excerpt: Excerpt | None) -> np.ndarray:
    """The fingerprint of a track's excerpt (empty when it cannot be decoded)."""
    try:
        y, _, _ = decode_excerpt(path, excerpt, sample_rate=FINGERPRINT_SAMPLE_RATE)
    except UndecodableAudioError as exc:
        log.warning("%s: not fingerprinted (%s)", path, exc)
        return np.zeros(0, dtype=np.uint32)
    return fingerprint(y, FINGERPRINT_SAMPLE_RATE)


def audit_duplicates(
    manifest: pd.DataFrame,
    registry: pd.DataFrame,
    *,
    excerpt: Excerpt | None,
    threads: int = 1,
) -> pd.DataFrame:
    """One row per track of each duplicate group among the usable tracks of ``manifest``
    (``DUPLICATE_COLUMNS``); ``registry`` gives artist and title where it has them."""
    usable = manifest[manifest["status"] != "quarantined"].sort_values("track_id")
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        prints = list(pool.map(lambda p: track_fingerprint(p, excerpt), usable["path"]))
    fingerprints = dict(zip(usable["track_id"], prints))
    pairs = find_duplicates(fingerprints)
    groups = duplicate_groups(pairs, list(fingerprints))
    table = _group_table(pairs, groups, usable, registry)
    log.info(
        "duplicate audit: %d group(s), %d track(s) of %d",
        table["group"].nunique(),
        len(table),
        len(usable),
    )
    return table


def _group_table(
    pairs: pd.DataFrame,
    groups: Mapping[str, int],
    usable: pd.DataFrame,
    registry: pd.DataFrame,
) -> pd.DataFrame:
    if not groups:
        return pd.DataFrame(columns=DUPLICATE_COLUMNS)
    known = registry.set_index("track_id")
    genre = usable.set_index("track_id")["genre"]

    def described(track: str, column: str) -> str:
        if column in known.columns and track in known.index:
            return str(known.at[track, column]).strip()
        return ""

    # each track's best match: the pair of highest similarity it is part of
    both = pd.concat(
        [
            pairs.rename(columns={"track_id_a": "track_id", "track_id_b": "matched"}),
            pairs.rename(columns={"track_id_b": "track_id", "track_id_a": "matched"}).assign(
                offset_s=-pairs["offset_s"]
            ),
        ],
        ignore_index=True,
    )
    best = both.sort_values(["track_id", "similarity"], ascending=[True, False])
    best = best.drop_duplicates("track_id").set_index("track_id")
    rows = []
    for track, group in sorted(groups.items(), key=lambda item: (item[1], item[0])):
        match = best.loc[track]
        artist, title = described(track, "artist"), described(track, "title")
        other = (described(match["matched"], "artist"), described(match["matched"], "title"))
        agrees = (
            ""
            if not (artist and title and all(other))
            else (
                "yes"
                if (artist.lower(), title.lower()) == (other[0].lower(), other[1].lower())
                else "no"
            )
        )
        rows.append(
            {
                "group": group,
                "track_id": track,
                "genre": genre.get(track, ""),
                "artist": artist,
                "title": title,
                "matched": match["matched"],
                "similarity": round(float(match["similarity"]), 4),
                "offset_s": round(float(match["offset_s"]), 2),
                "kind": classify_pair(float(match["similarity"])),
                "registry_agrees": agrees,
            }
        )
    return pd.DataFrame(rows, columns=DUPLICATE_COLUMNS)
