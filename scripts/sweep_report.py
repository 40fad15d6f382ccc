"""Snakemake script of rule sweep_report: select a sweep's point on validation track
accuracy, then score the selected point's runs on the test parts, once."""

import _bootstrap  # noqa: F401

import json
from pathlib import Path

import pandas as pd

from genreflow.evaluation.sweep import summarise_points, validation_scores, write_sweep_report
from genreflow.evaluation.tables import track_table
from genreflow.logs import script_logging


def test_segments(model, inputs, folds, fold):
    """The segment table of a saved run's test part, torch or scikit-learn."""
    if str(model).endswith(".pt"):
        import torch

        from genreflow.evaluation.predict import predict_torch_fold

        torch.set_num_threads(snakemake.threads)
        return predict_torch_fold(
            model,
            arrays=inputs.arrays,
            indexes=inputs.indexes,
            folds=folds,
            fold=fold,
            device=torch.device("cpu"),
        )
    from genreflow.evaluation.predict_classical import predict_classical_fold
    from genreflow.training.classical_data import load_classical_data

    data = load_classical_data(
        table=inputs.get("table"), arrays=inputs.arrays, indexes=inputs.indexes
    )
    return predict_classical_fold(model, data=data, folds=folds, fold=fold)


with script_logging(snakemake.log[0]) as log:
    inputs = snakemake.input
    points = pd.read_csv(inputs.points, dtype={"point": str})
    # the rule lists (point, seed, fold) of each history and model, in input order
    point_runs = [
        (point, int(seed), int(fold)) for point, seed, fold in snakemake.params.point_runs
    ]
    histories = {
        key: json.loads(Path(path).read_text())
        for key, path in zip(point_runs, inputs.histories, strict=True)
    }
    models = dict(zip(point_runs, inputs.models, strict=True))
    scores = validation_scores(histories)
    selected = summarise_points(points, scores).iloc[0]["point"]
    log.info("selected point %s on validation track accuracy", selected)
    folds = pd.read_csv(inputs.folds, dtype={"track_id": str})
    selected_runs, selected_accuracy = [], []
    for (point, seed, fold), model in models.items():
        if point != selected:
            continue
        segments, genres = test_segments(model, inputs, folds, fold)
        tracks = track_table(segments, genres)
        selected_runs.append((seed, fold))
        selected_accuracy.append(float((tracks["genre"] == tracks["predicted"]).mean()))
    defaults = [json.loads(Path(path).read_text()) for path in inputs.default_metrics]
    write_sweep_report(
        identity=dict(snakemake.wildcards.items()),
        points=points,
        scores=scores,
        swept=list(snakemake.params.swept),
        default_point=snakemake.params.default_point,
        test={
            f"selected ({selected})": {
                "track_accuracy": selected_accuracy,
                "runs": selected_runs,
            },
            "default": {
                "track_accuracy": [m["track_accuracy"] for m in defaults],
                "runs": [tuple(run) for run in snakemake.params.default_runs],
            },
        },
        outputs=dict(snakemake.output.items()),
    )
