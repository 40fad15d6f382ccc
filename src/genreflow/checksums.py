"""Checksums of files and of the canonical WAV rendering of audio."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import soundfile as sf

from genreflow.errors import ConfigError

SUPPORTED_ALGORITHMS = ("md5", "sha1", "sha256")


def parse_checksum(spec: str, *, key: str = "checksum") -> tuple[str, str]:
    """Split ``"algo:hexdigest"`` into ``(algo, hexdigest)``.

    ``key`` names the config entry in the error message.
    """
    algo, sep, digest = str(spec).partition(":")
    algo = algo.strip().lower()
    digest = digest.strip().lower()
    if not sep or algo not in SUPPORTED_ALGORITHMS:
        raise ConfigError(
            f"{key}: {spec!r} is not of the form 'ALGO:HEXDIGEST' with ALGO one of "
            f"{', '.join(SUPPORTED_ALGORITHMS)} (e.g. 'md5:5b3d6ddd...')."
        )
    expected_len = hashlib.new(algo).digest_size * 2
    if len(digest) != expected_len or any(c not in "0123456789abcdef" for c in digest):
        raise ConfigError(
            f"{key}: {spec!r} is not a valid {algo} digest ({expected_len} hex digits)."
        )
    return algo, digest


def file_digest(path: str | os.PathLike, algo: str = "md5") -> str:
    """Hex digest of a file's bytes, read in chunks."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, algo).hexdigest()


def canonical_wav_bytes(samples: np.ndarray, sample_rate: int) -> bytes:
    """Render int16 samples as the canonical 16-bit PCM WAV that the registries hash.

    GTZAN's registry MD5s are of files written exactly like this (soundfile, PCM_16),
    so an ``.au`` original converted here reproduces them byte for byte.
    """
    if samples.dtype != np.int16:
        raise TypeError(f"canonical WAV rendering needs int16 samples, got {samples.dtype}")
    buffer = io.BytesIO()
    sf.write(buffer, samples, sample_rate, subtype="PCM_16", format="WAV")
    return buffer.getvalue()


def canonical_md5(path: str | os.PathLike) -> str:
    """MD5 of a track in canonical form.

    A ``.wav`` is hashed as it is on disk. Any other container (e.g. GTZAN's
    original ``.au``) is decoded to int16 and hashed as its canonical WAV rendering,
    so both distributions of a dataset validate against one registry.
    """
    path = Path(path)
    if path.suffix.lower() == ".wav":
        return file_digest(path, "md5")
    samples, sample_rate = sf.read(path, dtype="int16", always_2d=False)
    return hashlib.md5(canonical_wav_bytes(samples, sample_rate)).hexdigest()
