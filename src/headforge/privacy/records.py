"""Plain values of the consent registry: scopes, errors, result records and input checks.

Nothing here knows SQL; :mod:`headforge.privacy.registry` turns rows into these records.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any


class Scope(enum.StrEnum):
    """What a consent allows (a ``str``: ``Scope.CAPTURE == "capture"``)."""

    CAPTURE = "capture"
    """Keep and process the subject's captured photos/videos (ingest, track)."""
    TRAIN_PRIOR = "train_prior"
    """Use the subject's data to train the shared prior model."""
    AVATAR = "avatar"
    """Build and keep a personal avatar of the subject (invert)."""


class RegistryError(RuntimeError):
    """A registry problem, with the fix in the message."""


class ConsentError(RegistryError):
    """A subject lacks a valid consent for what was asked of it."""


class InvalidInputError(RegistryError, ValueError):
    """A bad subject id, scope, path, hash, evidence reference or audit payload."""


SUBJECT_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{2,63}$")
STAGE_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
EVENT_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_EMAIL_RE = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")
# Audit payload keys that would carry personal data rather than pseudonyms, counts or hashes.
_PERSONAL_KEYS = frozenset(
    {"name", "first_name", "last_name", "full_name", "email", "e_mail", "phone", "address",
     "birthday", "birth_date", "date_of_birth", "dob", "ip", "ip_address"}
)


def check_subject_id(subject_id: str) -> str:
    """Return ``subject_id`` if it is a pseudonym (``[a-z0-9][a-z0-9_-]{2,63}``), else raise."""
    if not isinstance(subject_id, str) or not SUBJECT_ID_RE.fullmatch(subject_id):
        raise InvalidInputError(
            f"subject id {subject_id!r} is not a pseudonym: use 3-64 characters of lower-case "
            "letters, digits, '_' or '-' starting with a letter or digit (e.g. 's0042'); "
            "never a name or an e-mail address"
        )
    return subject_id


def parse_scope(scope: Scope | str) -> Scope:
    """The :class:`Scope` named by ``scope`` (an enum member or its value)."""
    try:
        return Scope(scope)
    except ValueError:
        known = ", ".join(s.value for s in Scope)
        raise InvalidInputError(f"unknown consent scope {scope!r}: use one of {known}") from None


def check_evidence(evidence: str) -> str:
    """An evidence reference (form id, document hash, ticket): non-empty, short, no contact data."""
    if not isinstance(evidence, str) or not evidence.strip():
        raise InvalidInputError(
            "consent evidence is empty: pass a reference to the signed form, e.g. "
            "'form:2026-03-01/17' or 'sha256:<hash of the scanned form>'"
        )
    evidence = evidence.strip()
    if len(evidence) > 256:
        raise InvalidInputError("consent evidence is longer than 256 characters: store a reference")
    if _EMAIL_RE.search(evidence):
        raise InvalidInputError(
            "consent evidence looks like an e-mail address: store a reference "
            "to the signed form instead"
        )
    return evidence


def check_stage(stage: str) -> str:
    """A pipeline stage name (``ingest``, ``track``, ...)."""
    if not isinstance(stage, str) or not STAGE_RE.fullmatch(stage):
        raise InvalidInputError(
            f"stage {stage!r} is not a stage name: use lower-case letters, digits and '_'"
        )
    return stage


def check_sha256(digest: str) -> str:
    """A lower-case hex SHA-256 digest."""
    if not isinstance(digest, str) or not SHA256_RE.fullmatch(digest.lower()):
        raise InvalidInputError(
            f"{digest!r} is not a SHA-256 hex digest: compute it with headforge.io_utils.sha256_file"
        )
    return digest.lower()


def normalize_artifact(artifact: str | Path, root: Path) -> str:
    """``artifact`` as a POSIX path relative to the project ``root`` (no ``..``, no leading /)."""
    p = Path(artifact)
    if p.is_absolute():
        try:
            p = p.resolve().relative_to(root.resolve())
        except ValueError:
            raise InvalidInputError(
                f"artifact {str(artifact)!r} is outside the project root: lineage holds paths "
                "relative to the folder with params.yaml"
            ) from None
    posix = PurePosixPath(p.as_posix())
    parts = [part for part in posix.parts if part not in ("", ".")]
    if not parts or ".." in parts:
        raise InvalidInputError(
            f"artifact {str(artifact)!r} must be a file or folder path inside the project, "
            "without '..'"
        )
    return "/".join(parts)


def check_payload(payload: dict[str, Any], _where: str = "payload") -> dict[str, Any]:
    """Refuse audit payloads that are not plain JSON or that look like personal data."""
    if not isinstance(payload, dict):
        raise InvalidInputError(f"audit {_where} must be a dict, got {type(payload).__name__}")
    for key, value in payload.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"audit {_where} key {key!r} must be a string")
        if key.lower() in _PERSONAL_KEYS:
            raise InvalidInputError(
                f"audit {_where} key {key!r} would store personal data: log pseudonymous subject "
                "ids, counts and hashes only"
            )
        _check_value(value, f"{_where}.{key}")
    return payload


def _check_value(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"audit {where} is {value}: only finite numbers are allowed")
        return
    if isinstance(value, str):
        if _EMAIL_RE.search(value):
            raise InvalidInputError(
                f"audit {where} looks like an e-mail address: log the pseudonymous subject id"
            )
        return
    if isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check_value(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        check_payload(value, where)
        return
    raise InvalidInputError(
        f"audit {where} is a {type(value).__name__}: use JSON values (str, int, float, bool, "
        "None, list, dict)"
    )


def utc(ts: datetime) -> datetime:
    """``ts`` converted to UTC; a naive datetime is refused (its zone would be a guess)."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InvalidInputError(
            f"timestamp {ts.isoformat()} has no time zone: pass an aware datetime, e.g. "
            "datetime.now(UTC) or datetime(2026, 1, 1, tzinfo=UTC)"
        )
    return ts.astimezone(UTC)


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def valid_until(
    granted_at: datetime, expires_at: datetime | None, retention_days: int | None
) -> datetime | None:
    """The earlier of ``expires_at`` and ``granted_at + retention_days`` (None: no end)."""
    ends = []
    if expires_at is not None:
        ends.append(expires_at)
    if retention_days is not None:
        ends.append(granted_at + timedelta(days=retention_days))
    return min(ends) if ends else None


@dataclasses.dataclass(frozen=True)
class Consent:
    """One consent of one subject for one scope."""

    id: int
    subject_id: str
    scope: Scope
    evidence: str
    """Reference to the signed form (never the form's content)."""
    granted_at: datetime
    expires_at: datetime | None
    retention_days: int | None
    withdrawn_at: datetime | None
    valid_until: datetime | None
    """The earlier of ``expires_at`` and ``granted_at + retention_days``; None: open-ended."""

    def status(self, at: datetime | None = None) -> str:
        """``valid``, ``withdrawn``, ``expired`` or ``pending`` (granted after ``at``)."""
        at = utc(at) if at is not None else now_utc()
        if self.withdrawn_at is not None and self.withdrawn_at <= at:
            return "withdrawn"
        if self.granted_at > at:
            return "pending"
        if self.valid_until is not None and self.valid_until <= at:
            return "expired"
        return "valid"

    def is_valid(self, at: datetime | None = None) -> bool:
        """True when granted, not withdrawn and not expired at ``at`` (default: now)."""
        return self.status(at) == "valid"


@dataclasses.dataclass(frozen=True)
class Subject:
    """A registered pseudonymous subject."""

    id: str
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class LineageRecord:
    """An artifact, its content hash, the stage that wrote it and whose data it holds."""

    artifact: str
    """Path relative to the project root (POSIX separators)."""
    sha256: str
    stage: str
    subject_ids: tuple[str, ...]
    created_at: datetime


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    """One hash-chained audit log entry."""

    seq: int
    timestamp: str
    """ISO-8601 UTC time exactly as hashed."""
    event: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclasses.dataclass(frozen=True)
class AuditVerification:
    """Result of checking the whole audit chain."""

    ok: bool
    entries: int
    """Entries checked (all of them when ok, up to and including the first bad one otherwise)."""
    first_bad: int | None
    """``seq`` of the first entry that fails, None when ok."""
    reason: str
    head_seq: int = 0
    """``seq`` of the last entry checked (0: empty log)."""
    head_hash: str = ""
    """Hash of the last entry checked; publish it (with ``head_seq``) as an anchor so that a
    later ``verify_audit(anchor=(seq, hash))`` also detects entries cut off the end."""
