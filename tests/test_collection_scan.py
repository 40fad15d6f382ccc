"""Quarantine by decoding: every kind of bad file gets its reason; ordinary files pass."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genreflow.collection.scan import check_usable, file_problem
from genreflow.demo.library import render_song, write_audio
from genreflow.errors import DataError
from genreflow.excerpts import Excerpt
from genreflow.plan.estimate import MODEL_CPU_S, estimate

EXCERPT = Excerpt(policy="middle", seconds=30.0)


def judged(path) -> str:
    return file_problem(path, min_duration_s=5.0, silence_peak=1e-4, excerpt=EXCERPT)


@pytest.fixture(scope="module")
def song():
    return render_song("rock", 70.0, 44100, 2, seed=3, number=1)


@pytest.mark.parametrize("ext", ["flac", "mp3", "ogg", "m4a", "wav"])
def test_an_ordinary_long_stereo_44k_song_passes(tmp_path, song, ext):
    assert judged(write_audio(tmp_path / f"song.{ext}", song, 44100)) == ""


def test_silent_too_short_and_missing_files_are_quarantined_with_reasons(tmp_path, song):
    silent = write_audio(tmp_path / "silent.wav", np.zeros((44100 * 40, 1), np.float32), 44100)
    short = write_audio(tmp_path / "short.flac", song[: 44100 * 3], 44100)
    assert judged(silent).startswith("silent: peak 0 below features.silence_peak")
    assert judged(short).startswith("too short: 3.0 s, under dataset.collection.min_duration_s")
    assert judged(tmp_path / "gone.mp3").startswith("missing")


def test_a_truncated_flac_and_mp3_are_caught_by_decoding(tmp_path, song):
    for ext in ("flac", "mp3"):
        whole = write_audio(tmp_path / f"whole.{ext}", song, 44100)
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
        assert judged(cut).startswith(("truncated", "undecodable")), ext


def test_the_run_stops_in_one_line_when_too_much_is_bad_or_a_genre_too_small():
    manifest = pd.DataFrame(
        {
            "genre": ["rock"] * 6 + ["jazz"] * 4,
            "status": ["ok"] * 6 + ["ok", "ok", "quarantined", "quarantined"],
            "reason": [""] * 8 + ["zero bytes", "truncated: header says 30 s"],
        }
    )
    check_usable(manifest, max_bad_share=0.2, min_per_genre=2)
    with pytest.raises(DataError, match=r"^genre 'jazz' keeps 2 usable track\(s\)"):
        check_usable(manifest, max_bad_share=0.2, min_per_genre=3)
    with pytest.raises(
        DataError,
        match=r"2 of 10 files \(20%\) are quarantined \(1 zero bytes, 1 truncated\), more than",
    ):
        check_usable(manifest, max_bad_share=0.1, min_per_genre=2)


def test_the_expected_time_scales_with_songs_and_names_unmeasured_models():
    small = estimate(10, {"logreg": 1}, 5, 1)
    assert small.minutes == estimate(46, {"logreg": 1}, 5, 1).minutes  # start-up bound
    large = estimate(4600, {name: 1 for name in MODEL_CPU_S}, 5, 2)
    assert large.minutes > 50 * small.minutes
    assert "hybrid_seed004" in estimate(100, {"hybrid_seed004": 3}, 5, 0).describe()
