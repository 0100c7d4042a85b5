"""Bake an avatar into a network-free drivable form: Gaussian blendshapes on the head mesh.

An avatar decodes, for every expression, Gaussians bound to the head model's triangles. The
bake reads only what the avatar's public decode returns (placed Gaussians for FLAME-format
parameters) and the prior's binding (triangle and barycentrics of each Gaussian), so it works
for any decoder architecture behind that interface. Per Gaussian it stores:

* canonical raw parameters in the local frame of its triangle (the frame of
  :func:`headforge.splat.gaussians.triangle_frames`): offset in units of the triangle scale (3),
  rotation quaternion wxyz (4), log scale relative to the triangle scale (3), opacity logit
  (1), colour as decoded (3 RGB, or 3K SH coefficients);
* Gaussian blendshapes: one delta of those channels per expression coefficient, fitted by
  least squares to the decoder's outputs on sampled expressions.

The coefficient vector is :func:`headforge.prior.model.expression_vector`: the expression
coefficients, jaw pose and eye poses, i.e. what the decoder is conditioned on. Head pose
(rotation, neck, translation) moves the mesh only, which the bake keeps as the head model
itself (identity shape baked in): template, expression basis, pose correctives, joint
regressor, skinning weights. Evaluating a frame: pose the mesh (:func:`head_vertices`), add
``coeffs @ blend`` to the canonical channels, activate and place on the posed triangles
(:func:`baked_gaussians`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor

from headforge.io_utils import atomic_path
from headforge.morphable.lbs import lbs
from headforge.prior.gaussians import GaussianBatch
from headforge.prior.model import expression_vector
from headforge.splat.gaussians import bind_to_triangles, triangle_frames
from headforge.splat.projection import quat_multiply, rotmat_to_quat

CHANNELS = ("offset", "rotation", "log_scale", "opacity", "color")
"""Channel groups of a baked Gaussian, in storage order."""
POSE_KEYS = ("rotation", "neck_pose", "jaw_pose", "eyes_pose")
"""Joint rotations in the head model's joint order (global, neck, jaw, left eye, right eye)."""
BAKE_VERSION = 1


class Decodable(Protocol):
    """What the bake needs of an avatar: its identity shape, its prior (head model, binding)
    and its public decode (placed Gaussians for FLAME-format parameters [B, D])."""

    shape: Tensor

    @property
    def prior(self) -> Any: ...

    def gaussians(self, params: Mapping[str, Tensor], keep_shape: bool = False
                  ) -> GaussianBatch: ...


@dataclass
class BakedAvatar:
    """A drivable avatar without a network (numpy arrays, float32 unless said)."""

    faces: np.ndarray
    """[F, 3] int32 triangles."""
    v_shaped: np.ndarray
    """[V, 3] template with the avatar's identity shape applied (metres)."""
    expr_dirs: np.ndarray
    """[V, 3, E_x] expression blend shapes."""
    pose_dirs: np.ndarray
    """[V, 3, 9(J-1)] pose correctives (FLAME layout)."""
    j_regressor: np.ndarray
    """[J, V] joints from shaped vertices."""
    parents: np.ndarray
    """[J] int32 (-1 for the root)."""
    weights: np.ndarray
    """[V, J] skinning weights."""
    face_index: np.ndarray
    """[N] int32 triangle of each Gaussian."""
    bary: np.ndarray
    """[N, 3] barycentric anchor."""
    base: np.ndarray
    """[N, C] canonical channels (order :data:`CHANNELS`)."""
    blend: np.ndarray
    """[E, N, C] per-coefficient deltas."""
    coeff_names: list[str]
    """E names: ``expr_i``, ``jaw_pose_i``, ``eyes_pose_i``."""
    sh_degree: int
    """0: colour channels are RGB in [0, 1]; else SH coefficients (DC first, per channel)."""
    info: dict[str, Any] = field(default_factory=dict)
    """How it was baked and its fidelity (goes into the bundle's card)."""

    @property
    def n(self) -> int:
        return int(self.face_index.shape[0])

    @property
    def n_expr(self) -> int:
        return int(self.expr_dirs.shape[-1])

    @property
    def color_channels(self) -> int:
        return 3 * (self.sh_degree + 1) ** 2

    def split(self, raw: Tensor) -> dict[str, Tensor]:
        """Channels [..., C] -> named groups."""
        sizes = [3, 4, 3, 1, self.color_channels]
        return dict(zip(CHANNELS, raw.split(sizes, dim=-1), strict=True))

    def save(self, path: Path) -> Path:
        """Write as one ``.npz`` (atomically)."""
        import json

        arrays = {k: getattr(self, k) for k in ARRAY_FIELDS}
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays, coeff_names=np.array(self.coeff_names),
                     sh_degree=np.array(self.sh_degree),
                     info=np.array(json.dumps(self.info)))
        return Path(path)

    @staticmethod
    def load(path: Path) -> BakedAvatar:
        import json

        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ARRAY_FIELDS}
            return BakedAvatar(**arrays, coeff_names=[str(s) for s in z["coeff_names"]],
                               sh_degree=int(z["sh_degree"]), info=json.loads(str(z["info"])))


ARRAY_FIELDS = ("faces", "v_shaped", "expr_dirs", "pose_dirs", "j_regressor", "parents",
                "weights", "face_index", "bary", "base", "blend")


def coefficient_names(like: Mapping[str, Tensor]) -> list[str]:
    """Names of the entries of :func:`expression_vector` for parameters shaped like ``like``."""
    return [f"{k}_{i}" for k in ("expr", "jaw_pose", "eyes_pose")
            for i in range(like[k].shape[-1])]


def sample_expressions(like: Mapping[str, Tensor], n: int, seed: int,
                       expr_std: float = 1.0, jaw_max: float = 0.35, eye_std: float = 0.1
                       ) -> dict[str, Tensor]:
    """n random expressions ([n, D] dicts shaped like ``like``, neutral head pose): expression
    coefficients ~ N(0, expr_std), jaw opening uniform in [0, jaw_max] rad with small sideways
    jaw motion, eye rotations ~ N(0, eye_std)."""
    g = torch.Generator().manual_seed(seed)
    out = {k: torch.zeros(n, v.shape[-1]) for k, v in like.items()}
    out["expr"] = torch.randn(n, like["expr"].shape[-1], generator=g) * expr_std
    out["jaw_pose"][:, 0] = torch.rand(n, generator=g) * jaw_max
    out["jaw_pose"][:, 1:] = torch.randn(n, 2, generator=g) * 0.03
    out["eyes_pose"] = torch.randn(n, like["eyes_pose"].shape[-1], generator=g) * eye_std
    return out


def local_channels(g: GaussianBatch, verts: Tensor, faces: Tensor, face_index: Tensor,
                   bary: Tensor) -> Tensor:
    """Placed Gaussians [B, N] -> their channels [B, N, C] in their triangles' local frames
    (the inverse of :func:`headforge.splat.gaussians.bind_to_triangles`)."""
    frames = triangle_frames(verts, faces)
    R = frames.R[:, face_index]  # [B,N,3,3]
    s = frames.scale[:, face_index].clamp_min(1e-9)  # [B,N]
    anchor = (bary[None, :, :, None] * frames.corners[:, face_index]).sum(-2)
    off = (R.transpose(-1, -2) @ (g.means - anchor)[..., None]).squeeze(-1) / s[..., None]
    q_tri = rotmat_to_quat(R)
    conj = q_tri * q_tri.new_tensor([1.0, -1.0, -1.0, -1.0])
    q_loc = quat_multiply(conj, g.quats)
    log_s = torch.log(g.scales.clamp_min(1e-12)) - torch.log(s)[..., None]
    o = g.opacities.clamp(1e-6, 1 - 1e-6)
    logit = (torch.log(o) - torch.log1p(-o))[..., None]
    col = g.colors.flatten(2) if g.colors.dim() == 4 else g.colors
    return torch.cat([off, q_loc, log_s, logit, col], dim=-1)


def _decode(avatar: Decodable, params: Mapping[str, Tensor], batch: int
            ) -> tuple[Tensor, Tensor]:
    """Decoded channels [S, N, C] and coefficients [S, E] for parameters [S, D]."""
    prior = avatar.prior
    dev = avatar.shape.device
    chans, coeffs = [], []
    s = params["expr"].shape[0]
    with torch.no_grad():
        for i in range(0, s, batch):
            p = {k: v[i:i + batch].to(dev) for k, v in params.items()}
            p = {**p, "shape": avatar.shape.view(1, -1).expand(p["expr"].shape[0], -1)}
            g = avatar.gaussians(p, keep_shape=True)
            verts = prior.pose(p)
            b = prior.binding()
            chans.append(local_channels(g, verts, prior.faces, b.face_index, b.bary).cpu())
            coeffs.append(expression_vector(p).cpu())
    return torch.cat(chans), torch.cat(coeffs)


def _align_quats(chans: Tensor, ref: Tensor) -> Tensor:
    """Flip quaternion signs [S, N, 4 at 3:7] to the hemisphere of ``ref`` [N, 4]."""
    q = chans[..., 3:7]
    sign = torch.where((q * ref).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    out = chans.clone()
    out[..., 3:7] = q * sign
    return out


def fit_blendshapes(coeffs: Tensor, chans: Tensor, ridge: float = 1e-4) -> tuple[Tensor, Tensor]:
    """Least squares ``chans ~ base + coeffs @ blend``: coeffs [S, E], chans [S, N, C] ->
    (base [N, C], blend [E, N, C]); ``ridge`` damps the deltas (not the base)."""
    s, e = coeffs.shape
    X = torch.cat([torch.ones(s, 1, dtype=torch.float64), coeffs.double()], 1)  # [S,E+1]
    Y = chans.double().reshape(s, -1)
    reg = torch.eye(e + 1, dtype=torch.float64) * ridge * s
    reg[0, 0] = 0.0
    W = torch.linalg.solve(X.T @ X + reg, X.T @ Y)  # [E+1, N*C]
    W = W.float().view(e + 1, *chans.shape[1:])
    return W[0], W[1:]


def bake(avatar: Decodable, like: Mapping[str, Tensor], samples: int = 0, seed: int = 0,
         batch: int = 8) -> BakedAvatar:
    """Bake ``avatar`` (parameters shaped like ``like``, each [1, D]).

    ``samples`` expressions (default 4 per coefficient, at least 64) are decoded and the
    blendshapes fitted to them; the fidelity is measured separately (:func:`fidelity`)."""
    t0 = time.perf_counter()
    prior = avatar.prior
    head = prior.head
    names = coefficient_names(like)
    n_s = samples or max(64, 4 * len(names))
    neutral = {k: torch.zeros(1, v.shape[-1]) for k, v in like.items()}
    ref, _ = _decode(avatar, neutral, 1)
    chans, coeffs = _decode(avatar, sample_expressions(like, n_s, seed), batch)
    chans = _align_quats(torch.cat([ref, chans]), ref[0, :, 3:7])
    coeffs = torch.cat([torch.zeros(1, coeffs.shape[1]), coeffs])
    base, blend = fit_blendshapes(coeffs, chans)
    resid = (chans - (base + torch.einsum("se,enc->snc", coeffs, blend))).abs().mean()

    n_shape = avatar.shape.numel()
    sd = head.shapedirs.detach().cpu().double()
    v_shaped = head.v_template.detach().cpu().double() + (
        sd[:, :, :n_shape] @ avatar.shape.detach().cpu().double())
    b = prior.binding()
    sh_k = chans.shape[-1] - 11
    sh_degree = int(round((sh_k // 3) ** 0.5)) - 1

    def f32(t: Tensor) -> np.ndarray:
        return t.detach().cpu().numpy().astype(np.float32)

    return BakedAvatar(
        faces=head.faces.cpu().numpy().astype(np.int32),
        v_shaped=f32(v_shaped),
        expr_dirs=f32(sd[:, :, n_shape:]),
        pose_dirs=f32(head.posedirs),
        j_regressor=f32(head.j_regressor),
        parents=head.parents.cpu().numpy().astype(np.int32),
        weights=f32(head.lbs_weights),
        face_index=b.face_index.cpu().numpy().astype(np.int32),
        bary=f32(b.bary),
        base=f32(base),
        blend=f32(blend),
        coeff_names=names,
        sh_degree=sh_degree,
        info={"version": BAKE_VERSION, "samples": n_s, "seed": seed,
              "coefficients": len(names), "gaussians": int(base.shape[0]),
              "fit_mean_abs_residual": float(resid),
              "bake_seconds": round(time.perf_counter() - t0, 3)},
    )


def _t(a: np.ndarray, dev: torch.device | str = "cpu") -> Tensor:
    return torch.from_numpy(np.asarray(a)).to(dev)


def head_vertices(baked: BakedAvatar, params: Mapping[str, Tensor]) -> Tensor:
    """Posed vertices [B, V, 3] of the baked head for FLAME-format parameters [B, D] (the
    identity shape is the baked one; ``shape`` is ignored)."""
    expr = params["expr"].float()
    b = expr.shape[0]
    dev = expr.device
    e = expr.shape[1]
    if e > baked.n_expr:
        raise ValueError(f"expr has {e} coefficients, the baked head {baked.n_expr}")
    dirs = _t(baked.expr_dirs, dev)[:, :, :e]
    pose = torch.cat([params[k].float() for k in POSE_KEYS], 1).reshape(b, -1, 3)
    res = lbs(expr, pose, _t(baked.v_shaped, dev), dirs, _t(baked.pose_dirs, dev),
              _t(baked.j_regressor, dev), _t(baked.parents, dev).long(),
              _t(baked.weights, dev))
    return res.vertices + params["translation"].float()[:, None]


def baked_gaussians(baked: BakedAvatar, params: Mapping[str, Tensor]) -> GaussianBatch:
    """Placed Gaussians [B, N] of the baked avatar for FLAME-format parameters [B, D]."""
    dev = params["expr"].device
    coeffs = expression_vector({k: v.float() for k, v in params.items()})
    e = len(baked.coeff_names)
    if coeffs.shape[1] != e:
        raise ValueError(f"the parameters give {coeffs.shape[1]} expression coefficients, the "
                         f"bake has {e} ({baked.coeff_names[0]} .. {baked.coeff_names[-1]})")
    raw = _t(baked.base, dev) + torch.einsum("be,enc->bnc", coeffs, _t(baked.blend, dev))
    ch = baked.split(raw)
    verts = head_vertices(baked, params)
    frames = triangle_frames(verts, _t(baked.faces, dev).long())
    bound = bind_to_triangles(_t(baked.face_index, dev).long(), _t(baked.bary, dev),
                              ch["offset"], ch["rotation"], ch["log_scale"], frames)
    col = ch["color"]
    if baked.sh_degree == 0:
        col = col.clamp(0.0, 1.0)
    else:
        col = col.view(*col.shape[:-1], -1, 3)
    return GaussianBatch(means=bound.means, quats=bound.quats, scales=bound.scales,
                         opacities=torch.sigmoid(ch["opacity"][..., 0]), colors=col,
                         offsets=ch["offset"], log_scales=ch["log_scale"])


def psnr(a: Tensor, b: Tensor) -> float:
    """PSNR (dB) of two images in [0, 1]."""
    mse = float(((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean())
    return float("inf") if mse == 0 else -10.0 * float(np.log10(mse))


def fidelity(avatar: Decodable, baked: BakedAvatar, like: Mapping[str, Tensor], K: Tensor,
             w2c: Tensor, res: tuple[int, int], n: int = 8, seed: int = 12345
             ) -> dict[str, Any]:
    """PSNR of baked renders against the decoder's renders on ``n`` held-out expressions
    (a seed the fit never saw), camera K [1, 3, 3], w2c [1, 4, 4], res (height, width)."""
    from headforge.prior.render import render_head

    h, w = res
    held = sample_expressions(like, n, seed)
    dev = avatar.shape.device
    scores = []
    with torch.no_grad():
        for i in range(n):
            p = {k: v[i:i + 1].to(dev) for k, v in held.items()}
            p["shape"] = avatar.shape.view(1, -1)
            ref = render_head(avatar.gaussians(p, keep_shape=True), K, w2c, w, h).rgb[0]
            got = render_head(baked_gaussians(baked, p), K, w2c, w, h).rgb[0]
            scores.append(psnr(got, ref))
    return {"psnr_mean": float(np.mean(scores)), "psnr_min": float(np.min(scores)),
            "held_out_expressions": n, "seed": seed, "resolution": [h, w],
            "psnr_per_expression": [round(s, 2) for s in scores]}
