"""Snakemake script of rule augment: augmented copies of one shard's tracks."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.data.manifest import read_manifest, usable_tracks
from genreflow.features.augment import Augmentation, augment_tracks
from genreflow.features.shards import shard_of
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    tracks = shard_of(
        usable_tracks(read_manifest(snakemake.input.manifest)),
        params.shard,
        params.n_shards,
    )
    table = augment_tracks(
        tracks,
        [Augmentation.from_dict(block) for block in params.copies],
        params.folder,
        sample_rate=params.sample_rate,
        seed=params.seed,
    )
    write_csv(table, snakemake.output.table)
