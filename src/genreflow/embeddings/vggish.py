"""VGGish (Hershey et al. 2017) in PyTorch, loading torchvggish's release v0.1 weights.

The layout is that of torchvggish 0.2's ``VGG`` (Apache-2.0, Harri Taylor), itself a
conversion of Google's TF-Slim ``vggish_slim.py`` and ``vggish_model.ckpt``
(tensorflow/models ``research/audioset/vggish``, Apache-2.0), so that
``load_state_dict(strict=True)`` of ``vggish-10086976.pth`` works unchanged
(:func:`vggish_state_contract` lists its keys and shapes). Inference only. The
weights are not in the repository: :func:`load_vggish` takes the paths of the
release files (:data:`~genreflow.embeddings.vggish_params.WEIGHTS_URL` and
:data:`~genreflow.embeddings.vggish_params.PCA_URL`).

Input
    Log-mel examples ``(batch, 96, 64)`` (or ``(batch, 1, 96, 64)``) of 16 kHz mono
    audio from :mod:`genreflow.embeddings.vggish_input`: 25 ms periodic-Hann frames
    every 10 ms, 64 HTK mel bands 125–7500 Hz, ``log(mel + 0.01)``, 0.96 s examples.

Layers (``state_dict`` keys, shapes)
    ``features``: 3 × 3 convolutions (padding 1), each followed by a ReLU, and 2 × 2
    max-pools (stride 2): conv 1 → 64 (``features.0``), pool, conv 64 → 128
    (``features.3``), pool, conv 128 → 256 (``features.6``), conv 256 → 256
    (``features.8``), pool, conv 256 → 512 (``features.11``), conv 512 → 512
    (``features.13``), pool: (batch, 512, 6, 4).
    flatten in TensorFlow's (height, width, channel) order (:func:`flatten_like_tf`):
    the first dense layer's 12,288 inputs are ordered as the TF checkpoint's.
    ``embeddings``: dense 12,288 → 4096 (``embeddings.0``), ReLU, 4096 → 4096
    (``embeddings.2``), ReLU, 4096 → 128 (``embeddings.4``), ReLU (``embeddings.5``).

The final ReLU
    torchvggish 0.2 applies a ReLU after the 128-wide embedding layer; so did Google's
    original ``vggish_slim.py``, but the current one does not (``activation_fn=None``:
    "the embedding value is pre-activation", its README says). ``final_relu=True``
    (default) gives torchvggish's embeddings; ``False`` the pre-activation ones of
    today's TensorFlow VGGish. The ReLU has no parameters: the weights are the same.

Postprocessing (:class:`Postprocessor`)
    The AudioSet release's PCA (with whitening) of the 128 values with the release's
    ``pca_eigen_vectors`` and ``pca_means``; optionally then clipped to [-2, 2] and
    quantised to the integers 0..255 as torchvggish does (``round``, half to even;
    Google's numpy ``vggish_postprocess.py`` truncates with ``astype(uint8)`` instead,
    so a value can be one step lower there). The result stays float32, batch kept
    (torchvggish squeezes a batch of one to a vector).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from genreflow.embeddings.vggish_input import vggish_examples
from genreflow.embeddings.vggish_params import (
    EMBEDDING_SIZE,
    EXAMPLE_FRAMES,
    EXAMPLE_SECONDS,
    N_MELS,
    PCA_EIGEN_VECTORS_NAME,
    PCA_FILE,
    PCA_MEANS_NAME,
    PCA_SHA256_PREFIX,
    PCA_URL,
    QUANTIZE_LEVELS,
    QUANTIZE_MAX,
    QUANTIZE_MIN,
    SAMPLE_RATE,
    WEIGHTS_FILE,
    WEIGHTS_SHA256_PREFIX,
    WEIGHTS_URL,
)
from genreflow.errors import ConfigError, DataError

# make_layers' configuration: output channels, "M" a 2 × 2 max-pool
FEATURE_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M")
FEATURE_SHAPE = (512, 6, 4)  # (channels, height = time, width = mel) after the last pool
HIDDEN = 4096


def make_features() -> nn.Sequential:
    """torchvggish's ``make_layers()``: conv/ReLU and max-pools, indices as its keys."""
    layers: list[nn.Module] = []
    channels = 1
    for layer in FEATURE_LAYERS:
        if layer == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, int(layer), kernel_size=3, padding=1), nn.ReLU()]
            channels = int(layer)
    return nn.Sequential(*layers)


def flatten_like_tf(x: torch.Tensor) -> torch.Tensor:
    """(batch, C, H, W) → (batch, H · W · C) in TF's NHWC order, exactly as torchvggish."""
    x = torch.transpose(x, 1, 3)  # (batch, W, H, C)
    x = torch.transpose(x, 1, 2)  # (batch, H, W, C)
    x = x.contiguous()
    return x.view(x.size(0), -1)


class Postprocessor(nn.Module):
    """The AudioSet release's PCA whitening, then optionally 8-bit quantisation.

    ``pca_eigen_vectors`` (128, 128) and ``pca_means`` (128,) are buffers left out of the
    ``state_dict``, so :class:`VGGish`'s stays the release file's. With ``quantise``
    the output is clipped to [-2, 2] and mapped to the integers 0..255 (float32);
    without, it is the PCA'd, whitened, unclipped float32 embedding.
    """

    def __init__(
        self,
        eigen_vectors: torch.Tensor | np.ndarray,
        means: torch.Tensor | np.ndarray,
        *,
        quantise: bool = True,
    ) -> None:
        super().__init__()
        vectors = torch.as_tensor(eigen_vectors, dtype=torch.float32)
        column = torch.as_tensor(means, dtype=torch.float32)
        size = (EMBEDDING_SIZE, EMBEDDING_SIZE)
        if tuple(vectors.shape) != size or column.numel() != EMBEDDING_SIZE:
            raise DataError(
                f"PCA parameters of shapes {tuple(vectors.shape)} and "
                f"{tuple(column.shape)}: expected {size} and ({EMBEDDING_SIZE},)."
            )
        self.quantise = quantise
        self.register_buffer("pca_eigen_vectors", vectors, persistent=False)
        self.register_buffer("pca_means", column.reshape(-1), persistent=False)

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """(batch, 128) raw embeddings → (batch, 128) PCA'd (and quantised) ones."""
        pca = (embeddings - self.pca_means) @ self.pca_eigen_vectors.T
        if not self.quantise:
            return pca
        clipped = torch.clamp(pca, QUANTIZE_MIN, QUANTIZE_MAX)
        return torch.round(
            (clipped - QUANTIZE_MIN) * (QUANTIZE_LEVELS / (QUANTIZE_MAX - QUANTIZE_MIN))
        )


class VGGish(nn.Module):
    """The VGGish graph (see the module docstring), in eval mode.

    Parameters
    ----------
    final_relu
        Apply torchvggish's ReLU to the 128-wide embedding (``False``: TF's
        pre-activation embedding).
    postprocessor
        Applied to the embedding when given (its buffers are not in ``state_dict``).
    """

    def __init__(self, *, final_relu: bool = True, postprocessor: Postprocessor | None = None):
        super().__init__()
        self.features = make_features()
        self.embeddings = nn.Sequential(
            nn.Linear(int(np.prod(FEATURE_SHAPE)), HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, HIDDEN),
            nn.ReLU(),
            nn.Linear(HIDDEN, EMBEDDING_SIZE),
            nn.ReLU() if final_relu else nn.Identity(),
        )
        self.add_module("postprocessor", postprocessor)
        self.eval()

    def forward(self, examples: torch.Tensor) -> torch.Tensor:
        """Log-mel ``examples`` (batch, 96, 64) or (batch, 1, 96, 64) → (batch, 128)."""
        x = examples.unsqueeze(1) if examples.dim() == 3 else examples
        x = flatten_like_tf(self.features(x))
        x = self.embeddings(x)
        return x if self.postprocessor is None else self.postprocessor(x)


def vggish_state_contract() -> dict[str, tuple[int, ...]]:
    """Each key of the release weights (torchvggish's ``VGG.state_dict()``) → its shape."""
    with torch.device("meta"):
        model = VGGish()
    return {key: tuple(value.shape) for key, value in model.state_dict().items()}


def pca_state_contract() -> dict[str, tuple[int, ...]]:
    """Each key of the release PCA parameters → its shape (``pca_means`` may be (128, 1))."""
    return {
        PCA_EIGEN_VECTORS_NAME: (EMBEDDING_SIZE, EMBEDDING_SIZE),
        PCA_MEANS_NAME: (EMBEDDING_SIZE,),
    }


def _numpy_safe_globals() -> list[Any]:
    """What ``weights_only`` unpickling needs for float numpy arrays (and nothing more).

    torchvggish's PCA file holds the numpy arrays of Google's ``vggish_pca_params.npz``
    (its code does ``params["pca_means"].reshape(-1, 1)`` and ``torch.as_tensor``);
    pickled under numpy 1 they name ``numpy.core.multiarray._reconstruct``, numpy 2
    moved it to ``numpy._core``.
    """
    core = getattr(np, "_core", None) or np.core
    reconstruct = core.multiarray._reconstruct
    return [
        (reconstruct, "numpy.core.multiarray._reconstruct"),
        (reconstruct, "numpy._core.multiarray._reconstruct"),
        np.ndarray,
        np.dtype,
        np.dtypes.Float32DType,
        np.dtypes.Float64DType,
    ]


def _release_digest_check(path: Path, release_name: str, prefix: str) -> None:
    """A file named as a release file must have the SHA-256 prefix its name carries."""
    if path.name != release_name:
        return
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    if not digest.hexdigest().startswith(prefix):
        raise DataError(
            f"{path}: SHA-256 {digest.hexdigest()} does not start with {prefix}, the prefix "
            "torch.hub checks for this release file; download it again."
        )


def _load_file(
    path: Path,
    what: str,
    expected: str,
    release: tuple[str, str],
    *,
    numpy_arrays: bool = False,
) -> Any:
    """``torch.load`` of ``path`` on the CPU with ``weights_only``; errors name the file.

    ``release`` is the release file's name and the SHA-256 prefix that name carries.
    """
    if not path.is_file():
        raise DataError(f"{path} is missing: download {expected} and give its path.")
    _release_digest_check(path, *release)
    try:
        if numpy_arrays:
            with torch.serialization.safe_globals(_numpy_safe_globals()):
                return torch.load(path, map_location="cpu", weights_only=True)
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises pickle, zip, runtime and value errors
        raise DataError(
            f"{path}: not a readable {what} file ({type(exc).__name__}: {exc}); "
            f"expected {expected}."
        ) from exc


def _checked_state(
    state: Any,
    contract: Mapping[str, tuple[int, ...]],
    path: Path,
    expected: str,
    alternatives: Mapping[str, tuple[tuple[int, ...], ...]] | None = None,
) -> dict[str, torch.Tensor]:
    """``state`` as float32 tensors when its keys and shapes are ``contract``'s, else a DataError."""
    if not isinstance(state, Mapping):
        raise DataError(f"{path}: holds a {type(state).__name__}, not a dict; expected {expected}.")
    missing = [key for key in contract if key not in state]
    unexpected = [str(key) for key in state if key not in contract]
    if missing or unexpected:
        raise DataError(
            f"{path}: missing keys {missing}, unexpected keys {unexpected}; expected {expected}."
        )
    tensors = {}
    for key, shape in contract.items():
        value = state[key]
        if not isinstance(value, torch.Tensor | np.ndarray):
            raise DataError(f"{path}: {key} is a {type(value).__name__}, not an array.")
        value = torch.as_tensor(value)
        allowed = (shape, *(alternatives or {}).get(key, ()))
        if tuple(value.shape) not in allowed:
            raise DataError(
                f"{path}: {key} has shape {tuple(value.shape)}, expected "
                f"{' or '.join(str(s) for s in allowed)}; expected {expected}."
            )
        if not value.is_floating_point():
            raise DataError(f"{path}: {key} is {value.dtype}, not floating point.")
        tensors[key] = value.to(torch.float32)
    return tensors


def load_pca(path: str | os.PathLike, *, quantise: bool = True) -> Postprocessor:
    """The release's PCA parameters (``vggish_pca_params-970ea276.pth``) as a postprocessor."""
    path = Path(path)
    expected = f"torchvggish's release v0.1 PCA parameters ({PCA_FILE}, {PCA_URL})"
    release = (PCA_FILE, PCA_SHA256_PREFIX)
    state = _load_file(path, "PCA parameters", expected, release, numpy_arrays=True)
    alternatives = {PCA_MEANS_NAME: ((EMBEDDING_SIZE, 1),)}
    params = _checked_state(state, pca_state_contract(), path, expected, alternatives)
    return Postprocessor(params[PCA_EIGEN_VECTORS_NAME], params[PCA_MEANS_NAME], quantise=quantise)


def load_vggish(
    weights: str | os.PathLike,
    pca: str | os.PathLike | None = None,
    postprocess: bool = False,
    *,
    final_relu: bool = True,
) -> VGGish:
    """VGGish with the release weights (``vggish-10086976.pth``), in eval mode, on the CPU.

    Parameters
    ----------
    weights
        torchvggish's release v0.1 state dict; keys and shapes must be
        :func:`vggish_state_contract`'s exactly.
    pca
        The release's PCA parameters: when given, the output is PCA'd and whitened.
    postprocess
        Also clip and quantise to 0..255 as the AudioSet release (needs ``pca``).
    final_relu
        torchvggish's ReLU on the embedding (see the module docstring).

    A file named as a release file must match the SHA-256 prefix in its name.
    """
    if postprocess and pca is None:
        raise ConfigError(
            "VGGish postprocess=True needs the PCA parameters: give pca (the path of "
            f"{PCA_FILE}, {PCA_URL})."
        )
    path = Path(weights)
    expected = f"torchvggish's release v0.1 weights ({WEIGHTS_FILE}, {WEIGHTS_URL})"
    release = (WEIGHTS_FILE, WEIGHTS_SHA256_PREFIX)
    state = _load_file(path, "VGGish weights", expected, release)
    state = _checked_state(state, vggish_state_contract(), path, expected)
    with torch.device("meta"):  # no random initialisation of 72 M parameters to overwrite
        model = VGGish(final_relu=final_relu)
    model.load_state_dict(state, strict=True, assign=True)
    if pca is not None:
        model.postprocessor = load_pca(pca, quantise=postprocess)
    return model.eval()


class VggishExtractor:
    """The ``vggish`` kind of ``features.sets``: 128 values per 0.96 s example.

    Parameters
    ----------
    weights
        Path of torchvggish's ``vggish-10086976.pth``.
    pca, postprocess
        See :func:`load_vggish`: raw embeddings (no ``pca``), PCA'd and whitened
        (``pca``), or the AudioSet release's quantised 0..255 values (``postprocess``).
    final_relu
        torchvggish's ReLU on the embedding.
    batch_size
        Examples per forward pass.
    device
        Where the network runs.
    """

    sample_rate = SAMPLE_RATE
    frame_seconds = EXAMPLE_SECONDS

    def __init__(
        self,
        weights: str | os.PathLike,
        pca: str | os.PathLike | None = None,
        postprocess: bool = False,
        *,
        final_relu: bool = True,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.network = load_vggish(weights, pca, postprocess, final_relu=final_relu).to(self.device)

    def frontend(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The network's input for mono ``y`` (resampled to 16 kHz): (examples, 96, 64)."""
        return vggish_examples(y, sample_rate)

    @torch.inference_mode()
    def forward(self, examples: np.ndarray) -> np.ndarray:
        """The embedding of each example: (examples, 128), float32."""
        if examples.ndim != 3 or examples.shape[1:] != (EXAMPLE_FRAMES, N_MELS):
            raise DataError(
                f"VGGish examples of shape {examples.shape}: expected (n, {EXAMPLE_FRAMES}, "
                f"{N_MELS})."
            )
        parts = []
        for start in range(0, len(examples), self.batch_size):
            batch = torch.from_numpy(
                np.ascontiguousarray(examples[start : start + self.batch_size], dtype=np.float32)
            ).to(self.device)
            parts.append(self.network(batch).float().cpu().numpy())
        if not parts:
            return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
        return np.concatenate(parts)

    def __call__(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The feature matrix of mono ``y``: (128 × examples), like every feature set."""
        return self.forward(self.frontend(y, sample_rate)).T
