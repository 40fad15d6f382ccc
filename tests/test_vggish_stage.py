"""VGGish in the workflow: weights fetched by the download machinery (offline, file://),
verified by a torch.hub-style SHA-256 prefix, the embedding stage, the config block."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from genreflow.checksums import file_digest
from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings import weights as weights_module
from genreflow.embeddings.vggish import pca_state_contract, vggish_state_contract
from genreflow.embeddings.weights import set_weight_files, weight_file
from genreflow.errors import ChecksumError, ConfigError
from genreflow.features.compute import FeatureSpec
from genreflow.features.embedding_shards import extract_embedding_shard
from genreflow.features.settings import FeatureSettings
from genreflow.plan import ConfigProblems, resolve_plan

from conftest import FIXTURES, PROJECT_ROOT
from workflow_runner import copy_project, snakemake


def _hub_named(path, stem):
    """Rename ``path`` to ``<stem>-<first 8 hex digits of its SHA-256>.pth``, as torch.hub
    names published files; return the new path and the prefix."""
    prefix = file_digest(path, "sha256")[:8]
    named = path.with_name(f"{stem}-{prefix}.pth")
    path.rename(named)
    return named, prefix


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A 'release' of the real shape contract (random values), as files to fetch."""
    folder = tmp_path_factory.mktemp("release")
    generator = torch.Generator().manual_seed(0)
    state = {
        key: torch.randn(shape, generator=generator) * (2.0 / np.prod(shape[1:] or (1,))) ** 0.5
        for key, shape in vggish_state_contract().items()
    }
    torch.save(state, folder / "weights.pth")
    del state
    rng = np.random.default_rng(0)
    pca = {name: rng.standard_normal(shape) for name, shape in pca_state_contract().items()}
    torch.save(pca, folder / "pca.pth")
    weights, weights_prefix = _hub_named(folder / "weights.pth", "vggish")
    pca_path, pca_prefix = _hub_named(folder / "pca.pth", "vggish_pca_params")
    yield {
        "weights": {"source": weights.as_uri(), "checksum": f"sha256:{weights_prefix}"},
        "pca": {"source": pca_path.as_uri(), "checksum": f"sha256:{pca_prefix}"},
        "weights_path": weights,
    }
    weights.unlink()  # 290 MB: pytest keeps the last runs' temporary folders


def test_weights_are_fetched_from_file_urls_and_verified_by_their_prefix(published, tmp_path):
    weight = weight_file("features.sets.vggish.weights", published["weights"])
    cached = weight.fetch(tmp_path / "cache")
    assert cached == tmp_path / "cache" / published["weights_path"].name
    assert file_digest(cached, "sha256").startswith(published["weights"]["checksum"][7:])
    assert published["weights_path"].exists()  # the source is never moved or modified
    assert weight.fetch(tmp_path / "cache") == cached  # a verified copy is reused


def test_a_wrong_prefix_names_the_key_and_keeps_nothing(published, tmp_path):
    block = {**published["weights"], "checksum": "sha256:00000000"}
    weight = weight_file("features.sets.vggish.weights", block)
    with pytest.raises(ChecksumError, match=r"features\.sets\.vggish\.weights\.checksum"):
        weight.fetch(tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*"))


@pytest.mark.parametrize(
    "block, named",
    [
        ({"source": "x.pth", "checksum": "sha256:1234"}, "8\\+ digits"),  # too short
        ({"source": "x.pth", "checksum": "md5:10086976"}, "32 hex digits"),  # md5: whole
        ({"checksum": "sha256:10086976"}, "expected \\{source"),
    ],
)
def test_malformed_weight_blocks_are_config_errors(block, named):
    with pytest.raises(ConfigError, match=named):
        weight_file("features.sets.vggish.weights", block)


def test_only_kinds_that_download_have_weight_files(published):
    sets = {
        "musicnn": {"kind": "musicnn", "model": "MSD_musicnn", "layer": "max_pool"},
        "vggish": {"kind": "vggish", "weights": published["weights"], "pca": None},
    }
    files = set_weight_files(sets, {"vggish": ("weights", "pca")})
    assert list(files) == ["vggish"] and list(files["vggish"]) == ["weights"]
    assert files["vggish"]["weights"].key == "features.sets.vggish.weights"


def _settings(spec):
    return FeatureSettings(
        sample_rate=22050,
        n_fft=2048,
        hop_length=512,
        clip_seconds=30.0,
        clip_policy="pad_or_trim",
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=(spec,),
    )


def test_the_embedding_stage_runs_vggish_on_the_fetched_files(published, tmp_path, monkeypatch):
    spec = FeatureSpec(
        "vggish",
        "vggish",
        {"weights": published["weights"], "pca": published["pca"], "postprocess": True},
    )
    tracks = pd.DataFrame(
        [("blues.00050", "blues.00050", "blues", str(FIXTURES / "blues.00050.au"))],
        columns=["track_id", "source_track_id", "genre", "path"],
    )
    # without the workflow's fetched files the kind fetches into the project's cache:
    # point that at a temporary folder
    monkeypatch.setattr(weights_module, "PROJECT_WEIGHTS_CACHE", tmp_path / "cache")
    table = extract_embedding_shard(tracks, _settings(spec), "vggish", tmp_path / "features")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        re.sub(r".*/", "", published[k]["source"]) for k in ("weights", "pca")
    )
    row = table.iloc[0]
    assert row["embedding_sr"] == 16000 and row["original_sr"] == 22050
    matrix = np.load(row["vggish"])
    # 30 s at 16 kHz: 31 whole 0.96 s examples, 128 values each, quantised to 0..255
    assert matrix.shape == (128, 31) == (128, row["n_frames"]) and matrix.dtype == np.float32
    assert matrix.min() >= 0 and matrix.max() <= 255 and np.all(matrix == np.round(matrix))
    assert len(np.unique(matrix)) > 20  # not a constant: the random network is alive
    # the workflow hands the job its fetched files: same embedding
    files = {
        k: str(tmp_path / "cache" / re.sub(r".*/", "", published[k]["source"]))
        for k in ("weights", "pca")
    }
    extractor = EMBEDDING_KINDS["vggish"].build(spec.params, files=files)
    import librosa

    y, _ = librosa.load(FIXTURES / "blues.00050.au", sr=16000, res_type="soxr_hq")
    np.testing.assert_array_equal(extractor(y[: 30 * 16000], 16000), matrix)


def _gtzan_with_the_vggish_block(project):
    """config/gtzan.yaml with its documented VGGish block uncommented, as a user does."""
    text = (project / "config/gtzan.yaml").read_text()
    start = text.index("# --- VGGish")
    end = text.index("# --- end of the VGGish block")
    lines = text[start:end].splitlines()
    config_lines = [line[2:] for line in lines if re.match(r"# (features|models):|#   ", line)]
    enabled = text[:start] + "\n".join(config_lines) + "\n" + text[end:]
    path = project / "config/gtzan_vggish.yaml"
    path.write_text(enabled)
    return path, yaml.safe_load(enabled)


def test_the_gtzan_vggish_block_plans_its_jobs(tmp_path):
    project = copy_project(tmp_path / "project")
    path, block = _gtzan_with_the_vggish_block(project)
    assert block["features"]["sets"]["vggish"]["weights"]["checksum"] == "sha256:10086976"
    result = snakemake(project, "-n", "--configfile", str(path.relative_to(project)))
    out = result.stdout
    for name in ("vggish-10086976.pth", "vggish_pca_params-970ea276.pth"):
        assert f"resources/downloads/weights/{name}" in out
    assert out.count("rule fetch_weights:") == 2
    assert "results/features/gtzan/shards/vggish/shard000.csv" in out
    assert "results/features/gtzan/consolidated/vggish@s3.npy" in out
    assert "results/features/gtzan/consolidated/vggish@clip.npy" in out
    # the models that use it: report 004's hybrid (pretrained branch) and forest
    for scheme in ("stratified_kfold", "fault_filtered"):
        assert f"results/models/gtzan/{scheme}/hybrid_seed004/seed0/fold0/model.pt" in out
        assert (
            f"results/models/gtzan/{scheme}/embedding_forest_seed004/seed0/fold0/model.joblib"
            in out
        )


def _merged(*names):
    config = yaml.safe_load((PROJECT_ROOT / "config/config.yaml").read_text())
    for name in names:
        _deep_update(config, yaml.safe_load((PROJECT_ROOT / "config" / name).read_text()))
    return config


def _deep_update(base, update):
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value


def test_vggish_config_mistakes_are_named_before_any_job(tmp_path):
    project = copy_project(tmp_path / "project")
    _, block = _gtzan_with_the_vggish_block(project)
    config = _merged("gtzan.yaml")
    _deep_update(config, {"features": block["features"], "models": block["models"]})
    plan = resolve_plan(config, PROJECT_ROOT / "workflow/schemas/config.schema.yaml")
    assert plan.models["hybrid_seed004"].inputs[-1] == "vggish@s3"
    assert plan.weights["vggish"]["weights"].file_name == "vggish-10086976.pth"
    vggish = config["features"]["sets"]["vggish"]
    vggish["pca"] = None  # postprocessing without its PCA file
    vggish["weights"]["checksum"] = "sha256:1008"  # too short a prefix
    with pytest.raises(ConfigProblems) as problems:
        resolve_plan(config, PROJECT_ROOT / "workflow/schemas/config.schema.yaml")
    text = str(problems.value)
    assert "features.sets.vggish.postprocess" in text
    assert "features.sets.vggish.weights.checksum" in text
