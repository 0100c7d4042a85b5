"""Render one shard job with Blender (pip ``bpy``) + BlenderProc, one identity at a time.

    python blender/render_shard.py --job data/synth/.jobs/shard_0000.json

For every identity of the job this writes, under ``<staging>/<identity>/``::

    albedo.png                      UV albedo texture (row 0 = v = 1)
    rgb/<expression>/<camera>.png   colour composited over black (sRGB, 8-bit)
    mask/<expression>/<camera>.png  foreground alpha (8-bit)
    seg/<expression>/<camera>.png   part category per pixel (job ``categories``; 0 = none)
    params/<expression>.npz         FLAME keys (frame axis of length 1) + model_id
    cameras.json                    OpenCV K and w2c per camera, read back from Blender
    identity.json                   the identity's spec, render settings and file count

and renames the folder onto ``<out_dir>/<identity>`` only when all of it is written, so a
crash leaves no partial identity. Progress goes to stdout as one JSON object per line; a
failure prints ``synth-error: <message>`` on stderr and exits with status 2 (bad job) or
3 (render failure). The process leaves with ``os._exit`` (see ``bproc_compat``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from blender import bproc_compat  # noqa: E402
from blender.job import PARAM_KEYS, Identity, Job, JobError, read_job  # noqa: E402

EXIT_BAD_JOB = 2
EXIT_RENDER_FAILED = 3


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(array)).save(path, format="PNG", compress_level=6)


def _write_params(path: Path, ident: Identity, e: int, model_id: str) -> None:
    arrays = {k: np.asarray(ident.params[k][e : e + 1], dtype=np.float32) for k in PARAM_KEYS}
    arrays["shape"] = np.asarray(ident.params["shape"], dtype=np.float32).reshape(-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, model_id=np.array(model_id), **arrays)  # type: ignore[arg-type]


def _commit(stage: Path, target: Path) -> None:
    """Move a finished identity folder onto its final place (replacing an older one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(stage, target)
    shutil.rmtree(old, ignore_errors=True)


def render_identity(bproc, job: Job, ident: Identity) -> int:
    """Render every expression x camera of one identity; returns the number of images."""
    from blender.scene import HeadScene, read_cameras

    stage = job.staging_dir / ident.id
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    frames = job.staging_dir / "_frames"
    try:
        import bpy

        bpy.context.scene.cycles.seed = ident.seed  # fixed per identity: same seed, same pixels
        _png(stage / "albedo.png", ident.albedo)
        scene = HeadScene(bproc, job, ident, stage / "albedo.png")
        try:
            for e, name in enumerate(ident.expressions):
                scene.pose(ident.vertices[e])
                data = bproc.renderer.render(output_dir=str(frames), return_data=True)
                colors, segs = data["colors"], data["category_id_segmaps"]
                if len(colors) != len(job.cameras) or len(segs) != len(job.cameras):
                    raise RuntimeError(f"BlenderProc returned {len(colors)} colour and "
                                       f"{len(segs)} segmentation frames for "
                                       f"{len(job.cameras)} cameras")
                for c, cam in enumerate(job.cameras):
                    rgba = np.asarray(colors[c])
                    if rgba.shape != (job.height, job.width, 4):
                        raise RuntimeError(f"render is {list(rgba.shape)}, expected "
                                           f"[{job.height}, {job.width}, 4] (RGBA)")
                    alpha = rgba[..., 3:4].astype(np.uint16)
                    rgb = ((rgba[..., :3].astype(np.uint16) * alpha + 127) // 255).astype(np.uint8)
                    _png(stage / "rgb" / name / f"{cam.name}.png", rgb)
                    _png(stage / "mask" / name / f"{cam.name}.png", rgba[..., 3])
                    _png(stage / "seg" / name / f"{cam.name}.png",
                         np.asarray(segs[c]).astype(np.uint8))
                _write_params(stage / "params" / f"{name}.npz", ident, e, job.model_id)
            cams = read_cameras(bproc, job.cameras)
        finally:
            scene.remove()
        meta = {"width": job.width, "height": job.height, "convention": "opencv",
                "cameras": {c["name"]: {"K": c["K"], "w2c": c["w2c"]} for c in cams}}
        (stage / "cameras.json").write_text(json.dumps(meta, indent=1))
        record = {"id": ident.id, "shard": job.shard, "model_id": job.model_id,
                  "expressions": ident.expressions, "cameras": [c.name for c in job.cameras],
                  "categories": job.categories, "rgb_background": [0, 0, 0],
                  "render": {"width": job.width, "height": job.height,
                             "samples": job.samples, "engine": "CYCLES"},
                  "spec": ident.spec}
        (stage / "identity.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        _commit(stage, job.out_dir / ident.id)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(frames, ignore_errors=True)
    return len(ident.expressions) * len(job.cameras)


def run(job_path: str) -> int:
    """Render a whole job; returns the process exit status."""
    try:
        job = read_job(job_path)
    except JobError as e:
        print(f"synth-error: {e}", file=sys.stderr)
        return EXIT_BAD_JOB
    current = "setup"
    try:
        t0 = time.perf_counter()
        bproc = bproc_compat.init(str(job.staging_dir / "_bproc"))
        from blender.scene import configure_renderer, set_cameras

        configure_renderer(bproc, job)
        set_cameras(bproc, job.cameras, job.width, job.height)
        ready = {"event": "ready", "shard": job.shard,
                 "seconds": round(time.perf_counter() - t0, 3)}
        if "HEADFORGE_SYNTH_LAUNCHED" in os.environ:  # set by the host runner
            launched = float(os.environ["HEADFORGE_SYNTH_LAUNCHED"])
            ready["since_launch"] = round(time.time() - launched, 3)
        print(json.dumps(ready), flush=True)
        for ident in job.identities:
            current = f"identity {ident.id}"
            t1 = time.perf_counter()
            n = render_identity(bproc, job, ident)
            print(json.dumps({"event": "identity_done", "id": ident.id, "images": n,
                              "seconds": round(time.perf_counter() - t1, 3)}), flush=True)
    except JobError as e:
        print(f"synth-error: shard {job.shard}, {current}: {e}", file=sys.stderr)
        return EXIT_BAD_JOB
    except Exception as e:  # any Blender/asset failure fails this shard only
        traceback.print_exc()
        print(f"synth-error: shard {job.shard}, {current}: {type(e).__name__}: {e}",
              file=sys.stderr)
        return EXIT_RENDER_FAILED
    finally:
        shutil.rmtree(job.staging_dir / "_bproc", ignore_errors=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--job", required=True, help="shard job .json written by the planner")
    args = parser.parse_args(argv)
    code = EXIT_RENDER_FAILED
    try:
        code = run(args.job)
    finally:
        bproc_compat.exit_process(code)


if __name__ == "__main__":
    main()
