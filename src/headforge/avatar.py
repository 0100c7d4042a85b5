"""One command from photos or a video to an avatar: consent, ingest, track, invert, score.

:func:`make_avatar` runs the same stage entries as the DVC pipeline (``headforge.ingest``,
``headforge.track``, ``headforge.invert``, ``headforge.evaluate``) for one subject, so the
avatar it writes is the one ``dvc repro`` would make of the same inputs; every file is recorded
in the registry's lineage, so ``headforge forget <subject>`` finds all of it.

Consent comes first: with ``evidence`` the ``capture`` and ``avatar`` consents are recorded
(kept when already valid); without it both must already be valid, and a refusal writes nothing.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from headforge.context import Context
from headforge.ingest.errors import CaptureError
from headforge.ingest.layout import IMAGE_EXTS, VIDEO_EXTS
from headforge.io_utils import sha256_file, write_text_atomic

PREVIEW_NAME = "preview_feedforward.png"
"""The feed-forward avatar (photos above, renders below) in the bundle."""
PREVIEW_SUFFIX = ".preview.png"
"""Where the preview waits beside the bundle until tuning has written it."""

SCOPES = ("capture", "avatar")
"""Consents an avatar needs: keep and process the captures, build and keep the avatar."""


@dataclasses.dataclass
class AvatarResult:
    """What :func:`make_avatar` made (paths relative to nothing: absolute)."""

    subject: str
    bundle: Path
    card: dict[str, Any]
    seconds: dict[str, float]


def check_inputs(inputs: Sequence[Path]) -> str:
    """``photos`` or ``video`` for the given files; one clear error for anything else."""
    if not inputs:
        raise CaptureError("give at least one photo or one video")
    missing = [str(p) for p in inputs if not Path(p).is_file()]
    if missing:
        raise CaptureError(f"not a file: {', '.join(missing)}")
    kinds = {"photos" if p.suffix.lower() in IMAGE_EXTS else
             "video" if p.suffix.lower() in VIDEO_EXTS else "other" for p in map(Path, inputs)}
    if "other" in kinds:
        raise CaptureError(f"unsupported file type in {[str(p) for p in inputs]}: give photos "
                           f"({', '.join(IMAGE_EXTS)}) or one video ({', '.join(VIDEO_EXTS)})")
    if kinds == {"photos", "video"}:
        raise CaptureError("give photos or a video, not both")
    if "video" in kinds and len(inputs) > 1:
        raise CaptureError("give one video at a time")
    return kinds.pop()


def check_consent(ctx: Context, subject: str, evidence: str | None) -> None:
    """Record the consents (with ``evidence``) or require them; raises ConsentError."""
    with ctx.registry() as reg:
        if evidence is None:
            for scope in SCOPES:
                reg.require_consent(subject, scope)
            return
        for scope in SCOPES:
            if not reg.has_consent(subject, scope):
                reg.grant(subject, scope, evidence=evidence)


def place_in_inbox(ctx: Context, subject: str, inputs: Sequence[Path], kind: str) -> Path:
    """Copy the inputs to ``<inbox>/<subject>/`` (replacing an earlier capture of the subject)."""
    inbox = ctx.path(ctx.params.ingest.inbox)
    inbox.mkdir(parents=True, exist_ok=True)
    dest = inbox / subject
    tmp = Path(tempfile.mkdtemp(prefix=f".{subject}.", dir=inbox))
    try:
        for i, src in enumerate(inputs):
            src = Path(src)
            shutil.copyfile(src, tmp / (f"photo_{i:02d}{src.suffix.lower()}" if kind == "photos"
                                        else f"video{src.suffix.lower()}"))
        if dest.exists():
            shutil.rmtree(dest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def record_files(ctx: Context, subject: str, files: Sequence[Path]) -> None:
    """Lineage of ``files`` (inside the project: ``forget`` finds them)."""
    rows = [(str(p.resolve()), sha256_file(p), "invert", [subject]) for p in files]
    with ctx.registry() as reg:
        reg.record_lineage_many(rows)


def record_bundle(ctx: Context, subject: str, bundle: Path) -> None:
    """Lineage of every file of the bundle."""
    record_files(ctx, subject, [p for p in sorted(bundle.rglob("*")) if p.is_file()])


def make_avatar(ctx: Context, inputs: Sequence[Path], subject: str, evidence: str | None = None,
                out: Path | None = None, hold_out: int | None = None,
                log: Callable[[str], None] = print) -> AvatarResult:
    """Photos or a video of one person -> an avatar bundle (default ``results/invert/<id>``).

    ``hold_out`` frames at the end of a video are never used as input and are scored in the
    card (default: ``invert.test_frames`` for a video, 0 for photos).
    """
    from headforge.evaluate.entry import evaluate_one
    from headforge.ingest import entry as ingest
    from headforge.invert.entry import REAL, invert_one, preview_one
    from headforge.privacy.records import check_subject_id
    from headforge.track import entry as track

    check_subject_id(subject)
    kind = check_inputs([Path(p) for p in inputs])
    check_consent(ctx, subject, evidence)
    held = hold_out if hold_out is not None else (0 if kind == "photos"
                                                  else ctx.params.invert.test_frames)
    ctx = ctx.with_overrides(invert={"test_frames": held})
    out = (out or ctx.results("invert") / subject).resolve()
    if not out.is_relative_to(ctx.root):
        raise CaptureError(f"--out {out} is outside the project: the avatar must stay where "
                           "forget can find it (a folder inside the project)")
    seconds: dict[str, float] = {}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        log(f"{subject}: {name} ...")
        res = fn()
        seconds[name] = round(time.perf_counter() - t0, 2)
        log(f"{subject}: {name} done in {seconds[name]:.1f} s")
        return res

    place_in_inbox(ctx, subject, [Path(p) for p in inputs], kind)
    step("ingest", lambda: ingest.run(ctx, [subject]))
    step("track", lambda: track.run(ctx, [subject]))
    # the feed-forward avatar first (seconds): a preview beside the bundle, recorded in the
    # lineage at once so forget finds it even if tuning is interrupted
    preview = out.with_name(f"{out.name}{PREVIEW_SUFFIX}")
    step("preview", lambda: preview_one(ctx, subject, REAL, preview))
    record_files(ctx, subject, [preview])
    log(f"{subject}: feed-forward preview (photos above, avatar below): {preview}")
    bundle = step("invert", lambda: invert_one(ctx, subject, REAL, out=out, log=log))
    os.replace(preview, bundle / PREVIEW_NAME)
    card_path = bundle / "card.json"
    card = json.loads(card_path.read_text())
    card["feedforward_preview"] = {"file": PREVIEW_NAME, "seconds": seconds["preview"]}
    if card.get("test_frames"):
        card["held_out_metrics"] = step("evaluate", lambda: evaluate_one(
            ctx, bundle, grid=bundle / "held_out_grid.png"))
    card["avatar_command"] = {"inputs": len(inputs), "kind": kind, "hold_out": held,
                              "seconds": seconds}
    write_text_atomic(card_path, json.dumps(card, indent=2))
    record_bundle(ctx, subject, bundle)
    return AvatarResult(subject=subject, bundle=bundle, card=card, seconds=seconds)
