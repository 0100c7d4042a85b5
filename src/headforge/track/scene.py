"""What a subject's tracking sees: views (image + camera), grouped into frames and cameras.

A *frame* is one set of expression/pose parameters. Views from calibrated cameras that share
(sequence, frame) are one frame seen from several cameras (multi-view). A view from an
*estimated* camera is its own frame: separate photos are not one instant, so they never share
an expression. A *camera group* is (sequence, camera): its intrinsics are shared by all its
views (one focal per video).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class SceneError(ValueError):
    """A subject's inputs cannot be tracked; the message names the fix."""


@dataclasses.dataclass(frozen=True)
class View:
    """One image of a subject with its camera."""

    sequence: str
    """Sequence id (a video's stem, ``photos``, a NeRSemble sequence)."""
    camera: str
    """Camera id within the sequence."""
    frame: str
    """Frame id within the camera."""
    K: np.ndarray
    """[3, 3] intrinsics in pixels."""
    w2c: np.ndarray
    """[4, 4] world-to-camera (OpenCV)."""
    width: int
    """Image width in pixels."""
    height: int
    """Image height in pixels."""
    camera_estimated: bool = False
    """True when K/w2c are guesses (monocular input): the focal is then optimised."""
    image_path: Path | None = None
    """RGB image file, when one exists."""
    mask_path: Path | None = None
    """Foreground mask file, when one exists."""

    @property
    def key(self) -> str:
        """Unique id of the view."""
        return f"{self.sequence}/{self.camera}/{self.frame}"

    @property
    def frame_key(self) -> str:
        """Id of the frame (parameter set) the view belongs to; also its output file stem."""
        if self.camera_estimated:
            return f"{self.sequence}_{self.camera}_{self.frame}"
        return f"{self.sequence}_{self.frame}"

    @property
    def camera_key(self) -> str:
        """Id of the camera group whose intrinsics the view shares."""
        return f"{self.sequence}/{self.camera}"


@dataclasses.dataclass(frozen=True)
class Scene:
    """All views of one subject, with frame and camera indices."""

    subject: str
    """Subject id."""
    views: tuple[View, ...]
    """Every view, in manifest order."""
    frame_keys: tuple[str, ...]
    """Distinct frames, sorted (sequence, then frame)."""
    camera_keys: tuple[str, ...]
    """Distinct camera groups, sorted."""
    view_frame: np.ndarray
    """[V] index into ``frame_keys`` for each view."""
    view_camera: np.ndarray
    """[V] index into ``camera_keys`` for each view."""
    smooth_pairs: np.ndarray
    """[P, 2] frame indices of temporally consecutive frames (same sequence, one camera set)."""

    @property
    def multiview(self) -> bool:
        """True when some frame is seen by more than one view."""
        return bool(np.bincount(self.view_frame).max() > 1)

    @property
    def estimated_cameras(self) -> np.ndarray:
        """[C] bool: camera groups whose intrinsics are estimated."""
        est = np.zeros(len(self.camera_keys), dtype=bool)
        for v, c in zip(self.views, self.view_camera, strict=True):
            est[c] |= v.camera_estimated
        return est


def build_scene(subject: str, views: Sequence[View]) -> Scene:
    """Index ``views`` into frames and camera groups; :class:`SceneError` when unusable."""
    if not views:
        raise SceneError(
            f"subject {subject!r} has no frames: run `headforge ingest` for it first "
            "(data/captures/manifest.parquet has no rows for this subject)"
        )
    keys = [v.key for v in views]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise SceneError(f"subject {subject!r}: duplicate views {dup[:3]}; re-run ingest")
    for v in views:
        K, w2c = np.asarray(v.K), np.asarray(v.w2c)
        if (
            K.shape != (3, 3)
            or w2c.shape != (4, 4)
            or not (np.all(np.isfinite(K)) and np.all(np.isfinite(w2c)))
        ):
            raise SceneError(f"view {v.key}: K must be finite [3, 3] and w2c finite [4, 4]")
        if K[0, 0] <= 0 or K[1, 1] <= 0:
            raise SceneError(f"view {v.key}: focal length must be positive, got {K[0, 0]}")
    frame_of = {
        v.frame_key: (v.sequence, v.frame, v.camera if v.camera_estimated else "") for v in views
    }
    frame_keys = tuple(sorted(frame_of, key=lambda k: frame_of[k]))
    camera_keys = tuple(sorted({v.camera_key for v in views}))
    fidx = {k: i for i, k in enumerate(frame_keys)}
    cidx = {k: i for i, k in enumerate(camera_keys)}
    view_frame = np.array([fidx[v.frame_key] for v in views], dtype=np.int64)
    view_camera = np.array([cidx[v.camera_key] for v in views], dtype=np.int64)
    cams_of: dict[int, frozenset[str]] = {}
    for v, f in zip(views, view_frame, strict=True):
        cams_of[int(f)] = cams_of.get(int(f), frozenset()) | {v.camera_key}
    pairs = []
    for i in range(len(frame_keys) - 1):
        a, b = frame_of[frame_keys[i]], frame_of[frame_keys[i + 1]]
        if a[0] == b[0] and a[2] == b[2] and cams_of[i] == cams_of[i + 1]:
            pairs.append((i, i + 1))
    return Scene(
        subject=subject,
        views=tuple(views),
        frame_keys=frame_keys,
        camera_keys=camera_keys,
        view_frame=view_frame,
        view_camera=view_camera,
        smooth_pairs=np.array(pairs, dtype=np.int64).reshape(-1, 2),
    )


def views_from_manifest(rows: Any, root: Path) -> list[View]:
    """Views from the rows of ``data/captures/manifest.parquet`` (a DataFrame) of one subject.

    Paths in the manifest are relative to the project ``root``.
    """
    out = []
    for r in rows.to_dict("records"):
        mask = r.get("mask_path") or ""
        out.append(
            View(
                sequence=str(r["sequence"]),
                camera=str(r["camera"]),
                frame=str(r["frame"]),
                K=np.asarray(r["K"], dtype=np.float64).reshape(3, 3),
                w2c=np.asarray(r["w2c"], dtype=np.float64).reshape(4, 4),
                width=int(r["width"]),
                height=int(r["height"]),
                camera_estimated=bool(r.get("camera_estimated", False)),
                image_path=root / str(r["path"]),
                mask_path=(root / str(mask)) if mask else None,
            )
        )
    return out
