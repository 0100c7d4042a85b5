"""The synthetic dataset end to end: prepare, render+validate each shard, write the manifest.

The Prefect flow (``flows/synth.py``) runs :func:`render_shard` per shard as tasks; the CLI and
the benchmark use :func:`build_dataset`, which runs the same functions on a thread pool (the
threads only wait on Blender processes).
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headforge.config import HeadModelConfig, SynthConfig
from headforge.manifest import MANIFEST_NAME
from headforge.synth.jobs import write_job
from headforge.synth.manifest import write_manifest
from headforge.synth.plan import PlanContext, plan_shard, split_of
from headforge.synth.runner import ShardResult, run_shard
from headforge.synth.validate import Expected, ValidationError, validate_identity

IDENTITY_DIR = re.compile(r"^id_\d{5}$")


class SynthFailed(RuntimeError):
    """Some shards failed; the others were rendered and are in the manifest."""


@dataclass(frozen=True)
class ShardOutcome:
    """One shard after rendering and validation."""

    shard: str
    result: ShardResult
    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.result.ok and not self.errors


@dataclass(frozen=True)
class DatasetSummary:
    """What a dataset build produced."""

    images: int
    identities: int
    shards: int
    failed: dict[str, str]
    manifest: str
    manifest_sha256: str
    seconds: float
    startup_seconds: list[float]

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else 0.0


def prepare(cfg: SynthConfig, root: Path, out_dir: Path | None = None,
            work_dir: Path | None = None, held_out: int = 0,
            head_model: HeadModelConfig | None = None) -> PlanContext:
    """Load the head model and build the rig/UV atlas shared by all shards.

    Outputs go to ``out_dir`` (default ``<root>/data/synth``); jobs, logs and staging to
    ``work_dir`` (default ``<root>/data/.synth_work``, same file system, outside the output).
    """
    from headforge.morphable import PART_NAMES, load_head_model

    model = load_head_model(head_model or HeadModelConfig())
    model.eval()
    return PlanContext.create(cfg, model, tuple(PART_NAMES), out_dir or root / "data" / "synth",
                              work_dir or root / "data" / ".synth_work", held_out)


def _expected(ctx: PlanContext, index: int, ident_id: str, expressions: list[str]) -> Expected:
    cfg = ctx.cfg
    return Expected(
        id=ident_id, expressions=expressions,
        cameras=[{"name": c.name, "K": c.K, "w2c": c.w2c} for c in ctx.cameras],
        width=cfg.width, height=cfg.height, model_id=ctx.model.model_id,
        split=split_of(index, cfg.identities, ctx.held_out),
    )


def write_shard_job(ctx: PlanContext, s: int) -> tuple[Path, list[tuple[int, str, list[str]]]]:
    """Plan shard ``s`` and write its job; returns the job path and (index, id, expressions)."""
    job = plan_shard(ctx, s)
    path = write_job(job, ctx.jobs_dir)
    members = [(i, ident.id, ident.expressions)
               for i, ident in zip(ctx.shard_indices(s), job.identities, strict=True)]
    return path, members


def render_shard(ctx: PlanContext, s: int, root: Path) -> ShardOutcome:
    """Plan, render (own process) and validate shard ``s``."""
    job_path, members = write_shard_job(ctx, s)
    result = run_shard(job_path, ctx.cfg.shard_timeout_s, log_dir=ctx.work_dir / "logs")
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    for index, ident_id, expressions in members:
        if ident_id not in result.identities:
            continue
        try:
            rows += validate_identity(ctx.out_dir / ident_id,
                                      _expected(ctx, index, ident_id, expressions), root)
        except ValidationError as e:
            errors.append(str(e))
            shutil.rmtree(ctx.out_dir / ident_id, ignore_errors=True)
    if result.ok and not errors:
        job_path.unlink(missing_ok=True)
        job_path.with_suffix(".npz").unlink(missing_ok=True)
    return ShardOutcome(ctx.shard_name(s), result, rows, errors)


def finish(ctx: PlanContext, outcomes: list[ShardOutcome], seconds: float) -> DatasetSummary:
    """Remove identity folders the plan does not have, write the manifest, summarise."""
    planned = {ident for s in range(ctx.n_shards) for ident in
               (f"id_{i:05d}" for i in ctx.shard_indices(s))}
    if ctx.out_dir.is_dir():
        for p in ctx.out_dir.iterdir():
            if p.is_dir() and IDENTITY_DIR.match(p.name) and p.name not in planned:
                shutil.rmtree(p)
    rows = [r for o in outcomes for r in o.rows]
    path = ctx.out_dir / MANIFEST_NAME
    digest = write_manifest(rows, path)
    failed = {o.shard: "; ".join([o.result.error] * (not o.result.ok) + o.errors)
              for o in outcomes if not o.ok}
    if not failed:
        shutil.rmtree(ctx.work_dir, ignore_errors=True)
    startups = [o.result.startup_seconds for o in outcomes if o.result.startup_seconds]
    return DatasetSummary(
        images=len(rows), identities=len({r["subject"] for r in rows}), shards=len(outcomes),
        failed=failed, manifest=str(path), manifest_sha256=digest, seconds=seconds,
        startup_seconds=[float(x) for x in startups],
    )


ShardCallback = Callable[[ShardOutcome, int, int], None]
"""Called as each shard finishes: (outcome, shards finished so far, shards in all)."""


def build_dataset(cfg: SynthConfig, root: Path, out_dir: Path | None = None,
                  work_dir: Path | None = None, held_out: int = 0,
                  head_model: HeadModelConfig | None = None,
                  raise_on_failure: bool = True,
                  on_shard: ShardCallback | None = None) -> DatasetSummary:
    """Render the whole dataset with ``cfg.max_workers`` Blender processes at once."""
    ctx = prepare(cfg, root, out_dir, work_dir, held_out, head_model)
    shutil.rmtree(ctx.staging_dir, ignore_errors=True)
    t0 = time.perf_counter()
    done: dict[int, ShardOutcome] = {}
    with ThreadPoolExecutor(max_workers=cfg.max_workers) as pool:
        futures = {pool.submit(render_shard, ctx, s, root): s for s in range(ctx.n_shards)}
        for fut in as_completed(futures):
            done[futures[fut]] = fut.result()
            if on_shard is not None:
                on_shard(done[futures[fut]], len(done), ctx.n_shards)
    outcomes = [done[s] for s in range(ctx.n_shards)]
    summary = finish(ctx, outcomes, time.perf_counter() - t0)
    if raise_on_failure:
        raise_if_failed(summary)
    return summary


def raise_if_failed(summary: DatasetSummary) -> None:
    """:class:`SynthFailed` naming every failed shard and why (the others were kept)."""
    if summary.failed:
        lines = "\n".join(f"  {k}: {v}" for k, v in sorted(summary.failed.items()))
        raise SynthFailed(f"{len(summary.failed)} of {summary.shards} shards failed (the others "
                          f"are in {summary.manifest}):\n{lines}")
