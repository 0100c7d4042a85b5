"""``headforge consent grant|withdraw|show|list`` and ``headforge audit verify|log``.

Every command takes ``--registry URL`` (default: ``$HEADFORGE_REGISTRY_URL``, else
``paths.registry_url`` in params.yaml). Registry errors print one line naming the fix and exit 2;
``audit verify`` exits 1 when the chain is broken.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer

from headforge.privacy.records import Consent, RegistryError, Scope
from headforge.privacy.registry import REGISTRY_URL_ENV, Registry

consent_app = typer.Typer(help="Grant, withdraw and inspect subjects' consents.",
                          no_args_is_help=True, add_completion=False)
audit_app = typer.Typer(help="Check and read the hash-chained audit log.",
                        no_args_is_help=True, add_completion=False)

RegistryOpt = typer.Option(
    None, "--registry", envvar=REGISTRY_URL_ENV,
    help="SQLAlchemy URL of the registry (default: paths.registry_url in params.yaml).")
JsonOpt = typer.Option(False, "--json", help="Print JSON instead of text.")


@contextlib.contextmanager
def _open(url: str | None) -> Iterator[Registry]:
    """The registry, with registry errors turned into one message and exit code 2."""
    try:
        reg = Registry.from_url(url) if url else Registry.from_config()
    except (RegistryError, ValueError) as e:
        _fail(str(e))
    try:
        yield reg
    except RegistryError as e:
        _fail(str(e))
    finally:
        reg.close()


def _fail(msg: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(code)


def _parse_time(value: str | None, option: str) -> datetime | None:
    """ISO date or datetime; without a zone it is taken as UTC."""
    if value is None:
        return None
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO date: use e.g. 2027-01-31 or 2027-01-31T12:00:00+00:00",
            param_hint=option) from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts else "-"


def _consent_dict(c: Consent) -> dict[str, Any]:
    return {"id": c.id, "subject": c.subject_id, "scope": c.scope.value, "status": c.status(),
            "evidence": c.evidence, "granted_at": c.granted_at.isoformat(),
            "valid_until": c.valid_until.isoformat() if c.valid_until else None,
            "retention_days": c.retention_days,
            "withdrawn_at": c.withdrawn_at.isoformat() if c.withdrawn_at else None}


@consent_app.command()
def grant(
    subject: str = typer.Argument(..., help="Pseudonymous subject id, e.g. s0042."),
    scope: list[Scope] = typer.Option(..., "--scope", "-s",
                                      help="What is allowed; repeat for several scopes."),
    evidence: str = typer.Option(..., "--evidence", "-e",
                                 help="Reference to the signed form (id or hash), not its text."),
    expires: str | None = typer.Option(None, "--expires",
                                       help="End of the consent (ISO date/time, UTC if no zone)."),
    retention_days: int | None = typer.Option(
        None, "--retention-days", min=1, help="Keep the data this many days after granting."),
    registry: str | None = RegistryOpt,
) -> None:
    """Record a consent of SUBJECT for each --scope (registering the subject if new)."""
    expires_at = _parse_time(expires, "--expires")
    with _open(registry) as reg:
        for sc in dict.fromkeys(scope):
            cid = reg.grant(subject, sc, evidence=evidence, expires_at=expires_at,
                            retention_days=retention_days)
            until = next(c.valid_until for c in reg.consents(subject) if c.id == cid)
            typer.echo(f"granted {sc.value} consent #{cid} for {subject} "
                       f"(valid until {_fmt(until) if until else 'withdrawn'})")


@consent_app.command()
def withdraw(
    subject: str = typer.Argument(..., help="Pseudonymous subject id."),
    scope: Scope | None = typer.Option(None, "--scope", "-s",
                                       help="Only this scope (default: every scope)."),
    registry: str | None = RegistryOpt,
) -> None:
    """Withdraw SUBJECT's active consents; their data must then be forgotten."""
    with _open(registry) as reg:
        n = reg.withdraw(subject, scope)
        what = scope.value if scope else "all"
        if n == 0:
            typer.echo(f"{subject} had no active {what} consent; nothing withdrawn")
            return
        typer.echo(f"withdrew {n} consent(s) of {subject} ({what}); "
                   f"{len(reg.lineage_for_subject(subject))} artifact(s) hold its data")


@consent_app.command()
def show(
    subject: str = typer.Argument(..., help="Pseudonymous subject id."),
    as_json: bool = JsonOpt,
    registry: str | None = RegistryOpt,
) -> None:
    """SUBJECT's consents (with their status now) and the artifacts derived from its data."""
    with _open(registry) as reg:
        if subject not in {s.id for s in reg.subjects()}:
            _fail(f"subject {subject!r} is not registered: see `headforge consent list`")
        cons = reg.consents(subject)
        arts = reg.lineage_for_subject(subject)
    if as_json:
        typer.echo(json.dumps({
            "subject": subject, "consents": [_consent_dict(c) for c in cons],
            "artifacts": [{"artifact": a.artifact, "sha256": a.sha256, "stage": a.stage}
                          for a in arts]}, indent=2))
        return
    typer.echo(f"subject {subject}")
    typer.echo(f"  {'id':>5}  {'scope':<12} {'status':<10} {'granted':<21} {'until':<21} "
               "evidence")
    for c in cons:
        end = _fmt(c.withdrawn_at) if c.withdrawn_at else _fmt(c.valid_until)
        typer.echo(f"  {c.id:>5}  {c.scope.value:<12} {c.status():<10} {_fmt(c.granted_at):<21} "
                   f"{end:<21} {c.evidence}")
    typer.echo(f"  {len(arts)} artifact(s) derived from its data")
    for a in arts:
        typer.echo(f"    [{a.stage}] {a.artifact}  {a.sha256[:12]}")


@consent_app.command("list")
def list_(
    as_json: bool = JsonOpt,
    registry: str | None = RegistryOpt,
) -> None:
    """Every subject with its current consent status per scope."""
    with _open(registry) as reg:
        subs = [s.id for s in reg.subjects()]
        by_subject: dict[str, dict[str, str]] = {s: {} for s in subs}
        for c in reg.consents():
            status = c.status()
            cur = by_subject[c.subject_id].get(c.scope.value)
            if cur != "valid":  # any valid consent of a scope wins over older ones
                by_subject[c.subject_id][c.scope.value] = status
    scopes = [s.value for s in Scope]
    if as_json:
        typer.echo(json.dumps(
            [{"subject": s, **{sc: by_subject[s].get(sc, "none") for sc in scopes}}
             for s in subs], indent=2))
        return
    typer.echo(f"{'subject':<20}" + "".join(f"{sc:<13}" for sc in scopes))
    for s in subs:
        typer.echo(f"{s:<20}" + "".join(f"{by_subject[s].get(sc, 'none'):<13}" for sc in scopes))
    typer.echo(f"{len(subs)} subject(s)")


def _parse_anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, _, digest = value.partition(":")
    if not seq.isdigit() or len(digest) != 64:
        raise typer.BadParameter(
            f"{value!r}: give SEQ:HASH as printed by an earlier `headforge audit verify`",
            param_hint="--anchor")
    return int(seq), digest.lower()


@audit_app.command()
def verify(
    anchor: str | None = typer.Option(
        None, "--anchor", help="SEQ:HASH head recorded earlier; the chain must still hold it."),
    registry: str | None = RegistryOpt,
) -> None:
    """Recompute the audit hash chain; exit 1 naming the first bad entry."""
    pinned = _parse_anchor(anchor)
    with _open(registry) as reg:
        result = reg.verify_audit(anchor=pinned)
    if not result.ok:
        typer.echo(f"audit log BROKEN at entry {result.first_bad}: {result.reason}", err=True)
        raise typer.Exit(1)
    typer.echo(f"audit log OK: {result.reason}")
    if result.head_seq:
        typer.echo(f"head {result.head_seq}:{result.head_hash}")


@audit_app.command()
def log(
    last: int = typer.Option(20, "--last", "-n", min=1, help="How many recent entries."),
    as_json: bool = JsonOpt,
    registry: str | None = RegistryOpt,
) -> None:
    """Print the most recent audit entries."""
    with _open(registry) as reg:
        total = reg.counts()["audit_log"]
        entries = reg.audit_entries(since_seq=max(0, total - last))
    for e in entries:
        if as_json:
            typer.echo(json.dumps({"seq": e.seq, "timestamp": e.timestamp, "event": e.event,
                                   "payload": e.payload, "hash": e.hash}, sort_keys=True))
        else:
            typer.echo(f"{e.seq:>6}  {e.timestamp}  {e.event:<18} "
                       f"{json.dumps(e.payload, sort_keys=True)}")
