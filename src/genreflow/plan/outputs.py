"""The ``final`` and ``explain`` blocks: which models become final models, which runs
are explained."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from genreflow.errors import closest


def chosen(
    key: str,
    names: Any,
    available: Mapping[str, Any],
    problems: list[str],
    disabled: list[str] = (),
) -> list[str]:
    """``names`` ('all' or names from ``available``) as a list; unknown names: problems."""
    if names == "all":
        return list(available)
    for name in names:
        if name in disabled:
            problems.append(f"{key}: {name} is disabled (models.{name}.enabled is false)")
        elif name not in available:
            problems.append(
                f"{key}: {name} is not one of {', '.join(available)}{closest(name, available)}"
            )
    return [name for name in names if name in available]


def explain_problems(explain: Mapping[str, Any]) -> list[str]:
    """Integrated Gradients' step cap below the steps it starts from."""
    steps, max_steps = explain["ig_steps"], explain["ig_max_steps"]
    if max_steps < steps:
        return [
            (
                f"explain.ig_max_steps: {max_steps} is below explain.ig_steps ({steps}), where "
                "Integrated Gradients starts; raise it or lower ig_steps"
            )
        ]
    return []


def explained_folds(
    explain: Mapping[str, Any], schemes: Mapping[str, tuple[int, ...]], problems: list[str]
) -> dict[str, tuple[int, ...]]:
    """Explained fold scheme → its explained folds (the first ``explain.folds``); empty
    when explanations are off (``explain.tracks_per_fold: 0``)."""
    names = chosen("explain.schemes", explain["schemes"], schemes, problems)
    if not explain["tracks_per_fold"]:
        return {}
    count = explain["folds"]
    return {
        scheme: schemes[scheme] if count == "all" else schemes[scheme][: int(count)]
        for scheme in names
    }
