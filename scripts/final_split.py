"""Snakemake script of rule final_split: every usable track, train or (early-stopping) val."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.data.manifest import read_manifest
from genreflow.folds import final_split, read_duplicate_groups
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    split = final_split(
        read_manifest(snakemake.input.manifest),
        seed=snakemake.params.seed,
        val_fraction=snakemake.params.val_fraction,
        duplicates=read_duplicate_groups(snakemake.input.duplicates),
    )
    write_csv(split, snakemake.output.split)
