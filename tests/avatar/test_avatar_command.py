"""``headforge avatar``: a public-domain portrait to an avatar bundle in one call (tiny budgets),
and a refusal without consent that leaves nothing behind."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from headforge.context import Context

ROOT = Path(__file__).resolve().parents[2]
HOPPER = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
TINY = {
    "train_prior": {"steps": 2, "batch": 2, "resolution": 32, "latent_dim": 8, "uv_res": 16,
                    "channels": 8, "face_density": 0.5, "hair_density": 1.0,
                    "checkpoint_every": 1},
    "invert": {"steps_latent": 2, "steps_decoder": 2, "steps_per_frame": 0, "resolution": 32,
               "reference_views": 2, "turntable_frames": 2, "early_warmup": 100},
    "track": {"steps_rigid": 20, "steps_landmarks": 20, "steps_dense": 0, "dense_resolution": 32},
}


def _project(root: Path, heads_manifest: Path | None) -> Path:
    root.mkdir(parents=True)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["profile"] = "tiny"
    params["evaluate"]["held_out"] = 1
    params["track"]["overlays"] = 1
    for section, values in TINY.items():
        params[section]["tiny"].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    if heads_manifest is not None:
        shutil.copytree(heads_manifest.parent, root / "data" / "synth")
    return root


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def test_avatar_from_one_portrait_end_to_end(heads_manifest: Path, tmp_path: Path) -> None:
    from headforge.avatar import make_avatar
    from headforge.prior.entry import train_prior

    root = _project(tmp_path / "proj", heads_manifest)
    ctx = Context.load(root)
    train_prior(ctx)
    lines: list[str] = []
    res = make_avatar(ctx, [HOPPER], "pd-hopper", evidence="test: public-domain portrait",
                      log=lines.append)
    assert res.bundle == (root / "results" / "invert" / "pd-hopper").resolve()
    card = json.loads((res.bundle / "card.json").read_text())
    assert card["kind"] == "real" and card["avatar_command"]["kind"] == "photos"
    # one photo: nothing to score; the feed-forward preview comes before tuning
    assert list(res.seconds) == ["ingest", "track", "preview", "invert"]
    preview = res.bundle / "preview_feedforward.png"
    assert card["feedforward_preview"]["file"] == preview.name
    assert not res.bundle.with_name("pd-hopper.preview.png").exists()  # moved into the bundle
    with Image.open(preview) as im:
        strip = np.asarray(im.convert("RGB"), np.float32)
    h = strip.shape[0] // 2
    photo, render = strip[:h], strip[h:]
    assert strip.shape[1] == h  # one photo: one column, photo above its render
    assert render.std() > 5 and np.abs(render - photo).mean() < np.abs(photo).mean()
    assert any("preview done" in line for line in lines)
    assert any(p.suffix == ".ply" for p in res.bundle.rglob("*"))
    assert any("invert done" in line for line in lines)
    with ctx.registry() as reg:
        assert reg.has_consent("pd-hopper", "capture") and reg.has_consent("pd-hopper", "avatar")
        held = {r.artifact for r in reg.lineage_for_subject("pd-hopper")}
    assert "results/invert/pd-hopper/card.json" in held  # forget finds the bundle
    assert any(a.startswith("data/captures/pd-hopper/") for a in held)
    assert any(a.startswith("results/track/pd-hopper/") for a in held)


def test_avatar_without_consent_is_refused_and_writes_nothing(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    from headforge.cli import app

    root = _project(tmp_path / "proj", None)
    monkeypatch.chdir(root)
    Context.load(root).registry().close()  # the registry exists before, as in a real project
    before = _tree_digest(root)
    res = CliRunner().invoke(app, ["avatar", str(HOPPER), "--subject", "pd-hopper"])
    assert res.exit_code == 3, res.output
    errors = [line for line in res.output.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("refused:") and "consent" in errors[0]
    assert _tree_digest(root) == before
    assert not (root / "inbox").exists()


def test_avatar_rejects_mixed_or_unknown_inputs(tmp_path: Path) -> None:
    from headforge.avatar import check_inputs
    from headforge.ingest.errors import CaptureError

    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"0")
    note = tmp_path / "a.txt"
    note.write_text("x")
    assert check_inputs([HOPPER]) == "photos"
    with pytest.raises(CaptureError, match="not both"):
        check_inputs([HOPPER, clip])
    with pytest.raises(CaptureError, match="unsupported"):
        check_inputs([note])
    with pytest.raises(CaptureError, match="not a file"):
        check_inputs([tmp_path / "missing.jpg"])
