"""Your own music, before any job: discovery, track ids, genre labels, the pin check."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from genreflow.collection.aliases import load_aliases
from genreflow.collection.discover import discover, track_id
from genreflow.collection.pinned import Changes, collection_changes
from genreflow.excerpts import Excerpt

ALIAS_TABLE = Path(__file__).resolve().parent.parent / "resources" / "genre_aliases.yaml"


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_track_ids_are_unique_stable_and_safe_as_file_names():
    ids = {track_id(p) for p in ("rock/02.mp3", "jazz/02.mp3", "rock/02.flac", "rock/0 2.mp3")}
    assert len(ids) == 4
    assert track_id("rock/Artist/01 Song (live).mp3") == track_id("rock/Artist/01 Song (live).mp3")
    for tid in ids:
        assert "/" not in tid and " " not in tid and tid.isascii()
    assert track_id("rock/Ünïcode — ß.flac") != track_id("rock/Unicode — ss.flac")


def test_folder_discovery_any_depth_skips_hidden_and_counts_other_files(tmp_path):
    touch(tmp_path / "Rock" / "a.mp3")
    touch(tmp_path / "Rock" / "Artist" / "Album" / "b.FLAC")
    touch(tmp_path / "Rock" / "cover.jpg")
    touch(tmp_path / "Rock" / "._a.mp3")
    touch(tmp_path / "Hip-Hop" / "c.m4a")
    found = discover(tmp_path)
    assert found.problems == []
    assert [f.relpath for f in found.files] == [
        "Hip-Hop/c.m4a",
        "Rock/Artist/Album/b.FLAC",
        "Rock/a.mp3",
    ]
    assert [f.genre_name for f in found.files] == ["Hip-Hop", "Rock", "Rock"]
    assert found.skipped == {".jpg": 1}


def test_folder_problems_each_one_line_naming_the_path(tmp_path):
    touch(tmp_path / "rock" / "a.mp3")
    touch(tmp_path / "loose.mp3")
    (tmp_path / "empty_genre").mkdir()
    touch(tmp_path / "empty_genre" / "notes.txt")
    os.symlink(tmp_path / "rock", tmp_path / "rock" / "loop")
    problems = discover(tmp_path).problems
    assert any("loose.mp3 is not inside a genre folder" in p for p in problems)
    assert any("empty_genre holds no audio files" in p for p in problems)
    assert any("rock/loop: a symlink loop" in p for p in problems)
    assert all("\n" not in p for p in problems)


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs permissions")
def test_an_unreadable_folder_is_named(tmp_path):
    touch(tmp_path / "rock" / "a.mp3")
    locked = tmp_path / "jazz" / "locked"
    touch(locked / "b.mp3")
    touch(tmp_path / "jazz" / "c.mp3")
    locked.chmod(0)
    try:
        problems = discover(tmp_path).problems
    finally:
        locked.chmod(0o755)
    assert any(f"{locked}: cannot be listed" in p for p in problems)


def test_csv_source_paths_relative_to_it_with_optional_columns(tmp_path):
    touch(tmp_path / "songs" / "x.mp3")
    touch(tmp_path / "songs" / "y.flac")
    table = tmp_path / "list.csv"
    table.write_text(
        "path,genre,artist,title,split\nsongs/x.mp3,Rock,A,T1,train\nsongs/y.flac,Jazz,B,T2,test\n"
    )
    found = discover(table)
    assert found.problems == []
    assert [(f.relpath, f.genre_name, f.artist, f.split) for f in found.files] == [
        ("songs/x.mp3", "Rock", "A", "training"),
        ("songs/y.flac", "Jazz", "B", "test"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("file,genre\nx.mp3,rock\n", "lacks column(s) path"),
        ("path,genre\n../outside.mp3,rock\n", "../outside.mp3 is outside"),
        ("path,genre\n/etc/passwd,rock\n", "/etc/passwd is outside"),
        ("path,genre,split\nx.mp3,rock,holdout\n", "split 'holdout' is not one of"),
        ("path,genre\nx.mp3,\n", "line 2: path and genre must not be blank"),
        ("path,genre,title\nx.mp3,rock,Hello, World\n", "line 2 has more fields than the"),
        ("path,genre\ngone.mp3,rock\n", "line 2: gone.mp3 does not exist"),
    ],
)
def test_csv_problems_name_the_file_and_line(tmp_path, text, expected):
    touch(tmp_path / "x.mp3")
    table = tmp_path / "list.csv"
    table.write_text(text)
    problems = discover(table).problems
    assert len(problems) == 1 and expected in problems[0] and str(table) in problems[0]


def test_genre_aliases_make_one_label_and_yours_come_first():
    aliases = load_aliases({"electronic": ["edm", "techno"]}, ALIAS_TABLE)
    names = ["Hip-Hop", "hip hop", "hiphop", "Hip_Hop", "R&B", "rnb", "EDM", "Rock", "Drum & Bass"]
    labels = aliases.mapping(names)
    assert {labels[n] for n in ("Hip-Hop", "hip hop", "hiphop", "Hip_Hop")} == {"hip hop"}
    assert labels["R&B"] == labels["rnb"] == "rhythm and blues"
    assert labels["EDM"] == "electronic"
    assert labels["Rock"] == "rock"
    assert labels["Drum & Bass"] == "drum and bass"
    assert load_aliases({}, None).label("Hip-Hop") == "hip-hop"


def test_collection_changes_lists_changed_missing_and_new(tmp_path):
    a = touch(tmp_path / "rock" / "a.mp3", b"aaaa")
    touch(tmp_path / "rock" / "b.mp3", b"bbbb")
    found = discover(tmp_path)
    labels = {"rock": "rock"}
    from genreflow.checksums import file_digest

    pinned = [
        {
            "path": f.relpath,
            "genre": "rock",
            "size": str((tmp_path / f.relpath).stat().st_size),
            "mtime_ns": str((tmp_path / f.relpath).stat().st_mtime_ns),
            "file_md5": file_digest(tmp_path / f.relpath),
        }
        for f in found.files
    ]
    assert not collection_changes(tmp_path, found.files, pinned, labels)
    os.utime(a, ns=(1, 1))  # touched, same bytes: unchanged
    assert not collection_changes(tmp_path, found.files, pinned, labels)
    a.write_bytes(b"AAAA")  # same size, other bytes
    (tmp_path / "rock" / "b.mp3").unlink()
    touch(tmp_path / "rock" / "c.mp3")
    changes = collection_changes(tmp_path, discover(tmp_path).files, pinned, labels)
    assert changes.changed == ["rock/a.mp3"]
    assert changes.missing == ["rock/b.mp3"]
    assert changes.new == ["rock/c.mp3"]
    assert (
        changes.describe() == "1 changed (rock/a.mp3), 1 missing (rock/b.mp3), 1 new (rock/c.mp3)"
    )


def test_a_csv_split_or_artist_edited_after_pinning_is_a_change(tmp_path):
    touch(tmp_path / "a.mp3")
    table = tmp_path / "list.csv"
    table.write_text("path,genre,artist,split\na.mp3,rock,A,train\n")
    pinned = [
        {
            "path": "a.mp3",
            "genre": "rock",
            "size": "1",
            "mtime_ns": "",
            "file_md5": "",
            "artist": "A",
            "official_split": "training",
        }
    ]
    labels = {"rock": "rock"}
    assert not collection_changes(tmp_path, discover(table).files, pinned, labels)
    table.write_text("path,genre,artist,split\na.mp3,rock,A,test\n")
    changes = collection_changes(tmp_path, discover(table).files, pinned, labels)
    assert changes.changed == ["a.mp3 (split training → test)"]
    table.write_text("path,genre,artist,split\na.mp3,rock,B,train\n")
    changes = collection_changes(tmp_path, discover(table).files, pinned, labels)
    assert changes.changed == ["a.mp3 (artist A → B)"]


def test_two_links_to_one_folder_are_listed_once_not_called_a_loop(tmp_path):
    touch(tmp_path / "shared" / "album" / "a.flac")
    (tmp_path / "music" / "rock").mkdir(parents=True)
    (tmp_path / "music" / "jazz").mkdir(parents=True)
    touch(tmp_path / "music" / "jazz" / "b.flac")
    os.symlink(tmp_path / "shared" / "album", tmp_path / "music" / "rock" / "one")
    os.symlink(tmp_path / "shared" / "album", tmp_path / "music" / "rock" / "two")
    found = discover(tmp_path / "music")
    assert found.problems == []
    assert [f.relpath for f in found.files] == ["jazz/b.flac", "rock/one/a.flac"]


def test_changes_name_the_first_twenty_then_count():
    changes = Changes(new=[f"g/{i:02d}.mp3" for i in range(25)])
    described = changes.describe()
    assert "g/19.mp3 and 5 more" in described and "g/20.mp3" not in described


@pytest.mark.parametrize(
    ("policy", "duration", "spans"),
    [
        ("middle", 240.0, [(105.0, 30.0)]),
        ("middle", 30.4, [(0.0, None)]),  # a dataset's clip: decoded whole
        ("middle", 12.0, [(0.0, None)]),
        ("start", 240.0, [(0.0, 30.0)]),
        ("whole", 600.0, [(0.0, None)]),
    ],
)
def test_excerpt_spans(policy, duration, spans):
    assert Excerpt(policy=policy, seconds=30.0).spans(duration) == spans


def test_spread_excerpts_are_centred_at_evenly_spaced_points():
    spans = Excerpt(policy="spread", seconds=10.0, count=3).spans(400.0)
    assert spans == [(95.0, 10.0), (195.0, 10.0), (295.0, 10.0)]


def test_the_plan_checks_the_pin_and_names_another_collections_registry(tmp_path):
    import yaml

    from genreflow.collection.pin import pin_collection
    from genreflow.plan import ConfigProblems, resolve_plan

    from conftest import PROJECT_ROOT

    for genre in ("rock", "jazz"):
        for i in range(2):
            touch(tmp_path / "music" / genre / f"{i}.mp3", f"{genre}{i}".encode())
    registry = tmp_path / "registry.csv"
    found = discover(tmp_path / "music")
    pin_collection(found.root, found.files, {"rock": "rock", "jazz": "jazz"}).to_csv(
        registry, index=False
    )
    config = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    config["dataset"].update(name="mine", source=str(tmp_path / "music"), registry=str(registry))
    config["features"]["clip_seconds"] = 30
    plan = resolve_plan(config, PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml")
    assert plan.dataset.is_collection and plan.dataset.registry == str(registry)
    assert plan.dataset.genres == ("jazz", "rock") and plan.dataset.n_tracks == 4
    assert "artist tags: 0% of the files name an artist" in plan.describe()
    for genre in ("pop", "funk"):
        touch(tmp_path / "other" / genre / "a.mp3")
        touch(tmp_path / "other" / genre / "b.mp3")
    config["dataset"]["source"] = str(tmp_path / "other")
    with pytest.raises(ConfigProblems) as raised:
        resolve_plan(config, PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml")
    problems = str(raised.value).splitlines()
    assert len(problems) == 1 and "was pinned from another collection" in problems[0]
    # fold settings are checked for a collection too, before any job
    config["dataset"]["source"] = str(tmp_path / "music")
    config["folds"].update(schemes=["holdout"], holdout={"train": 0.9, "val": 0.5, "test": 0.5})
    with pytest.raises(ConfigProblems, match="folds.holdout: ratios"):
        resolve_plan(config, PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml")


def test_genreflow_pin_never_writes_over_a_published_registry(tmp_path, monkeypatch, capsys):
    import shutil

    from genreflow.cli import main

    from conftest import GTZAN_REGISTRY, PROJECT_ROOT

    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "config", project / "config")
    shutil.copytree(PROJECT_ROOT / "workflow" / "schemas", project / "workflow" / "schemas")
    registry = shutil.copy(GTZAN_REGISTRY, tmp_path / "tracks.csv")
    touch(tmp_path / "genres" / "blues" / "blues.00000.wav")
    touch(tmp_path / "genres" / "jazz" / "jazz.00000.wav")
    (project / "config" / "gtzan_folder.yaml").write_text(
        f"dataset: {{name: gtzan, source: {tmp_path / 'genres'}, registry: {registry}}}\n"
    )
    before = Path(registry).read_bytes()
    code = main(["pin", "--workdir", str(project), "--configfile", "config/gtzan_folder.yaml"])
    assert code == 2 and "is not a folder or CSV of your music" in capsys.readouterr().err
    assert Path(registry).read_bytes() == before
