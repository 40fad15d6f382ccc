"""Snakemake script of rule model_card: card.md of one final model."""

import _bootstrap  # noqa: F401

import json
from pathlib import Path

import pandas as pd

from genreflow.data.manifest import read_manifest
from genreflow.evaluation.card import write_card
from genreflow.logs import script_logging
from genreflow.models.registry import Published

with script_logging(snakemake.log[0]):
    inputs = snakemake.input
    claim = snakemake.params.claim
    write_card(
        snakemake.output.card,
        record=json.loads(Path(inputs.config).read_text()),
        history=json.loads(Path(inputs.history).read_text()),
        summaries={
            scheme: pd.read_csv(path)
            for scheme, path in zip(snakemake.params.schemes, inputs.summaries, strict=True)
        },
        fold_metrics=[json.loads(Path(path).read_text()) for path in inputs.metrics],
        manifest=read_manifest(inputs.manifest),
        published=Published(**claim["published"]) if claim["published"] else None,
        model_dir=snakemake.params.model_dir,
    )
