"""MERT-v1 (Li et al. 2024, m-a-p) through ``transformers``, from a folder the user names.

MERT-v1-95M and -330M (CC-BY-NC-4.0) are published as remote code: ``config.json``'s
``auto_map`` names ``configuration_MERT.py`` and ``modeling_MERT.py`` beside the
weights. ``MERTModel`` is transformers' ``HubertModel`` with three options of its own:
a CQT input concatenated to the convolutional features (``feature_extractor_cqt``),
DeepNorm residual scaling (``deepnorm``) and a rescaled softmax (``attention_relax``,
used only inside the DeepNorm encoder, and a shift of the softmax's input that leaves
its output unchanged). With CQT and DeepNorm off (MERT-v1's published config.json
files set both false as far as is known here; this was not checked against the files,
and ``code: hubert`` reads each config.json and refuses one that turns either on),
``MERTModel`` builds the same
modules, under the same ``state_dict`` keys, as ``HubertModel`` and computes the same
forward pass. ``code`` chooses how the network is built:

``folder`` (default)
    The folder's own model code, through ``AutoModel`` with ``trust_remote_code=True``
    and ``local_files_only=True``: code is run only from a local folder the user named,
    never fetched from a hub id. Attributes transformers' Hubert modules read that the
    2023 ``MERTConfig`` lacks (``conv_pos_batch_norm``) are given HubertConfig's
    defaults (``False``), as users of transformers >= 4.48 do by hand.
``hubert``
    transformers' own ``HubertModel`` on the folder's weights and config.json, no code
    from the folder; refused for a config with CQT or DeepNorm on (the plan says so).

Input
    Mono audio at 24 kHz (resampled with soxr ``soxr_hq`` when the stage did not decode
    it there) cut into 5 s chunks, the excerpt length MERT-v1 was pretrained on: a 30 s
    clip gives six, a tail shorter than 5 s is left out, a clip shorter than 5 s is
    repeated to fill one. Each chunk is normalised by the folder's
    ``Wav2Vec2FeatureExtractor`` (``preprocessor_config.json``: zero mean, unit
    variance when ``do_normalize``): ``(chunks, 120000)``.

One frame
    One 5 s chunk: the time-mean, over the chunk's 374 encoder frames (75 per second),
    of ``layer``: ``mean`` (default) the mean of every hidden state (the CNN features'
    projection and each transformer layer: 13 for 95M, 25 for 330M), as MARBLE's
    probing averages them; or an integer, that hidden state (0 the input of the first
    transformer layer, negative from the end). 768 values for 95M, 1024 for 330M.

On CUDA the network runs under float16 autocast (``fp16: false`` keeps float32);
the output is float32.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from genreflow.embeddings.checkpoints import (
    CONFIG_FILE,
    MERT_CHUNK_SECONDS,
    MERT_CODES,
    MERT_SAMPLE_RATE,
)
from genreflow.embeddings.hf_models import (
    ChunkEncoder,
    checked_layer,
    preprocessor_check,
    strict_pretrained,
    time_mean,
)
from genreflow.errors import ConfigError, DataError

CHUNK_SAMPLES = int(MERT_CHUNK_SECONDS * MERT_SAMPLE_RATE)
# config.json entries that name MERT's code or describe the file, not the network
NOT_HUBERT = ("auto_map", "architectures", "model_type", "_name_or_path", "transformers_version")
_MODULES: str | None = None  # this process's copy of remote model code (private_module_cache)


def _hubert_defaults(config) -> None:
    """Give ``config`` every attribute of HubertConfig it lacks, at HubertConfig's default."""
    from transformers import HubertConfig

    for key, value in HubertConfig().to_dict().items():
        if not hasattr(config, key):
            setattr(config, key, value)


def private_module_cache() -> None:
    """Point transformers' copy of remote model code at a folder of this process's own.

    ``trust_remote_code`` copies the folder's ``*.py`` into ``HF_MODULES_CACHE``
    (``~/.cache/huggingface/modules``) with plain, non-atomic copies named by the
    folder's base name: embedding jobs running side by side (shards, cluster nodes on one
    home) would read one another's half-written files. Set through the environment
    variable before transformers is imported, else on its module (transformers < 5).
    """
    global _MODULES
    if _MODULES is not None:
        return
    _MODULES = folder = tempfile.mkdtemp(prefix="genreflow-hf-modules-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if "transformers" not in sys.modules:
        os.environ["HF_MODULES_CACHE"] = folder
        return
    import transformers.dynamic_module_utils as dynamic

    dynamic.HF_MODULES_CACHE = folder


def load_mert(folder: str | os.PathLike, code: str = "folder"):
    """MERT's network from ``folder`` (see ``code`` in the module docstring), strictly
    loaded, in eval mode, on the CPU."""
    if code == "folder":
        private_module_cache()
    from transformers import AutoConfig, AutoModel, HubertConfig, HubertModel

    if code == "folder":
        what = "MERT (its folder's model code)"
        config = AutoConfig.from_pretrained(folder, trust_remote_code=True, local_files_only=True)
        _hubert_defaults(config)
        return strict_pretrained(
            lambda: AutoModel.from_pretrained(
                folder,
                config=config,
                trust_remote_code=True,
                local_files_only=True,
                output_loading_info=True,
            ),
            folder,
            what,
        )
    what = "MERT as transformers' HubertModel"
    settings = json.loads((Path(folder) / CONFIG_FILE).read_text())
    for option in ("feature_extractor_cqt", "deepnorm"):
        if settings.get(option):
            raise ConfigError(
                f"{Path(folder) / CONFIG_FILE}: {option} is on, which transformers' "
                "HubertModel does not have: use code: folder."
            )
    config = HubertConfig(**{k: v for k, v in settings.items() if k not in NOT_HUBERT})
    return strict_pretrained(
        lambda: HubertModel.from_pretrained(
            folder, config=config, local_files_only=True, output_loading_info=True
        ),
        folder,
        what,
    )


class MertExtractor(ChunkEncoder):
    """The ``mert`` kind of ``features.sets``: one vector per 5 s chunk.

    Parameters
    ----------
    weights
        The checkpoint's folder (config.json, model.safetensors or pytorch_model.bin,
        preprocessor_config.json and, for ``code: folder``, the model code its
        config.json names); checked against its SHA256SUMS when it has one, the
        SHA-256 of its files are :attr:`weight_digests`.
    layer
        ``mean`` or a hidden state's index (see the module docstring).
    code
        ``folder`` or ``hubert`` (see the module docstring).
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

    what = "MERT"
    sample_rate = MERT_SAMPLE_RATE
    frame_seconds = MERT_CHUNK_SECONDS
    chunk_samples = CHUNK_SAMPLES
    input_key = "input_values"  # each 5 s chunk at 24 kHz, normalised: (120000,)
    input_axes = "(n, samples)"

    def __init__(
        self,
        weights: str | os.PathLike,
        layer: str | int = "mean",
        code: str = "folder",
        licence: str | None = None,
        fp16: bool = True,
        *,
        batch_size: int = 64,
        device: torch.device | str = "cpu",
    ) -> None:
        from transformers import Wav2Vec2FeatureExtractor

        if code not in MERT_CODES:
            raise ConfigError(f"mert code {code!r}: choose one of {', '.join(MERT_CODES)}.")
        self._record(weights, "mert", code, licence)
        self.features = Wav2Vec2FeatureExtractor.from_pretrained(weights, local_files_only=True)
        preprocessor_check(weights, "MERT", MERT_SAMPLE_RATE, self.features.sampling_rate)
        network = load_mert(weights, code)
        n_states = int(network.config.num_hidden_layers) + 1
        self.layer = checked_layer("mert", layer, n_states)
        self.dimensions = int(network.config.hidden_size)
        self.fp16 = fp16
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.network = network.to(self.device).eval()

    def _embed(self, batch: torch.Tensor) -> torch.Tensor:
        states = self.network(batch, output_hidden_states=True, return_dict=True).hidden_states
        if states is None:
            raise DataError("the MERT network returned no hidden states.")
        return time_mean(states, self.layer)
