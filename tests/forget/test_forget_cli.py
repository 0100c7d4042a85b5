"""``headforge forget`` / ``headforge retention``: flags map onto the flow invocations."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from headforge.privacy import forget_cli


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    seen: list[tuple[str, list[str]]] = []

    def fake(module: str, args: list[str]) -> int:
        seen.append((module, args))
        return 0

    monkeypatch.setattr(forget_cli, "_flow", fake)
    return seen


def _app() -> typer.Typer:
    main = typer.Typer()
    main.add_typer(forget_cli.app)  # how the lead registers it: top-level commands
    return main


def test_flags_reach_the_flow(calls) -> None:
    r = CliRunner().invoke(_app(), ["forget", "s0042", "--yes"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(_app(), ["forget", "--dry-run", "s0042", "--scope", "train_prior"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(_app(), ["retention", "--now", "2027-01-01T00:00:00+00:00"])
    assert r.exit_code == 0, r.output
    assert calls == [("flows.forget", ["s0042", "--yes"]),
                     ("flows.forget", ["s0042", "--dry-run", "--scope", "train_prior"]),
                     ("flows.retention", ["2027-01-01T00:00:00+00:00"])]


def test_without_yes_off_a_terminal_only_previews(calls) -> None:
    r = CliRunner().invoke(_app(), ["forget", "s0042"])
    assert r.exit_code == 0
    assert calls == [("flows.forget", ["s0042", "--dry-run"])]
    assert "--yes" in r.output
