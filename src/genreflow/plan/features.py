"""The ``features`` block: feature sets, segmentations, the clip length they are cut to.

Resolved once here; jobs rebuild :class:`genreflow.features.settings.FeatureSettings`
from :meth:`FeaturesPlan.to_dict` and models save that same dict, so ``genreflow
predict`` featurises songs exactly as their training tracks were.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from genreflow.embeddings import EMBEDDING_KINDS
from genreflow.embeddings.checkpoints import MODEL_TYPES
from genreflow.embeddings.precomputed import PRECOMPUTED, source_problems
from genreflow.errors import closest

SUMMARY_KIND = "gtzan_summary"


@dataclass(frozen=True)
class FeaturesPlan:
    """The ``features`` block with the clip length (``features.clip_seconds``, else the
    dataset's) and every segmentation's hop resolved, and what the workflow derives
    from it."""

    block: Mapping[str, Any]  # the features block, clip_seconds resolved
    # every consolidated FEATURE@SEGMENTATION array: features.consolidate, then every
    # model's array inputs
    arrays: tuple[str, ...]
    n_shards: int  # feature jobs per set: see feature_jobs

    @property
    def clip_seconds(self) -> float | None:
        return self.block["clip_seconds"]

    @property
    def sample_rate(self) -> int:
        return self.block["sample_rate"]

    @property
    def summary_sets(self) -> tuple[str, ...]:
        """Feature sets of kind gtzan_summary (one table row per track)."""
        return tuple(
            name for name, block in self.block["sets"].items() if block["kind"] == SUMMARY_KIND
        )

    @property
    def embedding_sets(self) -> tuple[str, ...]:
        """Feature sets computed by pretrained networks."""
        return tuple(
            name for name, block in self.block["sets"].items() if block["kind"] in EMBEDDING_KINDS
        )

    @property
    def folder_weight_sets(self) -> dict[str, dict[str, Any]]:
        """The blocks of the sets whose network is read from a folder (clap, mert, muq)."""
        return {
            name: dict(block)
            for name, block in self.block["sets"].items()
            if block["kind"] in MODEL_TYPES
        }

    @property
    def precomputed_sets(self) -> tuple[str, ...]:
        """Feature sets read from files computed elsewhere (rule import_precomputed)."""
        return tuple(
            name for name, block in self.block["sets"].items() if block["kind"] == PRECOMPUTED
        )

    def to_dict(self) -> dict[str, Any]:
        """What jobs read (``FeatureSettings.from_dict``) and trained models record."""
        return dict(self.block)


def feature_clip_seconds(features: Mapping[str, Any], dataset_clip: float | None) -> float | None:
    """The clip length features are computed on: ``features.clip_seconds`` or the dataset's."""
    return features.get("clip_seconds") or dataset_clip


def features_problems(features: Mapping[str, Any], clip: float | None) -> list[str]:
    """Segments longer than the clips, arrays naming no set or segmentation, hop > n_fft."""
    problems = []
    sets, segments = features["sets"], features["segments"]
    for name, block in segments.items():
        seconds = block.get("seconds")
        if seconds is not None and clip is not None and seconds > clip:
            problems.append(
                f"features.segments.{name}.seconds: {seconds:g} s is longer than the "
                f"{clip:g} s clips; shorten it or set features.clip_seconds."
            )
    for i, item in enumerate(features.get("consolidate", [])):
        feature, _, segmentation = item.partition("@")
        if feature not in sets:
            problems.append(
                f"features.consolidate[{i}]: {item!r} names no feature set"
                f"{closest(feature, sets)} (features.sets has {', '.join(sets)})"
            )
        elif sets[feature]["kind"] == SUMMARY_KIND:
            problems.append(
                f"features.consolidate[{i}]: {feature!r} is a per-track summary table, "
                "not a sequence; it is written as gtzan_summary.csv."
            )
        if segmentation not in segments:
            problems.append(
                f"features.consolidate[{i}]: {item!r} names no segmentation"
                f"{closest(segmentation, segments)} (features.segments has {', '.join(segments)})"
            )
        else:
            problems += frame_problems(f"features.consolidate[{i}]", item, features)
    if features["n_fft"] < features["hop_length"]:
        problems.append("features.hop_length: must not exceed features.n_fft.")
    for name, block in sets.items():
        frame = block.get("frame_seconds")
        if block["kind"] == PRECOMPUTED and frame is not None and frame <= 0:
            problems.append(f"features.sets.{name}.frame_seconds: {frame!r} must be positive")
        if block["kind"] == "vggish" and block.get("postprocess") and not block.get("pca"):
            problems.append(
                f"features.sets.{name}.postprocess: the AudioSet postprocessing needs the PCA "
                f"parameters; set features.sets.{name}.pca (see config/gtzan.yaml)"
            )
    return problems


def frame_problems(key: str, item: str, features: Mapping[str, Any]) -> list[str]:
    """An embedding set's FEATURE@SEGMENTATION whose segments are shorter than one frame,
    or a precomputed set without a frame length cut into segments of a length."""
    feature, _, segmentation = item.partition("@")
    block = features["sets"].get(feature) or {}
    if segmentation not in features["segments"]:
        return []
    if block.get("kind") == PRECOMPUTED:
        if block.get("frame_seconds") is not None:
            frame, name = float(block["frame_seconds"]), feature
        elif features["segments"][segmentation].get("seconds") is not None:
            whole = [n for n, b in features["segments"].items() if b.get("seconds") is None]
            return [
                (
                    f"{key}: {item!r}: features.sets.{feature}.frame_seconds is null, so its "
                    f"frames have no length to cut {segmentation} segments from; use a whole-clip "
                    f"segmentation ({', '.join(f'{feature}@{n}' for n in whole) or 'seconds: null'}"
                    ": the mean of its frames) or set frame_seconds"
                )
            ]
        else:
            return []
    elif block.get("kind") in EMBEDDING_KINDS:
        frame, name = EMBEDDING_KINDS[block["kind"]].frame_seconds, block["kind"]
    else:
        return []
    problems = []
    for part in ("seconds", "hop_seconds"):
        seconds = features["segments"][segmentation].get(part)
        if seconds is not None and round(seconds / frame) < 1:
            problems.append(
                f"{key}: {item!r}: features.segments.{segmentation}.{part} ({seconds:g} s) is "
                f"shorter than one {frame:.3f} s frame of {name}; use a longer "
                "segmentation."
            )
    return problems


def input_problems(key: str, item: str, family: str, features: Mapping[str, Any]) -> list[str]:
    """A model input (``FEATURE@SEGMENTATION``, or a summary set for a scikit-learn
    model) that the features block cannot give."""
    sets, segments = features.get("sets") or {}, features.get("segments") or {}
    feature, _, segmentation = item.partition("@")
    summaries = [name for name, block in sets.items() if block.get("kind") == SUMMARY_KIND]
    if family == "sklearn" and not segmentation and feature in summaries:
        return []
    if feature in sets and segmentation in segments and feature not in summaries:
        return frame_problems(key, item, {"sets": sets, "segments": segments})
    pairs = [f"{s}@{g}" for s in sets if s not in summaries for g in segments]
    allowed = "FEATURE@SEGMENTATION of features.sets and features.segments"
    if family == "sklearn":
        allowed = f"a summary set ({', '.join(summaries) or 'none configured'}) or " + allowed
    return [f"{key}: {item!r} is not {allowed} ({', '.join(pairs)})" + closest(item, pairs)]


def precomputed_problems(
    features: Mapping[str, Any], track_ids: list[str] | None, dataset: str
) -> list[str]:
    """Every precomputed set's source checked against the dataset's tracks (``None``:
    not known before the data stage; the import job checks them): present, one
    dimensionality, finite values (where cheap to read). One line per set at most."""
    problems = []
    for name, block in features["sets"].items():
        if block["kind"] == PRECOMPUTED:
            problems += source_problems(f"features.sets.{name}", block, track_ids, dataset)
    return problems


def augmented_input_problems(
    key: str, inputs: list[str], features: Mapping[str, Any], augment: Mapping[str, Any]
) -> list[str]:
    """A model mixing a precomputed set with other sets while augmentation is on: the
    augmented copies have no precomputed embedding, so its inputs' examples differ."""
    sets = features.get("sets") or {}
    names = {item.partition("@")[0] for item in inputs}
    precomputed = sorted(n for n in names if (sets.get(n) or {}).get("kind") == PRECOMPUTED)
    if not augment.get("enabled") or not precomputed or len(names) == len(precomputed):
        return []
    return [
        (
            f"{key}: {', '.join(precomputed)} (precomputed) has no embedding of the augmented "
            "copies (augment.enabled), so it cannot be read beside "
            f"{', '.join(sorted(names - set(precomputed)))}; turn augmentation off or give the "
            "model precomputed inputs only"
        )
    ]


def resolved_excerpt(
    excerpt: Mapping[str, Any], clip_seconds: float | None
) -> dict[str, Any] | None:
    """The excerpt block with the length of one excerpt: the clip's (``spread``: the
    clip's share, so the joined excerpts make one clip); ``None`` (the whole file) when
    there is no clip length."""
    if clip_seconds is None or excerpt["policy"] == "whole":
        return None
    count = excerpt["count"] if excerpt["policy"] == "spread" else 1
    return {**excerpt, "count": count, "seconds": round(clip_seconds / count, 6)}


def feature_jobs(n_tracks: int, tracks_per_job: int, max_jobs: int) -> int:
    """Jobs per feature stage: ``tracks_per_job`` tracks each, but at most ``max_jobs``
    (larger jobs then), so a 100,000-track dataset does not put thousands of jobs per
    set into the DAG (Snakemake spends milliseconds on each, dry runs included)."""
    return max(1, min(-(-n_tracks // tracks_per_job), max_jobs))


def resolve_features(
    features: Mapping[str, Any],
    dataset_clip: float | None,
    model_inputs: list[tuple[str, ...]],
    n_tracks: int,
) -> FeaturesPlan:
    """The :class:`FeaturesPlan` of a checked block; ``model_inputs``: every enabled
    model's inputs, whose arrays are consolidated after ``features.consolidate``."""
    arrays = list(features["consolidate"])
    for inputs in model_inputs:
        arrays += [item for item in inputs if "@" in item and item not in arrays]
    # a segmentation without its own hop steps by its length (no overlap)
    segments = {
        name: {**block, "hop_seconds": block.get("hop_seconds") or block.get("seconds")}
        for name, block in features["segments"].items()
    }
    clip_seconds = feature_clip_seconds(features, dataset_clip)
    return FeaturesPlan(
        block={
            **features,
            "clip_seconds": clip_seconds,
            "segments": segments,
            "excerpt": resolved_excerpt(features["excerpt"], clip_seconds),
        },
        arrays=tuple(arrays),
        n_shards=feature_jobs(n_tracks, features["tracks_per_job"], features["max_jobs"]),
    )
