"""Model cards of final models: data, features, expected accuracy, confusions, intended use.

A final model is trained on every usable track, so it has no test part of its own; its
card reports the cross-validated accuracy of the same model and settings in each fold
scheme, and the genre pairs its fold models confused most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from genreflow.atomic import write_text
from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.precomputed import PRECOMPUTED
from genreflow.evaluation.formatting import percent, published_percent
from genreflow.evaluation.summary import confusion_pairs
from genreflow.excerpts import Excerpt
from genreflow.models.registry import Published

INTENDED_USE = """\
- **For:** tagging music clips with one of the genres above, comparing models and
  reproducing the source reports, and teaching. Clips are classified in windows of the
  training segment length and the window probabilities averaged.
- **Not for:** audio outside these genres (the model always answers one of them), speech
  or non-music audio, or decisions about people or their work. The probabilities are
  uncalibrated softmax outputs; treat close calls as uncertain.
- **Caveats:** the expected accuracy holds for clips like the training data (GTZAN-like
  30 s excerpts, same label definitions). Where the dataset repeats artists,
  `stratified_kfold` overstates accuracy on new artists; `artist_kfold` is the
  honest figure when it is run.
"""

DEMO_CAVEAT = """\
- **Demo data:** this model was trained on the embedded *synthetic* demo dataset. It
  exercises the workflow; its predictions on real music mean nothing.
"""


def accuracy_lines(model: str, summaries: Mapping[str, pd.DataFrame]) -> list[str]:
    """A markdown table of the model's cross-validated figures, one row per scheme."""
    lines = [
        "| scheme | folds × seeds | track accuracy | 95% CI | macro F1 | test tracks |",
        "|---|---|---|---|---|---|",
    ]
    for scheme, summary in summaries.items():
        rows = summary[summary["model"] == model]
        if rows.empty:
            continue
        row = rows.iloc[0]
        lines.append(
            f"| {scheme} | {int(row['n_folds'])} × {int(row['n_seeds'])} | "
            f"{percent(row['track_accuracy_mean'])} ± "
            f"{percent(row['track_accuracy_std'])} | {percent(row['track_accuracy_ci_low'])}–"
            f"{percent(row['track_accuracy_ci_high'])} | {row['macro_f1_mean']:.3f} | "
            f"{int(row['n_test_tracks'])} |"
        )
    return lines


def training_examples(record: Mapping) -> str:
    """The card's line on what the final model was fitted on."""
    examples = record.get("n_examples", {})
    n_train, n_val = examples.get("train", 0), examples.get("val", 0)
    if record.get("fit_on") == ["train", "val"]:
        return (
            f"- **Training examples:** all {n_train + n_val} (scikit-learn models do not "
            "stop early, so the validation share is fitted on too); no test part: see "
            "the expected accuracy below."
        )
    return (
        f"- **Training examples:** {n_train} train, {n_val} validation (early stopping "
        "only); no test part: see the expected accuracy below."
    )


def render_card(
    *,
    record: Mapping,
    history: Mapping,
    summaries: Mapping[str, pd.DataFrame],
    confusion: np.ndarray,
    manifest: pd.DataFrame,
    published: Published | None,
    model_dir: str,
) -> str:
    """The card's markdown: ``record`` is the final model's ``config.json``."""
    model, genres = record["model"], list(record["genres"])
    features = record.get("features") or {}
    status = manifest["status"].value_counts()
    n_usable = int(len(manifest) - status.get("quarantined", 0))
    lines = [f"# Model card: {model}", "", record.get("reproduces", ""), ""]
    lines += [
        "## Data",
        "",
        (
            f"- **Dataset:** `{record['dataset']}`, {n_usable} usable tracks of {len(manifest)} "
            f"({int(status.get('quarantined', 0))} quarantined, {int(status.get('repaired', 0))} "
            "repaired)."
        ),
        f"- **Genres ({len(genres)}):** {', '.join(genres)}.",
        training_examples(record),
        "",
        "## Features and model",
        "",
        f"- **Inputs:** {', '.join(f'`{item}`' for item in record['inputs'])}.",
        (
            f"- **Seed:** {record['repeat']} (the first of `training.repeats`; one final "
            "model is trained, while the expected accuracy below pools every seed's runs)."
            if "repeat" in record
            else "- **Seed:** not recorded."
        ),
    ]
    if features:
        excerpt = features.get("excerpt")
        lines.append(
            f"- **Audio:** mono, {features['sample_rate']} Hz; STFT n_fft {features['n_fft']}, "
            f"hop {features['hop_length']}; clip length {features.get('clip_seconds')} s; "
            f"excerpt: {Excerpt.from_dict(excerpt).describe() if excerpt else 'the whole file'}. "
            "Saved with the model: `genreflow predict` uses these, not the current config."
        )
    embedded = {
        name: rate
        for name, rate in (record.get("sample_rates") or {}).items()
        if features and (features["sets"].get(name) or {}).get("kind") in EMBEDDING_KINDS
    }
    only_embeddings = {item.partition("@")[0] for item in record["inputs"]} <= set(embedded)
    for name, rate in embedded.items():
        block = features["sets"][name]
        settings = ", ".join(
            f"{k} {_setting(v)}" for k, v in block.items() if k != "kind" and v is not None
        )
        decoding = (
            f"`genreflow predict` decodes songs at {rate} Hz itself"
            if only_embeddings
            else f"`genreflow predict` decodes songs at {features['sample_rate']} Hz for the "
            f"other inputs and resamples them to {rate} Hz for the network"
        )
        lines.append(
            f"- **Pretrained embedding `{name}`** (frozen, computed once per track by the "
            f"embedding stage): {block['kind']} ({settings}), at {rate} Hz; {decoding}."
        )
        checkpoint = ((record.get("embeddings") or {}).get(name) or {}).get("checkpoint")
        if checkpoint:
            lines.append(checkpoint_line(name, checkpoint))
    for name, entry in (record.get("embeddings") or {}).items():
        if entry.get("kind") == PRECOMPUTED:
            lines.append(
                f"- **Precomputed embedding `{name}`** (computed by another tool, read by "
                f"rule import_precomputed): {entry.get('format', '?')} {entry.get('path')}, "
                f"{entry.get('dimensions', '?')} dimensions, {entry.get('n_tracks', '?')} "
                f"tracks, checksum `{entry.get('checksum', 'not recorded')}`; `genreflow "
                "predict` cannot featurise new audio for it."
            )
    if record.get("adjusted"):
        lines.append(
            "- **Adjusted to the training data:** "
            + "; ".join(
                f"`{setting}` {change['used']} ({change['asked']} asked)"
                for setting, change in record["adjusted"].items()
            )
            + "."
        )
    if "n_parameters" in record:
        train = record.get("train", {})
        lr = (
            f"lr {record['selected_lr']} (selected on the val part from "
            f"{', '.join(f'{r:g}' for r in train.get('lr_grid') or ())})"
            if "selected_lr" in record
            else f"lr {train.get('lr')}"
        )
        lines.append(
            f"- **Network:** {record['n_parameters']:,} parameters; {train.get('optimizer')} "
            f"{lr}, batch {train.get('batch_size')}; best epoch "
            f"{history.get('best_epoch')} of {len(history.get('epochs', []))}, on "
            f"{record.get('device')} (training time: `timing.json` beside the model)."
        )
    else:
        lines.append(f"- **Estimator:** scikit-learn, {record.get('arch')}.")
    lines += ["", "## Expected accuracy (cross-validated, same model and settings)", ""]
    lines += accuracy_lines(model, summaries)
    if published is not None:
        lines += [
            "",
            f"Published figure: {published_percent(published.accuracy)} ({published.describe()}).",
        ]
    lines += ["", "## Known confusions (test folds, all schemes)", ""]
    pairs = confusion_pairs({model: confusion}, genres, top=3)
    if pairs.empty:
        lines.append("No test track was misclassified.")
    for pair in pairs.itertuples(index=False):
        lines.append(
            f"- {pair.pair}: {pair.errors} tracks ({pair.first_as_second} → / "
            f"{pair.second_as_first} ←), {percent(pair.share_of_errors)} of the errors"
        )
    lines += ["", "## Intended use", "", INTENDED_USE.rstrip()]
    if record["dataset"] == "demo":
        lines.append(DEMO_CAVEAT.rstrip())
    precomputed = [
        name
        for name, entry in (record.get("embeddings") or {}).items()
        if entry.get("kind") == PRECOMPUTED
    ]
    if precomputed:
        lines += [
            "",
            "## Use",
            "",
            (
                f"It reads embeddings another tool computed ({', '.join(precomputed)}), which "
                "genreflow cannot compute for a new song: it scores the dataset's tracks only "
                "(`genreflow predict` and `classify` refuse it)."
            ),
            "",
        ]
        return "\n".join(lines)
    lines += [
        "",
        "## Use",
        "",
        "```",
        f"genreflow predict SONG [SONG ...] --model {model_dir} [--format json] [--plot out.png]",
    ]
    # Grad-CAM and Integrated Gradients explain torch models on time–frequency inputs
    if "n_parameters" in record and not embedded:
        lines.append(f"genreflow explain SONG --model {model_dir} --out explanation.png")
    lines += ["```", ""]
    return "\n".join(lines)


def write_card(
    dest: str | Path,
    *,
    record: Mapping,
    history: Mapping,
    summaries: Mapping[str, pd.DataFrame],
    fold_metrics: Sequence[Mapping],
    manifest: pd.DataFrame,
    published: Published | None,
    model_dir: str,
) -> str:
    """Write ``card.md`` of a final model; ``fold_metrics`` are its folds' ``metrics.json``,
    ``model_dir`` the folder `genreflow predict --model` is pointed at."""
    confusion = np.sum([np.asarray(m["confusion"]) for m in fold_metrics], axis=0)
    text = render_card(
        record=record,
        history=history,
        summaries=summaries,
        confusion=confusion,
        manifest=manifest,
        published=published,
        model_dir=model_dir,
    )
    write_text(text, dest)
    return text


def checkpoint_line(name: str, checkpoint: Mapping) -> str:
    """The card's line on a folder checkpoint (clap, mert, muq): source, licence, SHA-256."""
    name_of = checkpoint.get("checkpoint") or "a checkpoint"
    source = f"from {checkpoint['source']}" if checkpoint.get("source") else "of unknown origin"
    digests = "; ".join(
        f"`{file}` sha256 `{digest}`" for file, digest in (checkpoint.get("sha256") or {}).items()
    )
    return (
        f"  - **Weights of `{name}`:** {name_of} {source}, read from "
        f"`{checkpoint.get('folder')}`; licence "
        f"**{checkpoint.get('licence', 'unknown')}** (check its terms before using this "
        f"model); {digests}."
    )


def _setting(value: object) -> str:
    """A set's parameter as the card states it: a downloaded file by its source."""
    if isinstance(value, dict) and "source" in value:
        return str(value["source"])
    return str(value)
