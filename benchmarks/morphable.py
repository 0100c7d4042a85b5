"""Head model speed: forward + backward of a batch of 64 on CPU, and the built-in's build time.

Run from the repo root: ``.venv/bin/python benchmarks/morphable.py [--batch 64] [--repeats 5]``.
Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

import torch  # noqa: E402

from headforge.config import HeadModelConfig  # noqa: E402
from headforge.morphable import load_head_model  # noqa: E402
from headforge.morphable.builtin import _build  # noqa: E402


def main(argv: list[str]) -> dict[str, object]:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    _build.__wrapped__(64, 80, True)
    build_s = time.perf_counter() - t0
    cfg = HeadModelConfig()
    model = load_head_model(cfg)
    g = torch.Generator().manual_seed(0)
    b = args.batch
    params = {
        "shape": torch.randn(b, model.n_shape, generator=g),
        "expr": torch.randn(b, model.n_expr, generator=g) * 0.5,
        "rotation": torch.randn(b, 3, generator=g) * 0.2,
        "neck_pose": torch.randn(b, 3, generator=g) * 0.1,
        "jaw_pose": torch.rand(b, 3, generator=g) * torch.tensor([0.3, 0.02, 0.02]),
        "eyes_pose": torch.randn(b, 6, generator=g) * 0.1,
        "translation": torch.randn(b, 3, generator=g) * 0.01,
    }
    for p in params.values():
        p.requires_grad_(True)

    def step() -> tuple[float, float]:
        for p in params.values():
            p.grad = None
        t = time.perf_counter()
        out = model(**params)
        loss = out.vertices.square().mean() + out.landmarks68.square().mean()
        if out.landmarks478 is not None:
            loss = loss + out.landmarks478.square().mean()
        t_fwd = time.perf_counter() - t
        loss.backward()
        return t_fwd, time.perf_counter() - t

    step()  # warm-up
    runs = [step() for _ in range(args.repeats)]
    return {
        "benchmark": "morphable",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "batch": b,
        "vertices": model.n_vertices,
        "faces": int(model.faces.shape[0]),
        "n_shape": model.n_shape,
        "n_expr": model.n_expr,
        "forward_ms": round(1000 * statistics.median(r[0] for r in runs), 1),
        "forward_backward_ms": round(1000 * statistics.median(r[1] for r in runs), 1),
        "builtin_build_s": round(build_s, 3),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
