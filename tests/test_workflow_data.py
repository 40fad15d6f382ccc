"""Integration: the data stage of the workflow, run by Snakemake in a scratch project."""

from __future__ import annotations

import functools
import http.server
import threading

import pandas as pd
import pytest
import yaml

from genreflow.checksums import file_digest

from conftest import FIXTURES, au_as_canonical_wav, write_tar
from workflow_runner import copy_project, snakemake, write_config

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
    assert (manifest.drop(columns="artist") != "").all().all()
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


# --- a GTZAN-like copy served over HTTP: WAV layout with the real broken jazz.00054 ---


def gtzan_like_archive(path):
    """A miniature of the GTZAN WAV copy built from the real fixtures."""
    jazz = au_as_canonical_wav("jazz.00054")
    members = {
        "genres_original/blues/blues.00050.wav": au_as_canonical_wav("blues.00050"),
        "genres_original/jazz/jazz.00054.wav": b"\0" * 44 + jazz[44:],  # no RIFF header
        "genres_original/country/country.00048.wav": (
            FIXTURES / "country.00048.16k.wav"
        ).read_bytes(),
    }
    return write_tar(path, members)


@pytest.fixture
def http_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def gtzan_config(project, url, checksum, repair_sources):
    (project / "resources/subset.txt").write_text("blues.00050\njazz.00054\ncountry.00048\n")
    return write_config(
        project,
        {
            "dataset": {
                "name": "gtzan",
                "source": url,
                "checksum": checksum,
                "archive_name": "genres_wav.tar.gz",
                "registry": "resources/gtzan/tracks.csv",
                "subset": "resources/subset.txt",
                "repair_sources": repair_sources,
                "format": {"clip_seconds": 30, "duration_tolerance_s": 1.0},
            }
        },
    )


def test_gtzan_over_http_repairs_jazz_00054_byte_for_byte(tmp_path, http_server):
    www, base = http_server
    archive = gtzan_like_archive(www / "genres_wav.tar.gz")
    originals = tmp_path / "originals"
    originals.mkdir()
    (originals / "jazz.00054.au").write_bytes((FIXTURES / "jazz.00054.au").read_bytes())
    project = copy_project(tmp_path / "project")
    config = gtzan_config(
        project, f"{base}/genres_wav.tar.gz", "md5:" + file_digest(archive), [str(originals)]
    )
    snakemake(project, "results/data/gtzan/manifest.csv", "--configfile", str(config))
    manifest = pd.read_csv(
        project / "results/data/gtzan/manifest.csv", dtype=str, keep_default_na=False
    )
    rows = manifest.set_index("track_id")
    assert rows.loc["blues.00050", "status"] == "ok"
    assert rows.loc["jazz.00054", "status"] == "repaired"
    assert rows.loc["jazz.00054", "md5"] == "8f0ab76fff2d2c6bc80eb9c9362318ca"
    assert (
        file_digest(project / rows.loc["jazz.00054", "path"]) == "8f0ab76fff2d2c6bc80eb9c9362318ca"
    )
    assert rows.loc["country.00048", "status"] == "quarantined"  # resampled copy, no original
    assert rows.loc["blues.00050", "artist"] == "Magic Slim & The Teardrops"


def test_wrong_archive_checksum_fails_cleanly(tmp_path, http_server):
    www, base = http_server
    gtzan_like_archive(www / "genres_wav.tar.gz")
    project = copy_project(tmp_path / "project")
    config = gtzan_config(project, f"{base}/genres_wav.tar.gz", "md5:" + "0" * 32, [])
    target = "results/data/gtzan/manifest.csv"
    result = snakemake(project, target, "--configfile", str(config), check=False)
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert not (project / "resources/downloads/gtzan/genres_wav.tar.gz").exists()
    assert not list((project / "resources/downloads/gtzan").glob("*.part"))


def test_missing_local_archive_is_a_config_error(tmp_path):
    project = copy_project(tmp_path / "project")
    config = gtzan_config(project, str(tmp_path / "nowhere.tar.gz"), None, [])
    result = snakemake(project, "--configfile", str(config), "-n", check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Invalid configuration: dataset.source" in output and "nowhere.tar.gz" in output


@pytest.mark.parametrize("preset", ["gtzan.yaml", "gtzan_mini.yaml", "fma_small.yaml"])
def test_real_presets_show_the_full_dag(tmp_path, preset):
    project = copy_project(tmp_path / "project")
    result = snakemake(project, "-n", "--configfile", f"config/{preset}")
    out = result.stdout
    preset_config = yaml.safe_load((project / "config" / preset).read_text())
    dataset, schemes = preset_config["dataset"]["name"], preset_config["folds"]["schemes"]
    for rule in ("download", "extract", "validate", "repair", "manifest"):
        assert f"rule {rule}:" in out, out
    assert "publish_demo" not in out
    for rule in (
        "extract_features",
        "consolidate_features",
        "assign_folds",
        "train_torch",
        "evaluate_torch",
        "aggregate_report",
        "train_final_torch",
        "model_card",
        "explain",
    ):
        assert f"rule {rule}:" in out, out
    # the demo trains a few final models; a real dataset trains every enabled model
    assert "18 models (18 final)" in result.stderr
    # the embedding stage and both probes, on every fold scheme and as final models
    assert "rule extract_embeddings:" in out
    assert f"results/features/{dataset}/consolidated/musicnn@clip.npy" in out
    for scheme in schemes:
        for probe, artifact in (("musicnn_svm", "model.joblib"), ("musicnn_mlp", "model.pt")):
            assert f"results/models/{dataset}/{scheme}/{probe}/seed0/fold0/{artifact}" in out
            assert f"results/eval/{dataset}/{scheme}/{probe}/seed0/fold0/metrics.json" in out
    assert f"results/final/{dataset}/musicnn_svm/card.md" in out
    if preset == "fma_small.yaml":
        assert "rule download_metadata:" in out and "rule registry_from_metadata:" in out
        assert "dataset fma_small, 8 genres (Electronic, Experimental" in result.stderr
        assert "results/folds/fma_small/official.csv" in out
        assert "8000 tracks" in result.stderr


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"models": {"polka_net": {"enabled": True}}}, "models.polka_net: unknown model"),
        ({"models": {"cnn_seed001": {"inputs": ["logmel@s9"]}}}, "models.cnn_seed001.inputs"),
        (
            {"models": {"cnn_seed001": {"train": {"lrr": 1.0}}}},
            "models.cnn_seed001.train.lrr: unknown key; did you mean 'lr'?",
        ),
        (
            {"models": {"cnn_seed001": {"arch": {"n_filterz": 3}}}},
            "models.cnn_seed001.arch.n_filterz: unknown key; did you mean 'filters'?",
        ),
        ({"final": {"models": ["svm", "polka_net"]}}, "final.models: polka_net is not one of"),
        (
            {"explain": {"schemes": ["holdout"]}},
            "explain.schemes: holdout is not one of stratified_kfold",
        ),
    ],
)
def test_config_errors_stop_before_any_job(tmp_path, change, expected):
    project = copy_project(tmp_path / "project")
    config = write_config(project, change)
    result = snakemake(project, "-n", "--configfile", str(config), check=False)
    assert result.returncode != 0
    assert expected in result.stdout + result.stderr
