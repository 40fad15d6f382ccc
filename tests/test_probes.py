"""The musicnn probes trained as the workflow trains them, then used by `genreflow predict`.

Six tracks: each half of the three real fixture clips (15 s), one half of each genre for
training and one for validation, embedded and consolidated by the workflow's own
functions, then a final model of each probe trained on them.
"""

import json
from pathlib import Path

import joblib
import librosa
import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from genreflow.cli import main
from genreflow.features.consolidate import consolidate_feature
from genreflow.features.embedding_shards import extract_embedding_shard
from genreflow.features.settings import FeatureSettings, segmentations
from genreflow.inference import load_classifier
from genreflow.models.index import load_index
from genreflow.plan.features import resolved_excerpt
from genreflow.plan.models import TrainingPlan, run_settings
from genreflow.training.classical_data import array_data
from genreflow.training.job import Job
from genreflow.training.run import train_torch
from genreflow.training.run_classical import train_classical

from conftest import FIXTURES, PROJECT_ROOT

CLIPS = {"blues": "blues.00050.au", "jazz": "jazz.00054.au", "country": "country.00048.16k.wav"}
GENRES = sorted(CLIPS)


def features_block() -> dict:
    config = yaml.safe_load((PROJECT_ROOT / "config" / "config.yaml").read_text())
    excerpt = resolved_excerpt(config["features"]["excerpt"], 15.0)
    return {**config["features"], "clip_seconds": 15.0, "excerpt": excerpt}


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    """Final models of musicnn_svm and musicnn_mlp, and the arrays they were trained on."""
    root = tmp_path_factory.mktemp("probes")
    rows = []
    for genre, name in CLIPS.items():
        y, sr = sf.read(FIXTURES / name)
        for half in (0, 1):
            path = root / "audio" / f"{genre}.{half:05d}.wav"
            path.parent.mkdir(exist_ok=True)
            sf.write(path, y[half * 15 * sr : (half + 1) * 15 * sr], sr)
            rows.append((path.stem, path.stem, genre, str(path)))
    tracks = pd.DataFrame(rows, columns=["track_id", "source_track_id", "genre", "path"])
    block = features_block()
    settings = FeatureSettings.from_dict(block)
    table = extract_embedding_shard(tracks, settings, "musicnn", root / "features")
    arrays = {}
    for segments in ("s3",):
        segmentation = segmentations(block["segments"])[segments]
        array, index = root / f"musicnn@{segments}.npy", root / f"musicnn@{segments}.index.csv"
        consolidate_feature(table, "musicnn", segmentation, settings, array, index)
        arrays[segments] = (str(array), str(index))
    folds = pd.DataFrame({"track_id": tracks.track_id, "fold": 0, "role": ["train", "val"] * 3})
    manifest = tracks.assign(status="ok")
    training = TrainingPlan(
        "cpu", amp=False, repeats=(0,), threads=1, max_epochs=None, gpu_mem_mb=0
    )
    index = load_index()

    def run_of(model, train=None):
        """What the plan resolves for ``model`` on the patches."""
        return run_settings(index[model], ("musicnn@s3",), {}, train or {}, training, key=model)

    def outputs(model):
        folder = root / "final" / model
        artifact = "model.joblib" if model == "musicnn_svm" else "model.pt"
        names = {
            "model": artifact,
            "history": "history.json",
            "config": "config.json",
            "timing": "timing.json",
        }
        return folder, {key: str(folder / name) for key, name in names.items()}

    svm_dir, svm_outputs = outputs("musicnn_svm")
    train_classical(
        Job("probe", "final", "musicnn_svm", 0, 0, svm_outputs),
        # the patch-level variant (models.musicnn_svm.inputs: [musicnn@s3]): 10 examples
        # per genre, enough for the SVC's 5-fold probability calibration
        settings=run_of("musicnn_svm"),
        features=block,
        data=array_data(*arrays["s3"]),
        folds=folds,
        manifest=manifest,
    )
    mlp_dir, mlp_outputs = outputs("musicnn_mlp")
    train_torch(
        Job("probe", "final", "musicnn_mlp", 0, 0, mlp_outputs),
        settings=run_of("musicnn_mlp", {"epochs": 30}),
        features=block,
        arrays=[arrays["s3"][0]],
        indexes=[arrays["s3"][1]],
        folds=folds,
        manifest=manifest,
    )
    return {"musicnn_svm": svm_dir, "musicnn_mlp": mlp_dir, "arrays": arrays, "root": root}


def test_the_svm_records_its_pca_and_the_rates(probes):
    folder = probes["musicnn_svm"]
    record = json.loads((folder / "config.json").read_text())
    # 30 patches: PCA keeps their rank, 29 of 128 components, and says so
    assert record["adjusted"] == {"pca.n_components": {"asked": 128, "used": 29}}
    assert record["input_shape"] == [753, 1]  # one 3 s patch
    assert record["sample_rates"] == {"decoded": 22050, "musicnn": 16000}
    saved = joblib.load(folder / "model.joblib")
    assert [name for name, _ in saved["estimator"].steps] == ["pool", "scale", "pca", "model"]
    assert saved["estimator"].named_steps["pca"].n_components_ == 29
    assert saved["sample_rates"]["musicnn"] == 16000


def test_the_mlp_selects_its_epoch_by_validation_tracks(probes):
    history = json.loads((probes["musicnn_mlp"] / "history.json").read_text())
    epochs = history["epochs"]
    assert all("val_track_accuracy" in epoch for epoch in epochs)
    best = max(e["val_track_accuracy"] for e in epochs)
    first_best = next(e["epoch"] for e in epochs if e["val_track_accuracy"] == best)
    assert history["best_epoch"] == first_best
    record = json.loads((probes["musicnn_mlp"] / "config.json").read_text())
    assert record["train"]["monitor"] == "val_track_accuracy"
    assert record["input_shapes"] == [[753, 1]]


@pytest.fixture(scope="module")
def same_music(tmp_path_factory):
    """One fixture clip as a 44.1 kHz stereo file and as a 16 kHz mono file."""
    folder = tmp_path_factory.mktemp("rates")
    y, sr = librosa.load(FIXTURES / "blues.00050.au", sr=None)
    at_44k = librosa.resample(y, orig_sr=sr, target_sr=44100)
    stereo = np.stack([at_44k, 0.9 * at_44k], axis=1)
    sf.write(folder / "blues_44k_stereo.wav", stereo, 44100, subtype="FLOAT")
    sf.write(folder / "blues_16k.wav", librosa.resample(y, orig_sr=sr, target_sr=16000), 16000)
    return folder / "blues_44k_stereo.wav", folder / "blues_16k.wav"


@pytest.mark.parametrize("model", ["musicnn_svm", "musicnn_mlp"])
def test_a_44k_stereo_file_and_a_16k_file_get_the_same_verdict(probes, same_music, model):
    classifier = load_classifier(probes[model])
    assert classifier.sample_rate == 16000  # decoded at the network's own rate
    high, low = (classifier.predict(path) for path in same_music)
    assert high.genre == low.genre
    assert high.duration_s == pytest.approx(low.duration_s, abs=0.01)
    np.testing.assert_allclose(high.song_probabilities, low.song_probabilities, atol=0.05)


@pytest.mark.parametrize("model", ["musicnn_svm", "musicnn_mlp"])
def test_predict_runs_a_probe_on_the_three_fixtures(probes, model, capsys):
    songs = [FIXTURES / name for name in CLIPS.values()]
    code = main(["predict", *map(str, songs), "--model", str(probes[model]), "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    document = json.loads(captured.out)
    assert document["model"]["sample_rate"] == 16000
    assert [f["status"] for f in document["files"]] == ["ok"] * 3
    # trained on these clips' halves: each whole clip is recognised
    assert [f["genre"] for f in document["files"]] == list(CLIPS)


def test_a_probe_is_not_explained(probes, capsys):
    code = main(
        ["explain", str(FIXTURES / "blues.00050.au"), "--model", str(probes["musicnn_mlp"])]
    )
    assert code != 0
    assert "probes are not explained" in capsys.readouterr().err


def test_the_fixtures_re_encoded_as_44k_stereo_mp3_keep_their_genre(probes, tmp_path):
    """What users' libraries hold: the clips as 44.1 kHz stereo MP3 (lossy, resampled,
    a decoder delay), each given the genre and nearly the probabilities of the original
    (measured on 100 GTZAN clips: the same genre 100/100, largest change 0.19)."""
    classifier = load_classifier(probes["musicnn_svm"])
    for name in CLIPS.values():
        y, sr = librosa.load(FIXTURES / name, sr=None)
        at_44k = librosa.resample(y, orig_sr=sr, target_sr=44100)
        mp3 = tmp_path / f"{Path(name).stem}.mp3"
        sf.write(mp3, np.stack([at_44k, at_44k], axis=1), 44100, format="MP3")
        original, encoded = classifier.predict(FIXTURES / name), classifier.predict(mp3)
        assert encoded.genre == original.genre, name
        np.testing.assert_allclose(
            encoded.song_probabilities, original.song_probabilities, atol=0.2, err_msg=name
        )
