"""Eight processes write lineage and audit entries into one registry at once (SQLite, PostgreSQL)."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

from headforge.privacy import Registry

from ._concurrency_worker import write_many

WORKERS = 8
WRITES = 15


def test_eight_spawned_writers_never_fail_and_the_chain_verifies(tmp_path: Path,
                                                                 registry_url: str) -> None:
    url = registry_url  # an empty database: the workers create the tables, all at once
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=write_many, args=(k, url, str(tmp_path), WRITES, barrier, results))
             for k in range(WORKERS)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=240) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    failures = [msg for _, msg, _ in outcomes if msg != "ok"]
    assert not failures, failures[0]
    assert sorted(k for k, _, _ in outcomes) == list(range(WORKERS))
    assert all(p.exitcode == 0 for p in procs)

    with Registry.from_url(url) as reg:
        v = reg.verify_audit()
        # per worker: subject.add + consent.grant + WRITES test entries
        assert v.ok, v.reason
        assert v.entries == WORKERS * (WRITES + 2)
        counts = reg.counts()
        assert counts["lineage"] == WORKERS * (WRITES + 3)
        assert counts["lineage_subjects"] == WORKERS * (WRITES + 3)
        assert counts["subjects"] == WORKERS
        for k in range(WORKERS):
            mine = reg.lineage_for_subject(f"w{k:03d}")
            assert len(mine) == WRITES + 3 and all(r.subject_ids == (f"w{k:03d}",) for r in mine)
        entries = reg.audit_entries()
        per_worker = {k: [e.payload["i"] for e in entries
                          if e.event == "test.write" and e.payload["worker"] == k]
                      for k in range(WORKERS)}
        # Each worker's own appends keep their order inside the single chain.
        assert all(v == list(range(WRITES)) for v in per_worker.values())
