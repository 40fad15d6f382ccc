"""Snakemake script of rule audit_duplicates: groups of tracks holding one recording."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.atomic import write_csv
from genreflow.data.audit import audit_duplicates
from genreflow.data.manifest import read_manifest
from genreflow.excerpts import Excerpt
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]):
    excerpt = snakemake.params.excerpt
    table = audit_duplicates(
        read_manifest(snakemake.input.manifest),
        pd.read_csv(snakemake.input.registry, dtype=str, keep_default_na=False),
        excerpt=Excerpt.from_dict(excerpt) if excerpt else None,
        threads=snakemake.threads,
    )
    write_csv(table, snakemake.output[0])
