"""FMA-small: the registry from tracks.csv, and a miniature FMA through the whole workflow."""

import functools
import hashlib
import http.server
import json
import re
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genreflow.data.fma import audio_member, fma_registry, read_tracks
from genreflow.errors import DataError

from conftest import only_models
from workflow_runner import copy_project, snakemake, write_config

FMA_GENRES = [
    "Electronic",
    "Experimental",
    "Folk",
    "Hip-Hop",
    "Instrumental",
    "International",
    "Pop",
    "Rock",
]
SPLITS = ("training", "validation", "test")
BROKEN = "099134"  # holds no decodable audio in the real release
SHORT = "108925"  # here: a 2 s clip


def mini_tracks() -> pd.DataFrame:
    """tracks.csv rows: per genre one track of each split, the faulty two, other subsets."""
    rows = []
    track = 2
    for g, genre in enumerate(FMA_GENRES):
        for split in SPLITS:
            rows.append((track, "small", split, genre, 100 + 10 * g + SPLITS.index(split)))
            track += 3
    rows.append((int(BROKEN), "small", "training", "Rock", 999))
    rows.append((int(SHORT), "small", "training", "Pop", 998))
    rows.append((200, "medium", "training", "Blues", 997))  # not in the small subset
    columns = pd.MultiIndex.from_tuples(
        [
            ("set", "subset"),
            ("set", "split"),
            ("track", "genre_top"),
            ("artist", "id"),
            ("track", "title"),
            ("album", "title"),
        ]
    )
    table = pd.DataFrame(
        [(s, sp, g, a, f"Song {t}", "An album") for t, s, sp, g, a in rows],
        index=pd.Index([r[0] for r in rows], name="track_id"),
        columns=columns,
    )
    return table


def write_tracks_csv(path: Path) -> Path:
    """tracks.csv as FMA ships it: the two-row (group, field) header, then the index row."""
    mini_tracks().to_csv(path)
    return path


def test_tracks_csv_has_fma_two_row_header(tmp_path):
    lines = write_tracks_csv(tmp_path / "tracks.csv").read_text().splitlines()
    assert lines[0].startswith(",set,set,track,artist")
    assert lines[1].startswith(",subset,split,genre_top,id")
    assert lines[2].startswith("track_id")


def test_registry_of_the_small_subset(tmp_path):
    registry = fma_registry(read_tracks(write_tracks_csv(tmp_path / "tracks.csv")))
    assert len(registry) == 26  # the medium-only track is left out
    assert sorted(registry["genre"].unique()) == FMA_GENRES
    assert registry["track_id"].str.fullmatch(r"\d{6}").all()
    assert registry.set_index("track_id").loc["000002", "official_split"] == "training"
    assert registry.set_index("track_id").loc["000002", "artist"] == "fma-artist-100"
    assert (registry["wav_md5"] == "").all()
    assert audio_member("000002") == "fma_small/000/000002.mp3"
    assert audio_member("108925") == "fma_small/108/108925.mp3"


def test_larger_subsets_and_tracks_without_genre_top(tmp_path, caplog):
    tracks = mini_tracks()
    medium = fma_registry(tracks, "medium")
    assert len(medium) == 27 and "Blues" in set(medium["genre"])  # small ⊂ medium
    unlabelled = (300, 301)
    for track in unlabelled:  # large-only tracks without a top genre, as most are
        tracks.loc[track] = ["large", "training", None, 996, f"Song {track}", "An album"]
    with pytest.raises(DataError, match=r"2 track\(s\) of the large subset have no genre_top "
                       r"\(300, 301, \.\.\.\); set dataset\.metadata\.unlabelled: drop"):  # fmt: skip
        fma_registry(tracks, "large")
    with caplog.at_level("INFO"):
        large = fma_registry(tracks, "large", unlabelled="drop")
    assert len(large) == 27 and "000300" not in set(large["track_id"])
    assert "2 of the 29 tracks of the large subset have no genre_top: left out" in caplog.text


def test_registry_is_read_from_the_metadata_zip(tmp_path):
    csv_path = write_tracks_csv(tmp_path / "tracks.csv")
    archive = tmp_path / "fma_metadata.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.write(csv_path, "fma_metadata/tracks.csv")
    assert len(fma_registry(read_tracks(archive))) == 26


def test_tracks_csv_without_the_two_row_header_is_refused(tmp_path):
    flat = tmp_path / "tracks.csv"
    pd.DataFrame({"track_id": [2], "genre_top": ["Rock"]}).to_csv(flat, index=False)
    with pytest.raises(DataError, match=r"lacks column\(s\) \(set, subset\)"):
        read_tracks(flat)


def test_wrong_zip_is_named(tmp_path):
    archive = tmp_path / "fma_small.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("fma_small/000/000002.mp3", b"")
    with pytest.raises(DataError, match="has no fma_metadata/tracks.csv"):
        read_tracks(archive)


# --- a miniature FMA-small served over HTTP, through the workflow -------------------


def tone(seconds: float, freq: float, sr: int = 44100) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    left = 0.3 * np.sin(2 * np.pi * freq * t)
    right = 0.3 * np.sin(2 * np.pi * 1.5 * freq * t)
    return np.stack([left, right], axis=1).astype(np.float32)


def build_mini_fma(www: Path, clip_seconds: float) -> dict[str, str]:
    """fma_small.zip (MP3s in the real layout) and fma_metadata.zip; their SHA-1s."""
    tracks = mini_tracks()
    scratch = www / "scratch"
    scratch.mkdir()
    with zipfile.ZipFile(www / "fma_small.zip", "w") as archive:
        for number, row in tracks.iterrows():
            if row[("set", "subset")] != "small":
                continue
            track_id = f"{number:06d}"
            mp3 = scratch / f"{track_id}.mp3"
            if track_id == BROKEN:
                mp3.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 3)
            else:
                genre = FMA_GENRES.index(row[("track", "genre_top")])
                seconds = 2.0 if track_id == SHORT else clip_seconds
                sf.write(mp3, tone(seconds, 110 * (genre + 1) + number % 7), 44100, format="MP3")
            archive.write(mp3, audio_member(track_id))
        archive.writestr("fma_small/README.txt", "miniature FMA for tests\n")
    csv_path = write_tracks_csv(scratch / "tracks.csv")
    with zipfile.ZipFile(www / "fma_metadata.zip", "w") as archive:
        archive.write(csv_path, "fma_metadata/tracks.csv")
    return {
        name: hashlib.sha1((www / name).read_bytes()).hexdigest()
        for name in ("fma_small.zip", "fma_metadata.zip")
    }


@pytest.fixture(scope="module")
def mini_fma_run(tmp_path_factory):
    www = tmp_path_factory.mktemp("www")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    clip_seconds = 6.0
    sha1 = build_mini_fma(www, clip_seconds)
    project = copy_project(tmp_path_factory.mktemp("fma_project"))
    config = write_config(
        project,
        {
            "dataset": {
                "name": "fma_small",
                "source": f"{base}/fma_small.zip",
                "checksum": f"sha1:{sha1['fma_small.zip']}",
                "registry": None,
                "metadata": {
                    "kind": "fma",
                    "source": f"{base}/fma_metadata.zip",
                    "checksum": f"sha1:{sha1['fma_metadata.zip']}",
                    "subset": "small",
                },
                "n_tracks": 26,
                "genres": "all",
                "format": {
                    "sample_rate": None,
                    "channels": None,
                    "clip_seconds": clip_seconds,
                    "duration_tolerance_s": 0.5,
                },
            },
            "features": {"tracks_per_job": 13},
            "folds": {"schemes": ["official"]},
            "training": {"max_epochs": 1, "threads": 1},
            "final": {"models": ["logreg"]},
            "explain": {"tracks_per_fold": 1, "ig_steps": 8},
            "models": only_models(["cnn_seed001", "logreg"]),
        },
        "fma_test.yaml",
    )
    try:
        result = snakemake(project, "--configfile", "config/config.yaml", str(config))
    finally:
        server.shutdown()
        server.server_close()
    return project, result


@pytest.mark.integration
def test_mini_fma_faulty_clips_are_found_by_decoding_and_quarantined(mini_fma_run):
    project, _ = mini_fma_run
    results = project / "results/data/fma_small"
    validation = pd.read_csv(results / "validation.csv", dtype=str).set_index("track_id")
    assert validation.loc[BROKEN, "status"] == "undecodable"
    assert validation.loc[SHORT, "status"] == "unexpected_format"
    assert "duration 2.0" in validation.loc[SHORT, "detail"]
    manifest = pd.read_csv(results / "manifest.csv", dtype={"track_id": str})
    quarantined = manifest.loc[manifest["status"] == "quarantined", "track_id"]
    assert sorted(quarantined) == sorted([BROKEN, SHORT])
    assert (manifest["status"] != "repaired").all()  # no repair source, no MP3 salvage
    summary = (project / "results/report/fma_small/official/summary.md").read_text()
    assert re.search(r"\| quarantined \|\s+2 \|", summary)
    assert BROKEN in summary and SHORT in summary


@pytest.mark.integration
def test_mini_fma_official_split_and_genres_flow_from_the_metadata(mini_fma_run):
    project, _ = mini_fma_run
    registry = pd.read_csv(project / "results/data/fma_small/registry.csv", dtype=str)
    folds = pd.read_csv(project / "results/folds/fma_small/official.csv", dtype=str)
    roles = folds.set_index("track_id")["role"]
    expected = registry.set_index("track_id")["official_split"].drop([BROKEN, SHORT])
    role_of = {"training": "train", "validation": "val", "test": "test"}
    assert roles.sort_index().to_dict() == expected.map(role_of).sort_index().to_dict()
    for model in ("cnn_seed001", "logreg"):
        run = project / f"results/models/fma_small/official/{model}/seed0/fold0"
        record = json.loads((run / "config.json").read_text())
        assert record["genres"] == FMA_GENRES
        predictions = pd.read_csv(
            project / f"results/eval/fma_small/official/{model}/seed0/fold0/predictions.csv"
        )
        assert [c for c in predictions.columns if c.startswith("prob_")] == [
            f"prob_{g}" for g in FMA_GENRES
        ]
    f1 = pd.read_csv(project / "results/report/fma_small/official/per_genre_f1.csv", index_col=0)
    assert list(f1.columns) == FMA_GENRES


@pytest.mark.integration
def test_mini_fma_final_model_predicts_fma_genres(mini_fma_run):
    project, _ = mini_fma_run
    mp3 = next((project / "resources/downloads/fma_small/extracted").rglob("000002.mp3"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "genreflow.cli",
            "predict",
            str(mp3),
            "--model",
            "results/final/fma_small/logreg",
            "--format",
            "json",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["model"]["genres"] == FMA_GENRES
    assert sorted(document["files"][0]["probabilities"]) == FMA_GENRES
