"""The audit log's hash chain as pure functions.

Entry ``n`` stores the hash of entry ``n-1`` (the first stores :data:`GENESIS_HASH`), and its own
hash is ``sha256(canonical_json({"seq", "timestamp", "event", "payload", "prev_hash"}))``.
Changing, removing or reordering any stored entry breaks either its own hash or the next entry's
``prev_hash``, which :func:`verify_chain` reports with the first bad ``seq``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from headforge.privacy.records import AuditEntry, AuditVerification

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first entry."""


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept, NaN/Infinity refused."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def entry_hash(seq: int, timestamp: str, event: str, payload: dict[str, Any],
               prev_hash: str) -> str:
    """Hex SHA-256 of the canonical JSON of one entry's fields."""
    body = {"seq": seq, "timestamp": timestamp, "event": event, "payload": payload,
            "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def make_entry(seq: int, timestamp: str, event: str, payload: dict[str, Any],
               prev_hash: str) -> AuditEntry:
    """A new entry following one whose hash is ``prev_hash``."""
    # Round-trip the payload so the stored (JSON) form and the hashed form are the same object.
    payload = json.loads(canonical_json(payload))
    return AuditEntry(seq=seq, timestamp=timestamp, event=event, payload=payload,
                      prev_hash=prev_hash,
                      hash=entry_hash(seq, timestamp, event, payload, prev_hash))


def verify_chain(rows: Iterable[tuple[int, str, str, str, str, str]],
                 anchor: tuple[int, str] | None = None) -> AuditVerification:
    """Check ``(seq, timestamp, event, payload_json, prev_hash, hash)`` rows in ``seq`` order.

    The chain must start at seq 1 with :data:`GENESIS_HASH`, have no gaps, link each
    ``prev_hash`` to the previous ``hash`` and have every ``hash`` match its recomputation.
    ``anchor`` is a ``(seq, hash)`` recorded earlier (e.g. a published head): the chain must
    still reach it with that hash, which also catches entries removed from the end.
    """
    expected_seq, expected_prev, n = 1, GENESIS_HASH, 0
    for seq, timestamp, event, payload_json, prev_hash, stored in rows:
        n += 1
        reason = _entry_problem(seq, timestamp, event, payload_json, prev_hash, stored,
                                expected_seq, expected_prev)
        if reason is None and anchor is not None and seq == anchor[0] and stored != anchor[1]:
            reason = (f"entry {seq} differs from the anchor hash {anchor[1][:12]}… "
                      "(the log was rewritten from here on)")
        if reason is not None:
            return AuditVerification(ok=False, entries=n, first_bad=seq, reason=reason,
                                     head_seq=expected_seq - 1, head_hash=expected_prev)
        expected_seq, expected_prev = seq + 1, stored
    if anchor is not None and anchor[0] >= expected_seq:
        return AuditVerification(
            ok=False, entries=n, first_bad=expected_seq,
            reason=f"the log ends at entry {expected_seq - 1} but the anchor names entry "
                   f"{anchor[0]}: entries {expected_seq}..{anchor[0]} were removed",
            head_seq=expected_seq - 1, head_hash=expected_prev)
    return AuditVerification(ok=True, entries=n, first_bad=None,
                             reason=f"{n} entries verified" if n else "audit log is empty",
                             head_seq=expected_seq - 1, head_hash=expected_prev)


def _entry_problem(seq: int, timestamp: str, event: str, payload_json: str, prev_hash: str,
                   stored: str, expected_seq: int, expected_prev: str) -> str | None:
    """Why one entry breaks the chain, or None when it is intact."""
    if seq != expected_seq:
        return (f"entry {seq} found where entry {expected_seq} was expected "
                "(an entry was removed or inserted)")
    if prev_hash != expected_prev:
        return (f"entry {seq} does not link to entry {seq - 1} (prev_hash "
                f"{prev_hash[:12]}… != {expected_prev[:12]}…)")
    try:
        payload = json.loads(payload_json)
    except (TypeError, ValueError):
        return f"entry {seq} payload is not valid JSON"
    recomputed = entry_hash(seq, timestamp, event, payload, prev_hash)
    if recomputed != stored:
        return (f"entry {seq} was modified (stored hash {stored[:12]}… != recomputed "
                f"{recomputed[:12]}…)")
    return None
