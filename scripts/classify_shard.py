"""Snakemake script of rule classify_shard: one shard of the library through the model."""

import _bootstrap  # noqa: F401

from genreflow.library.classify import Options
from genreflow.library.listing import read_shard
from genreflow.library.shards import classify_shard
from genreflow.logs import script_logging
from genreflow.training.device import select_device

with script_logging(snakemake.log[0]) as log:
    params = snakemake.params
    options = Options(
        model_dir=params.model_dir,
        device=str(select_device(params.device)),
        whole=params.whole,
        top_k=params.top_k,
        threads=snakemake.threads,
    )
    summary = classify_shard(
        read_shard(snakemake.input.files),
        snakemake.output.table,
        snakemake.output.errors,
        options,
    )
    log.info("%s", summary.describe())
