"""Worker process for the concurrency test (a module so that ``spawn`` can import it)."""

from __future__ import annotations

import traceback
from pathlib import Path
from typing import Any

from headforge.privacy import Registry, Scope
from headforge.privacy import db as registry_db


def write_many(k: int, url: str, root: str, n: int, barrier: Any, results: Any) -> None:
    """Open the registry, wait for all workers, then write ``n`` lineage + audit entries."""
    try:
        barrier.wait(timeout=120)  # everyone opens (and maybe creates) the registry at once
        reg = Registry.from_url(url, root=Path(root))
        subject = f"w{k:03d}"
        reg.grant(subject, Scope.CAPTURE, evidence=f"form:{k}")
        for i in range(n):
            sha = f"{k:02x}{i:04x}".ljust(64, "0")
            reg.record_lineage(f"results/track/{subject}/f{i:04d}.npz", sha, "track", [subject])
            reg.audit("test.write", {"worker": k, "i": i, "sha256": sha})
        reg.record_lineage_many([
            (f"results/invert/{subject}/part{j}.ply", "f" * 64, "invert", [subject])
            for j in range(3)
        ])
        reg.close()
        results.put((k, "ok", registry_db.RETRIES["count"]))
    except BaseException:
        results.put((k, traceback.format_exc(), registry_db.RETRIES["count"]))
