"""The sweep report: every point's validation accuracy, the selection, and its test result.

Selection looks at validation parts only: a point's score is its validation **track**
accuracy (each track scored by its mean segment probabilities, as the test part is),
of the restored best epoch for a torch model, averaged over the scheme's folds and the
seeds of ``training.repeats``. Only the selected point is then run on the test parts,
once, and set beside the model's default configuration on the same runs.
:func:`run_sweep_report` is rule sweep_report from its input files to its outputs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from genreflow.atomic import write_csv, write_json, write_text
from genreflow.evaluation.formatting import percent
from genreflow.figures import plt, save_figure, themed
from genreflow.predictions import track_table

log = logging.getLogger(__name__)


def validation_scores(histories: Mapping[tuple[str, int, int], Mapping]) -> pd.DataFrame:
    """One row per (point, seed, fold) run: its validation track and segment accuracy
    and loss (a torch model's restored epoch; a scikit-learn model has no loss)."""
    rows = []
    for (point, seed, fold), history in histories.items():
        if "epochs" in history:
            best = next(e for e in history["epochs"] if e["epoch"] == history["best_epoch"])
            scores = {
                "val_track_accuracy": float(best["val_track_accuracy"]),
                "val_accuracy": float(best["val_accuracy"]),
                "val_loss": float(best["val_loss"]),
                "best_epoch": int(history["best_epoch"]),
            }
        else:
            scores = {
                "val_track_accuracy": float(history["val_track_accuracy"]),
                "val_accuracy": float(history["val_segment_accuracy"]),
                "val_loss": float("nan"),
                "best_epoch": None,
            }
        rows.append({"point": point, "seed": seed, "fold": fold, **scores})
    return pd.DataFrame(rows)


def summarise_points(points: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Every point with its hyperparameters and mean ± sample std validation track
    accuracy over its runs (segment accuracy and loss beside it).

    Sorted best first: higher mean, then lower std, then point id (a stable tie-break).
    """
    grouped = scores.groupby("point")
    stats = grouped["val_track_accuracy"].agg(
        val_track_accuracy_mean="mean",
        val_track_accuracy_std=lambda s: s.std(ddof=1),
        n_runs="count",
    )
    stats["val_accuracy_mean"] = grouped["val_accuracy"].mean()
    stats["val_loss_mean"] = grouped["val_loss"].mean()
    table = points.merge(stats.reset_index(), on="point", how="left")
    table = table.sort_values(
        ["val_track_accuracy_mean", "val_track_accuracy_std", "point"],
        ascending=[False, True, True],
        na_position="last",
        ignore_index=True,
    )
    table.insert(1, "rank", np.arange(1, len(table) + 1))
    return table


@themed
def plot_sweep(
    points: pd.DataFrame,
    scores: pd.DataFrame,
    swept: Sequence[str],
    selected: str,
    title: str,
    dest: str | Path,
) -> None:
    """Validation track accuracy against each swept hyperparameter (one panel each).

    Dots are (point, seed, fold) runs; the line is the mean per value with a 95%
    bootstrap band (seaborn); the selected point's value is starred.
    """
    long = scores.merge(points, on="point")
    score = long["val_track_accuracy"]
    figure, axes = plt.subplots(1, len(swept), figsize=(4.2 * len(swept), 3.6), squeeze=False)
    by_point = points.set_index("point")
    best = score[long["point"] == selected].mean()
    for ax, name in zip(axes[0], swept):
        values = long[name].astype(str)
        order = [str(v) for v in sorted(long[name].unique(), key=_sort_key)]
        sns.stripplot(x=values, y=score, order=order, ax=ax, color="0.5", size=4)
        sns.pointplot(
            x=values, y=score, order=order, ax=ax, color="C0", errorbar=("ci", 95), seed=0
        )
        ax.plot(
            order.index(str(by_point[name][selected])),
            best,
            marker="*",
            color="C3",
            markersize=16,
            zorder=5,
        )
        ax.set_xlabel(name)
        ax.set_ylabel("validation track accuracy")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    save_figure(figure, dest)


def _sort_key(value):
    return (0, float(value), "") if isinstance(value, (int, float)) else (1, 0.0, str(value))


def render_sweep_markdown(
    identity: Mapping[str, str],
    summary: pd.DataFrame,
    swept: Sequence[str],
    test: Mapping[str, Mapping],
    default_point: str | None = None,
) -> str:
    """The sweep's summary.md: the selected point, its test result, then every point.

    ``default_point`` is the id the model's default configuration would have; the
    table marks it when the sweep contains it.
    """
    selected = summary.iloc[0]
    is_default = selected["point"] == default_point
    lines = [
        f"# Sweep: {identity['model']} on {identity['dataset']} ({identity['scheme']})",
        "",
        (
            f"{len(summary)} points, selected on validation track accuracy (mean over "
            f"{int(selected['n_runs'])} runs: every fold with every seed); the test parts "
            "were scored for the selected point only."
        ),
        "",
        "## Selected",
        "",
        f"Point `{selected['point']}`: "
        + ", ".join(f"{name} = {summary[name].iloc[0]}" for name in swept)
        + f"; validation track accuracy {percent(selected['val_track_accuracy_mean'])} ± "
        f"{percent(selected['val_track_accuracy_std'])}"
        + (" (the model's default configuration)." if is_default else "."),
        "",
        "| configuration | test track accuracy (mean) | per run (seed, fold) |",
        "|---|---|---|",
    ]
    for label, result in test.items():
        runs = ", ".join(
            f"{percent(v)} ({seed}, {fold})"
            for v, (seed, fold) in zip(result["track_accuracy"], result["runs"])
        )
        lines.append(f"| {label} | {percent(np.mean(result['track_accuracy']))} | {runs} |")
    lines += ["", "## Every point", ""]
    columns = [
        "rank",
        "point",
        *swept,
        "val_track_accuracy_mean",
        "val_track_accuracy_std",
        "val_accuracy_mean",
        "n_runs",
    ]
    table = summary[columns].copy()
    table["point"] = [p + " (default)" if p == default_point else p for p in table["point"]]
    for column in ("val_track_accuracy_mean", "val_track_accuracy_std", "val_accuracy_mean"):
        table[column] = table[column].map(percent)
    table = table.rename(
        columns={
            "val_track_accuracy_mean": "val track acc. (mean)",
            "val_track_accuracy_std": "val track acc. (std)",
            "val_accuracy_mean": "val segment acc. (mean)",
            "n_runs": "runs",
        }
    )
    lines.append(table.to_markdown(index=False))
    return "\n".join(lines) + "\n"


def write_sweep_report(
    *,
    identity: Mapping[str, str],
    points: pd.DataFrame,
    scores: pd.DataFrame,
    swept: Sequence[str],
    test: Mapping[str, Mapping],
    outputs: Mapping[str, str],
    default_point: str | None = None,
) -> pd.DataFrame:
    """Write summary.csv, summary.md, selected.json and the figure; return the summary."""
    summary = summarise_points(points, scores)
    selected = str(summary.iloc[0]["point"])
    write_csv(summary, outputs["summary"])
    markdown = render_sweep_markdown(identity, summary, swept, test, default_point)
    write_text(markdown, outputs["markdown"])
    record = {
        "point": selected,
        # column by column: a row of mixed columns would turn integers into floats
        "hyperparameters": {name: _plain(summary[name].iloc[0]) for name in swept},
        "val_track_accuracy_mean": float(summary.iloc[0]["val_track_accuracy_mean"]),
        "is_default": selected == default_point,
        "test": test,
    }
    write_json(json.loads(json.dumps(record, default=_plain)), outputs["selected"])
    plot_sweep(
        points,
        scores,
        swept,
        selected,
        f"{identity['model']}: validation track accuracy per hyperparameter ({identity['scheme']})",
        outputs["figure"],
    )
    return summary


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def run_sweep_report(
    *,
    identity: Mapping[str, str],
    points: str | os.PathLike,
    point_runs: Sequence[tuple[str, int, int]],
    histories: Sequence[str | os.PathLike],
    models: Sequence[str | os.PathLike],
    folds: str | os.PathLike,
    default_metrics: Sequence[str | os.PathLike],
    arrays: Sequence[str],
    indexes: Sequence[str],
    table: str | None,
    swept: Sequence[str],
    default_point: str | None,
    outputs: Mapping[str, str],
    threads: int = 1,
) -> pd.DataFrame:
    """Rule sweep_report: select a sweep's point on validation track accuracy, score the
    selected point's runs on the test parts, once, and write the report.

    ``points`` is the sweep's points.csv; ``point_runs`` the (point, seed, fold) of each
    of ``histories`` (history.json) and ``models`` (model.pt or model.joblib), in that
    order. ``default_metrics`` are the metrics.json of the default configuration's runs,
    set beside the selection. ``arrays``, ``indexes`` and ``table`` are the model's
    inputs (consolidated arrays and their index tables, or the summary table) and
    ``folds`` the scheme's folds table. ``threads`` is torch's thread count for a torch
    sweep. Writes :func:`write_sweep_report`'s ``outputs``; returns the summary.
    """
    points_table = pd.read_csv(points, dtype={"point": str})
    runs = [(point, int(seed), int(fold)) for point, seed, fold in point_runs]
    loaded = {
        key: json.loads(Path(path).read_text()) for key, path in zip(runs, histories, strict=True)
    }
    run_models = dict(zip(runs, models, strict=True))
    scores = validation_scores(loaded)
    selected = summarise_points(points_table, scores).iloc[0]["point"]
    log.info("selected point %s on validation track accuracy", selected)
    folds_table = pd.read_csv(folds, dtype={"track_id": str})
    predict = _test_predictor(models, arrays=arrays, indexes=indexes, table=table, threads=threads)
    selected_runs, selected_accuracy = [], []
    for (point, seed, fold), model in run_models.items():
        if point != selected:
            continue
        segments, genres = predict(model, folds=folds_table, fold=fold)
        tracks = track_table(segments, genres)
        selected_runs.append((seed, fold))
        selected_accuracy.append(float((tracks["genre"] == tracks["predicted"]).mean()))
    defaults = [json.loads(Path(path).read_text()) for path in default_metrics]
    return write_sweep_report(
        identity=identity,
        points=points_table,
        scores=scores,
        swept=list(swept),
        default_point=default_point,
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
        outputs=outputs,
    )


def _test_predictor(
    models: Sequence[str | os.PathLike],
    *,
    arrays: Sequence[str],
    indexes: Sequence[str],
    table: str | None,
    threads: int,
) -> Callable[..., tuple[pd.DataFrame, list[str]]]:
    """The sweep's test-part predictor, torch or scikit-learn by its saved models: a
    function of (model, folds, fold) giving the test segments and the genres. Inputs are
    loaded once, for every selected run."""
    if all(str(model).endswith(".pt") for model in models):
        import torch

        from genreflow.evaluation.predict import predict_torch_fold

        torch.set_num_threads(threads)
        return functools.partial(
            predict_torch_fold,
            arrays=arrays,
            indexes=indexes,
            device=torch.device("cpu"),
        )
    from genreflow.evaluation.predict_classical import predict_classical_fold
    from genreflow.training.classical_data import load_classical_data

    data = load_classical_data(table=table, arrays=arrays, indexes=indexes)
    return functools.partial(predict_classical_fold, data=data)
