"""Snakemake script of rule feature_tables: the track → files index and the summary table."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.features.consolidate import summary_table
from genreflow.features.shards import read_track_table
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    tables = [read_track_table(path) for path in snakemake.input.shards]
    tracks = pd.concat(tables, ignore_index=True).sort_values("track_id", ignore_index=True)
    flagged = tracks[tracks["problems"] != ""]
    for row in flagged.itertuples(index=False):
        log.warning("%s: %s", row.track_id, row.problems)
    log.info("%d track(s), %d with problems (kept)", len(tracks), len(flagged))
    write_csv(tracks, snakemake.output.tracks)
    summary_sets = snakemake.params.summary_sets
    summary = (
        summary_table(tracks, summary_sets[0]) if summary_sets else tracks[["track_id", "genre"]]
    )
    write_csv(summary, snakemake.output.summary)
