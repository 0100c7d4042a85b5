from __future__ import annotations

import torch

from headforge.morphable import load_head_model
from headforge.track.fastlmk import LandmarkModel, supports_fast_landmarks
from headforge.track.synthetic import sample_params


def test_fast_landmarks_equal_the_model_and_its_gradients() -> None:
    model = load_head_model()
    fast = LandmarkModel(model)
    assert supports_fast_landmarks(model) and fast.n_used < model.n_vertices // 10
    p = sample_params(4, seed=0, n_shape=model.n_shape, n_expr=model.n_expr, scale=1.0)
    p["neck_pose"] = torch.randn(4, 3) * 0.1
    p["eyes_pose"] = torch.randn(4, 6) * 0.1
    p = {k: v.clone().requires_grad_(True) for k, v in p.items()}
    ref = model(**p).landmarks68
    got = fast(**p)
    torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
    w = torch.randn_like(ref)
    g_ref = torch.autograd.grad((ref * w).sum(), list(p.values()))
    g_got = torch.autograd.grad((got * w).sum(), list(p.values()))
    for a, b in zip(g_got, g_ref, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
