"""Snakemake script of rule evaluate_classical: a saved scikit-learn fold model on its test part."""

import _bootstrap  # noqa: F401

import pandas as pd

from genreflow.evaluation.fold import write_fold_evaluation
from genreflow.evaluation.predict_classical import predict_classical_fold
from genreflow.logs import script_logging
from genreflow.training.classical_data import load_classical_data

with script_logging(snakemake.log[0]):
    segments, genres = predict_classical_fold(
        snakemake.input.model,
        data=load_classical_data(
            table=snakemake.input.get("table"),
            arrays=snakemake.input.arrays,
            indexes=snakemake.input.indexes,
        ),
        folds=pd.read_csv(snakemake.input.folds, dtype={"track_id": str}),
        fold=int(snakemake.wildcards.fold),
    )
    write_fold_evaluation(
        segments,
        genres,
        identity=dict(snakemake.wildcards.items()),
        outputs=dict(snakemake.output.items()),
    )
