"""Canonical checksums: the .au originals reproduce the registry's WAV MD5s."""

import hashlib

import pytest

from genreflow.checksums import canonical_md5, file_digest, parse_checksum
from genreflow.errors import ConfigError

from conftest import FIXTURES, au_as_canonical_wav, registry_md5


@pytest.mark.parametrize("track_id", ["jazz.00054", "blues.00050"])
def test_au_conversion_reproduces_registry_md5(track_id):
    assert hashlib.md5(au_as_canonical_wav(track_id)).hexdigest() == registry_md5(track_id)
    assert canonical_md5(FIXTURES / f"{track_id}.au") == registry_md5(track_id)


def test_jazz_00054_repair_target_is_the_published_md5():
    assert registry_md5("jazz.00054") == "8f0ab76fff2d2c6bc80eb9c9362318ca"


def test_wav_md5_is_the_file_md5(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(au_as_canonical_wav("blues.00050"))
    assert canonical_md5(path) == file_digest(path, "md5") == registry_md5("blues.00050")


@pytest.mark.parametrize(
    "spec, message",
    [
        ("5b3d6dddb579ab49814ab86dba69e7c7", "ALGO:HEXDIGEST"),
        ("crc32:1234", "ALGO:HEXDIGEST"),
        ("md5:1234", "32 hex digits"),
        ("sha256:" + "z" * 64, "valid sha256"),
    ],
)
def test_parse_checksum_rejects_malformed_specs(spec, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_checksum(spec, key="dataset.checksum")
    assert "dataset.checksum" in str(info.value)


def test_parse_checksum_normalises_case():
    assert parse_checksum("MD5:" + "A" * 32) == ("md5", "a" * 32)
