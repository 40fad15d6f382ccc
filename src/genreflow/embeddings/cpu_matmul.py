"""Float32 matrix products on the CPU through oneDNN, where torch was built with it.

In float32, torch sends ``F.linear`` and ``torch.mm`` on the CPU to MKL's SGEMM, which
runs AVX2 code on AMD CPUs. oneDNN's matmul picks its code by instruction set, so it runs
AVX-512 on any CPU that has it: on one Zen 5 core 2.3× MKL's rate at 2048³
(``docs/measurements.md``). Both are exact float32 products; each sums in its own order.

oneDNN's matmul is reached through the two ops that ``torch.compile``'s CPU backend uses
for it, ``torch.ops.mkldnn._reorder_linear_weight`` and ``_linear_pointwise``. They are
private, so :func:`onednn_available` checks them once on a small product with an exact
answer; where they are missing or answer otherwise, every product goes to ``F.linear``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F


@functools.cache
def onednn_available() -> bool:
    """Whether oneDNN's float32 matmul is there and gives ``F.linear``'s exact answer."""
    if not torch.backends.mkldnn.is_available():
        return False
    rows = torch.arange(12.0).reshape(3, 4)  # small integers: every order sums exactly
    weight = torch.arange(8.0).reshape(2, 4)
    try:
        with torch.no_grad():
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, 3)
            product = torch.ops.mkldnn._linear_pointwise(rows, packed, None, "none", [], "")
    except (AttributeError, RuntimeError, TypeError):
        return False
    return torch.equal(product, F.linear(rows, weight))


def pack(weight: torch.Tensor, rows: int) -> torch.Tensor:
    """``weight`` (out, in) laid out for :func:`linear` of ``rows`` rows at a time.

    oneDNN's blocked layout for float32 on a CPU that has it (the same values), else
    ``weight`` itself; also ``weight`` itself when autograd records it (oneDNN's op has
    no gradient).
    """
    if (
        weight.device.type != "cpu"
        or weight.dtype != torch.float32
        or (weight.requires_grad and torch.is_grad_enabled())
        or not onednn_available()
    ):
        return weight
    return torch.ops.mkldnn._reorder_linear_weight(weight, rows)


def linear(rows: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``rows @ weight.T`` for a ``weight`` from :func:`pack`: ``F.linear`` without bias."""
    if weight.is_mkldnn:
        return torch.ops.mkldnn._linear_pointwise(rows, weight, None, "none", [], "")
    return F.linear(rows, weight)
