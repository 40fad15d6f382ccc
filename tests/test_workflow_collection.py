"""Your own music through the workflow: pinned, quarantined, audited, folded; changes stop it.

A folder of 4 genres of mixed-format songs (some long; one zero-byte, one truncated, one
text file named .mp3; one song copied into two genres as mp3 and flac) runs through the
data stage and the folds in a scratch copy of the project.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from genreflow.demo.library import Song, render_song, write_audio, write_library

from workflow_runner import copy_project, snakemake, write_config

pytestmark = pytest.mark.integration

# genre folder → the demo recipe its songs are synthesised with
GENRE_FOLDERS = {"Rock": "rock", "Jazz": "jazz", "Hip-Hop": "hiphop", "classical": "classical"}
SONGS = [
    Song(
        f"{genre}/Artist {i}/{i:02d} song.{ext}",
        genre,
        seconds,
        rate,
        channels,
        f"{genre} artist {i}",
        f"song {i}",
        recipe=recipe,
    )
    for genre, recipe in GENRE_FOLDERS.items()
    for i, (ext, seconds, rate, channels) in enumerate(
        [
            ("mp3", 45.0, 44100, 2),
            ("flac", 95.0, 22050, 1),
            ("wav", 33.0, 22050, 1),
            ("m4a", 40.0, 22050, 2),
        ]
    )
]


@pytest.fixture(scope="module")
def collection_run(tmp_path_factory):
    project = copy_project(tmp_path_factory.mktemp("collection_project"))
    music = tmp_path_factory.mktemp("music")
    write_library(music, SONGS, seed=7)
    (music / "Rock" / "empty.mp3").write_bytes(b"")
    (music / "Jazz" / "readme.mp3").write_text("not audio at all\n" * 50)
    full = music / "Hip-Hop" / "Artist 0" / "00 song.mp3"
    (music / "Hip-Hop" / "cut.mp3").write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    # one song in two genres, as mp3 and as flac: the audit must group them
    samples = render_song("rock", 50.0, 22050, 1, seed=99, number=1)
    write_audio(music / "Rock" / "twice.mp3", samples, 22050)
    write_audio(music / "Jazz" / "twice.flac", samples, 22050)
    # a name with spaces and letters beyond ASCII
    other = render_song("classical", 35.0, 22050, 1, seed=98, number=2)
    write_audio(music / "classical" / "Ünï Artist" / "Çafé – 01.flac", other, 22050)
    config = write_config(
        project,
        {
            "dataset": {"name": "mine", "source": str(music)},
            "features": {"clip_seconds": 30},
            "folds": {"schemes": ["artist_kfold"], "n_folds": 2},
        },
    )
    done = snakemake(project, "--configfile", str(config), "--until", "assign_folds")
    return project, music, config, done


def results(project: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(project / "results" / name, dtype=str, keep_default_na=False)


def test_the_plan_prints_the_genre_labels_it_applied(collection_run):
    *_, done = collection_run
    assert "'Hip-Hop' → 'hip hop'" in done.stderr
    assert "this run pins it to results/data/mine/registry.csv" in done.stderr


def test_the_manifest_lists_every_file_and_quarantines_the_bad_ones_with_reasons(
    collection_run,
):
    project, music, *_ = collection_run
    manifest = results(project, "data/mine/manifest.csv").set_index("path")
    files = sorted(str(p) for p in music.rglob("*") if p.is_file())
    assert sorted(manifest.index) == files
    reason = manifest["reason"]
    assert reason[str(music / "Rock" / "empty.mp3")] == "zero bytes"
    assert reason[str(music / "Jazz" / "readme.mp3")].startswith("not audio")
    assert reason[str(music / "Hip-Hop" / "cut.mp3")].startswith("truncated")
    quarantined = manifest[manifest["status"] == "quarantined"]
    assert len(quarantined) == 3  # long, stereo, 44.1 kHz and m4a songs all pass
    assert set(manifest["genre"]) == {"rock", "jazz", "hip hop", "classical"}


def test_the_registry_pins_checksums_formats_and_tags(collection_run):
    project, *_ = collection_run
    registry = results(project, "data/mine/registry.csv").set_index("path")
    row = registry.loc["Rock/Artist 0/00 song.mp3"]
    assert row["codec"] == "MP3" and row["sample_rate"] == "44100" and row["channels"] == "2"
    assert row["artist"] == "Rock artist 0" and len(row["file_md5"]) == 32
    assert registry["track_id"].is_unique
    unicode = registry.loc["classical/Ünï Artist/Çafé – 01.flac"]
    assert unicode["track_id"].isascii() and " " not in unicode["track_id"]


def test_the_copies_in_two_genres_are_one_group_and_share_a_role(collection_run):
    project, *_ = collection_run
    duplicates = results(project, "data/mine/duplicates.csv")
    registry = results(project, "data/mine/registry.csv").set_index("track_id")
    grouped = {registry.loc[t, "path"] for t in duplicates["track_id"]}
    assert grouped == {"Rock/twice.mp3", "Jazz/twice.flac"}
    folds = results(project, "folds/mine/artist_kfold.csv")
    twins = folds[folds["track_id"].isin(duplicates["track_id"])]
    assert (twins.groupby("fold")["role"].nunique() == 1).all()


def test_a_changed_file_stops_the_next_run_before_any_job_until_pinned(collection_run):
    project, music, config, _ = collection_run
    song = music / "classical" / "Artist 1" / "01 song.flac"
    song.write_bytes(song.read_bytes()[:-10] + b"0123456789")
    stopped = snakemake(project, "-n", "--configfile", str(config), check=False)
    assert stopped.returncode != 0
    output = (stopped.stdout + stopped.stderr).splitlines()
    problem = [line for line in output if "1 changed" in line]
    assert len(problem) == 1 and "classical/Artist 1/01 song.flac" in problem[0]
    assert f"genreflow pin --configfile {config}" in problem[0]
    pinned = subprocess.run(
        [sys.executable, "-m", "genreflow.cli", "pin", "--configfile", str(config)],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
    )
    assert pinned.returncode == 0, pinned.stderr
    again = snakemake(project, "-n", "--configfile", str(config))
    assert "scan_collection" in again.stdout  # every later stage reruns on the new pin
