"""``genreflow predict``'s results as text for people, JSON or CSV for programs.

Every file gets one record: ``status`` ``ok`` with the song's genre probabilities and
its windows, or ``error`` with the reason it could not be classified.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from genreflow.inference.classifier import Classifier, SongPrediction
from genreflow.inference.songs import SongError

FORMATS = ("text", "json", "csv")
# The JSON document's schema (draft 2020-12), shipped with the package.
JSON_SCHEMA = Path(__file__).with_name("prediction.schema.json")


def prediction_record(prediction: SongPrediction, top_k: int) -> dict:
    """A JSON-ready record of one classified file."""
    genres = prediction.genres
    return {
        "file": prediction.path,
        "status": "ok",
        "genre": prediction.genre,
        "probability": prediction.top(1)[0][1],
        "top": [{"genre": g, "probability": p} for g, p in prediction.top(top_k)],
        "probabilities": dict(zip(genres, map(float, prediction.song_probabilities))),
        "duration_s": prediction.duration_s,
        "window_s": round(prediction.window_s, 4),
        "windows": [
            {
                "start_s": round(float(start), 4),
                "genre": genres[int(row.argmax())],
                "probabilities": dict(zip(genres, map(float, row))),
            }
            for start, row in zip(prediction.starts_s, prediction.probabilities)
        ],
        "warnings": list(prediction.warnings),
    }


def error_record(error: SongError) -> dict:
    """A JSON-ready record of a file that could not be classified."""
    return {"file": error.path, "status": "error", "reason": error.reason}


def render(records: Sequence[dict], classifier: Classifier, fmt: str) -> str:
    """The records in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        document = {
            "model": {
                "name": classifier.name,
                "path": str(classifier.source),
                "genres": list(classifier.genres),
                "window_s": round(classifier.window_s, 4),
                "hop_s": round(classifier.hop_samples / classifier.sample_rate, 4),
                "sample_rate": classifier.sample_rate,
            },
            "files": list(records),
        }
        return json.dumps(document, indent=2) + "\n"
    if fmt == "csv":
        return render_csv(records, classifier.genres)
    return render_text(records)


def render_text(records: Sequence[dict]) -> str:
    """One block per classified file: its top genres, with a bar per probability."""
    lines = []
    for record in records:
        if record["status"] != "ok":
            continue
        n_windows = len(record["windows"])
        lines.append(
            f"{record['file']}: {record['genre']} ({record['probability']:.0%}; "
            f"{record['duration_s']:.1f} s, {n_windows} window{'s' * (n_windows != 1)})"
        )
        for entry in record["top"]:
            bar = "█" * round(entry["probability"] * 20)
            lines.append(f"  {entry['genre']:<14}{entry['probability']:7.1%}  {bar}")
    return "\n".join(lines) + ("\n" if lines else "")


def render_csv(records: Sequence[dict], genres: Sequence[str]) -> str:
    """One row per file: status, genre, probability, one ``prob_<genre>`` column each, reason."""
    rows = []
    for record in records:
        row = {
            "file": record["file"],
            "status": record["status"],
            "genre": record.get("genre", ""),
            "probability": record.get("probability"),
        }
        for genre in genres:
            row[f"prob_{genre}"] = record.get("probabilities", {}).get(genre)
        row["n_windows"] = len(record.get("windows", []))
        row["reason"] = record.get("reason", "; ".join(record.get("warnings", [])))
        rows.append(row)
    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return buffer.getvalue()
