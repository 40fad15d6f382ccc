"""Cluster resources of the jobs whose work grows with the dataset, from the plan.

A feature or embedding job holds ``n_tracks / n_shards`` tracks (``features.max_jobs``
bounds the number of jobs, so at FMA-large's size each holds about 1,700): its SLURM
runtime is computed here from measured one-core costs per 30 s clip
(``docs/measurements.md``) times a margin for slower nodes, so a cluster run of any
preset asks for what its jobs need without anyone editing ``profiles/slurm``.
Consolidation streams the per-track files into one array file (its memory does not
grow); its runtime grows with the tracks. A torch training job's runtime grows with its
examples times its epochs, at the model's measured CPU rate, capped at a week: an upper
bound on a GPU node (no GPU has been measured), where ``--set-resources
train_torch:runtime=...`` may lower it. Its memory does not grow: folds above
``FOLD_MEMORY_BYTES`` (2 GiB) are read batch by batch (``genreflow.training.data``), so
the rule's fixed request covers any dataset.
Light: no imports beyond the standard library.
"""

from __future__ import annotations

import math

CLIP_SECONDS = 30.0  # a clip of unknown length is costed as a 30 s one (the costs' unit)

# one-core seconds per 30 s clip (docs/measurements.md, 2026-12-06): every STFT set of
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
# training segments a second, forward and backward, batch 32, one job on the 2-core VM
# (docs/measurements.md, "Training throughput", 2026-11-22), at GTZAN's segment shapes
TRAIN_SEGMENTS_PER_S = {
    "gru_seed002": 749.0,
    "bilstm_seed004": 357.0,
    "cnn_seed001": 188.0,
    "hybrid_seed004": 169.0,
    "cnn_lstm_attn_seed000": 95.0,
    "cnn_gru_attn_seed002": 79.0,
    "cnn_gru_seed002": 74.0,
    "resnet_cnn_seed004": 74.0,
    "cnn_seed002": 67.0,
    "shortchunk_resnet": 16.0,
    "unet_parallel_seed003": 3.0,
    # the probes, measured 2026-12-07 on a VM where cnn_seed001 ran at a third of the
    # rate above (62.9): slower than the rest of the table, so conservative
    "musicnn_mlp": 6523.0,
    "marble_mlp": 6462.0,
}
VALIDATION_SHARE = 0.25  # validating an epoch: forward passes on the val part
UNMEASURED_TRAINING_RUNTIME = 240  # minutes: a model without a measured rate (a new one)
MAX_TRAINING_RUNTIME = 7 * 24 * 60  # a common partition limit; longer needs a GPU node
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
    clip = (clip_seconds or CLIP_SECONDS) / CLIP_SECONDS
    return _minutes(STFT_CPU_S * clip * tracks_per_job(n_tracks, n_shards))


def embedding_runtime(kind: str, n_tracks: int, n_shards: int, clip_seconds: float | None) -> int:
    """Minutes for one extract_embeddings job of a ``kind`` set, at one-core CPU speed
    (on a GPU it finishes far sooner; the request is an upper bound)."""
    clip = (clip_seconds or CLIP_SECONDS) / CLIP_SECONDS
    per_clip = EMBEDDING_CPU_S.get(kind, max(EMBEDDING_CPU_S.values()))
    return _minutes(per_clip * clip * tracks_per_job(n_tracks, n_shards))


def consolidate_runtime(n_tracks: int) -> int:
    """Minutes for one consolidate_features job (every track of one set)."""
    return _minutes(CONSOLIDATE_S_PER_TRACK * n_tracks)


def segments_per_clip(clip_seconds: float | None, seconds: float | None, hop: float | None) -> int:
    """Training examples one clip gives a segmentation (``seconds`` None: the whole clip)."""
    if seconds is None:
        return 1
    clip = clip_seconds or CLIP_SECONDS
    return 1 + max(0, math.floor((clip - seconds) / (hop or seconds) + 1e-9))


def training_runtime(model: str, n_examples: int, epochs: int) -> int:
    """Minutes for one torch training job: ``epochs`` passes over ``n_examples`` training
    examples (segments, augmented copies included) at ``model``'s measured CPU rate, at
    most :data:`MAX_TRAINING_RUNTIME`; :data:`UNMEASURED_TRAINING_RUNTIME` for a model
    whose rate was not measured."""
    rate = TRAIN_SEGMENTS_PER_S.get(model)
    if rate is None:
        return UNMEASURED_TRAINING_RUNTIME
    return min(MAX_TRAINING_RUNTIME, _minutes(epochs * n_examples * (1 + VALIDATION_SHARE) / rate))
