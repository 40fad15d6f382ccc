"""A generated music library shaped like a user's own: genre folders of songs of mixed
formats, rates and lengths (30 s to minutes), with the bad files real collections hold.

Each song is unique audio (a demo recipe rendered with its own seed, then repeated to
the song's length, as songs repeat their sections), so the duplicate audit has nothing
to find but the duplicates made on purpose. Used by the tests and
``python -m benchmarks.collection``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from genreflow.demo.publish import clip_rng, demo_artists
from genreflow.demo.synth import render_clip

# (extension, soundfile format, subtype); m4a goes through FFmpeg (PyAV)
FORMATS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "ogg": ("OGG", "VORBIS"),
    "opus": ("OGG", "OPUS"),
    "aiff": ("AIFF", "PCM_16"),
    "au": ("AU", "PCM_16"),
    "m4a": (None, None),
}
SECTION_S = 15.0  # the unique audio a song repeats


@dataclass(frozen=True)
class Song:
    """One song of a generated library."""

    relpath: str
    genre: str
    seconds: float
    sample_rate: int
    channels: int
    artist: str
    title: str
    recipe: str = ""  # the demo genre it is synthesised as (default: ``genre``)


def render_song(
    genre: str,
    seconds: float,
    sample_rate: int,
    channels: int,
    seed: int,
    number: int,
    artist_index: int = 0,
) -> np.ndarray:
    """A song's samples, float32 ``(frames, channels)``: a unique section, repeated."""
    artist = demo_artists(genre, 4, seed)[artist_index % 4]
    section = render_clip(
        genre, min(SECTION_S, seconds), sample_rate, clip_rng(seed, genre, number), artist
    )
    n = round(seconds * sample_rate)
    y = np.resize(section, n).astype(np.float32)
    fade = min(n, sample_rate // 2)
    y[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    peak = float(np.max(np.abs(y))) or 1.0
    y = 0.5 * y / peak
    if channels == 2:  # a little width: the right channel slightly quieter
        return np.stack([y, 0.8 * y], axis=1)
    return y[:, None]


def write_audio(
    path: str | os.PathLike,
    samples: np.ndarray,
    sample_rate: int,
    *,
    tags: dict[str, str] | None = None,
) -> Path:
    """Write ``samples`` (frames, channels) in the format of ``path``'s extension, with tags."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ext = path.suffix.lower().lstrip(".")
    if ext == "m4a":
        _write_m4a(path, samples, sample_rate, tags or {})
        return path
    fmt, subtype = FORMATS[ext]
    with sf.SoundFile(path, "w", sample_rate, samples.shape[1], format=fmt, subtype=subtype) as out:
        if fmt in ("WAV", "FLAC", "OGG", "MP3"):
            for key, value in (tags or {}).items():
                setattr(out, key, value)
        # libsndfile 1.2.2 can crash writing a long Ogg in one call: write in blocks
        for start in range(0, len(samples), 1 << 15):
            out.write(samples[start : start + (1 << 15)])
    return path


def _write_m4a(path: Path, samples: np.ndarray, sample_rate: int, tags: dict[str, str]) -> None:
    import av

    layout = "mono" if samples.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="mp4") as container:
        container.metadata.update(tags)
        stream = container.add_stream("aac", rate=sample_rate, layout=layout)
        planar = np.ascontiguousarray(samples.T.astype(np.float32))
        for start in range(0, samples.shape[0], 4096):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(planar[:, start : start + 4096]),
                format="fltp",
                layout=layout,
            )
            frame.sample_rate = sample_rate
            frame.pts = start
            frame.time_base = Fraction(1, sample_rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


def plan_library(
    n_songs: int,
    genres: Sequence[str] = ("rock", "jazz", "hiphop", "classical"),
    *,
    seed: int = 0,
    min_s: float = 30.0,
    max_s: float = 480.0,
    formats: Sequence[str] = ("mp3", "flac", "wav", "ogg", "m4a", "opus", "aiff"),
    weights: Sequence[float] | None = None,
) -> list[Song]:
    """``n_songs`` songs spread over ``genres``: lengths log-uniform in [min_s, max_s],
    formats drawn by ``weights``, rates 22.05/44.1/48 kHz, mono or stereo, artist tags
    on most (four artists per genre, nested folders Artist/Album)."""
    rng = np.random.default_rng(seed)
    weights = np.asarray(weights or [1.0] * len(formats), dtype=float)
    songs = []
    for i in range(n_songs):
        genre = genres[i % len(genres)]
        seconds = float(np.exp(rng.uniform(np.log(min_s), np.log(max_s))))
        ext = formats[rng.choice(len(formats), p=weights / weights.sum())]
        rate = 48000 if ext == "opus" else int(rng.choice([22050, 44100]))
        artist = f"{genre.title()} Artist {i // len(genres) % 4}"
        songs.append(
            Song(
                relpath=f"{genre}/{artist}/Album {i % 3}/{i:05d} song.{ext}",
                genre=genre,
                seconds=round(seconds, 2),
                sample_rate=rate,
                channels=int(rng.choice([1, 2])),
                artist=artist if rng.random() < 0.9 else "",
                title=f"Song {i}",
            )
        )
    return songs


def write_song(root: str | os.PathLike, song: Song, number: int, *, seed: int = 0) -> Path:
    """Render song ``number`` of a library and write it, tagged, under ``root``."""
    samples = render_song(
        song.recipe or song.genre,
        song.seconds,
        song.sample_rate,
        song.channels,
        seed,
        number,
        artist_index=number,
    )
    tags = {"title": song.title, **({"artist": song.artist} if song.artist else {})}
    return write_audio(Path(root) / song.relpath, samples, song.sample_rate, tags=tags)


def write_library(root: str | os.PathLike, songs: Sequence[Song], *, seed: int = 0) -> Path:
    """Render and write every song of ``songs`` under ``root``."""
    for number, song in enumerate(songs):
        write_song(root, song, number, seed=seed)
    return Path(root)
