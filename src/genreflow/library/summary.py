"""The one-page summary of a classified library (rule ``summarise_library``): the
genre distribution, a histogram of the confidence (each file's top probability), the
least confident files and the files that could not be classified, as Markdown with a
PNG beside it and as one self-contained HTML page."""

from __future__ import annotations

import base64
import html
import json
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from genreflow.atomic import write_text
from genreflow.evaluation.formatting import percent
from genreflow.figures import plt, save_figure, themed

CONFIDENCE_BINS = np.linspace(0.0, 1.0, 21)
MIN_HEIGHT = 3.5  # inches: the figure with few genres
ERRORS_LISTED = 20  # the errors table lists every file


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A table of ``genreflow classify`` rows: text as written, probabilities as floats."""
    table = pd.read_csv(
        path, dtype=str, keep_default_na=False, encoding="utf-8", encoding_errors="surrogateescape"
    )
    for column in table.columns:
        if column.startswith("probability"):
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def genre_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Per genre: files, share of the library, median confidence; most files first."""
    if table.empty:
        return pd.DataFrame(columns=["genre", "files", "share", "median_probability"])
    grouped = table.groupby("genre")["probability"]
    counts = pd.DataFrame({"files": grouped.size(), "median_probability": grouped.median()})
    counts["share"] = counts["files"] / counts["files"].sum()
    counts = counts.reset_index().sort_values(["files", "genre"], ascending=[False, True])
    return counts[["genre", "files", "share", "median_probability"]].reset_index(drop=True)


def least_confident(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` files whose top probability is lowest (the closest runner-up first among
    equals), with their two best genres."""
    if table.empty or n <= 0:
        return table.iloc[0:0]
    ranked = table.assign(
        margin=table["probability"] - table.get("probability_2", 0.0),
    )
    return ranked.sort_values(["probability", "margin", "path"], kind="stable").head(n)


@themed
def plot_library(counts: pd.DataFrame, table: pd.DataFrame, title: str, dest: str | Path) -> None:
    """The genre distribution (bars, with each genre's share) beside a histogram of the
    files' top probability (its median dashed)."""
    height = max(MIN_HEIGHT, 0.35 * len(counts) + 1.2)
    figure, (bars, histogram) = plt.subplots(
        1, 2, figsize=(12, height), gridspec_kw={"width_ratios": [1.1, 1]}
    )
    if counts.empty:
        for ax in (bars, histogram):
            ax.text(0.5, 0.5, "no file classified", ha="center", va="center")
            ax.set_axis_off()
    else:
        sns.barplot(data=counts, x="files", y="genre", ax=bars, color="C0", orient="h")
        for y, (files, share) in enumerate(zip(counts["files"], counts["share"])):
            bars.text(files, y, f"  {files} ({share:.0%})", va="center", fontsize=9)
        bars.set_xlim(0, counts["files"].max() * 1.25)
        bars.xaxis.set_major_locator(MaxNLocator(integer=True))
        bars.set_xlabel("files")
        bars.set_ylabel("")
        bars.set_title("genre distribution")
        sns.histplot(table["probability"], bins=CONFIDENCE_BINS, ax=histogram, color="C2")
        median = float(table["probability"].median())
        top = histogram.get_ylim()[1] * 1.15  # room for the median's label
        histogram.set_ylim(0, top)
        histogram.axvline(median, color="black", linestyle="--", linewidth=1)
        histogram.text(median, top * 0.97, f" median {median:.2f}", va="top")
        histogram.yaxis.set_major_locator(MaxNLocator(integer=True))
        histogram.set_xlim(0, 1)
        histogram.set_xlabel("confidence (top probability)")
        histogram.set_ylabel("files")
        histogram.set_title("confidence")
    figure.suptitle(title)
    figure.tight_layout()
    save_figure(figure, dest)


def write_summary(
    table_path: str | os.PathLike,
    errors_path: str | os.PathLike,
    listing: Mapping,
    *,
    markdown: str | os.PathLike,
    figure: str | os.PathLike,
    page: str | os.PathLike,
    name: str,
    model_dir: str,
    n_least: int,
) -> None:
    """Write the summary of a classified library: ``markdown`` (with ``figure`` beside
    it) and ``page``, one self-contained HTML page (the figure inlined)."""
    table = read_table(table_path)
    errors = pd.read_csv(
        errors_path, dtype=str, keep_default_na=False, encoding_errors="surrogateescape"
    )
    counts = genre_counts(table)
    root = listing["library"]
    model = table["model_id"].iloc[0] if not table.empty else Path(model_dir).name
    plot_library(counts, table, f"{name}: {len(table)} files by {model}", figure)
    sections = _sections(table, errors, counts, listing, root, n_least)
    intro = _intro(table, errors, listing, root, model, model_dir)
    write_text(_markdown(name, intro, sections, Path(figure).name), markdown)
    write_text(_html(name, intro, sections, Path(figure)), page)


def _intro(table, errors, listing, root, model, model_dir) -> str:
    skipped = listing.get("skipped", {})
    others = ", ".join(f"{n} {ext}" for ext, n in skipped.items())
    lines = [
        (
            f"Library `{root}`: {listing['files']} audio files in {listing['shards']} jobs "
            f"of up to {listing['shard_files']}, classified by `{model}` (`{model_dir}`)."
        ),
        f"**{len(table)} classified**, {len(errors)} could not be"
        + (f" ({_reasons(errors)})" if len(errors) else "")
        + (f"; other files skipped: {others}." if others else "."),
    ]
    if len(table):
        probability = table["probability"]
        lines.append(
            f"Confidence (the top genre's probability): median {probability.median():.2f}, "
            f"{percent((probability < 0.5).mean())} of the files below 0.5."
        )
    lines.append("Tables: `library.csv` (one row per file), `library.errors.csv`.")
    return "\n".join(lines)


def _reasons(errors: pd.DataFrame) -> str:
    return ", ".join(f"{n} {reason}" for reason, n in errors["reason"].value_counts().items())


def _sections(table, errors, counts, listing, root, n_least) -> list[tuple[str, pd.DataFrame]]:
    """(heading, table) of each section, cells as text."""
    genres = pd.DataFrame(
        {
            "genre": counts["genre"],
            "files": counts["files"].astype(str),
            "share": counts["share"].map(percent),
            "median confidence": counts["median_probability"].map(lambda p: f"{p:.2f}"),
        }
    )
    least = least_confident(table, n_least)
    worst = pd.DataFrame({"file": least["path"].map(lambda p: _relative(p, root))})
    for k in (1, 2):
        if f"genre_{k}" in least:
            worst[f"genre {k}"] = least[f"genre_{k}"]
            worst[f"probability {k}"] = least[f"probability_{k}"].map(lambda p: f"{p:.3f}")
    reasons = errors.groupby("reason").size().rename("files").reset_index()
    reasons["files"] = reasons["files"].astype(str)
    listed = errors.head(ERRORS_LISTED)
    failed = pd.DataFrame(
        {
            "file": listed["path"].map(lambda p: _relative(p, root)),
            "reason": listed["reason"],
            "detail": listed["detail"],
        }
    )
    more = (
        f" (the first {len(listed)}; all in library.errors.csv)"
        if len(errors) > len(listed)
        else ""
    )
    return [
        ("Genres", genres),
        (f"The {len(worst)} least confident files", worst),
        ("Files that could not be classified, by reason", reasons),
        (f"Files that could not be classified{more}", failed),
    ]


def _relative(path: str, root: str) -> str:
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return path


def _markdown(name: str, intro: str, sections, figure: str) -> str:
    parts = [f"# Library summary: {name}", intro.replace("\n", "\n\n"), f"![{name}]({figure})"]
    for heading, section in sections:
        parts.append(f"## {heading}")
        if section.empty:
            parts.append("None.")
        else:
            cells = section.map(lambda cell: str(cell).replace("|", "\\|").replace("\n", " "))
            parts.append(cells.to_markdown(index=False, disable_numparse=True))
    return "\n\n".join(parts) + "\n"


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Library summary: {name}</title>
<style>
body {{ font-family: sans-serif; max-width: 60em; margin: 2em auto; color: #222; }}
img {{ max-width: 100%; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 0.2em 0.6em; text-align: left; }}
</style></head>
<body>
<h1>Library summary: {name}</h1>
{intro}
<img alt="genre distribution and confidence" src="data:image/png;base64,{png}">
{sections}
</body></html>
"""


def _html(name: str, intro: str, sections, figure: Path) -> str:
    paragraphs = "\n".join(f"<p>{_inline(line)}</p>" for line in intro.splitlines())
    blocks = []
    for heading, section in sections:
        body = "<p>None.</p>" if section.empty else section.to_html(index=False, border=0)
        blocks.append(f"<h2>{html.escape(heading)}</h2>\n{body}")
    png = base64.b64encode(figure.read_bytes()).decode("ascii")
    return PAGE.format(
        name=html.escape(name), intro=paragraphs, png=png, sections="\n".join(blocks)
    )


def _inline(line: str) -> str:
    """A Markdown line's `code` and **bold** as HTML, the rest escaped."""
    out, bold = [], False
    for index, piece in enumerate(line.split("`")):
        if index % 2:
            out.append(f"<code>{html.escape(piece)}</code>")
            continue
        for part_index, part in enumerate(piece.split("**")):
            if part_index:
                bold = not bold
                out.append("<b>" if bold else "</b>")
            out.append(html.escape(part))
    return "".join(out)


def read_listing(path: str | os.PathLike) -> dict:
    """The counts rule list_library wrote (genreflow.library.shards.write_listing)."""
    return json.loads(Path(path).read_text())
