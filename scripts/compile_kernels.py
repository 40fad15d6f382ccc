"""Snakemake script of rule compile_kernels: the run's numba kernels, compiled once."""

import _bootstrap  # noqa: F401  (sets this job's private NUMBA_CACHE_DIR)

import os
import shutil

from genreflow.atomic import atomic_directory, write_json
from genreflow.environment import node_facts
from genreflow.kernels.warmup import warm_kernels
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    ran = warm_kernels(snakemake.params.features, snakemake.params.augmentations)
    log.info("compiled the kernels of: %s", "; ".join(ran))
    with atomic_directory(snakemake.output.cache) as staging:
        shutil.copytree(os.environ["NUMBA_CACHE_DIR"], staging, dirs_exist_ok=True)
    write_json({**node_facts(), "versions": snakemake.params.versions}, snakemake.output.host)
