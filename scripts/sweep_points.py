"""Snakemake script of rule sweep_points: the table of a sweep's points and their ids."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    table = pd.DataFrame(snakemake.params.rows)
    log.info("%d points of %s", len(table), snakemake.wildcards.model)
    write_csv(table, snakemake.output.points)
