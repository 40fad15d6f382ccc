"""Snakemake script of rule repair: re-derive, salvage or quarantine failed tracks."""

import _bootstrap  # noqa: F401

from pathlib import Path

from genreflow.atomic import write_csv
from genreflow.data.repair import repair_tracks
from genreflow.data.validate import FormatSpec, read_validation
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    Path(snakemake.output.repaired).mkdir(parents=True, exist_ok=True)
    table = repair_tracks(
        read_validation(snakemake.input.validation),
        snakemake.input.sources,
        snakemake.output.repaired,
        FormatSpec(**snakemake.params.format),
        strict_checksums=snakemake.params.strict_checksums,
    )
    write_csv(table, snakemake.output.repairs)
