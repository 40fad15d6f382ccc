"""Snakemake script of rule sweep_report: select a sweep's point on validation track
accuracy, then score the selected point's runs on the test parts, once."""

import _bootstrap  # noqa: F401

from genreflow.evaluation.sweep import run_sweep_report
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    inputs = snakemake.input
    run_sweep_report(
        identity=dict(snakemake.wildcards.items()),
        points=inputs.points,
        # the rule lists (point, seed, fold) of each history and model, in input order
        point_runs=snakemake.params.point_runs,
        histories=inputs.histories,
        models=inputs.models,
        folds=inputs.folds,
        default_metrics=inputs.default_metrics,
        arrays=inputs.arrays,
        indexes=inputs.indexes,
        table=inputs.get("table"),
        swept=snakemake.params.swept,
        default_point=snakemake.params.default_point,
        outputs=dict(snakemake.output.items()),
        threads=snakemake.threads,
    )
