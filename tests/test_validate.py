"""Validation of single tracks and of a dataset copy against its registry."""

import pandas as pd
import pytest

from genreflow.data.validate import VALIDATION_COLUMNS, FormatSpec, check_track, validate_tracks

from conftest import FIXTURES, au_as_canonical_wav, registry_md5, tone_wav

GTZAN = FormatSpec(sample_rate=22050, channels=1, clip_seconds=30.0, duration_tolerance_s=1.0)


@pytest.fixture
def blues(tmp_path):
    path = tmp_path / "blues.00050.wav"
    path.write_bytes(au_as_canonical_wav("blues.00050"))
    return path


def test_intact_track_is_ok(blues):
    check = check_track(blues, registry_md5("blues.00050"), GTZAN)
    assert check.status == "ok", check.detail
    assert (check.sample_rate, check.channels) == (22050, 1)
    assert check.duration_s == pytest.approx(661794 / 22050, abs=1e-3)


def test_original_au_validates_against_the_wav_registry():
    check = check_track(FIXTURES / "blues.00050.au", registry_md5("blues.00050"), GTZAN)
    assert check.status == "ok", check.detail
    assert check.md5 == registry_md5("blues.00050")


def test_missing_file(tmp_path):
    assert check_track(tmp_path / "nope.wav", "", GTZAN).status == "missing"
    assert check_track(None, "", GTZAN).status == "missing"


def test_zero_length_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    check = check_track(path, "", GTZAN)
    assert (check.status, check.detail) == ("undecodable", "zero-length file")


def test_garbage_bytes(tmp_path):
    path = tmp_path / "garbage.wav"
    path.write_bytes(bytes(range(256)) * 100)
    assert check_track(path, "", GTZAN).status == "undecodable"


def test_header_stripped_wav_is_undecodable(tmp_path, blues):
    path = tmp_path / "stripped.wav"
    path.write_bytes(blues.read_bytes()[44:])
    check = check_track(path, registry_md5("blues.00050"), GTZAN)
    assert check.status == "undecodable"


def test_truncated_payload_is_caught_by_full_decode(tmp_path, blues):
    path = tmp_path / "truncated.wav"
    path.write_bytes(blues.read_bytes()[: 44 + 2 * 22050 * 10])  # header promises 30 s, 10 s left
    check = check_track(path, registry_md5("blues.00050"), GTZAN)
    assert check.status in ("unexpected_format", "undecodable")
    if check.status == "unexpected_format":
        assert "duration 10.00 s" in check.detail


def test_checksum_mismatch(tmp_path, blues):
    check = check_track(blues, registry_md5("jazz.00054"), GTZAN)
    assert check.status == "checksum_mismatch"
    assert registry_md5("jazz.00054") in check.detail


def test_checksum_mismatch_accepted_when_not_strict(blues):
    check = check_track(blues, registry_md5("jazz.00054"), GTZAN, strict_checksums=False)
    assert check.status == "ok"
    assert "strict_checksums is false" in check.detail


@pytest.mark.parametrize(
    "wav_kwargs, expected",
    [
        ({"seconds": 30, "channels": 2}, "2 channels, expected 1"),
        ({"seconds": 30, "sr": 44100}, "sample rate 44100 Hz, expected 22050 Hz"),
        ({"seconds": 5}, "duration 5.00 s, expected 30 ± 1 s"),
    ],
)
def test_unexpected_format(tmp_path, wav_kwargs, expected):
    path = tmp_path / "x.wav"
    path.write_bytes(tone_wav(**wav_kwargs))
    check = check_track(path, "0" * 32, GTZAN)
    assert check.status == "unexpected_format"
    assert expected in check.detail
    assert "differs from the registry" in check.detail  # the mismatch is reported too


def test_resampled_real_clip_is_unexpected_format():
    check = check_track(FIXTURES / "country.00048.16k.wav", registry_md5("country.00048"), GTZAN)
    assert check.status == "unexpected_format"
    assert "sample rate 16000 Hz" in check.detail


def test_validate_tracks_one_row_per_registry_track(tmp_path, blues, caplog):
    extra = tmp_path / "rock.00001.wav"
    extra.write_bytes(tone_wav(seconds=30))
    registry = pd.DataFrame(
        {
            "track_id": ["blues.00050", "jazz.00054"],
            "genre": ["blues", "jazz"],
            "wav_md5": [registry_md5("blues.00050"), registry_md5("jazz.00054")],
        }
    )
    files = pd.DataFrame(
        {"track_id": ["blues.00050", "rock.00001"], "path": [str(blues), str(extra)]}
    )
    table = validate_tracks(registry, files, GTZAN, threads=2)
    assert list(table.columns) == list(VALIDATION_COLUMNS)
    assert dict(zip(table.track_id, table.status)) == {"blues.00050": "ok", "jazz.00054": "missing"}
    assert "rock.00001" in caplog.text  # unregistered files are reported, not validated
