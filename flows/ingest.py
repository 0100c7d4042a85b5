"""DVC stage ``ingest``: consent-checked captures from ``inbox/`` into ``data/captures/``.

Every subject is staged by its own task (consent, validation, crops, masks); the successful
ones are then committed together (atomic folder swaps, one manifest rewrite, lineage). By
default one failed subject fails the run and nothing is committed; ``skip_failed`` commits the
others and reports the failures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger

from flows._runners import settle
from flows.server import shared_server
from headforge.ingest import StagedSubject
from headforge.paths import project_root
from headforge.timing import stage_timer
from tasks.ingest import commit, discard, find_subjects, load_config, stage


@flow(name="ingest")
def ingest(
    subjects: list[str] | None = None, root: Path | None = None, skip_failed: bool = False
) -> dict[str, Any]:
    """Ingest ``subjects`` (default: every inbox folder); returns a JSON-able summary."""
    base = root or project_root()
    log = get_run_logger()
    with stage_timer("ingest", base):
        cfg = load_config(base)
        todo = subjects or find_subjects(cfg, base)
        staged: list[StagedSubject] = []
        failed: dict[str, str] = {}
        step = max(1, cfg.max_workers)
        for i in range(0, len(todo), step):
            done, bad = settle([(s, stage.submit(s, cfg, base)) for s in todo[i : i + step]], log)
            staged += done
            failed.update(bad)
        if failed and not skip_failed:
            for st in staged:
                discard(st)
            raise RuntimeError(
                f"ingest failed for {sorted(failed)}; nothing was committed: "
                + "; ".join(f"{k}: {v}" for k, v in sorted(failed.items()))
            )
        res = commit(staged, base)  # with no subject: (re)writes the manifest as it was
    summary = {
        "subjects": res.subjects, "rows": res.rows, "manifest_sha256": res.manifest_sha256,
        "failed": failed,
    }
    log.info("ingest: %d subject(s), %d row(s), %d failed", len(res.subjects), res.rows,
             len(failed))  # counts only: Prefect keeps log lines, forget cannot edit them
    return summary


if __name__ == "__main__":
    with shared_server():  # PREFECT_API_URL, else the project's shared server
        ingest()
