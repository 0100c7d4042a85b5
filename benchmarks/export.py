"""Benchmark: bake and export avatars, and play them in headless Chromium.

Two avatars, each made by the library's own stages in a throw-away project folder:

* ``synthetic``: a prior trained with the tiny profile's ``train_prior`` settings on the small
  synthetic head set of ``benchmarks/fixtures`` (our renderer, not Blender), and a held-out
  identity inverted from 3 views with the tiny profile's ``invert`` settings;
* ``portrait``: the public-domain astronaut portrait (``skimage.data.astronaut``) as a
  consented one-photo capture: ingest, track (MediaPipe landmarks), invert on that prior.

Per avatar: bake seconds and fidelity (PSNR of baked vs decoder renders on 8 held-out
expressions, as recorded in the card), each format's size and export seconds, and the web
viewer in headless Chromium (software GL): PSNR of its canvas against headforge's torch render
of the baked avatar on the foreground, the mouth change between a closed and an open jaw
frame, frames per second while playing, and the WebGL renderer string.

With ``--docs``: ``docs/export/browser_vs_torch.png`` (torch | browser) and
``docs/export/viewer.png`` (a viewer screenshot) for the synthetic avatar, and the same pair
for the portrait avatar (public domain).

Run from the repo root: ``.venv/bin/python benchmarks/export.py [--docs]``. Wall and CPU
seconds are reported; prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

SIZE = 256
PORTRAIT = "s-portrait"


def cpu_seconds() -> float:
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), cpu_seconds()

    def lap(self) -> dict[str, float]:
        return {"wall_s": round(time.perf_counter() - self.wall, 2),
                "cpu_s": round(cpu_seconds() - self.cpu, 2)}


def project(work: Path, train_steps: int | None) -> Path:
    import yaml

    root = work / "project"
    root.mkdir(parents=True, exist_ok=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    if train_steps is not None:
        params["train_prior"]["tiny"]["steps"] = train_steps
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    os.environ["HEADFORGE_ROOT"] = str(root)
    os.environ["HEADFORGE_REGISTRY_URL"] = f"sqlite:///{root / 'registry' / 'headforge.sqlite'}"
    (root / "registry").mkdir(exist_ok=True)
    return root


def synthetic_avatar(root: Path, work: Path) -> tuple[Path, Path, dict[str, Any]]:
    from benchmarks.fixtures.synthetic_heads import cached_dataset
    from headforge.context import Context
    from headforge.invert.stage import invert_subject, load_prior, synthetic_subject_inputs
    from headforge.prior.data import read_manifest, split_subjects
    from headforge.prior.stage import load_head, synthetic_training_views
    from headforge.prior.train import train

    ctx = Context.load(root)
    man = cached_dataset(work)
    cfg = ctx.params.train_prior
    clock = Clock()
    views, _ = synthetic_training_views(cfg, 1, manifest=man)
    head, parts = load_head(ctx.params.head_model)
    ckpt = train(cfg, views, root / "results" / "train_prior" / "base", head, parts).checkpoint
    trained = clock.lap()
    prior = load_prior(ckpt, ctx.params.head_model, "cpu")
    df = read_manifest(man)
    subject = split_subjects(df, 1)[1][0]
    chosen = synthetic_subject_inputs(df, subject, ctx.params.invert, man.parent)
    clock = Clock()
    out = invert_subject(prior, chosen, ctx.params.invert, root / "results" / "invert" / subject,
                         subject, ckpt, baseline=False)
    return out, ckpt, {"prior": {"steps": cfg.steps, **trained}, "invert": clock.lap(),
                       "subject": subject}


def portrait_avatar(root: Path, ckpt: Path) -> tuple[Path, dict[str, Any]]:
    import numpy as np
    from PIL import Image
    from skimage import data

    from headforge.context import Context
    from headforge.ingest import ingest_subjects
    from headforge.invert.stage import invert_subject, load_prior, real_subject_inputs
    from headforge.prior.data import read_manifest
    from headforge.privacy import Registry, Scope
    from headforge.track.stage import read_subjects, run_subject

    ctx = Context.load(root)
    photo = root / "inbox" / PORTRAIT / "photos" / "astronaut.png"
    photo.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(data.astronaut())).save(photo)
    out: dict[str, Any] = {"image": "skimage.data.astronaut (public domain)"}
    with Registry.from_config(root) as reg:
        reg.add_subject(PORTRAIT)
        for scope in (Scope.CAPTURE, Scope.AVATAR):
            reg.grant(PORTRAIT, scope, evidence="benchmark: public-domain portrait")
        clock = Clock()
        ingest_subjects([PORTRAIT], ctx.params.ingest, reg, root)
        views = read_subjects(root / "data" / "captures" / "manifest.parquet", root)[PORTRAIT]
        outcome = run_subject(PORTRAIT, views, ctx.params.track, ctx.params.head_model, root, reg)
        out["ingest_track"] = {**clock.lap(), "status": outcome.report["status_counts"]}
    prior = load_prior(ckpt, ctx.params.head_model, "cpu")
    df = read_manifest(root / "data" / "captures" / "manifest.parquet")
    chosen = real_subject_inputs(df, PORTRAIT, ctx.params.invert, root / "results" / "track")
    clock = Clock()
    bundle = invert_subject(prior, chosen, ctx.params.invert,
                            root / "results" / "invert" / PORTRAIT, PORTRAIT, ckpt,
                            baseline=False)
    out["invert"] = clock.lap()
    return bundle, out


def measure(bundle: Path, ckpt: Path, work: Path, name: str, docs: Path | None
            ) -> dict[str, Any]:
    import numpy as np
    import torch
    from PIL import Image

    from headforge.context import Context
    from headforge.export.bake import head_vertices
    from headforge.export.check import foreground_psnr, region_change, serve, shoot
    from headforge.export.check import project as project_points
    from headforge.export.formats import FORMATS
    from headforge.export.job import prepare, render_baked
    from headforge.invert.stage import load_prior

    ctx = Context.load()
    prior = load_prior(ckpt, ctx.params.head_model, "cpu")
    (bundle / "baked.npz").unlink(missing_ok=True)
    clock = Clock()
    job = prepare(bundle, prior)  # bakes and measures the fidelity
    prep = clock.lap()
    res: dict[str, Any] = {"gaussians": job.baked.n, "bake": job.card["bake"],
                           "bake_and_fidelity": prep, "formats": {}}
    for fmt in FORMATS:
        out = work / "exports" / name / fmt
        shutil.rmtree(out, ignore_errors=True)
        clock = Clock()
        paths = FORMATS[fmt].write(job, out)
        res["formats"][fmt] = {"files": len(paths),
                               "MB": round(sum(p.stat().st_size for p in paths) / 1e6, 3),
                               **clock.lap()}
    # the demo loop: frame 0 jaw closed, frame 12 jaw open (see job.demo_sequence)
    closed, opened = 0, 12
    cam = job.camera.scaled(SIZE, SIZE)
    with serve(work / "exports" / name / "web") as url:
        rep = shoot(ROOT / "web", url, work / "shots" / name, [closed, opened], SIZE, SIZE,
                    fps_seconds=5.0)
    shots = {s["frame"]: np.asarray(Image.open(s["path"]).convert("RGB")) for s in rep["shots"]}
    ref = render_baked(job.baked, job.frame(closed), cam)
    psnr, fg = foreground_psnr(shots[closed], ref)
    jaw = job.baked.weights[:, 2] > 0.5
    pts = torch.cat([head_vertices(job.baked, job.frame(i))[0][jaw] for i in (closed, opened)])
    uv = project_points(pts.numpy(), cam)
    box = (int(uv[:, 0].min()), int(uv[:, 1].min()), int(uv[:, 0].max()) + 1,
           int(uv[:, 1].max()) + 1)
    inside, outside = region_change(shots[closed], shots[opened], box)
    res["viewer"] = {"psnr_vs_torch_fg_db": round(psnr, 2), "foreground_fraction": round(fg, 3),
                     "size": [SIZE, SIZE], "frame": closed,
                     "mouth_change_inside_outside": [round(inside, 2), round(outside, 2)],
                     "fps_playing": round(rep["fps"], 2),
                     "frame_updates_per_s": round(rep["updatesPerSecond"], 2),
                     "first_frame_ms": rep["firstFrameMs"], "webgl_renderer": rep["renderer"]}
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate([ref, shots[closed]], 1)).save(
            docs / f"{name}_browser_vs_torch.png")
        Image.fromarray(np.concatenate([shots[closed], shots[opened]], 1)).save(
            docs / f"{name}_viewer.png")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=None, help="Work folder (default: a temp dir).")
    ap.add_argument("--train-steps", type=int, default=None,
                    help="Prior steps (default: the tiny profile's).")
    ap.add_argument("--no-portrait", action="store_true", help="Only the synthetic avatar.")
    ap.add_argument("--docs", action="store_true", help="Write the pictures into docs/export/.")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="headforge-export-"))
    work.mkdir(parents=True, exist_ok=True)
    root = project(work, args.train_steps)
    docs = ROOT / "docs" / "export" if args.docs else None
    result: dict[str, Any] = {"benchmark": "export", "machine_cpus": os.cpu_count()}
    bundle, ckpt, made = synthetic_avatar(root, work)
    os.chdir(root)
    result["synthetic"] = {"made": made, **measure(bundle, ckpt, work, "synthetic", docs)}
    if not args.no_portrait:
        try:
            pbundle, pmade = portrait_avatar(root, ckpt)
            result["portrait"] = {"made": pmade,
                                  **measure(pbundle, ckpt, work, "portrait", docs)}
        except Exception as e:  # reported, not hidden: the JSON says why it is missing
            result["portrait"] = {"error": f"{type(e).__name__}: {e}"}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
