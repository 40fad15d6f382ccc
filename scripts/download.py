"""Snakemake script of rules download, download_metadata and fetch_weights: fetch and
verify one file (the dataset archive, its metadata, a network's weights)."""

import _bootstrap  # noqa: F401

from pathlib import Path

from genreflow.data.download import ConfigKeys, fetch
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    params = snakemake.params
    checksum = params.checksum
    if hasattr(snakemake.input, "checksum_file"):
        checksum = Path(snakemake.input.checksum_file).read_text().strip()
    fetch(
        params.source,
        snakemake.output[0],
        checksum,
        retries=params.retries,
        timeout_s=params.timeout_s,
        backoff_s=params.backoff_s,
        keys=ConfigKeys(f"{params.config_key}.source", f"{params.config_key}.checksum"),
        allow_prefix=params.allow_prefix,
    )
