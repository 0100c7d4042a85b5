"""Prefect tasks of the ``forget`` and ``retention`` flows.

Every task is uncached and keeps its result in memory only (``persist_result=False``): a plan
names the subject's files, and Prefect's result storage is one of the places forget must clean,
not fill. Logs carry counts and the salted subject digest, never the id or paths.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from headforge.privacy import Registry
from headforge.privacy.forget import (
    ApplyResult,
    ForgetPlan,
    ForgetSettings,
    Resume,
    RetentionDue,
    VerifyResult,
    apply_subject,
    due_for_retention,
    finish,
    forget_subject,
    load_settings,
    open_stores,
    plan_subject,
    resume_pending,
    retrain_stages,
    verify_forgotten,
)
from headforge.privacy.forget.markers import pseudonym_pattern
from headforge.privacy.forget.prefect_runs import redact_current, redact_value
from headforge.privacy.records import AuditEntry

_OPTS: dict[str, Any] = {"cache_policy": NO_CACHE, "persist_result": False}
PAGE = 200


def _local_sqlite_without_concat() -> bool:
    """True when the Prefect API is served on this machine from SQLite older than 3.44: its
    log search calls ``concat()``, which that SQLite lacks (the server would answer 500)."""
    import sqlite3
    from urllib.parse import urlparse

    from prefect.settings import get_current_settings

    settings = get_current_settings()
    url = settings.api.url
    if url and urlparse(url).hostname not in {"127.0.0.1", "localhost", "::1"}:
        return False  # a remote server: its database is unknown here, try its search
    db = settings.server.database.connection_url
    db_url = db.get_secret_value() if db is not None else ""
    return db_url.startswith("sqlite") and sqlite3.sqlite_version_info < (3, 44)


class PrefectFlowRuns:
    """:class:`headforge.privacy.forget.prefect_runs.FlowRunCatalog` over the configured Prefect API.

    The API is the one this process talks to (``PREFECT_API_URL``, or the temporary server
    Prefect starts for a flow run without one); each call opens a short-lived sync client.
    """

    def __init__(self, max_logs: int = 1_000_000) -> None:
        self.max_logs = max_logs
        self.search = not _local_sqlite_without_concat()
        """False once the server's log search failed, or when it is known to fail (then every
        line is read and filtered here)."""

    def current_run(self) -> str | None:
        from prefect.runtime import flow_run

        rid = flow_run.id
        return str(rid) if rid else None

    def iter_runs(self) -> Iterator[tuple[str, bytes]]:
        """Name, parameters, tags and state message of every flow run, as JSON."""
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            offset = 0
            while True:
                page = client.read_flow_runs(limit=PAGE, offset=offset)
                for r in page:
                    blob = json.dumps({"name": r.name, "parameters": r.parameters,
                                       "tags": list(r.tags),
                                       "state": r.state.message if r.state else None},
                                      default=str, sort_keys=True)
                    yield str(r.id), blob.encode()
                if len(page) < PAGE:
                    return
                offset += PAGE

    def iter_logs(self, text: str) -> Iterator[tuple[str | None, bytes]]:
        """Log lines containing ``text``: Prefect's server-side search where it works (it
        fails on SQLite builds without ``concat()``), else every line, filtered here."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.filters import LogFilter, LogFilterTextSearch
        from prefect.exceptions import PrefectHTTPStatusError

        query = LogFilter(text=LogFilterTextSearch(query=f'"{text}"')) if self.search else None
        needle = text.lower().encode()
        with get_client(sync_client=True) as client:
            offset = 0
            while offset < self.max_logs:
                try:
                    page = client.read_logs(log_filter=query, limit=PAGE, offset=offset)
                except PrefectHTTPStatusError:
                    if query is None or offset:
                        raise
                    query, self.search = None, False  # unsupported by its database: scan all
                    continue
                for log in page:
                    msg = log.message.encode()
                    if needle in msg.lower():
                        yield (str(log.flow_run_id) if log.flow_run_id else None), msg
                if len(page) < PAGE:
                    return
                offset += PAGE

    def delete_run(self, run_id: str) -> None:
        from prefect.client.orchestration import get_client
        from prefect.exceptions import ObjectNotFound

        with get_client(sync_client=True) as client:
            try:
                client.delete_flow_run(UUID(run_id))
            except ObjectNotFound:  # deleted by an earlier (interrupted) run
                pass

    def redact_run(self, run_id: str, pattern: re.Pattern[bytes]) -> None:
        from prefect.client.orchestration import get_client

        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(run_id))
            client.update_flow_run(UUID(run_id),
                                   parameters=redact_value(dict(run.parameters), pattern),
                                   tags=redact_value(list(run.tags), pattern))


def prefect_storage_dirs(root: Path) -> list[Path]:
    """This process's Prefect result storage plus the usual defaults."""
    from prefect.settings import get_current_settings

    from headforge.privacy.forget.settings import default_prefect_storage

    current = Path(get_current_settings().results.local_storage_path).expanduser()
    return [current, *[p for p in default_prefect_storage(root) if p != current]]


@task(name="forget-load-settings", **_OPTS)
def load_forget_settings(root: str) -> ForgetSettings:
    """params.yaml ``retention`` section, DVC's cache/remotes, Prefect storage and API."""
    base = Path(root)
    return load_settings(base, prefect_storage=prefect_storage_dirs(base),
                         flow_runs=PrefectFlowRuns())


@task(name="forget-resume", **_OPTS)
def resume(settings: ForgetSettings, subject: str, dry_run: bool) -> Resume:
    """Finish an interrupted run of the same subject first (its journal)."""
    with Registry.from_config(settings.root) as reg:
        res = resume_pending(settings, reg, subject, open_stores(settings.layout, settings.root),
                             dry_run=dry_run)
    if res.applied is not None:
        get_run_logger().info("finished an interrupted run: %d action(s) done, %d skipped",
                              res.applied.done, res.applied.skipped)
    return res


@task(name="forget-plan", **_OPTS)
def plan(settings: ForgetSettings, subject: str, scope: str | None, prior: Resume,
         dry_run: bool) -> ForgetPlan:
    """Find every copy: lineage, workspace scan, DVC history/cache/remotes, Prefect storage."""
    with Registry.from_config(settings.root) as reg:
        p = plan_subject(settings, reg, subject, scope, prior,
                         open_stores(settings.layout, settings.root), create_salt=not dry_run)
    get_run_logger().info("plan for subject %s: %s", p.digest[:12], p.counts())
    return p


@task(name="forget-apply", retries=2, retry_delay_seconds=10, **_OPTS)
def apply(settings: ForgetSettings, p: ForgetPlan, prior: Resume) -> ApplyResult:
    """Delete/rewrite everything in the plan (idempotent: a retry resumes the journal)."""
    with Registry.from_config(settings.root) as reg:
        res = apply_subject(settings, reg, p, prior, open_stores(settings.layout, settings.root))
    get_run_logger().info("applied %d action(s), %d failed, %d bytes freed", res.done,
                          len(res.failed), res.bytes_freed)
    return res


@task(name="forget-retrain", **_OPTS)
def retrain(settings: ForgetSettings, stages: list[str]) -> list[str]:
    """``dvc repro`` the model stages trained on the subject (when configured)."""
    retrain_stages(settings, stages)
    return stages


@task(name="forget-redact-own-run", **_OPTS)
def redact_own_run(settings: ForgetSettings, p: ForgetPlan) -> bool:
    """Replace the pseudonym in this flow run's own parameters (a run cannot delete itself)."""
    if settings.flow_runs is None or p.scope not in (None, "capture"):
        return False
    with Registry.from_config(settings.root) as reg:
        others = [s.id for s in reg.subjects() if s.id != p.subject]
    return redact_current(settings.flow_runs, pseudonym_pattern(p.subject, others))


@task(name="forget-verify", **_OPTS)
def verify(settings: ForgetSettings, p: ForgetPlan) -> VerifyResult:
    """Scan every store again for the subject's hashes and pseudonym: must find nothing."""
    with Registry.from_config(settings.root) as reg:
        res = verify_forgotten(settings, reg, p, open_stores(settings.layout, settings.root))
    get_run_logger().info("verify: %s", res.summary())
    return res


@task(name="forget-audit", **_OPTS)
def audit(settings: ForgetSettings, p: ForgetPlan, applied: ApplyResult, verified: VerifyResult,
          trigger: str) -> AuditEntry:
    """Hash-chained audit entry (counts and hashes only); closes the journal."""
    with Registry.from_config(settings.root) as reg:
        return finish(settings, reg, p, applied, verified, trigger)


@task(name="retention-due", **_OPTS)
def find_due(settings: ForgetSettings, now: datetime | None) -> list[RetentionDue]:
    """Subjects (or scopes) whose consent ended: what the sweep forgets."""
    with Registry.from_config(settings.root) as reg:
        due = due_for_retention(settings, reg, now)
    get_run_logger().info("%d forget(s) due", len(due))
    return due


@task(name="retention-forget", **_OPTS)
def forget_due(settings: ForgetSettings, due: RetentionDue) -> dict[str, Any]:
    """Forget one due subject/scope without asking (the retention policy is the approval)."""
    with Registry.from_config(settings.root) as reg:
        out = forget_subject(settings, reg, due.subject, scope=due.scope, trigger="retention",
                             retrain=(lambda st: retrain_stages(settings, st))
                             if settings.config.retrain_after_forget else None)
    summary = out.summary()
    get_run_logger().info("retention forget %s: %s", out.plan.digest[:12], out.status)
    return summary
