"""A throw-away PostgreSQL server on loopback for the registry tests.

``initdb`` into a fresh temporary folder, ``pg_ctl start`` on a free 127.0.0.1 port with the
socket in that folder, and ``pg_ctl stop`` + removal at the end. PostgreSQL refuses to run as
root, so under root the server runs as the ``postgres`` system user (Debian's package creates it).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PgServer:
    """A running server: its loopback port, superuser and data folder."""

    port: int
    user: str
    folder: Path

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"


def find_bin_dir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (newest Debian version first), or None."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit()
                        else 0, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    for c in candidates:
        if (Path(c) / "initdb").is_file() and (Path(c) / "pg_ctl").is_file():
            return Path(c)
    return None


def why_unavailable() -> str | None:
    """None when a server can be started here, else the reason (for pytest.skip)."""
    if find_bin_dir() is None:
        return ("PostgreSQL server binaries not found (initdb/pg_ctl under "
                "/usr/lib/postgresql/*/bin): `apt-get install postgresql` to run this test")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return ("running as root and there is no 'postgres' user for the server: "
                    "`useradd --system postgres` (Debian's postgresql package creates it)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg (3) is not installed: `pip install 'psycopg[binary]'`"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server() -> Iterator[PgServer]:
    """Start a server for the duration of the ``with`` block."""
    bin_dir = find_bin_dir()
    assert bin_dir is not None, why_unavailable()
    folder = Path(tempfile.mkdtemp(prefix="headforge-pg-"))
    run_as: dict[str, object] = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        run_as = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    data, log = folder / "data", folder / "server.log"
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}

    def pg(*args: str) -> None:
        subprocess.run([str(bin_dir / args[0]), *args[1:]], check=True, env=env, cwd=folder,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120,
                       **run_as)  # type: ignore[call-overload]

    port = _free_port()
    started = False
    try:
        pg("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
           "--no-sync")
        opts = (f"-k {folder} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=60")
        pg("pg_ctl", "-D", str(data), "-l", str(log), "-o", opts, "-w", "-t", "60", "start")
        started = True
        yield PgServer(port=port, user="postgres", folder=folder)
    except subprocess.CalledProcessError as e:
        tail = log.read_text()[-2000:] if log.is_file() else ""
        raise RuntimeError(f"PostgreSQL failed: {e.cmd[0]}: {e.output!r}\n{tail}") from e
    finally:
        if started:
            with contextlib.suppress(subprocess.SubprocessError):
                pg("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)


def create_database(server: PgServer, name: str) -> str:
    """Create an empty database; returns its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=server.port, user=server.user,
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    return server.url(name)
