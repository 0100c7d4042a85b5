"""Benchmark suites: YAML files naming captures, their terms and the protocol's tasks.

A suite lives in ``suites/<name>.yaml`` under the project root::

    name: default
    realdata: ../shared/realdata      # relative to the project root
    protocol: {fps: 2.0, max_frames: 24, test_frames: 4, shots: [1, 3], photo_inputs: 3}
    captures:
      d3: {source: realdata:liveportrait_d3.mp4, terms: internal, note: "..."}
      astronaut: {source: portrait:astronaut, terms: public}
    self_reenactment: [d3]
    photo_set: [d3]
    cross_reenactment: [{source: astronaut, driver: d3}]

Sources: ``realdata:<file>`` (a video in the realdata folder), ``portrait:<name>`` (one
public-domain photo: ``astronaut`` from scikit-image, ``grace_hopper`` from matplotlib; one
frame, so only a cross-reenactment source) and ``portrait_clip:<name>`` (a short clip made from
that photo by a slow in-plane roll and zoom, for smoke runs without the real clips). Terms:
``public`` (grids may be published) or ``internal`` (grids stay under ``results/``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal

import yaml

from headforge.invert.views import INPUT_RULES

Terms = Literal["public", "internal"]
SOURCE_KINDS = ("realdata", "portrait", "portrait_clip")
PORTRAITS = ("astronaut", "grace_hopper")


class SuiteError(ValueError):
    """A suite file is missing or malformed; the message names the fix."""


@dataclasses.dataclass(frozen=True)
class Protocol:
    """How every capture of a suite is sampled and split (docs/benchmark.md)."""

    fps: float = 2.0
    """Frames per second sampled from each clip."""
    max_frames: int = 24
    """At most this many frames per clip (evenly over the clip)."""
    test_frames: int = 4
    """Self-reenactment / cross-reenactment: the clip's last K frames are scored (never input)."""
    shots: tuple[int, ...] = (1, 3)
    """Self-reenactment input counts N, chosen among the other frames by ``input_rule``."""
    input_rule: Literal["calm_views", "expression_spread"] = "calm_views"
    """Self-reenactment inputs (:func:`headforge.invert.views.pick_frames`): ``calm_views``
    the calmest, most frontal frame, then frames far apart in head pose among the calmer half
    of the clip; ``expression_spread`` farthest-point sampling in expression space from the
    first frame (the protocol before 2026-12)."""
    photo_inputs: int = 3
    """Photo set: inputs; they and the scored photo are the frames farthest apart in head
    pose (farthest-point sampling from the most frontal frame; the last one picked is scored)."""
    portrait_clip_frames: int = 8
    """Frames of a ``portrait_clip`` source."""


@dataclasses.dataclass(frozen=True)
class Capture:
    """One capture of a suite."""

    name: str
    kind: Literal["realdata", "portrait", "portrait_clip"]
    ref: str
    """File name (realdata) or portrait name."""
    terms: Terms
    note: str = ""

    @property
    def public(self) -> bool:
        return self.terms == "public"


@dataclasses.dataclass(frozen=True)
class Suite:
    """A parsed suite file."""

    name: str
    realdata: str
    protocol: Protocol
    captures: dict[str, Capture]
    self_reenactment: tuple[str, ...]
    photo_set: tuple[str, ...]
    cross_reenactment: tuple[tuple[str, str], ...]
    """(source, driver) pairs."""

    def realdata_dir(self, root: Path, override: str = "") -> Path:
        """The realdata folder (``override`` first), checked when a capture needs it."""
        p = Path(override or self.realdata)
        p = p if p.is_absolute() else (root / p)
        need = sorted(c.ref for c in self.captures.values() if c.kind == "realdata")
        missing = [n for n in need if not (p / n).is_file()]
        if missing:
            raise SuiteError(
                f"suite {self.name!r} needs {missing} in {p.resolve()} (its realdata folder, "
                f"{self.realdata!r} relative to the project root) and it is not there: put "
                "the clips there (see shared/realdata/README.md), pass --realdata <folder>, "
                "or run the smoke suite: headforge benchmark --suite tiny")
        return p.resolve()


def _require(d: dict[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise SuiteError(f"{where}: missing key {key!r}")
    return d[key]


def parse_suite(raw: dict[str, Any], where: str = "suite") -> Suite:
    """Validate a suite mapping (unknown keys, unknown captures, bad sources are errors)."""
    known = {"name", "realdata", "protocol", "captures", "self_reenactment", "photo_set",
             "cross_reenactment"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SuiteError(f"{where}: unknown key(s) {unknown}; known keys are {sorted(known)}")
    pfields = {f.name for f in dataclasses.fields(Protocol)}
    praw = dict(raw.get("protocol") or {})
    bad = sorted(set(praw) - pfields)
    if bad:
        raise SuiteError(f"{where}: protocol: unknown key(s) {bad}; known are {sorted(pfields)}")
    if "shots" in praw:
        praw["shots"] = tuple(int(s) for s in praw["shots"])
    protocol = Protocol(**praw)
    if protocol.input_rule not in INPUT_RULES:
        raise SuiteError(f"{where}: protocol.input_rule {protocol.input_rule!r} is not one of "
                         f"{list(INPUT_RULES)}")
    captures: dict[str, Capture] = {}
    for name, c in (_require(raw, "captures", where) or {}).items():
        src = str(_require(c, "source", f"{where}: captures.{name}"))
        kind, _, ref = src.partition(":")
        if kind not in SOURCE_KINDS or not ref:
            raise SuiteError(f"{where}: captures.{name}.source {src!r} must be one of "
                             f"{[k + ':<name>' for k in SOURCE_KINDS]}")
        if kind != "realdata" and ref not in PORTRAITS:
            raise SuiteError(f"{where}: captures.{name}: portrait {ref!r} is not one of "
                             f"{PORTRAITS}")
        terms = c.get("terms")
        if terms not in ("public", "internal"):
            raise SuiteError(f"{where}: captures.{name}.terms must be public or internal "
                             "(internal: its frames and grids never leave results/)")
        captures[str(name)] = Capture(str(name), kind, ref, terms,  # type: ignore[arg-type]
                                      str(c.get("note", "")))

    def names(key: str) -> tuple[str, ...]:
        out = tuple(str(n) for n in raw.get(key) or ())
        for n in out:
            if n not in captures:
                raise SuiteError(f"{where}: {key} names {n!r}, which is not under captures")
            if captures[n].kind == "portrait":
                raise SuiteError(f"{where}: {key}: {n!r} is a single photo: it can only be a "
                                 "cross_reenactment source")
        return out

    cross = []
    for pair in raw.get("cross_reenactment") or ():
        s, d = str(_require(pair, "source", where)), str(_require(pair, "driver", where))
        for n in (s, d):
            if n not in captures:
                raise SuiteError(f"{where}: cross_reenactment names {n!r}, not under captures")
        if captures[d].kind == "portrait":
            raise SuiteError(f"{where}: cross_reenactment driver {d!r} is a single photo")
        cross.append((s, d))
    return Suite(name=str(_require(raw, "name", where)),
                 realdata=str(raw.get("realdata", "../shared/realdata")), protocol=protocol,
                 captures=captures, self_reenactment=names("self_reenactment"),
                 photo_set=names("photo_set"), cross_reenactment=tuple(cross))


def suite_path(root: Path, name: str) -> Path:
    return root / "suites" / f"{name}.yaml"


def load_suite(root: Path, name: str) -> Suite:
    """``<root>/suites/<name>.yaml``, validated."""
    p = suite_path(root, name)
    if not p.is_file():
        have = sorted(q.stem for q in (root / "suites").glob("*.yaml"))
        raise SuiteError(f"suite {name!r}: {p} not found; suites here: {have}")
    return parse_suite(yaml.safe_load(p.read_text()) or {}, str(p))
