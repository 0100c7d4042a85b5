"""The head model on CUDA gives the CPU's values and gradients (runs where a GPU is lent)."""

from __future__ import annotations

import pytest
import torch

from headforge.morphable import load_head_model


@pytest.mark.gpu
def test_cuda_matches_cpu() -> None:
    cpu = load_head_model()
    gpu = load_head_model().to("cuda")
    g = torch.Generator().manual_seed(0)
    params = {
        "shape": torch.randn(4, cpu.n_shape, generator=g),
        "expr": torch.randn(4, cpu.n_expr, generator=g) * 0.5,
        "jaw_pose": torch.tensor([[0.2, 0.0, 0.0]] * 4),
        "eyes_pose": torch.randn(4, 6, generator=g) * 0.1,
    }
    p_cpu = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    p_gpu = {k: v.cuda().requires_grad_(True) for k, v in params.items()}
    a, b = cpu(**p_cpu), gpu(**p_gpu)
    assert b.vertices.device.type == "cuda"
    torch.testing.assert_close(b.vertices.cpu(), a.vertices, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(b.landmarks68.cpu(), a.landmarks68, atol=1e-5, rtol=1e-4)
    a.vertices.square().sum().backward()
    b.vertices.square().sum().backward()
    for k in params:
        torch.testing.assert_close(p_gpu[k].grad.cpu(), p_cpu[k].grad, atol=1e-4, rtol=1e-3)
