"""Prefect servers for the project's flows.

Every DVC stage is its own ``python -m flows.<stage>`` process. Left alone, each would start
Prefect's temporary server and give up when it does not answer within 20 s, which a busy
machine exceeds (``Timed out while attempting to connect to ephemeral Prefect API server``).
Prefect 3 has no way to run a flow without an API, so:

* :func:`shared_server` (every flow's ``__main__``): when ``PREFECT_API_URL`` is not set, use
  the project's shared server, starting it on demand. One lock file serialises the start; the
  server (API database in ``PREFECT_HOME``, default ``<project>/.prefect``, as ``make run``
  and ``headforge forget`` use) is watched by a small supervisor process that stops it once no
  flow process has used it for ``HEADFORGE_PREFECT_IDLE_S`` seconds (default 120), so the
  stages of one ``dvc repro`` / ``dvc exp run`` share it. The wait for a start is driven by
  state, not a stopwatch: it lasts while the server process lives and has not answered yet,
  up to ``HEADFORGE_PREFECT_START_TIMEOUT`` seconds (default 900; a first start migrates the
  database), and a server that dies is reported with its log.
* :func:`local_server` / ``python -m flows.server -- <command>`` (``make run``, ``headforge
  serve``): one private server on loopback for the duration of a command.

When ``PREFECT_API_URL`` is set, both simply use that server.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ANALYTICS_OFF = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:  # noqa: S310
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def local_server(timeout: float = 90.0) -> Iterator[str]:
    """Yield the API URL of a Prefect server on 127.0.0.1, started here unless one is set."""
    os.environ.update(ANALYTICS_OFF)
    existing = os.environ.get("PREFECT_API_URL")
    if existing:
        yield existing
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = dict(os.environ)
    env["PREFECT_SERVER_API_HOST"] = "127.0.0.1"
    env["PREFECT_SERVER_API_PORT"] = str(port)
    log = open(os.devnull, "w")  # noqa: SIM115 (lives as long as the server)
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-services"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        t0 = time.monotonic()
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"prefect server exited with {proc.returncode} before starting")
            if time.monotonic() - t0 > timeout:
                raise TimeoutError(f"prefect server did not answer on {url} within {timeout:.0f} s")
            time.sleep(0.3)
        os.environ["PREFECT_API_URL"] = url
        yield url
    finally:
        os.environ.pop("PREFECT_API_URL", None) if not existing else None
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


# ------------------------------------------------------------------ the shared server

STATE = "headforge-server.json"
"""``{"pid": supervisor, "server_pid", "url", "started"}`` of the running shared server."""
LOCK = "headforge-server.lock"
CLIENTS = "headforge-server.clients"
"""One empty file per flow process using the server, named by its pid."""
LOG = "headforge-server.log"
IDLE_ENV, START_ENV = "HEADFORGE_PREFECT_IDLE_S", "HEADFORGE_PREFECT_START_TIMEOUT"


def prefect_home(root: Path | None = None) -> Path:
    """``PREFECT_HOME`` when set, else ``<project root>/.prefect``."""
    if os.environ.get("PREFECT_HOME"):
        return Path(os.environ["PREFECT_HOME"]).expanduser()
    if root is None:
        from headforge.paths import project_root

        root = project_root()
    return root / ".prefect"


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    with open(home / LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not yet reaped, counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM when its supervisor dies, even by SIGKILL."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def read_state(home: Path) -> dict[str, Any] | None:
    """The shared server's state file, or None."""
    try:
        state = json.loads((home / STATE).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def _write_state(home: Path, state: dict[str, Any]) -> None:
    tmp = home / f".{STATE}.{os.getpid()}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, home / STATE)


def _clear_state(home: Path, pid: int) -> None:
    state = read_state(home)
    if state is not None and state.get("pid") == pid:
        with contextlib.suppress(OSError):
            (home / STATE).unlink()


def live_clients(home: Path) -> list[int]:
    """Pids of the flow processes registered with the shared server that still run (the
    files of finished ones are removed)."""
    d = home / CLIENTS
    pids = []
    for p in d.iterdir() if d.is_dir() else []:
        if p.name.isdigit() and _alive(int(p.name)):
            pids.append(int(p.name))
        else:
            with contextlib.suppress(OSError):
                p.unlink()
    return pids


def supervise(home: Path, idle_s: float) -> int:
    """Run a Prefect server for ``home`` until no client has been alive for ``idle_s``."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on the way out
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, **ANALYTICS_OFF, "PREFECT_HOME": str(home),
           "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port)}
    env.pop("PREFECT_API_URL", None)
    with open(home / LOG, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
             "--port", str(port), "--no-services"],
            env=env, stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    me = os.getpid()
    _write_state(home, {"pid": me, "server_pid": proc.pid, "url": url, "started": time.time()})
    idle_since: float | None = None
    try:
        while proc.poll() is None:
            time.sleep(1.0)
            if live_clients(home):
                idle_since = None
                continue
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since < idle_s:
                continue
            with _locked(home):  # no client can join while the server is being stopped
                if live_clients(home):
                    idle_since = None
                    continue
                _clear_state(home, me)
            break
    finally:
        _clear_state(home, me)
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


def _log_tail(home: Path, n: int = 15) -> str:
    try:
        return "\n".join((home / LOG).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


def _start_shared(home: Path, timeout: float, idle_s: float) -> str:
    """Start the supervisor (under the lock) and wait until its server answers."""
    sup = subprocess.Popen(
        [sys.executable, "-m", "flows.server", "--supervise", str(home), str(idle_s)],
        cwd=Path(__file__).resolve().parent.parent, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    t0 = last_note = time.monotonic()
    while True:
        state = read_state(home)
        if state is not None and state.get("pid") == sup.pid and _healthy(state["url"], 5.0):
            return str(state["url"])
        if sup.poll() is not None or (state is not None and state.get("pid") == sup.pid
                                      and not _alive(int(state["server_pid"]))):
            raise RuntimeError(
                f"the project's Prefect server (PREFECT_HOME={home}) stopped before it "
                f"answered; its log ({home / LOG}) ends with:\n{_log_tail(home)}"
            )
        waited = time.monotonic() - t0
        if waited > timeout:
            with contextlib.suppress(OSError):
                os.kill(sup.pid, signal.SIGTERM)
            raise TimeoutError(
                f"the project's Prefect server was still starting after {waited:.0f} s (the "
                f"machine is very busy?); raise {START_ENV} or set PREFECT_API_URL to a "
                "running server"
            )
        if time.monotonic() - last_note > 30:
            print(f"waiting for the project's Prefect server to start ({waited:.0f} s)",
                  file=sys.stderr, flush=True)
            last_note = time.monotonic()
        time.sleep(0.5)


def ensure_shared(home: Path, timeout: float | None = None, idle_s: float | None = None) -> str:
    """Register this process as a client of ``home``'s shared server (started when none
    answers) and return its API URL."""
    timeout = float(os.environ.get(START_ENV, 900)) if timeout is None else timeout
    idle_s = float(os.environ.get(IDLE_ENV, 120)) if idle_s is None else idle_s
    home.mkdir(parents=True, exist_ok=True)
    (home / CLIENTS).mkdir(exist_ok=True)
    with _locked(home):
        (home / CLIENTS / str(os.getpid())).touch()
        state = read_state(home)
        if state is not None and _alive(int(state.get("pid", 0))):
            if _healthy(str(state["url"]), 5.0):
                return str(state["url"])
            with contextlib.suppress(OSError):  # alive but not answering: replace it
                os.kill(int(state["pid"]), signal.SIGTERM)
        return _start_shared(home, timeout, idle_s)


@contextlib.contextmanager
def shared_server(root: Path | None = None) -> Iterator[str]:
    """Point Prefect at ``PREFECT_API_URL`` when set, else at the project's shared server
    (started on demand, see the module docstring) for the duration of the block."""
    os.environ.update(ANALYTICS_OFF)
    existing = os.environ.get("PREFECT_API_URL")
    if existing:
        yield existing
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_HOME, temporary_settings

    home = prefect_home(root)
    url = ensure_shared(home)
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL", "PREFECT_HOME")}
    os.environ.update({"PREFECT_API_URL": url, "PREFECT_HOME": str(home)})  # for children
    try:
        with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_HOME: str(home)}):
            yield url
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        with contextlib.suppress(OSError):
            (home / CLIENTS / str(os.getpid())).unlink()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--supervise"] and len(argv) == 3:
        return supervise(Path(argv[1]), float(argv[2]))
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m flows.server -- <command ...>", file=sys.stderr)
        return 2
    with local_server():
        return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
