"""Which part of a song features are computed on: the excerpt policy.

Real songs run 3–10 minutes; a dataset's clips, 30 s. An :class:`Excerpt` turns a
file's duration into the spans to decode, so a long song costs what a clip costs: by
default the 30 s in its middle. A file at most ``tolerance_s`` longer than the excerpt
(a dataset's 30 s clip) is decoded whole, as it always was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

POLICIES = ("middle", "start", "spread", "whole")


@dataclass(frozen=True)
class Excerpt:
    """``policy``: ``middle`` (one excerpt from the middle), ``start`` (the first
    ``seconds``), ``spread`` (``count`` excerpts centred at evenly spaced points of the song, joined) or
    ``whole`` (the whole file). ``seconds`` is the length of one excerpt."""

    policy: str = "middle"
    seconds: float = 30.0
    count: int = 1
    tolerance_s: float = 1.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"excerpt policy {self.policy!r} is not one of {POLICIES}")

    @classmethod
    def from_dict(cls, block: Mapping[str, Any]) -> Excerpt:
        return cls(
            policy=block["policy"],
            seconds=float(block["seconds"]),
            count=int(block["count"]),
            tolerance_s=float(block["tolerance_s"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def total_seconds(self) -> float:
        """The length of what is decoded from a long file."""
        return self.seconds * (self.count if self.policy == "spread" else 1)

    def spans(self, duration_s: float) -> list[tuple[float, float | None]]:
        """``(offset_s, duration_s)`` of each span to decode from a file of
        ``duration_s`` (its header's); ``[(0.0, None)]`` means the whole file."""
        if self.policy == "whole" or duration_s <= self.total_seconds + self.tolerance_s:
            return [(0.0, None)]
        if self.policy == "start":
            return [(0.0, self.seconds)]
        if self.policy == "middle":
            return [(round((duration_s - self.seconds) / 2, 3), self.seconds)]
        # centred at 1/(n+1), 2/(n+1), ... of the song, so intro and outro are left out
        centres = [duration_s * (i + 1) / (self.count + 1) for i in range(self.count)]
        latest = duration_s - self.seconds
        return [
            (round(min(max(0.0, c - self.seconds / 2), latest), 3), self.seconds) for c in centres
        ]

    def describe(self) -> str:
        """In words, for logs and model cards."""
        if self.policy == "whole":
            return "the whole file"
        where = {
            "middle": f"{self.seconds:g} s from the middle",
            "start": f"the first {self.seconds:g} s",
            "spread": f"{self.count} × {self.seconds:g} s spread evenly over the song",
        }[self.policy]
        return f"{where} (files up to {self.total_seconds + self.tolerance_s:g} s: whole)"
