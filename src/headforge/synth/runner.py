"""Run one shard job in its own Blender process (``blender/render_shard.py``).

One process per shard isolates crashes: a broken asset, a Blender error, a hang (timeout) or a
killed process fails that shard only, and its unfinished identity folders are removed (they
live in the shard's staging folder until complete).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ShardResult:
    """What one render process did."""

    shard: str
    ok: bool
    returncode: int
    seconds: float
    startup_seconds: float | None
    """Seconds from launching the process until Blender, BlenderProc, the renderer settings
    and the cameras were ready (None when it never got there)."""
    identities: list[str] = field(default_factory=list)
    """Identities finished (committed to the output folder) by this process."""
    images: int = 0
    error: str = ""
    log_path: str = ""


CODE_ROOT = Path(__file__).resolve().parents[3]
"""The repository holding this package (``src/headforge/...``) and ``blender/``."""


def render_script() -> Path:
    """The Blender-side entry point."""
    path = CODE_ROOT / "blender" / "render_shard.py"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run from a checkout of the repository "
                                "(blender/ sits beside src/)")
    return path


def _error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.startswith("synth-error:")]
    if lines:
        return lines[-1][len("synth-error:"):].strip()
    tail = [ln for ln in stderr.splitlines() if ln.strip() and "Freeing memory" not in ln]
    return tail[-1] if tail else "no error message"


def run_shard(job_path: Path, timeout_s: float, python: str | None = None,
              log_dir: Path | None = None) -> ShardResult:
    """Render ``job_path`` in a fresh process; never raises for a render failure.

    The process's stdout/stderr go to ``<log_dir>/<shard>.log`` (default: beside the job).
    On failure the shard's staging folder is removed.
    """
    job_path = Path(job_path)
    meta = json.loads(job_path.read_text())
    shard, staging = str(meta["shard"]), Path(meta["staging_dir"])
    log_dir = log_dir or job_path.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{shard}.log"
    cmd = [python or sys.executable, str(render_script()), "--job", str(job_path)]
    env = dict(os.environ, PYTHONUNBUFFERED="1", HEADFORGE_SYNTH_LAUNCHED=repr(time.time()))
    t0 = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                start_new_session=True, env=env, cwd=CODE_ROOT)
        try:
            stdout, _ = proc.communicate(timeout=timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, _ = proc.communicate()
            timed_out = True
        log.write(stdout or "")
    seconds = time.perf_counter() - t0
    done, images, startup = [], 0, None
    for line in (stdout or "").splitlines():
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if event.get("event") == "ready":
            startup = float(event.get("since_launch", event["seconds"]))
        elif event.get("event") == "identity_done":
            done.append(str(event["id"]))
            images += int(event["images"])
    ok = proc.returncode == 0 and not timed_out
    error = ""
    if timed_out:
        error = f"timed out after {timeout_s:.0f} s (raise synth.shard_timeout_s if it is slow)"
    elif not ok:
        code = proc.returncode
        why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        error = f"{_error_line(log_path.read_text())} ({why}; log: {log_path})"
    if not ok:
        shutil.rmtree(staging, ignore_errors=True)
    return ShardResult(shard, ok, proc.returncode, seconds, startup, done, images, error,
                       str(log_path))
