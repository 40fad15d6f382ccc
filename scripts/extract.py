"""Snakemake script of rule extract: unpack the archive and list its audio files."""

import _bootstrap  # noqa: F401

from pathlib import Path

from genreflow.atomic import write_csv
from genreflow.data.extract import inventory, safe_extract
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    extracted = Path(snakemake.output.extracted)
    if snakemake.params.folder:
        root = Path(snakemake.params.folder)
        extracted.mkdir(parents=True, exist_ok=True)
        (extracted / "SOURCE.txt").write_text(f"Tracks are read in place from {root}\n")
    else:
        root = safe_extract(snakemake.input.archive, extracted)
    files = inventory(root, prefer=snakemake.params.layout)
    log.info("found %d audio files under %s", len(files), root)
    write_csv(files, snakemake.output.inventory)
