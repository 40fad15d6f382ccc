"""The classify target's parts without Snakemake: the listing cut into shards (stable,
in walk order), shard tables merged in order, the summary, and the classify block."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from genreflow.library.listing import (
    merge_tables,
    read_shard,
    shard_name,
    shards_of,
    write_listing,
    write_rows,
)
from genreflow.library.summary import genre_counts, least_confident, read_table, write_summary
from genreflow.library.table import ERROR_COLUMNS, row_columns
from genreflow.plan import ConfigProblems, resolve_plan

from conftest import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CONFIG = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
SONGS = ["b/02.wav", "a/01.flac", "a/00.wav", "a b.wav", "a/z/03.wav", "c.wav", "b/04 – ü.ogg"]
# walk_audio's order: each folder's entries sorted by name, subfolders walked in place
# (not the paths' string order, which puts "a b.wav" before "a/…")
WALK_ORDER = ["a/00.wav", "a/01.flac", "a/z/03.wav", "a b.wav", "b/02.wav", "b/04 – ü.ogg", "c.wav"]


def write_song(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    kind = {".ogg": "OGG", ".flac": "FLAC"}.get(path.suffix, "WAV")
    sf.write(path, np.zeros(2205, dtype=np.float32), 22050, format=kind)


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "Music"
    for relpath in SONGS:
        write_song(root / relpath)
    (root / "a" / "cover.jpg").write_bytes(b"\xff\xd8")
    (root / ".hidden.wav").write_bytes(b"")
    (root / "gone.mp3").symlink_to(root / "nowhere.mp3")
    return root


def listing_of(library: Path, out: Path, shard_files: int) -> tuple[list[list[str]], dict]:
    counts = write_listing(
        library, shard_files, out / "listing", out / "walk.errors.csv", out / "listing.json"
    )
    names = sorted(p.name for p in (out / "listing").iterdir())
    assert names == [f"{shard_name(i)}.json" for i in range(counts["shards"])]
    return [read_shard(out / "listing" / name) for name in names], counts


def test_the_listing_is_cut_into_shards_of_n_files_in_walk_order(library, tmp_path):
    shards, counts = listing_of(library, tmp_path / "one", 2)
    assert shards == [[str(library / p) for p in WALK_ORDER[i : i + 2]] for i in (0, 2, 4, 6)]
    assert counts["files"] == 7 and counts["shards"] == 4 and counts["skipped"] == {".jpg": 1}
    assert json.loads((tmp_path / "one" / "listing.json").read_text()) == counts
    problems = pd.read_csv(tmp_path / "one" / "walk.errors.csv")
    assert problems.to_dict("records") == [
        {
            "path": str(library / "gone.mp3"),
            "reason": "broken symlink",
            "detail": "a broken symlink; remove it or fix its target.",
        }
    ]
    # walked again: the same bytes (the workflow then reclassifies no unchanged shard)
    listing_of(library, tmp_path / "two", 2)
    for name in ("listing/00000.json", "listing/00003.json", "walk.errors.csv"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    one_shard, _ = listing_of(library, tmp_path / "three", 500)
    assert one_shard == [[p for shard in shards for p in shard]]


def test_any_file_name_survives_a_shard(tmp_path):
    root = tmp_path / "Music"
    odd = root / "line\nbreak.wav"
    write_song(odd)
    shards, _ = listing_of(root, tmp_path / "out", 3)
    assert shards == [[str(odd)]]


def test_shards_of_keeps_the_order_and_refuses_zero():
    assert shards_of(list("abcde"), 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert shards_of([], 3) == []
    with pytest.raises(ValueError, match="at least 1"):
        shards_of(["a"], 0)


def rows(*paths: str, probability: float = 0.5) -> list[dict]:
    return [
        {"path": p, "genre": "rock", "probability": probability, "genre_1": "rock"} for p in paths
    ]


def test_shard_tables_merge_in_order_under_one_header(tmp_path):
    columns = row_columns(1)
    first, second = tmp_path / "00000.csv", tmp_path / "00001.csv"
    write_rows(first, columns, rows("/m/b, with a comma.wav", "/m/a.wav"))
    write_rows(second, columns, rows("/m/c\nnewline.wav"))
    merge_tables([first, second], tmp_path / "library.csv", columns)
    merged = pd.read_csv(tmp_path / "library.csv")
    assert list(merged.columns) == columns
    assert merged["path"].tolist() == ["/m/b, with a comma.wav", "/m/a.wav", "/m/c\nnewline.wav"]
    merge_tables([], tmp_path / "empty.csv", columns)
    assert (tmp_path / "empty.csv").read_text() == ",".join(columns) + "\n"
    write_rows(tmp_path / "other.csv", row_columns(2), rows("/m/d.wav"))
    with pytest.raises(Exception, match="its columns are not"):
        merge_tables([first, tmp_path / "other.csv"], tmp_path / "bad.csv", columns)
    assert not (tmp_path / "bad.csv").exists()


def test_the_summary_counts_genres_and_lists_the_least_confident(tmp_path):
    table = pd.DataFrame(
        [
            {"path": "/m/lib/a.wav", "genre": "rock", "probability": 0.9, "probability_2": 0.05},
            {"path": "/m/lib/b.wav", "genre": "jazz", "probability": 0.4, "probability_2": 0.39},
            {"path": "/m/lib/c.wav", "genre": "rock", "probability": 0.4, "probability_2": 0.1},
            {"path": "/m/lib/d.wav", "genre": "rock", "probability": 0.6, "probability_2": 0.3},
        ]
    )
    counts = genre_counts(table)
    assert counts["genre"].tolist() == ["rock", "jazz"] and counts["files"].tolist() == [3, 1]
    assert counts["share"].tolist() == [0.75, 0.25]
    # the lowest top probability first; among equals, the closest runner-up
    assert least_confident(table, 3)["path"].tolist() == [
        "/m/lib/b.wav",
        "/m/lib/c.wav",
        "/m/lib/d.wav",
    ]
    columns = row_columns(2)
    full = [
        {**row, "genre_1": row["genre"], "genre_2": "pop", "model_id": "m@1"}
        for row in table.to_dict("records")
    ]
    write_rows(tmp_path / "library.csv", columns, full)
    write_rows(
        tmp_path / "errors.csv",
        ERROR_COLUMNS,
        [{"path": "/m/lib/x|y.wav", "reason": "not audio", "detail": "not a song"}],
    )
    assert read_table(tmp_path / "library.csv")["probability"].dtype == float
    listing = {"library": "/m/lib", "files": 5, "shards": 3, "shard_files": 2, "skipped": {}}
    out = {name: tmp_path / f"summary.{name}" for name in ("md", "png", "html")}
    write_summary(
        tmp_path / "library.csv",
        tmp_path / "errors.csv",
        listing,
        markdown=out["md"],
        figure=out["png"],
        page=out["html"],
        name="lib",
        model_dir="results/final/demo/cnn_seed001",
        n_least=2,
    )
    markdown = out["md"].read_text()
    assert "**4 classified**, 1 could not be (1 not audio)" in markdown
    assert "| rock    | 3       | 75.0%   |" in markdown
    least = markdown.split("## The 2 least confident files")[1].split("##")[0]
    assert least.index("b.wav") < least.index("c.wav") and "d.wav" not in least
    assert "x\\|y.wav" in markdown and "![lib](summary.png)" in markdown
    assert out["png"].read_bytes()[:4] == b"\x89PNG"
    page = out["html"].read_text()
    assert "data:image/png;base64," in page and "<b>4 classified</b>" in page


# ---- the classify block (genreflow.plan.library) ----------------------------------


@pytest.fixture
def in_project(monkeypatch):
    # relative paths of the config are Snakemake's working directory's
    monkeypatch.chdir(PROJECT_ROOT)


def with_classify(**block) -> dict:
    config = copy.deepcopy(DEFAULT_CONFIG)
    config["classify"].update(block)
    return config


def test_classify_is_off_until_a_library_is_given(in_project):
    assert resolve_plan(with_classify(), SCHEMA).classify is None


def test_the_first_final_model_is_the_default_and_is_built_by_the_run(in_project, tmp_path):
    library = tmp_path / "My Music (2024)"
    library.mkdir()
    plan = resolve_plan(with_classify(library=str(library)), SCHEMA).classify
    assert plan.model_dir == "results/final/demo/cnn_seed001" and plan.built
    assert plan.artifact == "results/final/demo/cnn_seed001/model.pt"
    assert plan.name == "My_Music_2024" and plan.library == str(library)
    assert plan.shard_files == 500 and plan.top_k == 3 and plan.threads == 1
    given = resolve_plan(
        with_classify(library=str(library), model="./results/final/demo/logreg/"), SCHEMA
    ).classify
    assert given.artifact == "results/final/demo/logreg/model.joblib" and given.built


def test_an_existing_model_folder_and_text_from_the_command_line(in_project, tmp_path):
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.joblib").write_bytes(b"")
    # what --config classify='{...}' gives: every nested value as text
    block = {"library": str(tmp_path), "model": str(tmp_path / "model"), "name": "null"}
    block |= {"shard_files": "2", "whole": "true", "least_confident": "0"}
    plan = resolve_plan(with_classify(**block), SCHEMA).classify
    assert not plan.built and plan.artifact == f"{tmp_path}/model/model.joblib"
    assert plan.shard_files == 2 and plan.whole is True and plan.least_confident == 0


def test_classify_mistakes_are_named_by_their_key(in_project, tmp_path):
    with pytest.raises(ConfigProblems) as info:
        resolve_plan(with_classify(library=str(tmp_path / "nowhere"), model=str(tmp_path)), SCHEMA)
    finals = ", ".join(f"results/final/demo/{m}" for m in DEFAULT_CONFIG["final"]["models"])
    assert info.value.problems == [
        (
            f"classify.library: {tmp_path / 'nowhere'} does not exist; give the folder "
            "that holds your music"
        ),
        (
            f"classify.model: {tmp_path} holds neither model.pt nor model.joblib; give a "
            f"trained model's folder, or one of this run's final models ({finals})"
        ),
    ]
    with pytest.raises(ConfigProblems, match="classify.shard_files: 0 is less than"):
        resolve_plan(with_classify(library=str(tmp_path), shard_files=0), SCHEMA)


def test_a_library_without_songs_gives_empty_tables_and_a_summary(tmp_path):
    (tmp_path / "Music").mkdir()
    shards, counts = listing_of(tmp_path / "Music", tmp_path, 2)
    assert shards == [] and counts["files"] == 0
    merge_tables([], tmp_path / "library.csv", row_columns(3))
    merge_tables([tmp_path / "walk.errors.csv"], tmp_path / "errors.csv", ERROR_COLUMNS)
    out = {name: tmp_path / f"summary.{name}" for name in ("md", "png", "html")}
    write_summary(
        tmp_path / "library.csv",
        tmp_path / "errors.csv",
        counts,
        markdown=out["md"],
        figure=out["png"],
        page=out["html"],
        name="Music",
        model_dir="results/final/demo/cnn_seed001",
        n_least=5,
    )
    assert "**0 classified**, 0 could not be." in out["md"].read_text()
    assert out["png"].is_file() and out["html"].is_file()
