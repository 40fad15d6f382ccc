"""Rule import_precomputed: a precomputed set's arrays in the feature stage's layout.

The plan has checked the source before any job (every track present, one
dimensionality, finite values where small enough to read at parse time); this job reads
every array of the run's tracks, checks each again (values included: a NaN or an
infinity stops it, naming the track and file), and writes each as the feature stage
keeps a set, ``<root>/<set>/<track_id>.npy`` (dimensions × frames, float32), with a
table like the embedding stage's shard tables, which consolidation reads. No audio is
decoded. Augmented copies have no precomputed embedding: only the dataset's own tracks
are listed.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pandas as pd

from genreflow.embeddings.precomputed import PrecomputedError, PrecomputedSource, matrix
from genreflow.errors import DataError
from genreflow.features.settings import FeatureSettings
from genreflow.features.shards import feature_path, save_array

log = logging.getLogger(__name__)

PRECOMPUTED_COLUMNS = ("track_id", "source_track_id", "genre", "n_frames")


def import_precomputed(
    tracks: pd.DataFrame,
    settings: FeatureSettings,
    feature: str,
    root: str | os.PathLike,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Check and copy the arrays of ``tracks`` (``track_id, source_track_id, genre``) of
    the precomputed set ``feature``.

    Returns
    -------
    The table (:data:`PRECOMPUTED_COLUMNS` and ``feature``, the file of each track) and
    the set's record: its source, format, SHA-256 over the source's bytes (the ``.npz``
    file, or the folder's files of these tracks), tracks, dimensions and frame length.

    Raises
    ------
    DataError
        One line naming ``features.sets.<feature>``, the track and its file: a track
        without an array, a shape, dimensionality or value a probe cannot use.
    """
    key = f"features.sets.{feature}"
    spec = settings.spec(feature)
    source = PrecomputedSource.of(spec.params["path"])
    if source.format is None:
        raise DataError(
            f"{key}.path: {source.path} is neither a folder of <track_id>.npy files nor an "
            ".npz file keyed by track id"
        )
    ids = list(tracks["track_id"])
    available = source.ids()
    missing = [track_id for track_id in ids if track_id not in available]
    if missing:
        raise DataError(
            f"{key}.path: {len(missing)} of the {len(ids)} usable tracks have no embedding in "
            f"{source.path} (first: {', '.join(missing[:5])}); add them and run again"
        )
    rows, dimensions = [], None
    for track, (track_id, array) in zip(tracks.itertuples(index=False), source.arrays(ids)):
        file = source.file_of(track_id)
        try:
            values = matrix(array, file)
        except PrecomputedError as exc:
            raise DataError(f"{key}: track {track_id}: {exc}") from None
        if dimensions is None:
            dimensions = values.shape[0]
        elif values.shape[0] != dimensions:
            raise DataError(
                f"{key}: track {track_id}: {file} has {values.shape[0]} dimensions, the "
                f"tracks before it {dimensions}; every track needs the same (frames, "
                "dimensions), frames first"
            )
        dest = feature_path(root, feature, track_id)
        save_array(values, dest)
        rows.append(
            {
                "track_id": track_id,
                "source_track_id": track.source_track_id,
                "genre": track.genre,
                "n_frames": values.shape[1],
                feature: str(dest),
            }
        )
    table = pd.DataFrame(rows, columns=[*PRECOMPUTED_COLUMNS, feature])
    record = {
        "set": feature,
        "kind": spec.kind,
        "path": str(source.path),
        "format": source.format,
        "checksum": source.digest(ids if source.format == "npy_folder" else None),
        "n_tracks": len(rows),
        "dimensions": dimensions,
        "frames": {
            "min": int(table["n_frames"].min()) if rows else 0,
            "max": int(table["n_frames"].max()) if rows else 0,
        },
        "frame_seconds": spec.params.get("frame_seconds"),
    }
    log.info(
        "%s: %d tracks of %s dimensions (%d–%d frames) from %s (%s)",
        feature,
        len(rows),
        dimensions,
        record["frames"]["min"],
        record["frames"]["max"],
        source.path,
        record["checksum"],
    )
    return table, record
