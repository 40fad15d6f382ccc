"""Snakemake script of rule pin_collection: the registry of your own music."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_csv
from genreflow.collection.discover import discover
from genreflow.collection.pin import pin_collection
from genreflow.errors import DataError
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    found = discover(snakemake.params.source)
    if found.problems:
        raise DataError("\n".join(found.problems))
    registry = pin_collection(
        found.root, found.files, snakemake.params.labels, threads=snakemake.threads
    )
    write_csv(registry, snakemake.output.registry)
