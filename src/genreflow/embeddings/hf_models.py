"""What the clap, mert and muq kinds share: chunks of a clip, strict loading of a
``transformers`` model from a folder, batches under a memory bound, and the extractor
steps around the network (:class:`ChunkEncoder`).

Loading is strict as :func:`genreflow.embeddings.vggish.load_vggish` is: a weight the
network lacks, a weight the files lack, or one of another shape is an error naming the
weights file (``transformers`` itself only warns and initialises the missing ones at
random). Buffers the files carry that the network recomputes (``position_ids``,
relative position indices) are not weights and are let through.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genreflow.embeddings.checkpoints import (
    RESAMPLER,
    folder_digests,
    licence_of,
    needed_files,
    weight_files,
)
from genreflow.embeddings.resampling import resample_mono
from genreflow.errors import ConfigError, DataError

log = logging.getLogger(__name__)
SHOWN_KEYS = 5  # keys named in a loading error (with the total)


def chunks(y: np.ndarray, samples: int) -> np.ndarray:
    """Consecutive, non-overlapping chunks ``(n, samples)`` of mono ``y``, float32.

    The tail shorter than a chunk is left out, as musicnn's and VGGish's front ends
    leave out a part patch; a clip shorter than one chunk is repeated to fill one
    (CLAP's own ``repeatpad``), so every track has at least one frame.
    """
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if y.size == 0:
        raise DataError("no audio samples to embed.")
    if y.size < samples:
        return np.tile(y, -(-samples // y.size))[:samples][None, :]
    n = y.size // samples
    return np.ascontiguousarray(y[: n * samples].reshape(n, samples))


def _shown(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return f"{keys[:SHOWN_KEYS]}{more}"


def strict_pretrained(
    load: Callable[[], tuple[Any, Mapping]],
    folder: str | os.PathLike,
    what: str,
    unused: tuple[str, ...] = (),
):
    """The model ``load()`` returns (``from_pretrained(..., output_loading_info=True)``),
    in eval mode, when its weights are exactly the files'; else a DataError naming them.

    Keys under the ``unused`` prefixes (a part of the network that is dropped after
    loading, CLAP's text tower) are logged, not refused.
    """
    names = ", ".join(str(p) for p in weight_files(folder)) or str(folder)
    try:
        model, info = load()
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise DataError(f"{names}: not loadable as {what} ({type(exc).__name__}: {first})") from exc
    if unused:
        ignored = [
            str(key if isinstance(key, str) else key[0])
            for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
            for key in info.get(kind) or []
            if str(key if isinstance(key, str) else key[0]).startswith(unused)
        ]
        if ignored:
            log.warning("%s: keys of the unused %s differ: %s", names, "/".join(unused), ignored)
        info = {
            kind: [
                key
                for key in info.get(kind) or []
                if not str(key if isinstance(key, str) else key[0]).startswith(unused)
            ]
            for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
        }
    buffers = {name for name, _ in model.named_buffers()}
    missing = sorted(info.get("missing_keys") or [])
    unexpected = sorted(
        key
        for key in info.get("unexpected_keys") or []
        if key not in buffers and not key.endswith(("position_ids", "relative_position_index"))
    )
    mismatched = [str(item[0]) for item in info.get("mismatched_keys") or []]
    refuse_mismatch(names, what, missing, unexpected, mismatched)
    return model.eval()


def refuse_mismatch(
    names: str, what: str, missing: list[str], unexpected: list[str], mismatched: list[str]
) -> None:
    """A DataError naming the weights files ``names`` and the keys that differ from the
    network ``what``, when any do."""
    parts = [
        f"{words} {_shown(keys)}"
        for words, keys in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("keys of another shape", mismatched),
        )
        if keys
    ]
    if parts:
        raise DataError(f"{names}: {'; '.join(parts)}; expected the weights of {what}.")


def checked_layer(kind: str, layer: Any, n_states: int, named: tuple[str, ...] = ("mean",)):
    """``layer`` when it is one of ``named`` or a hidden state's index (negative from the
    end) among ``n_states``; else the ConfigError naming the choices."""
    if isinstance(layer, bool) or not (
        layer in named or (isinstance(layer, int) and -n_states <= layer < n_states)
    ):
        raise ConfigError(
            f"{kind} layer {layer!r}: choose {' or '.join(named)}, or a hidden state from "
            f"{-n_states} to {n_states - 1}."
        )
    return layer


def time_mean(states: Sequence[torch.Tensor], layer: str | int) -> torch.Tensor:
    """Each example's time-mean of hidden state ``layer`` ``(batch, frames, dims)``, or
    (``mean``) of the mean of every hidden state, as MARBLE probes: ``(batch, dims)``."""
    if layer == "mean":
        return torch.stack([s.float() for s in states]).mean(dim=0).mean(dim=1)
    return states[layer].float().mean(dim=1)


def autocast(device: torch.device, fp16: bool):
    """float16 autocast on CUDA when ``fp16``; nothing elsewhere."""
    if fp16 and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return nullcontext()


def run_batches(
    network: Callable[[torch.Tensor], torch.Tensor],
    examples: np.ndarray,
    dimensions: int,
    *,
    batch_size: int,
    device: torch.device,
    fp16: bool,
) -> np.ndarray:
    """``network`` over ``examples`` in batches of at most ``batch_size``: (n, dimensions).

    A batch the GPU has no memory for is halved (down to one example) and the rest of
    the call goes on at the smaller size; the output is float32 whatever the precision.
    """
    outputs, start, size = [], 0, max(1, int(batch_size))
    while start < len(examples):
        part = np.ascontiguousarray(examples[start : start + size], dtype=np.float32)
        try:
            with torch.inference_mode(), autocast(device, fp16):
                out = network(torch.from_numpy(part).to(device))
            outputs.append(out.float().cpu().numpy())
        except torch.cuda.OutOfMemoryError:
            if size == 1:
                raise
            size //= 2
            torch.cuda.empty_cache()
            log.warning("out of GPU memory: batches of %d examples from now on", size)
            continue
        start += len(part)
    if not outputs:
        return np.zeros((0, dimensions), dtype=np.float32)
    return np.concatenate(outputs)


def preprocessor_check(
    folder: str | os.PathLike, what: str, sample_rate: int, actual_rate: Any
) -> None:
    """The preprocessor's rate must be the kind's (the rate the stage decodes at)."""
    if actual_rate != sample_rate:
        raise DataError(
            f"{Path(folder) / 'preprocessor_config.json'}: sampling_rate {actual_rate}, but "
            f"{what} is read at {sample_rate} Hz; the file is not this kind's."
        )


class ChunkEncoder:
    """The steps around a network that the clap, mert and muq extractors share.

    A subclass sets :attr:`sample_rate`, :attr:`chunk_samples`, what its feature
    extractor's output is called (:attr:`input_key`) and its axes (:attr:`input_axes`),
    and in ``__init__`` :attr:`features`, :attr:`dimensions`, :attr:`batch_size`,
    :attr:`device` and :attr:`fp16`; it computes one batch in ``_embed``. (MuQ computes
    its own spectrogram: its :meth:`frontend` only cuts chunks, and it has no
    ``features``.)
    """

    what: str  # the kind's name in errors
    sample_rate: int
    chunk_samples: int
    input_key: str
    input_axes: str  # e.g. "(n, samples)"
    features: Any
    dimensions: int
    batch_size: int
    device: torch.device
    fp16: bool

    def _embed(self, batch: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _record(self, weights, kind: str, code: str | None, licence: str | None) -> None:
        """Check the folder (SHA256SUMS when it has one) and keep the SHA-256 of every
        file the network is built from (:attr:`weight_digests`) and the licence."""
        files = needed_files(weights, kind, code)
        self.weight_digests = folder_digests(weights, files, verify=True)
        self.licence = licence_of(weights, licence)

    def frontend(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The network's input for each chunk of mono ``y`` (resampled to the kind's rate)."""
        audio = resample_mono(y, sample_rate, self.sample_rate, RESAMPLER)
        inputs = self.features(
            list(chunks(audio, self.chunk_samples)),
            sampling_rate=self.sample_rate,
            return_tensors="np",
        )
        return np.asarray(inputs[self.input_key], dtype=np.float32)

    def forward(self, examples: np.ndarray) -> np.ndarray:
        """The chosen layer of each chunk's input: (chunks, dimensions), float32."""
        if examples.ndim != self.input_axes.count(",") + 1:
            raise DataError(
                f"{self.what} inputs of shape {examples.shape}: expected {self.input_axes}."
            )
        return run_batches(
            self._embed,
            examples,
            self.dimensions,
            batch_size=self.batch_size,
            device=self.device,
            fp16=self.fp16,
        )

    def __call__(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The feature matrix of mono ``y``: (dimensions × chunks), like every feature set."""
        return self.forward(self.frontend(y, sample_rate)).T
