"""Snakemake script of rule download: fetch and verify the dataset archive."""

import _bootstrap  # noqa: F401

from pathlib import Path

from genreflow.data.download import fetch
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    checksum = snakemake.params.checksum
    if hasattr(snakemake.input, "checksum_file"):
        checksum = Path(snakemake.input.checksum_file).read_text().strip()
    fetch(
        snakemake.params.source,
        snakemake.output[0],
        checksum,
        retries=snakemake.params.retries,
        timeout_s=snakemake.params.timeout_s,
        backoff_s=snakemake.params.backoff_s,
    )
