"""Planning: turn a ``SynthConfig`` into shard jobs (identities posed, textures painted).

    ctx = PlanContext.create(cfg, model, out_dir, work_dir)
    for s in range(ctx.n_shards):
        job_path = write_job(plan_shard(ctx, s), ctx.jobs_dir)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from headforge.config import SynthConfig
from headforge.synth.identity import IdentitySpec, materials, sample_identity
from headforge.synth.jobs import IdentityJob, ShardJob
from headforge.synth.rig import RigCamera, RigSpec, build_rig, select_cameras
from headforge.synth.texture import UVAtlas, albedo_texture, uv_atlas


class HeadModel(Protocol):
    """What planning needs from a FLAME-format head model (``headforge.morphable``)."""

    model_id: str
    expression_names: tuple[str, ...]

    @property
    def n_shape(self) -> int: ...
    @property
    def n_expr(self) -> int: ...
    @property
    def faces(self) -> torch.Tensor: ...  # [F, 3]
    @property
    def uvs(self) -> torch.Tensor | None: ...  # [T, 2]
    @property
    def uv_faces(self) -> torch.Tensor | None: ...  # [F, 3]
    @property
    def part_labels(self) -> torch.Tensor: ...  # [V]
    @property
    def v_template(self) -> torch.Tensor: ...  # [V, 3]

    def __call__(self, *args: Any, **params: Any) -> Any: ...


class PlanError(ValueError):
    """The configuration or head model cannot produce a dataset; the message names the fix."""


def check_config(cfg: SynthConfig) -> None:
    """Raise :class:`PlanError` for values no render could use."""
    problems = []
    for name in ("identities", "expressions", "cameras", "width", "height", "samples",
                 "identities_per_shard", "max_workers"):
        if getattr(cfg, name) < 1:
            problems.append(f"synth.{name}={getattr(cfg, name)} must be at least 1")
    if cfg.cameras > 28:
        problems.append(f"synth.cameras={cfg.cameras}: the rig has 28 cameras")
    if cfg.threads_per_worker < 0:
        problems.append("synth.threads_per_worker must be 0 (auto) or positive")
    if problems:
        raise PlanError("; ".join(problems))


def worker_threads(cfg: SynthConfig) -> int:
    """Cycles threads per render process."""
    if cfg.threads_per_worker > 0:
        return cfg.threads_per_worker
    return max(1, (os.cpu_count() or 1) // cfg.max_workers)


def split_of(index: int, n_identities: int, held_out: int) -> str:
    """``test`` for the last ``held_out`` identities (never seen by the prior), else ``train``."""
    return "test" if index >= n_identities - max(held_out, 0) else "train"


@dataclass(frozen=True)
class PlanContext:
    """Everything shared by the shards of one dataset."""

    cfg: SynthConfig
    model: HeadModel
    part_names: tuple[str, ...]
    cameras: list[RigCamera]
    atlas: UVAtlas
    out_dir: Path
    work_dir: Path
    held_out: int = 0
    """The last ``held_out`` identities get split ``test``."""

    @classmethod
    def create(cls, cfg: SynthConfig, model: HeadModel, part_names: tuple[str, ...],
               out_dir: Path, work_dir: Path, held_out: int = 0) -> PlanContext:
        check_config(cfg)
        if model.uvs is None or model.uv_faces is None:
            raise PlanError(f"head model {model.model_id} has no UVs (vt/ft): the synthetic "
                            "textures need them; use head_model.source: builtin or a FLAME "
                            "file with a UV layout")
        rig = build_rig(RigSpec(cfg.width, cfg.height, cfg.fov_deg, cfg.camera_distance),
                        cfg.seed + 1000 * cfg.version)
        atlas = uv_atlas(model.v_template.detach().cpu().numpy(), model.faces.cpu().numpy(),
                         model.uvs.cpu().numpy(), model.uv_faces.cpu().numpy(),
                         model.part_labels.cpu().numpy(), part_names, cfg.texture_size)
        return cls(cfg, model, part_names, select_cameras(rig, cfg.cameras), atlas,
                   Path(out_dir), Path(work_dir), held_out)

    @property
    def n_shards(self) -> int:
        return -(-self.cfg.identities // self.cfg.identities_per_shard)

    @property
    def jobs_dir(self) -> Path:
        return self.work_dir / "jobs"

    @property
    def staging_dir(self) -> Path:
        return self.work_dir / "staging"

    def shard_name(self, s: int) -> str:
        return f"shard_{s:04d}"

    def shard_indices(self, s: int) -> list[int]:
        """Identity indices of shard ``s``."""
        if not 0 <= s < self.n_shards:
            raise IndexError(f"shard {s} outside [0, {self.n_shards})")
        per = self.cfg.identities_per_shard
        return list(range(s * per, min((s + 1) * per, self.cfg.identities)))

    def identity(self, index: int) -> IdentitySpec:
        m = self.model
        return sample_identity(index, self.cfg.seed, self.cfg.version, m.n_shape, m.n_expr,
                               self.cfg.expressions, tuple(m.expression_names))


def pose_identity(model: HeadModel, spec: IdentitySpec) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Posed head per expression [E, V, 3] and the FLAME parameters used (shape [n_shape],
    the other keys [E, d])."""
    e = len(spec.expressions)
    dtype = model.v_template.dtype
    device = model.v_template.device

    def t(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=device)

    params = {
        "shape": np.asarray(spec.shape, dtype=np.float64),
        "expr": np.stack([x.expr for x in spec.expressions]),
        "rotation": np.zeros((e, 3)),
        "neck_pose": np.zeros((e, 3)),
        "jaw_pose": np.stack([x.jaw_pose for x in spec.expressions]),
        "eyes_pose": np.stack([x.eyes_pose for x in spec.expressions]),
        "translation": np.zeros((e, 3)),
    }
    with torch.no_grad():
        out = model(shape=t(np.repeat(params["shape"][None], e, 0)),
                    **{k: t(v) for k, v in params.items() if k != "shape"})
    verts = out.vertices.detach().cpu().numpy().astype(np.float32)
    if not np.isfinite(verts).all():
        raise PlanError(f"{spec.id}: the head model returned NaN/inf vertices")
    return verts, params


def plan_shard(ctx: PlanContext, s: int) -> ShardJob:
    """Sample, pose and texture the identities of shard ``s``."""
    idents = []
    for index in ctx.shard_indices(s):
        spec = ctx.identity(index)
        verts, params = pose_identity(ctx.model, spec)
        idents.append(IdentityJob(
            id=spec.id, seed=spec.seed % (2**31), expressions=[x.name for x in spec.expressions],
            vertices=verts, albedo=albedo_texture(ctx.atlas, spec.skin), params=params,
            hair=spec.hair, beard=spec.beard, lighting=spec.lighting,
            materials=materials(spec), tags=spec.tags,
        ))
    cfg, m = ctx.cfg, ctx.model
    return ShardJob(
        shard=ctx.shard_name(s), out_dir=ctx.out_dir.resolve(),
        staging_dir=(ctx.staging_dir / ctx.shard_name(s)).resolve(), width=cfg.width,
        height=cfg.height, samples=cfg.samples, threads=worker_threads(cfg), model_id=m.model_id,
        part_names=ctx.part_names, faces=m.faces.cpu().numpy(), uvs=m.uvs.cpu().numpy(),  # type: ignore[union-attr]
        uv_faces=m.uv_faces.cpu().numpy(), part_labels=m.part_labels.cpu().numpy(),  # type: ignore[union-attr]
        cameras=[{"name": c.name, "K": c.K.tolist(), "w2c": c.w2c.tolist()} for c in ctx.cameras],
        identities=idents,
    )
