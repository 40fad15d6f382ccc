"""Snakemake script of rule train_classical: one scikit-learn model on one fold."""

import _bootstrap  # noqa: F401
from pathlib import Path

import pandas as pd

from genreflow.data.manifest import read_manifest
from genreflow.logs import script_logging
from genreflow.training.run import Job, train_classical

with script_logging(snakemake.log[0]):
    wildcards = snakemake.wildcards
    train_classical(
        Job(
            dataset=wildcards.dataset,
            scheme=wildcards.scheme,
            model=wildcards.model,
            fold=int(wildcards.fold),
            out_dir=Path(snakemake.output.model).parent,
        ),
        table=pd.read_csv(snakemake.input.table, dtype={"track_id": str, "source_track_id": str}),
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        manifest=read_manifest(snakemake.input.manifest),
        arch_overrides=snakemake.params.arch,
        training=snakemake.params.training,
    )
