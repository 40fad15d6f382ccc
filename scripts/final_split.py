"""Snakemake script of rule final_split: every usable track, train or (early-stopping) val."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.data.manifest import read_manifest
from genreflow.folds import final_split
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    split = final_split(
        read_manifest(snakemake.input.manifest),
        seed=snakemake.params.seed,
        val_fraction=snakemake.params.val_fraction,
    )
    write_csv(split, snakemake.output.split)
