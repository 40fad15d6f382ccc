"""Feature settings as a job uses them, rebuilt from the plan's features block."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.precomputed import PRECOMPUTED
from genreflow.excerpts import Excerpt
from genreflow.features.compute import FEATURE_KINDS, FeatureSpec


@dataclass(frozen=True)
class Segmentation:
    """How tracks are cut into training examples: ``seconds=None`` keeps the whole clip."""

    name: str
    seconds: float | None
    hop_seconds: float | None = None


@dataclass(frozen=True)
class FeatureSettings:
    """Everything that determines a track's feature files."""

    sample_rate: int
    n_fft: int
    hop_length: int
    clip_seconds: float | None
    clip_policy: str
    silence_peak: float
    short_tolerance_s: float
    specs: tuple[FeatureSpec, ...]
    # the part of each file decoded; None: the whole file (models saved before excerpts)
    excerpt: Excerpt | None = None

    @classmethod
    def from_dict(cls, features: Mapping[str, Any]) -> FeatureSettings:
        """Build from the plan's features block (``FeaturesPlan.to_dict``, its clip length
        resolved), which every trained model also records."""
        specs = []
        for name, block in features["sets"].items():
            params = {k: v for k, v in block.items() if k != "kind"}
            kind = block["kind"]
            if kind not in FEATURE_KINDS and kind not in EMBEDDING_KINDS and kind != PRECOMPUTED:
                raise ValueError(f"features.sets.{name}.kind: unknown kind {block['kind']!r}")
            specs.append(FeatureSpec(name, block["kind"], params))
        return cls(
            sample_rate=features["sample_rate"],
            n_fft=features["n_fft"],
            hop_length=features["hop_length"],
            clip_seconds=features["clip_seconds"],
            clip_policy=features["clip_policy"],
            silence_peak=features["silence_peak"],
            short_tolerance_s=features["short_tolerance_s"],
            specs=tuple(specs),
            excerpt=Excerpt.from_dict(features["excerpt"]) if features.get("excerpt") else None,
        )

    def spec(self, name: str) -> FeatureSpec:
        for spec in self.specs:
            if spec.name == name:
                return spec
        raise KeyError(f"no feature set named {name!r}")

    @property
    def stft_specs(self) -> tuple[FeatureSpec, ...]:
        """The sets rule extract_features computes from each track's STFT."""
        return tuple(
            spec for spec in self.specs if not spec.is_embedding and not spec.is_precomputed
        )

    @property
    def embedding_specs(self) -> tuple[FeatureSpec, ...]:
        """The sets rule extract_embeddings computes with pretrained networks."""
        return tuple(spec for spec in self.specs if spec.is_embedding)

    @property
    def precomputed_specs(self) -> tuple[FeatureSpec, ...]:
        """The sets rule import_precomputed reads from files computed elsewhere."""
        return tuple(spec for spec in self.specs if spec.is_precomputed)

    def frame_seconds(self, feature: str) -> float:
        """The length of one frame of ``feature``: an STFT hop, an embedding's example, or
        a precomputed set's ``frame_seconds`` (:class:`ValueError` where it has none)."""
        spec = self.spec(feature)
        if spec.is_precomputed:
            if spec.params.get("frame_seconds") is None:
                raise ValueError(
                    f"features.sets.{feature}.frame_seconds is null: its frames have no "
                    "length, so it is only averaged over the clip"
                )
            return float(spec.params["frame_seconds"])
        if spec.is_embedding:
            return EMBEDDING_KINDS[spec.kind].frame_seconds
        return self.hop_length / self.sample_rate

    def sample_rate_of(self, feature: str) -> int | None:
        """The rate ``feature`` is computed at: the decode's, or its network's own (a
        precomputed set's: unknown, None)."""
        spec = self.spec(feature)
        if spec.is_precomputed:
            return None
        if spec.is_embedding:
            return EMBEDDING_KINDS[spec.kind].sample_rate
        return self.sample_rate

    def frames(self, seconds: float, feature: str) -> int:
        """Number of frames of ``feature`` spanning ``seconds``."""
        return round(seconds / self.frame_seconds(feature))


def segmentations(config_segments: Mapping[str, Mapping[str, Any]]) -> dict[str, Segmentation]:
    """The plan's ``segments`` (each hop resolved) as :class:`Segmentation` objects; a
    model saved before the plan resolved hops steps by its segment length, as it did."""
    return {
        name: Segmentation(
            name, block.get("seconds"), block.get("hop_seconds") or block.get("seconds")
        )
        for name, block in config_segments.items()
    }
