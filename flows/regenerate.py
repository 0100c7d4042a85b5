"""Scheduled refresh of the synthetic dataset: bump ``synth.version``, ``dvc repro``, ``dvc push``.

The lead's deployment runs this on ``regenerate.schedule``. A new version reseeds every
identity (identity seeds derive from ``(synth.seed, synth.version, index)``). DVC is driven as a
command (``python -m dvc``), never imported.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from headforge.context import Context
from headforge.io_utils import write_text_atomic

_SECTION = re.compile(r"^synth:[ \t]*(?:#.*)?$", re.M)
_TOP_KEY = re.compile(r"^\S", re.M)
_VERSION = re.compile(r"^(?P<indent>[ \t]+)version:[ \t]*(?P<value>\d+)", re.M)


def bump_version_text(text: str) -> tuple[str, int, int]:
    """``params.yaml`` text with ``synth.version`` (the shared key) incremented, comments kept.

    Returns (new text, old version, new version).
    """
    head = _SECTION.search(text)
    if head is None:
        raise ValueError("params.yaml has no top-level 'synth:' section; add one with a version")
    end = _TOP_KEY.search(text, head.end() + 1)
    body = text[head.end(): end.start() if end else len(text)]
    found = None
    for m in _VERSION.finditer(body):
        if len(m.group("indent")) == 2:  # the shared key, not one inside a profile block
            found = m
            break
    if found is None:
        raise ValueError("params.yaml: synth.version is missing; add 'version: 1' under synth")
    old = int(found.group("value"))
    start = head.end() + found.start("value")
    stop = head.end() + found.end("value")
    return text[:start] + str(old + 1) + text[stop:], old, old + 1


def _dvc(root: Path, *args: str) -> str:
    cmd = [sys.executable, "-m", "dvc", *args]
    res = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"`dvc {' '.join(args)}` failed in {root}:\n"
                           f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res.stdout


@task(name="bump-synth-version")
def bump_version(root: Path) -> int:
    """Increment ``synth.version`` in ``params.yaml``; returns the new version."""
    path = root / "params.yaml"
    text, old, new = bump_version_text(path.read_text())
    write_text_atomic(path, text)
    get_run_logger().info("synth.version %d -> %d", old, new)
    return new


@task(name="dvc-repro-synth")
def repro(root: Path, downstream: bool) -> str:
    """``dvc repro`` the synth stage, and the stages after it when ``downstream``."""
    if downstream:
        return _dvc(root, "repro", "--downstream", "synth")
    return _dvc(root, "repro", "--single-item", "synth")


@task(name="dvc-push", retries=2, retry_delay_seconds=30)
def push(root: Path) -> str:
    """Upload the new outputs to the DVC remote (network I/O: retried)."""
    return _dvc(root, "push")


@task(name="git-commit-regenerate")
def commit(root: Path, version: int) -> str:
    """Commit ``params.yaml`` and ``dvc.lock`` so the new version is reproducible."""
    files = [f for f in ("params.yaml", "dvc.lock") if (root / f).exists()]
    subprocess.run(["git", "add", *files], cwd=root, check=True)
    res = subprocess.run(["git", "commit", "-m", f"regenerate: synthetic dataset v{version}",
                          "--", *files], cwd=root, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"git commit failed: {res.stdout}{res.stderr}")
    return res.stdout


@flow(name="regenerate")
def regenerate(root: str | None = None, downstream: bool | None = None,
               push_outputs: bool | None = None, git_commit: bool = False) -> dict[str, Any]:
    """New synthetic dataset version: bump, reproduce, push (defaults from ``regenerate``)."""
    ctx = Context.load(root)
    base, cfg = ctx.root, ctx.params.regenerate
    downstream = cfg.downstream if downstream is None else downstream
    push_outputs = cfg.push if push_outputs is None else push_outputs
    version = bump_version(base)
    repro(base, downstream)
    if push_outputs:
        push(base)
    if git_commit:
        commit(base, version)
    return {"version": version, "downstream": downstream, "pushed": push_outputs,
            "committed": git_commit}


if __name__ == "__main__":
    print(regenerate())
