"""Snakemake script of rule evaluate_torch: a saved torch fold model on its test part."""

import _bootstrap  # noqa: F401

import json
from pathlib import Path

import pandas as pd
import torch

from genreflow.evaluation.fold import write_fold_evaluation
from genreflow.evaluation.predict import predict_torch_fold
from genreflow.logs import script_logging
from genreflow.training.device import select_device

with script_logging(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    segments, genres = predict_torch_fold(
        snakemake.input.model,
        arrays=snakemake.input.arrays,
        indexes=snakemake.input.indexes,
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        fold=int(snakemake.wildcards.fold),
        device=select_device(snakemake.params.device),
    )
    write_fold_evaluation(
        segments,
        genres,
        identity=dict(snakemake.wildcards.items()),
        outputs=dict(snakemake.output.items()),
        history=json.loads(Path(snakemake.input.history).read_text()),
    )
