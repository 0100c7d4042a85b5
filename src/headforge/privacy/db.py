"""Engines and transactions for the registry: SQLite in WAL mode or any SQLAlchemy URL.

Concurrent writers (parallel pipeline tasks, several processes) are handled by

- SQLite: WAL journal, a busy timeout, and ``BEGIN IMMEDIATE`` for every write transaction, so a
  writer takes the write lock before it reads (no lock upgrade that could fail half-way);
- PostgreSQL: a transaction-scoped advisory lock around audit appends;
- everywhere: retrying a whole write transaction with jittered exponential backoff when the
  database reports a lock, a busy state, a serialisation failure or a deadlock.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from headforge.paths import project_root
from headforge.privacy.records import RegistryError

T = TypeVar("T")

BUSY_TIMEOUT_S = 30.0
"""How long SQLite waits on a lock before reporting it busy."""
RETRY_ATTEMPTS = 12
"""Attempts of one write transaction before giving up."""
RETRY_BASE_S = 0.02
"""First backoff delay; doubled per attempt (with jitter), capped at :data:`RETRY_CAP_S`."""
RETRY_CAP_S = 2.0

AUDIT_LOCK_KEY = 0x6865616466  # "headf": PostgreSQL advisory lock id serialising audit appends

RETRIES = {"count": 0}
"""Transient-error retries made by this process (for benchmarks and tests)."""

_WRITE = "headforge_write"  # execution option marking a write transaction

_TRANSIENT = (
    "database is locked",
    "database is busy",
    "database table is locked",
    "deadlock detected",
    "could not serialize",
    "could not obtain lock",
    "lock timeout",
    "server closed the connection unexpectedly",
)


def resolve_url(url: str | URL, root: Path | None = None) -> URL:
    """Parse ``url``; make a relative SQLite path absolute under the project root.

    ``postgresql://`` without a driver is taken as ``postgresql+psycopg://`` (psycopg 3).
    """
    try:
        u = make_url(url)
    except ArgumentError as e:
        raise RegistryError(
            f"registry URL {str(url)!r} is not an SQLAlchemy URL: use e.g. "
            "'sqlite:///registry/headforge.sqlite' or 'postgresql+psycopg://user@host/db'"
        ) from e
    if u.drivername == "postgresql":
        u = u.set(drivername="postgresql+psycopg")
    if u.get_backend_name() == "sqlite" and u.database and u.database != ":memory:":
        db = Path(u.database)
        if not db.is_absolute():
            db = (root or project_root()) / db
        u = u.set(database=str(db))
    return u


def make_engine(url: str | URL, root: Path | None = None) -> Engine:
    """An engine for ``url`` with the concurrency settings described in the module doc."""
    u = resolve_url(url, root)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u)
    try:
        return create_engine(u, pool_pre_ping=True, future=True)
    except ModuleNotFoundError as e:
        raise RegistryError(
            f"the database driver for {u.drivername!r} is not installed ({e.name}): install it "
            "(PostgreSQL: `pip install 'psycopg[binary]'`) or use a sqlite:/// URL"
        ) from e


def _sqlite_engine(u: URL) -> Engine:
    memory = not u.database or u.database == ":memory:"
    if not memory:
        Path(u.database or "").parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"connect_args": {"timeout": BUSY_TIMEOUT_S,
                                               "check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one shared in-memory database
    engine = create_engine(u, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        if not memory:
            for attempt in range(RETRY_ATTEMPTS):  # switching to WAL needs a short write lock
                try:
                    cur.execute("PRAGMA journal_mode = WAL")
                    break
                except Exception as e:  # sqlite3.OperationalError
                    if "locked" not in str(e) or attempt == RETRY_ATTEMPTS - 1:
                        raise
                    RETRIES["count"] += 1
                    _sleep(attempt)
            cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` on SQLite, an ordinary one elsewhere."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE: True})
        with conn.begin():
            yield conn


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """One read transaction (a consistent snapshot on WAL SQLite and PostgreSQL)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def lock_audit(conn: Connection) -> None:
    """Serialise audit appends until the transaction ends (SQLite already holds its write lock)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": AUDIT_LOCK_KEY})
    elif conn.dialect.name in ("mysql", "mariadb"):
        conn.execute(text("SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1 FOR UPDATE"))


def is_transient(err: BaseException) -> bool:
    """True for lock/busy/serialisation errors worth retrying."""
    if isinstance(err, IntegrityError):
        # Another writer appended the same audit seq first (only without a lock).
        msg = str(err.orig).lower()
        return "audit_log" in msg or "uq_audit_prev_hash" in msg
    if isinstance(err, OperationalError | DBAPIError):
        msg = str(getattr(err, "orig", err)).lower()
        return any(t in msg for t in _TRANSIENT) or bool(
            getattr(err, "connection_invalidated", False)
        )
    return False


def _sleep(attempt: int) -> None:
    delay = min(RETRY_CAP_S, RETRY_BASE_S * (2**attempt))
    time.sleep(delay * (0.5 + random.random()))


def with_retry(fn: Callable[[], T], what: str) -> T:
    """Run ``fn`` (one whole transaction) again after transient lock errors, with backoff."""
    for attempt in range(RETRY_ATTEMPTS):
        try:
            return fn()
        except DBAPIError as e:
            if not is_transient(e):
                raise
            if attempt == RETRY_ATTEMPTS - 1:
                raise RegistryError(
                    f"{what}: the registry stayed busy for {RETRY_ATTEMPTS} attempts "
                    f"({e.orig}); retry later, or use PostgreSQL for many parallel writers"
                ) from e
            RETRIES["count"] += 1
            _sleep(attempt)
    raise AssertionError("unreachable")
