"""CLAP's audio tower (Wu et al. 2023, LAION) through ``transformers.ClapModel``.

The network is read from a folder the user names (``features.sets.<set>.weights``),
a Hugging Face snapshot of a CLAP checkpoint such as ``laion/larger_clap_music``
(Apache-2.0; ``genreflow weights fetch larger_clap_music --to DIR`` fetches it, see
:mod:`genreflow.embeddings.checkpoints`). Only the audio tower and its projection are
kept: every key of theirs must be the files' (strict), while the text tower is loaded,
its differences only logged, and dropped.

Input
    Mono audio at 48 kHz (resampled with soxr ``soxr_hq`` when the stage did not decode
    it there) cut into 10 s chunks, the model's whole context (the feature
    extractor's ``max_length_s``): a 30 s clip gives three, a tail shorter than 10 s is
    left out, a clip shorter than 10 s is repeated to fill one (CLAP's ``repeatpad``).
    Each chunk becomes the log-mel input of the folder's ``ClapFeatureExtractor``
    (``preprocessor_config.json``): ``(chunks, channels, 1001, 64)``; no chunk is
    "longer" than the context, so fusion (of a fused checkpoint) never applies.

One frame
    One 10 s chunk: its ``layer``, ``projection`` (default) the L2-normalised projected
    audio embedding of ``ClapModel.get_audio_features`` (512 values for the LAION
    checkpoints), ``pooled`` the audio tower's pooled output before the projection,
    or an integer: that hidden state of the HTSAT encoder (0 the patch embedding, then
    one per Swin stage; negative from the end) averaged over its time–frequency grid.

On CUDA the network runs under float16 autocast (``fp16: false`` keeps float32);
the output is float32.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F

from genreflow.embeddings.checkpoints import (
    CLAP_CHUNK_SECONDS,
    CLAP_SAMPLE_RATE,
    PREPROCESSOR_FILE,
)
from genreflow.embeddings.hf_models import (
    ChunkEncoder,
    checked_layer,
    preprocessor_check,
    strict_pretrained,
)
from genreflow.errors import DataError

CHUNK_SAMPLES = int(CLAP_CHUNK_SECONDS * CLAP_SAMPLE_RATE)
NAMED_LAYERS = ("projection", "pooled")
WHAT = "a CLAP checkpoint (transformers' ClapModel)"
# the parts of ClapModel dropped after loading: their keys are not checked strictly
TEXT_TOWER = ("text_model.", "text_projection.", "logit_scale_t")


def load_clap(folder: str | os.PathLike):
    """``(ClapFeatureExtractor, ClapModel)`` of ``folder``, loaded strictly, on the CPU."""
    from transformers import ClapFeatureExtractor, ClapModel

    features = ClapFeatureExtractor.from_pretrained(folder, local_files_only=True)
    preprocessor_check(folder, "CLAP", CLAP_SAMPLE_RATE, features.sampling_rate)
    if features.nb_max_samples != CHUNK_SAMPLES:
        raise DataError(
            f"{os.path.join(folder, PREPROCESSOR_FILE)}: a context of {features.nb_max_samples} "
            f"samples, but the clap kind's frame is {CLAP_CHUNK_SECONDS:g} s at "
            f"{CLAP_SAMPLE_RATE} Hz ({CHUNK_SAMPLES})."
        )
    model = strict_pretrained(
        lambda: ClapModel.from_pretrained(folder, local_files_only=True, output_loading_info=True),
        folder,
        WHAT,
        unused=TEXT_TOWER,
    )
    fused = bool(model.config.audio_config.enable_fusion)
    if (features.truncation == "fusion") != fused:
        raise DataError(
            f"{os.path.join(folder, PREPROCESSOR_FILE)}: truncation {features.truncation!r}, "
            f"but config.json's audio_config.enable_fusion is {fused}: the two files are "
            "not of one checkpoint."
        )
    return features, model


class ClapExtractor(ChunkEncoder):
    """The ``clap`` kind of ``features.sets``: one vector per 10 s chunk.

    Parameters
    ----------
    weights
        The checkpoint's folder (config.json, model.safetensors or pytorch_model.bin,
        preprocessor_config.json); its files are checked against its SHA256SUMS when
        it has one, and their SHA-256 are :attr:`weight_digests`.
    layer
        ``projection``, ``pooled`` or a hidden state's index (see the module docstring).
    licence
        The checkpoint's licence, when the folder's fetch record and the known
        checkpoints do not give it.
    fp16
        float16 autocast on CUDA.
    batch_size
        Chunks per forward pass (halved on running out of GPU memory).
    device
        Where the network runs.
    """

    what = "CLAP"
    sample_rate = CLAP_SAMPLE_RATE
    frame_seconds = CLAP_CHUNK_SECONDS
    chunk_samples = CHUNK_SAMPLES
    input_key = "input_features"  # each 10 s chunk's log-mel: (channels, 1001, 64)
    input_axes = "(n, channels, T, mels)"

    def __init__(
        self,
        weights: str | os.PathLike,
        layer: str | int = "projection",
        licence: str | None = None,
        fp16: bool = True,
        *,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        self._record(weights, "clap", None, licence)
        self.features, model = load_clap(weights)
        encoder = model.audio_model.audio_encoder
        n_states = len(encoder.depths) + 1
        self.layer = checked_layer("clap", layer, n_states, NAMED_LAYERS)
        if layer == "projection":
            self.dimensions = int(model.config.projection_dim)
        elif layer == "pooled":
            self.dimensions = int(encoder.num_features)
        else:
            stage = layer % n_states
            width = model.config.audio_config.patch_embeds_hidden_size
            self.dimensions = int(width * 2 ** min(stage, len(encoder.depths) - 1))
        self.fp16 = fp16
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.audio = model.audio_model.to(self.device).eval()
        self.projection = model.audio_projection.to(self.device).eval()
        del model  # the text tower

    def _embed(self, batch: torch.Tensor) -> torch.Tensor:
        is_longer = torch.zeros((len(batch), 1), dtype=torch.bool, device=batch.device)
        hidden = not isinstance(self.layer, str)
        out = self.audio(
            input_features=batch, is_longer=is_longer, output_hidden_states=hidden, return_dict=True
        )
        if self.layer == "projection":
            return F.normalize(self.projection(out.pooler_output), dim=-1)
        if self.layer == "pooled":
            return out.pooler_output
        return out.hidden_states[self.layer].mean(dim=(2, 3))
