"""What one training job runs, exactly as the plan resolved it.

:mod:`genreflow.plan` builds a :class:`RunSettings` for every model (and every sweep
point) with each default, override and cap applied; a rule passes
:meth:`RunSettings.to_dict` and the job rebuilds it with :meth:`RunSettings.from_dict`,
so a job never merges or defaults a setting itself. No torch here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genreflow.training.params import TrainParams


@dataclass(frozen=True)
class RunSettings:
    """A model as one training job trains it."""

    model: str
    family: str  # "torch" or "sklearn"
    inputs: tuple[str, ...]
    arch: Mapping[str, Any]  # the architecture's (estimator's) keywords, overrides applied
    train: TrainParams | None  # torch: every optimisation setting, caps applied
    device: str  # training.device (scikit-learn models: "cpu")
    amp: bool  # mixed precision on CUDA
    threads: int  # CPU threads of the job

    def to_dict(self) -> dict[str, Any]:
        """Plain values (a rule's params)."""
        return {
            "model": self.model,
            "family": self.family,
            "inputs": list(self.inputs),
            "arch": dict(self.arch),
            "train": self.train.as_dict() if self.train is not None else None,
            "device": self.device,
            "amp": self.amp,
            "threads": self.threads,
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunSettings:
        """The settings :meth:`to_dict` gave."""
        train = values["train"]
        return cls(
            model=values["model"],
            family=values["family"],
            inputs=tuple(values["inputs"]),
            arch=dict(values["arch"]),
            train=TrainParams.from_dict(train) if train is not None else None,
            device=values["device"],
            amp=bool(values["amp"]),
            threads=int(values["threads"]),
        )

    def value(self, name: str) -> Any:
        """A setting by name: an ``arch`` keyword, else a ``train`` field."""
        if name in self.arch:
            return self.arch[name]
        return getattr(self.train, name, None)
