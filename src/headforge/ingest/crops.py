"""Head crops: square boxes around detected faces, the crop warp, and how K follows it.

Pixel convention (as :mod:`headforge.cameras`): continuous coordinates where pixel ``(u, v)``
covers ``[u, u+1) x [v, v+1)``. A square crop of side ``s`` at integer ``(x0, y0)`` resized to
``r`` pixels maps a source point ``p`` to ``(p - (x0, y0)) * r / s``, so ``K' = A @ K`` with
``A = [[r/s, 0, -x0 r/s], [0, r/s, -y0 r/s], [0, 0, 1]]``. ``cv2.resize`` uses exactly this
corner-aligned mapping.

For calibrated captures the head centre is triangulated from the face boxes of all cameras and
projected back, so every camera's crop holds the same physical head-sized region and stays
fixed over a sequence (one K per camera).
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence

import cv2
import numpy as np

from headforge.cameras import focal_from_fov, intrinsics, look_at_w2c
from headforge.ingest.faces import FaceBox
from headforge.ingest.readers import RawView

MAX_REPROJ = 0.25
"""Largest reprojection error of a triangulated face centre, as a fraction of the face box."""


@dataclasses.dataclass(frozen=True)
class CropBox:
    """A square crop in source pixels; it may extend past the image (padded with zeros)."""

    x0: int
    y0: int
    side: int

    def as_list(self) -> list[float]:
        return [float(self.x0), float(self.y0), float(self.side)]

    def within(self, size: tuple[int, int]) -> bool:
        """True when the box lies inside an image of ``size`` (width, height)."""
        return (self.x0 >= 0 and self.y0 >= 0 and self.x0 + self.side <= size[0]
                and self.y0 + self.side <= size[1])


def square_box(center: np.ndarray, face_size: float, scale: float, lift: float) -> CropBox:
    """Square of side ``scale * face_size`` around ``center`` [2], raised by ``lift`` faces."""
    side = max(2, round(scale * face_size))
    cx, cy = float(center[0]), float(center[1]) - lift * face_size
    return CropBox(x0=round(cx - side / 2.0), y0=round(cy - side / 2.0), side=side)


def crop_matrix(box: CropBox, res: int) -> np.ndarray:  # [3, 3]
    """Affine map from source to output pixel coordinates."""
    s = res / box.side
    return np.array([[s, 0.0, -s * box.x0], [0.0, s, -s * box.y0], [0.0, 0.0, 1.0]])


def crop_intrinsics(K: np.ndarray, box: CropBox, res: int) -> np.ndarray:  # [3, 3]
    """Intrinsics of the cropped, resized image."""
    return crop_matrix(box, res) @ np.asarray(K, dtype=np.float64)


def crop_image(img: np.ndarray, box: CropBox, res: int) -> np.ndarray:
    """Cut ``box`` out of ``img`` [H, W(, C)] (zeros outside it) and resize to ``res``²."""
    h, w = img.shape[:2]
    canvas = np.zeros((box.side, box.side, *img.shape[2:]), dtype=img.dtype)
    xa, ya = max(box.x0, 0), max(box.y0, 0)
    xb, yb = min(box.x0 + box.side, w), min(box.y0 + box.side, h)
    if xb > xa and yb > ya:
        canvas[ya - box.y0 : yb - box.y0, xa - box.x0 : xb - box.x0] = img[ya:yb, xa:xb]
    interp = cv2.INTER_AREA if box.side > res else cv2.INTER_LINEAR
    return cv2.resize(canvas, (res, res), interpolation=interp)


def estimated_camera(
    res: int, fov_deg: float, box_scale: float, face_width_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """A pinhole guess for an uncalibrated crop: K [3, 3] with ``fov_deg`` across the crop,
    and w2c [4, 4] on the +z axis looking at the origin, at the distance where a face
    ``face_width_m`` wide spans ``res / box_scale`` pixels (as the crop was made).
    """
    f = focal_from_fov(fov_deg, res)
    K = intrinsics(f, f, res / 2.0, res / 2.0)
    dist = f * face_width_m * box_scale / res
    return K, look_at_w2c(np.array([0.0, 0.0, dist]), np.zeros(3))


def triangulate(centers: np.ndarray, Ks: np.ndarray, w2cs: np.ndarray) -> np.ndarray:
    """Least-squares intersection of the rays through ``centers`` [N, 2] of cameras
    ``Ks`` [N, 3, 3], ``w2cs`` [N, 4, 4] -> world point [3]."""
    A = np.zeros((3, 3))
    b = np.zeros(3)
    for uv, K, T in zip(centers, Ks, w2cs, strict=True):
        R, t = T[:3, :3], T[:3, 3]
        d = R.T @ np.linalg.solve(K, np.array([uv[0], uv[1], 1.0]))
        d /= np.linalg.norm(d)
        P = np.eye(3) - np.outer(d, d)
        A += P
        b += P @ (-R.T @ t)
    return np.linalg.lstsq(A, b, rcond=None)[0]


def project_point(X: np.ndarray, K: np.ndarray, w2c: np.ndarray) -> tuple[np.ndarray, float]:
    """Pixel [2] and depth of world point ``X`` [3]."""
    c = w2c[:3, :3] @ X + w2c[:3, 3]
    z = float(c[2])
    uv = (K @ (c / (z if abs(z) > 1e-12 else 1e-12)))[:2]
    return uv, z


@dataclasses.dataclass(frozen=True)
class CropPlan:
    """One crop per view (same order as the views), plus notes on fallbacks taken."""

    boxes: list[CropBox]
    notes: list[str]


def _median_box(dets: Sequence[FaceBox], scale: float, lift: float) -> CropBox:
    c = np.median(np.stack([d.center for d in dets]), axis=0)
    return square_box(c, float(np.median([d.size for d in dets])), scale, lift)


def _centre_box(size: tuple[int, int]) -> CropBox:
    side = min(size)
    return CropBox(x0=(size[0] - side) // 2, y0=(size[1] - side) // 2, side=side)


def _plan_2d(
    views: Sequence[RawView], faces: Sequence[FaceBox | None], scale: float, lift: float,
    per_frame: bool, notes: list[str],
) -> list[CropBox]:
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, v in enumerate(views):
        groups[(v.sequence, v.camera)].append(i)
    boxes: list[CropBox | None] = [None] * len(views)
    for (seq, cam), idx in groups.items():
        dets = [f for i in idx if (f := faces[i]) is not None]
        if not dets:
            notes.append(f"{seq}/{cam}: no face found; used a centred square crop")
            fallback = _centre_box(views[idx[0]].size)
        else:
            fallback = _median_box(dets, scale, lift)
        for i in idx:
            f = faces[i]
            boxes[i] = square_box(f.center, f.size, scale, lift) if per_frame and f else fallback
    return [b for b in boxes if b is not None]


def _plan_sequence_3d(
    views: Sequence[RawView], faces: Sequence[FaceBox | None], scale: float, lift: float,
) -> list[CropBox] | None:
    """Crops from the triangulated head centre of one sequence, or None if it fails."""
    by_frame: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(views):
        if faces[i] is not None:
            by_frame[v.frame].append(i)
    points, sizes = [], []
    for idx in by_frame.values():
        if len(idx) < 2:
            continue
        Ks = np.stack([views[i].K for i in idx])  # type: ignore[misc]
        Ts = np.stack([views[i].w2c for i in idx])  # type: ignore[misc]
        dets = [faces[i] for i in idx]
        X = triangulate(np.stack([d.center for d in dets if d]), Ks, Ts)
        ok, frame_sizes = True, []
        for d, K, T in zip(dets, Ks, Ts, strict=True):
            assert d is not None
            uv, z = project_point(X, K, T)
            if z <= 0 or np.linalg.norm(uv - d.center) > MAX_REPROJ * d.size:
                ok = False
                break
            frame_sizes.append(d.size * z / (0.5 * (K[0, 0] + K[1, 1])))
        if ok:
            points.append(X)
            sizes += frame_sizes
    if not points:
        return None
    X = np.median(np.stack(points), axis=0)
    size_m = float(np.median(sizes))
    out = []
    for v in views:
        assert v.K is not None and v.w2c is not None
        uv, z = project_point(X, v.K, v.w2c)
        if z <= 0:
            return None
        out.append(square_box(uv, size_m * 0.5 * (v.K[0, 0] + v.K[1, 1]) / z, scale, lift))
    return out


def plan_crops(
    views: Sequence[RawView],
    faces: Sequence[FaceBox | None],
    scale: float,
    lift: float,
    per_frame: bool = False,
) -> CropPlan:
    """Choose a crop for every view.

    Calibrated views: triangulate the head per sequence (falls back to 2D boxes per camera
    when fewer than two cameras agree). Otherwise per camera the median face box over its
    frames (``per_frame``: each frame's own box, the median where no face was found); a camera
    with no face at all gets a centred square crop.
    """
    notes: list[str] = []
    calibrated = all(v.K is not None and v.w2c is not None for v in views)
    if not calibrated:
        return CropPlan(_plan_2d(views, faces, scale, lift, per_frame, notes), notes)
    boxes: list[CropBox | None] = [None] * len(views)
    seqs: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(views):
        seqs[v.sequence].append(i)
    for seq, idx in seqs.items():
        sub_v = [views[i] for i in idx]
        sub_f = [faces[i] for i in idx]
        planned = _plan_sequence_3d(sub_v, sub_f, scale, lift)
        if planned is None:
            notes.append(f"{seq}: head triangulation failed; cropped each camera from its boxes")
            planned = _plan_2d(sub_v, sub_f, scale, lift, False, notes)
        for i, b in zip(idx, planned, strict=True):
            boxes[i] = b
    return CropPlan([b for b in boxes if b is not None], notes)
