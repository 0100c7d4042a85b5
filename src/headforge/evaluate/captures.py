"""Prepare a suite's captures: consent, ingest and track them in a private work project.

The benchmark never touches the project's own inbox, registry or results: every capture is
copied (or, for the portraits, generated) into ``<work>/inbox/<subject>/``, consented in a
registry inside ``<work>`` (evidence: the suite's terms), ingested and tracked there with the
project's ``ingest`` and ``track`` sections (sampling from the suite's protocol). The real
frames therefore live only under ``results/`` (git-ignored) and are deleted with the work
folder.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from headforge.context import Context
from headforge.evaluate.suite import Capture, Suite


@dataclasses.dataclass
class Prepared:
    """Ingested and tracked captures of a suite."""

    root: Path
    """The work project (``data/captures``, ``results/track``)."""
    manifest: pd.DataFrame
    subjects: dict[str, str]
    """capture name -> subject id in the work project."""
    report: dict[str, Any]
    """Per capture: frames, tracking status counts, landmark error, seconds."""

    @property
    def track_root(self) -> Path:
        return self.root / "results" / "track"


def subject_id(capture: str) -> str:
    """A valid subject id for a capture name."""
    s = re.sub(r"[^a-z0-9_-]", "-", capture.lower())
    return f"bench-{s}"[:64]


def portrait_image(name: str) -> np.ndarray:
    """A public-domain portrait as ``[H, W, 3]`` uint8: scikit-image's astronaut or
    matplotlib's Grace Hopper."""
    if name == "astronaut":
        from skimage import data

        return np.asarray(data.astronaut(), dtype=np.uint8)
    if name == "grace_hopper":
        import matplotlib.cbook as cbook
        from PIL import Image

        path = Path(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8)
    raise ValueError(f"unknown portrait {name!r}: astronaut or grace_hopper")


def portrait_clip(image: np.ndarray, frames: int) -> list[np.ndarray]:
    """``frames`` views of a photo under a slow in-plane roll (-8..+8 degrees) and zoom
    (1.0..1.12) about its centre: a real face with known, synthetic motion."""
    import cv2

    h, w = image.shape[:2]
    out = []
    for t in np.linspace(0.0, 1.0, frames):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(-8 + 16 * t), float(1 + 0.12 * t))
        out.append(cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REFLECT))
    return out


def write_video(frames: list[np.ndarray], path: Path, fps: float) -> None:
    """Frames to an MP4 (``mp4v``), written to a temporary name and renamed."""
    import cv2

    h, w = frames[0].shape[:2]
    tmp = path.with_name(path.stem + ".part.mp4")
    vw = cv2.VideoWriter(str(tmp), cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
    if not vw.isOpened():
        raise RuntimeError(f"OpenCV cannot write {tmp} (mp4v): the opencv build lacks a "
                           "video encoder")
    for f in frames:
        vw.write(np.ascontiguousarray(f[..., ::-1]))
    vw.release()
    tmp.replace(path)


def stage_inbox(capture: Capture, folder: Path, realdata: Path | None, fps: float,
                clip_frames: int) -> None:
    """Put the capture's source into ``folder`` (an inbox subject folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    if capture.kind == "realdata":
        assert realdata is not None
        shutil.copy(realdata / capture.ref, folder / capture.ref)
    elif capture.kind == "portrait":
        from PIL import Image

        Image.fromarray(portrait_image(capture.ref)).save(folder / f"{capture.ref}.png")
    else:
        write_video(portrait_clip(portrait_image(capture.ref), clip_frames),
                    folder / f"{capture.ref}.mp4", fps)


def prepare(ctx: Context, suite: Suite, names: list[str], work: Path,
            realdata: Path | None) -> Prepared:
    """Consent, ingest and track the captures ``names`` of ``suite`` in ``work``."""
    from headforge.ingest import ingest_subjects
    from headforge.privacy import Registry, Scope
    from headforge.track.stage import read_subjects, run_subject

    pr = suite.protocol
    icfg = dataclasses.replace(ctx.params.ingest, inbox="inbox", video_fps=pr.fps,
                               max_frames=pr.max_frames)
    tcfg = ctx.params.track
    subjects = {n: subject_id(n) for n in names}
    for n in names:
        stage_inbox(suite.captures[n], work / "inbox" / subjects[n], realdata, pr.fps,
                    pr.portrait_clip_frames)
    (work / "registry").mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {}
    url = f"sqlite:///{work / 'registry' / 'benchmark.sqlite'}"
    with Registry.from_url(url, work) as reg:
        for n, s in subjects.items():
            reg.add_subject(s)
            for scope in (Scope.CAPTURE, Scope.AVATAR):
                reg.grant(s, scope, evidence=f"benchmark suite {suite.name}: "
                          f"{suite.captures[n].terms} ({suite.captures[n].note})")
        t0 = time.perf_counter()
        ingest_subjects(list(subjects.values()), icfg, reg, work)
        ingest_s = time.perf_counter() - t0
        views = read_subjects(work / "data" / "captures" / "manifest.parquet", work)
        for n, s in subjects.items():
            t0 = time.perf_counter()
            out = run_subject(s, views[s], tcfg, ctx.params.head_model, work, reg)
            report[n] = {"frames": out.report["frames"],
                         "status_counts": out.report["status_counts"],
                         "landmark_error_px": out.report["landmark_error"],
                         "track_seconds": round(time.perf_counter() - t0, 1)}
        report["_ingest_seconds"] = round(ingest_s, 1)
    return Prepared(root=work, manifest=read_work_manifest(work), subjects=subjects,
                    report=report)


def read_work_manifest(work: Path) -> pd.DataFrame:
    """The work project's captures manifest with absolute paths (its paths are relative to
    ``work``, not to the project the benchmark runs in)."""
    df = pd.read_parquet(work / "data" / "captures" / "manifest.parquet")
    for col in ("path", "mask_path", "params_path"):
        if col in df.columns:
            df[col] = [str(work / str(v)) if isinstance(v, str) and v and
                       not Path(v).is_absolute() else v for v in df[col]]
    for col in ("subject", "sequence", "camera"):
        df[col] = df[col].astype(str)
    return df
