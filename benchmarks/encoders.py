"""CLAP, MERT and MuQ networks at their published sizes, random weights: seconds per 30 s clip.

Usage::

    python -m benchmarks.encoders [--threads 1] [--repeats 3] [--encoders clap mert_95m ...]

No checkpoint is needed: each network is built from its published architecture with
random weights (the time of a forward pass does not depend on the values), and a 30 s
clip is cut into the extractor's chunks (CLAP: three 10 s chunks at 48 kHz through its
feature extractor and audio tower; MERT: six 5 s chunks at 24 kHz, every hidden state
returned, as ``layer: mean`` needs; MuQ: one 30 s chunk at 24 kHz through genreflow's
MuQ network, mel spectrogram included, every hidden state returned). Best of ``--repeats`` after one warm-up, torch on
``--threads`` threads on the CPU (or ``--device cuda``). The architectures are written
here from the published ``config.json`` files (laion/larger_clap_music: HTSAT with
depths 2-2-12-2, patch width 128; m-a-p/MERT-v1-95M: HuBERT base; MERT-v1-330M:
HuBERT large; OpenMuQ/MuQ-large-msd-iter: the muq package's defaults, convolutions of
512 channels and a conformer of 12 layers of 1024, with 16 heads, feed-forward 4096 and
rotary positions assumed, not read from its config.json); check them against your
snapshot's ``config.json``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

CLIP_SECONDS = 30.0


def clap() -> tuple[torch.nn.Module, int, float, object]:
    from transformers import ClapAudioConfig, ClapAudioModelWithProjection, ClapFeatureExtractor

    config = ClapAudioConfig(
        depths=[2, 2, 12, 2],
        patch_embeds_hidden_size=128,
        hidden_size=1024,
        num_attention_heads=[4, 8, 16, 32],
        projection_dim=512,
        enable_fusion=False,
    )
    extractor = ClapFeatureExtractor(truncation="rand_trunc")
    return ClapAudioModelWithProjection(config).eval(), 48000, 10.0, extractor


def mert(large: bool) -> tuple[torch.nn.Module, int, float, object]:
    from transformers import HubertConfig, HubertModel

    size = (
        {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16}
        | {"intermediate_size": 4096}
        if large
        else {}
    )
    config = HubertConfig(**size, feat_extract_norm="layer" if large else "group")
    return HubertModel(config).eval(), 24000, 5.0, None


def muq() -> tuple[torch.nn.Module, int, float, object]:
    from transformers import Wav2Vec2ConformerConfig

    from genreflow.embeddings.muq import MuqFeatures

    conformer = Wav2Vec2ConformerConfig(
        num_attention_heads=16, intermediate_size=4096, position_embeddings_type="rotary"
    ).to_dict()
    config = {
        "label_rate": 25,
        "n_mels": 128,
        "hop_length": 240,
        "conv_dim": 512,
        "encoder_dim": 1024,
        "encoder_depth": 12,
        "stat": {"melspec_2048_mean": 6.8, "melspec_2048_std": 18.4},
        "w2v2_config": conformer,
    }
    return MuqFeatures(config).eval(), 24000, 30.0, None


ENCODERS = {
    "clap": clap,
    "mert_95m": lambda: mert(False),
    "mert_330m": lambda: mert(True),
    "muq_large": muq,
}


def seconds_per_clip(name: str, repeats: int, device: str) -> tuple[float, int]:
    model, rate, chunk_s, extractor = ENCODERS[name]()
    model = model.to(device)
    n_parameters = sum(p.numel() for p in model.parameters())
    rng = np.random.default_rng(0)
    chunks = rng.standard_normal((int(CLIP_SECONDS / chunk_s), int(chunk_s * rate)))
    chunks = (0.1 * chunks).astype(np.float32)

    @torch.no_grad()
    def run() -> None:
        if extractor is not None:
            features = extractor(list(chunks), sampling_rate=rate, return_tensors="pt")
            model(input_features=features["input_features"].to(device))
        elif name == "muq_large":
            model(torch.from_numpy(chunks).to(device))
        else:
            model(torch.from_numpy(chunks).to(device), output_hidden_states=True)
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best, n_parameters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=list(ENCODERS), choices=ENCODERS)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"device {args.device}, torch threads {args.threads}, best of {args.repeats}")
    print("| encoder | parameters | s per 30 s clip | × real time |")
    print("|---|---|---|---|")
    for name in args.encoders:
        seconds, n_parameters = seconds_per_clip(name, args.repeats, args.device)
        print(
            f"| {name} | {n_parameters / 1e6:.0f} M | {seconds:.2f} | "
            f"{CLIP_SECONDS / seconds:.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
