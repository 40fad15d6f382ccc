"""Registry loading and the manifest that every later stage reads."""

import pandas as pd
import pytest

from genreflow.data.manifest import MANIFEST_COLUMNS, build_manifest
from genreflow.data.registry import read_registry
from genreflow.errors import DataError

from conftest import GTZAN_REGISTRY, PROJECT_ROOT


def test_gtzan_registry():
    table = read_registry(GTZAN_REGISTRY)
    assert len(table) == 1000 and table.genre.nunique() == 10
    assert (table.artist == "").sum() > 0  # unknown artists stay blank, not NaN


def test_gtzan_mini_subset_has_ten_tracks_per_genre():
    table = read_registry(
        GTZAN_REGISTRY, subset=PROJECT_ROOT / "resources/gtzan_mini/track_ids.txt"
    )
    assert len(table) == 100
    assert set(table.genre.value_counts()) == {10}


def test_genre_selection():
    table = read_registry(GTZAN_REGISTRY, genres=["rock", "metal"])
    assert sorted(table.genre.unique()) == ["metal", "rock"] and len(table) == 200


@pytest.mark.parametrize(
    "content, message",
    [
        ("track_id,genre\nx,y\n", "lacks column"),
        ("track_id,genre,wav_md5\nx,y,\nx,y,\n", r"lists track\(s\) twice"),
    ],
)
def test_malformed_registry(tmp_path, content, message):
    path = tmp_path / "tracks.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=message) as info:
        read_registry(path)
    assert str(path) in str(info.value)


def test_unknown_subset_track(tmp_path):
    subset = tmp_path / "ids.txt"
    subset.write_text("# comment\nblues.00000\npolka.00001\n")
    with pytest.raises(DataError, match="polka.00001"):
        read_registry(GTZAN_REGISTRY, subset=subset)


def _validation(rows):
    base = {"detail": "", "expected_md5": "", "channels": 1}
    return pd.DataFrame([{**base, **row} for row in rows])


def test_manifest_merges_validation_and_repairs():
    registry = pd.DataFrame(
        {
            "track_id": ["a.00000", "a.00001", "b.00000"],
            "genre": ["a", "a", "b"],
            "wav_md5": ["", "", ""],
            "artist": ["Someone", "", ""],
            "title": ["", "", ""],
        }
    )
    validation = _validation(
        [
            {
                "track_id": "a.00000",
                "genre": "a",
                "path": "raw/a0.wav",
                "status": "ok",
                "md5": "m0",
                "sample_rate": 22050,
                "duration_s": 30.0,
            },
            {
                "track_id": "a.00001",
                "genre": "a",
                "path": "raw/a1.wav",
                "status": "undecodable",
                "md5": "",
                "sample_rate": "",
                "duration_s": "",
            },
            {
                "track_id": "b.00000",
                "genre": "b",
                "path": "",
                "status": "missing",
                "md5": "",
                "sample_rate": "",
                "duration_s": "",
            },
        ]
    )
    repairs = pd.DataFrame(
        [
            {
                "track_id": "a.00001",
                "status": "repaired",
                "path": "fixed/a1.wav",
                "md5": "m1",
                "duration_s": 29.9,
                "sample_rate": 22050,
            },
            {
                "track_id": "b.00000",
                "status": "quarantined",
                "path": "",
                "md5": "",
                "duration_s": "",
                "sample_rate": "",
            },
        ]
    )
    manifest = build_manifest(registry, validation, repairs)
    assert list(manifest.columns) == list(MANIFEST_COLUMNS)
    rows = manifest.set_index("track_id")
    assert rows.loc["a.00000", ["status", "path", "artist"]].tolist() == [
        "ok",
        "raw/a0.wav",
        "Someone",
    ]
    assert rows.loc["a.00001", ["status", "path", "md5"]].tolist() == [
        "repaired",
        "fixed/a1.wav",
        "m1",
    ]
    assert rows.loc["b.00000", "status"] == "quarantined"
    assert pd.isna(rows.loc["b.00000", "sample_rate"])


def test_manifest_refuses_failed_track_without_repair_record():
    registry = pd.DataFrame(
        {"track_id": ["a.00000"], "genre": ["a"], "wav_md5": [""], "artist": [""]}
    )
    validation = _validation(
        [
            {
                "track_id": "a.00000",
                "genre": "a",
                "path": "",
                "status": "missing",
                "md5": "",
                "sample_rate": "",
                "duration_s": "",
            }
        ]
    )
    with pytest.raises(DataError, match="re-run the repair rule"):
        build_manifest(registry, validation, pd.DataFrame(columns=["track_id", "status"]))
