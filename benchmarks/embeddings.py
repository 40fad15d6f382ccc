"""Embedding throughput: musicnn on real clips, in times real time per CPU core (or per GPU).

Usage::

    python -m benchmarks.embeddings [--model MSD_musicnn] [--repeats 3] [--threads 1]
                                    [--batch-size 64] [--device cpu] [--json F]
                                    [--save-patches F.npy]

Each committed GTZAN fixture clip (30 s, 22.05 kHz) is embedded the way the workflow
would: resampled to 16 kHz, turned into float32 log-mel patches, and passed through the
network ``--batch-size`` patches at a time. The front end (resampling and log-mel, on
the CPU) and the network (on ``--device``) are timed apart, best of ``--repeats`` per
clip after one untimed warm-up, with torch on ``--threads`` threads on the CPU: "× real
time per core" is seconds of audio per second of one core.

The network's seconds per clip are set beside the original TensorFlow musicnn's
(:data:`TENSORFLOW`, recorded by ``benchmarks/musicnn_tensorflow.py`` on the same
patches, which ``--save-patches`` writes): the ratio holds on the CPU it was recorded
on. Printed as a table; ``--json`` also writes the numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from pathlib import Path

import librosa
import numpy as np
import torch

from genreflow.embeddings import cpu_matmul
from genreflow.embeddings.musicnn import LAYERS, load_musicnn
from genreflow.embeddings.musicnn_input import log_mel, resample_for_musicnn, to_patches
from genreflow.training.device import select_device

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "audio"

# The original: musicnn 0.1.0 (MSD_musicnn) on tensorflow-cpu 2.15.1, numpy 1.26, its own
# venv, fed the three fixture clips' patches (``--save-patches``), fetching the taggram,
# max_pool, mean_pool and penultimate as its extractor does: each clip's best of 5 passes,
# mean over the clips (this benchmark's statistic), the median of 4 runs interleaved with
# this benchmark's, pinned to one core (taskset -c 0: TensorFlow's oneDNN otherwise runs
# on both cores even with intra_op_parallelism_threads=1) or two. docs/measurements.md has
# the runs and an earlier record on another CPU.
TENSORFLOW = {
    "cpu": "AMD EPYC Zen 5 (AVX-512), 2-core VM",
    "date": "2026-12-07",
    "seconds_per_clip": {1: 0.270, 2: 0.142},
}


def _best(function, repeats: int) -> tuple[object, float]:
    result, best = None, float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return result, best


def benchmark(
    clips: Sequence[Path],
    *,
    model_name: str = "MSD_musicnn",
    repeats: int = 3,
    batch_size: int = 64,
    device: str = "cpu",
    threads: int = 1,
) -> dict:
    """Seconds per clip of the front end and the network, and × real time per core."""
    torch_device = select_device(device)
    before = torch.get_num_threads()
    if torch_device.type == "cpu":
        torch.set_num_threads(threads)
    try:
        return _measure(clips, model_name, repeats, batch_size, torch_device)
    finally:
        torch.set_num_threads(before)


def _measure(
    clips: Sequence[Path],
    model_name: str,
    repeats: int,
    batch_size: int,
    torch_device: torch.device,
) -> dict:
    model = load_musicnn(model_name).to(torch_device)
    rows = []
    for path in clips:
        y, sr = librosa.load(path, sr=None, mono=True)
        seconds = len(y) / sr

        def front(y=y, sr=sr) -> np.ndarray:
            return to_patches(log_mel(resample_for_musicnn(y, sr)))

        def network(patches: np.ndarray) -> None:
            with torch.no_grad():
                for start in range(0, len(patches), batch_size):
                    batch = torch.from_numpy(patches[start : start + batch_size])
                    model(batch.to(torch_device))["max_pool"].cpu()

        patches = front()
        network(patches)  # warm-up
        _, front_s = _best(front, repeats)
        _, network_s = _best(lambda patches=patches: network(patches), repeats)
        rows.append(
            {
                "clip": path.name,
                "audio_s": round(seconds, 2),
                "sample_rate": sr,
                "patches": len(patches),
                "front_s": front_s,
                "network_s": network_s,
            }
        )
    audio = sum(r["audio_s"] for r in rows)
    front_total = sum(r["front_s"] for r in rows)
    network_total = sum(r["network_s"] for r in rows)
    threads = torch.get_num_threads()
    network_per_clip = network_total / len(rows)
    gemm = gemm_rates() if torch_device.type == "cpu" else {}
    tensorflow = TENSORFLOW["seconds_per_clip"].get(threads)
    return {
        "model": model_name,
        "layers": list(LAYERS),
        "device": str(torch_device),
        "torch_threads": threads,
        "cpus": os.cpu_count(),
        "batch_size": batch_size,
        "repeats": repeats,
        "clips": rows,
        "front_x_realtime": audio / front_total,
        "network_x_realtime": audio / network_total,
        "total_x_realtime": audio / (front_total + network_total),
        "network_s_per_clip": network_per_clip,
        "gemm_gflops": gemm,
        "tensorflow_s_per_clip": tensorflow,
        # throughput of this port over the original's (> 1: the port is faster)
        "vs_tensorflow": (
            tensorflow / network_per_clip
            if tensorflow and torch_device.type == "cpu" and model_name == "MSD_musicnn"
            else None
        ),
    }


def gemm_rates(size: int = 2048, repeats: int = 3) -> dict[str, float]:
    """GFLOP/s of a float32 ``size``³ product on the CPU: torch's default GEMM and oneDNN's.

    Which one is faster depends on the CPU (MKL runs AVX2 code on AMD CPUs); the ratio
    to TensorFlow holds only where these two rates are what they were when it was recorded.
    """
    generator = torch.Generator().manual_seed(0)
    rows = torch.randn(size, size, generator=generator)
    weight = torch.randn(size, size, generator=generator)
    flops = 2 * size**3 / 1e9
    rates = {"torch": flops / _best(lambda: torch.nn.functional.linear(rows, weight), repeats)[1]}
    if cpu_matmul.onednn_available():
        packed = cpu_matmul.pack(weight, size)
        rates["onednn"] = flops / _best(lambda: cpu_matmul.linear(rows, packed), repeats)[1]
    return rates


def _patches(path: Path) -> np.ndarray:
    y, sr = librosa.load(path, sr=None, mono=True)
    return to_patches(log_mel(resample_for_musicnn(y, sr)))


def render(result: dict) -> str:
    unit = "per core" if result["device"] == "cpu" else f"on {result['device']}"
    lines = [
        (
            f"{result['model']} embeddings, device {result['device']}, torch threads "
            f"{result['torch_threads']}, batch {result['batch_size']}, best of {result['repeats']}"
        ),
        "",
        "| clip | audio s | patches | front end s | network s |",
        "|---|---|---|---|---|",
    ]
    for row in result["clips"]:
        lines.append(
            f"| {row['clip']} | {row['audio_s']:.1f} | {row['patches']} | "
            f"{row['front_s']:.3f} | {row['network_s']:.3f} |"
        )
    lines += [
        "",
        (
            f"× real time {unit}: front end (resample + log-mel, CPU) "
            f"{result['front_x_realtime']:.0f}, network {result['network_x_realtime']:.0f}, "
            f"together {result['total_x_realtime']:.0f}"
        ),
    ]
    if result.get("gemm_gflops"):
        rates = ", ".join(f"{name} {rate:.0f}" for name, rate in result["gemm_gflops"].items())
        lines.append(f"float32 GEMM 2048³ on this CPU, GFLOP/s: {rates}")
    if result.get("vs_tensorflow"):
        lines.append(
            f"network {result['network_s_per_clip']:.3f} s per 30 s clip; the original "
            f"TensorFlow musicnn {result['tensorflow_s_per_clip']:.3f} s on "
            f"{result['torch_threads']} thread(s) ({TENSORFLOW['cpu']}, {TENSORFLOW['date']}): "
            f"throughput ratio {result['vs_tensorflow']:.2f}× (valid on that CPU)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="MSD_musicnn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu", help="cpu, cuda, mps or auto")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--save-patches",
        metavar="F.npy",
        help="write the clips' patches (clips, patches, 187, 96) for musicnn_tensorflow.py",
    )
    args = parser.parse_args(argv)
    clips = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".au", ".wav"))
    if args.save_patches:
        np.save(args.save_patches, np.stack([_patches(path) for path in clips]))
    result = benchmark(
        clips,
        model_name=args.model,
        repeats=args.repeats,
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
    )
    print(render(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
