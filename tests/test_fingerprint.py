"""The duplicate audit: Philips fingerprints find copies, re-encodes, trims and excerpts
of one recording, and nothing between different recordings or shared silence."""

from __future__ import annotations

import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from genreflow.data.fingerprint import (
    FINGERPRINT_SAMPLE_RATE,
    classify_pair,
    duplicate_groups,
    find_duplicates,
    fingerprint,
)
from genreflow.demo.publish import clip_rng, demo_artists
from genreflow.demo.synth import render_clip, to_int16

SR = 22050  # the clips are made, and written to disk, at GTZAN's rate
COLUMNS = ["track_id_a", "track_id_b", "similarity", "offset_s", "overlap_s"]


def clip(genre: str, number: int, seconds: float = 30.0) -> np.ndarray:
    """A demo clip by the genre's first artist, as 16-bit samples in float32."""
    artist = demo_artists(genre, 4, 1234)[0]
    audio = render_clip(genre, seconds, SR, clip_rng(1234, genre, number), artist)
    return to_int16(audio).astype(np.float32) / 32768.0


def prints_of(y: np.ndarray) -> np.ndarray:
    """Decode the way a caller does: resample to the fingerprint rate, then fingerprint."""
    down = librosa.resample(y, orig_sr=SR, target_sr=FINGERPRINT_SAMPLE_RATE, res_type="soxr_hq")
    return fingerprint(down, FINGERPRINT_SAMPLE_RATE)


def round_trip(y: np.ndarray, path, format: str, **options) -> np.ndarray:
    sf.write(path, y, SR, format=format, **options)
    decoded, sr = sf.read(path, dtype="float32")
    assert sr == SR
    return decoded


def one_pair(a: np.ndarray, b: np.ndarray, **options) -> pd.Series:
    """The single row find_duplicates reports for tracks "a" and "b"."""
    pairs = find_duplicates({"a": a, "b": b}, **options)
    assert len(pairs) == 1, pairs
    return pairs.iloc[0]


@pytest.fixture(scope="module")
def song() -> np.ndarray:
    return clip("rock", 3)


@pytest.fixture(scope="module")
def song_prints(song) -> np.ndarray:
    return prints_of(song)


def test_one_sub_fingerprint_per_hop(song_prints):
    assert song_prints.dtype == np.uint32
    # 30 s, 11.6 ms hops, less the first 0.37 s frame
    assert 2500 < song_prints.size < 2600
    assert song_prints.all()  # music: no silent frame
    assert np.unique(song_prints).size > 0.5 * song_prints.size


def test_wrong_rate_raises_and_short_input_gives_nothing(song):
    with pytest.raises(ValueError, match=str(FINGERPRINT_SAMPLE_RATE)):
        fingerprint(song, SR)
    for samples in (0, 100, FINGERPRINT_SAMPLE_RATE // 4):
        prints = fingerprint(np.zeros(samples, np.float32), FINGERPRINT_SAMPLE_RATE)
        assert prints.dtype == np.uint32 and prints.size == 0
    assert find_duplicates({"a": np.zeros(0, np.uint32)}).columns.tolist() == COLUMNS


def test_identical_copy_is_exact(song, song_prints):
    pair = one_pair(song_prints, prints_of(song.copy()))
    assert pair.similarity == 1.0 and classify_pair(pair.similarity) == "exact"
    assert pair.offset_s == 0.0 and pair.overlap_s == pytest.approx(29.6, abs=0.1)


def test_six_db_quieter_copy_has_the_same_bits(song, song_prints):
    quieter = song * np.float32(10 ** (-6 / 20))
    pair = one_pair(song_prints, prints_of(quieter))
    assert pair.similarity >= 0.99 and pair.offset_s == 0.0


def test_flac_round_trip_is_exact(song, song_prints, tmp_path):
    decoded = round_trip(song, tmp_path / "song.flac", "FLAC", subtype="PCM_16")
    assert classify_pair(one_pair(song_prints, prints_of(decoded)).similarity) == "exact"


def test_mp3_re_encode_is_a_near_duplicate(song, song_prints, tmp_path):
    decoded = round_trip(song, tmp_path / "song.mp3", "MP3")
    pair = one_pair(song_prints, prints_of(decoded))
    assert 0.8 <= pair.similarity < 1.0 and classify_pair(pair.similarity) == "near"
    assert abs(pair.offset_s) < 0.05 and pair.overlap_s > 29.0


def test_copy_trimmed_at_the_start_is_found_at_its_offset(song, song_prints):
    trimmed = song[round(2.3 * SR) :]
    pair = one_pair(song_prints, prints_of(trimmed))
    assert pair.similarity >= 0.95
    assert pair.offset_s == pytest.approx(-2.3, abs=0.02)  # b starts 2.3 s into a
    assert pair.overlap_s == pytest.approx(27.3, abs=0.1)


def test_copy_after_silence_is_found_at_its_offset(song, song_prints):
    delayed = np.concatenate([np.zeros(3 * SR, np.float32), song])
    pair = one_pair(song_prints, prints_of(delayed))
    assert pair.similarity >= 0.95  # 3 s is not a whole number of hops
    assert pair.offset_s == pytest.approx(3.0, abs=0.02)  # a starts 3 s into b
    assert pair.overlap_s == pytest.approx(29.6, abs=0.1)  # the silence does not count


def test_excerpt_is_found_when_it_overlaps_enough(song, song_prints):
    excerpt = prints_of(song[12 * SR : 22 * SR])
    pair = one_pair(song_prints, excerpt)
    assert pair.similarity >= 0.95
    assert pair.offset_s == pytest.approx(-12.0, abs=0.02)
    assert pair.overlap_s == pytest.approx(9.6, abs=0.1)
    assert find_duplicates({"a": song_prints, "b": excerpt}, min_overlap_s=15.0).empty


def test_different_clips_by_one_artist_are_not_duplicates(song_prints):
    others = {f"rock.{n}": prints_of(clip("rock", n)) for n in (5, 40)}
    assert find_duplicates({"rock.3": song_prints, **others}).empty


def test_tracks_padded_with_silence_are_not_duplicates():
    silence = np.zeros(26 * SR, np.float32)
    hum = 1e-5 * np.random.default_rng(7).standard_normal(26 * SR).astype(np.float32)
    padded = {
        "a": np.concatenate([clip("jazz", 7, 4.0), silence]),
        "b": np.concatenate([silence, clip("jazz", 9, 4.0)]),
        "c": np.concatenate([clip("blues", 2, 4.0), hum]),
        "d": silence,
        "e": silence.copy(),
    }
    prints = {name: prints_of(y) for name, y in padded.items()}
    assert not prints["d"].any()  # silence has no sub-fingerprints
    assert find_duplicates(prints).empty
    assert find_duplicates(prints, min_overlap_s=1.0).empty


def test_a_library_audit_reports_each_copy_once_and_sorted(song, song_prints):
    library = {
        "z.original": song_prints,
        "m.quieter": prints_of(0.5 * song),
        "a.trimmed": prints_of(song[round(2.3 * SR) :]),
        "k.other": prints_of(clip("metal", 8)),
    }
    pairs = find_duplicates(library)
    assert pairs.columns.tolist() == COLUMNS
    assert list(zip(pairs.track_id_a, pairs.track_id_b)) == [
        ("a.trimmed", "m.quieter"),
        ("a.trimmed", "z.original"),
        ("m.quieter", "z.original"),
    ]
    # a.trimmed starts 2.3 s later in the recording than the others
    assert pairs.offset_s.round(1).tolist() == [2.3, 2.3, 0.0]


def test_the_index_built_in_parts_finds_the_same_candidates(song, song_prints, monkeypatch):
    """A 100,000-track audit builds its index a part of the values at a time: the votes,
    and so the candidates, are the ones a single index gives."""
    from genreflow.data import fingerprint as module

    prints = [song_prints, prints_of(0.5 * song), prints_of(song[round(2.3 * SR) :])]
    prints.append(prints_of(clip("metal", 8)))
    whole = module._candidates(prints, 100)
    assert whole and whole == module._candidates(prints, 100, part_postings=500)
    library = dict(zip("abcd", prints, strict=True))
    expected = find_duplicates(library)
    assert len(expected) == 3
    monkeypatch.setattr(module, "PART_POSTINGS", 700)  # in parts
    pd.testing.assert_frame_equal(find_duplicates(library), expected)
    monkeypatch.setattr(module, "BLOCK_POSTINGS", 3000)  # each read in several blocks
    pd.testing.assert_frame_equal(find_duplicates(library), expected)


def test_groups_are_transitive(song):
    # a and b share 6 s, b and c share 6 s; a and c share nothing
    parts = {"a": (0, 12), "b": (6, 24), "c": (18, 30), "d": (0, 30)}
    prints = {name: prints_of(song[lo * SR : hi * SR]) for name, (lo, hi) in parts.items()}
    del prints["d"]
    prints["x"] = prints_of(clip("pop", 1))
    pairs = find_duplicates(prints)
    assert list(zip(pairs.track_id_a, pairs.track_id_b)) == [("a", "b"), ("b", "c")]
    assert duplicate_groups(pairs, sorted(prints)) == {"a": 0, "b": 0, "c": 0}


def test_groups_are_numbered_by_their_smallest_track():
    pairs = pd.DataFrame(
        {"track_id_a": ["q", "b", "c"], "track_id_b": ["r", "z", "z"]},
    )
    ids = ["a", "b", "c", "q", "r", "z"]
    assert duplicate_groups(pairs, ids) == {"b": 0, "c": 0, "z": 0, "q": 1, "r": 1}
    assert duplicate_groups(pairs.iloc[:0], ids) == {}
