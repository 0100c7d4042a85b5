"""Which subjects the scheduled retention sweep forgets, and why.

A consent ends when it is withdrawn, when it expires (``expires_at`` / its own
``retention_days``), or - for a consent with no end of its own - ``scope_days[scope]`` (default
``derived_days``) after it was granted. A scope has ended when none of its consents is still
running. When ``capture`` has ended (or every scope the subject ever consented to has), the
subject is forgotten entirely; when only ``train_prior`` or ``avatar`` has ended, just the
artifacts of that scope's stages are (models retrained without the subject, avatars deleted).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from headforge.config import RetentionConfig
from headforge.privacy.forget.apply import Journal
from headforge.privacy.forget.plan import RegistryLike, scope_lineage
from headforge.privacy.forget.settings import ForgetSettings, audit_salt, subject_digest
from headforge.privacy.records import Consent, now_utc, utc


@dataclasses.dataclass(frozen=True)
class RetentionDue:
    """One forget the sweep must run."""

    subject: str
    scope: str | None
    """None: everything of the subject."""
    ended_at: datetime
    reason: str
    """``withdrawn``, ``expired`` or ``retention`` (default period of an open-ended consent)."""


def consent_end(c: Consent, config: RetentionConfig) -> tuple[datetime, str]:
    """When a consent stops allowing use, and why."""
    if c.withdrawn_at is not None and (c.valid_until is None or c.withdrawn_at < c.valid_until):
        return c.withdrawn_at, "withdrawn"
    if c.valid_until is not None:
        return c.valid_until, "expired"
    days = config.scope_days.get(c.scope.value, config.derived_days)
    return c.granted_at + timedelta(days=days), "retention"


def ended_scopes(consents: list[Consent], config: RetentionConfig,
                 now: datetime) -> dict[str, tuple[datetime, str]]:
    """Scope -> (end, reason) for every scope whose consents have all ended by ``now``."""
    by_scope: dict[str, list[Consent]] = {}
    for c in consents:
        by_scope.setdefault(c.scope.value, []).append(c)
    out: dict[str, tuple[datetime, str]] = {}
    for scope, cs in by_scope.items():
        ends = [consent_end(c, config) for c in cs]
        latest = max(ends, key=lambda e: e[0])
        if latest[0] <= now:
            out[scope] = latest
    return out


def due_for_retention(settings: ForgetSettings, registry: RegistryLike,
                      now: datetime | None = None) -> list[RetentionDue]:
    """The forgets due at ``now`` (skipping subjects already forgotten)."""
    when = utc(now) if now is not None else now_utc()
    salt = audit_salt(settings.journal_dir, create=False) if (
        settings.journal_dir / "salt").is_file() else None
    due: list[RetentionDue] = []
    for subj in registry.subjects():
        consents = registry.consents(subj.id)
        if not consents:
            continue
        ended = ended_scopes(consents, settings.config, when)
        if not ended:
            continue
        lineage = registry.lineage_for_subject(subj.id)
        full = "capture" in ended or set(ended) == {c.scope.value for c in consents}
        if full:
            forgotten = salt is not None and Journal(
                settings.journal_dir, subject_digest(subj.id, salt)).record_path.is_file()
            if forgotten and not lineage:
                continue
            end, why = ended.get("capture") or max(ended.values(), key=lambda e: e[0])
            due.append(RetentionDue(subj.id, None, end, why))
            continue
        for scope, (end, why) in sorted(ended.items()):
            if scope_lineage(lineage, settings, scope):
                due.append(RetentionDue(subj.id, scope, end, why))
    return due
