"""genreflow classify --write-tags / --dry-run / --undo: the genre and its provenance go
into mp3, flac, ogg and m4a tags, the audio bytes never change, an undo file puts back
exactly the old values, and a file that cannot be tagged is one line of reason."""

import os
import sys
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from mutagen import File as MutagenFile
from mutagen.ogg import OggPage
from test_predict import default_features, save_torch_model
from tinytag import TinyTag

from genreflow.checksums import file_digest
from genreflow.cli import main
from genreflow.library.table import AppendedTable, row_columns
from genreflow.library.tags import (
    KEYS,
    changed_run,
    provenance,
    read_undo,
    read_values,
    splice_run,
    tag_kind,
    tag_library,
    undo_tags,
    write_values,
)

MODEL = "cnn_seed001@0123456789ab"
RATE = 22050
SONGS = {"a/one.mp3": "rock", "a/two.flac": "jazz", "b/three.ogg": "blues", "b/four.m4a": "pop"}


def write_song(path: Path, seconds: float = 1.0, pitch: float = 220.0) -> None:
    """A short tone: mp3, flac and ogg by libsndfile, m4a (AAC) by PyAV with the moov
    box before mdat (so that longer tags move the audio and its offsets must follow)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(round(seconds * RATE)) / RATE
    y = (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
    if path.suffix != ".m4a":
        sf.write(path, y, RATE, format={".mp3": "MP3", ".ogg": "OGG"}.get(path.suffix, "FLAC"))
        return
    with av.open(str(path), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("aac", rate=RATE, layout="mono")
        frame = av.AudioFrame.from_ndarray(y[None, :], format="flt", layout="mono")
        frame.sample_rate = RATE
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


@pytest.fixture
def library(tmp_path) -> Path:
    """The four songs; one.mp3 and three.ogg already have a genre of their own."""
    root = tmp_path / "music"
    for i, name in enumerate(SONGS):
        write_song(root / name, pitch=220.0 + 110 * i)
    for name in ("a/one.mp3", "b/three.ogg"):
        kind = tag_kind(root / name)
        write_values(root / name, kind, {KEYS[kind][0]: ["Old Genre"]})
    return root


def write_table(root: Path, out: Path, genres: dict[str, str]) -> AppendedTable:
    """The table classify would have written for ``genres`` (relative path → genre)."""
    table = AppendedTable(out, "csv", row_columns(1), fresh=True)
    rows = []
    for name, genre in genres.items():
        path = root / name
        status = path.stat() if path.exists() else None
        rows.append(
            {
                "path": str(path),
                "checksum": file_digest(path) if status else "0" * 32,
                "size": status.st_size if status else 0,
                "mtime_ns": status.st_mtime_ns if status else 0,
                "genre": genre,
                "probability": 0.8125,
                "genre_1": genre,
                "probability_1": 0.8125,
                "model_id": MODEL,
            }
        )
    table.append(rows)
    return table


# ---- the audio bytes, parsed by hand (not by mutagen, which writes the tags) ----------


def audio_bytes(path: Path) -> object:
    """What must never change: the bytes (packets) of the audio, without any tag."""
    data = path.read_bytes()
    if path.suffix == ".mp3":  # after the ID3v2 tag, before an ID3v1 tag
        start = 0
        if data[:3] == b"ID3":
            size = (data[6] << 21) | (data[7] << 14) | (data[8] << 7) | data[9]
            start = 10 + size + (10 if data[5] & 0x10 else 0)
        end = len(data) - 128 if data[-128:-125] == b"TAG" else len(data)
        return data[start:end]
    if path.suffix == ".flac":  # after the last metadata block
        assert data[:4] == b"fLaC"
        position = 4
        while True:
            header = data[position]
            position += 4 + int.from_bytes(data[position + 1 : position + 4], "big")
            if header & 0x80:
                return data[position:]
    if path.suffix == ".ogg":  # the audio packets and their pages' granule positions
        pages = []
        with path.open("rb") as handle:
            while handle.tell() < len(data):
                pages.append(OggPage(handle))
        packets = OggPage.to_packets(pages)
        return packets[3:], [page.position for page in pages if page.position != 0]
    return mdat_payload(data)


def mdat_payload(data: bytes) -> bytes:
    position = 0
    while position < len(data):
        size, header = int.from_bytes(data[position : position + 4], "big"), 8
        if size == 1:
            size, header = int.from_bytes(data[position + 8 : position + 16], "big"), 16
        elif size == 0:
            size = len(data) - position
        if data[position + 4 : position + 8] == b"mdat":
            return data[position + header : position + size]
        position += size
    raise AssertionError("no mdat box")


def decoded(path: Path) -> np.ndarray:
    """Every sample, as FFmpeg decodes the file (a player's view: moved offsets too)."""
    with av.open(str(path)) as container:
        return np.concatenate([f.to_ndarray() for f in container.decode(audio=0)], axis=1)


def all_tags(path: Path) -> list[str]:
    """Every tag of the file, one line each, sorted (order is not a value)."""
    return sorted(MutagenFile(path).tags.pprint().splitlines())


def assert_rows_match_files(table: AppendedTable) -> None:
    """Each row names its file's bytes now: a later classify skips it (checksum and the
    size and modification time of its stat fast path)."""
    for row in table.rows():
        status = os.stat(row["path"])
        assert row["checksum"] == file_digest(row["path"])
        assert (row["size"], row["mtime_ns"]) == (str(status.st_size), str(status.st_mtime_ns))


# ---- tests --------------------------------------------------------------------------------


def test_tags_are_written_then_undone_and_the_audio_never_changes(library, tmp_path):
    paths = [library / name for name in SONGS]
    original = {p: p.read_bytes() for p in paths}
    audio = {p: audio_bytes(p) for p in paths}
    samples = {p: decoded(p) for p in paths}
    before = {p: all_tags(p) for p in paths}
    table = write_table(library, tmp_path / "library.csv", SONGS)

    summary = tag_library(table, MODEL, library, show=lambda line: None)
    assert (summary.changed, summary.unchanged, summary.skipped) == (4, 0, [])
    for path, genre in zip(paths, SONGS.values()):
        assert audio_bytes(path) == audio[path], path
        assert np.array_equal(decoded(path), samples[path]), path
        assert TinyTag.get(path).genre == genre  # another reader sees it
        genre_key, comment_key = KEYS[tag_kind(path)]
        assert read_values(path, tag_kind(path)) == {
            genre_key: [genre],
            comment_key: [f"genreflow {MODEL} p=0.8125"],
        }
        assert all_tags(path) != before[path]
    assert_rows_match_files(table)
    undo_file = summary.undo_file
    header, changes = read_undo(undo_file)
    assert header["table"] == str(table.path) and header["model_id"] == MODEL
    old = {Path(c.path).name: c.old for c in changes}
    assert old["one.mp3"] == {"TCON": ["Old Genre"], "COMM:genreflow:eng": None}
    assert old["two.flac"] == {"GENRE": None, "GENREFLOW": None}

    again = tag_library(table, MODEL, library, show=lambda line: None)  # nothing to do
    assert (again.changed, again.unchanged, again.undo_file) == (0, 4, None)
    assert sorted(tmp_path.glob("*.tags-undo-*")) == [undo_file]

    tagged = {p: p.read_bytes() for p in paths}
    lines = []
    assert undo_tags(undo_file, dry_run=True, show=lines.append).changed == 4
    assert {p: p.read_bytes() for p in paths} == tagged
    assert f"{paths[0]}: TCON 'rock' → 'Old Genre'; COMM:genreflow:eng '" in lines[0]
    assert lines[0].endswith("→ (absent)")

    restored = undo_tags(undo_file, show=lambda line: None)
    assert (restored.changed, restored.skipped) == (4, [])
    for path in paths:
        assert path.read_bytes() == original[path], path  # the very bytes, not just values
        assert all_tags(path) == before[path], path  # "Old Genre" back, the rest removed
        assert np.array_equal(decoded(path), samples[path]), path
    assert_rows_match_files(table)
    assert undo_tags(undo_file, show=lambda line: None).unchanged == 4  # already undone


def test_a_dry_run_shows_old_and_new_values_and_writes_nothing(library, tmp_path):
    table = write_table(library, tmp_path / "library.csv", SONGS)
    files = {p: p.read_bytes() for p in library.rglob("*.*")}
    table_bytes = table.path.read_bytes()
    lines = []
    summary = tag_library(table, MODEL, library, dry_run=True, show=lines.append)
    assert summary.changed == 4 and "dry run" in summary.describe()
    assert {p: p.read_bytes() for p in library.rglob("*.*")} == files
    assert table.path.read_bytes() == table_bytes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.csv", "music"]
    one = next(line for line in lines if line.startswith(str(library / "a" / "one.mp3")))
    comment = provenance(MODEL, 0.8125)
    assert one == (
        f"{library / 'a' / 'one.mp3'}: TCON 'Old Genre' → 'rock'; "
        f"COMM:genreflow:eng (absent) → '{comment}'"
    )


def test_files_that_cannot_be_tagged_are_skipped_each_with_its_reason(library, tmp_path):
    write_song(library / "c" / "five.wav")
    write_song(library / "c" / "locked.flac")
    (library / "c" / "fake.mp3").write_bytes(b"not an mp3 at all" * 10)
    genres = {**SONGS, "c/five.wav": "rock", "c/locked.flac": "rock", "c/fake.mp3": "rock"}
    genres["c/gone.ogg"] = "rock"
    table = write_table(library, tmp_path / "library.csv", genres)
    with (library / "b" / "three.ogg").open("ab") as handle:  # changed since classified
        handle.write(b"\0")
    (library / "c" / "locked.flac").chmod(0o444)  # read-only (even for root: no w bit)
    locked = (library / "c" / "locked.flac").read_bytes()

    summary = tag_library(table, MODEL, library, show=lambda line: None)
    reasons = {Path(path).name: reason for path, reason in summary.skipped}
    assert reasons == {
        "three.ogg": "changed since it was classified (classify it again first)",
        "five.wav": "no tags written into .wav files",
        "locked.flac": "read-only file",
        "fake.mp3": reasons["fake.mp3"],
        "gone.ogg": "missing",
    }
    assert reasons["fake.mp3"].startswith("mutagen cannot tag it")
    assert summary.changed == 3  # the others are tagged
    assert (library / "c" / "locked.flac").read_bytes() == locked
    assert "3 files tagged" in summary.describe() and "1 read-only file" in summary.describe()
    # a tag changed by hand since: undo leaves that file alone, restores the others
    write_values(library / "a" / "two.flac", "flac", {"GENRE": ["My Own"]})
    restored = undo_tags(summary.undo_file, show=lambda line: None)
    assert restored.changed == 2
    [(path, reason)] = restored.skipped
    assert path.endswith("two.flac") and "GENRE is now 'My Own'" in reason
    assert read_values(library / "a" / "two.flac", "flac")["GENRE"] == ["My Own"]


def test_a_copy_is_tagged_with_the_mode_a_link_names_and_hard_links_see_it(tmp_path):
    song, linked = tmp_path / "song.flac", tmp_path / "linked.flac"
    write_song(song)
    write_song(linked)
    song.chmod(0o640)
    (tmp_path / "alias.flac").symlink_to(song)
    os.link(linked, tmp_path / "elsewhere.flac")
    genre = {"GENRE": ["rock"]}
    write_values(tmp_path / "alias.flac", "flac", genre)  # the link's target is tagged
    write_values(linked, "flac", genre)  # in place: the other name sees it
    assert (tmp_path / "alias.flac").is_symlink() and song.stat().st_mode & 0o777 == 0o640
    assert read_values(song, "flac")["GENRE"] == ["rock"]
    assert read_values(tmp_path / "elsewhere.flac", "flac")["GENRE"] == ["rock"]
    size, inode = linked.stat().st_size, linked.stat().st_ino
    write_values(linked, "flac", {"GENRE": ["x" * 20_000]})  # past the padding: it grows
    assert linked.stat().st_size > size and linked.stat().st_ino == inode
    assert read_values(tmp_path / "elsewhere.flac", "flac")["GENRE"] == ["x" * 20_000]
    assert sorted(p.name for p in tmp_path.iterdir()) == [  # no temporary file left
        "alias.flac",
        "elsewhere.flac",
        "linked.flac",
        "song.flac",
    ]


def test_after_a_stop_mid_tagging_the_undo_file_gives_back_the_very_bytes(library, tmp_path):
    """Ctrl-C after two files: the undo file still holds their changed runs (logged
    before each file changed), even with a half-written line after them; a hard-linked
    file, tagged in place, comes back byte for byte under both names."""
    os.link(library / "a" / "two.flac", tmp_path / "two again.flac")
    paths = [library / name for name in SONGS]
    original = {p: p.read_bytes() for p in paths}
    table = write_table(library, tmp_path / "library.csv", SONGS)
    shown = []

    def stop_after_two(line: str) -> None:
        shown.append(line)
        if len(shown) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        tag_library(table, MODEL, library, show=stop_after_two)
    [undo_file] = tmp_path.glob("library.tags-undo-*.jsonl")
    tagged = [p for p in paths if p.read_bytes() != original[p]]
    assert len(tagged) == 2 and (tmp_path / "two again.flac").read_bytes() == paths[1].read_bytes()
    with undo_file.open("a") as handle:
        handle.write('{"path": "cut short by a sto')
    _, changes = read_undo(undo_file)
    assert len(changes) == 4 and sum(c.run is not None for c in changes) == 2

    restored = undo_tags(undo_file, show=lambda line: None)
    assert (restored.changed, restored.unchanged, restored.skipped) == (2, 2, [])
    assert {p: p.read_bytes() for p in paths} == original
    assert (tmp_path / "two again.flac").read_bytes() == original[paths[1]]
    assert_rows_match_files(table)


def test_a_file_changed_since_its_tagging_gets_its_old_values_back(library, tmp_path):
    """Bytes changed since (here: a title added by hand), genre values still genreflow's:
    the old values come back, the title stays."""
    song = library / "a" / "two.flac"
    table = write_table(library, tmp_path / "library.csv", {"a/two.flac": "jazz"})
    undo_file = tag_library(table, MODEL, library, show=lambda line: None).undo_file
    write_values(song, "flac", {"TITLE": ["My title"]})
    assert undo_tags(undo_file, show=lambda line: None).changed == 1
    assert read_values(song, "flac") == {"GENRE": None, "GENREFLOW": None}
    assert MutagenFile(song).tags["TITLE"] == ["My title"]


def test_the_changed_run_puts_back_any_one_region(tmp_path):
    before, after, back = tmp_path / "before", tmp_path / "after", tmp_path / "back"
    for old, new in [
        (b"abcdef", b"abXYZcdef"),  # grown
        (b"abcdef", b"af"),  # shrunk
        (b"abcdef", b"abcdef"),  # the same
        (b"", b"new"),  # from nothing
        (b"aaaa", b"aaaaaa"),  # a run inside repeats
    ]:
        before.write_bytes(old)
        after.write_bytes(new)
        run = changed_run(before, after)
        assert run["length"] <= len(new) and run["md5"] == file_digest(after)
        splice_run(after, back, run)
        assert back.read_bytes() == old, (old, new)


def test_without_mutagen_write_tags_stops_with_the_install_line(
    library, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, "mutagen", None)  # `import mutagen` fails
    command = ["classify", str(library), "--model", str(tmp_path / "m"), "--out", "x.csv"]
    assert main([*command, "--write-tags"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith('pip install "genreflow[tags]"') and "GPL-2.0-or-later" in line
    assert not (tmp_path / "x.csv").exists()


def test_the_command_tags_a_classified_library_and_a_rerun_skips_every_file(tmp_path, capsys):
    model = save_torch_model(tmp_path / "model", default_features())
    library = tmp_path / "music"
    for i, name in enumerate(["one.mp3", "two.flac", "three.wav"]):
        write_song(library / name, seconds=4.0, pitch=220.0 + 110 * i)
    out = tmp_path / "library.jsonl"
    command = ["classify", str(library), "--model", str(model), "--out", str(out)]
    assert main([*command, "--dry-run"]) == 2  # --dry-run goes with --write-tags
    assert main([*command, "--write-tags"]) == 0
    err = capsys.readouterr().err
    assert (
        "2 files tagged, 0 already tagged, 1 not tagged (1 no tags written into .wav files)" in err
    )
    [undo_file] = tmp_path.glob("library.tags-undo-*.jsonl")
    assert str(undo_file) in err and "three.wav" not in err  # a format: counted, not listed
    rows = {Path(row["path"]).name: row for row in AppendedTable.existing(out, "jsonl").rows()}
    assert TinyTag.get(library / "one.mp3").genre == rows["one.mp3"]["genre"]

    assert main(command) == 0  # tagged files are not new files: nothing to classify again
    assert "0 classified" in capsys.readouterr().err
    assert main(["classify", "--undo", str(undo_file), "--out", str(out)]) == 2
    assert main(["classify", "--undo", str(undo_file)]) == 0
    assert "2 files restored" in capsys.readouterr().err
    assert TinyTag.get(library / "one.mp3").genre is None
    assert main(command) == 0 and "0 classified" in capsys.readouterr().err
