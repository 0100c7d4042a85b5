"""The place registry: store names parse one way, every store family is a place, and a new
place (one module + one registry line; here a fake registered for the test) is planned,
applied, verified and listed by ``headforge forget --help``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from headforge.privacy import Registry
from headforge.privacy.forget import (
    PLACES,
    Action,
    ForgetSettings,
    Hit,
    Kind,
    Place,
    StoreName,
    build_plan,
    forget_subject,
    format_plan,
)
from headforge.privacy.forget.apply import Applier
from headforge.privacy.forget.places import place_of
from headforge.privacy.forget.scan import Detection, ScanContext
from headforge.privacy.forget.verify import VerifyContext


@pytest.mark.parametrize(("text", "family", "detail"), [
    ("workspace", "workspace", ""), ("remote:s3", "remote", "s3"),
    ("run-cache:cache", "run-cache", "cache"), ("prefect-api", "prefect-api", ""),
    ("remote:a:b", "remote", "a:b")])
def test_store_names_parse_and_print_back(text: str, family: str, detail: str) -> None:
    name = StoreName.parse(text)
    assert name == StoreName(family, detail) and str(name) == text
    assert Action(Kind.DELETE_OBJECT, text, "x").store_name == name


def test_every_store_family_is_a_registered_place() -> None:
    assert PLACES.names() == ("workspace", "cache", "remote", "run-cache", "prefect",
                              "prefect-api", "dvc-state", "git", "dvc", "registry")
    for place in PLACES.entries():  # each module's ENTRY loads under its registered name
        assert isinstance(place, Place) and place.summary
    assert place_of("run-cache:s3").name == "run-cache"
    assert place_of("remote:s3") is PLACES.get("remote")


class Notes:
    """A fake place: text notes in a folder outside the project (say, a ticket system)."""

    def __init__(self, folder: Path, really_delete: bool = True) -> None:
        self.folder, self.really_delete = folder, really_delete
        self.applied: list[str] = []
        self.verified = 0

    def scan(self, ctx: ScanContext, det: Detection) -> None:
        files = sorted(self.folder.glob("*.txt"))
        det.checked["notes"] = len(files)
        for p in files:
            if ctx.markers.pattern.search(p.read_bytes()):
                det.actions.append(Action(Kind.DELETE, "notes", p.name, p.stat().st_size,
                                          "note naming the subject"))

    def apply(self, ap: Applier, a: Action) -> int:
        self.applied.append(a.target)
        p = self.folder / a.target
        size = p.stat().st_size if p.is_file() else 0
        if self.really_delete:
            p.unlink(missing_ok=True)
        return size

    def verify(self, vc: VerifyContext) -> list[Hit]:
        self.verified += 1
        return []

    def place(self) -> Place:
        return Place("notes", "notes of a ticket system", scan=self.scan, apply=self.apply,
                     verify=self.verify)


@pytest.fixture
def notes(case: Path) -> Path:
    folder = case / "notes"
    folder.mkdir()
    (folder / "t1.txt").write_text("ticket: subject s0001 asked to be forgotten\n")
    (folder / "t2.txt").write_text("ticket: s0002 changed their e-mail\n")
    return folder


def test_a_new_place_is_planned_applied_and_verified(notes: Path, reg: Registry,
                                                     settings: ForgetSettings) -> None:
    fake = Notes(notes)
    with PLACES.registered(fake.place()):
        plan = build_plan(settings, reg, "s0001", create_salt=False)
        assert [(a.store, a.target) for a in plan.actions if a.store == "notes"] == [
            ("notes", "t1.txt")]
        assert plan.counts()["notes.delete"] == 1
        assert "\n  notes " in format_plan(plan)  # the preview's line per place
        out = forget_subject(settings, reg, "s0001")
    assert "notes" not in PLACES  # the block restored the registry
    assert out.status == "forgotten", out.verify
    assert fake.applied == ["t1.txt"] and fake.verified == 1
    assert out.verify is not None and out.verify.checked["notes"] == 1
    assert sorted(p.name for p in notes.iterdir()) == ["t2.txt"]  # the other subject's stays


def test_verify_rescans_a_new_place(notes: Path, reg: Registry,
                                    settings: ForgetSettings) -> None:
    fake = Notes(notes, really_delete=False)  # its apply forgets to delete
    with PLACES.registered(fake.place()):
        out = forget_subject(settings, reg, "s0001")
    assert out.status == "incomplete" and out.verify is not None
    assert [(h.store, h.target) for h in out.verify.hits] == [("notes", "t1.txt")]


def test_forget_help_lists_the_registered_places() -> None:
    from headforge.privacy import forget_cli

    main = typer.Typer()
    main.add_typer(forget_cli.app)
    fake = dataclasses.replace(Notes(Path()).place(), name="ticket-notes")
    with PLACES.registered(fake):
        out = "".join(CliRunner().invoke(main, ["forget", "--help"]).output.split())
    assert "Placesitcleans:workspace,cache,remote,run-cache," in out and "ticket-notes" in out
    assert "ticket-notes" not in "".join(CliRunner().invoke(main, ["forget", "--help"])
                                         .output.split())
