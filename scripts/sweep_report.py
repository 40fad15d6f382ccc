"""Snakemake script of rule sweep_report: select a sweep's point on validation, test it once."""

import _bootstrap  # noqa: F401

import json
from pathlib import Path

import pandas as pd
import torch

from genreflow.evaluation.predict import predict_torch_fold
from genreflow.evaluation.sweep import summarise_points, validation_scores, write_sweep_report
from genreflow.evaluation.tables import track_table
from genreflow.logs import script_logging

with script_logging(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    inputs = snakemake.input
    points = pd.read_csv(inputs.points, dtype={"point": str})
    # the rule lists (point, fold) of each history and model, in input order
    point_folds = [(point, int(fold)) for point, fold in snakemake.params.point_folds]
    histories = {
        key: json.loads(Path(path).read_text())
        for key, path in zip(point_folds, inputs.histories, strict=True)
    }
    models = dict(zip(point_folds, inputs.models, strict=True))
    scores = validation_scores(histories)
    selected = summarise_points(points, scores).iloc[0]["point"]
    log.info("selected point %s on validation accuracy", selected)
    folds = pd.read_csv(inputs.folds, dtype={"track_id": str})
    selected_accuracy = []
    for (point, fold), model in models.items():
        if point != selected:
            continue
        segments, genres = predict_torch_fold(
            model,
            arrays=inputs.arrays,
            indexes=inputs.indexes,
            folds=folds,
            fold=fold,
            device=torch.device("cpu"),
        )
        tracks = track_table(segments, genres)
        selected_accuracy.append(float((tracks["genre"] == tracks["predicted"]).mean()))
    defaults = [json.loads(Path(path).read_text()) for path in inputs.default_metrics]
    write_sweep_report(
        identity=dict(snakemake.wildcards.items()),
        points=points,
        scores=scores,
        swept=list(snakemake.params.swept),
        default_point=snakemake.params.default_point,
        test={
            f"selected ({selected})": {"track_accuracy": selected_accuracy},
            "default": {"track_accuracy": [m["track_accuracy"] for m in defaults]},
        },
        outputs=dict(snakemake.output.items()),
    )
