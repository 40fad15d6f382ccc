"""load_track keeps the whole decode (for the summary) next to the padded or trimmed clip."""

import numpy as np
import pytest

from genreflow.features.loading import load_track

from conftest import FIXTURES, tone_wav

SR = 22050


def test_a_trimmed_track_keeps_its_whole_decode():
    track = load_track(FIXTURES / "blues.00050.au", sample_rate=SR, clip_seconds=30)
    assert len(track.y) == 30 * SR and len(track.untrimmed) == 661_794  # 30.013 s
    assert np.shares_memory(track.y, track.untrimmed)  # decoded once; the clip is a view
    np.testing.assert_array_equal(track.y, track.untrimmed[: 30 * SR])
    assert track.trimmed_s == pytest.approx(294 / SR, abs=1e-4)
    assert track.original_duration_s == pytest.approx(len(track.untrimmed) / SR, abs=1e-4)


def test_a_padded_track_keeps_its_unpadded_decode(tmp_path):
    path = tmp_path / "short.wav"
    path.write_bytes(tone_wav(seconds=2))
    track = load_track(path, sample_rate=SR, clip_seconds=3)
    assert len(track.y) == 3 * SR and len(track.untrimmed) == 2 * SR
    np.testing.assert_array_equal(track.y[: 2 * SR], track.untrimmed)
    assert not track.y[2 * SR :].any()


@pytest.mark.parametrize("policy", ["pad_or_trim", "none"])
def test_an_unchanged_track_is_its_own_whole_decode(tmp_path, policy):
    path = tmp_path / "exact.wav"
    path.write_bytes(tone_wav(seconds=3))
    track = load_track(path, sample_rate=SR, clip_seconds=3, clip_policy=policy)
    assert track.full_y is None and track.untrimmed is track.y and len(track.y) == 3 * SR


def test_policy_none_keeps_the_whole_decode_as_the_clip(tmp_path):
    path = tmp_path / "long.wav"
    path.write_bytes(tone_wav(seconds=5))
    track = load_track(path, sample_rate=SR, clip_seconds=3, clip_policy="none")
    assert track.untrimmed is track.y and len(track.y) == 5 * SR
