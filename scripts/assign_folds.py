"""Snakemake script of rule assign_folds: track_id, fold, role for one scheme."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv, write_json
from genreflow.data.manifest import read_manifest
from genreflow.folds import assign_folds, fold_summary, leakage, read_duplicate_groups
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    manifest = read_manifest(snakemake.input.manifest)
    registry = pd.read_csv(snakemake.input.registry, dtype=str, keep_default_na=False)
    duplicates = read_duplicate_groups(snakemake.input.duplicates)
    folds = assign_folds(
        manifest,
        snakemake.wildcards.scheme,
        **snakemake.params.folds,
        split_table=registry,
        duplicates=duplicates,
    )
    write_csv(folds, snakemake.output.folds)
    write_csv(fold_summary(folds, manifest), snakemake.output.summary)
    write_json(
        leakage(folds, manifest, snakemake.wildcards.scheme, duplicates, **snakemake.params.folds),
        snakemake.output.leakage,
    )
