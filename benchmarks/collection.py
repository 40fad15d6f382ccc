"""Your own music at library size: discovery, pinning, quarantine and the duplicate audit,
and the feature stage on long songs against the same songs cut to 30 s.

``python -m benchmarks.collection --songs 2000 --dir /tmp/library`` generates (once; a
later run reuses the folder) a library of ``--songs`` songs in 4 genre folders: mixed
formats (flac, mp3, wav, ogg, m4a, opus), 22.05/44.1/48 kHz, mono and stereo, lengths
log-uniform from 30 s to 8 min. It then times, in one run:

* discovery (the walk the plan does at parse time) and the parse-time check against the pin;
* pinning (MD5 of every file's bytes, header, tags), with ``--threads`` threads;
* the quarantine scan (each file's excerpt and last second decoded);
* the duplicate audit (fingerprints of each excerpt, then matching);
* the feature stage's per-track work (decode + every STFT feature of the default config)
  on ``--feature-songs`` of the songs with the default excerpt (30 s from the middle,
  decoded by seeking), and on the same songs cut to 30 s files (the goal: within 1.5×).

It prints files/s for each step, the audit's cost as a share of the feature stage, and the
ratios; figures measured on this project's machine are in ``docs/measurements.md``.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from genreflow.collection.aliases import load_aliases
from genreflow.collection.discover import discover
from genreflow.collection.pin import pin_collection
from genreflow.collection.pinned import collection_changes
from genreflow.collection.scan import scan_collection
from genreflow.data.audit import audit_duplicates
from genreflow.demo.library import plan_library, write_audio, write_song
from genreflow.excerpts import Excerpt
from genreflow.features.compute import compute_features
from genreflow.features.loading import load_track
from genreflow.features.settings import FeatureSettings
from genreflow.plan.features import resolved_excerpt

ROOT = Path(__file__).resolve().parent.parent
FORMAT_WEIGHTS = {"flac": 0.4, "wav": 0.3, "mp3": 0.12, "m4a": 0.08, "ogg": 0.06, "opus": 0.04}


def _write(args: tuple) -> None:
    write_song(*args)


def make_library(root: Path, n_songs: int, workers: int) -> float:
    """Write the library (skipped when ``root`` already holds it); seconds taken."""
    songs = plan_library(
        n_songs, formats=list(FORMAT_WEIGHTS), weights=list(FORMAT_WEIGHTS.values())
    )
    todo = [(root, s, i) for i, s in enumerate(songs) if not (root / s.relpath).is_file()]
    start = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        list(pool.map(_write, todo, chunksize=8))
    return time.perf_counter() - start


def feature_settings() -> FeatureSettings:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    features = config["features"]
    features = {
        **features,
        "clip_seconds": 30.0,
        "excerpt": resolved_excerpt(features["excerpt"], 30.0),
    }
    return FeatureSettings.from_dict(features)


def feature_seconds(paths: list[Path], settings: FeatureSettings, excerpt: Excerpt | None) -> float:
    """Wall seconds for decode + every STFT feature of ``paths``, one core."""
    start = time.perf_counter()
    for path in paths:
        loaded = load_track(
            path, sample_rate=settings.sample_rate, clip_seconds=30.0, excerpt=excerpt
        )
        compute_features(
            loaded.y,
            loaded.sr,
            list(settings.stft_specs),
            n_fft=settings.n_fft,
            hop_length=settings.hop_length,
            untrimmed=loaded.untrimmed,
        )
    return time.perf_counter() - start


def cut_to_clips(paths: list[Path], dest: Path, excerpt: Excerpt) -> list[Path]:
    """The same songs as 30 s files (their middle 30 s, FLAC), as a dataset's clips."""
    from genreflow.audio import audio_info, decode

    clips = []
    for i, path in enumerate(paths):
        ((offset, seconds),) = excerpt.spans(audio_info(path).duration_s)
        y, rate = decode(path, sample_rate=None, offset_s=offset, duration_s=seconds, mono=False)
        clips.append(write_audio(dest / f"{i:05d}.flac", y.T, rate))
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=2000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/genreflow_library"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--feature-songs", type=int, default=60)
    args = parser.parse_args()
    root = args.dir / "music"
    written = make_library(root, args.songs, args.threads)
    print(f"library: {args.songs} songs under {root} (written in {written:.0f} s)")

    timings = {}
    start = time.perf_counter()
    found = discover(root)
    timings["discover"] = time.perf_counter() - start
    n = len(found.files)
    labels = load_aliases({}, ROOT / "resources" / "genre_aliases.yaml").mapping(
        f.genre_name for f in found.files
    )
    start = time.perf_counter()
    registry = pin_collection(found.root, found.files, labels, threads=args.threads)
    timings["pin"] = time.perf_counter() - start
    pinned = registry.astype(str).replace({"<NA>": "", "nan": ""}).to_dict("records")
    start = time.perf_counter()
    changes = collection_changes(found.root, discover(root).files, pinned, labels)
    timings["check against the pin (parse time)"] = time.perf_counter() - start
    assert not changes, changes.describe()
    settings = feature_settings()
    start = time.perf_counter()
    manifest = scan_collection(
        registry,
        root,
        min_duration_s=5.0,
        silence_peak=1e-4,
        excerpt=settings.excerpt,
        threads=args.threads,
    )
    timings["quarantine scan"] = time.perf_counter() - start
    start = time.perf_counter()
    duplicates = audit_duplicates(
        manifest, registry, excerpt=settings.excerpt, threads=args.threads
    )
    timings["duplicate audit"] = time.perf_counter() - start

    print(
        f"\n{n} files ({(manifest['status'] == 'quarantined').sum()} quarantined, "
        f"{duplicates['group'].nunique() if len(duplicates) else 0} duplicate groups); "
        f"{args.threads} threads"
    )
    hours = pd.to_numeric(registry["duration_s"]).sum() / 3600
    print(f"{hours:.1f} h of audio, {registry['size'].sum() / 2**30:.1f} GiB")
    for step, seconds in timings.items():
        print(f"  {step:38s} {seconds:8.1f} s  {n / seconds:8.1f} files/s")

    rng = np.random.default_rng(0)
    chosen = [root / p for p in rng.choice(registry["path"], args.feature_songs, replace=False)]
    clips = cut_to_clips(chosen, args.dir / "clips", settings.excerpt)
    long_s = feature_seconds(chosen, settings, settings.excerpt)
    clip_s = feature_seconds(clips, settings, settings.excerpt)
    per_file_audit = timings["duplicate audit"] / n
    per_file_features = long_s / len(chosen)
    print(f"\nfeature stage (decode + every STFT feature, one core), {len(chosen)} songs:")
    print(f"  long songs, 30 s excerpt from the middle: {per_file_features:.3f} s/song")
    print(f"  the same 30 s cut into files:            {clip_s / len(clips):.3f} s/song")
    print(f"  ratio long / clip: {long_s / clip_s:.2f} (goal ≤ 1.5)")
    print(
        f"  audit per file ({args.threads} threads) / feature stage per file (1 core): "
        f"{per_file_audit / per_file_features:.1%}; per core: "
        f"{args.threads * per_file_audit / per_file_features:.1%} (goal < 20%)"
    )


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
