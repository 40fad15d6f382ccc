"""`snakemake classify`: a small library classified in shards of 2 files by an existing
model folder, merged into one table, one errors table and a one-page summary; and the
target's config mistakes, each one line before any job."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from test_predict import default_features, save_torch_model

from benchmarks.workflow import read_benchmarks
from genreflow.library.classify import Options, classify_library, model_id
from genreflow.library.table import ERROR_COLUMNS, row_columns

from workflow_runner import copy_project, snakemake

pytestmark = pytest.mark.integration

# walked in this order (sorted per folder): shards [Jazz/01, Rock/02], [Rock/03, Rock/04]
GOOD = ("Jazz/01 first.flac", "Rock/02.wav", "Rock/04 – ü.ogg")
BROKEN = "Rock/03 broken.wav"
LIBRARY = "results/library/demo/My_Music"


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("classify")
    project = copy_project(root / "project")
    features = default_features(excerpt={"policy": "middle", "count": 1, "tolerance_s": 1.0})
    features["excerpt"]["seconds"] = 10.0
    model = save_torch_model(root / "model", features)
    library = root / "My Music"
    for i, relpath in enumerate(GOOD):
        path = library / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        t = np.arange(4 * 22050) / 22050
        kind = {".ogg": "OGG", ".flac": "FLAC"}.get(path.suffix, "WAV")
        sf.write(path, (0.3 * np.sin(2 * np.pi * (150 + 80 * i) * t)), 22050, format=kind)
    (library / BROKEN).write_text("not a song\n")
    (library / "Rock" / "cover.jpg").write_bytes(b"\xff\xd8")
    # The kernels a training run compiles (rule compile_kernels, about a minute on 2
    # cores) stand here as an empty cache: each shard job compiles what it needs itself.
    kernels = project / "results" / "kernels" / "demo"
    (kernels / "numba_cache").mkdir(parents=True)
    (kernels / "host.json").write_text("{}\n")
    return project, model, library


def classify_config(library: Path, model: Path) -> str:
    """docs/classify.md's one-line override (Snakemake reads every nested value as text)."""
    return f"classify={{library: {library}, model: {model}, shard_files: 2, least_confident: 2}}"


def test_a_library_is_classified_in_shards_and_merged_with_a_summary(setup, tmp_path):
    project, model, library = setup
    snakemake(project, "classify", "--config", classify_config(library, model))
    out = project / LIBRARY
    listing = [json.loads(p.read_text()) for p in sorted((out / "listing").glob("*.json"))]
    assert listing == [
        [str(library / GOOD[0]), str(library / GOOD[1])],
        [str(library / BROKEN), str(library / GOOD[2])],
    ]
    assert sorted(p.name for p in (out / "parts").iterdir()) == [
        "00000.csv",
        "00000.errors.csv",
        "00001.csv",
        "00001.errors.csv",
    ]
    table = pd.read_csv(out / "library.csv")
    assert list(table.columns) == row_columns(3)
    assert table["path"].tolist() == [str(library / p) for p in GOOD]  # the listing's order
    assert table["model_id"].unique().tolist() == [model_id(model)]
    assert (table["genre"] == table["genre_1"]).all() and table["probability"].between(0, 1).all()
    # the rows `genreflow classify` writes for the same library and model
    alone = tmp_path / "alone.csv"
    classify_library(library, alone, Options(str(model)), progress=False)
    expected = pd.read_csv(alone)
    probabilities = [c for c in table.columns if c.startswith("probability")]
    others = [c for c in table.columns if c not in probabilities]
    assert table[others].equals(expected[others])
    assert np.allclose(table[probabilities], expected[probabilities], atol=2e-4)
    errors = pd.read_csv(out / "library.errors.csv")
    assert list(errors.columns) == list(ERROR_COLUMNS)
    assert errors[["path", "reason"]].values.tolist() == [[str(library / BROKEN), "not audio"]]
    summary = (out / "summary.md").read_text()
    assert "4 audio files in 2 jobs of up to 2" in summary
    assert "**3 classified**, 1 could not be (1 not audio); other files skipped: 1 .jpg" in summary
    assert "## The 2 least confident files" in summary and "Rock/03 broken.wav" in summary
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert "data:image/png;base64," in (out / "summary.html").read_text()
    # every job was one of the target's rules, each with its benchmark file
    jobs = read_benchmarks(project / "results" / "benchmarks" / "demo")
    assert sorted(jobs["rule"]) == [
        "classify_shard",
        "classify_shard",
        "list_library",
        "merge_library",
        "summarise_library",
    ]
    rerun = snakemake(project, "classify", "--config", classify_config(library, model))
    assert "Nothing to be done" in rerun.stdout + rerun.stderr


@pytest.mark.parametrize(
    "override, expected",
    [
        (None, "classify.library is null, so there is no library to classify"),
        ("classify={library: /no/such/music}", "classify.library: /no/such/music does not exist"),
    ],
)
def test_classify_mistakes_stop_before_any_job(setup, override, expected):
    project, _, _ = setup
    arguments = ["classify", "-n"] + (["--config", override] if override else [])
    result = snakemake(project, *arguments, check=False)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
