"""Snakemake script of rule extract_features: every feature of one shard's tracks."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.data.manifest import read_manifest, usable_tracks
from genreflow.features.settings import FeatureSettings
from genreflow.features.shards import extract_shard, shard_tracks
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    tracks = shard_tracks(
        usable_tracks(read_manifest(snakemake.input.manifest)),
        params.shard,
        params.n_shards,
        snakemake.input.augmented,
    )
    settings = FeatureSettings.from_dict(params.features)
    write_csv(extract_shard(tracks, settings, params.root), snakemake.output.table)
