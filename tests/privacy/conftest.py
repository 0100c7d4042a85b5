"""Registry fixtures: a fresh registry per test, on SQLite and (marked postgres) PostgreSQL."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from headforge.privacy import Registry

from . import pgserver

_db_names = itertools.count()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A temporary project root (holds a params.yaml naming a relative SQLite registry)."""
    (tmp_path / "params.yaml").write_text(
        "profile: tiny\npaths:\n  registry_url: sqlite:///registry/test.sqlite\n"
    )
    return tmp_path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pgserver.PgServer]:
    """A PostgreSQL server on loopback for the whole session; skipped where it cannot run."""
    reason = pgserver.why_unavailable()
    if reason:
        pytest.skip(reason)
    with pgserver.running_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty registry database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry' / 'test.sqlite'}"
    server = request.getfixturevalue("pg_server")
    return pgserver.create_database(server, f"reg_{next(_db_names)}")


@pytest.fixture
def reg(registry_url: str, root: Path) -> Iterator[Registry]:
    """An open registry rooted in the temporary project ``root``."""
    r = Registry.from_url(registry_url, root=root)
    yield r
    r.close()


def drop_audit_guards(reg: Registry) -> None:
    """Remove the append-only triggers, as someone with direct database access could."""
    with reg.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))
        else:
            conn.execute(text("DROP TRIGGER audit_log_no_update"))
            conn.execute(text("DROP TRIGGER audit_log_no_delete"))


def raw_sql(reg: Registry, sql: str) -> None:
    """Run one SQL statement in its own transaction, bypassing the registry."""
    with reg.engine.begin() as conn:
        conn.exec_driver_sql(sql)
