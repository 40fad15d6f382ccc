"""How genreflow's stages grow with the number of tracks: 1k to 100k, on one machine.

Usage::

    python -m benchmarks.scale [--sizes 1000 8000 25000 100000] [--audio-sizes 1000 8000]
        [--work /tmp/genreflow-scale]

For each size a synthetic dataset is made: a registry of ``N`` tracks (16 genres, ten
tracks per artist, FMA's three official roles) and, where a stage reads per-track files,
the files it reads. Each stage runs in a process of its own, timed (wall) and measured
(peak RSS, by ``/usr/bin/time``), with the disk it wrote:

``dry_run``
    ``snakemake -n`` of the default config on the registry (registry only: no audio),
    with the number of jobs it plans.
``folds``
    ``assign_folds`` of stratified_kfold and artist_kfold on the manifest (registry only).
``consolidate``
    ``consolidate_feature`` of a musicnn@clip-shaped set (753 × 3 per track, float32)
    from one ``.npy`` per track (the files are written first, not timed).
``evaluate``
    ``write_fold_evaluation`` of one fold's test part (a fifth of the tracks, ten
    segments each, random probabilities): predictions, metrics, confusion figure.
``audit``
    ``find_duplicates`` (the duplicate audit's matching) over random 30 s fingerprints
    (2,584 sub-fingerprints a track, as 30 s give), one track in a hundred an exact
    copy of another: the fingerprints are made in the process (not timed apart:
    they are a few percent of it), the copies found are counted.
``features``
    ``extract_shard`` (rule extract_features) of the default feature sets over ``--audio-clip-seconds``
    clips (tones with noise, only at ``--audio-sizes``: audio at 100k tracks does not
    fit a 2-core machine), one process; its per-track rate after 50 untimed tracks
    (numba compiles librosa's kernels on first use).

The table gives each stage's figures per size and the growth exponent between the
sizes, ``log(t2 / t1) / log(n2 / n1)`` (1.0: linear), for time and for peak RSS above
the interpreter's.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GENRES = [f"genre{i:02d}" for i in range(16)]
ROLES = ("training", "validation", "test")
STAGES = ("dry_run", "folds", "consolidate", "evaluate", "audit", "features")
AUDIO_STAGES = ("features",)
WARM_UP_TRACKS = 50  # untimed, before the per-track rate is measured


def write_registry(folder: Path, n: int) -> Path:
    """A registry and manifest of ``n`` tracks (no audio), as the data stage writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    registry, manifest = folder / "registry.csv", folder / "manifest.csv"
    with open(registry, "w", newline="") as r, open(manifest, "w", newline="") as m:
        reg, man = csv.writer(r), csv.writer(m)
        reg.writerow(["track_id", "genre", "wav_md5", "artist", "title", "official_split"])
        man.writerow(
            ["track_id", "genre", "path", "status", "md5", "duration_s", "sample_rate",
             "channels", "reason", "artist", "title"]
        )  # fmt: skip
        for i in range(n):
            genre, track = GENRES[i % len(GENRES)], f"{i:06d}"
            artist = f"artist{i // (10 * len(GENRES))}-{i % len(GENRES)}"
            role = ROLES[0] if i % 10 < 8 else ROLES[1 + i % 2]
            reg.writerow([track, genre, "", artist, f"t{i}", role])
            man.writerow([track, genre, f"audio/{track}.wav", "ok", "", "30.0", "22050", "1",
                          "", artist, f"t{i}"])  # fmt: skip
    return folder


def dataset_config(folder: Path, n: int) -> Path:
    (folder / "archive.tar.gz").write_bytes(b"not read by a dry run")
    config = {
        "dataset": {
            "name": f"scale{n}",
            "source": str(folder / "archive.tar.gz"),
            "checksum": None,
            "archive_name": "archive.tar.gz",
            "registry": str(folder / "registry.csv"),
            "n_tracks": n,
            "genres": "all",
            "repair_sources": [],
            "format": {
                "sample_rate": 22050,
                "channels": 1,
                "clip_seconds": 30,
                "duration_tolerance_s": 1.0,
            },
        },
    }
    path = folder / "config.json"  # YAML is a superset of JSON
    path.write_text(json.dumps(config))
    return path


# ---- the stages, each run in its own process (python -m benchmarks.scale --stage) ----


def stage_dry_run(folder: Path, n: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", str(folder / "config.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    total = next(line for line in result.stdout.splitlines() if line.startswith("total"))
    return {"jobs": int(total.split()[-1])}


def stage_folds(folder: Path, n: int) -> dict:
    import pandas as pd

    from genreflow.data.manifest import read_manifest
    from genreflow.folds import assign_folds

    manifest = read_manifest(str(folder / "manifest.csv"))
    registry = pd.read_csv(folder / "registry.csv", dtype=str, keep_default_na=False)
    for scheme in ("stratified_kfold", "artist_kfold", "official"):
        folds = assign_folds(manifest, scheme, n_folds=5, seed=0, split_table=registry)
        folds.to_csv(folder / f"folds_{scheme}.csv", index=False)
    return {"jobs": 3}


def _tracks(n: int):
    """A shard table's first columns for the ``n`` tracks of :func:`write_registry`."""
    import pandas as pd

    ids = [f"{i:06d}" for i in range(n)]
    genres = [GENRES[i % len(GENRES)] for i in range(n)]
    return pd.DataFrame({"track_id": ids, "source_track_id": ids, "genre": genres})


def _per_track_files(folder: Path, n: int) -> Path:
    files = folder / "musicnn"
    if not files.is_dir():
        files.mkdir()
        rng = np.random.default_rng(0)
        block = rng.standard_normal((64, 753, 3)).astype(np.float32)
        for i in range(n):
            np.save(files / f"{i:06d}.npy", block[i % 64])
    return files


def stage_consolidate(folder: Path, n: int) -> dict:

    from genreflow.features.compute import FeatureSpec
    from genreflow.features.consolidate import consolidate_feature
    from genreflow.features.settings import FeatureSettings, Segmentation

    files = folder / "musicnn"
    tracks = _tracks(n).assign(musicnn=[str(files / f"{i:06d}.npy") for i in range(n)], n_frames=3)
    settings = FeatureSettings(
        sample_rate=16000,
        n_fft=512,
        hop_length=256,
        clip_seconds=30.0,
        clip_policy="pad_or_trim",
        silence_peak=1e-4,
        short_tolerance_s=0.5,
        specs=(FeatureSpec("musicnn", "musicnn", {"model": "MSD_musicnn"}),),
    )
    consolidate_feature(
        tracks,
        "musicnn",
        Segmentation("clip", None),
        settings,
        folder / "musicnn@clip.npy",
        folder / "musicnn@clip.index.csv",
    )
    return {"jobs": 1}


def stage_evaluate(folder: Path, n: int) -> dict:
    import pandas as pd

    from genreflow.evaluation.fold import write_fold_evaluation
    from genreflow.predictions import probability_columns

    rng = np.random.default_rng(0)
    test = n // 5
    tracks = np.repeat(np.arange(test), 10)
    probabilities = rng.dirichlet(np.ones(len(GENRES)), size=len(tracks))
    segments = pd.DataFrame(probabilities, columns=probability_columns(GENRES))
    segments.insert(0, "track_id", [f"{i:06d}" for i in tracks])
    segments.insert(1, "genre", [GENRES[i % len(GENRES)] for i in tracks])
    segments.insert(2, "segment", np.tile(np.arange(10), test))
    segments["predicted"] = np.asarray(GENRES)[probabilities.argmax(axis=1)]
    out = folder / "eval"
    out.mkdir(exist_ok=True)
    write_fold_evaluation(
        segments,
        GENRES,
        identity={
            "dataset": "scale",
            "scheme": "stratified_kfold",
            "model": "m",
            "seed": 0,
            "fold": 0,
        },
        outputs={
            "predictions": out / "predictions.csv",
            "tracks": out / "tracks.csv",
            "metrics": out / "metrics.json",
            "confusion": out / "confusion.png",
        },
    )
    return {"jobs": 1}


def stage_audit(folder: Path, n: int) -> dict:
    from genreflow.data.fingerprint import find_duplicates

    rng = np.random.default_rng(0)
    prints = {
        f"{i:06d}": rng.integers(1, 2**32, size=2584, dtype=np.uint64).astype(np.uint32)
        for i in range(n)
    }
    copies = {f"copy{i:06d}": prints[f"{i:06d}"].copy() for i in range(0, n, 100)}
    pairs = find_duplicates({**prints, **copies})
    return {"jobs": 1, "copies_found": f"{len(pairs)}/{len(copies)}"}


def _clips(folder: Path, n: int, seconds: float) -> Path:
    audio = folder / "audio"
    if not audio.is_dir():
        import soundfile as sf

        audio.mkdir()
        rng = np.random.default_rng(0)
        sr = 22050
        t = np.arange(int(seconds * sr)) / sr
        for i in range(n):
            f0 = 110 * 2 ** (rng.integers(0, 36) / 12)
            y = 0.3 * np.sin(2 * np.pi * f0 * t) + 0.01 * rng.standard_normal(t.size)
            sf.write(audio / f"{i:06d}.wav", y.astype(np.float32), sr, subtype="PCM_16")
    return audio


def stage_features(folder: Path, n: int) -> dict:
    import yaml

    from genreflow.features.settings import FeatureSettings
    from genreflow.features.shards import extract_shard
    from genreflow.plan.features import resolved_excerpt

    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    features = dict(config["features"])
    features["clip_seconds"] = float(os.environ["SCALE_CLIP_SECONDS"])
    features["excerpt"] = resolved_excerpt(features["excerpt"], features["clip_seconds"])
    features["sets"] = {k: v for k, v in features["sets"].items() if v["kind"] != "musicnn"}
    settings = FeatureSettings.from_dict(features)
    tracks = _tracks(n).assign(path=[str(folder / "audio" / f"{i:06d}.wav") for i in range(n)])
    warm = min(WARM_UP_TRACKS, n // 2)  # numba compiles librosa's kernels on first use
    extract_shard(tracks.iloc[:warm], settings, folder / "features")
    start = time.perf_counter()
    extract_shard(tracks.iloc[warm:], settings, folder / "features")
    return {"jobs": 1, "tracks_per_s": (n - warm) / (time.perf_counter() - start)}


# ---- the driver ----


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_stage(stage: str, folder: Path, n: int, clip_seconds: float) -> dict:
    before = disk_bytes(folder)
    report = folder / f"{stage}.json"
    env = {**os.environ, "SCALE_CLIP_SECONDS": str(clip_seconds)}
    result = subprocess.run(
        ["/usr/bin/time", "-f", "%e %M", sys.executable, "-m", "benchmarks.scale",
         "--stage", stage, "--size", str(n), "--work", str(folder.parent)],
        cwd=ROOT, capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(f"{stage} at {n}: failed\n{result.stderr[-3000:]}")
    wall, rss_kb = result.stderr.strip().splitlines()[-1].split()
    return {
        **json.loads(report.read_text()),
        "wall_s": float(wall),
        "peak_rss_mb": int(rss_kb) / 1024,
        "disk_mb": (disk_bytes(folder) - before) / 2**20,
    }


def exponent(a: float, b: float, n_a: int, n_b: int) -> float:
    return math.log(max(b, 1e-9) / max(a, 1e-9)) / math.log(n_b / n_a)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[1000, 8000, 25000, 100000])
    parser.add_argument("--audio-sizes", nargs="+", type=int, default=[1000, 8000])
    parser.add_argument("--audio-clip-seconds", type=float, default=2.0)
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    parser.add_argument("--work", type=Path, default=Path("/tmp/genreflow-scale"))
    parser.add_argument("--keep", action="store_true", help="keep the generated datasets")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.stage:  # one stage in this process
        folder = args.work / str(args.size)
        figures = globals()[f"stage_{args.stage}"](folder, args.size)
        (folder / f"{args.stage}.json").write_text(json.dumps(figures))
        return 0

    baseline = subprocess.run(
        ["/usr/bin/time", "-f", "%M", sys.executable, "-c", "import numpy, pandas"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    interpreter_mb = int(baseline.stderr.strip().splitlines()[-1]) / 1024
    rows: dict[str, dict[int, dict]] = {stage: {} for stage in args.stages}
    for n in sorted(set(args.sizes) | set(args.audio_sizes)):
        folder = args.work / str(n)
        write_registry(folder, n)
        dataset_config(folder, n)
        for stage in args.stages:
            audio = stage in AUDIO_STAGES
            if (audio and n not in args.audio_sizes) or (not audio and n not in args.sizes):
                continue
            if stage == "consolidate":
                _per_track_files(folder, n)
            if stage == "features":
                _clips(folder, n, args.audio_clip_seconds)
            rows[stage][n] = run_stage(stage, folder, n, args.audio_clip_seconds)
            print(f"{stage} at {n}: {rows[stage][n]}", flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"\ninterpreter with numpy and pandas: {interpreter_mb:.0f} MB peak RSS")
    print("| stage | tracks | jobs | wall s | peak RSS MB | disk MB | extra |")
    print("|---|---|---|---|---|---|---|")
    for stage, by_size in rows.items():
        for n, row in sorted(by_size.items()):
            extra = f"{row['tracks_per_s']:.1f} tracks/s" if "tracks_per_s" in row else ""
            extra += f"copies found {row['copies_found']}" if "copies_found" in row else ""
            print(
                f"| {stage} | {n:,} | {row['jobs']} | {row['wall_s']:.2f} | "
                f"{row['peak_rss_mb']:.0f} | {row['disk_mb']:.0f} | {extra} |"
            )
    print("\n| stage | sizes | time exponent | RSS exponent (above the interpreter) |")
    print("|---|---|---|---|")
    for stage, by_size in rows.items():
        sizes = sorted(by_size)
        for a, b in itertools.pairwise(sizes):
            ra, rb = by_size[a], by_size[b]
            time_growth = exponent(ra["wall_s"], rb["wall_s"], a, b)
            rss_growth = exponent(
                ra["peak_rss_mb"] - interpreter_mb, rb["peak_rss_mb"] - interpreter_mb, a, b
            )
            print(f"| {stage} | {a:,} → {b:,} | {time_growth:.2f} | {rss_growth:.2f} |")
        if "tracks_per_s" in by_size.get(sizes[0], {}) and len(sizes) > 1:
            first, last = by_size[sizes[0]], by_size[sizes[-1]]
            print(
                f"| {stage} | per-track rate at {sizes[-1]:,} / at {sizes[0]:,} | "
                f"{last['tracks_per_s'] / first['tracks_per_s']:.3f} | |"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
