"""Model cards: cross-validated accuracy per scheme, known confusions, intended use."""

import numpy as np
import pandas as pd

from genreflow.evaluation.card import render_card
from genreflow.models.registry import Published

GENRES = ["blues", "jazz", "rock"]


def summary(model: str, accuracy: float) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": model,
                "n_folds": 5,
                "n_seeds": 3,
                "track_accuracy_mean": accuracy,
                "track_accuracy_std": 0.02,
                "track_accuracy_ci_low": accuracy - 0.05,
                "track_accuracy_ci_high": accuracy + 0.05,
                "macro_f1_mean": 0.7,
                "n_test_tracks": 100,
            }
        ]
    )


def test_card_of_a_classical_model_on_real_data():
    manifest = pd.DataFrame({"status": ["ok"] * 98 + ["repaired", "quarantined"]})
    record = {
        "model": "logreg",
        "dataset": "gtzan",
        "repeat": 0,
        "genres": GENRES,
        "inputs": ["gtzan_summary"],
        "arch": {"C": 1.0},
        "n_examples": {"train": 89, "val": 10},
        "fit_on": ["train", "val"],
        "reproduces": "report 004: logistic regression",
        "features": {"sample_rate": 22050, "n_fft": 2048, "hop_length": 512, "clip_seconds": 30},
    }
    confusion = np.array([[30, 5, 0], [8, 25, 1], [0, 0, 31]])
    card = render_card(
        record=record,
        history={"train_track_accuracy": 0.9},
        summaries={
            "stratified_kfold": summary("logreg", 0.72),
            "artist_kfold": summary("svm", 0.5),
        },
        confusion=confusion,
        manifest=manifest,
        published=Published(0.45, "split not stated", "GTZAN", "report 004"),
        model_dir="results/final/gtzan/logreg",
    )
    assert "99 usable tracks of 100 (1 quarantined, 1 repaired)" in card
    assert "**Training examples:** all 99 (scikit-learn models do not stop early" in card
    assert "| stratified_kfold | 5 × 3 | 72.0% ± 2.0% | 67.0%–77.0% | 0.700 | 100 |" in card
    assert "**Seed:** 0 (the first of `training.repeats`" in card
    assert "| artist_kfold |" not in card  # that summary has no logreg row
    assert "Published figure: 45% (report 004: split not stated, GTZAN)" in card
    assert "- blues ↔ jazz: 13 tracks (5 → / 8 ←), 92.9% of the errors" in card
    assert "Estimator:** scikit-learn" in card
    assert "synthetic" not in card  # the demo caveat is for the demo only
    assert "genreflow predict SONG [SONG ...] --model results/final/gtzan/logreg" in card


def test_card_of_a_model_with_a_pretrained_branch_on_vggish():
    vggish = {
        "kind": "vggish",
        "weights": {"source": "https://example.org/vggish-10086976.pth", "checksum": None},
        "pca": None,
        "postprocess": False,
    }
    features = {
        "sample_rate": 22050,
        "n_fft": 2048,
        "hop_length": 512,
        "clip_seconds": 30,
        "sets": {"logmel": {"kind": "logmel", "n_mels": 128}, "vggish": vggish},
    }
    record = {
        "model": "hybrid_seed004",
        "dataset": "gtzan",
        "genres": GENRES,
        "inputs": ["logmel@s3", "vggish@s3"],
        "n_examples": {"train": 89, "val": 10},
        "features": features,
        "sample_rates": {"decoded": 22050, "logmel": 22050, "vggish": 16000},
        "n_parameters": 1000,
        "train": {"optimizer": "adamw", "lr": 0.001, "batch_size": 32},
        "reproduces": "report 004: hybrid CNN-RNN with a pretrained (transfer-learning) branch",
    }
    card = render_card(
        record=record,
        history={"best_epoch": 3, "epochs": [{}] * 5, "test": None},
        summaries={"stratified_kfold": summary("hybrid_seed004", 0.8)},
        confusion=np.eye(3, dtype=int) * 10,
        manifest=pd.DataFrame({"status": ["ok"] * 99}),
        published=Published(0.745, "split not stated", "GTZAN", "report 004"),
        model_dir="results/final/gtzan/hybrid_seed004",
    )
    # the embedding, named by its weights' source, and how predict feeds it
    assert "**Pretrained embedding `vggish`** (frozen" in card
    assert "vggish (weights https://example.org/vggish-10086976.pth, postprocess False)" in card
    assert "decodes songs at 22050 Hz for the other inputs and resamples them to 16000 Hz" in card
    assert "Published figure: 74.5%" in card
