"""Shards and consolidation: per-track files, segment arrays with the track id on every row."""

import functools
import operator

import numpy as np
import pandas as pd
import pytest

from genreflow.errors import DataError
from genreflow.features.compute import FeatureSpec
from genreflow.features.consolidate import consolidate_feature, segment_starts, summary_table
from genreflow.features.settings import FeatureSettings, Segmentation
from genreflow.features.shards import extract_shard, shard_of
from genreflow.features.summary import SUMMARY_COLUMNS

from conftest import tone_wav


def settings(clip_seconds=4.0, policy="pad_or_trim"):
    return FeatureSettings(
        sample_rate=22050,
        n_fft=2048,
        hop_length=512,
        clip_seconds=clip_seconds,
        clip_policy=policy,
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=(
            FeatureSpec("logmel64", "logmel", {"n_mels": 64}),
            FeatureSpec("gtzan_summary", "gtzan_summary"),
        ),
    )


@pytest.fixture
def tracks(tmp_path):
    rows = []
    for i, (genre, seconds) in enumerate([("a", 4), ("a", 3), ("b", 5)]):
        path = tmp_path / "audio" / f"{genre}.{i:05d}.wav"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(tone_wav(seconds=seconds, freq=220 * (i + 1)))
        rows.append((f"{genre}.{i:05d}", f"{genre}.{i:05d}", genre, str(path)))
    return pd.DataFrame(rows, columns=["track_id", "source_track_id", "genre", "path"])


def test_extract_shard_writes_one_file_per_track_and_feature(tmp_path, tracks, caplog):
    table = extract_shard(tracks, settings(), tmp_path / "features")
    assert list(table.track_id) == list(tracks.track_id)
    for row in table.itertuples():
        matrix = np.load(row.logmel64)
        assert matrix.shape == (64, 1 + 4 * 22050 // 512)
        assert row.logmel64.endswith(f"logmel64/{row.track_id}.npy")
    assert table.set_index("track_id").loc["a.00001", "problems"].startswith("too short")
    assert "a.00001" in caplog.text  # reported, and kept
    assert not list((tmp_path / "features").rglob("*.tmp*"))


def test_segments_and_index(tmp_path, tracks):
    table = extract_shard(tracks, settings(), tmp_path / "features")
    index = consolidate_feature(
        table,
        "logmel64",
        Segmentation("s1", 1.0, 0.5),
        settings(),
        tmp_path / "a.npy",
        tmp_path / "a.csv",
    )
    array = np.load(tmp_path / "a.npy", mmap_mode="r")
    frames, hop = round(22050 / 512), round(0.5 * 22050 / 512)
    per_track = len(segment_starts(1 + 4 * 22050 // 512, frames, hop))
    assert array.shape == (3 * per_track, 64, frames)
    assert index.groupby("track_id").size().tolist() == [per_track] * 3
    assert (index.row == np.arange(len(index))).all()
    first = np.load(table.logmel64.iloc[0])
    np.testing.assert_array_equal(array[1], first[:, hop : hop + frames])  # 2nd segment
    assert index.start_s.iloc[1] == round(hop * 512 / 22050, 4)
    pd.testing.assert_frame_equal(index, pd.read_csv(tmp_path / "a.csv"), check_dtype=False)


def test_whole_clip_needs_equal_lengths(tmp_path, tracks):
    table = extract_shard(tracks, settings(policy="none"), tmp_path / "features")
    with pytest.raises(DataError, match="pad_or_trim"):
        consolidate_feature(
            table,
            "logmel64",
            Segmentation("clip", None),
            settings(),
            tmp_path / "a.npy",
            tmp_path / "a.csv",
        )
    assert not (tmp_path / "a.npy").exists()


def test_tracks_shorter_than_a_segment_are_left_out_with_a_warning(tmp_path, tracks, caplog):
    table = extract_shard(tracks, settings(policy="none"), tmp_path / "features")
    index = consolidate_feature(
        table,
        "logmel64",
        Segmentation("s45", 4.5, 4.5),
        settings(),
        tmp_path / "a.npy",
        tmp_path / "a.csv",
    )
    assert index.track_id.tolist() == ["b.00002"]
    assert "shorter than one s45 segment" in caplog.text


def test_summary_table_columns(tmp_path, tracks):
    table = extract_shard(tracks, settings(), tmp_path / "features")
    summary = summary_table(table)
    assert list(summary.columns) == ["track_id", *SUMMARY_COLUMNS, "genre", "source_track_id"]
    assert len(summary) == 3


def test_shards_partition_the_tracks():
    tracks = pd.DataFrame({"track_id": [f"t{i:03d}" for i in range(10)]})
    parts = [shard_of(tracks.sample(frac=1, random_state=0), k, 3) for k in range(3)]
    assert (
        sorted(functools.reduce(operator.iadd, (p.track_id.tolist() for p in parts), []))
        == tracks.track_id.tolist()
    )
    assert [len(p) for p in parts] == [3, 3, 4]
