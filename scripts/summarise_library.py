"""Snakemake script of rule summarise_library: the classified library on one page."""

import _bootstrap  # noqa: F401

from genreflow.library.summary import read_listing, write_summary
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    write_summary(
        snakemake.input.table,
        snakemake.input.errors,
        read_listing(snakemake.input.info),
        markdown=snakemake.output.markdown,
        figure=snakemake.output.figure,
        page=snakemake.output.page,
        name=params.name,
        model_dir=params.model_dir,
        n_least=params.least_confident,
    )
