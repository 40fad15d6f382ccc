"""Snakemake script of rule extract_embeddings: one embedding set of one shard's tracks."""

import _bootstrap  # noqa: F401

import torch

from genreflow.atomic import write_csv
from genreflow.data.manifest import read_manifest, usable_tracks
from genreflow.features.embedding_shards import extract_embedding_shard
from genreflow.features.settings import FeatureSettings
from genreflow.features.shards import shard_tracks
from genreflow.logs import script_logging
from genreflow.training.device import select_device

with script_logging(snakemake.log[0]):
    params = snakemake.params
    torch.set_num_threads(snakemake.threads)
    tracks = shard_tracks(
        usable_tracks(read_manifest(snakemake.input.manifest)),
        params.shard,
        params.n_shards,
        snakemake.input.augmented,
    )
    settings = FeatureSettings.from_dict(params.features)
    table = extract_embedding_shard(
        tracks,
        settings,
        snakemake.wildcards.feature,
        params.root,
        device=str(select_device(params.device)),
        batch_size=params.batch_size,
        files={parameter: snakemake.input[parameter] for parameter in params.weights},
    )
    write_csv(table, snakemake.output.table)
