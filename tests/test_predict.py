"""genreflow predict: any audio a user has, one clear line per bad file, exact saved settings."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import jsonschema
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import torch
import yaml

from genreflow.cli import main
from genreflow.errors import DataError
from genreflow.features.summary import SUMMARY_COLUMNS
from genreflow.inference import SongError, load_classifier, read_song
from genreflow.inference.output import JSON_SCHEMA
from genreflow.models import get_model
from genreflow.saved import SavedTorchModel
from genreflow.training.data import Normalizer

from conftest import PROJECT_ROOT, build_model

FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "audio"
AU_FIXTURE = FIXTURES / "blues.00050.au"
WAV_16K_FIXTURE = FIXTURES / "country.00048.16k.wav"
GENRES = ["blues", "classical", "country", "disco", "hiphop"]


def default_features(**overrides) -> dict:
    """The default config's features block, clip length resolved, with ``overrides``."""
    config = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    # the whole song (as models saved before excerpts): these tests are about windows
    return {**config["features"], "clip_seconds": 10.0, "excerpt": None, **overrides}


def save_torch_model(folder: Path, features: dict, seed: int = 0) -> Path:
    """A randomly initialised cnn_seed001 saved as a training job saves it."""
    spec = get_model("cnn_seed001")
    rows = features["sets"]["logmel64"]["n_mels"]
    frames = round(3.0 * features["sample_rate"] / features["hop_length"])
    torch.manual_seed(seed)
    model = build_model("cnn_seed001", shapes=[(rows, frames)], n_classes=len(GENRES)).eval()
    stats = [(torch.full((rows, 1), -40.0), torch.full((rows, 1), 20.0))]
    folder.mkdir(parents=True, exist_ok=True)
    SavedTorchModel.of(
        "cnn_seed001",
        model,
        arch=spec.arch,
        inputs=["logmel64@s3"],
        input_shapes=[(rows, frames)],
        genres=GENRES,
        normalizer=Normalizer("standardize", stats).state(),
        features=features,
        train={},
    ).save(folder / "model.pt")
    return folder


@pytest.fixture(scope="module")
def torch_model_dir(tmp_path_factory) -> Path:
    return save_torch_model(tmp_path_factory.mktemp("torch_model"), default_features())


@pytest.fixture(scope="module")
def classical_model_dir(tmp_path_factory) -> Path:
    """A logistic regression on random summary vectors, saved as train_classical saves it."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, len(SUMMARY_COLUMNS)))
    y = np.repeat(GENRES, 10)
    estimator = get_model("logreg").build(0).fit(x, y)
    folder = tmp_path_factory.mktemp("classical_model")
    record = {
        "model": "logreg",
        "estimator": estimator,
        "columns": list(SUMMARY_COLUMNS),
        "genres": GENRES,
        "features": default_features(),
    }
    joblib.dump(record, folder / "model.joblib")
    return folder


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> dict[str, Path]:
    """Files a user might have: stereo 44.1 kHz, its mono mix, mp3, a 2 s clip, a fake wav."""
    folder = tmp_path_factory.mktemp("songs")
    rng = np.random.default_rng(1)
    t = np.arange(12 * 44100) / 44100
    left = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.normal(size=t.size)
    right = 0.3 * np.sin(2 * np.pi * 330 * t) + 0.05 * rng.normal(size=t.size)
    stereo = np.stack([left, right], axis=1).astype(np.float32)
    files = {
        "stereo": folder / "stereo_44k.wav",
        "mono_mix": folder / "mono_mix_44k.wav",
        "mp3": folder / "song.mp3",
        "short": folder / "two_seconds.wav",
        "flac": folder / "song.flac",
        "ogg": folder / "song.ogg",
        "silent": folder / "silence.wav",
        "text": folder / "notes.wav",
    }
    sf.write(files["stereo"], stereo, 44100, subtype="FLOAT")
    sf.write(files["mono_mix"], stereo.mean(axis=1), 44100, subtype="FLOAT")
    sf.write(files["mp3"], stereo, 44100, format="MP3")
    sf.write(files["short"], left[: 2 * 44100].astype(np.float32), 44100)
    sf.write(files["flac"], left[: 8 * 44100].astype(np.float32), 44100, format="FLAC")
    sf.write(files["ogg"], stereo[: 8 * 44100], 44100, format="OGG", subtype="VORBIS")
    sf.write(files["silent"], np.zeros(5 * 22050, dtype=np.float32), 22050)
    files["text"].write_text("these are my notes, not a song\n")
    return files


def run_cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def predict_json(capsys, model_dir, *songs) -> tuple[int, dict, str]:
    code, out, err = run_cli(capsys, "predict", *songs, "--model", model_dir, "--format", "json")
    return code, json.loads(out), err


def test_real_fixtures_are_classified(capsys, torch_model_dir):
    code, out, err = run_cli(
        capsys, "predict", AU_FIXTURE, WAV_16K_FIXTURE, "--model", torch_model_dir
    )
    assert code == 0, err
    assert f"{AU_FIXTURE}: " in out and f"{WAV_16K_FIXTURE}: " in out
    assert "30.0 s, 10 windows" in out  # GTZAN clips: 30 s in 3 s windows
    assert err == ""


def test_a_long_song_is_classified_on_the_models_excerpt_unless_whole(capsys, tmp_path_factory):
    config = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    excerpt = {"policy": "middle", "count": 1, "tolerance_s": 1.0, "seconds": 10.0}
    model_dir = save_torch_model(
        tmp_path_factory.mktemp("excerpt_model"), default_features(excerpt=excerpt)
    )
    assert config["features"]["excerpt"]["policy"] == "middle"
    code, out, err = run_cli(capsys, "predict", AU_FIXTURE, "--model", model_dir)
    assert code == 0, err
    assert "30.0 s, 3 windows" in out  # the middle 10 s, in 3 s windows
    code, out, err = run_cli(capsys, "predict", AU_FIXTURE, "--model", model_dir, "--whole")
    assert "30.0 s, 10 windows" in out


def test_json_output_follows_its_schema(capsys, torch_model_dir, songs):
    code, document, _ = predict_json(
        capsys, torch_model_dir, AU_FIXTURE, songs["mp3"], songs["text"], "missing.wav"
    )
    assert code == 0
    jsonschema.validate(document, json.loads(JSON_SCHEMA.read_text()))
    statuses = [record["status"] for record in document["files"]]
    assert statuses == ["ok", "ok", "error", "error"]
    assert document["model"]["genres"] == GENRES


@pytest.mark.parametrize("model", ["torch", "classical"])
def test_probabilities_sum_to_one(capsys, torch_model_dir, classical_model_dir, model):
    model_dir = torch_model_dir if model == "torch" else classical_model_dir
    code, document, _ = predict_json(capsys, model_dir, AU_FIXTURE, WAV_16K_FIXTURE)
    assert code == 0
    for record in document["files"]:
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
        for window in record["windows"]:
            assert sum(window["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
        best = max(record["probabilities"], key=record["probabilities"].get)
        assert record["genre"] == best == record["top"][0]["genre"]
        assert [t["probability"] for t in record["top"]] == sorted(
            (t["probability"] for t in record["top"]), reverse=True
        )
    # the classical model summarises clip-long windows: 30 s of GTZAN in 10 s windows
    if model == "classical":
        assert len(document["files"][0]["windows"]) == 3


def test_stereo_is_downmixed_and_resampled(capsys, torch_model_dir, songs):
    code, document, _ = predict_json(capsys, torch_model_dir, songs["stereo"], songs["mono_mix"])
    assert code == 0
    stereo, mono = document["files"]
    assert stereo["duration_s"] == pytest.approx(12.0, abs=0.01)
    assert len(stereo["windows"]) == 4  # 12 s at the model's 22.05 kHz, 3 s windows
    for genre, probability in stereo["probabilities"].items():
        assert probability == pytest.approx(mono["probabilities"][genre], abs=1e-5)


def test_mp3_flac_and_ogg_are_classified(capsys, torch_model_dir, songs):
    code, document, err = predict_json(
        capsys, torch_model_dir, songs["mp3"], songs["flac"], songs["ogg"]
    )
    assert code == 0, err
    mp3, flac, ogg = document["files"]
    assert mp3["status"] == flac["status"] == ogg["status"] == "ok"
    assert mp3["duration_s"] == pytest.approx(12.0, abs=0.1)  # encoder padding aside
    assert flac["duration_s"] == ogg["duration_s"] == pytest.approx(8.0, abs=0.01)


def test_a_clip_shorter_than_one_window_is_padded_with_a_warning(capsys, torch_model_dir, songs):
    code, document, err = predict_json(capsys, torch_model_dir, songs["short"])
    assert code == 0
    (record,) = document["files"]
    assert len(record["windows"]) == 1
    assert record["duration_s"] == pytest.approx(2.0, abs=0.01)
    assert "padded with silence" in record["warnings"][0]
    assert f"{songs['short']}: warning: shorter (2.00 s)" in err


def test_each_bad_file_gets_one_line_and_the_good_ones_are_still_reported(
    capsys, torch_model_dir, songs
):
    missing = songs["text"].parent / "no_such_song.mp3"
    code, out, err = run_cli(
        capsys,
        "predict",
        songs["text"],
        missing,
        songs["silent"],
        AU_FIXTURE,
        "--model",
        torch_model_dir,
    )
    assert code == 0
    lines = err.strip().splitlines()
    assert lines == [
        (
            f"genreflow: {songs['text']}: not audio: the format is not recognised "
            "(genreflow reads wav, flac, ogg/opus, mp3, aiff, au and m4a/aac)"
        ),
        f"genreflow: {missing}: missing: no such file",
        f"genreflow: {songs['silent']}: silent: peak 0 is below 0.0001",
    ]
    assert f"{AU_FIXTURE}: " in out


def test_exit_status_is_non_zero_only_when_nothing_was_classified(capsys, torch_model_dir, songs):
    code, out, err = run_cli(
        capsys, "predict", songs["text"], "missing.wav", "--model", torch_model_dir
    )
    assert code == 1
    assert out == ""
    assert "none of the 2 file(s) could be classified" in err


def test_csv_has_one_row_per_file(capsys, classical_model_dir, songs):
    code, out, _ = run_cli(
        capsys,
        "predict",
        AU_FIXTURE,
        songs["text"],
        "--model",
        classical_model_dir,
        "--format",
        "csv",
    )
    assert code == 0
    table = pd.read_csv(__import__("io").StringIO(out))
    assert list(table["status"]) == ["ok", "error"]
    assert [f"prob_{g}" for g in GENRES] == [c for c in table.columns if c.startswith("prob_")]
    assert table.loc[0, [f"prob_{g}" for g in GENRES]].sum() == pytest.approx(1.0)
    assert "not audio" in table.loc[1, "reason"]


def test_plot_draws_one_panel_per_classified_song(capsys, torch_model_dir, songs, tmp_path):
    plot = tmp_path / "timeline.png"
    code, _, err = run_cli(
        capsys, "predict", AU_FIXTURE, songs["stereo"], "--model", torch_model_dir, "--plot", plot
    )
    assert code == 0
    assert f"plot written to {plot}" in err
    from PIL import Image

    width, height = Image.open(plot).size
    assert height > width * 0.5  # two stacked panels


def test_a_folder_without_a_model_is_a_usage_error(capsys, tmp_path):
    code, _, err = run_cli(capsys, "predict", AU_FIXTURE, "--model", tmp_path)
    assert code == 2
    assert f"{tmp_path}: holds neither model.pt nor model.joblib" in err


def test_the_models_saved_feature_settings_are_used(tmp_path, songs):
    """A model trained at 16 kHz, hop 256, 32 mel bands is fed exactly that."""
    features = default_features(sample_rate=16000, hop_length=256, n_fft=1024)
    features["sets"] = {**features["sets"], "logmel64": {"kind": "logmel", "n_mels": 32}}
    model_dir = save_torch_model(tmp_path / "model", features)
    classifier = load_classifier(model_dir)
    assert classifier.settings.sample_rate == 16000
    assert classifier.settings.hop_length == 256
    assert classifier.windows.segment_frames == [188]  # 3 s at 16 kHz / 256
    assert classifier.window_s == pytest.approx(188 * 256 / 16000)
    _, inputs = classifier.window_inputs(
        read_song(songs["stereo"], sample_rate=16000, silence_peak=0).y
    )
    assert tuple(inputs[0].shape[1:]) == (32, 188)
    prediction = classifier.predict(songs["stereo"])
    # 12 s = 751 frames of 256 samples: three whole 188-frame windows (3.008 s each)
    assert prediction.probabilities.shape == (3, len(GENRES))


def test_changing_the_config_does_not_change_predictions(tmp_path, songs):
    """The CLI never reads config/config.yaml: a project with other settings predicts the same."""
    model_dir = save_torch_model(tmp_path / "model", default_features())
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "config" / "config.yaml", project / "config" / "config.yaml")
    command = [
        sys.executable,
        "-m",
        "genreflow.cli",
        "predict",
        str(songs["stereo"]),
        "--model",
        str(model_dir),
        "--format",
        "json",
    ]

    def predict() -> dict:
        result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=True)
        return json.loads(result.stdout)["files"][0]["probabilities"]

    before = predict()
    config = yaml.safe_load((project / "config" / "config.yaml").read_text())
    config["features"].update(sample_rate=16000, hop_length=256, n_fft=1024)
    config["features"]["sets"]["logmel64"]["n_mels"] = 32
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    assert predict() == before


def test_read_song_names_the_reason(songs):
    with pytest.raises(SongError, match="missing"):
        read_song(songs["text"].parent / "nope.wav", sample_rate=22050, silence_peak=1e-4)
    with pytest.raises(SongError, match="not a file"):
        read_song(songs["text"].parent, sample_rate=22050, silence_peak=1e-4)
    truncated = songs["text"].parent / "truncated.wav"
    truncated.write_bytes(songs["short"].read_bytes()[:44])  # a header and no samples
    with pytest.raises(SongError, match="undecodable|not audio"):
        read_song(truncated, sample_rate=22050, silence_peak=1e-4)


def test_a_saved_torch_model_round_trips_its_record(torch_model_dir):
    saved = SavedTorchModel.load(torch_model_dir / "model.pt")
    assert saved.features["clip_seconds"] == 10.0 and saved.genres == GENRES
    assert saved.sample_rates == {"decoded": 22050, "logmel64": 22050}
    assert not saved.network().training
    # saved again, the same record gives the same bytes (no temporary name inside)
    saved.save(torch_model_dir / "again.pt")
    assert (torch_model_dir / "again.pt").read_bytes() == (
        torch_model_dir / "model.pt"
    ).read_bytes()
    # the file is a plain dict of the record's fields, loadable without genreflow
    raw = torch.load(torch_model_dir / "model.pt", weights_only=True)
    assert list(raw) == [
        "model",
        "state_dict",
        "arch",
        "inputs",
        "input_shapes",
        "genres",
        "normalizer",
        "features",
        "sample_rates",
        "train",
    ]


def test_a_model_saved_without_feature_settings_is_named_for_retraining(torch_model_dir, tmp_path):
    """A record from before models saved their features block: one clear line."""
    raw = torch.load(torch_model_dir / "model.pt", weights_only=True)
    old = tmp_path / "old"
    old.mkdir()
    keep = ("model", "state_dict", "arch", "inputs", "input_shapes", "genres", "normalizer")
    torch.save({key: raw[key] for key in keep}, old / "model.pt")
    with pytest.raises(DataError, match="saved without its feature settings; retrain"):
        load_classifier(old)
    torch.save({"model": "cnn_seed001"}, tmp_path / "other.pt")
    with pytest.raises(DataError, match="not a genreflow torch model"):
        SavedTorchModel.load(tmp_path / "other.pt")


def test_predict_benchmark_times_load_and_classify(torch_model_dir):
    from benchmarks.predict import time_model

    row = time_model(torch_model_dir, AU_FIXTURE, repeats=1)
    assert row["windows"] == 10
    assert row["total_s"] == pytest.approx(row["load_s"] + row["classify_s"], abs=2e-3)
    assert row["realtime_factor"] > 0
