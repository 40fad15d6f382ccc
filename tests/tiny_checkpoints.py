"""Small random checkpoints of the folder encoders, laid out as their real ones.

The CLAP and MERT folders are built here (transformers saves them); the MuQ folders
are committed in ``tests/fixtures/muq`` because the original ``muq`` package wrote
them (see ``make_reference.py`` there).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from conftest import PROJECT_ROOT

MUQ_FIXTURES = PROJECT_ROOT / "tests" / "fixtures" / "muq"


# MERT-v1's configuration class as published in 2023, reduced to what the test needs:
# its fields, with HuBERT's names, and without conv_pos_batch_norm (added to HuBERT later)
MERT_CONFIGURATION = """
from transformers.configuration_utils import PretrainedConfig

FIELDS = dict(
    vocab_size=32, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
    intermediate_size=3072, hidden_act="gelu", hidden_dropout=0.1, activation_dropout=0.1,
    attention_dropout=0.1, feat_proj_layer_norm=True, feat_proj_dropout=0.0,
    final_dropout=0.1, layerdrop=0.1, initializer_range=0.02, layer_norm_eps=1e-5,
    feat_extract_norm="group", feat_extract_activation="gelu", conv_dim=(512,) * 7,
    conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2), conv_bias=False,
    num_conv_pos_embeddings=128, num_conv_pos_embedding_groups=16,
    do_stable_layer_norm=False, apply_spec_augment=True, mask_time_prob=0.05,
    mask_time_length=10, mask_time_min_masks=2, mask_feature_prob=0.0,
    mask_feature_length=10, mask_feature_min_masks=0, feature_extractor_cqt=False,
    feature_extractor_cqt_bins=336, deepnorm=False, attention_relax=-1.0, sample_rate=24000,
)


class MERTConfig(PretrainedConfig):
    model_type = "mert_model"

    def __init__(self, **kwargs):
        for key, default in FIELDS.items():
            value = kwargs.pop(key, default)
            setattr(self, key, list(value) if isinstance(value, tuple) else value)
        self.num_feat_extract_layers = len(self.conv_dim)
        super().__init__(**kwargs)
"""
MERT_MODELING = """
from transformers.models.hubert.modeling_hubert import HubertModel

from .configuration_MERT import MERTConfig


class MERTModel(HubertModel):
    config_class = MERTConfig
    base_model_prefix = "mert_model"
"""


def clap_folder(folder: Path, *, safetensors: bool = True) -> Path:
    """A random ClapModel (both towers) with tiny configs, as transformers saves one."""
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    torch.manual_seed(0)
    audio = {
        "patch_embeds_hidden_size": 8,
        "depths": [1, 1],
        "num_attention_heads": [1, 1],
        "hidden_size": 16,
        "projection_dim": 8,
        "window_size": 8,
    }
    text = {
        "vocab_size": 50,
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 1,
        "intermediate_size": 8,
        "max_position_embeddings": 20,
        "projection_dim": 8,
    }
    model = ClapModel(ClapConfig(text_config=text, audio_config=audio, projection_dim=8))
    model.save_pretrained(folder, safe_serialization=safetensors)
    # larger_clap_music's extractor: unfused, so random truncation of longer audio
    ClapFeatureExtractor(truncation="rand_trunc").save_pretrained(folder)
    return folder


def mert_folder(folder: Path) -> Path:
    """A random MERT-v1-95M-like network (tiny), laid out as the published snapshot."""
    from transformers import HubertConfig, HubertModel, Wav2Vec2FeatureExtractor

    torch.manual_seed(0)
    config = HubertConfig(
        hidden_size=16,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=32,
        conv_dim=[8] * 7,
        conv_stride=[5, 2, 2, 2, 2, 2, 2],
        conv_kernel=[10, 3, 3, 3, 3, 2, 2],
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        mask_time_prob=0.05,
        layer_norm_eps=1e-5,
    )
    model = HubertModel(config)
    folder.mkdir(parents=True)
    state = {
        key.replace("parametrizations.weight.original0", "weight_g").replace(
            "parametrizations.weight.original1", "weight_v"
        ): value
        for key, value in model.state_dict().items()
    }
    torch.save(state, folder / "pytorch_model.bin")
    settings = config.to_dict()
    settings.pop("conv_pos_batch_norm", None)
    settings.update(
        model_type="mert_model",
        architectures=["MERTModel"],
        auto_map={
            "AutoConfig": "configuration_MERT.MERTConfig",
            "AutoModel": "modeling_MERT.MERTModel",
        },
        feature_extractor_cqt=False,
        deepnorm=False,
        attention_relax=-1.0,
        sample_rate=24000,
    )
    (folder / "config.json").write_text(json.dumps(settings, indent=2))
    (folder / "configuration_MERT.py").write_text(MERT_CONFIGURATION)
    (folder / "modeling_MERT.py").write_text(MERT_MODELING)
    Wav2Vec2FeatureExtractor(
        feature_size=1, sampling_rate=24000, do_normalize=True, return_attention_mask=True
    ).save_pretrained(folder)
    return folder


def muq_folder(folder: Path) -> Path:
    """A small random MuQ (rotary positions), as the original package saved it."""
    return Path(shutil.copytree(MUQ_FIXTURES / "tiny_rotary", folder))
