"""The consent registry: subjects, consents, artifact lineage and the hash-chained audit log.

This is the only module of headforge that speaks SQL; every other module calls
:class:`Registry` and gets plain records back (:mod:`headforge.privacy.records`).

>>> reg = Registry.from_url("sqlite://")          # in memory
>>> reg.grant("s0001", "capture", evidence="form:2026-03-01/1")
1
>>> reg.has_consent("s0001", Scope.CAPTURE)
True
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, and_, delete, func, insert, or_, select, update

from headforge.paths import project_root
from headforge.privacy import db
from headforge.privacy.audit import GENESIS_HASH, canonical_json, make_entry, verify_chain
from headforge.privacy.records import (
    EVENT_RE,
    AuditEntry,
    AuditVerification,
    Consent,
    ConsentError,
    InvalidInputError,
    LineageRecord,
    RegistryError,
    Scope,
    Subject,
    check_evidence,
    check_payload,
    check_sha256,
    check_stage,
    check_subject_id,
    normalize_artifact,
    now_utc,
    parse_scope,
    utc,
    valid_until,
)
from headforge.privacy.tables import audit_log, consents, lineage, lineage_subjects, metadata
from headforge.privacy.tables import subjects as subjects_t

REGISTRY_URL_ENV = "HEADFORGE_REGISTRY_URL"
"""Environment variable overriding ``paths.registry_url`` in :meth:`Registry.from_config`."""

LineageRow = tuple[str, str, str, Sequence[str]]
"""(artifact, sha256, stage, subject_ids) as passed to :meth:`Registry.record_lineage_many`."""


class Registry:
    """Consents, lineage and audit log in one SQL database (SQLite by default)."""

    def __init__(self, engine: Engine, root: Path | None = None) -> None:
        self.engine = engine
        self.root = (root or project_root()).resolve()
        db.with_retry(self._create_schema, "creating the registry tables")

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_url(cls, url: str, root: Path | None = None) -> Registry:
        """Open (and create if needed) the registry at an SQLAlchemy ``url``.

        A relative SQLite path is taken from the project root (the folder with params.yaml).
        """
        return cls(db.make_engine(url, root), root)

    @classmethod
    def from_config(cls, root: Path | None = None) -> Registry:
        """Open the registry named by ``$HEADFORGE_REGISTRY_URL`` or ``paths.registry_url``."""
        url = os.environ.get(REGISTRY_URL_ENV)
        if not url:
            from headforge.context import Context

            ctx = Context.load(root)
            url, root = ctx.params.paths.registry_url, ctx.root
        return cls.from_url(url, root)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Registry({self.engine.url.render_as_string(hide_password=True)!r})"

    def _create_schema(self) -> None:
        with db.write_tx(self.engine) as conn:
            db.lock_audit(conn)  # PostgreSQL: one process creates the tables at a time
            metadata.create_all(conn, checkfirst=True)

    # ---------------------------------------------------------------- subjects
    def add_subject(self, subject_id: str) -> None:
        """Register a pseudonymous subject id (idempotent)."""
        check_subject_id(subject_id)

        def tx() -> None:
            with db.write_tx(self.engine) as conn:
                self._ensure_subject(conn, subject_id)

        db.with_retry(tx, f"adding subject {subject_id}")

    def _ensure_subject(self, conn: Connection, subject_id: str) -> bool:
        """Insert the subject if it is new; True when it was inserted."""
        found = conn.execute(select(subjects_t.c.id).where(subjects_t.c.id == subject_id))
        if found.first() is not None:
            return False
        conn.execute(insert(subjects_t).values(id=subject_id, created_at=now_utc()))
        return True

    def subjects(self) -> list[Subject]:
        """Every registered subject, by id."""
        with db.read_tx(self.engine) as conn:
            rows = conn.execute(select(subjects_t).order_by(subjects_t.c.id)).all()
        return [Subject(id=r.id, created_at=r.created_at) for r in rows]

    def _require_subject(self, conn: Connection, subject_id: str) -> None:
        found = conn.execute(select(subjects_t.c.id).where(subjects_t.c.id == subject_id))
        if found.first() is None:
            raise ConsentError(
                f"subject {subject_id!r} is not registered: grant a consent first with "
                f"`headforge consent grant {subject_id} --scope capture --evidence ...`"
            )

    # ---------------------------------------------------------------- consents
    def grant(
        self,
        subject_id: str,
        scope: Scope | str,
        evidence: str,
        expires_at: datetime | None = None,
        retention_days: int | None = None,
        granted_at: datetime | None = None,
    ) -> int:
        """Record a consent (registering the subject if new); returns the consent id.

        The consent ends at the earlier of ``expires_at`` and ``granted_at + retention_days``
        (neither: until withdrawn). ``granted_at`` defaults to now.
        """
        check_subject_id(subject_id)
        sc = parse_scope(scope)
        evidence = check_evidence(evidence)
        granted = utc(granted_at) if granted_at is not None else now_utc()
        expires = utc(expires_at) if expires_at is not None else None
        if retention_days is not None and (isinstance(retention_days, bool)
                                           or not isinstance(retention_days, int)
                                           or retention_days <= 0):
            raise InvalidInputError(
                f"retention_days={retention_days!r}: give a positive number of days, or None"
            )
        if expires is not None and expires <= granted:
            raise InvalidInputError(
                f"expires_at {expires.isoformat()} is not after the grant time "
                f"{granted.isoformat()}: give a future expiry date"
            )
        until = valid_until(granted, expires, retention_days)

        def tx() -> int:
            with db.write_tx(self.engine) as conn:
                new_subject = self._ensure_subject(conn, subject_id)
                res = conn.execute(insert(consents).values(
                    subject_id=subject_id, scope=sc.value, evidence=evidence, granted_at=granted,
                    expires_at=expires, retention_days=retention_days, valid_until=until))
                cid = int(res.inserted_primary_key[0])  # type: ignore[index]
                if new_subject:
                    self._append_audit(conn, "subject.add", {"subject": subject_id})
                self._append_audit(conn, "consent.grant", {
                    "subject": subject_id, "scope": sc.value, "consent_id": cid,
                    "evidence_sha256": _sha(evidence),
                    "valid_until": until.isoformat() if until else None})
                return cid

        return db.with_retry(tx, f"granting {sc.value} consent for {subject_id}")

    def withdraw(self, subject_id: str, scope: Scope | str | None = None,
                 at: datetime | None = None) -> int:
        """Withdraw the subject's active consents for ``scope`` (None: every scope).

        Returns how many consents were withdrawn; 0 when none was active.
        """
        check_subject_id(subject_id)
        sc = parse_scope(scope) if scope is not None else None
        when = utc(at) if at is not None else now_utc()

        def tx() -> int:
            with db.write_tx(self.engine) as conn:
                self._require_subject(conn, subject_id)
                cond = and_(consents.c.subject_id == subject_id, consents.c.withdrawn_at.is_(None))
                if sc is not None:
                    cond = and_(cond, consents.c.scope == sc.value)
                ids = [r.id for r in conn.execute(
                    select(consents.c.id).where(cond).order_by(consents.c.id))]
                if not ids:
                    return 0
                conn.execute(update(consents).where(consents.c.id.in_(ids))
                             .values(withdrawn_at=when))
                self._append_audit(conn, "consent.withdraw", {
                    "subject": subject_id, "scope": sc.value if sc else "all",
                    "consent_ids": ids, "count": len(ids)})
                return len(ids)

        return db.with_retry(tx, f"withdrawing consent of {subject_id}")

    def consents(self, subject_id: str | None = None) -> list[Consent]:
        """Every consent (of one subject when given), oldest first."""
        q = select(consents).order_by(consents.c.id)
        if subject_id is not None:
            q = q.where(consents.c.subject_id == check_subject_id(subject_id))
        with db.read_tx(self.engine) as conn:
            return [_consent(r) for r in conn.execute(q)]

    def has_consent(self, subject_id: str, scope: Scope | str,
                    at: datetime | None = None) -> bool:
        """True when a consent for ``scope`` is granted, not withdrawn and not expired at ``at``."""
        check_subject_id(subject_id)
        sc = parse_scope(scope)
        when = utc(at) if at is not None else now_utc()
        q = select(func.count()).select_from(consents).where(
            consents.c.subject_id == subject_id,
            consents.c.scope == sc.value,
            consents.c.granted_at <= when,
            or_(consents.c.withdrawn_at.is_(None), consents.c.withdrawn_at > when),
            or_(consents.c.valid_until.is_(None), consents.c.valid_until > when),
        )
        with db.read_tx(self.engine) as conn:
            return bool(conn.execute(q).scalar_one())

    def require_consent(self, subject_id: str, scope: Scope | str,
                        at: datetime | None = None) -> None:
        """Raise :class:`ConsentError` (saying why and how to fix it) unless consent is valid."""
        sc = parse_scope(scope)
        if self.has_consent(subject_id, sc, at):
            return
        when = utc(at) if at is not None else now_utc()
        mine = [c for c in self.consents(subject_id) if c.scope is sc]
        if not mine:
            why = "never granted"
        else:
            last = max(mine, key=lambda c: c.granted_at)
            status = last.status(when)
            if status == "withdrawn" and last.withdrawn_at is not None:
                why = f"withdrawn {last.withdrawn_at:%Y-%m-%d %H:%M} UTC"
            elif status == "expired" and last.valid_until is not None:
                why = f"expired {last.valid_until:%Y-%m-%d %H:%M} UTC"
            else:
                why = f"granted only from {last.granted_at:%Y-%m-%d %H:%M} UTC"
        raise ConsentError(
            f"subject {subject_id!r} has no valid {sc.value!r} consent ({why}): grant one with "
            f"`headforge consent grant {subject_id} --scope {sc.value} --evidence <form reference>`"
        )

    def expired_consents(self, now: datetime | None = None) -> list[Consent]:
        """Consents that ran out (expiry or retention) by ``now`` and were never withdrawn."""
        when = utc(now) if now is not None else now_utc()
        q = select(consents).where(
            consents.c.withdrawn_at.is_(None),
            consents.c.valid_until.is_not(None),
            consents.c.valid_until <= when,
        ).order_by(consents.c.valid_until, consents.c.id)
        with db.read_tx(self.engine) as conn:
            return [_consent(r) for r in conn.execute(q)]

    # ---------------------------------------------------------------- lineage
    def record_lineage(self, artifact: str | Path, sha256: str, stage: str,
                       subject_ids: Sequence[str]) -> None:
        """Record that ``artifact`` (content ``sha256``, written by ``stage``) holds these
        subjects' data. A record for the same path is replaced."""
        self.record_lineage_many([(str(artifact), sha256, stage, subject_ids)])

    def record_lineage_many(self, rows: Sequence[LineageRow]) -> None:
        """Record several artifacts in one transaction (all or none)."""
        clean: list[tuple[str, str, str, tuple[str, ...]]] = []
        for artifact, sha, stage, sids in rows:
            if isinstance(sids, str):
                raise InvalidInputError(
                    f"subject_ids of {artifact!r} is the string {sids!r}: pass a list of ids"
                )
            clean.append((normalize_artifact(artifact, self.root), check_sha256(sha),
                          check_stage(stage),
                          tuple(sorted({check_subject_id(s) for s in sids}))))
        if not clean:
            return
        dupes = {a for a, *_ in clean if sum(1 for b, *_ in clean if b == a) > 1}
        if dupes:
            raise InvalidInputError(f"artifacts listed twice in one call: {sorted(dupes)}")
        wanted = {s for *_, sids in clean for s in sids}

        def tx() -> None:
            with db.write_tx(self.engine) as conn:
                if wanted:
                    known = set(conn.execute(select(subjects_t.c.id)
                                             .where(subjects_t.c.id.in_(wanted))).scalars())
                    missing = sorted(wanted - known)
                    if missing:
                        raise ConsentError(
                            f"lineage names unregistered subject(s) {missing}: register them "
                            "(Registry.add_subject or `headforge consent grant`) before their "
                            "data is processed"
                        )
                conn.execute(delete(lineage).where(lineage.c.artifact.in_([a for a, *_ in clean])))
                now = now_utc()
                for artifact, sha, stage, sids in clean:
                    res = conn.execute(insert(lineage).values(
                        artifact=artifact, sha256=sha, stage=stage, created_at=now))
                    lid = int(res.inserted_primary_key[0])  # type: ignore[index]
                    if sids:
                        conn.execute(insert(lineage_subjects),
                                     [{"lineage_id": lid, "subject_id": s} for s in sids])

        db.with_retry(tx, f"recording lineage of {len(clean)} artifact(s)")

    def lineage_for_subject(self, subject_id: str) -> list[LineageRecord]:
        """Every artifact derived from this subject's data, by path."""
        check_subject_id(subject_id)
        ids = select(lineage_subjects.c.lineage_id).where(
            lineage_subjects.c.subject_id == subject_id)
        return self._lineage(lineage.c.id.in_(ids))

    def lineage_for_artifact(self, path: str | Path) -> list[LineageRecord]:
        """The record of one artifact path (empty list when unknown)."""
        return self._lineage(lineage.c.artifact == normalize_artifact(path, self.root))

    def lineage_records(self, stage: str | None = None) -> list[LineageRecord]:
        """All lineage records (of one stage when given), by path."""
        return self._lineage(lineage.c.stage == check_stage(stage) if stage else None)

    def _lineage(self, where: Any) -> list[LineageRecord]:
        q = select(lineage).order_by(lineage.c.artifact)
        if where is not None:
            q = q.where(where)
        with db.read_tx(self.engine) as conn:
            rows = conn.execute(q).all()
            links: dict[int, list[str]] = {r.id: [] for r in rows}
            for chunk in _chunks(list(links), 500):
                for lid, sid in conn.execute(
                    select(lineage_subjects.c.lineage_id, lineage_subjects.c.subject_id)
                    .where(lineage_subjects.c.lineage_id.in_(chunk))
                ):
                    links[lid].append(sid)
        return [LineageRecord(artifact=r.artifact, sha256=r.sha256, stage=r.stage,
                              subject_ids=tuple(sorted(links[r.id])), created_at=r.created_at)
                for r in rows]

    def delete_lineage(self, artifacts: Sequence[str | Path]) -> int:
        """Remove the records of these artifact paths; returns how many existed."""
        paths = sorted({normalize_artifact(a, self.root) for a in artifacts})
        if not paths:
            return 0

        def tx() -> int:
            n = 0
            with db.write_tx(self.engine) as conn:
                for chunk in _chunks(paths, 500):
                    ids = list(conn.execute(select(lineage.c.id)
                                            .where(lineage.c.artifact.in_(chunk))).scalars())
                    if ids:
                        conn.execute(delete(lineage_subjects)
                                     .where(lineage_subjects.c.lineage_id.in_(ids)))
                        n += conn.execute(delete(lineage).where(lineage.c.id.in_(ids))).rowcount
            return n

        return db.with_retry(tx, f"deleting lineage of {len(paths)} artifact(s)")

    # ---------------------------------------------------------------- audit log
    def audit(self, event: str, payload: dict[str, Any]) -> AuditEntry:
        """Append a hash-chained entry. ``payload`` holds pseudonyms, counts and hashes only."""
        if not isinstance(event, str) or not EVENT_RE.fullmatch(event):
            raise InvalidInputError(
                f"audit event {event!r}: use a dotted lower-case name like 'forget.apply'"
            )
        check_payload(payload)

        def tx() -> AuditEntry:
            with db.write_tx(self.engine) as conn:
                return self._append_audit(conn, event, payload)

        return db.with_retry(tx, f"appending audit event {event}")

    def _append_audit(self, conn: Connection, event: str, payload: dict[str, Any]) -> AuditEntry:
        """Append inside the caller's write transaction, holding the audit lock."""
        db.lock_audit(conn)
        last = conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (last.seq + 1, last.hash) if last is not None else (1, GENESIS_HASH)
        entry = make_entry(seq, now_utc().isoformat(timespec="microseconds"), event, payload,
                           prev)
        conn.execute(insert(audit_log).values(
            seq=entry.seq, timestamp=entry.timestamp, event=entry.event,
            payload=canonical_json(entry.payload), prev_hash=entry.prev_hash, hash=entry.hash))
        return entry

    def audit_entries(self, since_seq: int = 0, limit: int | None = None) -> list[AuditEntry]:
        """Audit entries with ``seq > since_seq``, in order."""
        q = select(audit_log).where(audit_log.c.seq > since_seq).order_by(audit_log.c.seq)
        if limit is not None:
            q = q.limit(limit)
        with db.read_tx(self.engine) as conn:
            return [AuditEntry(seq=r.seq, timestamp=r.timestamp, event=r.event,
                               payload=json.loads(r.payload), prev_hash=r.prev_hash, hash=r.hash)
                    for r in conn.execute(q)]

    def verify_audit(self, anchor: tuple[int, str] | None = None) -> AuditVerification:
        """Recompute the whole chain; report the first entry that was changed or removed.

        ``anchor``: a ``(head_seq, head_hash)`` from an earlier verification, kept outside the
        database; the chain must still contain it (catches entries cut off the end).
        """
        cols = (audit_log.c.seq, audit_log.c.timestamp, audit_log.c.event, audit_log.c.payload,
                audit_log.c.prev_hash, audit_log.c.hash)
        with db.read_tx(self.engine) as conn:
            result = conn.execution_options(yield_per=2000).execute(
                select(*cols).order_by(audit_log.c.seq))
            return verify_chain((tuple(r) for r in result), anchor)  # type: ignore[arg-type]

    def counts(self) -> dict[str, int]:
        """Row counts per table (for summaries and tests)."""
        out: dict[str, int] = {}
        with db.read_tx(self.engine) as conn:
            for t in (subjects_t, consents, lineage, lineage_subjects, audit_log):
                out[t.name] = int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        return out


def _consent(r: Row[Any]) -> Consent:
    return Consent(id=r.id, subject_id=r.subject_id, scope=Scope(r.scope), evidence=r.evidence,
                   granted_at=r.granted_at, expires_at=r.expires_at,
                   retention_days=r.retention_days, withdrawn_at=r.withdrawn_at,
                   valid_until=r.valid_until)


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _chunks(items: list[Any], n: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i:i + n]


__all__ = ["Registry", "RegistryError", "ConsentError", "LineageRow", "REGISTRY_URL_ENV"]
