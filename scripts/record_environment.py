"""Snakemake script of rule record_environment: Python, the node, every package, and the
weights folder of every clap, mert and muq set (the SHA-256 of each file, the licence)."""

import _bootstrap  # noqa: F401

from genreflow.atomic import write_json
from genreflow.embeddings.checkpoints import provenance
from genreflow.environment import environment_record
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    record = environment_record()
    if record["differs_from_lock"]:
        log.warning(
            "installed versions differ from requirements/lock.txt: %s",
            ", ".join(f"{k} {v[1]} (lock {v[0]})" for k, v in record["differs_from_lock"].items()),
        )
    record["weights"] = {
        name: provenance(block["weights"], block["kind"], block.get("code"), block.get("licence"))
        for name, block in snakemake.params.weights.items()
    }
    write_json(record, snakemake.output[0])
