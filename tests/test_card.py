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
        history={"train_accuracy": 0.9, "test": None},
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
    assert "| stratified_kfold | 5 | 72.0% ± 2.0% | 67.0%–77.0% | 0.700 | 100 |" in card
    assert "| artist_kfold |" not in card  # that summary has no logreg row
    assert "Published figure: 45% (report 004: split not stated, GTZAN)" in card
    assert "- blues ↔ jazz: 13 tracks (5 → / 8 ←), 92.9% of the errors" in card
    assert "Estimator:** scikit-learn" in card
    assert "synthetic" not in card  # the demo caveat is for the demo only
    assert "genreflow predict SONG [SONG ...] --model results/final/gtzan/logreg" in card
