"""Snakemake script of checkpoint list_library: the library walked once, in shards."""

import _bootstrap  # noqa: F401

from genreflow.library.listing import write_listing
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    counts = write_listing(
        snakemake.params.library,
        snakemake.params.shard_files,
        listing=snakemake.output.listing,
        problems_table=snakemake.output.problems,
        info=snakemake.output.info,
    )
    log.info(
        "%d audio files in %d shards of up to %d; %d problems; skipped: %s",
        counts["files"],
        counts["shards"],
        counts["shard_files"],
        counts["problems"],
        counts["skipped"] or "nothing",
    )
