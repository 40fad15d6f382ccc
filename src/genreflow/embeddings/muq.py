"""MuQ (Zhu et al. 2025, Tencent AI Lab) from a folder the user names, without the ``muq`` package.

The ``muq`` package (0.1.0, its only release; code MIT) cannot be installed beside
genreflow's lock: it imports ``transformers.deepspeed``, which transformers removed in
4.46, and pulls in ``x_clip`` and torchvision for MuQ-MuLan's text tower. The part of
its ``MuQModel`` that computes features is small and is rebuilt here under the same
``state_dict`` keys: a mel spectrogram in dB (torchaudio, as MuQ computes it), the
checkpoint's normalisation (``stat``), two residual 2-D convolution blocks that
subsample time by 4 (``Conv2dSubsampling``, ported), and transformers' own
``Wav2Vec2ConformerEncoder``, which MuQ uses when ``is_flash`` is false (as in the
published ``OpenMuQ/MuQ-large-msd-iter``). ``tests/test_muq.py`` holds it to the hidden
states the original package gives for small random checkpoints
(``tests/fixtures/muq/make_reference.py``).

The folder is what ``MuQ.save_pretrained`` writes and the hub holds: ``config.json``
(MuQConfig's fields) and ``model.safetensors`` (or ``pytorch_model.bin``); weights
(CC-BY-NC-4.0) from ``genreflow weights fetch MuQ-large-msd-iter --to DIR``. Loading
is strict: every key of the convolutions and the conformer must be the file's, of the
same shape; keys of the parts used only in pretraining (the prediction head
``linear``, ``cls_token``, the quantiser's codebooks) are the only others let through.

Input
    Mono audio at 24 kHz (resampled with soxr ``soxr_hq`` when the stage did not decode
    it there) cut into 30 s chunks: a GTZAN clip is one chunk, as the MuQ README's
    example feeds a whole clip; a tail shorter than 30 s is left out, a clip shorter
    than 30 s is repeated to fill one (so clips batch together): ``(chunks, 720000)``.

One frame
    One 30 s chunk: the time-mean over its encoder frames (25 per second) of ``layer``:
    ``mean`` (default) the mean of every hidden state (the convolutions' output and
    each conformer layer: 13 for MuQ-large), as MARBLE probes MERT; or an integer, that
    hidden state (0 the conformer's input, negative from the end). 1024 values for
    MuQ-large.

Batches hold at most ``memory_gb`` of estimated activations (the first convolution
block's, which dominate: about 0.8 GB per 30 s chunk for MuQ-large), so a CPU job
does not take 64 chunks at once. On CUDA the network runs under float16 autocast
(``fp16: false`` keeps float32); the mel spectrogram is always float32, as MuQ's is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from genreflow.embeddings.checkpoints import (
    MUQ_CHUNK_SECONDS,
    MUQ_SAMPLE_RATE,
    RESAMPLER,
    read_config,
    weight_files,
)
from genreflow.embeddings.hf_models import (
    ChunkEncoder,
    checked_layer,
    chunks,
    refuse_mismatch,
    time_mean,
)
from genreflow.embeddings.resampling import resample_mono
from genreflow.errors import ConfigError, DataError

CHUNK_SAMPLES = int(MUQ_CHUNK_SECONDS * MUQ_SAMPLE_RATE)
# keys of MuQModel's pretraining-only parts: in the file, not in the feature network
PRETRAINING_ONLY = ("linear.", "cls_token", "quantizer_", "rvq.", "recon_proj.")
LIVE_COPIES = 4  # activations of the first block alive at once (conv, norm, residual, sum)
STRIDES = {4: (2, 2), 2: (2, 1)}  # MuQModel's time strides by frames per label
N_MELS = 128  # MuQModel's MelSTFT keeps its default whatever config.json's n_mels says


class Res2dModule(nn.Module):
    """A residual block of two 3×3 convolutions with batch norm (MuQ's ``conv.py``)."""

    def __init__(self, idim: int, odim: int, stride: tuple[int, int] = (2, 2)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(idim, odim, 3, padding=1, stride=stride)
        self.bn1 = nn.BatchNorm2d(odim)
        self.conv2 = nn.Conv2d(odim, odim, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(odim)
        self.relu = nn.ReLU()
        self.diff = idim != odim or stride[0] > 1
        if self.diff:
            self.conv3 = nn.Conv2d(idim, odim, 3, padding=1, stride=stride)
            self.bn3 = nn.BatchNorm2d(odim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        if self.diff:
            x = self.bn3(self.conv3(x))
        return self.relu(x + out)


class Conv2dSubsampling(nn.Module):
    """(batch, bands, time) → (batch, time / 4, odim): two blocks, then a projection."""

    def __init__(
        self, idim: int, hdim: int, odim: int, strides: tuple[int, int], n_bands: int
    ) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            Res2dModule(idim, hdim, (2, strides[0])),
            Res2dModule(hdim, hdim, (2, strides[1])),
        )
        self.linear = nn.Linear(hdim * n_bands // 2 // 2, odim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x.unsqueeze(1))
        b, c, f, t = x.shape
        return self.linear(x.permute(0, 3, 1, 2).reshape(b, t, c * f))


class MuqFeatures(nn.Module):
    """The feature-computing part of MuQ's ``MuQModel``, keyed as it is."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        import torchaudio
        from transformers import Wav2Vec2ConformerConfig
        from transformers.models.wav2vec2_conformer.modeling_wav2vec2_conformer import (
            Wav2Vec2ConformerEncoder,
        )

        super().__init__()
        n_fold = int(100 // int(config["label_rate"]))
        n_mels = int(config["n_mels"])
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=MUQ_SAMPLE_RATE,
            n_fft=2048,
            hop_length=int(config["hop_length"]),
            n_mels=N_MELS,
        )
        self.to_db = torchaudio.transforms.AmplitudeToDB()
        stat = config.get("stat") or {}
        self.mean = float(stat["melspec_2048_mean"])
        self.std = float(stat["melspec_2048_std"])
        self.conv = Conv2dSubsampling(
            1, int(config["conv_dim"]), int(config["encoder_dim"]), STRIDES[n_fold], n_mels
        )
        settings = {
            k: v
            for k, v in dict(config["w2v2_config"]).items()
            if k not in ("id2label", "label2id", "architectures", "model_type")
        }
        settings.update(
            num_hidden_layers=int(config["encoder_depth"]),
            hidden_size=int(config["encoder_dim"]),
        )
        self.conformer = Wav2Vec2ConformerEncoder(Wav2Vec2ConformerConfig(**settings))

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Every hidden state ``(batch, frames, dimensions)`` of audio ``(batch, samples)``."""
        with torch.autocast(device_type=audio.device.type, enabled=False):
            spectrum = self.to_db(self.mel(audio.float()))[..., :-1]
        spectrum = (spectrum - self.mean) / self.std
        out = self.conformer(self.conv(spectrum), output_hidden_states=True, return_dict=True)
        return tuple(out.hidden_states)


def _read_state(path: os.PathLike | str) -> dict[str, torch.Tensor]:
    """A weights file (safetensors, or a pickle read with ``weights_only``) as tensors."""
    from transformers.modeling_utils import load_state_dict

    return dict(load_state_dict(str(path), map_location="cpu", weights_only=True))


def _renamed(key: str) -> str:
    """Old-style weight-norm keys (``weight_g``/``weight_v``) as torch's parametrizations."""
    if key.endswith(".weight_g"):
        return key[: -len("weight_g")] + "parametrizations.weight.original0"
    if key.endswith(".weight_v"):
        return key[: -len("weight_v")] + "parametrizations.weight.original1"
    return key


def load_muq(folder: str | os.PathLike) -> MuqFeatures:
    """MuQ's feature network from ``folder``, strictly loaded, in eval mode, on the CPU."""
    files = weight_files(folder)
    names = ", ".join(str(p) for p in files)
    config = read_config(folder)
    if config.get("is_flash"):
        raise ConfigError(
            f"{os.path.join(folder, 'config.json')}: is_flash is true; MuQ's flash conformer "
            "is not supported (the published checkpoints set it false)."
        )
    if config.get("features", ["melspec_2048"]) != ["melspec_2048"]:
        raise DataError(
            f"{os.path.join(folder, 'config.json')}: features {config.get('features')!r}; "
            "MuQ's feature network reads melspec_2048 only."
        )
    try:
        network = MuqFeatures(config)
        state: dict[str, torch.Tensor] = {}
        for path in files:
            if not str(path).endswith(".json"):
                state.update(_read_state(path))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{names}: not loadable as MuQ ({type(exc).__name__}: {exc})") from exc
    own = network.state_dict()
    weights, stray = {}, []
    for key, tensor in state.items():
        name = _renamed(key.removeprefix("model.")) if key.startswith("model.") else None
        if name in own:
            weights[name] = tensor
        elif name is None or not name.startswith(PRETRAINING_ONLY):
            stray.append(key)
    missing = sorted(k for k in own if k not in weights and not k.startswith(("mel.", "to_db.")))
    shapes = sorted(k for k, v in weights.items() if tuple(v.shape) != tuple(own[k].shape))
    refuse_mismatch(names, "MuQ", missing, sorted(stray), shapes)
    network.load_state_dict(weights, strict=False)
    return network.eval()


def batch_limit(config: Mapping[str, Any], memory_gb: float) -> int:
    """Chunks per forward pass within ``memory_gb`` of the first block's activations."""
    frames = CHUNK_SAMPLES // int(config["hop_length"])
    # the first block's output: conv_dim channels × half the bands × half the frames
    per_chunk = LIVE_COPIES * int(config["conv_dim"]) * (N_MELS // 2) * (frames // 2) * 4
    return max(1, int(memory_gb * 2**30 // per_chunk))


class MuqExtractor(ChunkEncoder):
    """The ``muq`` kind of ``features.sets``: one vector per 30 s chunk.

    Parameters
    ----------
    weights
        The checkpoint's folder (config.json and model.safetensors or
        pytorch_model.bin); checked against its SHA256SUMS when it has one, the
        SHA-256 of its files are :attr:`weight_digests`.
    layer
        ``mean`` or a hidden state's index (see the module docstring).
    memory_gb
        The bound on one batch's estimated activations (see the module docstring).
    licence
        The checkpoint's licence, when the folder's fetch record and the known
        checkpoints do not give it.
    fp16
        float16 autocast on CUDA.
    batch_size
        Chunks per forward pass at most (also bounded by ``memory_gb``; halved on
        running out of GPU memory).
    device
        Where the network runs.
    """

    what = "MuQ"
    sample_rate = MUQ_SAMPLE_RATE
    frame_seconds = MUQ_CHUNK_SECONDS
    chunk_samples = CHUNK_SAMPLES
    input_axes = "(n, samples)"

    def __init__(
        self,
        weights: str | os.PathLike,
        layer: str | int = "mean",
        memory_gb: float = 4.0,
        licence: str | None = None,
        fp16: bool = True,
        *,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        self._record(weights, "muq", None, licence)
        network = load_muq(weights)
        n_states = len(network.conformer.layers) + 1
        self.layer = checked_layer("muq", layer, n_states)
        self.dimensions = int(network.conformer.config.hidden_size)
        self.fp16 = fp16
        self.batch_size = min(int(batch_size), batch_limit(read_config(weights), memory_gb))
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()

    def frontend(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """Each 30 s chunk of mono ``y`` at 24 kHz: MuQ computes its own spectrogram."""
        return chunks(resample_mono(y, sample_rate, self.sample_rate, RESAMPLER), CHUNK_SAMPLES)

    def _embed(self, batch: torch.Tensor) -> torch.Tensor:
        return time_mean(self.network(batch), self.layer)
