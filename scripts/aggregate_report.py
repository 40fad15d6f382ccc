"""Snakemake script of rule aggregate_report: one fold scheme's tables, tests and figures."""

import _bootstrap  # noqa: F401

import json
from pathlib import Path

import pandas as pd

from genreflow.data.manifest import read_manifest
from genreflow.evaluation.report import write_report
from genreflow.evaluation.summary import RunResult
from genreflow.logs import script_logging
from genreflow.models.registry import Published

with script_logging(snakemake.log[0]):
    inputs = snakemake.input
    results = [
        RunResult.load(*paths)
        for paths in zip(
            inputs.metrics, inputs.tracks, inputs.histories, inputs.configs, inputs.timings
        )
    ]
    models = snakemake.params.models
    write_report(
        results,
        identity=dict(snakemake.wildcards.items()),
        reproduces={name: claim["reproduces"] for name, claim in models.items()},
        published={
            name: Published(**claim["published"]) if claim["published"] else None
            for name, claim in models.items()
        },
        manifest=read_manifest(inputs.manifest),
        duplicates=pd.read_csv(inputs.duplicates, dtype={"track_id": str}, keep_default_na=False),
        leakage=json.loads(Path(inputs.leakage).read_text()),
        registry=pd.read_csv(inputs.registry, dtype=str, keep_default_na=False),
        outputs=dict(snakemake.output.items()),
        seed=snakemake.params.seed,
        environment=inputs.environment,
        deterministic=snakemake.params.deterministic,
    )
