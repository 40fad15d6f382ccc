"""Time to load a saved model and classify one 30-second clip on the CPU.

Usage::

    python -m benchmarks.predict [--models-dir results/final/demo] [--clip FILE]
                                           [--repeats 3] [--json out.json]

For every model folder under ``--models-dir`` it measures, after Python and torch have
started (what ``genreflow predict`` adds per model and per file): loading the model and
its feature settings, then classifying the clip (decode, resample, features, windows,
forward). The best of ``--repeats`` runs is printed with the real-time factor (clip
seconds per second of work). The default clip is the GTZAN fixture ``blues.00050.au``
(30 s, 22.05 kHz), or a 30 s synthetic one if the fixture is not there.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from genreflow.inference.classifier import load_classifier

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "audio" / "blues.00050.au"


def synthetic_clip(folder: Path, seconds: float = 30.0, sr: int = 22050) -> Path:
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t))
    path = folder / "clip30.wav"
    sf.write(path, y.astype(np.float32), sr)
    return path


def time_model(model_dir: Path, clip: Path, repeats: int) -> dict:
    load, classify = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        classifier = load_classifier(model_dir)
        loaded = time.perf_counter()
        prediction = classifier.predict(clip)
        load.append(loaded - started)
        classify.append(time.perf_counter() - loaded)
    total = min(a + b for a, b in zip(load, classify))
    return {
        "model": model_dir.name,
        "load_s": round(min(load), 3),
        "classify_s": round(min(classify), 3),
        "total_s": round(total, 3),
        "realtime_factor": round(prediction.duration_s / total, 1),
        "windows": len(prediction.starts_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models-dir", default="results/final/demo")
    parser.add_argument("--clip", help="audio file (default: the GTZAN fixture)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="also write the table here")
    args = parser.parse_args()
    folders = sorted(
        p.parent for p in Path(args.models_dir).glob("*/model.*") if p.suffix in (".pt", ".joblib")
    )
    if not folders:
        raise SystemExit(f"{args.models_dir}: no model folders; run snakemake first")
    with tempfile.TemporaryDirectory() as scratch:
        clip = Path(args.clip) if args.clip else FIXTURE
        if not clip.is_file():
            clip = synthetic_clip(Path(scratch))
        # warm-up: library imports, first-use caches (mel filters, soxr)
        load_classifier(folders[0]).predict(clip)
        rows = [time_model(folder, clip, args.repeats) for folder in folders]
    table = pd.DataFrame(rows).sort_values("total_s")
    print(f"clip: {clip} · torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    print(table.to_string(index=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
