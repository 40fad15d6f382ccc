"""musicnn (Pons & Serra 2019) in PyTorch: the released MSD_musicnn and MTT_musicnn taggers.

A port of ``musicnn.models.build_musicnn`` from musicnn 0.1.0 (ISC licence, Music
Technology Group, Universitat Pompeu Fabra; code by Jordi Pons), inference only. The
weights are the package's TensorFlow-1 checkpoints converted once by
``resources/musicnn/convert.py`` into ``resources/musicnn/<model>.npz`` (float32 arrays
keyed by this module's ``state_dict`` names; SHA-256 in ``resources/musicnn/SHA256SUMS``,
provenance and licence beside them). The port reproduces the original graph to float32
round-off (``tests/test_musicnn.py`` holds it to the TensorFlow outputs committed in
``tests/fixtures/musicnn/``).

Input
    Log-mel patches ``(batch, 187, 96)`` of 16 kHz mono audio, computed in float32 by
    :mod:`genreflow.embeddings.musicnn_input` (``n_fft`` 512, hop 256, 96 mel bands,
    ``log10(10000 · mel + 1)``, 3 s patches without overlap; see there why musicnn's
    own float16 input is not used).

Layers (this module's attribute, the TF-1 scope in the checkpoint; every convolution
is conv → ReLU → batch norm, eps 1e-3)

    front-end, the "musically motivated" CNN
        ``frontend_bn`` (batch_normalization): over the single input channel
        ``timbral_f74`` (conv2d, batch_normalization_1): 7 × 38 (time × mel), 204 filters
        ``timbral_f77`` (conv2d_1, batch_normalization_2): 7 × 67, 204 filters
        ``temporal_s1`` (conv2d_2, batch_normalization_3): 128 × 1, 51 filters
        ``temporal_s2`` (conv2d_3, batch_normalization_4): 64 × 1, 51 filters
        ``temporal_s3`` (conv2d_4, batch_normalization_5): 32 × 1, 51 filters
        each branch max-pooled over the whole mel axis; concatenated: 561 per frame
    mid-end, dense 1-D convolutions over time (kernel 7, zero padding 3 + 3)
        ``midend_cnn1`` (conv2d_5, batch_normalization_6): 561 → 64
        ``midend_cnn2`` (conv2d_6, batch_normalization_7): 64 → 64, plus cnn1
        ``midend_cnn3`` (conv2d_7, batch_normalization_8): 64 → 64, plus cnn2
        front-end and the three mid-end outputs concatenated: 753 per frame
    back-end
        ``max_pool`` and ``mean_pool`` over time (753 each), interleaved (max₀, mean₀,
        max₁, …) into 1506, ``backend_pool_bn`` (batch_normalization_9), dense 200
        with ReLU (``backend_dense``, dense), ``backend_dense_bn``
        (batch_normalization_10) = ``penultimate``, dense 50 (``backend_logits``,
        dense_1), sigmoid = ``taggram``.

TF-1 ``same`` padding puts the extra zero of an even kernel after the frame (63 / 64
for the 128-frame kernel); the port pads explicitly the same way. Dropout (0.5, back
end) is inactive at inference.

How the front end is computed (:meth:`Musicnn.frontend`): the five branches are 86% of
the work, and the graph's order (ReLU and batch norm on every mel band, then the max
over bands) spends a third of it on elements the max throws away. Batch norm at
inference is ``x · a + b`` per filter, and ReLU and ``x · a + b`` are monotone in
float32 (increasing for ``a > 0``, decreasing for ``a < 0``), so the max over bands of
``bn(relu(conv))`` is ``bn(relu(max conv))`` where ``a ≥ 0`` and ``bn(relu(min conv))``
where ``a < 0``, equal bit for bit. The port negates the weights and bias of every
``a < 0`` filter (exact), takes one max over bands, and negates back, so ReLU and batch
norm touch ``1 / bands`` of the elements. Each convolution runs as matrix products of
unfolded windows (im2col) with the filter count padded to a multiple of 16 (zero
filters, sliced off), in blocks of frames small enough for a core's cache, through
oneDNN's float32 matmul on the CPU (:mod:`genreflow.embeddings.cpu_matmul`: AVX-512 where
the CPU has it, where torch's default GEMM runs AVX2 on AMD CPUs). The temporal branches
unfold a time-major copy, so that every window is a contiguous run. Measured in
``benchmarks/embeddings.py`` against the original in ``benchmarks/musicnn_tensorflow.py``.
Sums are formed in another order than TensorFlow's, as any two convolution
implementations do; ``tests/test_musicnn.py`` holds the outputs to
TensorFlow's and the front end to the literal conv → ReLU → batch norm → max.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genreflow.checkout import CHECKOUT
from genreflow.embeddings import cpu_matmul
from genreflow.embeddings.musicnn_input import musicnn_patches
from genreflow.embeddings.musicnn_params import N_MELS, PATCH_SECONDS, SAMPLE_RATE
from genreflow.errors import ConfigError, DataError

BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default
GEMM_COLUMNS = 16  # float32 GEMMs run fastest on filter counts of multiples of 16
# bytes of unfolded windows per product: on the CPU a block of frames that stays in a core's
# cache with its product (2 MiB: the fastest of 0.5-4 MiB, docs/measurements.md);
# elsewhere up to 1 GiB (a GPU's batch at once)
UNFOLDED_BYTES = {"cpu": 2**21}
LAYERS = ("max_pool", "mean_pool", "penultimate", "taggram")
MODELS = ("MSD_musicnn", "MTT_musicnn")
WEIGHTS_DIR = CHECKOUT / "resources" / "musicnn"


def _blocks(batch: int, frames: int, frame_bytes: int, budget: int) -> list[tuple[slice, slice]]:
    """(patches, frames) slices of blocks of unfolded windows of about ``budget`` bytes.

    Whole patches where one fits, else runs of frames of one patch (at least one frame).
    """
    if frames * frame_bytes <= budget:
        step = budget // (frames * frame_bytes)
        return [(slice(start, start + step), slice(None)) for start in range(0, batch, step)]
    step = max(1, budget // frame_bytes)
    return [
        (slice(patch, patch + 1), slice(start, start + step))
        for patch in range(batch)
        for start in range(0, frames, step)
    ]


def _tf_same(kernel: int) -> tuple[int, int]:
    """(before, after) zero padding of TF's ``same`` at stride 1: the odd zero goes after."""
    return (kernel - 1) // 2, kernel // 2


class Musicnn(nn.Module):
    """The musicnn graph (see the module docstring), in eval mode.

    Parameters
    ----------
    n_tags
        Output tags (50 for both released models).
    n_mels
        Mel bands of the input (96).
    timbral_filters, temporal_filters
        Filters per timbral and temporal front-end branch (int(1.6 · 128), int(1.6 · 32)).
    midend_filters
        Filters of each mid-end convolution.
    backend_units
        Units of the penultimate dense layer.
    """

    def __init__(
        self,
        n_tags: int = 50,
        n_mels: int = N_MELS,
        timbral_filters: int = 204,
        temporal_filters: int = 51,
        midend_filters: int = 64,
        backend_units: int = 200,
    ) -> None:
        super().__init__()
        self.frontend_bn = nn.BatchNorm2d(1, eps=BN_EPS)
        for name, fraction in (("f74", 0.4), ("f77", 0.7)):
            width = int(fraction * n_mels)  # 38 and 67 mel bands
            self.add_module(f"timbral_{name}_conv", nn.Conv2d(1, timbral_filters, (7, width)))
            self.add_module(f"timbral_{name}_bn", nn.BatchNorm2d(timbral_filters, eps=BN_EPS))
        self.temporal_kernels = {"s1": 128, "s2": 64, "s3": 32}
        for name, length in self.temporal_kernels.items():
            self.add_module(f"temporal_{name}_conv", nn.Conv2d(1, temporal_filters, (length, 1)))
            self.add_module(f"temporal_{name}_bn", nn.BatchNorm2d(temporal_filters, eps=BN_EPS))
        front = 2 * timbral_filters + 3 * temporal_filters
        for name, channels in (("cnn1", front), ("cnn2", midend_filters), ("cnn3", midend_filters)):
            self.add_module(f"midend_{name}_conv", nn.Conv1d(channels, midend_filters, 7))
            self.add_module(f"midend_{name}_bn", nn.BatchNorm1d(midend_filters, eps=BN_EPS))
        mid = front + 3 * midend_filters
        self.backend_pool_bn = nn.BatchNorm1d(2 * mid, eps=BN_EPS)
        self.backend_dense = nn.Linear(2 * mid, backend_units)
        self.backend_dense_bn = nn.BatchNorm1d(backend_units, eps=BN_EPS)
        self.backend_logits = nn.Linear(backend_units, n_tags)
        self.eval()

    def frontend(self, patches: torch.Tensor) -> torch.Tensor:
        """The five branches of log-mel ``patches`` (batch, frames, 96): (batch, 561, frames).

        Equal to conv → ReLU → batch norm → max over mel bands per branch (see the
        module docstring for how it is computed).
        """
        x = self.frontend_bn(patches.unsqueeze(1))[:, 0]  # (batch, frames, mel)
        names = ["timbral_f74", "timbral_f77"] + [f"temporal_{n}" for n in self.temporal_kernels]
        return torch.cat([self._branch(x, name) for name in names], dim=1)

    def _branch(self, x: torch.Tensor, name: str) -> torch.Tensor:
        """One branch's max over mel bands, then ReLU and batch norm: (batch, filters, time)."""
        conv, bn = getattr(self, f"{name}_conv"), getattr(self, f"{name}_bn")
        filters, _, kernel_time, kernel_mel = conv.weight.shape
        # the sign of batch norm's slope a = weight / sqrt(var + eps) per filter
        sign = torch.where(bn.weight < 0, -1.0, 1.0).to(x.dtype)
        columns = -(-filters // GEMM_COLUMNS) * GEMM_COLUMNS
        window = kernel_time * kernel_mel  # values in one window
        weight = x.new_zeros(columns, window)  # (out, in), as F.linear's
        weight[:filters] = conv.weight.reshape(filters, window) * sign[:, None]
        before, after = _tf_same(kernel_time)
        padded = F.pad(x, (0, 0, before, after))
        batch, frames, mel = x.shape
        bands = mel - kernel_mel + 1
        if kernel_mel == 1:  # temporal: a time-major copy makes each window contiguous
            windows = padded.transpose(1, 2).contiguous().unfold(2, kernel_time, 1)
            windows = windows.permute(0, 2, 1, 3)  # (batch, time, bands, kernel_time)
        else:  # (batch, time, bands, kernel_time, kernel_mel): runs of kernel_mel values
            windows = padded.unfold(1, kernel_time, 1).unfold(2, kernel_mel, 1)
        frame_bytes = bands * window * x.element_size()
        blocks = _blocks(batch, frames, frame_bytes, UNFOLDED_BYTES.get(x.device.type, 2**30))
        weight = cpu_matmul.pack(weight, rows=windows[blocks[0]].shape[:3].numel())
        peak = x.new_empty(batch, frames, columns)
        for block in blocks:
            product = cpu_matmul.linear(windows[block].reshape(-1, window), weight)
            peak[block] = product.view(*peak[block].shape[:2], bands, columns).amax(2)
        # the bias after the max: x + b is monotone in x too
        peak = (peak[..., :filters] + conv.bias * sign).transpose(1, 2) * sign[:, None]
        return bn(F.relu(peak).unsqueeze(3))[..., 0]

    def _midend(self, x: torch.Tensor, name: str) -> torch.Tensor:
        conv, bn = getattr(self, f"midend_{name}_conv"), getattr(self, f"midend_{name}_bn")
        return bn(F.relu(conv(F.pad(x, (3, 3)))))

    def forward(self, patches: torch.Tensor) -> dict[str, torch.Tensor]:
        """Log-mel ``patches`` (batch, frames, 96) → ``max_pool``, ``mean_pool`` (batch,
        753), ``penultimate`` (batch, 200), ``logits`` and ``taggram`` (batch, 50)."""
        front = self.frontend(patches)
        cnn1 = self._midend(front, "cnn1")
        cnn2 = self._midend(cnn1, "cnn2") + cnn1
        cnn3 = self._midend(cnn2, "cnn3") + cnn2
        mid = torch.cat([front, cnn1, cnn2, cnn3], dim=1)  # (batch, 753, time)
        max_pool, mean_pool = mid.amax(dim=2), mid.mean(dim=2)
        # TF stacks [max, mean] on a trailing axis and flattens: interleaved features
        pooled = torch.stack([max_pool, mean_pool], dim=2).flatten(1)
        penultimate = self.backend_dense_bn(
            F.relu(self.backend_dense(self.backend_pool_bn(pooled)))
        )
        logits = self.backend_logits(penultimate)
        return {
            "max_pool": max_pool,
            "mean_pool": mean_pool,
            "penultimate": penultimate,
            "logits": logits,
            "taggram": torch.sigmoid(logits),
        }


def expected_sha256(name: str, folder: Path = WEIGHTS_DIR) -> str:
    """The SHA-256 ``SHA256SUMS`` records for ``<name>.npz``."""
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, _, file = line.partition("  ")
        if file == f"{name}.npz":
            return digest
    raise DataError(f"{folder / 'SHA256SUMS'}: no checksum for {name}.npz.")


def load_musicnn(name: str = "MSD_musicnn", folder: Path = WEIGHTS_DIR) -> Musicnn:
    """The released model ``name`` with its converted weights, checksum verified."""
    if name not in MODELS:
        raise ConfigError(f"musicnn model {name!r}: choose one of {', '.join(MODELS)}.")
    path = Path(folder) / f"{name}.npz"
    if not path.is_file():
        raise DataError(f"{path} is missing: restore it from the repository (resources/musicnn).")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != expected_sha256(name, Path(folder)):
        raise DataError(
            f"{path}: SHA-256 {digest} is not the one in SHA256SUMS; restore the file from "
            "the repository or re-run resources/musicnn/convert.py."
        )
    with np.load(path) as arrays:
        state = {key: torch.from_numpy(np.array(arrays[key])) for key in arrays.files}
    model = Musicnn(n_tags=state["backend_logits.bias"].shape[0])
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [key for key in missing if not key.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise DataError(f"{path}: missing {missing}, unexpected {unexpected} weights.")
    return model.eval()


@torch.no_grad()
def run_batches(
    model: Musicnn,
    patches: np.ndarray,
    layers: tuple[str, ...],
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """``layers`` of every patch (patches × dimensions), ``batch_size`` patches a pass."""
    unknown = [layer for layer in layers if layer not in LAYERS]
    if unknown:
        raise ConfigError(f"musicnn layers {unknown}: choose from {', '.join(LAYERS)}.")
    outputs: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for start in range(0, len(patches), batch_size):
        batch = torch.from_numpy(patches[start : start + batch_size]).to(device)
        result = model(batch)
        for layer in layers:
            outputs[layer].append(result[layer].float().cpu().numpy())
    return {layer: np.concatenate(parts) for layer, parts in outputs.items()}


def embed(
    y: np.ndarray,
    sample_rate: int,
    model: Musicnn,
    layers: tuple[str, ...] = ("max_pool",),
    *,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> dict[str, np.ndarray]:
    """Per-patch outputs (patches × dimensions) of several layers of ``model`` for mono ``y``.

    ``y`` is resampled from ``sample_rate`` to 16 kHz first.
    """
    model = model.to(device)
    patches = musicnn_patches(y, sample_rate)
    return run_batches(model, patches, layers, batch_size=batch_size, device=device)


class MusicnnExtractor:
    """The ``musicnn`` kind of ``features.sets``: one layer of a released model per patch.

    Parameters
    ----------
    model
        ``MSD_musicnn`` (Million Song Dataset top-50 tags) or ``MTT_musicnn``.
    layer
        One of :data:`LAYERS`; ``max_pool`` is the sklearn-audio-transfer-learning
        protocol's feature (753 values per 3 s patch).
    batch_size
        Patches per forward pass (of one or several tracks).
    device
        Where the network runs.
    """

    sample_rate = SAMPLE_RATE
    frame_seconds = PATCH_SECONDS

    def __init__(
        self,
        model: str = "MSD_musicnn",
        layer: str = "max_pool",
        *,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        if layer not in LAYERS:
            raise ConfigError(f"musicnn layer {layer!r}: choose one of {', '.join(LAYERS)}.")
        self.layer = layer
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.network = load_musicnn(model).to(self.device)

    def frontend(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The network's input for mono ``y`` (resampled to 16 kHz): (patches, 187, 96)."""
        return musicnn_patches(y, sample_rate)

    def forward(self, patches: np.ndarray) -> np.ndarray:
        """``layer`` of each patch: (patches, dimensions)."""
        return run_batches(
            self.network, patches, (self.layer,), batch_size=self.batch_size, device=self.device
        )[self.layer]

    def __call__(self, y: np.ndarray, sample_rate: int) -> np.ndarray:
        """The feature matrix of mono ``y``: (dimensions × patches), like every feature set."""
        return self.forward(self.frontend(y, sample_rate)).T
