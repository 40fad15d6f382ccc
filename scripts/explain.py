"""Snakemake script of rule explain: Grad-CAM and IG of a few test tracks of one fold model."""

import _bootstrap  # noqa: F401

import pandas as pd
import torch

from genreflow.explain.examples import explain_fold
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    explain_fold(
        snakemake.input.model,
        arrays=snakemake.input.arrays,
        indexes=snakemake.input.indexes,
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        fold=int(snakemake.wildcards.fold),
        n_tracks=snakemake.params.tracks,
        steps=snakemake.params.steps,
        max_steps=snakemake.params.max_steps,
        figure=snakemake.output.figure,
        table=snakemake.output.table,
    )
