"""Plain records of a deletion: actions, the plan, what apply did and what verify found."""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections import Counter
from typing import Any

from headforge.privacy.forget.markers import ContentIndex


class Kind(enum.StrEnum):
    """What one action does."""

    DELETE = "delete"
    """Remove a workspace file (or a Prefect result, a DVC state database)."""
    REWRITE_MANIFEST = "rewrite_manifest"
    """Rewrite a Parquet manifest without the subject's rows."""
    REDACT = "redact"
    """Rewrite a text log without the lines that name the subject."""
    DELETE_MODEL = "delete_model"
    """Remove a model trained on the subject (its retraining is queued)."""
    DELETE_OBJECT = "delete_object"
    """Remove a content-addressed object from the DVC cache or a remote."""
    DELETE_RUN = "delete_run"
    """Remove a DVC run-cache entry that names the subject's objects."""
    DELETE_FLOW_RUN = "delete_flow_run"
    """Delete a Prefect flow run naming the subject (the forget's own run: redact it)."""
    RECOMMIT = "recommit"
    """``dvc commit -f`` a ``.dvc`` data source whose folder lost the subject's files."""
    QUEUE_RETRAIN = "queue_retrain"
    """Write ``results/<stage>/RETRAIN_REQUESTED.json`` for a model stage."""
    DELETE_LINEAGE = "delete_lineage"
    """Drop the subject's lineage records from the registry."""
    WITHDRAW = "withdraw"
    """Mark the subject's consents withdrawn."""


PHASES: dict[Kind, int] = {
    Kind.DELETE: 0, Kind.REWRITE_MANIFEST: 0, Kind.REDACT: 0, Kind.DELETE_MODEL: 0,
    Kind.DELETE_OBJECT: 1, Kind.DELETE_RUN: 2, Kind.DELETE_FLOW_RUN: 2, Kind.RECOMMIT: 3, Kind.QUEUE_RETRAIN: 4,
    Kind.DELETE_LINEAGE: 5, Kind.WITHDRAW: 6,
}
"""Apply order: data first, registry last (so a crashed run can re-plan from lineage)."""

DATA_KINDS = frozenset(k for k, p in PHASES.items() if p <= 2)


@dataclasses.dataclass(frozen=True)
class StoreName:
    """The store of an action or hit: the place (family) that owns it and, for places holding
    several stores, which one. ``remote:s3`` is ``StoreName("remote", "s3")``,
    ``run-cache:cache`` is ``StoreName("run-cache", "cache")``, ``workspace`` is
    ``StoreName("workspace")``. The only code that splits or builds store names."""

    family: str
    """The place: a name registered in :data:`headforge.privacy.forget.places.PLACES`."""
    detail: str = ""
    """Which store of the place (a DVC remote's name); empty for places with one store."""

    @classmethod
    def parse(cls, text: str) -> StoreName:
        family, _, detail = text.partition(":")
        return cls(family, detail)

    def __str__(self) -> str:
        return f"{self.family}:{self.detail}" if self.detail else self.family


@dataclasses.dataclass(frozen=True)
class Action:
    """One idempotent step of a deletion."""

    kind: Kind
    store: str
    """``workspace``, ``cache``, ``remote:<name>``, ``run-cache:<store>``, ``prefect``,
    ``prefect-api`` (flow runs), ``dvc-state``, ``dvc`` or ``registry``: a :class:`StoreName`
    whose family is the place that applies the action."""
    target: str
    """Path relative to the project root (workspace), object id, run-cache key, absolute path
    (Prefect storage, DVC state) or a registry target."""
    size: int = 0
    reason: str = ""
    stage: str | None = None
    """The pipeline stage whose output this is (rerun or retrained afterwards)."""
    data: tuple[str, ...] = ()
    """Extra arguments (artifacts of a lineage deletion or a retraining request)."""

    @property
    def store_name(self) -> StoreName:
        return StoreName.parse(self.store)

    @property
    def id(self) -> str:
        return hashlib.sha256(f"{self.kind}|{self.store}|{self.target}".encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["kind"] = self.kind.value
        d["data"] = list(self.data)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Action:
        return cls(Kind(d["kind"]), d["store"], d["target"], int(d.get("size", 0)),
                   d.get("reason", ""), d.get("stage"), tuple(d.get("data", ())))


def store_family(store: str) -> str:
    """``remote:s3`` -> ``remote``; ``run-cache:cache`` -> ``run-cache``."""
    return StoreName.parse(store).family


@dataclasses.dataclass
class ForgetPlan:
    """Everything a deletion of one subject will do, in apply order."""

    subject: str
    digest: str
    """Salted SHA-256 of the subject id (what the audit log keeps)."""
    scope: str | None
    """None: everything of the subject; else only what that consent scope covered."""
    actions: list[Action]
    index: ContentIndex
    """Hashes (and fragments) of the subject's content, for verify."""
    subject_oids: set[str] = dataclasses.field(default_factory=set)
    """DVC object ids holding the subject's data (every recorded version)."""
    retrain: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    """Model stage -> model artifacts deleted because they were trained on the subject."""
    retrain_stages: list[str] = dataclasses.field(default_factory=list)
    """DVC stages that rebuild those models (``dvc repro <stage>``)."""
    regenerate: list[str] = dataclasses.field(default_factory=list)
    """Stages whose outputs change (``dvc repro`` reruns them)."""
    shared_kept: int = 0
    """Objects byte-identical to another subject's file, kept (they identify no one)."""
    review: list[str] = dataclasses.field(default_factory=list)
    """Another subject's files that mention this subject: left alone, listed for a human."""
    notes: list[str] = dataclasses.field(default_factory=list)
    revisions: int = 0
    """dvc.lock / .dvc file versions read from git history and the workspace."""

    def __post_init__(self) -> None:
        self.actions.sort(key=lambda a: (PHASES[a.kind], a.store, a.target))

    @property
    def data_actions(self) -> list[Action]:
        return [a for a in self.actions if a.kind in DATA_KINDS]

    @property
    def is_empty(self) -> bool:
        """Nothing of the subject is left anywhere (the registry steps alone do not count)."""
        return not self.data_actions

    def counts(self) -> dict[str, int]:
        """Number of actions per store family and kind, e.g. ``workspace.delete``."""
        c = Counter(f"{store_family(a.store)}.{a.kind.value}" for a in self.actions)
        return dict(sorted(c.items()))

    def bytes_by_store(self) -> dict[str, int]:
        c: Counter[str] = Counter()
        for a in self.data_actions:
            c[store_family(a.store)] += a.size
        return dict(sorted(c.items()))

    @property
    def total_bytes(self) -> int:
        return sum(a.size for a in self.data_actions)


@dataclasses.dataclass
class ApplyResult:
    """What an apply did."""

    done: int
    """Actions completed in this run."""
    skipped: int
    """Actions already done by an earlier (interrupted) run, per the journal."""
    bytes_freed: int
    failed: list[str] = dataclasses.field(default_factory=list)
    """``<kind> <store>: <error>`` for actions that could not be completed."""
    retrain_requests: list[str] = dataclasses.field(default_factory=list)
    """Paths of the retraining requests written (relative to the project root)."""


@dataclasses.dataclass(frozen=True)
class Hit:
    """One place where verify still found the subject."""

    store: str
    target: str
    reason: str


@dataclasses.dataclass
class VerifyResult:
    """Outcome of the post-deletion scan."""

    ok: bool
    hits: list[Hit]
    checked: dict[str, int]
    """Files/objects/entries examined per store family."""

    def summary(self) -> dict[str, Any]:
        fam = Counter(store_family(h.store) for h in self.hits)
        return {"ok": self.ok, "hits": dict(sorted(fam.items())), "checked": self.checked}
