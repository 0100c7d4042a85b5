"""A real git + DVC project with three subjects, built at test time (never committed).

Images are crops of ``skimage.data.astronaut`` written on the fly. ``dvc.yaml`` has stages that
copy/transform them like the real pipeline (ingest -> track -> invert, a synthetic-only base
prior, an adaptation trained on every subject, evaluate, report); the project is reproduced and
committed twice (subject s0001 gains a frame in version 2), pushed to a local remote with all
commits and the run-cache, and every artifact's lineage is in a SQLite registry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

from headforge.privacy import Registry, Scope

SUBJECTS = ["s0001", "s0002", "s0003"]
REGISTRY_URL = "sqlite:///registry/headforge.sqlite"
DVC = [sys.executable, "-m", "dvc"]

STAGE_COMMON = """
import hashlib, json, sys
from pathlib import Path
import numpy as np
from PIL import Image

def subjects(base):
    return sorted(p.name for p in Path(base).iterdir() if p.is_dir())

def load(p):
    return np.asarray(Image.open(p).convert("RGB"))

def save(a, p):
    Path(p).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.clip(a, 0, 255).astype(np.uint8)).save(p)
"""

STAGES = {
    "ingest": """
import pandas as pd
rows = []
Path("logs").mkdir(exist_ok=True)
for s in subjects("inbox"):
    frames = sorted(Path("inbox", s).glob("*.png"))
    for i, f in enumerate(frames):
        a = load(f)[:, ::-1]
        out = Path("data/captures", s, f"frame_{i:03d}.png")
        save(a, out)
        save(np.repeat(((a.mean(-1) > 60) * 255)[..., None], 3, -1),
             Path("data/captures", s, f"mask_{i:03d}.png"))
        rows.append(dict(subject=s, frame=i, path=out.as_posix(),
                         sha256=hashlib.sha256(out.read_bytes()).hexdigest(),
                         width=a.shape[1], height=a.shape[0]))
    with open("logs/ingest.log", "a") as fh:
        fh.write(f"ingest {s}: {len(frames)} frame(s)\\n")
        fh.write("ingest: pipeline heartbeat\\n")
pd.DataFrame(rows).to_parquet("data/captures/manifest.parquet")
""",
    "track": """
for s in subjects("data/captures"):
    fr = [load(f) for f in sorted(Path("data/captures", s).glob("frame_*.png"))]
    m = np.mean(fr, axis=0)
    Path("results/track", s).mkdir(parents=True, exist_ok=True)
    np.savez(Path("results/track", s, "params.npz"), mean=m.mean((0, 1)), n=len(fr))
    ov = fr[0].copy(); ov[4:8, :] = [255, 0, 0]
    save(ov, Path("results/track", s, "overlay.png"))
""",
    "invert": """
for s in subjects("results/track"):
    fr = [load(f) for f in sorted(Path("data/captures", s).glob("frame_*.png"))]
    m = np.mean(fr, axis=0)
    d = Path("results/invert", s); d.mkdir(parents=True, exist_ok=True)
    np.save(d / "weights.npy", m[::5, ::5].astype(np.float32))
    save(m, d / "render.png")
    (d / "card.json").write_text(json.dumps({"subject": s, "frames": len(fr)}))
""",
    "train_prior": """
rng = np.random.default_rng(0)
Path("results/train_prior/base").mkdir(parents=True, exist_ok=True)
np.save("results/train_prior/base/model.npy", rng.normal(size=(8, 8, 3)).astype(np.float32))
""",
    "train_prior_adapt": """
base = np.load("results/train_prior/base/model.npy")
ws = [np.load(Path("results/invert", s, "weights.npy"))[:8, :8] for s in subjects("results/invert")]
d = Path("results/train_prior/adapted"); d.mkdir(parents=True, exist_ok=True)
np.save(d / "model.npy", (base + np.mean(ws, axis=0) / 255.0).astype(np.float32))
(d / "card.json").write_text(json.dumps({"n_subjects": len(ws)}))
""",
    "evaluate": """
ss = subjects("results/invert")
renders = [load(Path("results/invert", s, "render.png")) for s in ss]
Path("results/evaluate").mkdir(parents=True, exist_ok=True)
metrics = {s: float(r.mean()) for s, r in zip(ss, renders)}
Path("results/evaluate/metrics.json").write_text(json.dumps({"per_subject": metrics}))
save(np.concatenate(renders, axis=1), "results/evaluate/grid.png")
""",
    "report": """
import base64, shutil
ss = subjects("results/invert")
Path("results/report/assets").mkdir(parents=True, exist_ok=True)
imgs, assets = [], []
for s in ss:
    src = Path("results/invert", s, "render.png")
    dst = Path("results/report/assets", f"{s}_render.png")
    shutil.copyfile(src, dst)
    assets.append(dst.name)
    b64 = base64.b64encode(src.read_bytes()).decode()
    imgs.append(f'<figure><img src="data:image/png;base64,{b64}"></figure>')
Path("results/report/assets.json").write_text(json.dumps(assets))
Path("results/report/index.html").write_text("<html><body>" + "".join(imgs) + "</body></html>")
""",
}

DVC_YAML = """stages:
  ingest:
    cmd: python stages/ingest.py
    deps: [stages/ingest.py, inbox]
    outs: [data/captures]
  track:
    cmd: python stages/track.py
    deps: [stages/track.py, data/captures]
    outs: [results/track]
  invert:
    cmd: python stages/invert.py
    deps: [stages/invert.py, results/track, data/captures]
    outs: [results/invert]
  train_prior:
    cmd: python stages/train_prior.py
    deps: [stages/train_prior.py]
    outs: [results/train_prior/base]
  train_prior_adapt:
    cmd: python stages/train_prior_adapt.py
    deps: [stages/train_prior_adapt.py, results/train_prior/base, results/invert]
    outs: [results/train_prior/adapted]
  evaluate:
    cmd: python stages/evaluate.py
    deps: [stages/evaluate.py, results/invert]
    outs: [results/evaluate]
  report:
    cmd: python stages/report.py
    deps: [stages/report.py, results/invert, results/evaluate]
    outs:
      - results/report:
          cache: false
"""


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid",
               DVC_NO_ANALYTICS="1")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def run(cmd: list[str], cwd: Path) -> str:
    res = subprocess.run(cmd, cwd=cwd, env=git_env(), capture_output=True, text=True)
    assert res.returncode == 0, f"{cmd} failed:\n{res.stdout}\n{res.stderr}"
    return res.stdout


def dvc(root: Path, *args: str) -> str:
    return run([*DVC, *args], root)


def crop_png(subject_idx: int, frame: int, size: int = 40) -> bytes:
    """A PNG crop of the astronaut image, distinct per subject and frame."""
    from skimage import data

    img = data.astronaut()
    span = img.shape[0] - size
    y = (40 + 120 * subject_idx + 7 * frame) % span
    x = (150 + 11 * frame + 30 * subject_idx + 17 * (subject_idx // 4)) % span
    buf = io.BytesIO()
    Image.fromarray(img[y: y + size, x: x + size]).save(buf, format="PNG")
    return buf.getvalue()


def write_inbox(root: Path, subject: str, n_frames: int) -> None:
    i = SUBJECTS.index(subject) if subject in SUBJECTS else int(subject[1:]) - 1
    d = root / "inbox" / subject
    d.mkdir(parents=True, exist_ok=True)
    for f in range(n_frames):
        (d / f"img_{f}.png").write_bytes(crop_png(i, f))


def _sha(p: Path) -> str:
    if p.is_dir():
        h = hashlib.sha256()
        for f in sorted(p.rglob("*")):
            if f.is_file():
                h.update(f.relative_to(p).as_posix().encode() + hashlib.sha256(
                    f.read_bytes()).digest())
        return h.hexdigest()
    return hashlib.sha256(p.read_bytes()).hexdigest()


def record_lineage(root: Path, reg: Registry) -> None:
    """What the stages would record: per-subject files, bundles, shared artifacts."""
    present = sorted(p.name for p in (root / "inbox").iterdir() if p.is_dir())
    rows: list[tuple[str, str, str, list[str]]] = []
    for top, stage in [("inbox", "ingest"), ("data/captures", "ingest"),
                       ("results/track", "track")]:
        for s in present:
            for f in sorted((root / top / s).glob("*")):
                rows.append((f.relative_to(root).as_posix(), _sha(f), stage, [s]))
    for s in present:
        b = root / "results/invert" / s
        rows.append((b.relative_to(root).as_posix(), _sha(b), "invert", [s]))
    shared = [("data/captures/manifest.parquet", "ingest"),
              ("results/train_prior/adapted", "train_prior"),
              ("results/evaluate/metrics.json", "evaluate"),
              ("results/evaluate/grid.png", "evaluate"),
              ("results/report", "report")]
    for rel, stage in shared:
        rows.append((rel, _sha(root / rel), stage, present))
    rows.append(("results/train_prior/base", _sha(root / "results/train_prior/base"),
                 "train_prior", []))
    reg.record_lineage_many(rows)


def prefect_result(subject: str, frame: bytes) -> bytes:
    """A Prefect 3 result record (JSON, base64 of a pickle) as a cached task result would be."""
    blob = base64.encodebytes(pickle.dumps({"subject": subject, "frame": frame})).decode()
    return json.dumps({"metadata": {"storage_key": "x", "serializer": {"type": "pickle"}},
                       "result": blob}).encode()


def build_project(case: Path, subjects: list[str] | None = None, frames: int = 2) -> Path:
    """Build ``case/proj`` (+ ``case/remote``, ``case/prefect``); returns the project root."""
    subjects = subjects or SUBJECTS
    root = case / "proj"
    (root / "stages").mkdir(parents=True)
    (case / "remote").mkdir()
    (root / "params.yaml").write_text(f"profile: tiny\npaths:\n  registry_url: {REGISTRY_URL}\n")
    (root / ".gitignore").write_text("/registry/\n/logs/\n/results/report/\n")
    for name, body in STAGES.items():
        (root / "stages" / f"{name}.py").write_text(STAGE_COMMON + body)
    (root / "dvc.yaml").write_text(DVC_YAML)
    run(["git", "init", "-q"], root)
    dvc(root, "init", "-q")
    dvc(root, "config", "core.analytics", "false")
    dvc(root, "remote", "add", "-d", "local", "../remote")
    reg = Registry.from_url(REGISTRY_URL, root=root)
    for s in subjects:
        reg.grant(s, Scope.CAPTURE, evidence=f"form:{s}")
        reg.grant(s, Scope.TRAIN_PRIOR, evidence=f"form:{s}")
        write_inbox(root, s, frames)
    dvc(root, "add", "-q", "inbox")
    dvc(root, "repro", "-q")
    record_lineage(root, reg)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "v1"], root)
    write_inbox(root, subjects[0], frames + 1)  # version 2: the first subject gains a frame
    dvc(root, "add", "-q", "inbox")
    dvc(root, "repro", "-q")
    record_lineage(root, reg)
    run(["git", "add", "-A"], root)
    run(["git", "commit", "-q", "-m", "v2"], root)
    dvc(root, "push", "-q", "--all-commits", "--run-cache")
    storage = case / "prefect"
    storage.mkdir()
    for s in subjects:
        frame = (root / "data/captures" / s / "frame_000.png").read_bytes()
        (storage / hashlib.sha256(s.encode()).hexdigest()).write_bytes(prefect_result(s, frame))
    reg.close()
    return root


def copy_case(template: Path, dest: Path) -> Path:
    """A private copy of a built case (git, DVC cache, remote, registry, Prefect storage)."""
    shutil.copytree(template, dest, symlinks=True)
    return dest / "proj"


def tree_digest(base: Path, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """rel path -> sha256 of every file below ``base`` (skipping prefixes)."""
    out = {}
    for f in sorted(base.rglob("*")):
        rel = f.relative_to(base).as_posix()
        if f.is_file() and not f.is_symlink() and not rel.startswith(skip):
            out[rel] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def subject_files(root: Path, subject: str) -> dict[str, str]:
    """sha256 of every per-subject artifact of ``subject`` in the workspace."""
    out = {}
    for top in ("inbox", "data/captures", "results/track", "results/invert"):
        d = root / top / subject
        for f in sorted(d.rglob("*")) if d.is_dir() else []:
            if f.is_file():
                out[f.relative_to(root).as_posix()] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def md5_of(p: Path) -> str:
    return hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest()


def object_path(store: Path, md5: str) -> Path:
    return store / "files" / "md5" / md5[:2] / md5[2:]
