"""Fit a FLAME-format head to a subject's views: initialise, run the declarative stages,
measure residuals and give every frame an explicit status."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch

from headforge.cameras import matrix_to_axis_angle
from headforge.config import TrackConfig
from headforge.optim import OptimResult, Phase, run_phases
from headforge.track import energies as E
from headforge.track.geometry import perturb_w2c
from headforge.track.mapping import to_ibug68
from headforge.track.problem import HeadModel, Observations, TrackParams, TrackProblem
from headforge.track.result import LandmarkResult
from headforge.track.scene import Scene

FrameState = Literal["ok", "poor_fit", "no_face", "failed"]

DEFAULT_WEIGHTS: dict[str, float] = {
    "landmarks": 1.0,
    "shape_prior": 2e-3,
    "expr_prior": 2e-3,
    "jaw_prior": 1e-2,
    "neck_prior": 1.0,
    "eyes_prior": 1.0,
    "focal_prior": 1e-2,
    "camera_prior": 10.0,
    "smooth_expr": 1e-2,
    "smooth_pose": 1e-1,
    "photometric": 2.0,
    "silhouette": 2.0,
}
"""Energy weights; ``track.weights`` in params.yaml overrides any of them."""

_PRIORS = ("shape_prior", "expr_prior", "jaw_prior", "neck_prior", "eyes_prior", "focal_prior")
_SMOOTH = ("smooth_expr", "smooth_pose")


def merged_weights(overrides: Mapping[str, float]) -> dict[str, float]:
    """Default weights overlaid with ``overrides``; unknown names raise ``ValueError``."""
    unknown = sorted(set(overrides) - set(DEFAULT_WEIGHTS))
    if unknown:
        raise ValueError(
            f"track.weights: unknown term(s) {unknown}; known: {sorted(DEFAULT_WEIGHTS)}"
        )
    return {**DEFAULT_WEIGHTS, **{k: float(v) for k, v in overrides.items()}}


def default_stages(cfg: TrackConfig, dense: bool) -> list[Phase]:
    """The four tracking stages, as data (VHAP-style): rigid, landmarks, dense, joint."""
    lr = cfg.lr
    lm_terms = ("landmarks", *_PRIORS, *_SMOOTH)
    expr_free = ("expr", "jaw", "eyes", "neck", "rotation", "translation", "focal")
    dense_terms = ("photometric", "silhouette") if dense else ()
    return [
        Phase(
            "rigid",
            cfg.steps_rigid,
            lr,
            ("rotation", "translation", "focal"),
            ("landmarks", "focal_prior", "smooth_pose"),
            lr_scale={"translation": 0.1},
            schedule="cosine",
        ),
        Phase(
            "landmarks",
            cfg.steps_landmarks,
            lr,
            ("shape", *expr_free),
            lm_terms,
            lr_scale={"translation": 0.1},
            schedule="cosine",
        ),
        Phase(
            "dense",
            cfg.steps_dense if dense else 0,
            0.2 * lr,  # geometry moves gently: the landmark fit is already close
            ("shape", *expr_free, "albedo"),
            (*lm_terms, *dense_terms),
            lr_scale={"translation": 0.1, "albedo": 25.0},
            schedule="cosine",
        ),
        Phase(
            "joint",
            cfg.steps_joint,
            0.3 * lr,
            ("cameras", *expr_free),
            (*lm_terms, "camera_prior", *dense_terms),
            lr_scale={"translation": 0.1, "cameras": 0.1},
            schedule="cosine",
        ),
    ]


def observations(scene: Scene, landmarks: Sequence[LandmarkResult | None]) -> Observations:
    """Stack per-view landmark results (any convention; mapped to iBUG-68) and cameras."""
    if len(landmarks) != len(scene.views):
        raise ValueError(f"{len(landmarks)} landmark results for {len(scene.views)} views")
    n = len(scene.views)
    pts = torch.zeros(n, 68, 2)
    conf = torch.zeros(n, 68)
    has = torch.zeros(n, dtype=torch.bool)
    for i, r in enumerate(landmarks):
        if r is None or not r.found:
            continue
        r68 = to_ibug68(r)
        p = torch.as_tensor(r68.points, dtype=torch.float32)
        c = torch.as_tensor(r68.confidence, dtype=torch.float32)
        if torch.isfinite(p).all() and torch.isfinite(c).all():
            pts[i], conf[i], has[i] = p, c.clamp(0.0, 1.0), True
    K = torch.as_tensor(np.stack([v.K for v in scene.views]), dtype=torch.float32)
    w2c = torch.as_tensor(np.stack([v.w2c for v in scene.views]), dtype=torch.float32)
    size = torch.tensor([float(max(v.width, v.height)) for v in scene.views])
    return Observations(pts, conf, has, K, w2c, size)


def initialise_rigid(problem: TrackProblem) -> None:
    """Per frame, PnP of the mean-shape landmarks in its most confident view -> head pose."""
    import cv2

    p, obs = problem.params, problem.obs
    with torch.no_grad():
        zero = problem.landmarks(torch.zeros(1, dtype=torch.long))
        template = zero[0].double().numpy()  # at the current (zero) parameters
        for f in problem.healthy_frames().tolist():
            views = torch.nonzero((problem.view_frame == f) & obs.has_face)[:, 0]
            v = int(views[obs.confidence[views].mean(1).argmax()])
            K = obs.K[v].double().numpy()
            pts = obs.landmarks[v].double().numpy()
            dist = np.zeros(4)
            ok, rvec, tvec = cv2.solvePnP(template, pts, K, dist, flags=cv2.SOLVEPNP_EPNP)
            if ok:
                ok, rvec, tvec = cv2.solvePnP(
                    template,
                    pts,
                    K,
                    dist,
                    rvec,
                    tvec,
                    useExtrinsicGuess=True,
                    flags=cv2.SOLVEPNP_ITERATIVE,
                )
            if not ok or not np.all(np.isfinite(rvec)) or float(tvec[2, 0]) <= 0:
                continue  # stays at the origin; the rigid stage starts from there
            R_pnp, _ = cv2.Rodrigues(rvec)
            w2c = obs.w2c[v].double().numpy()
            R_c, t_c = w2c[:3, :3], w2c[:3, 3]
            R_h = R_c.T @ R_pnp
            t_h = R_c.T @ (tvec[:, 0] - t_c)
            p.rotation[f] = torch.as_tensor(matrix_to_axis_angle(R_h), dtype=torch.float32)
            target = template @ R_h.T + t_h
            rotated = problem.landmarks(torch.tensor([f]))[0].double().numpy()
            p.translation[f] = torch.as_tensor(
                (target - rotated).mean(0) + p.translation[f].double().numpy(), dtype=torch.float32
            )


@dataclasses.dataclass
class FrameStatus:
    """Outcome of one frame."""

    key: str
    """Frame key (also the stem of its parameter file)."""
    status: FrameState
    """ok, poor_fit (fitted but above the error bound), no_face, or failed."""
    reason: str
    """Why the frame is not ok (empty when ok)."""
    views: int
    """Views of this frame with a detected face."""
    landmark_error_px: float
    """Mean landmark reprojection error over its views, in image pixels (NaN if none)."""


@dataclasses.dataclass
class TrackResult:
    """Everything a subject's fit produced."""

    scene: Scene
    params: TrackParams
    frames: list[FrameStatus]
    optim: OptimResult
    view_error_px: np.ndarray
    """[V] mean landmark reprojection error per view (NaN without a face or a fit)."""
    projected: np.ndarray
    """[V, 68, 2] fitted landmarks projected into each view (NaN where not fitted)."""
    focal_scale: np.ndarray
    """[C] final focal multiplier per camera group (1 for calibrated cameras)."""

    def final_camera(self, view: int) -> tuple[np.ndarray, np.ndarray]:
        """(K [3, 3], w2c [4, 4]) of view ``view`` after the fit (focal and pose corrections)."""
        v = self.scene.views[view]
        c = int(self.scene.view_camera[view])
        K = v.K.astype(np.float64).copy()
        K[0, 0] *= float(self.focal_scale[c])
        K[1, 1] *= float(self.focal_scale[c])
        with torch.no_grad():
            w0 = torch.tensor(np.array(v.w2c), dtype=torch.float64)[None]
            w2c = perturb_w2c(w0, self.params.cam_delta[c : c + 1].double())[0].numpy()
        return K, w2c

    def ok_frames(self) -> list[int]:
        """Indices of frames with parameters worth using (ok or poor_fit)."""
        return [i for i, f in enumerate(self.frames) if f.status in ("ok", "poor_fit")]


def fit_subject(
    model: HeadModel,
    scene: Scene,
    landmarks: Sequence[LandmarkResult | None],
    cfg: TrackConfig,
    n_shape: int,
    n_expr: int,
    dense: Any | None = None,
    stages: Sequence[Phase] | None = None,
    known_shape: np.ndarray | None = None,
) -> TrackResult:
    """Track one subject. ``dense`` is an optional dense-term callable (see :mod:`.dense`).

    ``known_shape`` [n_shape]: the subject's identity coefficients when they are already known
    (e.g. from a multi-view capture of the same person); they are then held fixed. From one
    camera this is what pins the head's metric depth: scaling the head and its distance
    together about the camera centre leaves every image unchanged (docs/track.md).
    """
    obs = observations(scene, landmarks)
    params = TrackParams.zeros(n_shape, n_expr, len(scene.frame_keys), len(scene.camera_keys))
    if known_shape is not None:
        ks = torch.as_tensor(np.asarray(known_shape), dtype=torch.float32).reshape(-1)
        if ks.shape != (n_shape,) or not bool(torch.isfinite(ks).all()):
            raise ValueError(
                f"known_shape must be {n_shape} finite coefficients, got shape "
                f"{tuple(np.shape(known_shape))}: pass the subject's fitted 'shape' array"
            )
        params.shape.copy_(ks)
    problem = TrackProblem(model, scene, obs, params, dense=dense)
    no_face = dict(problem.failed)
    if len(problem.healthy_frames()):
        initialise_rigid(problem)
    groups: dict[str, Any] = params.groups()
    if dense is not None:
        groups["albedo"] = dense.parameters()
    else:
        groups["albedo"] = []
    stages = list(stages) if stages is not None else default_stages(cfg, dense is not None)
    if known_shape is not None:
        stages = [dataclasses.replace(st, free=tuple(g for g in st.free if g != "shape"))
                  for st in stages]  # fmt: skip
    weights = merged_weights(cfg.weights)
    if len(problem.healthy_frames()):
        res = run_phases(groups, stages, problem, weights)
    else:
        res = OptimResult([])
    return _finish(problem, res, no_face, cfg.max_error_px)


def _finish(
    problem: TrackProblem, res: OptimResult, no_face: dict[int, str], max_error_px: float
) -> TrackResult:
    scene, obs, p = problem.scene, problem.obs, problem.params
    n_v = len(scene.views)
    err = np.full(n_v, np.nan)
    proj = np.full((n_v, 68, 2), np.nan, dtype=np.float32)
    broken = "" if res.ok else next(s.message for s in res.stages if s.status == "non_finite")
    frames = problem.healthy_frames()
    if len(frames):
        with torch.no_grad():
            uv, views = problem.project_landmarks(frames, problem.landmarks(frames))
            e = E.reprojection_px(uv, obs.landmarks[views], obs.confidence[views] > 0)
        err[views.numpy()] = e.numpy()
        proj[views.numpy()] = uv.numpy()
    statuses = []
    for f, key in enumerate(scene.frame_keys):
        vmask = scene.view_frame == f
        n_face = int((obs.has_face.numpy() & vmask).sum())
        fe = float(np.nanmean(err[vmask])) if np.isfinite(err[vmask]).any() else float("nan")
        finite = all(np.all(np.isfinite(v)) for v in p.frame(f).values())
        if f in no_face:
            st: FrameState = "no_face"
            why = no_face[f]
        elif f in problem.failed:
            st, why = "failed", problem.failed[f]
        elif not finite or not np.isfinite(fe):
            st, why = "failed", f"non-finite parameters or residual after fitting {broken}".strip()
        elif fe > max_error_px * max(scene.views[int(np.argmax(vmask))].width, 1) / 256.0:
            st, why = "poor_fit", f"landmark error {fe:.1f} px above track.max_error_px"
        else:
            st, why = "ok", ""
        statuses.append(FrameStatus(key, st, why, n_face, fe))
    est = problem.estimated.numpy()
    focal = np.where(est, np.exp(p.log_focal.detach().numpy()), 1.0)
    return TrackResult(scene, p, statuses, res, err, proj, focal)
