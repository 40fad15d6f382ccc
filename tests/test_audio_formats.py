"""Every format genreflow reads decodes, seeks and carries its tags (genreflow.audio).

The files are written here: WAV, FLAC, Ogg Vorbis and Opus, MP3, AIFF and AU by
libsndfile (soundfile), M4A and raw ADTS AAC by FFmpeg's native AAC encoder (PyAV).
"""

from __future__ import annotations

from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import librosa
import numpy as np
import pytest
import soundfile as sf

from genreflow import audio
from genreflow.audio import (
    AUDIO_EXTENSIONS,
    UndecodableAudioError,
    audio_info,
    decode,
    probe,
    read_tags,
)
from genreflow.data import extract

RATE = 44100
SECONDS = 3.0
FRAMES = int(RATE * SECONDS)
TAGS = {"artist": "The Testers", "title": "Sine and Noise", "album": "Fixtures"}
NO_TAGS = {"artist": "", "title": "", "album": ""}

# name → (soundfile format, subtype, rate, tagged by libsndfile)
SOUNDFILE_FILES = {
    "tone.wav": ("WAV", "PCM_16", RATE, True),
    "tone.flac": ("FLAC", "PCM_16", RATE, True),
    "tone.ogg": ("OGG", "VORBIS", RATE, True),
    "tone.opus": ("OGG", "OPUS", 48000, True),
    "tone.mp3": ("MP3", "MPEG_LAYER_III", RATE, False),
    "tone.aiff": ("AIFF", "PCM_16", RATE, True),
    "tone.au": ("AU", "PCM_16", RATE, False),
}
# name → (FFmpeg muxer, encoder)
PYAV_FILES = {"tone.m4a": ("mp4", "aac"), "tone.aac": ("adts", "aac"), "alac.m4a": ("mp4", "alac")}
EXPECTED_HEADERS = {
    "tone.wav": ("WAV", "PCM_16"),
    "tone.flac": ("FLAC", "FLAC"),
    "tone.ogg": ("OGG", "Vorbis"),
    "tone.opus": ("OGG", "Opus"),
    "tone.mp3": ("MP3", "MP3"),
    "tone.aiff": ("AIFF", "PCM_16"),
    "tone.au": ("AU", "PCM_16"),
    "tone.m4a": ("M4A", "aac"),
    "tone.aac": ("AAC", "aac"),
    "alac.m4a": ("M4A", "alac"),
}
# files whose excerpts are compared with a whole decode
EXCERPTED = (
    "tone.wav",
    "tone.flac",
    "tone.mp3",
    "tone.ogg",
    "tone.opus",
    "tone.aiff",
    "tone.m4a",
    "tone.aac",
    "alac.m4a",
)


def signal(rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Tones plus noise, ``(frames, channels)`` float32: a misplaced excerpt shows."""
    frames = int(rate * seconds)
    t = np.arange(frames) / rate
    noise = np.random.default_rng(seed).standard_normal((frames, channels))
    tones = np.stack([np.sin(2 * np.pi * (220 + 110 * c) * t) for c in range(channels)], 1)
    return (0.3 * tones + 0.05 * noise).astype(np.float32)


def write_soundfile(path: Path, fmt: str, subtype: str, rate: int, tags: dict | None) -> None:
    x = signal(rate, SECONDS)
    with sf.SoundFile(path, "w", rate, 1, format=fmt, subtype=subtype) as handle:
        for key, value in (tags or {}).items():
            setattr(handle, key, value)
        # libsndfile 1.2.2 can crash writing a long Ogg in one call: write in blocks
        for start in range(0, len(x), 8192):
            handle.write(x[start : start + 8192])


def write_pyav(
    path: Path, muxer: str, codec: str, x: np.ndarray, rate: int, tags: dict | None = None
) -> None:
    """Encode ``x`` (frames, channels) with FFmpeg, frames timestamped as the ffmpeg tool
    does (so the MP4 muxer writes an edit list trimming the AAC encoder's priming)."""
    layout = "mono" if x.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format=muxer) as container:
        container.metadata.update(tags or {})
        stream = container.add_stream(codec, rate=rate, layout=layout)
        planar = np.ascontiguousarray(x.T)
        sample_format = "fltp"
        if codec == "alac":  # ALAC encodes integers
            planar, sample_format = (planar * 32767).round().astype(np.int16), "s16p"
        for start in range(0, len(x), 4096):
            block = np.ascontiguousarray(planar[:, start : start + 4096])
            frame = av.AudioFrame.from_ndarray(block, format=sample_format, layout=layout)
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("formats")
    made = {}
    for name, (fmt, subtype, rate, tagged) in SOUNDFILE_FILES.items():
        made[name] = folder / name
        write_soundfile(made[name], fmt, subtype, rate, TAGS if tagged else None)
    for name, (muxer, codec) in PYAV_FILES.items():
        made[name] = folder / name
        tags = TAGS if name == "tone.m4a" else None
        write_pyav(made[name], muxer, codec, signal(RATE, SECONDS), RATE, tags)
    made["tagged.mp3"] = folder / "tagged.mp3"  # ID3 tags, written by FFmpeg's muxer
    write_pyav(made["tagged.mp3"], "mp3", "libmp3lame", signal(RATE, 1.0), RATE, TAGS)
    made["stereo.wav"] = folder / "stereo.wav"
    sf.write(made["stereo.wav"], signal(RATE, SECONDS, channels=2), RATE, subtype="FLOAT")
    made["stereo.m4a"] = folder / "stereo.m4a"
    write_pyav(made["stereo.m4a"], "mp4", "aac", signal(RATE, SECONDS, channels=2), RATE)
    return made


def test_extract_reads_the_one_list_of_extensions():
    assert extract.AUDIO_EXTENSIONS is AUDIO_EXTENSIONS
    # the inventory's preference among GTZAN's and FMA's containers is unchanged
    assert AUDIO_EXTENSIONS[:5] == (".wav", ".au", ".mp3", ".flac", ".ogg")
    assert len(set(AUDIO_EXTENSIONS)) == len(AUDIO_EXTENSIONS)
    assert all(ext == ext.lower() and ext.startswith(".") for ext in AUDIO_EXTENSIONS)
    assert {Path(name).suffix for name in [*SOUNDFILE_FILES, *PYAV_FILES]} <= set(AUDIO_EXTENSIONS)


def test_inventory_lists_the_new_formats(tmp_path):
    for name in ("a.m4a", "b.opus", "c.aiff", "c.mp3", "d.txt"):
        (tmp_path / name).write_bytes(b"x")
    listed = extract.inventory(tmp_path)
    assert list(listed.track_id) == ["a", "b", "c"]
    assert listed.path.iloc[2].endswith("c.mp3")  # mp3 before aiff, as listed


@pytest.mark.parametrize("name", sorted(EXPECTED_HEADERS))
def test_the_header_names_rate_codec_and_container(files, name):
    header = audio_info(files[name])
    container, codec = EXPECTED_HEADERS[name]
    rate = 48000 if name == "tone.opus" else RATE
    assert (header.container, header.codec, header.sample_rate, header.channels) == (
        container,
        codec,
        rate,
        1,
    )
    assert header.decoder == ("pyav" if name in PYAV_FILES else "soundfile")
    if name == "tone.aac":  # raw ADTS states no length: FFmpeg estimates it from the bit rate
        assert header.duration_s > 0
    else:
        assert header.duration_s == pytest.approx(SECONDS, abs=1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED_HEADERS))
def test_every_format_decodes_to_its_rate_and_length(files, name):
    y, rate = decode(files[name], sample_rate=None)
    native = 48000 if name == "tone.opus" else RATE
    frames = int(native * SECONDS)
    assert rate == native and y.dtype == np.float32 and y.ndim == 1
    assert 0.1 < np.abs(y).max() <= 1.0
    if name == "tone.aac":
        # no edit list in raw ADTS: the encoder's 1024 priming samples and its padding
        # to a whole 1024-sample frame are decoded too
        assert frames + 1024 <= len(y) <= frames + 2048
    else:  # libsndfile's gapless MP3 and Ogg; the M4A's edit list trims priming and padding
        assert len(y) == frames
    assert probe(files[name]).frames == len(y)
    y22, rate22 = decode(files[name], sample_rate=22050)
    assert rate22 == 22050 and len(y22) == int(np.ceil(len(y) * 22050 / native))


@pytest.mark.parametrize("name", EXCERPTED)
@pytest.mark.parametrize("rate", [None, 22050, 16000])
def test_an_excerpt_is_the_slice_of_a_whole_decode(files, name, rate):
    full, full_rate = decode(files[name], sample_rate=rate)
    offset, duration = 1.37, 1.0
    excerpt, excerpt_rate = decode(
        files[name], sample_rate=rate, offset_s=offset, duration_s=duration
    )
    assert excerpt_rate == full_rate
    first = round(offset * full_rate)
    assert len(excerpt) == round(duration * full_rate)
    expected = full[first : first + len(excerpt)]
    if rate is None and name == "tone.mp3":
        # the same samples (libsndfile's seek handles the decoder's delay), but mpg123's
        # float synthesis after a seek rounds differently in the last bit (~1e-7)
        np.testing.assert_allclose(excerpt, expected, rtol=0, atol=1e-6)
    elif rate is None:  # sample-exact
        np.testing.assert_array_equal(excerpt, expected)
    else:  # resampled with context on the same grid: float rounding apart
        np.testing.assert_allclose(excerpt, expected, rtol=0, atol=2e-6)


@pytest.mark.parametrize("name", ["tone.flac", "tone.m4a", "tone.aac"])
def test_a_span_past_the_end_is_cut_there(files, name):
    full, _ = decode(files[name], sample_rate=None)
    tail, _ = decode(files[name], sample_rate=None, offset_s=SECONDS - 0.5, duration_s=2.0)
    np.testing.assert_array_equal(tail, full[round((SECONDS - 0.5) * RATE) :])
    empty, _ = decode(files[name], sample_rate=None, offset_s=SECONDS + 5)
    assert empty.shape == (0,)


def test_the_whole_decode_is_the_feature_stage_decode(files):
    for name in ("tone.wav", "tone.mp3", "stereo.wav"):
        y, _ = decode(files[name], sample_rate=22050)
        ref, _ = librosa.load(
            files[name], sr=22050, mono=True, res_type="soxr_hq", dtype=np.float32
        )
        np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("name", ["stereo.wav", "stereo.m4a"])
def test_stereo_44k_becomes_mono_22050(files, name):
    header = audio_info(files[name])
    assert (header.channels, header.sample_rate) == (2, RATE)
    y, rate = decode(files[name], sample_rate=22050)
    assert rate == 22050 and y.shape == (FRAMES // 2,)
    both, _ = decode(files[name], sample_rate=22050, mono=False)
    assert both.shape == (2, FRAMES // 2)
    native, _ = decode(files[name], sample_rate=None, mono=False)
    averaged = librosa.resample(
        native.mean(axis=0), orig_sr=RATE, target_sr=22050, res_type="soxr_hq"
    )
    np.testing.assert_allclose(y, averaged, rtol=0, atol=1e-6)
    assert np.abs(both[0] - both[1]).max() > 0.1  # the channels differ: it is a downmix


def test_the_stereo_excerpt_keeps_its_channels(files):
    full, _ = decode(files["stereo.m4a"], sample_rate=None, mono=False)
    part, _ = decode(
        files["stereo.m4a"], sample_rate=None, mono=False, offset_s=2.0, duration_s=0.5
    )
    np.testing.assert_array_equal(part, full[:, 2 * RATE : 2 * RATE + RATE // 2])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tone.wav", TAGS),
        ("tone.flac", TAGS),
        ("tone.ogg", TAGS),
        ("tone.opus", TAGS),
        ("tone.m4a", TAGS),
        ("tagged.mp3", TAGS),
        # libsndfile writes AIFF's name and author chunks, but no album
        ("tone.aiff", {**TAGS, "album": ""}),
        ("tone.mp3", NO_TAGS),
        ("tone.au", NO_TAGS),  # AU holds no tags; tinytag does not read it at all
        ("tone.aac", NO_TAGS),
    ],
)
def test_tags_read_back(files, name, expected):
    assert read_tags(files[name]) == expected


def test_tags_of_what_is_not_audio_are_blank(tmp_path):
    for name, data in {
        "notes.mp3": b"not audio\n" * 100,
        "empty.flac": b"",
        "x.m4a": b"\0",
    }.items():
        (tmp_path / name).write_bytes(data)
        assert read_tags(tmp_path / name) == NO_TAGS
    with pytest.raises(FileNotFoundError):
        read_tags(tmp_path / "missing.mp3")


def _decode_whole(path):
    return decode(path, sample_rate=22050)


@pytest.mark.parametrize("read", [audio_info, probe, _decode_whole], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("notes.mp3", b"this is a text file, renamed\n" * 100),
        ("empty.mp3", b""),
        ("empty.m4a", b""),
        ("notes.m4a", b"this is a text file, renamed\n" * 100),
        ("garbage.wav", bytes(range(256)) * 100),
    ],
)
def test_what_is_not_audio_is_undecodable(tmp_path, read, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(UndecodableAudioError, match=name):
        read(path)


def test_a_missing_file_is_undecodable(tmp_path):
    with pytest.raises(UndecodableAudioError, match="no such file"):
        audio_info(tmp_path / "nope.flac")


def test_a_damaged_file_of_a_libsndfile_format_is_not_rescued_by_ffmpeg(tmp_path, files):
    """A WAV whose codec libsndfile does not know (here WMA's tag) is opened by FFmpeg's
    WAV demuxer; it stays undecodable, as validation and the feature stage see it."""
    data = bytearray(files["tone.wav"].read_bytes())
    assert data[20:22] == b"\x01\x00"  # WAVE_FORMAT_PCM
    data[20:22] = (0x0161).to_bytes(2, "little")
    path = tmp_path / "odd.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(UndecodableAudioError, match="odd.wav"):
        audio_info(path)


def test_a_truncated_mp3_claims_its_length_but_decodes_less(tmp_path, files):
    """libsndfile's MP3 (with a Xing/LAME header) states the whole length after the
    file is cut: only a full decode counts what is left."""
    data = files["tone.mp3"].read_bytes()
    assert b"Xing" in data[:200] or b"Info" in data[:200]
    path = tmp_path / "cut.mp3"
    path.write_bytes(data[: len(data) // 2])
    header = audio_info(path)
    assert header.duration_s == pytest.approx(SECONDS)
    probed = probe(path)
    assert 0.3 * FRAMES < probed.frames < 0.6 * FRAMES
    y, _ = decode(path, sample_rate=None)
    assert len(y) == probed.frames
    # soundfile's blocks() pads what is missing with its buffer: probe must not use it
    with sf.SoundFile(path) as handle:
        assert sum(len(b) for b in handle.blocks(1 << 16)) == FRAMES


def test_a_truncated_m4a_is_undecodable(tmp_path, files):
    """The MP4 muxer writes its index (moov) after the audio: a cut file has none."""
    data = files["tone.m4a"].read_bytes()
    path = tmp_path / "cut.m4a"
    path.write_bytes(data[: len(data) // 2])
    for read in (audio_info, probe, _decode_whole):
        with pytest.raises(UndecodableAudioError, match="cut.m4a"):
            read(path)


def test_probe_reports_the_container_and_codec_of_an_m4a(files):
    info = probe(files["tone.m4a"])
    assert (info.format, info.subtype, info.sample_rate, info.channels) == ("M4A", "aac", RATE, 1)
    assert info.frames == FRAMES


def test_bad_arguments(files):
    with pytest.raises(ValueError):
        decode(files["tone.wav"], sample_rate=None, offset_s=-1)
    with pytest.raises(ValueError):
        decode(files["tone.wav"], sample_rate=0)


def test_importing_audio_does_not_load_the_optional_decoders():
    """av, tinytag and librosa are imported where used (a job that only probes WAVs
    does not load FFmpeg)."""
    import subprocess
    import sys

    code = "import genreflow.audio, sys; print(sorted({'av', 'tinytag', 'librosa'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert audio.RESAMPLER == "soxr_hq"


def test_an_excerpt_is_read_by_seeking(files, monkeypatch):
    """libsndfile seeks to the span (less the resampler's margin); FFmpeg seeks in an
    ALAC M4A but decodes an AAC one from its start (see audio._EXACT_AFTER_PREROLL)."""
    seeks = []
    real_seek = sf.SoundFile.seek

    def seek(handle, frames, whence=sf.SEEK_SET):
        if whence == sf.SEEK_SET:  # not tell()'s seek(0, SEEK_CUR)
            seeks.append(frames)  # (soundfile also seeks to where each read() ended)
        return real_seek(handle, frames, whence)

    monkeypatch.setattr(sf.SoundFile, "seek", seek)
    decode(files["tone.flac"], sample_rate=None, offset_s=2.0, duration_s=0.5)
    decode(files["tone.mp3"], sample_rate=22050, offset_s=2.0, duration_s=0.5)
    assert seeks[0] == 2 * RATE
    assert [s for s in seeks[1:] if 1.9 * RATE < s <= (2 - audio._RESAMPLE_MARGIN_S) * RATE]

    first_decoded = []
    real_frames_from = audio._frames_from

    def frames_from(*args):
        frames = real_frames_from(*args)
        first = next(frames)
        first_decoded.append(first.pts * first.time_base)
        return chain([first], frames)

    monkeypatch.setattr(audio, "_frames_from", frames_from)
    for name in ("alac.m4a", "tone.m4a"):
        decode(files[name], sample_rate=None, offset_s=2.0, duration_s=0.5)
    assert 1.0 < first_decoded[0] <= 2.0 - audio._PREROLL_S  # ALAC: seeked
    assert first_decoded[1] == 0  # AAC: from the start
