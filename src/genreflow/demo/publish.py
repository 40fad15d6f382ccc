"""Publish the synthetic demo dataset the way a dataset host publishes GTZAN.

:func:`publish_demo` writes, into one folder:

* ``genreflow_demo.tar.gz``: ``genreflow_demo/genres_original/<genre>/<genre>.000NN.wav``
  members, canonical 16-bit mono WAVs, packed byte-deterministically. Like the real
  GTZAN WAV copy, ``jazz.00054.wav`` is broken: its 44 header bytes are zeroed, so no
  decoder opens it, while the PCM payload after them is intact.
* ``genreflow_demo.tar.gz.sha256``: the published checksum, ``sha256:<hex>``.
* ``tracks.csv``: the registry, with the columns of ``resources/gtzan/tracks.csv``; the
  MD5 of ``jazz.00054`` is that of the unbroken file.
* ``originals/jazz.00054.au``: the repair source, the same samples as Sun AU.

Everything is a function of the seed: each clip's generator is seeded from
``(seed, genre index, track number)`` and each artist's from ``(seed, genre index,
1000 + artist index)``, so a clip does not depend on how many clips are published.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from genreflow.atomic import atomic_path, write_csv, write_text
from genreflow.checksums import canonical_wav_bytes, file_digest
from genreflow.demo.synth import GENRES, ArtistTraits, make_artist, render_clip, to_int16
from genreflow.errors import ConfigError

ARCHIVE_NAME = "genreflow_demo.tar.gz"
CHECKSUM_NAME = ARCHIVE_NAME + ".sha256"
REGISTRY_NAME = "tracks.csv"
ORIGINALS_DIR = "originals"
ARCHIVE_ROOT = "genreflow_demo"
AUDIO_DIR = f"{ARCHIVE_ROOT}/genres_original"
BROKEN_TRACK = "jazz.00054"
WAV_HEADER_BYTES = 44
REGISTRY_COLUMNS = ("track_id", "genre", "wav_md5", "artist", "title", "fault_filtered_split")
_ARTIST_STREAM = 1000


class DemoConfigError(ConfigError, ValueError):
    """A ``demo.*`` setting is out of range (also a :class:`ValueError`)."""


@dataclass(frozen=True)
class DemoRelease:
    """What :func:`publish_demo` wrote."""

    archive: Path
    checksum: Path
    registry: Path
    originals: tuple[Path, ...]
    sha256: str


@dataclass(frozen=True)
class DemoClip:
    """One rendered track of the demo dataset."""

    track_id: str
    genre: str
    number: int
    artist: ArtistTraits
    split: str
    samples: np.ndarray  # int16, mono


def track_numbers(clips_per_genre: int) -> list[int]:
    """GTZAN track numbers used for every genre: spread over 0..99, always including 54."""
    n = _check_int(clips_per_genre, "demo.clips_per_genre", 1, 100)
    return sorted({(54 + (100 * i) // n) % 100 for i in range(n)})


def artist_index(number: int, artists_per_genre: int) -> int:
    """The artist of track ``number``: contiguous blocks of track numbers, as in GTZAN."""
    return number * artists_per_genre // 100


def artist_splits(artists_per_genre: int) -> tuple[str, ...]:
    """Fault-filtered split of each artist (by index): about 50/20/30 train/valid/test."""
    count = _check_int(artists_per_genre, "demo.artists_per_genre", 1, 100)
    if count == 1:
        return ("train",)
    if count == 2:
        return ("train", "test")
    n_valid = max(1, int(0.2 * count + 0.5))
    n_test = max(1, int(0.3 * count + 0.5))
    n_train = count - n_valid - n_test
    return ("train",) * n_train + ("valid",) * n_valid + ("test",) * n_test


def demo_artists(genre: str, artists_per_genre: int, seed: int) -> tuple[ArtistTraits, ...]:
    """The synthetic artists of ``genre``, each drawn from its own seeded generator."""
    genre_index = GENRES.index(genre)
    return tuple(
        make_artist(
            genre,
            k,
            np.random.default_rng(
                np.random.SeedSequence(seed, spawn_key=(genre_index, _ARTIST_STREAM + k))
            ),
        )
        for k in range(artists_per_genre)
    )


def clip_rng(seed: int, genre: str, number: int) -> np.random.Generator:
    """The generator of one clip, seeded from ``(seed, genre index, track number)``."""
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(GENRES.index(genre), number))
    )


def iter_demo_clips(
    *,
    clips_per_genre: int = 16,
    clip_seconds: float = 10.0,
    seed: int = 1234,
    sample_rate: int = 22050,
    artists_per_genre: int = 4,
) -> Iterator[DemoClip]:
    """Render the demo dataset clip by clip, in archive (sorted) order."""
    numbers = track_numbers(clips_per_genre)
    splits = artist_splits(artists_per_genre)
    seconds, seed, sample_rate = _check_rest(clip_seconds, seed, sample_rate)
    for genre in GENRES:
        artists = demo_artists(genre, artists_per_genre, seed)
        for number in numbers:
            k = artist_index(number, artists_per_genre)
            audio = render_clip(
                genre, seconds, sample_rate, clip_rng(seed, genre, number), artists[k]
            )
            yield DemoClip(
                track_id=f"{genre}.{number:05d}",
                genre=genre,
                number=number,
                artist=artists[k],
                split=splits[k],
                samples=to_int16(audio),
            )


def release_files(folder: str | os.PathLike) -> dict[str, Path]:
    """The files of a release published into ``folder`` under their usual names."""
    folder = Path(folder)
    return {
        "archive": folder / ARCHIVE_NAME,
        "checksum": folder / CHECKSUM_NAME,
        "registry": folder / REGISTRY_NAME,
        "originals": folder / ORIGINALS_DIR,
    }


def publish_demo(
    files: str | os.PathLike | Mapping[str, str | os.PathLike],
    *,
    clips_per_genre: int = 16,
    clip_seconds: float = 10.0,
    seed: int = 1234,
    sample_rate: int = 22050,
    artists_per_genre: int = 4,
) -> DemoRelease:
    """Render the demo dataset and write archive, checksum, registry and originals.

    ``files`` maps ``archive``, ``checksum``, ``registry`` and ``originals`` (a folder) to
    their paths (rule publish_demo's outputs), or is a folder to publish into under the
    usual names (:func:`release_files`). Raises :class:`DemoConfigError` (a ``ValueError``) naming the ``demo.*`` key when a
    setting is out of range. Every file is written atomically.
    """
    paths = (
        {name: Path(path) for name, path in files.items()}
        if isinstance(files, Mapping)
        else release_files(files)
    )
    # validate before anything is written (the generator below is lazy)
    track_numbers(clips_per_genre)
    artist_splits(artists_per_genre)
    _check_rest(clip_seconds, seed, sample_rate)
    clips = iter_demo_clips(
        clips_per_genre=clips_per_genre,
        clip_seconds=clip_seconds,
        seed=seed,
        sample_rate=sample_rate,
        artists_per_genre=artists_per_genre,
    )

    rows: list[dict[str, str]] = []
    broken: DemoClip | None = None
    archive = paths["archive"]
    with atomic_path(archive) as tmp:
        with (
            open(tmp, "wb") as raw,
            gzip.GzipFile(
                filename=archive.name, mode="wb", fileobj=raw, compresslevel=6, mtime=0
            ) as gz,
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for name in (ARCHIVE_ROOT, AUDIO_DIR):
                tar.addfile(_tarinfo(name, directory=True))
            current_genre = None
            for clip in clips:
                if clip.genre != current_genre:
                    tar.addfile(_tarinfo(f"{AUDIO_DIR}/{clip.genre}", directory=True))
                    current_genre = clip.genre
                wav = canonical_wav_bytes(clip.samples, sample_rate)
                payload = wav
                if clip.track_id == BROKEN_TRACK:
                    broken = clip
                    payload = break_wav_header(wav)
                info = _tarinfo(f"{AUDIO_DIR}/{clip.genre}/{clip.track_id}.wav", size=len(payload))
                tar.addfile(info, io.BytesIO(payload))
                rows.append(
                    {
                        "track_id": clip.track_id,
                        "genre": clip.genre,
                        "wav_md5": hashlib.md5(wav).hexdigest(),
                        "artist": clip.artist.name,
                        "title": f"Demo {clip.genre} {clip.number:05d}",
                        "fault_filtered_split": clip.split,
                    }
                )
        sha256 = file_digest(tmp, "sha256")
    checksum = paths["checksum"]
    write_text(f"sha256:{sha256}\n", checksum)
    registry = paths["registry"]
    write_csv(pd.DataFrame(rows, columns=list(REGISTRY_COLUMNS)), registry)

    originals: list[Path] = []
    if broken is not None:
        original = paths["originals"] / f"{broken.track_id}.au"
        with atomic_path(original) as tmp:
            sf.write(tmp, broken.samples, sample_rate, format="AU", subtype="PCM_16")
        originals.append(original)
    return DemoRelease(
        archive=archive,
        checksum=checksum,
        registry=registry,
        originals=tuple(originals),
        sha256=sha256,
    )


def break_wav_header(wav: bytes) -> bytes:
    """Zero the 44-byte RIFF header of a canonical WAV, keeping the PCM payload after it."""
    if wav[:4] != b"RIFF" or wav[36:40] != b"data":
        raise ValueError("expected a canonical 44-byte-header WAV")
    return bytes(WAV_HEADER_BYTES) + wav[WAV_HEADER_BYTES:]


def _tarinfo(name: str, *, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    """A member header with fixed metadata (no times, owners or umask leak in)."""
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.type = tarfile.REGTYPE
        info.mode = 0o644
        info.size = size
    return info


def _check_int(value: object, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DemoConfigError(f"{key}: expected an integer from {low} to {high}, got {value!r}.")
    if not low <= int(value) <= high:
        raise DemoConfigError(f"{key}: must be from {low} to {high}, got {value!r}.")
    return int(value)


def _check_rest(clip_seconds: float, seed: int, sample_rate: int) -> tuple[float, int, int]:
    try:
        seconds = float(clip_seconds)
    except (TypeError, ValueError):
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 600):
        raise DemoConfigError(
            f"demo.clip_seconds: must be a positive number of seconds (at most 600), "
            f"got {clip_seconds!r}."
        )
    seed = _check_int(seed, "demo.seed", 0, 2**63 - 1)
    sample_rate = _check_int(sample_rate, "demo.sample_rate", 8000, 192000)
    return seconds, seed, sample_rate
