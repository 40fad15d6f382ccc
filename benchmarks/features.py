"""Feature-stage throughput: the shared-STFT implementation against naive librosa calls.

``python -m benchmarks.features`` decodes the same tracks once each, then times

* *implemented*: :func:`~genreflow.features.compute.compute_features` with one shared STFT
  per signal, exactly what the workflow's ``extract_features`` shard jobs run per track
  (the per-frame features of the padded or trimmed clip, the summary of the whole decode);
* *naive*: one librosa call per feature, each recomputing its own STFT from ``y``, and the
  GTZAN summary by :func:`~genreflow.features.summary.summary_reference` of the whole decode.

It reports tracks per second per core, the speed-up (naive / implemented transform time),
and the extrapolation to GTZAN (1000 tracks × 30 s) on 2 cores against the targets (all
features < 6 min, logmel alone < 1 min). ``--workflow`` also runs the feature stage through
Snakemake in a scratch copy of the project and compares its wall time with the jobs' own
benchmark times (Snakemake's overhead); ``--results`` reads such benchmark files.

Threads: when run as a program, OpenMP, OpenBLAS, MKL and numba are pinned to one thread
*before* numpy or librosa is imported (the block right below), so that "per core" means
one core. Imported as a module (tests), the process's thread pools are left alone.
"""

from __future__ import annotations

import os
import sys

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMBA_NUM_THREADS",
)
THREADS_PINNED = __name__ == "__main__" and "numpy" not in sys.modules
if THREADS_PINNED:
    for _variable in THREAD_VARIABLES:
        os.environ[_variable] = "1"

import argparse
import json
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import librosa
import numpy as np
import pandas as pd
import yaml

from genreflow.features.compute import FeatureSpec, compute_features
from genreflow.features.compute import wavelet as shared_wavelet
from genreflow.features.loading import LoadedTrack, load_track
from genreflow.features.settings import FeatureSettings
from genreflow.features.spectra import Spectra
from genreflow.features.summary import SUMMARY_COLUMNS, summary_reference

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BASE_CONFIG = PROJECT_ROOT / "config" / "config.yaml"
FIXTURE_TRACKS = ("blues.00050.au", "jazz.00054.au")
AUDIO_SUFFIXES = {".wav", ".au", ".flac", ".ogg", ".mp3"}
GTZAN_TRACKS, GTZAN_SECONDS, GTZAN_CORES = 1000, 30.0, 2
TARGET_MINUTES = {"all": 6.0, "logmel": 1.0}
CPU_TIME_SAMPLED_S = 15.0  # Snakemake's benchmark samples every 0.5 s only this long
PROJECT_ENTRIES = ("Snakefile", "workflow", "config", "envs", "scripts", "src", "resources")
DEFAULT_LOGMEL = FeatureSpec("logmel", "logmel", {"n_mels": 128})


# --- the naive way: one librosa call per feature, each from y ------------------------------


def _naive_logmel(
    y: np.ndarray, sr: int, n_fft: int, hop_length: int, *, n_mels: int = 128
) -> np.ndarray:
    mel = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
    )
    return librosa.power_to_db(mel)


def _naive_mfcc(
    y: np.ndarray, sr: int, n_fft: int, hop_length: int, *, n_mfcc: int = 40, n_mels: int = 128
) -> np.ndarray:
    return librosa.feature.mfcc(
        y=y, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels
    )


def _naive_chroma(
    y: np.ndarray, sr: int, n_fft: int, hop_length: int, *, n_chroma: int = 24
) -> np.ndarray:
    return librosa.feature.chroma_stft(
        y=y, sr=sr, n_chroma=n_chroma, n_fft=n_fft, hop_length=hop_length
    )


def _naive_spectral(y: np.ndarray, sr: int, n_fft: int, hop_length: int) -> np.ndarray:
    stft = {"n_fft": n_fft, "hop_length": hop_length}
    rows = [
        librosa.feature.spectral_centroid(y=y, sr=sr, **stft),
        librosa.feature.spectral_bandwidth(y=y, sr=sr, **stft),
        librosa.feature.spectral_rolloff(y=y, sr=sr, **stft),
        librosa.feature.spectral_contrast(y=y, sr=sr, **stft),
        librosa.feature.spectral_flatness(y=y, **stft),
        librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop_length),
        librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop_length),
    ]
    return np.concatenate(rows, axis=0)


def _naive_wavelet(
    y: np.ndarray, sr: int, n_fft: int, hop_length: int, **params: Any
) -> np.ndarray:
    # no STFT in it: the implemented function only reads y and the frame count
    return shared_wavelet(Spectra(y, sr, n_fft=n_fft, hop_length=hop_length), **params)


def _naive_summary(y: np.ndarray, sr: int, n_fft: int, hop_length: int) -> np.ndarray:
    values = summary_reference(y, sr)
    return np.array([values[column] for column in SUMMARY_COLUMNS])


NAIVE_KINDS: dict[str, Callable[..., np.ndarray]] = {
    "logmel": _naive_logmel,
    "mfcc": _naive_mfcc,
    "chroma": _naive_chroma,
    "spectral": _naive_spectral,
    "wavelet": _naive_wavelet,
    "gtzan_summary": _naive_summary,
}


def naive_features(
    y: np.ndarray,
    sr: int,
    specs: Sequence[FeatureSpec],
    *,
    n_fft: int,
    hop_length: int,
    untrimmed: np.ndarray | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Every feature of ``specs`` the naive way, with each feature's seconds.

    As in :func:`compute_features`, the summary is of ``untrimmed`` (the whole decode)
    when given, every other feature of ``y``.
    """
    features, seconds = {}, {}
    for spec in specs:
        signal = untrimmed if spec.uses_whole_signal and untrimmed is not None else y
        start = time.perf_counter()
        values = NAIVE_KINDS[spec.kind](signal, sr, n_fft, hop_length, **spec.params)
        features[spec.name] = values.astype(np.float32 if spec.is_sequence else np.float64)
        seconds[spec.name] = time.perf_counter() - start
    return features, seconds


def _relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max |b|`` (inf when the shapes differ)."""
    if a.shape != b.shape:
        return float("inf")
    scale = max(float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a.astype(np.float64) - b))) / scale


# --- the in-process benchmark ---------------------------------------------------------------


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def _scenario(
    implemented_s: float, naive_s: float, decode_s: float, clip_seconds: float, target: float
) -> dict[str, Any]:
    """Per-track seconds of both paths, throughput and the GTZAN extrapolation."""
    scale = GTZAN_SECONDS / clip_seconds
    paths = {}
    for path, seconds in (("implemented", implemented_s), ("naive", naive_s)):
        with_decode = seconds + decode_s
        minutes = GTZAN_TRACKS * with_decode * scale / GTZAN_CORES / 60
        paths[path] = {
            "s_per_track": seconds,
            "s_per_track_with_decode": with_decode,
            "tracks_per_s_per_core": 1.0 / with_decode,
            "gtzan_minutes": minutes,
            "pass": minutes < target,
        }
    return {**paths, "speedup": naive_s / implemented_s, "target_minutes": target}


def benchmark(
    tracks: Sequence[str | os.PathLike],
    specs: Sequence[FeatureSpec],
    *,
    logmel_spec: FeatureSpec = DEFAULT_LOGMEL,
    sample_rate: int = 22050,
    clip_seconds: float = 30.0,
    n_fft: int = 2048,
    hop_length: int = 512,
    repeats: int = 1,
) -> dict[str, Any]:
    """Time both paths on ``tracks``, decoding each track once per repeat.

    The first track is run once untimed beforehand (numba compiles librosa's kernels on first
    use); its outputs also check that both paths compute the same features. Each track's time
    is its best of ``repeats``; per-track figures are the mean over tracks.
    """
    if not tracks or not specs or repeats < 1:
        raise ValueError("need at least one track, one feature set and one repeat")
    specs = list(specs)
    stft = {"n_fft": n_fft, "hop_length": hop_length}

    def load(path: str | os.PathLike) -> LoadedTrack:
        return load_track(path, sample_rate=sample_rate, clip_seconds=clip_seconds)

    first = load(tracks[0])
    y, untrimmed = first.y, first.untrimmed
    implemented = compute_features(y, sample_rate, specs, **stft, untrimmed=untrimmed)
    compute_features(y, sample_rate, [logmel_spec], **stft)
    naive, _ = naive_features(y, sample_rate, [*specs, logmel_spec], **stft, untrimmed=untrimmed)
    check = {s.name: _relative_difference(naive[s.name], implemented[s.name]) for s in specs}

    load_before = os.getloadavg()[0]
    shape = (repeats, len(tracks))
    padded = np.zeros(len(tracks))
    decode, full, logmel, naive_logmel = (np.zeros(shape) for _ in range(4))
    per_feature = {spec.name: np.zeros(shape) for spec in specs}
    for r in range(repeats):
        for t, path in enumerate(tracks):
            loaded, decode[r, t] = _timed(partial(load, path))
            y, untrimmed = loaded.y, loaded.untrimmed
            padded[t] = loaded.padded_s
            _, full[r, t] = _timed(
                partial(compute_features, y, sample_rate, specs, **stft, untrimmed=untrimmed)
            )
            _, logmel[r, t] = _timed(
                partial(compute_features, y, sample_rate, [logmel_spec], **stft)
            )
            _, seconds = naive_features(y, sample_rate, specs, **stft, untrimmed=untrimmed)
            for name, value in seconds.items():
                per_feature[name][r, t] = value
            _, naive_logmel[r, t] = _timed(
                partial(NAIVE_KINDS["logmel"], y, sample_rate, **stft, **logmel_spec.params)
            )
    naive_full = sum(per_feature.values())

    def best(times: np.ndarray) -> float:
        return float(times.min(axis=0).mean())

    decode_s = best(decode)
    return {
        "measured": {
            "tracks": [str(path) for path in tracks],
            "n_tracks": len(tracks),
            "repeats": repeats,
            "clip_seconds": clip_seconds,
            "sample_rate": sample_rate,
            "n_fft": n_fft,
            "hop_length": hop_length,
            "sets": [spec.name for spec in specs],
            "logmel_set": logmel_spec.name,
            "threads": {name: os.environ.get(name) for name in THREAD_VARIABLES},
            "threads_pinned": THREADS_PINNED,
            "load_average_1min": [load_before, os.getloadavg()[0]],
        },
        "decode_s_per_track": decode_s,
        "all": _scenario(
            best(full), best(naive_full), decode_s, clip_seconds, TARGET_MINUTES["all"]
        ),
        "logmel": _scenario(
            best(logmel), best(naive_logmel), decode_s, clip_seconds, TARGET_MINUTES["logmel"]
        ),
        "naive_per_feature_s": {name: best(times) for name, times in per_feature.items()},
        "per_track": [
            {
                "track": Path(path).name,
                "padded_s": float(padded[t]),
                "decode_s": float(decode[:, t].min()),
                "implemented_s": float(full[:, t].min()),
                "naive_s": float(naive_full[:, t].min()),
            }
            for t, path in enumerate(tracks)
        ],
        "max_relative_difference": check,
    }


# --- Snakemake's overhead -------------------------------------------------------------------


def job_benchmarks(directory: str | os.PathLike, cores: int) -> dict[str, Any]:
    """Sum of the shard jobs' Snakemake benchmark times (``shard*.tsv``: ``s``, ``cpu_time``)."""
    files = sorted(Path(directory).glob("shard*.tsv"))
    if not files:
        raise FileNotFoundError(f"no shard*.tsv benchmark files in {directory}")
    table = pd.concat([pd.read_csv(path, sep="\t") for path in files], ignore_index=True)
    found = {
        "directory": str(directory),
        "n_jobs": len(files),
        "cores": cores,
        "sum_s": float(table["s"].sum()),
        "sum_cpu_time": float(table["cpu_time"].sum()),
        "max_s": float(table["s"].max()),
    }
    tables = Path(directory) / "tables.tsv"
    if tables.exists():
        found["tables_s"] = float(pd.read_csv(tables, sep="\t")["s"].sum())
    return found


def add_overhead(jobs: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """Stage wall time against the jobs' compute spread over the cores."""
    cores = jobs["cores"]
    return dict(
        jobs,
        wall_s=wall_s,
        overhead_vs_s=wall_s / (jobs["sum_s"] / cores),
        overhead_vs_cpu=wall_s / (jobs["sum_cpu_time"] / cores),
    )


def _children_cpu_s() -> float:
    """CPU seconds of this process's finished (and waited-for) descendants, recursively."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _snakemake(project: Path, cores: int, target: str, config: Path) -> tuple[float, float]:
    """Build ``target`` with Snakemake in ``project``: wall and CPU seconds of all processes.

    Both include Snakemake's start-up and DAG building; the CPU seconds are every process of
    the run (Snakemake, job scripts), from ``getrusage``, not sampled.
    """
    # the target goes before --configfile, which takes one or more files
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores), target]
    command += ["--configfile", str(config)]
    cpu, start = _children_cpu_s(), time.perf_counter()
    result = subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu_s() - cpu
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        raise RuntimeError(f"{' '.join(command)} failed in {project}:\n{tail}")
    return wall, cpu


def workflow_stage(
    *, clips_per_genre: int, clip_seconds: float, cores: int, keep: bool = False
) -> dict[str, Any]:
    """Time the demo's feature stage through Snakemake in a scratch copy of the project.

    The data stage is built first, untimed; then ``results/features/demo/tracks.csv`` (every
    ``extract_features`` shard and ``feature_tables``) is built and its wall time measured.
    """
    scratch = Path(tempfile.mkdtemp(prefix="genreflow-bench-"))
    try:
        for entry in PROJECT_ENTRIES:
            source = PROJECT_ROOT / entry
            if source.is_dir():
                ignore = shutil.ignore_patterns("downloads", "__pycache__", "*.egg-info")
                shutil.copytree(source, scratch / entry, ignore=ignore)
            else:
                shutil.copy2(source, scratch / entry)
        overrides = {"demo": {"clips_per_genre": clips_per_genre, "clip_seconds": clip_seconds}}
        config = scratch / "config" / "benchmark.yaml"
        config.write_text(yaml.safe_dump(overrides))
        data_wall, _ = _snakemake(scratch, cores, "results/data/demo/manifest.csv", config)
        load = [os.getloadavg()[0]]
        wall, cpu = _snakemake(scratch, cores, "results/features/demo/tracks.csv", config)
        load.append(os.getloadavg()[0])
        jobs = job_benchmarks(scratch / "results/benchmarks/demo/features", cores)
        n_tracks = len(pd.read_csv(scratch / "results/features/demo/tracks.csv"))
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    return dict(
        add_overhead(jobs, wall),
        stage_cpu_s=cpu,
        load_average_1min=load,
        overhead_vs_stage_cpu=wall / (cpu / cores),
        n_tracks=n_tracks,
        clip_seconds=clip_seconds,
        data_stage_wall_s=data_wall,
        project=str(scratch) if keep else None,
    )


# --- inputs and the command line ------------------------------------------------------------


def _spread(items: Sequence, n: int) -> list:
    """``n`` items evenly spaced over ``items`` (all when there are no more)."""
    if len(items) <= n:
        return list(items)
    return [items[i] for i in np.linspace(0, len(items) - 1, n).round().astype(int)]


def default_tracks(n_demo: int, folder: Path) -> list[Path]:
    """The real GTZAN fixtures plus ``n_demo`` demo clips synthesised at GTZAN's 30 s.

    Full-length clips, not the demo's 10 s ones zero-padded to 30 s: padding is cheap
    for both paths and would misrepresent full GTZAN. One clip per genre in turn.
    """
    from genreflow.checksums import canonical_wav_bytes
    from genreflow.demo.synth import GENRES, make_artist, render_clip, to_int16

    fixtures = PROJECT_ROOT / "tests" / "fixtures" / "audio"
    tracks = [fixtures / name for name in FIXTURE_TRACKS if (fixtures / name).exists()]
    for i in range(n_demo):
        genre = GENRES[i % len(GENRES)]
        rng = np.random.default_rng([1234, i])
        clip = render_clip(genre, 30.0, 22050, rng, make_artist(genre, 0, rng))
        path = folder / f"{genre}.{i:05d}.wav"
        path.write_bytes(canonical_wav_bytes(to_int16(clip), 22050))
        tracks.append(path)
    return tracks


def expand_tracks(items: Sequence[str], n_per_folder: int) -> list[Path]:
    """Files as given; folders as up to ``n_per_folder`` of their audio files."""
    tracks = []
    for item in map(Path, items):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            tracks += _spread(found, n_per_folder)
        else:
            tracks.append(item)
    return tracks


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [list(map(str, headers))] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells
    ]
    return "\n".join([lines[0], "  ".join("-" * width for width in widths), *lines[1:]])


def format_report(result: dict[str, Any]) -> str:
    """The benchmark's numbers as plain-text tables."""
    m = result["measured"]
    load = m["load_average_1min"]
    threads = "1 thread (pinned before numpy import)" if m["threads_pinned"] else "not pinned"
    out = [
        (
            f"Measured: {m['n_tracks']} track(s) at {m['sample_rate']} Hz, padded or trimmed to "
            f"{m['clip_seconds']:g} s; best of {m['repeats']} repeat(s) per track, mean over "
            f"tracks; after 1 untimed warm-up track; {threads}."
        ),
        (
            f"Feature sets: {', '.join(m['sets'])} (n_fft {m['n_fft']}, hop {m['hop_length']}); "
            f"{os.cpu_count()} CPUs, 1-min load average {load[0]:.2f} before and {load[1]:.2f} "
            "after timing (other processes share the cores)."
        ),
        (
            f"Decode (load_track, once per track, both paths): {result['decode_s_per_track']:.4f} s"
            " per track."
        ),
        (
            f"GTZAN extrapolation: {GTZAN_TRACKS} tracks x {GTZAN_SECONDS:g} s on {GTZAN_CORES} "
            f"cores = {GTZAN_TRACKS} x (s/track incl. decode) x {GTZAN_SECONDS:g}/"
            f"{m['clip_seconds']:g} / {GTZAN_CORES}."
        ),
        "",
    ]
    rows = []
    sets = "all sets" if m.get("all_configured", True) else "selected sets"
    for key, label in (("all", sets), ("logmel", f"{m['logmel_set']} alone")):
        scenario = result[key]
        for path in ("implemented", "naive"):
            p = scenario[path]
            rows.append(
                [
                    label,
                    path,
                    f"{p['s_per_track']:.4f}",
                    f"{p['s_per_track_with_decode']:.4f}",
                    f"{p['tracks_per_s_per_core']:.2f}",
                    f"{scenario['speedup']:.2f}x" if path == "implemented" else "",
                    f"{p['gtzan_minutes']:.2f}",
                    f"< {scenario['target_minutes']:g}",
                    "PASS" if p["pass"] else "FAIL",
                ]
            )
    headers = [
        "features",
        "path",
        "transform s/track",
        "+decode s/track",
        "tracks/s/core",
        "speed-up",
        "GTZAN min (2 cores)",
        "target min",
        "result",
    ]
    out += [_table(headers, rows), ""]
    naive = result["naive_per_feature_s"]
    total = sum(naive.values())
    feature_rows = [
        [
            name,
            f"{s:.4f}",
            f"{100 * s / total:.1f}%",
            f"{result['max_relative_difference'][name]:.1e}",
        ]
        for name, s in sorted(naive.items(), key=lambda item: -item[1])
    ]
    feature_rows.append(["total", f"{total:.4f}", "100.0%", ""])
    headers = ["naive feature", "s/track", "share", "max |naive-impl|/max|impl| (warm-up)"]
    out += [_table(headers, feature_rows), ""]
    track_rows = [
        [
            row["track"],
            f"{row['padded_s']:.1f}",
            f"{row['implemented_s']:.4f}",
            f"{row['naive_s']:.4f}",
            f"{row['naive_s'] / row['implemented_s']:.2f}x",
        ]
        for row in result["per_track"]
    ]
    headers = ["track (all sets)", "zero-padded s", "implemented s", "naive s", "speed-up"]
    out.append(_table(headers, track_rows))
    for key, title in (("workflow", "Snakemake feature stage"), ("jobs", "Snakemake benchmark")):
        if key in result:
            out += ["", title + ":", format_jobs(result[key])]
    return "\n".join(out)


def format_jobs(jobs: dict[str, Any]) -> str:
    """Snakemake job benchmark sums and, with a wall time, the overhead ratios."""
    cores = jobs["cores"]
    lines = []
    if "n_tracks" in jobs:
        lines.append(
            f"  demo: {jobs['n_tracks']} tracks x {jobs['clip_seconds']:g} s, every configured "
            f"set; data stage built first, untimed ({jobs['data_stage_wall_s']:.1f} s)"
        )
    lines.append(
        f"  {jobs['n_jobs']} extract_features job(s): sum s {jobs['sum_s']:.2f}, "
        f"sum cpu_time {jobs['sum_cpu_time']:.2f}, longest job {jobs['max_s']:.2f} s"
        + (f"; feature_tables {jobs['tables_s']:.2f} s" if "tables_s" in jobs else "")
    )
    if "stage_cpu_s" in jobs:
        lines.append(
            f"  stage (snakemake --cores {cores}, start-up included): wall {jobs['wall_s']:.2f} s,"
            f" CPU {jobs['stage_cpu_s']:.2f} s (every process, getrusage); 1-min load average"
            " {:.2f} before, {:.2f} after".format(*jobs["load_average_1min"])
        )
    elif "wall_s" in jobs:
        lines.append(f"  stage wall {jobs['wall_s']:.2f} s (--stage-wall-s)")
    if "wall_s" in jobs:
        lines.append(f"  wall / (sum s / {cores})         = {jobs['overhead_vs_s']:.2f}")
        if "stage_cpu_s" in jobs:
            ratio = jobs["overhead_vs_stage_cpu"]
            lines.append(f"  wall / (stage CPU / {cores})     = {ratio:.2f}")
        lines.append(f"  wall / (sum cpu_time / {cores})  = {jobs['overhead_vs_cpu']:.2f}")
    if jobs["max_s"] > CPU_TIME_SAMPLED_S:
        lines.append(
            "  note: Snakemake samples cpu_time every 0.5 s for a job's first 15 s, then every"
            " 30 s, so it misses the end of longer jobs; trust s (and the stage CPU)"
        )
    if "in_process_cpu_s" in jobs:
        cpu = jobs["in_process_cpu_s"]
        lines.append(
            f"  in-process, same number of tracks (implemented incl. decode, unpadded tracks, "
            f"scaled to "
            f"{jobs['clip_seconds']:g} s): CPU {cpu:.2f} s, {cpu / cores:.2f} s on {cores} cores;"
            f" stage CPU / that = {jobs['stage_cpu_s'] / cpu:.2f}, wall / (that / {cores}) = "
            f"{jobs['wall_s'] / (cpu / cores):.2f}"
        )
    return "\n".join(lines)


def _merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated recursively by ``overrides`` (as Snakemake merges --configfile)."""
    merged = dict(base)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            value = _merged(merged[key], value)
        merged[key] = value
    return merged


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.features", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--tracks",
        nargs="+",
        help="audio files or folders (default: the GTZAN fixtures plus --n-tracks 30 s demo clips)",
    )
    parser.add_argument(
        "--n-tracks", type=int, default=8, help="demo tracks added, or files per folder (8)"
    )
    parser.add_argument("--clip-seconds", type=float, default=30.0, help="pad or trim to (30)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per track (3)")
    parser.add_argument("--sets", help="comma-separated feature set names (default: all)")
    parser.add_argument(
        "--config", type=Path, help="config merged over config/config.yaml (e.g. a preset)"
    )
    parser.add_argument("--results", type=Path, help="folder of shard*.tsv job benchmarks")
    parser.add_argument("--stage-wall-s", type=float, help="measured wall time of that stage")
    parser.add_argument("--cores", type=int, default=GTZAN_CORES, help="Snakemake cores (2)")
    parser.add_argument(
        "--workflow", action="store_true", help="also run the demo feature stage via Snakemake"
    )
    parser.add_argument("--workflow-clips-per-genre", type=int, default=8)
    parser.add_argument("--workflow-clip-seconds", type=float, default=30.0)
    parser.add_argument("--keep", action="store_true", help="keep the --workflow scratch copy")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    config = yaml.safe_load(BASE_CONFIG.read_text())
    if args.config:
        config = _merged(config, yaml.safe_load(args.config.read_text()))
    features = dict(config["features"], clip_seconds=args.clip_seconds)
    settings = FeatureSettings.from_dict(features)
    specs = list(settings.stft_specs)
    if args.sets:
        try:
            specs = [settings.spec(name.strip()) for name in args.sets.split(",")]
        except KeyError as exc:
            raise SystemExit(f"--sets: {exc.args[0]}") from None
    logmel = next((s for s in settings.specs if s.name == "logmel"), DEFAULT_LOGMEL)
    scratch = tempfile.TemporaryDirectory(prefix="genreflow-bench-")
    tracks = (
        expand_tracks(args.tracks, args.n_tracks)
        if args.tracks
        else default_tracks(args.n_tracks, Path(scratch.name))
    )
    if not tracks:
        raise SystemExit("no tracks: pass --tracks")
    result = benchmark(
        tracks,
        specs,
        logmel_spec=logmel,
        sample_rate=settings.sample_rate,
        clip_seconds=args.clip_seconds,
        n_fft=settings.n_fft,
        hop_length=settings.hop_length,
        repeats=args.repeats,
    )
    result["measured"]["all_configured"] = specs == list(settings.stft_specs)
    if args.results:
        jobs = job_benchmarks(args.results, args.cores)
        result["jobs"] = add_overhead(jobs, args.stage_wall_s) if args.stage_wall_s else jobs
    if args.workflow:
        result["workflow"] = workflow_stage(
            clips_per_genre=args.workflow_clips_per_genre,
            clip_seconds=args.workflow_clip_seconds,
            cores=args.cores,
            keep=args.keep,
        )
        if result["measured"]["all_configured"]:  # the workflow computes every configured set
            workflow = result["workflow"]
            # zero-padded tracks are cheaper than the demo's full-length ones: leave them out
            rows = [r for r in result["per_track"] if r["padded_s"] == 0] or result["per_track"]
            per_track = np.mean([r["implemented_s"] + r["decode_s"] for r in rows])
            scale = workflow["clip_seconds"] / args.clip_seconds
            workflow["in_process_cpu_s"] = float(workflow["n_tracks"] * per_track * scale)
    print(format_report(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
