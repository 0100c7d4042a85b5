"""Score renders of one benchmark task: PSNR/SSIM/L1 (+LPIPS), CSIM, AKD, AED/APD per frame.

Landmarks (AKD), face boxes (CSIM) and tracking (AED/APD) run on images upscaled to
:data:`ANALYSIS_SIZE` pixels, the size the landmark detectors and the tracker are tuned for;
the photometric scores use the benchmark resolution. AED/APD run the project's tracker
(``track`` section; ``benchmark.track_steps_dense`` dense steps) on the rendered frames and on
the ground-truth frames with the same cameras and settings, and compare the two fits.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch
from PIL import Image
from scipy.spatial.transform import Rotation

from headforge.config import TrackConfig
from headforge.evaluate.protocol import Task
from headforge.metrics import foreground, score_images
from headforge.metrics.aed import aed, apd
from headforge.metrics.akd import akd
from headforge.metrics.csim import Box, FaceEmbedder, cosine
from headforge.metrics.lpips import Lpips
from headforge.prior.data import ViewSet

ANALYSIS_SIZE = 256


@dataclasses.dataclass
class Tracked:
    """The tracker's reading of a set of frames."""

    expr: np.ndarray
    """[F, E + 3] expression coefficients and jaw axis-angle."""
    rot: np.ndarray
    """[F, 3, 3] head rotation in the camera (camera x global x neck rotation)."""
    ok: np.ndarray
    """[F] the tracker fitted the frame (ok or poor_fit)."""


@dataclasses.dataclass
class Analysed:
    """Upscaled frames and what the detectors and the tracker found in them."""

    images: list[np.ndarray]
    points: list[np.ndarray | None]
    boxes: list[Box | None]
    tracked: Tracked


def to_analysis(rgb: torch.Tensor) -> list[np.ndarray]:
    """[F, H, W, 3] floats in [0, 1] -> uint8 images of ANALYSIS_SIZE pixels."""
    out = []
    for im in rgb:
        u8 = (im.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        out.append(np.asarray(Image.fromarray(u8).resize((ANALYSIS_SIZE, ANALYSIS_SIZE),
                                                         Image.Resampling.BICUBIC)))
    return out


class Scorer:
    """Holds the detector, face embedder, head model and LPIPS network of one run."""

    def __init__(self, track_cfg: TrackConfig, head_model: Any, lpips_path: str = "",
                 steps_dense: int = 0) -> None:
        from headforge.track.detectors import make_detector

        self.cfg = dataclasses.replace(track_cfg, steps_dense=steps_dense, overlays=0,
                                       require_consent=False)
        self.model = head_model
        self.detector = make_detector(self.cfg)
        self.embedder = FaceEmbedder()
        self.lpips = Lpips(lpips_path) if lpips_path else None
        self._targets: dict[str, Analysed] = {}

    def close(self) -> None:
        self.detector.close()

    def track(self, images: list[np.ndarray], views: ViewSet, points: list[Any]) -> Tracked:
        """Fit the head model to ``images`` seen by ``views``' cameras (K rescaled)."""
        from headforge.track.fit import fit_subject
        from headforge.track.scene import View, build_scene

        s = ANALYSIS_SIZE / views.resolution
        vs = []
        for i in range(len(images)):
            K = views.K[i].double().numpy().copy()
            K[:2] *= s
            vs.append(View("bench", f"c{i}", f"{i:04d}", K, views.w2c[i].double().numpy(),
                           ANALYSIS_SIZE, ANALYSIS_SIZE))
        scene = build_scene("bench", vs)
        res = fit_subject(self.model, scene, points, self.cfg, self.model.n_shape,
                          self.model.n_expr)
        ok_frames = set(res.ok_frames())
        n = len(images)
        expr, rot, ok = [], [], np.zeros(n, bool)
        for v in range(n):
            f = int(scene.view_frame[v])
            p = res.params.frame(f)
            _, w2c = res.final_camera(v)
            r = (Rotation.from_matrix(w2c[:3, :3]) * Rotation.from_rotvec(p["rotation"])
                 * Rotation.from_rotvec(p["neck_pose"]))
            expr.append(np.concatenate([p["expr"], p["jaw_pose"]]))
            rot.append(r.as_matrix())
            ok[v] = f in ok_frames
        return Tracked(np.stack(expr), np.stack(rot), ok)

    def analyse(self, rgb: torch.Tensor, views: ViewSet) -> Analysed:
        images = to_analysis(rgb)
        lms = [self.detector.detect(im) for im in images]
        points = [r.points if r.points is not None else None for r in lms]
        boxes = [self.embedder.detect(im) for im in images]
        return Analysed(images, points, boxes, self.track(images, views, lms))

    def target(self, task: Task) -> Analysed:
        """The ground truth's analysis (cached per driver and frames)."""
        key = f"{task.driver}/{','.join(task.target_frames)}"
        if key not in self._targets:
            self._targets[key] = self.analyse(task.targets.images, task.targets)
        return self._targets[key]

    def score(self, task: Task, rgb: torch.Tensor, alpha: torch.Tensor) -> list[dict[str, Any]]:
        """Per-frame scores of ``rgb``/``alpha`` (``[F, H, W, .]`` renders of the targets)."""
        gt = self.target(task)
        pred = self.analyse(rgb, task.targets)
        rows: list[dict[str, Any]] = []
        cross = task.protocol == "cross"
        photo = [] if cross else score_images(rgb, task.targets.images,
                                              foreground(task.targets.masks, alpha))
        lp: list[float] = []
        if self.lpips is not None and not cross:
            lp = self.lpips(rgb, task.targets.images,
                            foreground(task.targets.masks, alpha))
        ref_emb = None
        if cross and task.identity_image is not None:
            ref_emb = self.embedder.embed(to_analysis(
                torch.from_numpy(task.identity_image).float()[None] / 255.0)[0])
        for i, frame in enumerate(task.target_frames):
            row: dict[str, Any] = {"frame": frame}
            if photo:
                row.update(psnr=photo[i].psnr, ssim=photo[i].ssim, l1=photo[i].l1)
            if lp:
                row["lpips"] = lp[i]
            # CSIM: the render's face, in the box found on the aligned ground-truth frame
            box = gt.boxes[i] if gt.boxes[i] is not None else pred.boxes[i]
            emb = self.embedder.embed(pred.images[i], box) if box is not None else None
            ref = ref_emb if cross else (self.embedder.embed(gt.images[i], gt.boxes[i])
                                         if gt.boxes[i] is not None else None)
            row["csim"] = cosine(emb, ref) if emb is not None and ref is not None else None
            if not cross:
                p, q = pred.points[i], gt.points[i]
                row["akd"] = akd(p, q, ANALYSIS_SIZE) if p is not None and q is not None \
                    else None
            both = bool(pred.tracked.ok[i] and gt.tracked.ok[i])
            sl = slice(i, i + 1)
            row["aed"] = aed(pred.tracked.expr[sl], gt.tracked.expr[sl]) if both else None
            row["apd"] = apd(pred.tracked.rot[sl], gt.tracked.rot[sl]) if both else None
            rows.append(row)
        return rows
