"""Snakemake script of rule sweep_report: select a sweep's point on validation track
accuracy, then score the selected point's runs on the test parts, once."""

import _bootstrap  # noqa: F401

import functools
import json
from pathlib import Path

import pandas as pd

from genreflow.evaluation.sweep import summarise_points, validation_scores, write_sweep_report
from genreflow.logs import script_logging
from genreflow.predictions import track_table


def test_predictor(models, inputs):
    """The sweep's test-part predictor, torch or scikit-learn by its saved models: a
    function of (model, folds, fold) giving the test segments and the genres. Inputs are
    loaded once, for every selected run."""
    if all(str(model).endswith(".pt") for model in models):
        import torch

        from genreflow.evaluation.predict import predict_torch_fold

        torch.set_num_threads(snakemake.threads)
        return functools.partial(
            predict_torch_fold,
            arrays=inputs.arrays,
            indexes=inputs.indexes,
            device=torch.device("cpu"),
        )
    from genreflow.evaluation.predict_classical import predict_classical_fold
    from genreflow.training.classical_data import load_classical_data

    data = load_classical_data(
        table=inputs.get("table"), arrays=inputs.arrays, indexes=inputs.indexes
    )
    return functools.partial(predict_classical_fold, data=data)


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
    predict = test_predictor(inputs.models, inputs)
    selected_runs, selected_accuracy = [], []
    for (point, seed, fold), model in models.items():
        if point != selected:
            continue
        segments, genres = predict(model, folds=folds, fold=fold)
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
                "runs": [(m["seed"], m["fold"]) for m in defaults],
            },
        },
        outputs=dict(snakemake.output.items()),
    )
