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
MIN_PREFIX = 8  # hex digits of a SHA-256 prefix (torch.hub file names)


def parse_checksum(
    spec: str, *, key: str = "checksum", allow_prefix: bool = False
) -> tuple[str, str]:
    """Split ``"algo:hexdigest"`` into ``(algo, hexdigest)``.

    ``key`` names the config entry in the error message. With ``allow_prefix`` a SHA-256
    digest may be given by its first :data:`MIN_PREFIX` or more hex digits, as torch.hub
    names published weights (``vggish-10086976.pth``: the file's SHA-256 starts with
    ``10086976``); compare with :func:`digest_matches`.
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
    hexadecimal = bool(digest) and all(c in "0123456789abcdef" for c in digest)
    prefix_ok = allow_prefix and algo == "sha256" and hexadecimal
    if prefix_ok and MIN_PREFIX <= len(digest) <= expected_len:
        return algo, digest
    if len(digest) != expected_len or not hexadecimal:
        prefix = (
            f", or its first {MIN_PREFIX}+ digits (torch.hub style)"
            if allow_prefix and algo == "sha256"
            else ""
        )
        raise ConfigError(
            f"{key}: {spec!r} is not a valid {algo} digest ({expected_len} hex digits{prefix})."
        )
    return algo, digest


def digest_matches(actual: str, expected: str) -> bool:
    """Whether the hex digest ``actual`` is ``expected``, or starts with it (a prefix
    accepted by :func:`parse_checksum`)."""
    return bool(expected) and actual.lower().startswith(expected.lower())


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
