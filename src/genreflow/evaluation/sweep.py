"""The sweep report: every point's validation accuracy, the selection, and its test result.

Selection looks at validation parts only: a point's score is the validation accuracy
of its restored best epoch (segment level, as early stopping saw it), averaged over
the scheme's folds. Only the selected point is then run on the test parts, once, and
set beside the model's default configuration on the same folds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from genreflow.atomic import write_csv, write_json, write_text
from genreflow.evaluation.formatting import percent
from genreflow.evaluation.plots import plt, save_figure


def validation_scores(histories: Mapping[tuple[str, int], Mapping]) -> pd.DataFrame:
    """One row per (point, fold): the restored epoch's validation accuracy and loss."""
    rows = []
    for (point, fold), history in histories.items():
        best = next(e for e in history["epochs"] if e["epoch"] == history["best_epoch"])
        rows.append(
            {
                "point": point,
                "fold": fold,
                "val_accuracy": float(best["val_accuracy"]),
                "val_loss": float(best["val_loss"]),
                "best_epoch": int(history["best_epoch"]),
            }
        )
    return pd.DataFrame(rows)


def summarise_points(points: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Every point with its hyperparameters and mean ± sample std validation accuracy.

    Sorted best first: higher mean, then lower std, then point id (a stable tie-break).
    """
    stats = scores.groupby("point")["val_accuracy"].agg(
        val_accuracy_mean="mean", val_accuracy_std=lambda s: s.std(ddof=1), n_folds="count"
    )
    stats["val_loss_mean"] = scores.groupby("point")["val_loss"].mean()
    table = points.merge(stats.reset_index(), on="point", how="left")
    table = table.sort_values(
        ["val_accuracy_mean", "val_accuracy_std", "point"],
        ascending=[False, True, True],
        na_position="last",
        ignore_index=True,
    )
    table.insert(1, "rank", np.arange(1, len(table) + 1))
    return table


def plot_sweep(
    points: pd.DataFrame,
    scores: pd.DataFrame,
    swept: Sequence[str],
    selected: str,
    title: str,
    dest: str | Path,
) -> None:
    """Validation accuracy against each swept hyperparameter (one panel each).

    Dots are (point, fold) scores; the line is the mean per value with a 95% bootstrap
    band (seaborn); the selected point's value is starred.
    """
    long = scores.merge(points, on="point")
    figure, axes = plt.subplots(1, len(swept), figsize=(4.2 * len(swept), 3.6), squeeze=False)
    by_point = points.set_index("point")
    best = long[long["point"] == selected]["val_accuracy"].mean()
    for ax, name in zip(axes[0], swept):
        values = long[name].astype(str)
        order = [str(v) for v in sorted(long[name].unique(), key=_sort_key)]
        sns.stripplot(x=values, y=long["val_accuracy"], order=order, ax=ax, color="0.5", size=4)
        sns.pointplot(
            x=values, y=long["val_accuracy"], order=order, ax=ax, color="C0", errorbar=("ci", 95)
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
        ax.set_ylabel("validation accuracy")
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
            f"{len(summary)} points, selected on validation accuracy (mean over "
            f"{int(selected['n_folds'])} folds); the test parts were scored for the selected "
            "point only."
        ),
        "",
        "## Selected",
        "",
        f"Point `{selected['point']}`: "
        + ", ".join(f"{name} = {summary[name].iloc[0]}" for name in swept)
        + f"; validation accuracy {percent(selected['val_accuracy_mean'])} ± "
        f"{percent(selected['val_accuracy_std'])}"
        + (" (the model's default configuration)." if is_default else "."),
        "",
        "| configuration | test track accuracy (mean) | per fold |",
        "|---|---|---|",
    ]
    for label, result in test.items():
        folds = ", ".join(percent(v) for v in result["track_accuracy"])
        lines.append(f"| {label} | {percent(np.mean(result['track_accuracy']))} | {folds} |")
    lines += ["", "## Every point", ""]
    columns = ["rank", "point", *swept, "val_accuracy_mean", "val_accuracy_std", "n_folds"]
    table = summary[columns].copy()
    table["point"] = [p + " (default)" if p == default_point else p for p in table["point"]]
    for column in ("val_accuracy_mean", "val_accuracy_std"):
        table[column] = table[column].map(percent)
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
        "val_accuracy_mean": float(summary.iloc[0]["val_accuracy_mean"]),
        "is_default": selected == default_point,
        "test": test,
    }
    write_json(json.loads(json.dumps(record, default=_plain)), outputs["selected"])
    plot_sweep(
        points,
        scores,
        swept,
        selected,
        f"{identity['model']}: validation accuracy per hyperparameter ({identity['scheme']})",
        outputs["figure"],
    )
    return summary


def _plain(value):
    return value.item() if hasattr(value, "item") else value
