"""Snakemake script of rule consolidate_features: one array per feature and segmentation."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.features.consolidate import consolidate_feature
from genreflow.features.settings import FeatureSettings, segmentations
from genreflow.features.shards import read_track_table
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    settings = FeatureSettings.from_dict(params.features)
    segmentation = segmentations(params.features["segments"])[snakemake.wildcards.segments]
    # tracks.csv, or an embedding set's shard tables
    tracks = pd.concat([read_track_table(path) for path in snakemake.input.tracks])
    consolidate_feature(
        tracks,
        snakemake.wildcards.feature,
        segmentation,
        settings,
        snakemake.output.array,
        snakemake.output.index,
    )
