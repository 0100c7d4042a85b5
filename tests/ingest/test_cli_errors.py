"""Through the ``headforge`` command, every rejected capture is one line on stderr and a
non-zero exit code, never a traceback (``--debug`` brings the traceback back), nothing is
written, and MediaPipe's TensorFlow Lite chatter does not reach stderr (``--verbose`` shows it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from capture_builders import bomb_png_bytes, grant, make_nersemble, snapshot, write_png
from typer.testing import CliRunner

from headforge.cli import app
from headforge.demo import two_person_photo
from headforge.ingest import CaptureError
from headforge.privacy import Registry

SID = "cli-s01"
TFLITE = ("TensorFlow Lite", "inference_feedback_manager", "absl::InitializeLog")


def _two_people(root: Path, astronaut: np.ndarray) -> None:
    write_png(root / "inbox" / SID / "pair.png", two_person_photo())


def _bomb(root: Path, astronaut: np.ndarray) -> None:
    (root / "inbox" / SID).mkdir()
    (root / "inbox" / SID / "big.png").write_bytes(bomb_png_bytes(12000))


def _link(root: Path, astronaut: np.ndarray) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    (root / "inbox" / SID / "b.png").symlink_to("/etc/passwd")


def _deep_json(root: Path, astronaut: np.ndarray) -> None:
    make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    (root / "inbox" / SID / "calibration" / "camera_params.json").write_text(
        "[" * 100_000 + "]" * 100_000)


def _newline_name(root: Path, astronaut: np.ndarray) -> None:
    write_png(root / "inbox" / SID / "a\nb.png", astronaut)


def _bad_params(root: Path, astronaut: np.ndarray) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    p = root / "params.yaml"
    p.write_text(p.read_text().replace("  resolution: 128", "  resolution: big"))


def _no_consent(root: Path, astronaut: np.ndarray) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)


CASES: dict[str, tuple[Callable[[Path, np.ndarray], None], int, str]] = {
    "two people": (_two_people, 2, "2 faces in the picture"),
    "decompression bomb": (_bomb, 2, "12000x12000 is 144,000,000 pixels, over the limit"),
    "link out": (_link, 2, "symbolic link to '/etc/passwd'"),
    "deep json": (_deep_json, 2, "nested 100000 levels deep"),
    "newline in a name": (_newline_name, 2, "photo name 'a\\nb' is not allowed"),
    "bad params": (_bad_params, 2, "resolution"),
    "no consent": (_no_consent, 3, "no valid 'capture' consent"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_rejection_is_one_line(
    case: str, astronaut: np.ndarray, root: Path, registry: Registry
) -> None:
    make, code, message = CASES[case]
    make(root, astronaut)
    if case != "no consent":
        grant(registry, SID)
    else:
        registry.add_subject(SID)
    before = snapshot(root)
    res = CliRunner().invoke(app, ["ingest", "run", "--subject", SID])
    lines = res.stderr.splitlines()
    assert res.exit_code == code, res.output
    assert len(lines) == 1, f"expected exactly one error line, got: {res.stderr!r}"
    assert lines[0].startswith("refused: " if code == 3 else "error: ")
    assert message in lines[0], lines[0]
    assert "Traceback" not in res.output and res.stdout == ""
    assert snapshot(root) == before, "a refused ingest must not write anything"


def test_debug_shows_the_traceback(astronaut: np.ndarray, root: Path, registry: Registry,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    _link(root, astronaut)
    grant(registry, SID)
    monkeypatch.setenv("HEADFORGE_DEBUG", "")  # --debug sets it; restored (unset) after
    res = CliRunner().invoke(app, ["--debug", "ingest", "run", "--subject", SID])
    assert isinstance(res.exception, CaptureError) and res.exit_code == 1


def test_a_bug_keeps_its_traceback(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import headforge.ingest.entry as ingest

    def broken(*a: object, **k: object) -> list[str]:
        raise ValueError("a plain ValueError is a bug, not bad input")

    monkeypatch.setattr(ingest, "list_subjects", broken)
    res = CliRunner().invoke(app, ["ingest", "run"])
    assert isinstance(res.exception, ValueError) and res.exit_code == 1


def _headforge(args: list[str], root: Path, **env: str) -> subprocess.CompletedProcess[str]:
    src = Path(__file__).resolve().parents[2] / "src"
    full = {k: v for k, v in os.environ.items() if k not in ("HEADFORGE_LOG_LEVEL",
                                                             "HEADFORGE_DEBUG")}
    full.update(HEADFORGE_ROOT=str(root), **env,
                PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "headforge.cli", *args], cwd=root, env=full,
                          capture_output=True, text=True, timeout=600)


def test_subprocess_one_line_and_no_tflite_noise(
    astronaut: np.ndarray, root: Path, registry: Registry
) -> None:
    """A real process (stderr is the file descriptor MediaPipe writes to): the rejection of a
    two-person photo is one line, with no TensorFlow Lite lines before it; with --verbose
    those lines are there (so this test can see them)."""
    _two_people(root, astronaut)
    grant(registry, SID)
    before = snapshot(root)
    quiet = _headforge(["ingest", "run", "--subject", SID], root)
    assert quiet.returncode == 2, quiet.stderr
    assert quiet.stderr.splitlines() == [quiet.stderr.strip()], quiet.stderr
    assert quiet.stderr.startswith("error: ") and "2 faces" in quiet.stderr
    loud = _headforge(["--verbose", "ingest", "run", "--subject", SID], root)
    assert loud.returncode == 2
    assert any(t in loud.stderr for t in TFLITE), loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip()
    assert snapshot(root) == before


def test_successful_ingest_prints_no_tflite_lines(
    astronaut: np.ndarray, root: Path, registry: Registry
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    grant(registry, SID)
    res = _headforge(["ingest", "run", "--subject", SID], root)
    assert res.returncode == 0, res.stderr
    assert not any(t in res.stderr for t in TFLITE), res.stderr
    assert res.stderr == "", res.stderr
    assert f"ingested {SID}: 1 images" in res.stdout
    info = json.loads((root / "data" / "captures" / SID / "capture.json").read_text())
    assert info["faces_removed"] == 0


def test_every_command_is_wrapped() -> None:
    """Every sub-command of ``headforge`` (sub-apps included) goes through cli_errors."""
    import typer

    seen: list[str] = []

    def walk(t: typer.Typer, prefix: str) -> None:
        for cmd in t.registered_commands:
            name = cmd.name or (cmd.callback.__name__ if cmd.callback else "?")
            seen.append(f"{prefix}{name}")
            assert getattr(cmd.callback, "__headforge_friendly__", False), f"{prefix}{name}"
        for g in t.registered_groups:
            if g.typer_instance is not None:
                walk(g.typer_instance, f"{prefix}{g.name or ''} ")

    walk(app, "")
    assert {"ingest run", "version", "demo", "consent grant"} <= {s.strip() for s in seen}
    assert len(seen) >= 20


def test_missing_file_is_one_line(tmp_path: Path, root: Path) -> None:
    """A file that is not there."""
    res = CliRunner().invoke(app, ["ingest", "show", "--manifest", str(tmp_path / "nope.ply")])
    assert res.exit_code == 2, res.output
    assert len(res.stderr.splitlines()) == 1 and "nope.ply" in res.stderr, res.stderr
    assert "Traceback" not in res.output
