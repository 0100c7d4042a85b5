"""A temp copy of this repository's real pipeline (dvc.yaml, flows, tasks, library) on real faces.

Three consented subjects: two real videos from ``../shared/realdata`` and matplotlib's Grace
Hopper photo. The real stages run through ``dvc repro`` (synth in Blender, ingest with face
detection, track, the synthetic base prior, its adaptation to the three subjects, invert,
evaluate, report) with every step count and resolution cut down by :data:`TINY`, under one
local Prefect server whose home (API database and result storage) is ``<root>/.prefect``.
Nothing here is committed: the project lives in a pytest temp folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SUBJECTS = {"s4711": "liveportrait_d3.mp4", "s4712": "pexels_wolfganglanger.mp4",
            "s4713": "grace_hopper.jpg"}
REGISTRY_URL = "sqlite:///registry/headforge.sqlite"
PER_SUBJECT = ("inbox", "data/captures", "results/track", "results/invert")
"""Folders with one sub-folder per subject."""

TINY: dict[str, dict[str, object]] = {
    "synth": {"identities": 3, "expressions": 1, "cameras": 2, "width": 32, "height": 32,
              "samples": 1, "texture_size": 64, "max_workers": 1, "identities_per_shard": 3},
    "ingest": {"resolution": 128, "video_fps": 1.0, "max_frames": 2},
    "track": {"steps_rigid": 10, "steps_landmarks": 20, "steps_dense": 0, "steps_joint": 0,
              "dense_resolution": 32, "overlays": 1, "max_workers": 1,
              "overlay_background": "neutral"},
    "train_prior": {"steps": 4, "batch": 2, "resolution": 32, "latent_dim": 8, "uv_res": 16,
                    "channels": 8, "face_density": 0.5, "hair_density": 1.0,
                    "checkpoint_every": 2},
    "adapt_prior": {"steps": 3},
    "invert": {"steps_latent": 2, "steps_decoder": 2, "steps_per_frame": 0, "resolution": 32,
               "reference_views": 2, "reference_expressions": 1, "turntable_frames": 2,
               "early_warmup": 100, "shots": 2, "synthetic_subjects": False},
}
TOP: dict[str, dict[str, object]] = {
    "evaluate": {"held_out": 1, "grid_views": 2},
    "retention": {"retrain_after_forget": True},
}


def env(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment of every command: the copied code first on the path, Prefect home inside."""
    e = dict(os.environ)
    e.update(PYTHONPATH=f"{root / 'src'}{os.pathsep}{root}", PREFECT_HOME=str(root / ".prefect"),
             PREFECT_LOGGING_LEVEL="INFO", PREFECT_SERVER_ANALYTICS_ENABLED="false",
             DO_NOT_TRACK="1", DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="t",
             GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
             GIT_COMMITTER_EMAIL="t@example.invalid")
    e["PATH"] = os.path.dirname(sys.executable) + os.pathsep + e.get("PATH", "")
    for var in ("HEADFORGE_ROOT", "HEADFORGE_REGISTRY_URL", "PREFECT_API_URL"):
        e.pop(var, None)
    e.update(extra or {})
    return e


def run(cmd: list[str], root: Path, extra: dict[str, str] | None = None,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(cmd, cwd=root, env=env(root, extra), capture_output=True, text=True)
    if check:
        assert res.returncode == 0, f"{cmd} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}"
    return res


def py(root: Path, *args: str, extra: dict[str, str] | None = None,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, *args], root, extra, check)


def dvc(root: Path, *args: str, extra: dict[str, str] | None = None) -> str:
    return py(root, "-m", "dvc", *args, extra=extra).stdout


def write_params(root: Path) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["profile"] = "tiny"
    params["paths"]["registry_url"] = REGISTRY_URL
    for section, values in TINY.items():  # a key of the tiny block is set there
        sec = params[section]
        tiny = sec.get("tiny", {})
        for k, v in values.items():
            (tiny if k in tiny else sec)[k] = v
    for section, values in TOP.items():
        params[section].update(values)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def copy_code(root: Path) -> None:
    """The pipeline's code as it is in this checkout (the stages hash it as dependencies)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for rel in ("flows", "tasks", "blender", "src/headforge", "suites"):
        shutil.copytree(REPO / rel, root / rel, ignore=ignore)
    shutil.copyfile(REPO / "dvc.yaml", root / "dvc.yaml")
    shutil.copyfile(REPO / ".gitignore", root / ".gitignore")  # outputs live in DVC, not git


def write_inbox(root: Path, realdata: Path) -> None:
    import matplotlib

    for subject, name in SUBJECTS.items():
        if name.endswith(".mp4"):
            dst = root / "inbox" / subject / name
            dst.parent.mkdir(parents=True)
            shutil.copyfile(realdata / name, dst)
        else:
            dst = root / "inbox" / subject / "photos" / "portrait.jpg"
            dst.parent.mkdir(parents=True)
            shutil.copyfile(Path(matplotlib.get_data_path()) / "sample_data" / name, dst)


def grant_consents(root: Path) -> None:
    from headforge.privacy import Registry, Scope

    reg = Registry.from_url(REGISTRY_URL, root=root)
    try:
        for s in SUBJECTS:
            for scope in (Scope.CAPTURE, Scope.TRAIN_PRIOR, Scope.AVATAR):
                reg.grant(s, scope, evidence=f"signed form {s}")
    finally:
        reg.close()


@contextlib.contextmanager
def prefect_server(root: Path) -> Iterator[dict[str, str]]:
    """One loopback Prefect server (API database in ``<root>/.prefect``) for many commands."""
    from flows.server import local_server

    saved = {k: os.environ.get(k) for k in ("PREFECT_HOME", "PREFECT_API_URL")}
    (root / ".prefect").mkdir(parents=True)
    os.environ["PREFECT_HOME"] = str(root / ".prefect")
    os.environ.pop("PREFECT_API_URL", None)
    try:
        with local_server(timeout=180) as url:
            yield {"PREFECT_API_URL": url}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def build(root: Path, realdata: Path, api: dict[str, str]) -> None:
    """Create, reproduce, commit and push the project at ``root`` (remote: ``../remote``)."""
    root.mkdir(parents=True, exist_ok=True)
    (root.parent / "remote").mkdir()
    copy_code(root)
    write_params(root)
    run(["git", "init", "-q"], root)
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "-d", "local", "../remote")
    grant_consents(root)
    write_inbox(root, realdata)
    dvc(root, "add", "-q", "inbox")
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "code and captures"], root)  # dvclive needs a commit
    dvc(root, "repro", extra=api)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "pipeline on three consented subjects"], root)
    dvc(root, "push", "-q", "--run-cache")


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def subject_files(root: Path, subject: str) -> dict[str, str]:
    """rel path -> sha256 of every per-subject file of ``subject``."""
    out = {}
    for top in PER_SUBJECT:
        d = root / top / subject
        for f in sorted(d.rglob("*")) if d.is_dir() else []:
            if f.is_file():
                out[f.relative_to(root).as_posix()] = sha(f)
    return out


def folder_files(base: Path) -> dict[str, str]:
    return {f.relative_to(base).as_posix(): sha(f) for f in sorted(base.rglob("*"))
            if f.is_file()}
