"""The pipeline picture: the default run's rule graph as a Mermaid flowchart.

Snakemake draws it (``snakemake --rulegraph mermaid-js``); this module keeps the nodes and
edges (not Snakemake's per-rule colours) and places it between the marker lines of each
page that shows it (``README.md``, ``docs/index.md``). GitHub and the docs site both
render Mermaid blocks.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

START = "<!-- rulegraph:start -->"
END = "<!-- rulegraph:end -->"
PAGES = (Path("README.md"), Path("docs/index.md"))
GATHER = "all"  # the default target: gathers every result, not a stage


def mermaid(root: Path) -> str:
    """The rule graph of the default config's run at ``root``, as a Mermaid block.

    ``--forceall`` draws every rule whether or not its outputs exist, so the picture does
    not depend on what has run. Rules are named by themselves and each rule's inputs are
    drawn on one line (``a & b --> c``); the default target ``all``, which only gathers
    the others, is left out.
    """
    drawn = subprocess.run(
        [sys.executable, "-m", "snakemake", "--rulegraph", "mermaid-js", "--forceall", "--quiet"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    names = dict(re.findall(r"^\s*(id\d+)\[(\w+)\]\s*$", drawn, flags=re.MULTILINE))
    inputs: dict[str, list[str]] = {}
    for source, target in re.findall(r"^\s*(id\d+) --> (id\d+)\s*$", drawn, flags=re.MULTILINE):
        if names[target] != GATHER:
            inputs.setdefault(names[target], []).append(names[source])
    lines = [
        f"    {' & '.join(sorted(set(inputs[target])))} --> {target}"
        for target in upstream_first(inputs)
        if target in inputs
    ]
    return "\n".join(["```mermaid", "flowchart TB", *lines, "```"])


def upstream_first(inputs: dict[str, list[str]]) -> list[str]:
    """Every rule of the graph, each after its inputs, ties in alphabetical order (the
    same picture whatever order Snakemake listed the rules in)."""
    pending = {rule: set(sources) - {rule} for rule, sources in inputs.items()}
    for sources in inputs.values():
        for source in sources:
            pending.setdefault(source, set())
    ordered: list[str] = []
    while pending:
        ready = sorted(rule for rule, sources in pending.items() if not sources)
        if not ready:
            raise ValueError(f"the rule graph has a cycle among {sorted(pending)}")
        ordered += ready
        for rule in ready:
            del pending[rule]
        for sources in pending.values():
            sources.difference_update(ready)
    return ordered


def place(page: str, block: str) -> str:
    """``page`` with ``block`` between its marker lines (unchanged without them)."""
    if START not in page or END not in page:
        return page
    before, rest = page.split(START, 1)
    _, after = rest.split(END, 1)
    return f"{before}{START}\n{block}\n{END}{after}"
