"""Snakemake script of rule validate: check every registry track in the dataset copy."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.data.registry import read_registry
from genreflow.data.validate import FormatSpec, validate_tracks
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    registry = read_registry(
        snakemake.input.registry,
        subset=snakemake.params.subset,
        genres=snakemake.params.genres,
    )
    files = pd.read_csv(snakemake.input.inventory, dtype=str, keep_default_na=False)
    table = validate_tracks(
        registry,
        files,
        FormatSpec(**snakemake.params.format),
        strict_checksums=snakemake.params.strict_checksums,
        threads=snakemake.threads,
    )
    write_csv(table, snakemake.output[0])
