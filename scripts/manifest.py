"""Snakemake script of rule manifest: one row per track for every later stage."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.data.manifest import build_manifest
from genreflow.data.registry import read_registry
from genreflow.data.validate import read_validation
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    registry = read_registry(
        snakemake.input.registry,
        subset=snakemake.params.subset,
        genres=snakemake.params.genres,
    )
    repairs = pd.read_csv(snakemake.input.repairs, dtype={"track_id": str}, keep_default_na=False)
    manifest = build_manifest(registry, read_validation(snakemake.input.validation), repairs)
    for status, count in manifest["status"].value_counts().items():
        log.info("manifest: %d track(s) %s", count, status)
    write_csv(manifest, snakemake.output[0])
