"""Consolidation: per-track feature files → one memory-mappable array per feature.

Training loads ``<feature>@<segmentation>.npy`` (examples × rows × frames, float32)
with ``np.load(..., mmap_mode="r")`` in one read, and its ``.index.csv`` says which
track, source track and segment each example is.
"""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from genreflow.atomic import atomic_path, write_csv
from genreflow.errors import DataError
from genreflow.features.settings import FeatureSettings, Segmentation
from genreflow.features.summary import SUMMARY_COLUMNS

log = logging.getLogger(__name__)

INDEX_COLUMNS = ("row", "track_id", "source_track_id", "genre", "segment", "start_s")


def segment_starts(n_frames: int, segment_frames: int, hop_frames: int) -> range:
    """Start frames of the whole segments that fit in ``n_frames`` frames."""
    if n_frames < segment_frames:
        return range(0)
    return range(0, n_frames - segment_frames + 1, hop_frames)


def consolidate_feature(
    tracks: pd.DataFrame,
    feature: str,
    segmentation: Segmentation,
    settings: FeatureSettings,
    dest_array: str | os.PathLike,
    dest_index: str | os.PathLike,
) -> pd.DataFrame:
    """Stack every track's segments of ``feature`` into one ``.npy`` array and its index.

    Parameters
    ----------
    tracks
        The shard tables concatenated: one row per track with the file of ``feature``.
    segmentation
        Segment length and hop in seconds (``seconds=None``: the whole clip, which needs
        equal-length clips, i.e. ``features.clip_policy: pad_or_trim``; of a
        precomputed set, the mean of each track's frames: one frame per track).

    Returns
    -------
    The index written to ``dest_index``: one row per example, the track id on every
    segment.
    """
    tracks = tracks.sort_values("track_id", ignore_index=True)
    if tracks.empty:
        raise DataError(f"no tracks to consolidate for {feature}: is the manifest empty?")
    first = np.load(tracks[feature].iloc[0], mmap_mode="r")
    n_rows = first.shape[0]
    # a precomputed set's whole clip is the mean of its frames (their number may differ
    # from track to track, and its frames may have no length)
    pooled = segmentation.seconds is None and settings.spec(feature).is_precomputed
    if pooled:
        segment_frames = hop_frames = 1
    elif segmentation.seconds is None:
        lengths = tracks["n_frames"].unique()
        if len(lengths) != 1:
            raise DataError(
                f"{feature}@{segmentation.name}: clips have different lengths "
                f"({lengths.min()}–{lengths.max()} frames); set features.clip_policy to "
                "pad_or_trim or use a segmentation with a fixed length."
            )
        segment_frames = hop_frames = int(lengths[0])
    else:
        segment_frames = settings.frames(segmentation.seconds, feature)
        hop_frames = settings.frames(segmentation.hop_seconds or segmentation.seconds, feature)
        if segment_frames < 1 or hop_frames < 1:
            raise DataError(
                f"{feature}@{segmentation.name}: a {segmentation.seconds:g} s segment (hop "
                f"{segmentation.hop_seconds or segmentation.seconds:g} s) is shorter than one "
                f"{settings.frame_seconds(feature):.3f} s frame of {feature}; use a longer "
                "segmentation."
            )
    frame_seconds = 0.0 if pooled else settings.frame_seconds(feature)
    starts = [
        range(1) if pooled else segment_starts(int(n), segment_frames, hop_frames)
        for n in tracks["n_frames"]
    ]
    short = tracks["track_id"][[len(s) == 0 for s in starts]].tolist()
    if short:
        log.warning(
            "%d track(s) shorter than one %s segment are left out of %s: %s",
            len(short),
            segmentation.name,
            feature,
            ", ".join(short[:10]),
        )
    n_examples = sum(len(s) for s in starts)
    index_rows = []
    # written example by example with plain writes, not through a writable memmap: its
    # dirty pages would count in the job's memory (a 100,000-track log-mel array is tens
    # of GB), while written file pages are the kernel's to flush
    header = {
        "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
        "fortran_order": False,
        "shape": (n_examples, n_rows, segment_frames),
    }
    with atomic_path(dest_array) as tmp, open(tmp, "wb") as out:
        np.lib.format.write_array_header_1_0(out, header)
        position = 0
        for track, track_starts in zip(tracks.itertuples(index=False), starts):
            if not len(track_starts):
                continue
            matrix = np.load(getattr(track, feature))
            if pooled:
                matrix = matrix.mean(axis=1, keepdims=True, dtype=np.float64)
            for number, start in enumerate(track_starts):
                segment = matrix[:, start : start + segment_frames]
                out.write(np.ascontiguousarray(segment, dtype=np.float32).tobytes())
                index_rows.append(
                    (
                        position,
                        track.track_id,
                        track.source_track_id,
                        track.genre,
                        number,
                        round(start * frame_seconds, 4),
                    )
                )
                position += 1
    index = pd.DataFrame(index_rows, columns=INDEX_COLUMNS)
    write_csv(index, dest_index)
    log.info(
        "%s@%s: %d examples of %d × %d from %d tracks",
        feature,
        segmentation.name,
        n_examples,
        n_rows,
        segment_frames,
        len(tracks),
    )
    return index


def summary_table(tracks: pd.DataFrame, feature: str = "gtzan_summary") -> pd.DataFrame:
    """The per-track summary vectors as one table: ``track_id``, the 57 columns, labels."""
    tracks = tracks.sort_values("track_id", ignore_index=True)
    values = np.stack([np.load(path) for path in tracks[feature]]) if len(tracks) else None
    table = pd.DataFrame(values, columns=list(SUMMARY_COLUMNS))
    table.insert(0, "track_id", tracks["track_id"].to_numpy())
    table["genre"] = tracks["genre"].to_numpy()
    table["source_track_id"] = tracks["source_track_id"].to_numpy()
    return table
