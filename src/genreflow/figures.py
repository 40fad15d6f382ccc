"""Figures: matplotlib without a screen, genreflow's seaborn theme, PNGs written atomically.

Importing this module changes no global style: :func:`themed` applies the theme while a
figure function runs and restores matplotlib's settings after it. It also draws the
figure with numpy's global generator seeded (seaborn takes a strip plot's jitter from
it; its bootstrap intervals take ``seed=``), so a figure of the same data has the same
bytes every time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import matplotlib
import numpy as np

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from genreflow.atomic import atomic_path

DPI = 150
THEME = {"style": "whitegrid", "context": "notebook"}

Draw = TypeVar("Draw", bound=Callable[..., Any])


def themed(draw: Draw) -> Draw:
    """Run the figure function ``draw`` under :data:`THEME` (seaborn's ``set_theme``),
    restoring matplotlib's settings and numpy's global generator when it returns."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import seaborn as sns

        state = np.random.get_state()
        np.random.seed(0)
        try:
            with matplotlib.rc_context():
                sns.set_theme(**THEME)
                return draw(*args, **kwargs)
        finally:
            np.random.set_state(state)

    return wrapper  # type: ignore[return-value]


def save_figure(figure: plt.Figure, dest: str | Path) -> None:
    """Save ``figure`` to ``dest`` atomically and close it."""
    with atomic_path(dest) as tmp:
        figure.savefig(tmp, dpi=DPI, bbox_inches="tight")
    plt.close(figure)


__all__ = ["DPI", "THEME", "plt", "save_figure", "themed"]
