"""The hash-chained audit log: appends, verification and tamper detection."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from headforge.privacy import InvalidInputError, Registry
from headforge.privacy.audit import GENESIS_HASH, entry_hash, verify_chain

from .conftest import drop_audit_guards, raw_sql


def test_grant_and_withdraw_write_chained_entries(reg: Registry) -> None:
    reg.grant("s0001", "capture", evidence="form:1")
    reg.withdraw("s0001")
    reg.audit("forget.apply", {"subject": "s0001", "files": 3, "sha256": "ab" * 32})
    entries = reg.audit_entries()
    assert [e.event for e in entries] == ["subject.add", "consent.grant", "consent.withdraw",
                                          "forget.apply"]
    assert [e.seq for e in entries] == [1, 2, 3, 4]
    assert entries[0].prev_hash == GENESIS_HASH
    for prev, cur in zip(entries, entries[1:], strict=False):
        assert cur.prev_hash == prev.hash
    for e in entries:
        assert e.hash == entry_hash(e.seq, e.timestamp, e.event, e.payload, e.prev_hash)
    assert entries[2].payload == {"subject": "s0001", "scope": "all", "consent_ids": [1],
                                  "count": 1}
    # The evidence reference itself is not copied into the log, only its hash.
    assert "form:1" not in str(entries[1].payload)
    v = reg.verify_audit()
    assert (v.ok, v.entries, v.first_bad) == (True, 4, None)


def test_empty_log_verifies(reg: Registry) -> None:
    v = reg.verify_audit()
    assert v.ok and v.entries == 0


def _tamper(reg: Registry, sql: str) -> None:
    """Drop the append-only triggers (as an attacker with DB access would) and run ``sql``."""
    drop_audit_guards(reg)
    raw_sql(reg, sql)


def _fill(reg: Registry, n: int = 5) -> None:
    for i in range(n):
        reg.audit("test.event", {"i": i, "subject": f"s{i:04d}"})


def test_database_refuses_update_and_delete_of_audit_rows(reg: Registry) -> None:
    _fill(reg, 2)
    for sql in ("UPDATE audit_log SET payload = '{}' WHERE seq = 1",
                "DELETE FROM audit_log WHERE seq = 2"):
        with pytest.raises(DBAPIError, match="append-only"), reg.engine.begin() as conn:
            conn.execute(text(sql))
    assert reg.verify_audit().ok


def test_edited_payload_is_detected(reg: Registry) -> None:
    _fill(reg)
    _tamper(reg, """UPDATE audit_log SET payload = '{"i":2,"subject":"s9999"}' WHERE seq = 3""")
    v = reg.verify_audit()
    assert (v.ok, v.first_bad, v.entries) == (False, 3, 3)
    assert "entry 3 was modified" in v.reason


def test_rehashed_entry_breaks_the_next_link(reg: Registry) -> None:
    _fill(reg)
    e = reg.audit_entries()[1]
    forged = entry_hash(e.seq, e.timestamp, e.event, {"i": 99}, e.prev_hash)
    _tamper(reg, f"""UPDATE audit_log SET payload = '{{"i":99}}', hash = '{forged}'
                     WHERE seq = 2""")
    v = reg.verify_audit()
    assert (v.ok, v.first_bad) == (False, 3)
    assert "does not link to entry 2" in v.reason


def test_deleted_entry_is_detected(reg: Registry) -> None:
    _fill(reg)
    _tamper(reg, "DELETE FROM audit_log WHERE seq = 4")
    v = reg.verify_audit()
    assert (v.ok, v.first_bad) == (False, 5)
    assert "removed or inserted" in v.reason


def test_verify_chain_pure() -> None:
    h1 = entry_hash(1, "t", "e", {}, GENESIS_HASH)
    assert verify_chain([(1, "t", "e", "{}", GENESIS_HASH, h1)]).ok
    bad = verify_chain([(1, "t", "e", "not json", GENESIS_HASH, h1)])
    assert not bad.ok and bad.first_bad == 1 and "not valid JSON" in bad.reason
    assert verify_chain([(2, "t", "e", "{}", GENESIS_HASH, h1)]).first_bad == 2


@pytest.mark.parametrize(
    ("event", "payload", "match"),
    [
        ("Forget Apply", {}, "dotted lower-case"),
        ("forget.apply", {"name": "s0001"}, "personal data"),
        ("forget.apply", {"who": {"email": "x"}}, "personal data"),
        ("forget.apply", {"subject": "jane@example.org"}, "e-mail"),
        ("forget.apply", {"files": [1, float("nan")]}, "finite"),
        ("forget.apply", {"when": object()}, "JSON values"),
        ("forget.apply", ["not", "a", "dict"], "must be a dict"),
    ],
)
def test_bad_audit_input_is_refused(reg: Registry, event: str, payload: object,
                                    match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        reg.audit(event, payload)  # type: ignore[arg-type]
    assert reg.audit_entries() == []


def test_anchor_catches_entries_cut_off_the_end(reg: Registry) -> None:
    _fill(reg, 4)
    head = reg.verify_audit()
    assert (head.head_seq, head.head_hash) == (4, reg.audit_entries()[-1].hash)
    _fill(reg, 2)
    assert reg.verify_audit(anchor=(head.head_seq, head.head_hash)).ok
    # Without an anchor, removing the newest entries leaves a valid (shorter) chain...
    _tamper(reg, "DELETE FROM audit_log WHERE seq >= 3")
    assert reg.verify_audit().ok
    # ...the anchor kept outside the database exposes it.
    v = reg.verify_audit(anchor=(head.head_seq, head.head_hash))
    assert (v.ok, v.first_bad) == (False, 3) and "entries 3..4 were removed" in v.reason


def test_anchor_catches_a_rewritten_chain() -> None:
    h1 = entry_hash(1, "t", "e", {}, GENESIS_HASH)
    rows = [(1, "t", "e", "{}", GENESIS_HASH, h1)]
    assert verify_chain(rows, anchor=(1, h1)).ok
    v = verify_chain(rows, anchor=(1, "f" * 64))
    assert not v.ok and v.first_bad == 1 and "anchor" in v.reason
