"""Training throughput per model: segments/second (forward + backward) and data waiting.

Usage::

    python -m benchmarks.training [--models a,b] [--batches 5] [--batch-size 32]
                                             [--device auto] [--json out.json]

Each model is built at the demo's input shapes (or GTZAN's, with ``--gtzan``) and
trained for a few batches on synthetic examples held in a :class:`Split` exactly as the
training engine holds them (on the device when they fit). For every step it times the
data part (batch gather, normalisation, augmentation) and the whole step, with CUDA
synchronised, and prints segments/s and the data-waiting share of step time. The
device is recorded in the output; on a GPU the data share should stay under 10%.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence

import pandas as pd
import torch
import torch.nn.functional as F

from genreflow.models import MODELS, load_all
from genreflow.training.augment import BatchAugmenter
from genreflow.training.data import Normalizer, Split
from genreflow.training.device import Precision, select_device
from genreflow.training.optim import make_optimizer
from genreflow.training.params import TrainParams

ROWS = {"logmel": 128, "logmel64": 64, "mfcc": 40, "chroma": 24, "spectral": 13, "wavelet": 7}
FRAMES = {
    "demo": {"s3": 129, "s6": 258, "clip": 431},
    "gtzan": {"s3": 129, "s6": 258, "clip": 1293},
}


# pretrained embeddings (the probes' inputs): values per frame, and frames (one per
# network example: musicnn's 2.992 s patch) per segmentation
EMBEDDING_ROWS = {"musicnn": 753}
EMBEDDING_FRAMES = {
    "demo": {"s3": 1, "s6": 2, "clip": 3},
    "gtzan": {"s3": 1, "s6": 2, "clip": 10},
}


def input_shapes(inputs: Sequence[str], dataset: str = "demo") -> list[tuple[int, int]]:
    shapes = []
    for item in inputs:
        feature, _, segmentation = item.partition("@")
        if feature in EMBEDDING_ROWS:
            shapes.append((EMBEDDING_ROWS[feature], EMBEDDING_FRAMES[dataset][segmentation]))
        else:
            shapes.append((ROWS[feature], FRAMES[dataset][segmentation]))
    return shapes


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(
    name: str,
    device: torch.device,
    *,
    batch_size: int = 32,
    batches: int = 5,
    dataset: str = "demo",
) -> dict:
    """Throughput of one model's training steps, with the data-waiting share."""
    spec = MODELS[name]
    params = TrainParams.resolve(spec.train, {"batch_size": batch_size})
    shapes = input_shapes(spec.inputs, dataset)
    n = batch_size * (batches + 1)
    torch.manual_seed(0)
    inputs = [torch.randn(n, *shape).to(device) for shape in shapes]
    labels = torch.randint(0, 10, (n,)).to(device)
    split = Split(inputs, labels, pd.DataFrame({"track_id": range(n)}))
    normalizer = Normalizer.fit(params.normalize, inputs)
    augmenter = BatchAugmenter(params.augment)
    precision = Precision.for_device(device)
    model = spec.build(10, shapes, **spec.arch).to(device).train()
    optimizer = make_optimizer(model, params)
    scaler = precision.scaler()
    data_s = step_s = 0.0
    for b in range(batches + 1):  # the first batch warms up (allocations, cuDNN autotuning)
        _sync(device)
        started = time.perf_counter()
        positions = torch.arange(b * batch_size, (b + 1) * batch_size)
        x, y = split.batch(positions, device)
        x, targets = augmenter(normalizer(x), y, 10)
        _sync(device)
        data_done = time.perf_counter()
        with precision.autocast():
            logits = model(*x).float()
        loss = F.cross_entropy(logits, targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        _sync(device)
        if b:
            data_s += data_done - started
            step_s += time.perf_counter() - started
    return {
        "model": name,
        "segments_per_s": batches * batch_size / step_s,
        "data_share": data_s / step_s,
        "step_ms": 1000 * step_s / batches,
        "n_parameters": sum(p.numel() for p in model.parameters()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", help="comma-separated model names (default: every torch model)")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--gtzan", action="store_true", help="GTZAN clip length (1293 frames)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args(argv)
    load_all()
    names = (
        args.models.split(",")
        if args.models
        else sorted(n for n, s in MODELS.items() if s.family == "torch")
    )
    device = select_device(args.device)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{device} ({torch.get_num_threads()} threads)"
    )
    print(f"device: {name}; batch {args.batch_size}; {args.batches} timed batches after 1 warm-up")
    print(f"{'model':24s} {'params':>10s} {'segments/s':>11s} {'step ms':>9s} {'data wait':>10s}")
    results = []
    for model in names:
        r = measure(
            model,
            device,
            batch_size=args.batch_size,
            batches=args.batches,
            dataset="gtzan" if args.gtzan else "demo",
        )
        results.append(r)
        print(
            f"{model:24s} {r['n_parameters']:>10,d} {r['segments_per_s']:>11.1f} "
            f"{r['step_ms']:>9.1f} {100 * r['data_share']:>9.1f}%",
            flush=True,
        )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"device": name, "results": results}, fh, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
