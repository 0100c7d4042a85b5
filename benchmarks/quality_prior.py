"""The ``quality`` prior's recipe: synthetic heads -> training -> the shipped float16 prior.

No Blender is needed: the synthetic identities come from the fixture generator
(``benchmarks/fixtures/synthetic_heads.py``: random shapes of the built-in head model,
skin/hair/lip/iris colours, a skin pattern, hair volume, 8 expressions, rendered by the
project's own rasterizer from 16 cameras at two elevations). ``--sets N:SEED ...`` renders
each set (the first N identities of a seed are the same whatever the total), the last
``--held-out`` identities of the first set are never trained on, and the ``train_prior``
section of the chosen profile trains the prior (resumable: rerun to continue). ``--export``
writes ``src/headforge/prior/shipped/<profile>.pt`` + ``.json`` (float16, recipe with params,
code commit, data hash and training curve). Prints one JSON object as its last line.

    benchmarks/quality_prior.py --work /tmp/q --sets 70:14 16:15 --steps 3000 --export
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

CAMERAS = tuple((float(az), el) for el in (5.0, 25.0)
                for az in (0, -45, 45, -90, 90, -135, 135, 180))
EXPRESSIONS = 8


def render_sets(work: Path, sets: list[tuple[int, int]], res: int) -> list[tuple[Path, str]]:
    """Render each (identities, seed) set under ``work`` -> (folder, subject prefix)."""
    from benchmarks.fixtures.synthetic_heads import FixtureSpec, make_dataset

    out = []
    for i, (n, seed) in enumerate(sets):
        folder = work / f"set{i}-{n}-{seed}"
        if not (folder / "manifest.parquet").is_file():
            make_dataset(folder, FixtureSpec(identities=n, expressions=EXPRESSIONS,
                                             resolution=res, held_out=0, uv_res=96,
                                             cameras=CAMERAS, seed=seed))
        out.append((folder, "" if i == 0 else "b_" * i))
    return out


def manifest(work: Path, sets: list[tuple[Path, str]], held_out: int) -> tuple[Path, list[str]]:
    """One manifest over the sets (absolute paths, prefixed subjects); held-out subjects."""
    import pandas as pd

    frames, held = [], []
    for i, (folder, prefix) in enumerate(sets):
        df = pd.read_parquet(folder / "manifest.parquet")
        subjects = sorted(df["subject"].unique())
        if i == 0:
            held = [prefix + s for s in subjects[-held_out:]] if held_out else []
        for col in ("path", "mask_path"):
            df[col] = [str(folder / p) for p in df[col]]
        df["params_path"] = [str(folder / s / "params" / f"{q}.npz")
                             for s, q in zip(df["subject"], df["sequence"], strict=True)]
        df["subject"] = prefix + df["subject"]
        frames.append(df)
    df = pd.concat(frames, ignore_index=True)
    df["split"] = ["test" if s in held else "train" for s in df["subject"]]
    path = work / "manifest.parquet"
    df.to_parquet(path)
    return path, held


def data_hash(manifest_path: Path) -> str:
    """SHA-256 over every image, mask and parameter file, in manifest order."""
    import pandas as pd

    df = pd.read_parquet(manifest_path)
    h = hashlib.sha256()
    seen: set[str] = set()
    for col in ("path", "mask_path", "params_path"):
        for p in df[col]:
            if p in seen:
                continue
            seen.add(p)
            h.update(Path(p).name.encode())
            h.update(Path(p).read_bytes())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, required=True, help="data and training folder")
    ap.add_argument("--sets", nargs="+", default=["70:14", "16:15"], help="IDENTITIES:SEED")
    ap.add_argument("--held-out", type=int, default=6)
    ap.add_argument("--profile", default="quality")
    ap.add_argument("--steps", type=int, default=None, help="override train_prior.steps")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--export", action="store_true", help="write the shipped prior")
    ap.add_argument("--from-checkpoint", type=Path, default=None,
                    help="export this checkpoint (e.g. checkpoints/last.pt of a run stopped "
                         "early) instead of training")
    args = ap.parse_args()

    import torch

    from headforge.context import parse_params
    from headforge.params_loader import read_params
    from headforge.prior.checkpoint import load_checkpoint
    from headforge.prior.data import load_views, read_manifest
    from headforge.prior.shipped import export
    from headforge.prior.stage import head_kwargs, load_head
    from headforge.prior.train import train

    torch.set_num_threads(args.threads)
    params = parse_params(read_params(ROOT / "params.yaml"), profile=args.profile)
    cfg = dataclasses.replace(params.train_prior, device="cpu")
    if args.steps is not None:
        cfg = dataclasses.replace(cfg, steps=args.steps)
    sets = [(int(a), int(b)) for a, b in (s.split(":") for s in args.sets)]
    args.work.mkdir(parents=True, exist_ok=True)
    folders = render_sets(args.work, sets, cfg.resolution)
    man, held = manifest(args.work, folders, args.held_out)
    head, parts = load_head(params.head_model)
    ckpt = args.from_checkpoint
    info: dict[str, Any] = {}
    if ckpt is None:
        df = read_manifest(man)
        train_subjects = sorted(set(df["subject"]) - set(held))
        views = load_views(df[df["subject"].isin(train_subjects)], cfg.resolution, man.parent,
                           train_subjects)
        views.images, views.masks = views.images.half(), views.masks.half()  # memory
        res = train(cfg, views, args.work / "prior", head, parts,
                    head_model=head_kwargs(params.head_model))
        ckpt = res.checkpoint
        info["seconds_this_run"] = round(res.seconds, 1)
    ck = load_checkpoint(ckpt)
    history = ck.get("history") or []
    curve = [[int(h["step"]), round(h["loss"], 5), round(h["psnr"], 3)]
             for h in history if int(h["step"]) % 10 == 0 or int(h["step"]) == len(history)]
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    recipe = {
        "name": args.profile, "profile": args.profile,
        "params": {"train_prior": dataclasses.asdict(cfg),
                   "head_model": dataclasses.asdict(params.head_model)},
        "code_commit": commit,
        "synthetic_data": {
            "generator": "benchmarks/fixtures/synthetic_heads.py",
            "sets": [{"identities": n, "seed": s} for n, s in sets],
            "expressions": EXPRESSIONS, "cameras": len(CAMERAS),
            "resolution": cfg.resolution, "held_out": held, "sha256": data_hash(man),
        },
        "command": "benchmarks/quality_prior.py " + " ".join(sys.argv[1:]),
        "training_curve": curve, "training_curve_columns": ["step", "loss", "psnr"],
        "n_gaussians": None,
        "licence": "the project's own licence (trained on synthetic heads only; no personal "
                   "data)",
    }
    prior_steps = int(ck["step"])
    out: dict[str, Any] = {"benchmark": "quality_prior", "steps": prior_steps, **info}
    if args.export:
        from headforge.prior.checkpoint import prior_from_checkpoint

        recipe["n_gaussians"] = prior_from_checkpoint(ck, head, parts).n_gaussians
        path = export(ckpt, args.profile, recipe)
        out["exported"] = str(path.relative_to(ROOT))
        out["bytes"] = path.stat().st_size
    print(json.dumps(out))


if __name__ == "__main__":
    main()
