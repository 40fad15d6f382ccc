"""Decoding, probing and tags of audio files.

Two decoders, one per format, so a file gives the same samples whichever function
reads it:

* libsndfile (:mod:`soundfile`) decodes what it reads: WAV, FLAC, Ogg Vorbis and Opus,
  MP3, AIFF, AU and the rest of :func:`soundfile.available_formats`. A file in one of
  those formats that libsndfile rejects is undecodable: FFmpeg is not asked to rescue
  it, because the rest of genreflow (validation, the feature stage) reads these
  formats with libsndfile.
* FFmpeg (:mod:`av`, PyAV, whose wheels bundle it) decodes what libsndfile cannot
  open: M4A/MP4 and ADTS AAC, and any other container FFmpeg recognises.

Tags (artist, title, album) are read by :mod:`tinytag`, a pure-Python parser.
``av``, ``tinytag`` and ``soxr`` are imported where they are used, so importing this
module costs only numpy and soundfile; librosa is never imported (no numba kernels).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass
from itertools import chain
from math import gcd
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

if TYPE_CHECKING:
    import av.audio.stream
    import av.container

log = logging.getLogger(__name__)

#: The file extensions genreflow reads as audio (lower case). The first five keep the
#: order :func:`genreflow.data.extract.inventory` has always preferred when one track
#: exists in several containers; the lossless newcomers come before the lossy ones.
#: ``.mp4`` is read for its audio stream (a video's picture is ignored).
AUDIO_EXTENSIONS: tuple[str, ...] = (
    ".wav",
    ".au",
    ".mp3",
    ".flac",
    ".ogg",
    ".aiff",
    ".aif",
    ".aifc",
    ".snd",
    ".opus",
    ".oga",
    ".m4a",
    ".aac",
    ".mp4",
)

#: The resampler of :func:`decode` (the one the feature stage and the networks use).
RESAMPLER = "soxr_hq"

# FFmpeg demuxers of formats libsndfile reads: a file FFmpeg sees as one of these but
# libsndfile rejects is damaged, not a format for FFmpeg to decode instead.
_LIBSNDFILE_DEMUXERS = frozenset(
    {"wav", "w64", "aiff", "au", "flac", "ogg", "mp3", "caf", "voc", "ircam", "nistsphere"}
)
# FFmpeg demuxers whose seeks land on exact timestamps (an index of every packet);
# other containers (raw ADTS AAC among them) are decoded from the start and cut.
_INDEXED_DEMUXERS = frozenset({"mov", "mp4", "m4a", "matroska", "webm"})
# FFmpeg decoders whose output after a seek and a pre-roll is, sample for sample, that
# of a decode from the start (PCM codecs too). Not AAC: its decoder fills the bands the
# encoder marked as noise (PNS, which FFmpeg's encoder uses by default) from a random
# generator that runs through the whole stream, so a decode that starts mid-stream
# holds other noise there (measured: up to 0.16 apart); nor Opus, whose state after a
# pre-roll only converges. Those are decoded from the start (AAC: ~1 ms per second).
_EXACT_AFTER_PREROLL = frozenset({"alac", "flac", "mp3", "mp3float", "mp2", "mp2float", "wavpack"})
# Decoded before the first wanted sample after a seek, so the decoder's state (AAC's
# overlapping transforms, Opus's pre-roll) is what a decode from the start would have.
_PREROLL_S = 0.5
# Decoded on each side of an excerpt before resampling, so the resampler's filter sees
# the same neighbourhood as in a whole-file decode (soxr HQ's filter is a few ms long).
_RESAMPLE_MARGIN_S = 0.05
# libsndfile's subtypes of compressed codecs, by a short name.
_SOUNDFILE_CODECS = {
    "MPEG_LAYER_I": "MP1",
    "MPEG_LAYER_II": "MP2",
    "MPEG_LAYER_III": "MP3",
    "VORBIS": "Vorbis",
    "OPUS": "Opus",
}
_TAG_KEYS = ("artist", "title", "album")


@dataclass(frozen=True)
class AudioInfo:
    """What a full decode of a file tells about it."""

    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "duration_s": round(self.duration_s, 4)}


@dataclass(frozen=True)
class AudioHeader:
    """What a file's header (or container) states, read without decoding the audio.

    Attributes
    ----------
    sample_rate : int
        Samples per second per channel, as decoded.
    channels : int
        Number of channels.
    duration_s : float
        Duration the header states: exact for WAV, FLAC, AIFF, AU and for MP4/M4A;
        for MP3 and Ogg what the stream's header says (a truncated MP3 with a Xing
        header still claims its full length: :func:`probe` counts what decodes);
        estimated from the bit rate for raw ADTS AAC; 0.0 when the container states
        nothing.
    codec : str
        Short name of the codec: libsndfile's subtype for PCM (``"PCM_16"``,
        ``"FLOAT"``), ``"FLAC"``, ``"MP3"``, ``"Vorbis"``, ``"Opus"``; FFmpeg's codec
        name otherwise (``"aac"``, ``"alac"``).
    container : str
        The file format: libsndfile's (``"WAV"``, ``"FLAC"``, ``"OGG"``, ``"MP3"``,
        ``"AIFF"``, ``"AU"``) or FFmpeg's, upper case (``"M4A"``, ``"MP4"``, ``"AAC"``).
    decoder : str
        ``"soundfile"`` (libsndfile) or ``"pyav"`` (FFmpeg): the one that decodes it.
    """

    sample_rate: int
    channels: int
    duration_s: float
    codec: str
    container: str
    decoder: str

    def as_dict(self) -> dict:
        return {**asdict(self), "duration_s": round(self.duration_s, 4)}


class UndecodableAudioError(Exception):
    """The file cannot be decoded as audio."""


# ---------------------------------------------------------------------------- header


def audio_info(path: str | os.PathLike) -> AudioHeader:
    """Read what ``path``'s header states, without decoding its audio.

    libsndfile is asked first; FFmpeg (PyAV) reads what libsndfile cannot open.

    Parameters
    ----------
    path : str or os.PathLike
        An audio file.

    Returns
    -------
    AudioHeader
        Rate, channels, stated duration, codec, container and the decoder that reads it.

    Raises
    ------
    UndecodableAudioError
        ``path`` is missing, empty, not audio, or a damaged file of a format libsndfile
        reads; the message names the file.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError) as exc:
        soundfile_error = exc
    else:
        codec = "FLAC" if info.format == "FLAC" else _SOUNDFILE_CODECS.get(info.subtype)
        return AudioHeader(
            sample_rate=int(info.samplerate),
            channels=int(info.channels),
            duration_s=info.frames / info.samplerate if info.samplerate else 0.0,
            codec=codec or info.subtype,
            container=info.format,
            decoder="soundfile",
        )
    with _open_pyav(path, soundfile_error) as (container, stream):
        context = stream.codec_context
        if stream.duration is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000  # AV_TIME_BASE
        else:
            duration = 0.0
        return AudioHeader(
            sample_rate=int(context.sample_rate),
            channels=int(context.channels),
            duration_s=duration,
            codec=context.codec.name.removesuffix("float").removesuffix("_fixed"),
            container=_container_name(container, path),
            decoder="pyav",
        )


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise UndecodableAudioError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UndecodableAudioError(f"{path}: cannot be decoded (zero-length file)")


def _container_name(container: av.container.InputContainer, path: Path) -> str:
    """FFmpeg's demuxer names the container family (``mov,mp4,m4a,...``): the member the
    file's extension names, else the first."""
    names = container.format.name.split(",")
    extension = path.suffix.lower().lstrip(".")
    return (extension if extension in names else names[0]).upper()


@contextmanager
def _open_pyav(
    path: Path, soundfile_error: Exception
) -> Iterator[tuple[av.container.InputContainer, av.audio.stream.AudioStream]]:
    """``with _open_pyav(path, soundfile_error) as (container, stream)``: the file opened
    by FFmpeg and its first audio stream, or :class:`UndecodableAudioError` (a file
    FFmpeg sees in a format libsndfile reads is one libsndfile rejected: damaged)."""
    import av

    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise UndecodableAudioError(
            f"{path}: cannot be decoded: neither libsndfile ({soundfile_error}) "
            f"nor FFmpeg ({exc}) reads it as audio"
        ) from exc
    with container:
        if set(container.format.name.split(",")) & _LIBSNDFILE_DEMUXERS:
            raise UndecodableAudioError(
                f"{path}: cannot be decoded: a damaged {container.format.name} file "
                f"({soundfile_error})"
            ) from soundfile_error
        if not container.streams.audio:
            raise UndecodableAudioError(
                f"{path}: cannot be decoded: {container.format.long_name} with no audio stream"
            )
        stream = container.streams.audio[0]
        if not stream.codec_context.sample_rate or not stream.codec_context.channels:
            raise UndecodableAudioError(f"{path}: cannot be decoded: no sample rate or channels")
        yield container, stream


# ---------------------------------------------------------------------------- decoding


def decode(
    path: str | os.PathLike,
    *,
    sample_rate: int | None,
    offset_s: float = 0.0,
    duration_s: float | None = None,
    mono: bool = True,
) -> tuple[np.ndarray, int]:
    """Decode ``path``, or a span of it, as float32 at ``sample_rate``.

    Only the span is read where that gives the samples a whole-file decode holds at the
    same positions: libsndfile seeks sample-accurately in WAV, FLAC, Ogg Vorbis and
    Opus, MP3, AIFF and AU; FFmpeg seeks in MP4/M4A and Matroska holding ALAC, FLAC or
    MP3 to a packet before the span, decodes :data:`_PREROLL_S` before it and cuts at
    the exact sample. AAC (M4A, MP4, ADTS) is decoded from its start and cut: a decode
    that starts mid-stream would hold other noise in its noise-substituted bands (see
    :data:`_EXACT_AFTER_PREROLL`). At the file's own rate a span equals the slice of the
    whole decode (MP3 within float rounding of the synthesis filter); resampled, within
    float rounding of the resampler (each span is resampled with
    :data:`_RESAMPLE_MARGIN_S` of context on each side, on the same sample grid).

    Parameters
    ----------
    path : str or os.PathLike
        An audio file (see :data:`AUDIO_EXTENSIONS`).
    sample_rate : int or None
        Rate of the result; ``None`` keeps the file's. Resampled with soxr HQ, as
        ``librosa.resample(..., res_type="soxr_hq")`` does (:func:`resample`).
    offset_s : float, default 0.0
        Start of the span, in seconds from the start of the audio.
    duration_s : float or None, default None
        Length of the span in seconds; ``None`` reads to the end. A span past the end
        is cut there (a span starting past the end gives no samples).
    mono : bool, default True
        Average the channels into one.

    Returns
    -------
    samples : numpy.ndarray
        float32 in [-1, 1]: shape ``(n,)`` when ``mono``, else ``(channels, n)``, with
        ``n = round(duration_s * rate)`` samples from sample ``round(offset_s * rate)``
        of the whole decode (fewer at the end of the file).
    sample_rate : int
        The rate of ``samples``.

    Raises
    ------
    UndecodableAudioError
        ``path`` cannot be decoded (see :func:`audio_info`), or its data is damaged
        where the span lies; the message names the file.
    ValueError
        ``offset_s`` or ``duration_s`` is negative, or ``sample_rate`` is not positive.

    Notes
    -----
    The whole-file decode (``offset_s=0``, ``duration_s=None``) of a file libsndfile
    reads equals ``librosa.load(path, sr=sample_rate, mono=True, res_type="soxr_hq",
    dtype=np.float32)``, the decode of the feature stage.
    """
    if offset_s < 0 or (duration_s is not None and duration_s < 0):
        raise ValueError(f"offset_s and duration_s must not be negative ({offset_s}, {duration_s})")
    if sample_rate is not None and sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, not {sample_rate}")
    path = Path(path)
    header = audio_info(path)
    native = header.sample_rate
    target = native if sample_rate is None else int(sample_rate)
    read = _read_soundfile if header.decoder == "soundfile" else _read_pyav
    first = round(offset_s * target)
    count = None if duration_s is None else round(duration_s * target)
    if target == native:
        x = read(path, first, None if count is None else first + count)
        return _channels_first(x, mono), target
    # Read on the output grid's terms: from an output sample ``start`` that falls on an
    # input sample (a multiple of ``step`` output samples, so the resampler's phases
    # match a whole-file decode), a margin before ``first``, to a margin after the span.
    step = target // gcd(native, target) * 16
    start = max(0, (first - round(_RESAMPLE_MARGIN_S * target)) // step * step)
    stop = None
    if count is not None:
        end = first + count + round(_RESAMPLE_MARGIN_S * target)
        stop = -(-end * native // target)  # ceil
    x = read(path, start * native // target, stop)
    y = _channels_first(x, mono)
    if y.shape[-1]:
        y = resample(y, native, target)
    skip = first - start
    y = y[..., skip : None if count is None else skip + count]
    return np.ascontiguousarray(y, dtype=np.float32), target


def resample(y: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """``librosa.resample(y, orig_sr=..., target_sr=..., res_type="soxr_hq")``, sample for
    sample, without importing librosa (so decoding never loads its numba kernels): soxr's
    HQ resampler along the last axis, fixed to ``ceil(n * target_sr / orig_sr)`` samples."""
    import soxr

    n_out = int(np.ceil(y.shape[-1] * target_sr / orig_sr))
    resampled = np.apply_along_axis(
        soxr.resample, -1, y, in_rate=orig_sr, out_rate=target_sr, quality=RESAMPLER
    )
    if resampled.shape[-1] < n_out:
        width = [(0, 0)] * (resampled.ndim - 1) + [(0, n_out - resampled.shape[-1])]
        return np.pad(resampled, width)
    return resampled[..., :n_out]


def _channels_first(x: np.ndarray, mono: bool) -> np.ndarray:
    """``(frames, channels)`` → ``(frames,)`` averaged (as librosa does), or
    ``(channels, frames)``."""
    if mono:
        return np.mean(x, axis=1, dtype=np.float32) if x.shape[1] > 1 else x[:, 0].copy()
    return np.ascontiguousarray(x.T)


def _read_soundfile(path: Path, start: int, stop: int | None) -> np.ndarray:
    """Frames ``[start, stop)`` as float32 ``(frames, channels)``, by libsndfile's seek."""
    try:
        with sf.SoundFile(str(path)) as handle:
            if start >= handle.frames:
                return np.zeros((0, handle.channels), dtype=np.float32)
            if start:
                handle.seek(start)
            frames = -1 if stop is None else max(0, stop - start)
            return handle.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc


def _read_pyav(path: Path, start: int, stop: int | None) -> np.ndarray:
    """Frames ``[start, stop)`` as float32 ``(frames, channels)``, decoded by FFmpeg."""
    blocks = []
    channels = 1
    with closing(_pyav_blocks(path, start=start)) as decoded:  # closes the file at a break
        for position, block in decoded:
            channels = block.shape[1]
            if stop is not None and position >= stop:
                break
            lo = max(0, start - position)
            hi = block.shape[0] if stop is None else min(block.shape[0], stop - position)
            if hi > lo:
                blocks.append(block[lo:hi])
    if not blocks:
        return np.zeros((0, channels), dtype=np.float32)
    return np.concatenate(blocks)


def _pyav_blocks(path: Path, *, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """``(position, block)`` of each decoded frame from about ``start`` on: ``position``
    is the index of the block's first sample in the whole decode, ``block`` float32
    ``(samples, channels)``. Seeks where that gives the samples of a decode from the
    start (see :data:`_EXACT_AFTER_PREROLL`); ends at the stream's stated length in
    MP4/M4A (its edit list trims the encoder's padding)."""
    import av

    with _open_pyav(path, UndecodableAudioError("libsndfile cannot open it")) as (
        container,
        stream,
    ):
        rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels
        time_base = stream.time_base
        origin = stream.start_time or 0
        names = set(container.format.name.split(","))
        codec = stream.codec_context.codec.name
        seekable = bool(names & _INDEXED_DEMUXERS) and (
            codec in _EXACT_AFTER_PREROLL or codec.startswith("pcm_")
        )
        length = None
        if stream.duration is not None and "mov" in names:
            length = round(stream.duration * time_base * rate)
        try:
            frames = _frames_from(container, stream, start - round(_PREROLL_S * rate), seekable)
            position = None
            for frame in frames:
                if frame.sample_rate != rate:
                    raise UndecodableAudioError(
                        f"{path}: cannot be decoded: the rate changes from {rate} to "
                        f"{frame.sample_rate} Hz"
                    )
                if position is None:
                    position = (
                        0 if frame.pts is None else round((frame.pts - origin) * time_base * rate)
                    )
                block = _frame_samples(frame, channels, path)
                if length is not None:
                    if position >= length:
                        return
                    block = block[: length - position]
                yield position, block
                position += block.shape[0]
        except av.FFmpegError as exc:
            raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc


def _frames_from(
    container: av.container.InputContainer,
    stream: av.audio.stream.AudioStream,
    sample: int,
    seekable: bool,
) -> Iterator[av.AudioFrame]:
    """The decoded frames from a packet at or before ``sample`` (an index from the
    start of the stream) where ``seekable``, else from the start. A seek that lands
    after ``sample`` (no timestamp, a sparse index) is undone: the stream is decoded
    from its start."""
    frames = container.decode(stream)
    if not seekable or sample <= 0:
        return frames
    rate = stream.codec_context.sample_rate
    origin = stream.start_time or 0
    container.seek(origin + int(sample / rate / stream.time_base), stream=stream, backward=True)
    frames = container.decode(stream)
    first = next(frames, None)
    if first is None:
        return iter(())
    if first.pts is not None and round((first.pts - origin) * stream.time_base * rate) <= sample:
        return chain([first], frames)
    container.seek(origin, stream=stream, backward=True)
    return container.decode(stream)


def _frame_samples(frame: av.AudioFrame, channels: int, path: Path) -> np.ndarray:
    """A decoded frame as float32 ``(samples, channels)``, scaled as libsndfile scales
    integer PCM (``x / 2**(bits - 1)``)."""
    if frame.layout.nb_channels != channels:
        raise UndecodableAudioError(
            f"{path}: cannot be decoded: the channels change from {channels} to "
            f"{frame.layout.nb_channels}"
        )
    data = frame.to_ndarray()
    data = data.T if frame.format.is_planar else data.reshape(-1, channels)
    if data.dtype == np.uint8:
        return ((data.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if data.dtype.kind == "i":
        return (data / float(2 ** (8 * data.dtype.itemsize - 1))).astype(np.float32)
    return data.astype(np.float32)


# ---------------------------------------------------------------------------- full decode


def probe(path: str | os.PathLike) -> AudioInfo:
    """Decode ``path`` completely and report its format.

    The whole file is decoded (not only the header) so a truncated payload or a
    header that promises more frames than the file holds is caught: ``frames`` is
    the number of frames actually decoded (compare :func:`audio_info`'s
    ``duration_s``: a truncated MP3 with a Xing header states its full length).
    Files libsndfile cannot open (M4A, AAC) are decoded by FFmpeg; their ``format`` is
    FFmpeg's container name (``"M4A"``) and ``subtype`` the codec (``"aac"``).

    Raises
    ------
    UndecodableAudioError
        The file cannot be decoded, or decodes to zero samples.
    """
    path = Path(path)
    _check_file(path)
    try:
        handle = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        info = _probe_pyav(path, exc)
    else:
        try:
            with handle:
                frames = 0
                # read() returns what decoded; SoundFile.blocks() would yield the
                # header's count, padding a truncated MP3 or FLAC with stale buffers
                while block := len(handle.read(1 << 16, dtype="int16", always_2d=True)):
                    frames += block
                info = AudioInfo(
                    sample_rate=int(handle.samplerate),
                    channels=int(handle.channels),
                    frames=frames,
                    format=handle.format,
                    subtype=handle.subtype,
                )
        except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
            raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc
    if info.frames == 0:
        raise UndecodableAudioError(f"{path}: decodes to zero samples")
    return info


def _probe_pyav(path: Path, soundfile_error: Exception) -> AudioInfo:
    with _open_pyav(path, soundfile_error) as (container, stream):
        header = AudioInfo(
            sample_rate=int(stream.codec_context.sample_rate),
            channels=int(stream.codec_context.channels),
            frames=0,
            format=_container_name(container, path),
            subtype=stream.codec_context.codec.name,
        )
    frames = sum(block.shape[0] for _, block in _pyav_blocks(path))
    return AudioInfo(**{**asdict(header), "frames": frames})


def read_int16(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode ``path`` to int16 samples (frames, or frames × channels) and its rate."""
    try:
        samples, sample_rate = sf.read(path, dtype="int16", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise UndecodableAudioError(f"{path}: cannot be decoded ({exc})") from exc
    return samples, int(sample_rate)


# ---------------------------------------------------------------------------- tags


def read_tags(path: str | os.PathLike) -> dict[str, str]:
    """The artist, title and album tags of ``path`` ("" where absent).

    Read by tinytag (ID3 in MP3 and AIFF, Vorbis comments in FLAC and Ogg, the RIFF
    INFO list in WAV, iTunes atoms in M4A). A file tinytag cannot parse (AU, a text
    file, a damaged tag) has no tags: this never raises for one.

    Parameters
    ----------
    path : str or os.PathLike
        An existing file.

    Returns
    -------
    dict
        ``{"artist": str, "title": str, "album": str}``, each stripped of surrounding
        whitespace.

    Raises
    ------
    FileNotFoundError
        ``path`` is not a file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    from tinytag import TinyTag

    try:
        tag = TinyTag.get(str(path), duration=False)
    except Exception as exc:  # noqa: BLE001 -- a parser of untrusted files: any error = no tags
        log.debug("%s: no readable tags (%s)", path, exc)
        return dict.fromkeys(_TAG_KEYS, "")
    return {key: str(getattr(tag, key, None) or "").strip() for key in _TAG_KEYS}


def decode_excerpt(
    path: str | os.PathLike, excerpt: Any, *, sample_rate: int | None
) -> tuple[np.ndarray, AudioHeader, list[tuple[float, float | None]]]:
    """Decode ``path``'s excerpt as mono float32 at ``sample_rate`` (``None``: the
    file's), its spans joined; with the file's header and the spans decoded.

    ``excerpt`` is a :class:`genreflow.excerpts.Excerpt` (anything whose
    ``spans(duration_s)`` lists ``(offset_s, duration_s)``); ``None`` decodes the whole
    file. Raises :class:`UndecodableAudioError`."""
    header = audio_info(path)
    spans = excerpt.spans(header.duration_s) if excerpt is not None else [(0.0, None)]
    pieces = [
        decode(path, sample_rate=sample_rate, offset_s=offset, duration_s=seconds)[0]
        for offset, seconds in spans
    ]
    return (pieces[0] if len(pieces) == 1 else np.concatenate(pieces)), header, spans
