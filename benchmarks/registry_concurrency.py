"""Throughput of the consent registry under parallel writers (lineage + audit appends).

    .venv/bin/python benchmarks/registry_concurrency.py [--workers 8] [--writes 200] [--url URL]

Without ``--url`` a fresh SQLite file in a temporary folder is used. Each worker process
(spawned) writes ``--writes`` lineage records and as many audit entries, one transaction each;
the chain is verified afterwards. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from headforge.privacy import Registry  # noqa: E402
from headforge.privacy import db as registry_db  # noqa: E402


def _worker(k: int, url: str, root: str, n: int, barrier: Any, out: Any) -> None:
    reg = Registry.from_url(url, root=Path(root))
    subject = f"b{k:03d}"
    reg.add_subject(subject)
    lat: list[float] = []
    failures = 0
    barrier.wait()
    for i in range(n):
        t = time.perf_counter()
        try:
            reg.record_lineage(f"results/bench/{subject}/{i}.bin", f"{k:08x}{i:056x}", "bench",
                               [subject])
            reg.audit("bench.write", {"worker": k, "i": i})
        except Exception as e:  # counted and reported, never hidden
            failures += 1
            print(f"worker {k}: {e}", file=sys.stderr)
        lat.append(time.perf_counter() - t)
    reg.close()
    out.put((lat, registry_db.RETRIES["count"], failures))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--writes", type=int, default=200, help="lineage+audit pairs per worker")
    ap.add_argument("--url", default="", help="SQLAlchemy URL of an EMPTY database")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="hf-registry-bench-")
    url = args.url or f"sqlite:///{tmp}/registry.sqlite"
    Registry.from_url(url, root=Path(tmp)).close()  # create tables before timing

    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(args.workers + 1), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(k, url, tmp, args.writes, barrier, out))
             for k in range(args.workers)]
    for p in procs:
        p.start()
    barrier.wait()
    t0 = time.perf_counter()
    results = [out.get() for _ in procs]
    wall = time.perf_counter() - t0
    for p in procs:
        p.join()
    lat = sorted(x for r, _, _ in results for x in r)
    with Registry.from_url(url, root=Path(tmp)) as reg:
        t = time.perf_counter()
        v = reg.verify_audit()
        verify_s = time.perf_counter() - t
        backend = reg.engine.dialect.name
    pairs = args.workers * args.writes
    print(json.dumps({
        "backend": backend,
        "workers": args.workers, "writes_per_worker": args.writes,
        "transactions": 2 * pairs, "wall_s": round(wall, 3),
        "transactions_per_s": round(2 * pairs / wall, 1),
        "pair_latency_ms_p50": round(1000 * statistics.median(lat), 2),
        "pair_latency_ms_p99": round(1000 * lat[int(0.99 * (len(lat) - 1))], 2),
        "retries": sum(r for _, r, _ in results), "failures": sum(f for _, _, f in results),
        "audit_ok": v.ok, "audit_entries": v.entries, "verify_s": round(verify_s, 3),
    }))


if __name__ == "__main__":
    main()
