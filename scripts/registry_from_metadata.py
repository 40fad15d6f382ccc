"""Snakemake script of rule registry_from_metadata: the track registry of FMA from tracks.csv."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.data.fma import fma_registry, read_tracks
from genreflow.errors import DataError
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    registry = fma_registry(
        read_tracks(snakemake.input.metadata),
        snakemake.params.subset,
        unlabelled=snakemake.params.unlabelled,
    )
    wanted = snakemake.params.genres
    if wanted is not None:
        unknown = sorted(set(wanted) - set(registry["genre"]))
        if unknown:
            raise DataError(
                f"dataset.genres: {', '.join(unknown)} not in {snakemake.input.metadata}; "
                f"it has {', '.join(sorted(registry['genre'].unique()))}."
            )
    counts = registry["genre"].value_counts().sort_index()
    log.info(
        "%d tracks of the %s subset: %s",
        len(registry),
        snakemake.params.subset,
        ", ".join(f"{genre} {n}" for genre, n in counts.items()),
    )
    write_csv(registry, snakemake.output.registry)
