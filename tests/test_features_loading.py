"""Decoding for features: resampling, downmixing, the clip-length policy, problem flags."""

import numpy as np
import pytest
import soundfile as sf

from genreflow.features.loading import load_track

from conftest import FIXTURES, tone_wav


def test_resamples_any_rate_to_the_configured_one():
    track = load_track(FIXTURES / "country.00048.16k.wav", sample_rate=22050, clip_seconds=30)
    assert track.original_sr == 16000 and track.sr == 22050
    assert len(track.y) == 30 * 22050 and track.y.dtype == np.float32


def test_downmixes_stereo(tmp_path):
    path = tmp_path / "stereo.wav"
    path.write_bytes(tone_wav(seconds=3, sr=44100, channels=2))
    track = load_track(path, sample_rate=22050, clip_seconds=3)
    assert track.channels == 2 and track.y.ndim == 1 and len(track.y) == 3 * 22050


def test_pads_short_and_trims_long_clips(tmp_path):
    short, long = tmp_path / "short.wav", tmp_path / "long.wav"
    short.write_bytes(tone_wav(seconds=2))
    long.write_bytes(tone_wav(seconds=5))
    padded = load_track(short, sample_rate=22050, clip_seconds=3)
    trimmed = load_track(long, sample_rate=22050, clip_seconds=3)
    assert len(padded.y) == len(trimmed.y) == 3 * 22050
    assert padded.padded_s == pytest.approx(1.0) and trimmed.trimmed_s == pytest.approx(2.0)
    assert not padded.y[-100:].any()  # zero padding at the end
    problems = padded.problems(silence_peak=1e-4, min_duration_s=2.5)
    assert any(p.startswith("too short (2.00 s") for p in problems)


def test_policy_none_keeps_the_length(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(tone_wav(seconds=2))
    assert len(load_track(path, sample_rate=22050, clip_seconds=3, clip_policy="none").y) == 44100


def test_silence_is_reported(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(22050 * 3, dtype=np.int16), 22050, subtype="PCM_16")
    track = load_track(path, sample_rate=22050, clip_seconds=3)
    assert track.problems(silence_peak=1e-4, min_duration_s=2.5) == ["silent (peak 0 < 0.0001)"]
