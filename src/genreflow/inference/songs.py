"""Reading a user's audio file, with one plain reason when it cannot be classified."""

from __future__ import annotations

import os
from pathlib import Path

import soundfile as sf

from genreflow.audio import UndecodableAudioError, audio_info
from genreflow.errors import GenreflowError
from genreflow.excerpts import Excerpt
from genreflow.features.loading import LoadedTrack, load_track

READABLE = "wav, flac, ogg/opus, mp3, aiff, au and m4a/aac"


class SongError(GenreflowError):
    """A file that cannot be classified: missing, not audio, undecodable or silent."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def read_song(
    path: str | os.PathLike,
    *,
    sample_rate: int,
    silence_peak: float,
    excerpt: Excerpt | None = None,
) -> LoadedTrack:
    """Decode ``path`` as mono at ``sample_rate``, as the training tracks were decoded.

    Any rate is resampled (soxr) and any number of channels averaged, by the same
    :func:`~genreflow.features.loading.load_track` the feature stage uses: ``excerpt``
    (the model's, by default) picks the part decoded, ``None`` the whole file; the
    length of what is decoded is kept.

    Raises
    ------
    SongError
        The file is missing, not an audio format libsndfile recognises, cannot be
        decoded, or is silent (peak below ``silence_peak``).
    """
    path = Path(path)
    if not path.exists():
        raise SongError(path, "missing: no such file")
    if not path.is_file():
        raise SongError(path, "not a file")
    try:
        audio_info(path)
    except UndecodableAudioError as exc:
        raise SongError(
            path, f"not audio: the format is not recognised (genreflow reads {READABLE})"
        ) from exc
    try:
        track = load_track(
            path, sample_rate=sample_rate, clip_seconds=None, clip_policy="none", excerpt=excerpt
        )
    except (sf.LibsndfileError, RuntimeError, ValueError, EOFError, UndecodableAudioError) as exc:
        raise SongError(path, f"undecodable: {exc}") from exc
    if len(track.y) == 0:
        raise SongError(path, "undecodable: the file holds no samples")
    if track.peak < silence_peak:
        raise SongError(path, f"silent: peak {track.peak:.2g} is below {silence_peak:g}")
    return track
