"""Prefect tasks of the ``ingest`` stage: thin wrappers over :mod:`headforge.ingest`."""

from __future__ import annotations

from pathlib import Path

from prefect import task

from headforge.config import IngestConfig, load_section, read_params
from headforge.ingest import (
    CommitResult,
    StagedSubject,
    commit_subjects,
    discard_staged,
    list_subjects,
    stage_subject,
)
from headforge.privacy import Registry
from tasks._retry import retry_on_io


@task(name="load-ingest-config")
def load_config(root: Path) -> IngestConfig:
    """The ``ingest`` section of ``root``'s params.yaml."""
    return load_section(IngestConfig, "ingest", params=read_params(root / "params.yaml"))


@task(name="find-subjects")
def find_subjects(cfg: IngestConfig, root: Path) -> list[str]:
    """Subject folders waiting in the inbox."""
    return list_subjects(cfg, root)


@task(name="stage-subject", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io)
def stage(subject: str, cfg: IngestConfig, root: Path) -> StagedSubject:
    """Check consent, validate and normalise one subject's capture into staging."""
    with Registry.from_config(root) as reg:
        return stage_subject(subject, cfg, reg, root)


@task(name="discard-staged")
def discard(staged: StagedSubject) -> None:
    """Drop a staged output that will not be committed."""
    discard_staged(staged.staging)


@task(name="commit-subjects", retries=2, retry_delay_seconds=2, retry_condition_fn=retry_on_io)
def commit(staged: list[StagedSubject], root: Path) -> CommitResult:
    """Move staged outputs into data/captures, rewrite the manifest, record lineage."""
    with Registry.from_config(root) as reg:
        return commit_subjects(staged, reg, root)
