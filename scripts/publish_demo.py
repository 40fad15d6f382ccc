"""Snakemake script of rule publish_demo: build the demo dataset's release."""

import _bootstrap  # noqa: F401

from genreflow.demo.publish import publish_demo
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    release = publish_demo(
        dict(snakemake.output.items()),
        clips_per_genre=snakemake.params.clips_per_genre,
        clip_seconds=snakemake.params.clip_seconds,
        seed=snakemake.params.seed,
        sample_rate=snakemake.params.sample_rate,
        artists_per_genre=snakemake.params.artists_per_genre,
    )
