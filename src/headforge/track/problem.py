"""The tracking problem of one subject: parameters, observations and the energy terms.

Shape is shared by every frame and view of the subject; expression, jaw/neck/eyes poses and
the global rotation/translation are per frame; intrinsics (a focal scale) are per camera group
and only move for estimated cameras; small extrinsic corrections per camera group are freed in
the joint stage. Frames are isolated: a frame whose energy turns non-finite is marked failed
(with the stage and step) and left out from then on, so one bad frame cannot poison the rest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from headforge.optim import Phase
from headforge.track import energies as E
from headforge.track.fastlmk import LandmarkModel, supports_fast_landmarks
from headforge.track.geometry import perturb_w2c, project_views, scale_focal
from headforge.track.scene import Scene

PARAM_KEYS = ("shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")
"""FLAME parameter names, in the head model's call order."""


class HeadModel(Protocol):
    """The part of :class:`headforge.morphable` a fit needs."""

    def __call__(self, **params: Tensor) -> Any: ...  # -> .vertices [B,V,3], .landmarks68


@dataclasses.dataclass
class TrackParams:
    """Every optimised tensor of a subject (leaves; ``requires_grad`` is set by the loop)."""

    shape: Tensor  # [S]
    expr: Tensor  # [F, E]
    rotation: Tensor  # [F, 3] axis-angle
    neck_pose: Tensor  # [F, 3]
    jaw_pose: Tensor  # [F, 3]
    eyes_pose: Tensor  # [F, 6]
    translation: Tensor  # [F, 3] metres
    log_focal: Tensor  # [C] log of the focal scale per camera group
    cam_delta: Tensor  # [C, 6] axis-angle + translation correction per camera group

    @classmethod
    def zeros(cls, n_shape: int, n_expr: int, n_frames: int, n_cams: int) -> TrackParams:
        z = torch.zeros
        return cls(
            z(n_shape),
            z(n_frames, n_expr),
            z(n_frames, 3),
            z(n_frames, 3),
            z(n_frames, 3),
            z(n_frames, 6),
            z(n_frames, 3),
            z(n_cams),
            z(n_cams, 6),
        )

    def groups(self) -> dict[str, Tensor | list[Tensor]]:
        """Named groups for :func:`headforge.optim.run_phases`."""
        return {
            "shape": self.shape,
            "expr": self.expr,
            "rotation": self.rotation,
            "translation": self.translation,
            "jaw": self.jaw_pose,
            "neck": self.neck_pose,
            "eyes": self.eyes_pose,
            "focal": self.log_focal,
            "cameras": self.cam_delta,
        }

    def per_frame(self) -> dict[str, Tensor]:
        """All FLAME parameters as [F, D] tensors (shape repeated), detached."""
        n = self.expr.shape[0]
        out = {k: getattr(self, k).detach() for k in PARAM_KEYS[1:]}
        return {"shape": self.shape.detach()[None].expand(n, -1), **out}

    def frame(self, i: int) -> dict[str, np.ndarray]:
        """FLAME parameters of frame ``i`` as numpy arrays."""
        return {
            "shape": self.shape.detach().cpu().numpy().copy(),
            **{k: getattr(self, k)[i].detach().cpu().numpy().copy() for k in PARAM_KEYS[1:]},
        }


@dataclasses.dataclass
class Observations:
    """Per-view tensors of the 2D evidence."""

    landmarks: Tensor  # [V, 68, 2] pixels (0 where missing)
    confidence: Tensor  # [V, 68] (0 where missing)
    has_face: Tensor  # [V] bool
    K: Tensor  # [V, 3, 3]
    w2c: Tensor  # [V, 4, 4]
    image_size: Tensor  # [V] max(W, H)


class TrackProblem:
    """Parameters + observations + energy of one subject; callable as an optim energy."""

    def __init__(
        self,
        model: HeadModel,
        scene: Scene,
        obs: Observations,
        params: TrackParams,
        dense: Callable[[TrackProblem, Tensor, Phase], dict[str, Tensor]] | None = None,
    ) -> None:
        self.model = model
        self.scene = scene
        self.obs = obs
        self.params = params
        self.dense = dense
        self.fast = LandmarkModel(model) if supports_fast_landmarks(model) else None
        self.view_frame = torch.as_tensor(scene.view_frame)
        self.view_camera = torch.as_tensor(scene.view_camera)
        self.pairs = torch.as_tensor(scene.smooth_pairs)
        self.point_weights = E.ibug68_weights()
        self.estimated = torch.as_tensor(scene.estimated_cameras)
        self.failed: dict[int, str] = {}
        """frame index -> why it was left out."""
        self.step = 0
        n_f = len(scene.frame_keys)
        for f in range(n_f):
            views = (self.view_frame == f) & obs.has_face
            if not bool(views.any()):
                self.failed[f] = "no face detected in any view of this frame"

    # ---- evaluation -------------------------------------------------------------------------

    def healthy_frames(self) -> Tensor:
        """[F'] indices of frames still being fitted."""
        n = len(self.scene.frame_keys)
        return torch.tensor([f for f in range(n) if f not in self.failed], dtype=torch.long)

    def frame_params(self, frames: Tensor) -> dict[str, Tensor]:
        """FLAME keyword arguments [len(frames), D] for ``frames`` (index tensor)."""
        p = self.params
        return {
            "shape": p.shape[None].expand(len(frames), -1),
            **{k: getattr(p, k)[frames] for k in PARAM_KEYS[1:]},
        }

    def run_model(self, frames: Tensor) -> Any:
        """Full head model output (vertices, landmarks) for ``frames``."""
        return self.model(**self.frame_params(frames))

    def landmarks(self, frames: Tensor) -> Tensor:
        """[len(frames), 68, 3] model landmarks (skinning only what they need when possible)."""
        if self.fast is not None:
            return self.fast(**self.frame_params(frames))
        return self.run_model(frames).landmarks68

    def cameras(self, views: Tensor) -> tuple[Tensor, Tensor]:
        """Current (K [V', 3, 3], w2c [V', 4, 4]) of ``views``, with focal and pose corrections."""
        cam = self.view_camera[views]
        log_f = torch.where(
            self.estimated[cam], self.params.log_focal[cam], 0.0 * self.params.log_focal[cam]
        )
        K = scale_focal(self.obs.K[views], log_f)
        w2c = perturb_w2c(self.obs.w2c[views], self.params.cam_delta[cam])
        return K, w2c

    def project_landmarks(self, frames: Tensor, lm3d: Tensor) -> tuple[Tensor, Tensor]:
        """(uv [V', 68, 2], view indices [V']) for the face views of ``frames``, given their
        model landmarks ``lm3d`` [len(frames), 68, 3]."""
        pos = torch.full((len(self.scene.frame_keys),), -1, dtype=torch.long)
        pos[frames] = torch.arange(len(frames))
        views = torch.nonzero((pos[self.view_frame] >= 0) & self.obs.has_face)[:, 0]
        K, w2c = self.cameras(views)
        uv, _ = project_views(lm3d[pos[self.view_frame[views]]], K, w2c)
        return uv, views

    def _terms(self, stage: Phase, frames: Tensor) -> tuple[dict[str, Tensor], Tensor]:
        p, want = self.params, set(stage.terms)
        uv, views = self.project_landmarks(frames, self.landmarks(frames))
        per_view = E.landmark_energy(
            uv,
            self.obs.landmarks[views],
            self.obs.confidence[views],
            self.obs.image_size[views],
            self.point_weights,
        )
        pos = torch.full((len(self.scene.frame_keys),), -1, dtype=torch.long)
        pos[frames] = torch.arange(len(frames))
        per_frame = torch.zeros(len(frames)).index_add(0, pos[self.view_frame[views]], per_view)
        t: dict[str, Tensor] = {"landmarks": per_view.mean()}
        t["shape_prior"] = E.gaussian_prior(p.shape)
        t["expr_prior"] = E.gaussian_prior(p.expr[frames]).mean()
        t["jaw_prior"] = E.gaussian_prior(p.jaw_pose[frames]).mean()
        t["neck_prior"] = E.gaussian_prior(p.neck_pose[frames]).mean()
        t["eyes_prior"] = E.gaussian_prior(p.eyes_pose[frames]).mean()
        t["focal_prior"] = (p.log_focal**2).mean()
        t["camera_prior"] = (p.cam_delta**2).mean()
        pairs = self._healthy_pairs(frames)
        expr_jaw = torch.cat([p.expr, p.jaw_pose, p.eyes_pose], 1)
        rigid = torch.cat([p.rotation, p.translation * 10.0, p.neck_pose], 1)
        t["smooth_expr"] = _mean0(E.temporal_smoothness(expr_jaw, pairs))
        t["smooth_pose"] = _mean0(E.temporal_smoothness(rigid, pairs))
        if want & {"photometric", "silhouette"}:
            if self.dense is None:
                raise ValueError(f"stage {stage.name!r} needs a dense term but none is set up")
            dense = self.dense(self, frames, stage)
            t.update(dense)
            if "per_frame" in dense:
                per_frame = per_frame + dense.pop("per_frame")
                t.pop("per_frame", None)
        return t, per_frame

    def _healthy_pairs(self, frames: Tensor) -> Tensor:
        if self.pairs.numel() == 0:
            return self.pairs
        ok = torch.zeros(len(self.scene.frame_keys), dtype=torch.bool)
        ok[frames] = True
        keep = ok[self.pairs[:, 0]] & ok[self.pairs[:, 1]]
        return self.pairs[keep]

    def __call__(self, stage: Phase) -> dict[str, Tensor]:
        frames = self.healthy_frames()
        if len(frames) == 0:  # every frame failed: non-finite terms make the loop stop cleanly
            return {t: torch.tensor(float("nan")) for t in stage.terms}
        terms, per_frame = self._terms(stage, frames)
        bad = frames[~torch.isfinite(per_frame.detach())]
        if len(bad):
            for f in bad.tolist():
                self.failed[f] = f"non-finite energy in stage {stage.name!r}; frame left out"
            frames = self.healthy_frames()
            if len(frames) == 0:
                return terms  # non-finite: the loop restores and reports
            terms, _ = self._terms(stage, frames)
        return terms


def _mean0(x: Tensor) -> Tensor:
    return x.mean() if x.numel() else x.new_zeros(())
