"""Where a deletion looks: workspace folders, DVC stores, Prefect result storage, journals."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import secrets
from pathlib import Path

import yaml

from headforge.config import RetentionConfig
from headforge.privacy.forget.dvcstore import DvcLayout, probe_layout
from headforge.privacy.forget.prefect_runs import FlowRunCatalog


def default_prefect_storage(root: Path) -> list[Path]:
    """Prefect's local result storage folders that may hold this project's task results.

    ``$PREFECT_RESULTS_LOCAL_STORAGE_PATH`` / ``$PREFECT_LOCAL_STORAGE_PATH`` when set, else
    ``$PREFECT_HOME/storage``; plus ``<root>/.prefect/storage`` (the Makefile's PREFECT_HOME) and
    ``~/.prefect/storage`` (Prefect's default home).
    """
    found: list[Path] = []
    for var in ("PREFECT_RESULTS_LOCAL_STORAGE_PATH", "PREFECT_LOCAL_STORAGE_PATH"):
        if os.environ.get(var):
            found.append(Path(os.environ[var]).expanduser())
    home = os.environ.get("PREFECT_HOME")
    if home:
        found.append(Path(home).expanduser() / "storage")
    found += [root / ".prefect" / "storage", Path("~/.prefect/storage").expanduser()]
    out: list[Path] = []
    for p in found:
        if p.resolve() not in [q.resolve() for q in out]:
            out.append(p)
    return out


@dataclasses.dataclass(frozen=True)
class ForgetSettings:
    """Resolved locations and policy for one project."""

    root: Path
    config: RetentionConfig
    layout: DvcLayout
    prefect_storage: tuple[Path, ...]
    stage_outs: dict[str, str]
    """DVC output path -> the stage that writes it (from dvc.yaml)."""
    flow_runs: FlowRunCatalog | None = None
    """Prefect's API database (flow runs and logs); None: not checked (no API configured)."""

    @property
    def journal_dir(self) -> Path:
        return self.root / self.config.journal_dir

    @property
    def max_scan_bytes(self) -> int:
        return self.config.max_scan_mb << 20

    def excluded(self) -> list[Path]:
        """Folders no workspace scan enters: journals, registry, DVC stores, git, venv."""
        ex = [self.journal_dir, self.root / ".git", self.root / ".dvc", self.root / ".venv"]
        if self.layout.cache_dir:
            ex.append(self.layout.cache_dir)
        for opts in self.layout.remotes.values():
            url = opts.get("url", "")
            if "://" not in url:
                ex.append(Path(url))
        return [p.resolve() for p in ex]

    def stage_of(self, rel: str) -> str | None:
        """The stage whose DVC output holds ``rel`` (None when no stage writes it)."""
        best: tuple[int, str] | None = None
        for out, stage in self.stage_outs.items():
            if rel == out or rel.startswith(out.rstrip("/") + "/"):
                if best is None or len(out) > best[0]:
                    best = (len(out), stage)
        if best:
            return best[1]
        parts = rel.split("/")
        return parts[1] if len(parts) > 2 and parts[0] in ("results", "data") else None


def read_stage_outs(root: Path) -> dict[str, str]:
    """Output path -> stage name of every stage in ``dvc.yaml`` (``foreach`` stages skipped)."""
    f = root / "dvc.yaml"
    if not f.is_file():
        return {}
    doc = yaml.safe_load(f.read_text()) or {}
    out: dict[str, str] = {}
    for name, stage in (doc.get("stages") or {}).items():
        if not isinstance(stage, dict):
            continue
        for o in (stage.get("outs") or []) + (stage.get("metrics") or []) + (
                stage.get("plots") or []):
            path = next(iter(o)) if isinstance(o, dict) else o
            if isinstance(path, str):
                out[path.rstrip("/")] = str(name)
    return out


def load_settings(root: Path, config: RetentionConfig | None = None,
                  prefect_storage: list[Path] | None = None,
                  layout: DvcLayout | None = None,
                  flow_runs: FlowRunCatalog | None = None) -> ForgetSettings:
    """Settings of the project at ``root`` (params.yaml ``retention`` section, DVC's config);
    ``flow_runs`` is the Prefect API to clean (the Prefect tasks pass the configured one)."""
    root = root.resolve()
    if config is None:
        from headforge.context import Context

        config = (Context.load(root).params.retention if (root / "params.yaml").is_file()
                  else RetentionConfig())
    storage = default_prefect_storage(root) if prefect_storage is None else prefect_storage
    return ForgetSettings(root=root, config=config,
                          layout=layout if layout is not None else probe_layout(root),
                          prefect_storage=tuple(Path(p) for p in storage),
                          stage_outs=read_stage_outs(root), flow_runs=flow_runs)


def audit_salt(journal_dir: Path, create: bool) -> bytes:
    """The project's secret salt for subject digests (made on first use, mode 0600).

    With ``create=False`` and no salt yet (a dry run on a fresh project) a throw-away salt is
    returned so that nothing is written.
    """
    f = journal_dir / "salt"
    if f.is_file():
        return bytes.fromhex(f.read_text().strip())
    salt = secrets.token_bytes(32)
    if create:
        journal_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(salt.hex())
    return salt


def subject_digest(subject: str, salt: bytes) -> str:
    """Salted SHA-256 of a subject id: recognisable by whoever holds the salt, by no one else."""
    return hashlib.sha256(salt + subject.encode()).hexdigest()
