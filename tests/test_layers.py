"""The house drawn from the code: no import loop, no import from a lower layer to a
higher one (the layers are listed, one line each, in genreflow's package docstring)."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import genreflow

SRC = Path(genreflow.__file__).parent
LAYER_LINE = re.compile(r"^(\d+)\. \w+: ([\w, ]+) -- ", re.MULTILINE)


def layers() -> dict[str, int]:
    """Top-level module or package of genreflow → its layer, from the docstring."""
    table = {}
    for number, names in LAYER_LINE.findall(genreflow.__doc__):
        for name in names.split(","):
            table[name.strip()] = int(number)
    return table


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports() -> dict[str, set[str]]:
    """Every genreflow module → the genreflow modules it imports, wherever the import
    statement stands (a function-level import is an edge too)."""
    modules = {module_name(path) for path in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not node.level, f"{path}: genreflow imports absolutely"
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                # the most specific module a target names (``from m import f``: m)
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target.startswith("genreflow.") and target != name:
                    edges[name].add(target)
    return edges


def top(module: str) -> str:
    return module.split(".")[1]


def test_every_top_level_module_has_a_layer():
    tops = {path.stem for path in SRC.glob("*.py") if path.stem != "__init__"}
    tops |= {path.parent.name for path in SRC.glob("*/__init__.py")}
    assert tops == set(layers())


def test_no_import_goes_up_a_layer():
    table = layers()
    upward = [
        f"{module} (layer {table[top(module)]}) imports {target} (layer {table[top(target)]})"
        for module, targets in imports().items()
        for target in targets
        if table[top(target)] > table[top(module)]
    ]
    assert not upward, "\n".join(upward)


def test_no_import_loop():
    edges = imports()
    state: dict[str, int] = {}  # 1: on the path, 2: done
    loops = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                loops.append(" -> ".join([*path[path.index(target) :], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert not loops, "\n".join(loops)
