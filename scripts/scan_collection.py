"""Snakemake script of rule scan_collection: the manifest of your own music."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.collection.scan import check_usable, scan_collection
from genreflow.excerpts import Excerpt
from genreflow.logs import script_logging

params = snakemake.params
with script_logging(snakemake.log[0]) as log:
    registry = pd.read_csv(snakemake.input.registry, dtype=str, keep_default_na=False)
    if params.genres is not None:
        registry = registry[registry["genre"].isin(params.genres)]
    manifest = scan_collection(
        registry.sort_values("track_id", ignore_index=True),
        params.root,
        min_duration_s=params.min_duration_s,
        silence_peak=params.silence_peak,
        excerpt=Excerpt.from_dict(params.excerpt) if params.excerpt else None,
        threads=snakemake.threads,
    )
    for status, count in manifest["status"].value_counts().items():
        log.info("manifest: %d track(s) %s", count, status)
    check_usable(manifest, max_bad_share=params.max_bad_share, min_per_genre=params.min_per_genre)
    write_csv(manifest, snakemake.output[0])
