"""Snakemake script of rule train_torch: one torch model on one fold."""

import _bootstrap  # noqa: F401

import pandas as pd
import torch

from genreflow.data.manifest import read_manifest
from genreflow.embeddings.precomputed import read_records
from genreflow.logs import script_logging
from genreflow.training.job import Job
from genreflow.training.run import train_torch
from genreflow.training.settings import RunSettings

with script_logging(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    train_torch(
        Job.from_rule(
            dict(snakemake.wildcards.items()),
            dict(snakemake.output.items()),
            seed=snakemake.params.seed,
        ),
        settings=RunSettings.from_dict(snakemake.params.run),
        features=snakemake.params.features,
        arrays=snakemake.input.arrays,
        indexes=snakemake.input.indexes,
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        manifest=read_manifest(snakemake.input.manifest),
        # the import records of precomputed inputs (their source's checksum)
        precomputed=read_records(snakemake.input.get("precomputed", [])),
    )
