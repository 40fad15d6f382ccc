"""Snakemake script of rule import_precomputed: one precomputed set, checked and copied."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv, write_json
from genreflow.data.manifest import read_manifest, usable_tracks
from genreflow.features.precomputed import import_precomputed
from genreflow.features.settings import FeatureSettings
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    table, record = import_precomputed(
        usable_tracks(read_manifest(snakemake.input.manifest)).sort_values(
            "track_id", ignore_index=True
        ),
        FeatureSettings.from_dict(params.features),
        snakemake.wildcards.feature,
        params.root,
    )
    write_csv(table, snakemake.output.table)
    write_json(record, snakemake.output.record)
