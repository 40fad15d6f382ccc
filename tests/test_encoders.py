"""The clap and mert kinds with tiny random models in the real checkpoints' file layout:
the extractors, strict loading, the plan's folder checks, provenance in the stage and
the card, and `genreflow weights fetch` against a local HTTP server and a file mirror.

The real checkpoints are hundreds of MB and come from the hub, which the tests never
reach: each folder here is built by transformers itself (``save_pretrained``) with the
files and key names the published snapshots have (CLAP: ClapModel's keys; MERT: HuBERT's
keys with the weight-norm parameters under their 2023 names ``weight_g``/``weight_v``,
``pytorch_model.bin``, and a config.json whose ``auto_map`` names the model code). The
model code is a minimal ``MERTModel`` (a HubertModel subclass with a config class that,
like MERT's of 2023, lacks ``conv_pos_batch_norm``), written here: MERT's own code is
not available offline.
"""

from __future__ import annotations

import copy
import functools
import http.server
import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from genreflow.cli import main
from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.checkpoints import (
    KNOWN_CHECKPOINTS,
    SUMS_FILE,
    folder_problem,
    provenance,
    sha256,
    weight_files,
)
from genreflow.errors import ConfigError, DataError
from genreflow.evaluation.card import checkpoint_line
from genreflow.features.compute import FeatureSpec
from genreflow.features.embedding_shards import extract_embedding_shard
from genreflow.features.settings import FeatureSettings
from genreflow.plan import ConfigProblems, resolve_plan
from genreflow.training.provenance import input_embeddings

from conftest import FIXTURES, PROJECT_ROOT
from tiny_checkpoints import clap_folder, mert_folder

transformers = pytest.importorskip("transformers")

SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
CLIP = FIXTURES / "blues.00050.au"  # 30 s at 22.05 kHz


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("checkpoints")
    return {"clap": clap_folder(root / "clap"), "mert": mert_folder(root / "mert")}


@pytest.fixture(scope="module")
def audio():
    import librosa

    y, sr = librosa.load(CLIP, sr=None, duration=11.0)
    return y, sr


def _build(kind: str, folder, batch_size: int = 64, **params):
    return EMBEDDING_KINDS[kind].build({"weights": str(folder), **params}, batch_size=batch_size)


# ---- the extractors ----


def test_clap_embeds_each_10_s_chunk(folders, audio):
    y, sr = audio
    clap = _build("clap", folders["clap"])
    assert (clap.sample_rate, clap.frame_seconds) == (48000, 10.0)
    examples = clap.frontend(y, sr)
    assert examples.shape == (1, 1, 1001, 64)  # 11 s: one whole chunk, the tail left out
    matrix = clap.forward(examples).T
    assert matrix.shape == (8, 1) and matrix.dtype == np.float32 and np.isfinite(matrix).all()
    assert np.linalg.norm(matrix[:, 0]) == pytest.approx(1.0, abs=1e-5)  # get_audio_features
    assert clap(y[: 3 * sr], sr).shape == (8, 1)  # shorter than a chunk: repeated to fill one
    for layer, rows in (("pooled", 16), (0, 8), (1, 16), (-1, 16)):
        out = _build("clap", folders["clap"], layer=layer).forward(examples)
        assert out.shape == (1, rows) and np.isfinite(out).all()
    with pytest.raises(ConfigError, match="clap layer 7"):
        _build("clap", folders["clap"], layer=7)


def test_mert_folder_code_and_hubert_give_the_same_embedding(folders, audio):
    y, sr = audio
    remote = _build("mert", folders["mert"])  # the folder's MERTModel (trust_remote_code)
    builtin = _build("mert", folders["mert"], code="hubert")  # transformers' HubertModel
    assert type(remote.network).__name__ == "MERTModel"
    # the folder's code was copied into this process's own module folder, not ~/.cache
    import transformers.dynamic_module_utils as dynamic

    assert Path(dynamic.HF_MODULES_CACHE).name.startswith("genreflow-hf-modules-")
    assert type(builtin.network).__name__ == "HubertModel"
    assert (remote.sample_rate, remote.frame_seconds) == (24000, 5.0)
    examples = remote.frontend(y, sr)
    assert examples.shape == (2, 120000)  # 11 s: two 5 s chunks
    assert abs(examples.mean()) < 1e-4 and examples.std() == pytest.approx(1.0, abs=1e-3)
    matrix = remote(y, sr)
    assert matrix.shape == (16, 2) and np.isfinite(matrix).all()
    np.testing.assert_allclose(builtin(y, sr), matrix, rtol=1e-5, atol=1e-6)
    last = _build("mert", folders["mert"], layer=-1, batch_size=1).forward(examples)
    assert last.shape == (2, 16) and not np.allclose(last, matrix.T)
    with pytest.raises(ConfigError, match="mert layer 3"):
        _build("mert", folders["mert"], layer=3)


# ---- strict loading ----


def _copy(folder: Path, dest: Path) -> Path:
    shutil.copytree(folder, dest)
    return dest


def test_wrong_key_names_are_refused_naming_the_file(folders, tmp_path):
    from safetensors.torch import load_file, save_file

    clap = _copy(folders["clap"], tmp_path / "clap")
    state = load_file(clap / "model.safetensors")
    key = "audio_projection.linear1.weight"
    state["audio_projection.first.weight"] = state.pop(key)
    save_file(state, clap / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(DataError) as error:
        _build("clap", clap)
    message = str(error.value)
    assert str(clap / "model.safetensors") in message
    assert key in message and "audio_projection.first.weight" in message
    # the text tower is dropped after loading: a difference there is logged only
    state["audio_projection.linear1.weight"] = state.pop("audio_projection.first.weight")
    state["text_projection.first.weight"] = state.pop("text_projection.linear1.weight")
    save_file(state, clap / "model.safetensors", metadata={"format": "pt"})
    assert _build("clap", clap).dimensions == 8

    mert = _copy(folders["mert"], tmp_path / "mert")
    state = torch.load(mert / "pytorch_model.bin", weights_only=True)
    del state["encoder.layers.1.final_layer_norm.weight"]
    torch.save(state, mert / "pytorch_model.bin")
    for code in ("folder", "hubert"):
        with pytest.raises(DataError, match=r"pytorch_model\.bin: missing keys .*final_layer_norm"):
            _build("mert", mert, code=code)


def test_missing_files_and_changed_files_are_refused(folders, tmp_path):
    clap = _copy(folders["clap"], tmp_path / "clap")
    (clap / "preprocessor_config.json").unlink()
    with pytest.raises(ConfigError) as error:
        _build("clap", clap)
    assert "\n" not in str(error.value)
    assert "lacks preprocessor_config.json" in str(error.value)
    assert "genreflow weights fetch larger_clap_music" in str(error.value)
    mert = _copy(folders["mert"], tmp_path / "mert")
    (mert / "modeling_MERT.py").unlink()
    with pytest.raises(ConfigError, match="lacks modeling_MERT.py"):
        _build("mert", mert)
    _build("mert", mert, code="hubert")  # needs no code from the folder
    # a file that changed since SHA256SUMS recorded it
    (mert / SUMS_FILE).write_text(f"{'0' * 64}  pytorch_model.bin\n")
    with pytest.raises(DataError, match="is not the 0000.* that .*SHA256SUMS records"):
        _build("mert", mert, code="hubert")


def test_folder_problems_are_one_line_naming_the_key(folders, tmp_path):
    key = "features.sets.mert.weights"
    hub_id = folder_problem(key, "m-a-p/MERT-v1-95M", "mert")
    assert hub_id.startswith(f"{key}: m-a-p/MERT-v1-95M does not exist (a hub repository id")
    assert "genreflow weights fetch MERT-v1-95M --to m-a-p/MERT-v1-95M" in hub_id
    wrong = folder_problem(key, str(folders["clap"]), "mert", "hubert")
    assert "holds a clap checkpoint" in wrong
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = folder_problem(key, str(empty), "mert")
    assert (
        "lacks config.json, model.safetensors or pytorch_model.bin, preprocessor_config.json"
        in (missing)
    )
    assert "configuration_MERT.py, modeling_MERT.py" in missing
    assert folder_problem(key, None, "mert").startswith(f"{key}: None is not a folder path")
    assert all("\n" not in p for p in (hub_id, wrong, missing))


def test_the_plan_names_a_bad_weights_folder_before_any_job(folders, tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    base = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    config = copy.deepcopy(base)
    config["features"]["sets"]["clap"] = {"kind": "clap", "weights": str(tmp_path / "nowhere")}
    config["features"]["sets"]["mert_95m"] = {"kind": "mert", "weights": str(folders["clap"])}
    with pytest.raises(ConfigProblems) as problems:
        resolve_plan(config, SCHEMA)
    lines = [p for p in problems.value.problems if ".weights" in p]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("features.sets.clap.weights: ") and "does not exist" in lines[0]
    assert f"genreflow weights fetch larger_clap_music --to {tmp_path / 'nowhere'}" in lines[0]
    assert lines[1].startswith("features.sets.mert_95m.weights: ") and "clap checkpoint" in lines[1]
    # the schema: a layer neither named nor an index
    config = copy.deepcopy(base)
    config["features"]["sets"]["clap"] = {"kind": "clap", "weights": str(folders["clap"])}
    plan = resolve_plan(config, SCHEMA)
    assert "clap" in plan.embedding_sets
    config["features"]["sets"]["clap"]["layer"] = "last"
    with pytest.raises(ConfigProblems, match=r"features\.sets\.clap\.layer"):
        resolve_plan(config, SCHEMA)


# ---- the embedding stage, provenance, the card ----


def _settings(*specs):
    return FeatureSettings(
        sample_rate=22050,
        n_fft=2048,
        hop_length=512,
        clip_seconds=10.0,
        clip_policy="pad_or_trim",
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=specs,
    )


def test_the_embedding_stage_records_every_files_sha256(folders, tmp_path):
    tracks = pd.DataFrame(
        [("blues.00050", "blues.00050", "blues", str(CLIP))],
        columns=["track_id", "source_track_id", "genre", "path"],
    )
    spec = FeatureSpec("mert_95m", "mert", {"weights": str(folders["mert"]), "code": "hubert"})
    table = extract_embedding_shard(tracks, _settings(spec), "mert_95m", tmp_path, batch_size=1)
    row = table.iloc[0]
    assert (row["embedding_sr"], row["original_sr"], row["n_frames"]) == (24000, 22050, 2)
    assert np.load(row["mert_95m"]).shape == (16, 2)
    digest = sha256(folders["mert"] / "pytorch_model.bin")
    assert f"pytorch_model.bin=sha256:{digest}" in row["weights_sha256"]
    assert "modeling_MERT.py" not in row["weights_sha256"]  # code: hubert runs none of it
    # the training job's record and the card
    features = {"sets": {"clap": {"kind": "clap", "weights": str(folders["clap"])}}}
    record = input_embeddings(features, ["clap@clip"])["clap"]["checkpoint"]
    assert record["sha256"]["model.safetensors"] == sha256(folders["clap"] / "model.safetensors")
    assert set(record["sha256"]) == {"config.json", "preprocessor_config.json", "model.safetensors"}
    assert record["licence"].startswith("unknown")  # not fetched, no licence given
    features["sets"]["clap"]["licence"] = "Apache-2.0"
    record = input_embeddings(features, ["clap@clip"])["clap"]["checkpoint"]
    line = checkpoint_line("clap", record)
    assert (
        "licence **Apache-2.0**" in line and f"sha256 `{record['sha256']['config.json']}`" in line
    )


# ---- genreflow weights fetch ----


def _hub_layout(mirror: Path, repo: str, folder: Path, files) -> None:
    """``folder``'s files as the hub serves them: <repo>/resolve/main/<file>."""
    target = mirror / repo / "resolve" / "main"
    target.mkdir(parents=True)
    for name in files:
        shutil.copy(folder / name, target / name)


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving tmp_path/mirror; yields (base URL, requests)."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    requested = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requested.append(self.path)

    handler = functools.partial(Handler, directory=str(mirror))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", mirror, requested
    httpd.shutdown()
    httpd.server_close()


def test_fetch_from_a_local_server_records_sha256_and_licence(tmp_path, server, capsys):
    base, mirror, requested = server
    clap = clap_folder(tmp_path / "published", safetensors=False)  # the hub has the .bin
    checkpoint = KNOWN_CHECKPOINTS["larger_clap_music"]
    published = ["config.json", "preprocessor_config.json", "pytorch_model.bin"]
    _hub_layout(mirror, checkpoint.repo, clap, published)
    dest = tmp_path / "weights" / "larger_clap_music"
    assert main(["weights", "fetch", "larger_clap_music", "--to", str(dest), "--mirror", base]) == 0
    # the weights: model.safetensors first, which this mirror does not have, then the .bin
    assert "/laion/larger_clap_music/resolve/main/model.safetensors" in requested[-2]
    assert sorted(p.name for p in dest.iterdir()) == sorted(
        [*published, SUMS_FILE, "genreflow-weights.json"]
    )
    sums = (dest / SUMS_FILE).read_text()
    for name in published:
        assert f"{sha256(clap / name)}  {name}" in sums
    record = json.loads((dest / "genreflow-weights.json").read_text())
    assert record["licence"] == "Apache-2.0" and record["repo"] == "laion/larger_clap_music"
    assert record["files"]["pytorch_model.bin"]["url"] == (
        f"{base}/laion/larger_clap_music/resolve/main/pytorch_model.bin"
    )
    assert "Apache-2.0" in capsys.readouterr().out
    # the folder works as a clap set, and its provenance names the source and licence
    extractor = _build("clap", dest)
    assert extractor.licence == "Apache-2.0"
    assert set(extractor.weight_digests) == set(published)
    described = provenance(dest, "clap")
    assert described["source"] == "laion/larger_clap_music@main"
    assert described["checkpoint"] == "larger_clap_music"
    # a second fetch keeps the verified files: no request
    count = len(requested)
    assert main(["weights", "fetch", "larger_clap_music", "--to", str(dest), "--mirror", base]) == 0
    assert len(requested) == count


def test_fetch_from_a_file_mirror_and_its_errors(folders, tmp_path, capsys):
    checkpoint = KNOWN_CHECKPOINTS["MERT-v1-95M"]
    mirror = tmp_path / "mirror"
    published = ["config.json", "configuration_MERT.py", "modeling_MERT.py"]
    published += ["preprocessor_config.json", "pytorch_model.bin"]
    _hub_layout(mirror, checkpoint.repo, folders["mert"], published)
    dest = tmp_path / "MERT-v1-95M"
    assert (
        main(["weights", "fetch", "MERT-v1-95M", "--to", str(dest), "--mirror", str(mirror)]) == 0
    )
    assert weight_files(dest) == [dest / "pytorch_model.bin"]
    assert _build("mert", dest).licence == "CC-BY-NC-4.0"
    capsys.readouterr()
    assert main(["weights", "fetch", "MusicFM", "--to", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "known: larger_clap_music" in err
    assert main(["weights", "fetch", "MERT-v1-330M", "--to", str(tmp_path / "y"),
                 "--mirror", str(mirror)]) == 2  # fmt: skip
    assert "does not exist" in capsys.readouterr().err
