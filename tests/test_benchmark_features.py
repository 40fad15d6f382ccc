"""Smoke test of the feature benchmark: structure of its result, no timing assertions."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from benchmarks.features import benchmark, format_report
from genreflow.features.compute import FeatureSpec

SPECS = [
    FeatureSpec("logmel", "logmel", {"n_mels": 64}),
    FeatureSpec("mfcc", "mfcc", {"n_mfcc": 13, "n_mels": 64}),
    FeatureSpec("chroma", "chroma", {"n_chroma": 12}),
    FeatureSpec("spectral", "spectral"),
    FeatureSpec("wavelet", "wavelet", {"wavelet": "db4", "level": 4}),
    FeatureSpec("gtzan_summary", "gtzan_summary"),
]


def test_benchmark_result_structure(tmp_path):
    sr = 22050
    t = np.arange(2 * sr) / sr
    rng = np.random.default_rng(0)
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(len(t))
    path = tmp_path / "clip.wav"
    sf.write(path, y.astype(np.float32), sr, subtype="PCM_16")

    result = benchmark([path], SPECS, logmel_spec=SPECS[0], clip_seconds=2.0, repeats=1)

    assert result["measured"]["n_tracks"] == 1
    assert result["measured"]["sets"] == [spec.name for spec in SPECS]
    assert result["decode_s_per_track"] > 0
    assert set(result["naive_per_feature_s"]) == {spec.name for spec in SPECS}
    assert all(seconds > 0 for seconds in result["naive_per_feature_s"].values())
    assert set(result["max_relative_difference"]) == {spec.name for spec in SPECS}
    assert [row["track"] for row in result["per_track"]] == ["clip.wav"]
    for key in ("all", "logmel"):
        scenario = result[key]
        for path_name in ("implemented", "naive"):
            timing = scenario[path_name]
            assert timing["s_per_track"] > 0
            assert timing["s_per_track_with_decode"] > timing["s_per_track"]
            assert timing["tracks_per_s_per_core"] > 0
            assert timing["gtzan_minutes"] > 0
            assert isinstance(timing["pass"], bool)
        ratio = scenario["naive"]["s_per_track"] / scenario["implemented"]["s_per_track"]
        assert scenario["speedup"] == pytest.approx(ratio)
    assert result["all"]["naive"]["s_per_track"] == pytest.approx(
        sum(result["naive_per_feature_s"].values())
    )
    assert "PASS" in format_report(result) or "FAIL" in format_report(result)


def test_training_benchmark_measures_a_model():
    from benchmarks.training import measure
    from genreflow.models import load_all

    load_all()
    result = measure("bilstm_seed004", torch.device("cpu"), batch_size=4, batches=1)
    assert result["segments_per_s"] > 0 and 0 <= result["data_share"] < 1
    assert result["n_parameters"] > 0
