"""Prefect's API database: flow runs whose parameters, name, tags or logs name the subject.

A flow run keeps its parameters (``forget(subject="s0042")``, ``ingest(subjects=[...])``) and
its log lines in Prefect's database for as long as the run exists. The library sees that
database only through :class:`FlowRunCatalog` (the Prefect client implementation lives in
``tasks/forget.py``, so this package imports no Prefect):

* plan: every run whose name/parameters/tags/state message or log lines match the subject's
  pseudonym gets a ``delete_flow_run`` action, except the run carrying out the forget, which
  cannot delete itself: the forget flow replaces the pseudonym in its own parameters
  (:func:`redact_current`) before verifying;
* verify: no run may still name the subject, and no log line may either (Prefect has no API to
  delete a log line: the lines of deleted runs become orphans that Prefect's ``db_vacuum``
  service removes, see the hit's message).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Protocol

from headforge.privacy.forget.model import Action, Hit, Kind

STORE = "prefect-api"
REDACTED = "<forgotten>"
"""What replaces the pseudonym in the parameters of the forget's own flow run."""


class FlowRunCatalog(Protocol):
    """Flow runs and logs of a Prefect API (implemented with the Prefect client)."""

    def current_run(self) -> str | None:
        """Id of the flow run this process is executing (None outside a flow)."""
        ...

    def iter_runs(self) -> Iterator[tuple[str, bytes]]:
        """(flow run id, JSON of its name, parameters and tags) for every flow run."""
        ...

    def iter_logs(self, text: str) -> Iterator[tuple[str | None, bytes]]:
        """(flow run id or None, message) of the log lines containing ``text`` (a superset is
        fine: the caller applies the pseudonym pattern)."""
        ...

    def delete_run(self, run_id: str) -> None:
        """Delete a flow run (and its task runs) through the API."""
        ...

    def redact_run(self, run_id: str, pattern: re.Pattern[bytes]) -> None:
        """Replace every parameter/tag value matching ``pattern`` by :data:`REDACTED`."""
        ...


def redact_value(value: Any, pattern: re.Pattern[bytes]) -> Any:
    """``value`` (JSON-like) with every string matching ``pattern`` replaced by REDACTED."""
    if isinstance(value, str):
        return REDACTED if pattern.search(value.encode()) else value
    if isinstance(value, list | tuple):
        return [redact_value(v, pattern) for v in value]
    if isinstance(value, dict):
        return {k: redact_value(v, pattern) for k, v in value.items()}
    return value


def scan_flow_runs(catalog: FlowRunCatalog, subject: str, pattern: re.Pattern[bytes]
                   ) -> tuple[list[Action], int, int]:
    """Actions for the runs naming the subject; (actions, runs checked, orphan log lines).

    Orphan log lines are lines naming the subject whose run is gone (or is this forget's own
    run, whose logs never name it): nothing the API can delete.
    """
    runs = dict(catalog.iter_runs())
    own = catalog.current_run()
    naming_logs: dict[str | None, int] = {}
    for run_id, msg in catalog.iter_logs(subject):
        if pattern.search(msg):
            naming_logs[run_id] = naming_logs.get(run_id, 0) + 1
    actions = []
    for run_id, blob in sorted(runs.items()):
        by_params = pattern.search(blob) is not None
        n_logs = naming_logs.pop(run_id, 0)
        if run_id == own or not (by_params or n_logs):
            continue
        why = "flow run parameters/name name the subject" if by_params else (
            f"{n_logs} log line(s) of the flow run name the subject")
        actions.append(Action(Kind.DELETE_FLOW_RUN, STORE, run_id, len(blob), why))
    orphans = sum(naming_logs.values())
    return actions, len(runs), orphans


def apply_flow_run(catalog: FlowRunCatalog, action: Action) -> int:
    """Carry out one ``delete_flow_run`` action; returns the bytes of the record removed."""
    catalog.delete_run(action.target)
    return action.size


def redact_current(catalog: FlowRunCatalog, pattern: re.Pattern[bytes]) -> bool:
    """Replace the pseudonym in the parameters/tags of the running flow run; False outside
    a flow run."""
    own = catalog.current_run()
    if own is None:
        return False
    catalog.redact_run(own, pattern)
    return True


def own_run_hit(catalog: FlowRunCatalog, pattern: re.Pattern[bytes]) -> Hit | None:
    """A verify hit when the running flow run itself still names the subject."""
    own = catalog.current_run()
    for run_id, blob in catalog.iter_runs() if own else ():
        if run_id == own and pattern.search(blob):
            return Hit(STORE, run_id, "this forget's own flow run still names the subject in "
                       "its parameters (redact_current was not run)")
    return None


def orphan_log_hit(n: int) -> Hit:
    """The verify hit for log lines naming the subject that no API call can remove."""
    return Hit(STORE, "logs", f"{n} Prefect log line(s) name the subject; Prefect has no API to "
               "delete log lines: the runs holding them were deleted, so Prefect's db_vacuum "
               "service removes them (PREFECT_SERVER_SERVICES_DB_VACUUM_ENABLED must include "
               "'orphans'), or delete them from the Prefect database's log table; then run "
               "the forget again")
