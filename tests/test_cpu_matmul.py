"""oneDNN's float32 matmul on the CPU gives F.linear's products, and steps aside for autograd."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from genreflow.embeddings import cpu_matmul

needs_onednn = pytest.mark.skipif(
    not cpu_matmul.onednn_available(), reason="this torch has no oneDNN matmul"
)


@needs_onednn
@pytest.mark.parametrize("shape", [(1, 5, 3), (187, 266, 208), (1000, 128, 64)])
def test_the_packed_product_is_f_linear(shape):
    rows, inputs, outputs = shape
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(rows, inputs, generator=generator)
    weight = torch.randn(outputs, inputs, generator=generator)
    packed = cpu_matmul.pack(weight, rows)
    assert packed.is_mkldnn
    ours, reference = cpu_matmul.linear(x, packed), F.linear(x, weight)
    assert ours.shape == reference.shape
    # both exact float32 products; only the order of the sums differs
    assert torch.allclose(ours, reference, rtol=1e-5, atol=1e-5 * inputs**0.5)
    integers = torch.randint(-8, 8, (rows, inputs), generator=generator).float()
    whole = torch.randint(-8, 8, (outputs, inputs), generator=generator).float()
    assert torch.equal(
        cpu_matmul.linear(integers, cpu_matmul.pack(whole, rows)), integers @ whole.T
    )


def test_a_weight_autograd_records_stays_as_it_is():
    weight = torch.randn(4, 3, requires_grad=True)
    assert cpu_matmul.pack(weight, 2) is weight
    x = torch.randn(2, 3)
    cpu_matmul.linear(x, cpu_matmul.pack(weight, 2)).sum().backward()
    assert torch.equal(weight.grad, x.sum(0).expand(4, 3))


def test_float64_stays_float64():
    weight, x = torch.randn(4, 3, dtype=torch.float64), torch.randn(2, 3, dtype=torch.float64)
    assert cpu_matmul.pack(weight, 2) is weight
    assert cpu_matmul.linear(x, cpu_matmul.pack(weight, 2)).dtype == torch.float64


def test_without_onednn_every_product_is_f_linear(monkeypatch):
    monkeypatch.setattr(cpu_matmul, "onednn_available", lambda: False)
    weight, x = torch.randn(4, 3), torch.randn(2, 3)
    assert cpu_matmul.pack(weight, 2) is weight
    assert torch.equal(cpu_matmul.linear(x, weight), F.linear(x, weight))
