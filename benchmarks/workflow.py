"""Where a run's time went: Snakemake's benchmark files summed per rule.

Usage::

    python -m benchmarks.workflow results/benchmarks/<dataset> [--format markdown|csv]
                                            [--rules workflow/rules]

Every rule declares ``benchmark:`` (one TSV per job: wall seconds ``s``, ``cpu_time``,
``max_rss`` in MB, ...). This command maps each file back to its rule by the rules'
own benchmark patterns (read from ``workflow/rules/*.smk``; two rules that share a
pattern, as ``train_torch`` and ``train_classical`` do, are told apart by the model's
family in the registry index) and prints, per rule: the number of jobs, their summed
job time and mean per job, the CPU time and CPU share (CPU seconds per wall second of
the rule's jobs: about 1 for a single-threaded job that computes, well below 1 for one
that waits, above 1 for a multi-threaded one), the peak memory of its largest job, and
each rule's share of all job time. A user with a 3-hour GTZAN run sees which rule to
move to the GPU or the cluster. The timing tables of docs/measurements.md are printed by it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from genreflow.models.index import load_index

RULES_DIR = Path(__file__).resolve().parents[1] / "workflow" / "rules"
_RULE = re.compile(r"^\s*(?:(?:rule|checkpoint)\s+(\w+)\s*:|use rule \w+ as (\w+) with\s*:)")
_BENCHMARK = re.compile(r"^\s*benchmark\s*:\s*$")
_PATH = re.compile(r"""^\s*f?["']([^"']+)["']""")
_WILDCARD = re.compile(r"\{(\w+)\}")
# the benchmark folder of a dataset: results/benchmarks/<dataset>
# (the demo's own rules name it literally)
_PREFIX = re.compile(r"^results/benchmarks/(?:\{(?:DATASET|dataset)\}|demo)/")
COLUMNS = ("rule", "jobs", "job_s", "mean_s", "cpu_s", "cpu_share", "peak_rss_mb", "share")


@dataclass(frozen=True)
class RulePattern:
    """A rule's benchmark path (relative to the dataset's benchmark folder) as a regex."""

    rule: str
    pattern: re.Pattern[str]
    literal: int  # characters outside wildcards: the more, the more specific


def rule_patterns(rules_dir: str | Path = RULES_DIR) -> list[RulePattern]:
    """Each rule's ``benchmark:`` path under ``results/benchmarks/{dataset}/``, as read
    from the ``.smk`` files (wildcards match one path component, or part of one)."""
    patterns = []
    for path in sorted(Path(rules_dir).glob("*.smk")):
        rule, expect_path = None, False
        for line in path.read_text().splitlines():
            if match := _RULE.match(line):
                rule, expect_path = match[1] or match[2], False
            elif _BENCHMARK.match(line):
                expect_path = True
            elif expect_path and (match := _PATH.match(line)):
                expect_path = False
                relative, n = _PREFIX.subn("", match[1])
                if rule and n:
                    literal = len(_WILDCARD.sub("", relative))
                    patterns.append(RulePattern(rule, _to_regex(relative), literal))
    return patterns


def _to_regex(template: str) -> re.Pattern[str]:
    parts = _WILDCARD.split(template)
    regex = "".join(
        f"(?P<{part}>[^/]+?)" if i % 2 else re.escape(part) for i, part in enumerate(parts)
    )
    return re.compile(f"^{regex}$")


def rule_of(relative: str, patterns: Sequence[RulePattern], families: Mapping[str, str]) -> str:
    """The rule whose benchmark path ``relative`` is; ``"?"`` if none matches.

    Rules sharing a pattern (a torch and a classical variant) are told apart by the
    family of the path's ``model`` wildcard.
    """
    matches = [(p, m) for p in patterns if (m := p.pattern.match(relative))]
    if not matches:
        return "?"
    # "final/{model}.card.tsv" also matches "final/{model}.tsv": the most specific wins
    most = max(p.literal for p, _ in matches)
    matches = [(p, m) for p, m in matches if p.literal == most]
    for pattern, match in matches:
        family = families.get(match.groupdict().get("model", ""), "")
        suffix = {"torch": "_torch", "sklearn": "_classical"}.get(family)
        if suffix and pattern.rule.endswith(suffix):
            return pattern.rule
    return matches[0][0].rule


def read_benchmarks(
    folder: str | Path, patterns: Sequence[RulePattern] | None = None
) -> pd.DataFrame:
    """One row per benchmark file under ``folder``: its path, rule and measurements."""
    folder = Path(folder)
    patterns = rule_patterns() if patterns is None else patterns
    families = {name: model.family for name, model in load_index().items()}
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        relative = path.relative_to(folder).as_posix()
        table = pd.read_csv(path, sep="\t")
        if table.empty or "s" not in table:
            continue
        measured = table.iloc[-1]  # a repeated benchmark keeps one row per repeat
        rows.append(
            {
                "path": relative,
                "rule": rule_of(relative, patterns, families),
                "s": float(measured["s"]),
                "cpu_time": float(pd.to_numeric(measured.get("cpu_time"), errors="coerce")),
                "max_rss": float(pd.to_numeric(measured.get("max_rss"), errors="coerce")),
            }
        )
    if not rows:
        raise FileNotFoundError(f"no benchmark files (*.tsv) under {folder}")
    return pd.DataFrame(rows)


def summarise(jobs: pd.DataFrame) -> pd.DataFrame:
    """Per rule (most job time first): :data:`COLUMNS`, and a last ``total`` row."""
    grouped = jobs.groupby("rule")
    summary = pd.DataFrame(
        {
            "jobs": grouped.size(),
            "job_s": grouped["s"].sum(),
            "cpu_s": grouped["cpu_time"].sum(),
            "peak_rss_mb": grouped["max_rss"].max(),
        }
    )
    summary["mean_s"] = summary["job_s"] / summary["jobs"]
    summary["cpu_share"] = summary["cpu_s"] / summary["job_s"].where(summary["job_s"] > 0)
    summary["share"] = summary["job_s"] / summary["job_s"].sum()
    summary = summary.sort_values("job_s", ascending=False).reset_index()
    total = {
        "rule": "total",
        "jobs": int(summary["jobs"].sum()),
        "job_s": summary["job_s"].sum(),
        "mean_s": summary["job_s"].sum() / summary["jobs"].sum(),
        "cpu_s": summary["cpu_s"].sum(),
        "cpu_share": summary["cpu_s"].sum() / max(summary["job_s"].sum(), 1e-9),
        "peak_rss_mb": summary["peak_rss_mb"].max(),
        "share": 1.0,
    }
    return pd.concat([summary, pd.DataFrame([total])], ignore_index=True)[list(COLUMNS)]


def markdown(summary: pd.DataFrame) -> str:
    """The summary as docs/measurements.md's table."""
    header = (
        "| rule | jobs | job time (s) | mean per job (s) | CPU time (s) | CPU share | "
        "peak memory (MB) | share of job time |"
    )
    lines = [
        header,
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in summary.itertuples(index=False):
        name = f"**{row.rule}**" if row.rule == "total" else f"`{row.rule}`"
        lines.append(
            f"| {name} | {row.jobs} | {row.job_s:,.0f} | {row.mean_s:,.1f} | {row.cpu_s:,.0f} | "
            f"{row.cpu_share:.2f} | {row.peak_rss_mb:,.0f} | {row.share:.1%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.workflow", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("folder", help="results/benchmarks/<dataset>")
    parser.add_argument("--format", choices=("markdown", "csv"), default="markdown")
    parser.add_argument("--rules", default=str(RULES_DIR), help="the workflow's rules folder")
    args = parser.parse_args(argv)
    try:
        jobs = read_benchmarks(args.folder, rule_patterns(args.rules))
    except FileNotFoundError as error:
        print(f"benchmarks.workflow: {error}", file=sys.stderr)
        return 2
    summary = summarise(jobs)
    if args.format == "csv":
        print(summary.to_csv(index=False, float_format="%.3f"), end="")
    else:
        print(markdown(summary))
    unknown = jobs.loc[jobs["rule"] == "?", "path"].tolist()
    if unknown:
        print(
            f"\n{len(unknown)} file(s) of no known rule: {', '.join(unknown[:5])}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
