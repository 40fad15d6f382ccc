"""Snakemake script of rule merge_library: the shard tables joined in the listing's order."""

import _bootstrap  # noqa: F401

from genreflow.library.listing import merge_tables
from genreflow.library.table import ERROR_COLUMNS, row_columns
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    inputs = snakemake.input
    merge_tables(inputs.tables, snakemake.output.table, row_columns(snakemake.params.top_k))
    # the files' errors, shard by shard, then the walk's (links, unreadable folders)
    merge_tables([*inputs.errors, inputs.problems], snakemake.output.errors, ERROR_COLUMNS)
    log.info("merged %d shard tables", len(inputs.tables))
