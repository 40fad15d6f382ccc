"""The muq kind: genreflow's MuQ network against the original package, strict loading,
the folder checks, and the embedding stage with a small random checkpoint."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.checkpoints import folder_problem, known_checkpoint, sha256
from genreflow.embeddings.muq import batch_limit, load_muq
from genreflow.errors import ConfigError, DataError
from genreflow.features.compute import FeatureSpec
from genreflow.features.embedding_shards import extract_embedding_shard
from genreflow.features.settings import FeatureSettings
from genreflow.plan import ConfigProblems, resolve_plan
from genreflow.training.provenance import input_embeddings

from conftest import FIXTURES, PROJECT_ROOT

REFERENCES = PROJECT_ROOT / "tests" / "fixtures" / "muq"
SCHEMA = PROJECT_ROOT / "workflow" / "schemas" / "config.schema.yaml"
CLIP = FIXTURES / "blues.00050.au"  # 30 s at 22.05 kHz
# measured against muq 0.1.0 under transformers 4.45.2: 0.0 (bit for bit) on the CPU that
# wrote the references, up to 4.2e-7 (3.4e-7 of the largest value) on an AVX-512 EPYC
TOLERANCE = 1e-5


def _states(folder: Path, waveform: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.stack(load_muq(folder)(torch.from_numpy(waveform))).numpy()


@pytest.mark.parametrize("positions", ["rotary", "relative"])
def test_the_network_gives_the_original_packages_hidden_states(positions):
    reference = np.load(REFERENCES / f"reference_{positions}.npz")
    states = _states(REFERENCES / f"tiny_{positions}", reference["waveform"])
    expected = reference["hidden_states"]
    assert states.shape == expected.shape == (3, 2, 40, 32)  # conv output + 2 layers
    assert np.abs(states - expected).max() <= TOLERANCE * np.abs(expected).max()


def _copy(tmp_path: Path, name: str = "muq") -> Path:
    return Path(shutil.copytree(REFERENCES / "tiny_rotary", tmp_path / name))


def test_loading_is_strict_but_takes_old_weight_norm_keys(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = _copy(tmp_path)
    weights = folder / "model.safetensors"
    state = load_file(weights)
    reference = np.load(REFERENCES / "reference_rotary.npz")
    # weight_g / weight_v, as checkpoints saved before torch's parametrizations have it,
    # in a pickle (pytorch_model.bin) instead of safetensors
    prefix = "model.conformer.pos_conv_embed.conv."
    renamed = dict(state)
    renamed[prefix + "weight_g"] = renamed.pop(prefix + "parametrizations.weight.original0")
    renamed[prefix + "weight_v"] = renamed.pop(prefix + "parametrizations.weight.original1")
    weights.unlink()
    torch.save(renamed, folder / "pytorch_model.bin")
    expected = reference["hidden_states"]  # within the tolerance: the exact bits vary by CPU
    states = _states(folder, reference["waveform"])
    assert np.abs(states - expected).max() <= TOLERANCE * np.abs(expected).max()
    (folder / "pytorch_model.bin").unlink()
    broken = dict(state)
    del broken["model.conformer.layers.1.ffn2.output_dense.bias"]
    broken["model.decoder.weight"] = torch.zeros(3)
    broken["model.conv.linear.weight"] = torch.zeros(32, 9)
    save_file(broken, weights)
    with pytest.raises(DataError) as error:
        load_muq(folder)
    message = str(error.value)
    assert message.startswith(str(weights))
    assert "missing keys ['conformer.layers.1.ffn2.output_dense.bias']" in message
    assert "unexpected keys ['model.decoder.weight']" in message
    assert "keys of another shape ['conv.linear.weight']" in message


def test_folder_problems_and_the_plan(tmp_path, monkeypatch):
    key = "features.sets.muq.weights"
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = folder_problem(key, str(empty), "muq")
    assert missing.startswith(f"{key}: {empty} lacks config.json, model.safetensors or ")
    assert "preprocessor_config.json" not in missing
    assert f"genreflow weights fetch MuQ-large-msd-iter --to {empty}" in missing
    assert "\n" not in missing
    clap_like = tmp_path / "clap"
    clap_like.mkdir()
    (clap_like / "config.json").write_text('{"model_type": "clap"}')
    assert "holds a clap checkpoint" in folder_problem(key, str(clap_like), "muq")
    assert "holds a muq checkpoint" in folder_problem(key, str(REFERENCES / "tiny_rotary"), "mert")
    assert folder_problem(key, str(REFERENCES / "tiny_rotary"), "muq") is None
    assert known_checkpoint("OpenMuQ/MuQ-large-msd-iter").licence == "CC-BY-NC-4.0"

    monkeypatch.chdir(PROJECT_ROOT)
    base = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    config = copy.deepcopy(base)
    config["features"]["sets"]["muq"] = {"kind": "muq", "weights": str(empty)}
    with pytest.raises(ConfigProblems) as problems:
        resolve_plan(config, SCHEMA)
    assert [p for p in problems.value.problems if ".weights" in p] == [missing]
    config["features"]["sets"]["muq"] = {
        "kind": "muq",
        "weights": str(REFERENCES / "tiny_rotary"),
        "layer": -1,
        "memory_gb": 0.5,
    }
    assert "muq" in resolve_plan(config, SCHEMA).embedding_sets


def test_the_embedding_stage_and_the_training_record(tmp_path):
    folder = _copy(tmp_path)
    tracks = pd.DataFrame(
        [("blues.00050", "blues.00050", "blues", str(CLIP))],
        columns=["track_id", "source_track_id", "genre", "path"],
    )
    settings = FeatureSettings(
        sample_rate=22050,
        n_fft=2048,
        hop_length=512,
        clip_seconds=None,
        clip_policy="pad_or_trim",
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=(FeatureSpec("muq", "muq", {"weights": str(folder), "layer": "mean"}),),
    )
    table = extract_embedding_shard(tracks, settings, "muq", tmp_path / "out", batch_size=4)
    row = table.iloc[0]
    assert (row["embedding_sr"], row["n_frames"]) == (24000, 1)  # 30 s: one chunk
    matrix = np.load(row["muq"])
    assert matrix.shape == (32, 1) and np.isfinite(matrix).all()
    assert (
        f"model.safetensors=sha256:{sha256(folder / 'model.safetensors')}"
        in (row["weights_sha256"])
    )
    extractor = EMBEDDING_KINDS["muq"].build({"weights": str(folder), "layer": 0})
    assert (extractor.sample_rate, extractor.frame_seconds, extractor.dimensions) == (
        24000,
        30.0,
        32,
    )
    with pytest.raises(ConfigError, match="muq layer 3"):
        EMBEDDING_KINDS["muq"].build({"weights": str(folder), "layer": 3})
    record = input_embeddings(
        {"sets": {"muq": {"kind": "muq", "weights": str(folder)}}}, ["muq@clip"]
    )
    checkpoint = record["muq"]["checkpoint"]
    assert set(checkpoint["sha256"]) == {"config.json", "model.safetensors"}


def test_batches_are_bounded_by_memory():
    large = {"hop_length": 240, "conv_dim": 512}
    assert batch_limit(large, 4.0) == 5  # about 0.8 GB a 30 s chunk
    assert batch_limit(large, 0.1) == 1
    assert batch_limit({"hop_length": 240, "conv_dim": 8}, 4.0) > 64


def test_fetch_from_a_file_mirror_gives_a_working_folder(tmp_path, capsys):
    from genreflow.cli import main
    from genreflow.embeddings.checkpoints import provenance

    checkpoint = known_checkpoint("MuQ-large-msd-iter")
    published = REFERENCES / "tiny_rotary"
    hub = tmp_path / "mirror" / checkpoint.repo / "resolve" / "main"
    shutil.copytree(published, hub)
    dest = tmp_path / "weights" / "MuQ-large-msd-iter"
    assert main(["weights", "fetch", checkpoint.name, "--to", str(dest), "--mirror", str(tmp_path / "mirror")]) == 0  # fmt: skip
    assert "CC-BY-NC-4.0" in capsys.readouterr().out
    extractor = EMBEDDING_KINDS["muq"].build({"weights": str(dest)})
    assert extractor.licence == "CC-BY-NC-4.0"
    described = provenance(dest, "muq")
    assert described["source"] == "OpenMuQ/MuQ-large-msd-iter@main"
    assert described["sha256"]["model.safetensors"] == sha256(published / "model.safetensors")
