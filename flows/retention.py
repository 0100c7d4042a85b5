"""Flow ``retention``: forget every subject (or consent scope) whose consent has ended.

Scheduled daily by ``flows.deploy`` (``retention.schedule`` in params.yaml). A consent ends when
withdrawn, when it expires, or - without an end of its own - after ``retention.scope_days``
(default ``derived_days``) days; see :mod:`headforge.privacy.forget.retention`.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows.server import shared_server
from headforge.paths import project_root
from headforge.privacy.forget.settings import audit_salt, subject_digest
from tasks import forget as t


@flow(name="retention", persist_result=False)
def retention(root: str | None = None, now: str | None = None) -> list[dict[str, Any]]:
    """Run a forget for each due subject/scope; ``now`` (ISO-8601 with zone) for replays."""
    base = str(Path(root) if root else project_root())
    when = datetime.fromisoformat(now) if now else None
    settings = t.load_forget_settings(base)
    due = t.find_due(settings, when)
    results: list[dict[str, Any]] = []
    for d in due:  # one failing forget does not stop the others
        state = t.forget_due(settings, d, return_state=True)
        if state.is_completed():
            results.append(state.result())
        else:
            digest = subject_digest(d.subject, audit_salt(settings.journal_dir, create=True))
            results.append({"status": "error", "subject_sha256": digest,
                            "error": "see the retention-forget task run"})
    failed = [r for r in results if r["status"] not in ("forgotten", "nothing-to-do")]
    get_run_logger().info("retention: %d forgotten, %d incomplete", len(results) - len(failed),
                          len(failed))
    if failed:
        raise RuntimeError(f"retention: {len(failed)} forget(s) incomplete "
                           f"({[r['subject_sha256'][:12] for r in failed]}); see their audit "
                           "entries (forget.incomplete) and rerun")
    return results


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        out = retention(now=sys.argv[1] if len(sys.argv) > 1 else None)
    print(f"retention: {len(out)} forget(s)")
