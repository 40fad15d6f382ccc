"""Cluster resources of the jobs whose work grows with the dataset, from the plan.

A feature or embedding job holds ``n_tracks / n_shards`` tracks (``features.max_jobs``
bounds the number of jobs, so at FMA-large's size each holds about 1,700): its SLURM
runtime is computed here from measured one-core costs per 30 s clip
(``benchmarks/RESULTS.md``) times a margin for slower nodes, so a cluster run of any
preset asks for what its jobs need without anyone editing ``profiles/slurm``.
Consolidation streams the per-track files into one array file (its memory does not
grow); its runtime grows with the tracks. Light: no imports beyond the standard
library.
"""

from __future__ import annotations

import math

# one-core seconds per 30 s clip (benchmarks/RESULTS.md, 2026-12-06): every STFT set of
# config/config.yaml, decoding included; and each embedding kind's network (the larger
# checkpoint where a kind has two; vggish was not measured: musicnn's size is close)
STFT_CPU_S = 0.37
EMBEDDING_CPU_S = {
    "musicnn": 0.49,
    "vggish": 0.49,
    "clap": 1.30,
    "mert": 23.8,
    "muq": 38.6,
}
CONSOLIDATE_S_PER_TRACK = 0.002  # one .npy read and copied (benchmarks/scale.py)
MARGIN = 3.0  # a slower or busier node than the measuring VM
START_MINUTES = 5  # interpreter, imports, kernels
MIN_RUNTIME = 15  # minutes: no job asks for less


def _minutes(cpu_seconds: float) -> int:
    return max(MIN_RUNTIME, math.ceil(MARGIN * cpu_seconds / 60) + START_MINUTES)


def tracks_per_job(n_tracks: int, n_shards: int) -> int:
    """The most tracks one shard job holds (shards are contiguous, near-equal blocks)."""
    return -(-n_tracks // max(1, n_shards))


def feature_runtime(n_tracks: int, n_shards: int, clip_seconds: float | None) -> int:
    """Minutes for one extract_features job (its tracks' STFT sets)."""
    clip = (clip_seconds or 30.0) / 30.0
    return _minutes(STFT_CPU_S * clip * tracks_per_job(n_tracks, n_shards))


def embedding_runtime(kind: str, n_tracks: int, n_shards: int, clip_seconds: float | None) -> int:
    """Minutes for one extract_embeddings job of a ``kind`` set, at one-core CPU speed
    (on a GPU it finishes far sooner; the request is an upper bound)."""
    clip = (clip_seconds or 30.0) / 30.0
    per_clip = EMBEDDING_CPU_S.get(kind, max(EMBEDDING_CPU_S.values()))
    return _minutes(per_clip * clip * tracks_per_job(n_tracks, n_shards))


def consolidate_runtime(n_tracks: int) -> int:
    """Minutes for one consolidate_features job (every track of one set)."""
    return _minutes(CONSOLIDATE_S_PER_TRACK * n_tracks)
