"""Prefect tasks of the ``track`` stage: thin wrappers over :mod:`headforge.track.stage`."""

from __future__ import annotations

from pathlib import Path

import torch
from prefect import task

from headforge.config import HeadModelConfig, TrackConfig, load_section, read_params
from headforge.privacy import Registry
from headforge.track.scene import View
from headforge.track.stage import SubjectOutcome, read_subjects, run_subject, write_summary
from tasks._retry import retry_on_io


@task(name="load-track-config")
def load_config(root: Path) -> tuple[TrackConfig, HeadModelConfig]:
    """The ``track`` and ``head_model`` sections of ``root``'s params.yaml."""
    params = read_params(root / "params.yaml")
    return (
        load_section(TrackConfig, "track", params=params),
        load_section(HeadModelConfig, "head_model", params=params),
    )


@task(name="read-captures", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io)
def read_captures(root: Path) -> dict[str, list[View]]:
    """subject -> views from ``data/captures/manifest.parquet``."""
    return read_subjects(root / "data" / "captures" / "manifest.parquet", root)


@task(name="track-subject", retries=1, retry_delay_seconds=2, retry_condition_fn=retry_on_io)
def track_one(
    subject: str,
    views: list[View],
    cfg: TrackConfig,
    head_cfg: HeadModelConfig,
    root: Path,
    threads: int = 1,
) -> SubjectOutcome:
    """Consent-checked tracking of one subject, with lineage records.

    Sets torch's intra-op threads to ``threads`` in whatever process runs it (a thread of the
    flow, or a Dask worker), so every runner computes with the same thread count and writes
    the same bytes.
    """
    torch.set_num_threads(max(1, threads))
    with Registry.from_config(root) as reg:
        return run_subject(subject, views, cfg, head_cfg, root, reg)


@task(name="write-track-summary")
def summarise(outcomes: list[SubjectOutcome], failed: dict[str, str], root: Path) -> Path:
    """``results/metrics/track.json``."""
    return write_summary(root / "results" / "metrics" / "track.json", outcomes, failed)
