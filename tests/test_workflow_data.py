"""Integration: the data stage of the tiny workflow run (download, validation, repair,
manifest), and a second run with nothing to do."""

from __future__ import annotations

import pandas as pd
import pytest

from genreflow.checksums import file_digest

from workflow_runner import snakemake

pytestmark = pytest.mark.integration


@pytest.fixture
def demo_run(tiny_demo):
    return tiny_demo


def test_demo_manifest_lists_every_track_and_repairs_jazz_00054(demo_run):
    project, _, _ = demo_run
    manifest = pd.read_csv(
        project / "results/data/demo/manifest.csv", dtype=str, keep_default_na=False
    )
    assert len(manifest) == 40 and manifest.genre.nunique() == 10
    jazz = manifest.set_index("track_id").loc["jazz.00054"]
    assert jazz.status == "repaired"
    assert jazz.path == "results/data/demo/repaired/jazz/jazz.00054.wav"
    assert (manifest.drop(columns=["artist", "reason"]) != "").all().all()
    assert manifest.set_index("track_id").loc["jazz.00054", "reason"].startswith("undecodable")
    assert set(manifest.status) == {"ok", "repaired"}
    registry = pd.read_csv(project / "results/data/demo/release/tracks.csv", dtype=str)
    assert dict(zip(manifest.track_id, manifest.md5)) == dict(
        zip(registry.track_id, registry.wav_md5)
    )


def test_demo_validation_and_repair_tables(demo_run):
    project, _, _ = demo_run
    validation = pd.read_csv(project / "results/data/demo/validation.csv")
    assert validation.set_index("track_id").loc["jazz.00054", "status"] == "undecodable"
    assert (validation.status == "ok").sum() == 39
    repairs = pd.read_csv(project / "results/data/demo/repairs.csv")
    assert repairs.action.tolist() == [
        "re-derived from results/data/demo/release/originals/jazz.00054.au"
    ]


def test_demo_raw_download_is_untouched_and_verified(demo_run):
    project, _, _ = demo_run
    archive = project / "resources/downloads/demo/genreflow_demo.tar.gz"
    published = (project / "results/data/demo/release/genreflow_demo.tar.gz.sha256").read_text()
    assert published.strip() == "sha256:" + file_digest(archive, "sha256")
    raw = (
        project
        / "resources/downloads/demo/extracted/genreflow_demo/genres_original/jazz/jazz.00054.wav"
    )
    assert not raw.read_bytes().startswith(b"RIFF")  # still broken: repairs go elsewhere


def test_demo_logs_and_benchmarks_exist(demo_run):
    project, _, _ = demo_run
    for rule in ("download", "extract", "validate", "repair", "manifest"):
        assert (project / f"results/logs/demo/{rule}.log").stat().st_size > 0
        assert (project / f"results/benchmarks/demo/{rule}.tsv").is_file()


def test_rerun_has_nothing_to_do(demo_run):
    project, config, _ = demo_run
    result = snakemake(project, "--configfile", str(config), "-n")
    assert "Nothing to be done" in result.stdout + result.stderr
