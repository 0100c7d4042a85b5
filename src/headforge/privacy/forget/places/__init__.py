"""The places forget cleans: one list that scan, plan, apply, verify and ``--help`` all read.

A place is one family of stores (``workspace``, ``cache``, ``remote``, ``run-cache``,
``prefect``, ...): the first part of an action's store name (:class:`StoreName`). Each place
brings its own steps (:class:`Place`); the forget steps loop over :data:`PLACES` in
registration order, which is also the scan order (``workspace`` first: it indexes the
subject's files whose copies the later places look for).

A new place is one module defining ``ENTRY = Place(...)`` plus one ``PLACES.add_lazy(...)``
line below (tests add a fake with ``with PLACES.registered(place):``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable

from headforge.extensions import ExtensionPoint
from headforge.privacy.forget.model import StoreName

if typing.TYPE_CHECKING:
    from headforge.privacy.forget.apply import Applier
    from headforge.privacy.forget.model import Action, Hit
    from headforge.privacy.forget.plan import PlanContext
    from headforge.privacy.forget.scan import Detection, ScanContext
    from headforge.privacy.forget.verify import VerifyContext


@dataclasses.dataclass(frozen=True)
class Place:
    """One place forget cleans, and its steps (each optional)."""

    name: str
    """The store family its actions carry (``remote`` for ``remote:s3``)."""
    summary: str = ""
    """One line: what is cleaned there (``headforge forget --help`` lists it)."""
    scan: Callable[[ScanContext, Detection], None] | None = None
    """Find the subject's items: append one :class:`Action` per item to ``det.actions`` (and
    the number of items examined to ``det.checked[name]``). Run by the plan and again by
    verify, where every action found is a hit (something of the subject is left)."""
    plan: Callable[[PlanContext], list[Action]] | None = None
    """Actions that follow from what every place's scan found (re-recording a ``.dvc`` file,
    withdrawing consents); may add notes/review lines to the context. Plan only."""
    apply: Callable[[Applier, Action], int] | None = None
    """Carry out one action of this place (idempotent); returns the bytes freed."""
    verify: Callable[[VerifyContext], list[Hit]] | None = None
    """After apply: hits for what the re-scan cannot see (objects by planned id, lineage)."""
    scoped: bool = False
    """Also visited by a consent-scoped forget (which removes only lineage artifacts)."""


PLACES: ExtensionPoint[Place] = ExtensionPoint("forget place")
"""Every place forget cleans, in scan order."""

PLACES.add_lazy("workspace", "headforge.privacy.forget.places.workspace")
PLACES.add_lazy("cache", "headforge.privacy.forget.places.cache")
PLACES.add_lazy("remote", "headforge.privacy.forget.places.remote")
PLACES.add_lazy("run-cache", "headforge.privacy.forget.places.run_cache")
PLACES.add_lazy("prefect", "headforge.privacy.forget.places.prefect")
PLACES.add_lazy("prefect-api", "headforge.privacy.forget.places.prefect_api")
PLACES.add_lazy("dvc-state", "headforge.privacy.forget.places.dvc_state")
PLACES.add_lazy("git", "headforge.privacy.forget.places.git")
PLACES.add_lazy("dvc", "headforge.privacy.forget.places.dvc")
PLACES.add_lazy("registry", "headforge.privacy.forget.places.registry")


def place_of(store: str) -> Place:
    """The place owning the store named ``store`` (``remote:s3`` -> the ``remote`` place)."""
    return PLACES.get(StoreName.parse(store).family)


def visited(scoped: bool) -> list[Place]:
    """The places a forget visits: all of them, or for a consent-scoped one those marked
    ``scoped``."""
    return [p for p in PLACES.entries() if p.scoped or not scoped]
