"""Snakemake script of rule train_classical: one scikit-learn model on one fold."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.data.manifest import read_manifest
from genreflow.embeddings.precomputed import read_records
from genreflow.logs import script_logging
from genreflow.training.classical_data import load_classical_data
from genreflow.training.job import Job
from genreflow.training.run_classical import train_classical
from genreflow.training.settings import RunSettings

with script_logging(snakemake.log[0]):
    train_classical(
        Job.from_rule(
            dict(snakemake.wildcards.items()),
            dict(snakemake.output.items()),
            seed=snakemake.params.seed,
        ),
        settings=RunSettings.from_dict(snakemake.params.run),
        features=snakemake.params.features,
        data=load_classical_data(
            table=snakemake.input.get("table"),
            arrays=snakemake.input.arrays,
            indexes=snakemake.input.indexes,
        ),
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        manifest=read_manifest(snakemake.input.manifest),
        # the import records of precomputed inputs (their source's checksum)
        precomputed=read_records(snakemake.input.get("precomputed", [])),
    )
