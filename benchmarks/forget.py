"""Seconds to forget one subject among 100 small subjects (target: 30 s, retraining excluded).

Builds a real git + DVC project (the test fixture of tests/forget: ingest/track/invert,
synthetic prior + adaptation, evaluate, report; two committed versions pushed with the
run-cache to a local remote; lineage in SQLite; Prefect result files), then times
``forget_subject`` (plan + apply + verify + audit) for one subject. Prints one JSON object.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(HERE / "src"), str(HERE / "tests" / "forget")]

from forget_fixture import REGISTRY_URL, build_project  # noqa: E402

from headforge.privacy import Registry  # noqa: E402
from headforge.privacy.forget import (  # noqa: E402
    forget_subject,
    load_settings,
    plan_subject,
    resume_pending,
)
from headforge.privacy.forget.dvcstore import open_stores  # noqa: E402

N_SUBJECTS = int(os.environ.get("FORGET_BENCH_SUBJECTS", "100"))
TARGET_S = 30.0


def main() -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="forget-bench-") as tmp:
        case = Path(tmp)
        os.environ["DVC_SITE_CACHE_DIR"] = str(case / "site")
        subjects = [f"s{i:04d}" for i in range(1, N_SUBJECTS + 1)]
        t0 = time.perf_counter()
        root = build_project(case, subjects=subjects, frames=2)
        build_s = time.perf_counter() - t0
        files = sum(1 for p in root.rglob("*") if p.is_file() and ".git" not in p.parts)
        remote = sum(1 for p in (case / "remote").rglob("*") if p.is_file())
        victim = subjects[N_SUBJECTS // 2]
        with Registry.from_url(REGISTRY_URL, root=root) as reg:
            t0 = time.perf_counter()
            settings = load_settings(root, prefect_storage=[case / "prefect"])
            stores = open_stores(settings.layout, root)
            plan_only = plan_subject(settings, reg, victim, None,
                                     resume_pending(settings, reg, victim, stores,
                                                    dry_run=True), stores, create_salt=False)
            plan_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            out = forget_subject(settings, reg, victim)
            total_s = time.perf_counter() - t0
    return {
        "benchmark": "forget",
        "subjects": N_SUBJECTS,
        "files_in_project": files,
        "objects_in_remote": remote,
        "actions": len(out.plan.actions),
        "bytes_deleted": out.plan.total_bytes,
        "status": out.status,
        "verified": bool(out.verify and out.verify.ok),
        "dry_run_plan_seconds": round(plan_s, 2),
        "forget_seconds": round(total_s, 2),
        "target_seconds": TARGET_S,
        "within_target": total_s <= TARGET_S,
        "fixture_build_seconds": round(build_s, 1),
        "plan_actions_dry_run": len(plan_only.actions),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
