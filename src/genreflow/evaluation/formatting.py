"""Number formatting shared by the markdown reports and cards."""

from __future__ import annotations

import math


def published_percent(value: float, suffix: str = "%") -> str:
    """A published figure as its source printed it: 0.7724 → "77.24%", 0.48 → "48%"."""
    return f"{100 * float(value):.2f}".rstrip("0").rstrip(".") + suffix


def percent(value: float | None, suffix: str = "%") -> str:
    """A share as a percentage with one decimal ("72.5%"); an en dash when missing."""
    if value is None or math.isnan(float(value)):
        return "–"
    return f"{100 * float(value):.1f}{suffix}"
