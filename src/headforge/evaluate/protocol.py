"""The benchmark's fixed protocol: which frames of a capture go in and which are scored.

* **self-reenactment** (``self_<N>shot``, N in the suite's ``shots``): the clip's last K
  (``test_frames``) tracked frames are scored and never input; N inputs are chosen among the
  other frames by the suite's ``input_rule`` (default ``calm_views``: the calmest, most
  frontal frame first, then frames far apart in head pose among the calmer half;
  :func:`headforge.invert.views.pick_frames`).
* **photo set** (``photo_set``): ``photo_inputs`` + 1 frames as far apart in head pose as the
  clip allows (farthest-point sampling of the tracked head rotation, starting from the most
  frontal frame); the last one picked (farthest from the others) is scored, the rest go in.
* **cross-reenactment** (``cross``): the source's avatar (its largest-N self-reenactment inputs,
  or its single photo) is driven by the driver's tracked expression, pose and camera on the
  driver's last K frames. Scored: identity to the source, expression and pose to the driver.

Every image is composited on black through its mask at the benchmark resolution.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from headforge.config import InvertConfig
from headforge.evaluate.captures import Prepared
from headforge.evaluate.suite import Suite
from headforge.invert.stage import SubjectInputs, inputs_from_views, real_subject_inputs
from headforge.invert.views import head_rotvec as views_head_rotvec
from headforge.prior.data import ViewSet, has_params, load_views, on_black


@dataclasses.dataclass
class Task:
    """One scored unit of the protocol."""

    protocol: str
    """``self_<N>shot``, ``photo_set`` or ``cross``."""
    capture: str
    """Whose frames are the inputs (the identity)."""
    driver: str
    """Whose frames are scored (= capture except in cross-reenactment)."""
    fit_key: str
    """Tasks with one fit_key share one fitted avatar per method."""
    inputs: SubjectInputs
    targets: ViewSet
    """Ground-truth frames (images, masks, tracked parameters, cameras) that are scored."""
    target_frames: list[str]

    @property
    def name(self) -> str:
        who = self.capture if self.driver == self.capture else f"{self.capture}<-{self.driver}"
        return f"{self.protocol}/{who}"

    @property
    def identity_image(self) -> np.ndarray | None:
        """CSIM reference in cross-reenactment (the source's first input), else None (each
        target frame is its own reference)."""
        if self.protocol != "cross":
            return None
        return (self.inputs.inputs.images[0].clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def _frame_order(frame: object) -> tuple[int, str]:
    s = str(frame)
    return (int(s), s) if s.isdigit() else (1 << 62, s)


def clip_rows(df: pd.DataFrame, subject: str, track_root: Path) -> pd.DataFrame:
    """The tracked frames of a subject's clip in frame order (first sequence, most used
    camera: the selection :func:`real_subject_inputs` makes)."""
    rows = df[df["subject"] == subject]
    if len(rows) == 0:
        raise ValueError(f"subject {subject!r} is not in the benchmark's captures manifest")
    rows = rows[rows["sequence"] == sorted(rows["sequence"].unique())[0]]
    rows = rows[rows["camera"] == rows["camera"].value_counts().index[0]]
    rows = rows[[has_params(r, track_root) for _, r in rows.iterrows()]]
    if len(rows) == 0:
        raise ValueError(f"subject {subject!r}: tracking fitted no frame; see its track report")
    order = sorted(range(len(rows)), key=lambda i: _frame_order(rows["frame"].iloc[i]))
    return rows.iloc[order].reset_index(drop=True)


def clip_views(rows: pd.DataFrame, subject: str, res: int, track_root: Path) -> ViewSet:
    return on_black(load_views(rows, res, track_root, [subject]))


def pose_spread_frames(rotations: np.ndarray, k: int) -> list[int]:
    """k frame indices far apart in head pose: farthest-point sampling of the rotation vectors
    [F, 3] from the most frontal one (smallest rotation angle), in the order picked."""
    rv = np.asarray(rotations, np.float64)
    first = int(np.argmin(np.linalg.norm(rv, axis=-1)))
    chosen = [first]
    d = np.linalg.norm(rv - rv[first], axis=-1)
    while len(chosen) < min(k, len(rv)):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(rv - rv[i], axis=-1))
    return chosen


def head_rotvec(views: ViewSet) -> np.ndarray:
    """[F, 3] head rotation in each frame's camera (camera rotation x head rotation)."""
    return views_head_rotvec(views.params["rotation"], views.w2c)


def build_tasks(suite: Suite, prep: Prepared, cfg: InvertConfig) -> list[Task]:
    """Every task of the suite, with its inputs and targets loaded (``cfg``: the invert
    section with the benchmark's resolution)."""
    pr, tr, df = suite.protocol, prep.track_root, prep.manifest
    tasks: list[Task] = []

    def self_inputs(cap: str, shots: int) -> tuple[SubjectInputs, str]:
        c = dataclasses.replace(cfg, shots=shots, test_frames=pr.test_frames,
                                input_rule=pr.input_rule)
        return real_subject_inputs(df, prep.subjects[cap], c, tr), f"{cap}/self{shots}"

    def last_frames(cap: str) -> tuple[ViewSet, list[str]]:
        subj = prep.subjects[cap]
        rows = clip_rows(df, subj, tr)
        n = min(pr.test_frames, len(rows) - 1)
        if n < 1:
            raise ValueError(f"capture {cap!r}: {len(rows)} tracked frame(s), none left to "
                             "score; raise protocol.max_frames")
        rows = rows.iloc[len(rows) - n:].reset_index(drop=True)
        return clip_views(rows, subj, cfg.resolution, tr), [str(f) for f in rows["frame"]]

    for cap in suite.self_reenactment:
        views, frames = last_frames(cap)
        for n in pr.shots:
            inp, key = self_inputs(cap, n)
            if set(inp.card["test_frames"]) != set(frames):
                raise RuntimeError(f"{cap}: held-out frames disagree: "
                                   f"{inp.card['test_frames']} vs {frames}")
            tasks.append(Task(f"self_{n}shot", cap, cap, key, inp, views, frames))
    for cap in suite.photo_set:
        subj = prep.subjects[cap]
        rows = clip_rows(df, subj, tr)
        if len(rows) < pr.photo_inputs + 1:
            raise ValueError(f"capture {cap!r}: {len(rows)} tracked frames, a photo set needs "
                             f"{pr.photo_inputs + 1}")
        views = clip_views(rows, subj, cfg.resolution, tr)
        pick = pose_spread_frames(head_rotvec(views), pr.photo_inputs + 1)
        inp_idx, test_idx = sorted(pick[:-1]), pick[-1]
        sel = views.select(np.isin(np.arange(len(views)), inp_idx))
        seq = str(rows["sequence"].iloc[0])
        names = [f"{seq}/{rows['frame'].iloc[i]}" for i in inp_idx]
        inputs = SubjectInputs(inputs_from_views(sel, names), {
            "kind": "real", "sequence": seq,
            "input_frames": [str(rows["frame"].iloc[i]) for i in inp_idx],
            "test_frames": [str(rows["frame"].iloc[test_idx])]})
        target = views.select(np.arange(len(views)) == test_idx)
        tasks.append(Task("photo_set", cap, cap, f"{cap}/photos", inputs, target,
                          [str(rows["frame"].iloc[test_idx])]))
    for src, drv in suite.cross_reenactment:
        if suite.captures[src].kind == "portrait":
            inp, key = self_inputs(src, 1)
        else:
            inp, key = self_inputs(src, max(pr.shots))
        views, frames = last_frames(drv)
        tasks.append(Task("cross", src, drv, key, inp, views, frames))
    return tasks
