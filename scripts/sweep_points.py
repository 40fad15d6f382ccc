"""Snakemake script of rule sweep_points: the table of a sweep's points and their ids."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.logs import script_logging
from genreflow.training.settings import RunSettings
from genreflow.training.sweeps import points_table

with script_logging(snakemake.log[0]) as log:
    points = {
        point: RunSettings.from_dict(settings)
        for point, settings in snakemake.params.points.items()
    }
    table = points_table(points, list(snakemake.params.swept))
    log.info("%d points of %s", len(table), snakemake.wildcards.model)
    write_csv(table, snakemake.output.points)
