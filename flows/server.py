"""A local Prefect server for the duration of a command.

Every DVC stage is its own ``python -m flows.<stage>`` process; without an API URL each would
start Prefect's temporary server (10-20 s each). ``python -m flows.server -- <command>`` starts
one server on loopback, points ``PREFECT_API_URL`` at it for the command, and stops it after.
When ``PREFECT_API_URL`` is already set, the command simply runs against that server.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

ANALYTICS_OFF = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=1) as r:  # noqa: S310 (loopback)
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


def main(argv: list[str]) -> int:
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("usage: python -m flows.server -- <command ...>", file=sys.stderr)
        return 2
    with local_server():
        return subprocess.call(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
