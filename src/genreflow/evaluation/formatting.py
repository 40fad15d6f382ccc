"""Number formatting shared by the markdown reports and cards."""

from __future__ import annotations

import math


def percent(value: float | None, suffix: str = "%") -> str:
    """A share as a percentage with one decimal ("72.5%"); an en dash when missing."""
    if value is None or math.isnan(float(value)):
        return "–"
    return f"{100 * float(value):.1f}{suffix}"
