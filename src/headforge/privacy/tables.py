"""Registry tables (SQLAlchemy Core): subjects, consents, lineage (+ subject link), audit log.

Times are stored as UTC (naive on SQLite, ``timestamptz`` elsewhere) and always read back as
aware UTC datetimes. The audit table refuses UPDATE and DELETE through triggers; the hash chain
detects changes made by anyone who drops them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive values are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData()

subjects = Table(
    "subjects",
    metadata,
    Column("id", String(64), primary_key=True, comment="pseudonymous subject id, never a name"),
    Column("created_at", UTCDateTime, nullable=False),
)

consents = Table(
    "consents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject_id", String(64), ForeignKey("subjects.id", ondelete="CASCADE"),
           nullable=False),
    Column("scope", String(32), nullable=False),
    Column("evidence", String(256), nullable=False, comment="reference to the signed form"),
    Column("granted_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("retention_days", Integer, nullable=True),
    Column("valid_until", UTCDateTime, nullable=True,
           comment="min(expires_at, granted_at + retention_days)"),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    CheckConstraint("retention_days IS NULL OR retention_days > 0", name="ck_retention_positive"),
    CheckConstraint("scope IN ('capture', 'train_prior', 'avatar')", name="ck_scope_known"),
    Index("ix_consents_subject_scope", "subject_id", "scope"),
    Index("ix_consents_valid_until", "valid_until"),
)

lineage = Table(
    "lineage",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("artifact", String(1024), nullable=False, comment="path relative to the project root"),
    Column("sha256", String(64), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("artifact", name="uq_lineage_artifact"),
    Index("ix_lineage_stage", "stage"),
)

lineage_subjects = Table(
    "lineage_subjects",
    metadata,
    Column("lineage_id", Integer, ForeignKey("lineage.id", ondelete="CASCADE"),
           primary_key=True),
    Column("subject_id", String(64), ForeignKey("subjects.id"), primary_key=True),
    Index("ix_lineage_subjects_subject", "subject_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("timestamp", String(40), nullable=False, comment="ISO-8601 UTC, exactly as hashed"),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False, comment="canonical JSON"),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # Two entries can never claim the same predecessor: the chain cannot fork.
    UniqueConstraint("prev_hash", name="uq_audit_prev_hash"),
)

# Append-only: refuse UPDATE and DELETE of audit rows at the database.
for _op in ("UPDATE", "DELETE"):
    event.listen(
        audit_log,
        "after_create",
        DDL(
            f"CREATE TRIGGER audit_log_no_{_op.lower()} BEFORE {_op} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        ).execute_if(dialect="sqlite"),
    )
event.listen(
    audit_log,
    "after_create",
    DDL(
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    audit_log,
    "after_create",
    DDL(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
        "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
    ).execute_if(dialect="postgresql"),
)
