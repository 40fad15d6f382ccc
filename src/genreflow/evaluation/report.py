"""The aggregated report of one (dataset, fold scheme): tables, figures and summary.md."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from genreflow.atomic import write_csv, write_text
from genreflow.evaluation.data_audit import duplicate_lines, quarantine_lines
from genreflow.evaluation.formatting import percent, published_percent
from genreflow.evaluation.plots import (
    plot_accuracy,
    plot_confusion_grid,
    plot_confusion_pairs,
    plot_f1_heatmap,
    plot_run_accuracy,
)
from genreflow.evaluation.summary import (
    CONFIDENCE,
    RunResult,
    confusion_pairs,
    paired_comparisons,
    per_genre_f1,
    run_table,
    summary_table,
    summed_confusions,
    timing_table,
)
from genreflow.models.registry import Published

MANIFEST_STATUSES = ("ok", "repaired", "quarantined")
FIGURES = ("accuracy", "runs", "per_genre_f1", "confusions", "confusion_pairs")


def data_stage_counts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Tracks per manifest status (every status listed, zero included)."""
    counts = manifest["status"].value_counts().reindex(MANIFEST_STATUSES, fill_value=0)
    return counts.rename_axis("status").reset_index(name="tracks")


def _percent(value: float) -> str:
    return percent(value, suffix="")


def _mean_std(mean: float, std: float) -> str:
    return _percent(mean) if math.isnan(std) else f"{_percent(mean)} ± {_percent(std)}"


def _p_value(p: float) -> str:
    if math.isnan(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _markdown(table: pd.DataFrame) -> str:
    return table.to_markdown(index=False)


def _points(value: float) -> str:
    """A difference or spread of accuracies, in percentage points."""
    return f"{100 * value:.1f}"


def spread_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Each model's mean track accuracy and its three spreads (percent)."""
    return pd.DataFrame(
        {
            "model": summary["model"],
            "folds × seeds = runs": [
                f"{f} × {s} = {r}"
                for f, s, r in zip(summary["n_folds"], summary["n_seeds"], summary["n_runs"])
            ],
            "mean %": summary["track_accuracy_mean"].map(_percent),
            "std over folds": summary["track_accuracy_std"].map(_spread),
            "std over seeds within a fold": summary["track_accuracy_seed_std"].map(_spread),
            "std over all runs": summary["track_accuracy_run_std"].map(_spread),
        }
    )


def _spread(value: float) -> str:
    return "–" if math.isnan(value) else _percent(value)


def seed_sentence(comparison: Mapping, summary: pd.DataFrame, deterministic: Sequence[str]) -> str:
    """Whether the best model's lead over another exceeds the seed-to-seed spread.

    The spread of a difference between two runs from seeds alone is the root of the
    sum of the two models' within-fold seed variances (0 for a deterministic model).
    """
    best, model = comparison["compared_with"], comparison["model"]
    difference = comparison["mean_difference"]
    stds = {}
    for name in (best, model):
        row = summary.loc[summary["model"] == name].iloc[0]
        stds[name] = 0.0 if name in deterministic else float(row["track_accuracy_seed_std"])
    lead = (
        f"**{best}** vs **{model}**: {_points(difference)} points "
        f"over {int(comparison['n_pairs'])} paired run(s)"
    )
    if all(name in deterministic for name in (best, model)):
        return f"{lead}; both are deterministic, so none of it is seed-to-seed noise."
    if any(math.isnan(std) for std in stds.values()):
        return (
            f"{lead}; the seed-to-seed spread is not measured with one seed per fold "
            "(give training.repeats several seeds to measure it)."
        )
    noise = math.hypot(*stds.values())
    verdict = "exceeds" if abs(difference) > noise else "does not exceed"
    return (
        f"{lead}, which {verdict} the seed-to-seed spread of a difference "
        f"({_points(noise)} points; within a fold, {best} ± {_points(stds[best])}, "
        f"{model} ± {_points(stds[model])})."
    )


def render_markdown(
    *,
    identity: Mapping[str, str],
    genres: Sequence[str],
    summary: pd.DataFrame,
    comparisons: pd.DataFrame,
    pairs: pd.DataFrame,
    manifest: pd.DataFrame,
    figures: Mapping[str, str],
    duplicates: pd.DataFrame | None = None,
    leakage: Mapping | None = None,
    registry: pd.DataFrame | None = None,
    environment: Mapping | None = None,
    environment_link: str | None = None,
    deterministic: Sequence[str] = (),
    timing_link: str | None = None,
) -> str:
    """``summary.md``: data header, model table, sources of spread, paired tests, error
    pairs and figures.

    ``figures`` maps each figure to its path relative to the markdown file, as
    ``timing_link`` does the training-time table;
    ``environment`` is the run's environment record, linked at ``environment_link``;
    ``deterministic`` names the models trained once per fold (no seed-to-seed spread);
    ``duplicates``, ``leakage`` and ``registry``: the duplicate audit's table, the folds'
    leakage record and the track registry, for the data section.
    """
    n_folds = int(summary["n_folds"].max()) if len(summary) else 0
    n_seeds = int(summary["n_seeds"].max()) if len(summary) else 0
    chance = 1 / len(genres)
    lines = [
        f"# genreflow report: {identity['dataset']}, {identity['scheme']}",
        "",
        (
            f"{len(genres)} genres (chance {chance:.0%}), {n_folds} test fold(s), "
            f"{n_seeds} seed(s) per fold, {len(summary)} models. Track accuracy averages "
            "each track's segment probabilities; mean over every run (seed and fold) ± "
            "standard deviation across folds (of each fold's mean over seeds); the "
            f"interval is a {CONFIDENCE:.0%} bootstrap over every test track, each track "
            "scored by the share of its runs that got it right."
        ),
        "",
        "## Data",
        "",
        _markdown(data_stage_counts(manifest)),
        "",
    ]
    lines += quarantine_lines(manifest)
    if duplicates is not None:
        usable = set(manifest.loc[manifest["status"] != "quarantined", "track_id"])
        lines += duplicate_lines(
            duplicates,
            leakage or {},
            registry if registry is not None else pd.DataFrame(columns=["track_id"]),
            usable,
        )
    table = pd.DataFrame(
        {
            "model": summary["model"],
            "track acc. %": [
                _mean_std(m, s)
                for m, s in zip(summary["track_accuracy_mean"], summary["track_accuracy_std"])
            ],
            f"{CONFIDENCE:.0%} CI %": [
                f"{_percent(lo)}–{_percent(hi)}"
                for lo, hi in zip(
                    summary["track_accuracy_ci_low"], summary["track_accuracy_ci_high"]
                )
            ],
            "segment acc. %": [
                _mean_std(m, s)
                for m, s in zip(summary["segment_accuracy_mean"], summary["segment_accuracy_std"])
            ],
            "macro-F1 %": [
                _mean_std(m, s) for m, s in zip(summary["macro_f1_mean"], summary["macro_f1_std"])
            ],
            "published %": [
                f"{published_percent(a, suffix='')} ({on})" if on else "–"
                for a, on in zip(summary["published_accuracy"], summary["published_on"])
            ],
            "parameters": [f"{n:,}" if not pd.isna(n) else "–" for n in summary["n_parameters"]],
            "device": summary["device"],
            "reproduces": summary["reproduces"],
        }
    )
    lines += [
        "## Models",
        "",
        (
            "Published figures are each report's own, on its own split and data (often "
            "segment accuracy): read them as context, not as a like-for-like comparison."
        ),
        "",
        _markdown(table),
        "",
    ]
    if timing_link:
        lines += [
            (
                "Training time of each model (wall-clock seconds, which differ from run to "
                f"run, so they have a file of their own): [{timing_link}]({timing_link})."
            ),
            "",
        ]
    lines += [
        "## Sources of spread (track accuracy, %)",
        "",
        (
            "A run is one model trained on one fold with one seed of training.repeats "
            "(deterministic models: one run per fold). The spread over folds is the "
            "test parts' difficulty and training data; the spread over seeds within a "
            "fold is initialisation, data order, augmentation and dropout alone."
        ),
        "",
        _markdown(spread_table(summary)),
        "",
    ]
    if len(comparisons):
        best = comparisons["compared_with"].iloc[0]
        n_pairs = int(comparisons["n_pairs"].max())
        shown = pd.DataFrame(
            {
                "model": comparisons["model"],
                "difference (points)": comparisons["mean_difference"].map(_points),
                f"tracks only {best} got right": comparisons["best_only"],
                "tracks only this model got right": comparisons["model_only"],
                "McNemar p (exact, per seed: largest)": comparisons["mcnemar_p"].map(_p_value),
                "Wilcoxon p (paired runs)": comparisons["wilcoxon_p"].map(_p_value),
            }
        )
        lines += [
            f"## Paired comparison with the best model ({best})",
            "",
            (
                f"On the same {int(comparisons['n_tracks'].max())} test tracks, runs paired "
                "by fold and seed (a deterministic model's run pairs with every seed of the "
                f"other). With {n_pairs} paired run(s) the Wilcoxon test cannot go below "
                f"{2 / 2 ** max(n_pairs, 1):.3g}; McNemar's test uses every track, once per "
                "seed, and the table keeps the largest of its per-seed p-values. Track "
                "counts are summed over seeds."
            ),
            "",
            _markdown(shown),
            "",
            "Seed-to-seed spread:",
            "",
            *[
                f"- {seed_sentence(row, summary, deterministic)}"
                for row in comparisons.to_dict("records")
            ],
            "",
        ]
    if len(pairs):
        lines += [
            "## Most confused genre pairs (all models, all runs)",
            "",
            _markdown(
                pd.DataFrame(
                    {
                        "pair": pairs["pair"],
                        "errors": pairs["errors"],
                        "share of all errors %": pairs["share_of_errors"].map(_percent),
                    }
                )
            ),
            "",
        ]
    lines += ["## Figures", ""]
    lines += [f"![{name}]({path})" for name, path in figures.items()]
    if environment is not None:
        lines += ["", "## Environment", "", environment_summary(environment, environment_link)]
    return "\n".join(lines) + "\n"


def environment_summary(record: Mapping, link: str | None) -> str:
    """One paragraph on the software and node of a run (``results/environment``)."""
    node, packages = record["node"], record["packages"]
    versions = ", ".join(
        f"{name} {packages[name]}"
        for name in ("numpy", "numba", "librosa", "torch", "scikit-learn")
        if name in packages
    )
    lock = record.get("lock_sha256")
    differs = record.get("differs_from_lock") or {}
    provenance = (
        f"installed from `{record['lock']}` (SHA-256 {lock[:12]}…)"
        + (f", except {', '.join(differs)}" if differs else "")
        if lock
        else "no lock file found"
    )
    where = f" Every package: [{link}]({link})." if link else ""
    return (
        f"Python {record['python'].split()[0]} on {node['cpu']}"
        + (f" with {node['gpu']}" if node.get("gpu") else "")
        + f"; {versions}; {provenance}.{where}"
        + "".join(f"\n\n{weights_sentence(n, w)}" for n, w in (record.get("weights") or {}).items())
    )


def weights_sentence(name: str, weights: Mapping) -> str:
    """The report's words on a set's weights folder: checkpoint, source, licence, SHA-256
    (12 digits each here; in full in the environment record and the model cards)."""
    source = f" from {weights['source']}" if weights.get("source") else " of unknown origin"
    digests = ", ".join(f"`{f}` {d[:12]}…" for f, d in (weights.get("sha256") or {}).items())
    return (
        f"Weights of `{name}`: {weights.get('checkpoint') or 'a checkpoint'}{source}, "
        f"licence **{weights.get('licence', 'unknown')}**; SHA-256 {digests}."
    )


def write_report(
    results: Sequence[RunResult],
    *,
    identity: Mapping[str, str],
    reproduces: Mapping[str, str],
    published: Mapping[str, Published | None],
    manifest: pd.DataFrame,
    outputs: Mapping[str, str | os.PathLike],
    duplicates: pd.DataFrame | None = None,
    leakage: Mapping | None = None,
    registry: pd.DataFrame | None = None,
    seed: int = 0,
    environment: str | os.PathLike | None = None,
    deterministic: Sequence[str] = (),
) -> pd.DataFrame:
    """Write every table and figure of one scheme's report; return the summary table.

    ``reproduces`` and ``published`` give each model's description and its report's
    published figure (:class:`~genreflow.models.registry.ModelSpec` fields).

    ``outputs`` names ``summary`` (CSV), ``markdown``, ``comparisons`` (CSV), ``runs``
    (CSV: every run's accuracies), ``per_genre_f1`` (CSV), ``timing`` (CSV: training
    time per model, beside ``markdown``) and the figures
    ``accuracy_png``, ``runs_png``, ``per_genre_f1_png``, ``confusions_png`` and
    ``confusion_pairs_png``. ``environment`` is the run's environment record (rule
    record_environment), summarised and linked. ``deterministic`` names the models
    trained once per fold whatever the seeds. ``duplicates``, ``leakage`` and
    ``registry`` feed the data section (:mod:`~genreflow.evaluation.data_audit`).
    """
    genres = list(results[0].metrics["genres"])
    summary = summary_table(
        results,
        reproduces=reproduces,
        published=published,
        seed=seed,
    )
    comparisons = paired_comparisons(results, best=summary["model"].iloc[0])
    comparisons = comparisons.set_index("model").loc[summary["model"].iloc[1:]].reset_index()
    f1 = per_genre_f1(results, genres).loc[summary["model"]]
    confusions = summed_confusions(results)
    confusions = {model: confusions[model] for model in summary["model"]}
    pairs = confusion_pairs(confusions, genres)

    runs = run_table(results, ("track_accuracy", "segment_accuracy"))
    runs = runs.set_index("model").loc[summary["model"]].reset_index()

    where = f"{identity['dataset']}, {identity['scheme']}"
    plot_accuracy(
        summary,
        1 / len(genres),
        f"Test track accuracy ({where})",
        outputs["accuracy_png"],
    )
    plot_run_accuracy(
        runs,
        summary["model"],
        1 / len(genres),
        f"Track accuracy of every run ({where})",
        outputs["runs_png"],
    )
    plot_f1_heatmap(f1, f"Per-genre F1, mean over runs ({where})", outputs["per_genre_f1_png"])
    plot_confusion_grid(
        confusions,
        genres,
        f"Track confusion summed over runs ({where})",
        outputs["confusions_png"],
    )
    plot_confusion_pairs(
        pairs,
        f"Genre pairs behind most errors ({where})",
        outputs["confusion_pairs_png"],
    )

    write_csv(summary, outputs["summary"])
    write_csv(comparisons, outputs["comparisons"])
    write_csv(runs, outputs["runs"])
    write_csv(f1.rename_axis("model").reset_index(), outputs["per_genre_f1"])
    write_csv(timing_table(results, summary["model"]), outputs["timing"])
    markdown_dir = Path(outputs["markdown"]).parent
    figures = {name: os.path.relpath(outputs[f"{name}_png"], markdown_dir) for name in FIGURES}
    write_text(
        render_markdown(
            identity=identity,
            genres=genres,
            summary=summary,
            comparisons=comparisons,
            pairs=pairs,
            manifest=manifest,
            figures=figures,
            duplicates=duplicates,
            leakage=leakage,
            registry=registry,
            environment=json.loads(Path(environment).read_text()) if environment else None,
            environment_link=os.path.relpath(environment, markdown_dir) if environment else None,
            deterministic=deterministic,
            timing_link=os.path.relpath(outputs["timing"], markdown_dir),
        ),
        outputs["markdown"],
    )
    return summary
