"""face-alignment (Bulat & Tzimiropoulos' FAN, 68 points) from weights the user provides.

The package is optional and never downloads anything here: place the files in the folder named
by ``track.face_alignment_weights`` and ``pip install face-alignment``:

* the landmark network: ``2DFAN4-cd938726ad.zip`` (TorchScript, face-alignment >= 1.3) or
  ``2DFAN4-11f355bf06.pth.tar`` (a state dict, face-alignment <= 1.2);
* the face detector: ``s3fd-619a316812.pth`` (a state dict).

State dicts are read with ``torch.load(..., weights_only=True)`` (no arbitrary pickles); the
network classes come from the ``face_alignment`` package. Detection, cropping and heatmap
decoding are implemented here as pure functions. The 2DFAN4 model was trained on 300-W-derived
data (non-commercial terms apply to its results as well).
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F

from headforge.io_utils import sha256_file
from headforge.track.base import LandmarkDetector
from headforge.track.detectors import DetectorEntry, DetectorStatus
from headforge.track.result import LandmarkError, LandmarkResult, as_rgb_uint8

if TYPE_CHECKING:
    from headforge.config import TrackConfig

_CODE_VERSION = "1"
FAN_PATTERNS = ("2DFAN4*.zip", "2DFAN4*.pth.tar", "2DFAN4*.pth")
S3FD_PATTERNS = ("s3fd*.pth",)
_S3FD_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)
_REFERENCE_SCALE = 195.0  # face-alignment's box-size normaliser for s3fd boxes
_CROP = 256
_HEATMAP = 64


def _fix_hint(folder: str) -> str:
    where = folder or "<a folder>"
    return (
        f"place 2DFAN4-cd938726ad.zip (or 2DFAN4-11f355bf06.pth.tar) and s3fd-619a316812.pth "
        f"in {where}, set track.face_alignment_weights: {where} in params.yaml, and "
        "`pip install face-alignment`; or use detector: mediapipe"
    )


@dataclasses.dataclass(frozen=True)
class FaceAlignmentWeights:
    """The two weight files the face-alignment detector needs."""

    fan: Path
    """2DFAN4 landmark network (.zip TorchScript or .pth/.pth.tar state dict)."""
    s3fd: Path
    """S3FD face detector state dict (.pth)."""


def find_face_alignment_weights(folder: str) -> FaceAlignmentWeights:
    """Locate the weight files in ``folder``; one :class:`LandmarkError` lists what is missing."""
    if not folder:
        raise LandmarkError(
            "detector: face_alignment needs local weights and none are configured: "
            + _fix_hint(folder)
        )
    root = Path(folder)
    if not root.is_dir():
        raise LandmarkError(
            f"face-alignment weights folder {root} does not exist: " + _fix_hint(folder)
        )

    def first(patterns: tuple[str, ...]) -> Path | None:
        for pat in patterns:
            hits = sorted(root.glob(pat))
            if hits:
                return hits[0]
        return None

    fan, s3fd = first(FAN_PATTERNS), first(S3FD_PATTERNS)
    missing = [n for n, p in (("2DFAN4 (.zip/.pth.tar)", fan), ("s3fd .pth", s3fd)) if p is None]
    if missing:
        raise LandmarkError(f"{root} lacks {', '.join(missing)}: " + _fix_hint(folder))
    assert fan is not None and s3fd is not None
    return FaceAlignmentWeights(fan=fan, s3fd=s3fd)


def face_alignment_installed() -> bool:
    """True when the optional ``face_alignment`` package is importable."""
    return importlib.util.find_spec("face_alignment") is not None


# ---- pure functions: S3FD decoding, NMS, FAN crop and heatmap decoding ----------------------


def decode_s3fd(outputs: list[torch.Tensor], min_score: float = 0.05) -> np.ndarray:
    """S3FD head outputs -> boxes [N, 5] (x0, y0, x1, y1, score) in input pixels.

    ``outputs`` alternates class logits [1, 2, h, w] and box regressions [1, 4, h, w] for
    strides 4, 8, ..., 128; anchors are square with side 4 x stride, variances (0.1, 0.2).
    """
    boxes: list[np.ndarray] = []
    for level in range(len(outputs) // 2):
        cls = F.softmax(outputs[2 * level].float(), dim=1)[0, 1].cpu().numpy()  # [h, w]
        reg = outputs[2 * level + 1].float()[0].cpu().numpy()  # [4, h, w]
        stride = 2 ** (level + 2)
        ys, xs = np.nonzero(cls > min_score)
        if len(ys) == 0:
            continue
        side = 4.0 * stride
        cx = stride / 2 + xs * stride + reg[0, ys, xs] * 0.1 * side
        cy = stride / 2 + ys * stride + reg[1, ys, xs] * 0.1 * side
        bw = side * np.exp(reg[2, ys, xs] * 0.2)
        bh = side * np.exp(reg[3, ys, xs] * 0.2)
        boxes.append(np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2, cls[ys, xs]], 1))
    return np.concatenate(boxes, 0) if boxes else np.zeros((0, 5))


def nms(boxes: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """Indices of ``boxes`` [N, 5] kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-boxes[:, 4])
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix = np.clip(
            np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]),
            0,
            None,
        )
        iy = np.clip(
            np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]),
            0,
            None,
        )
        inter = ix * iy
        iou = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.array(keep, dtype=np.int64)


def fan_crop_transform(box: tuple[float, float, float, float]) -> np.ndarray:
    """2x3 affine taking image pixels to the 256 x 256 FAN input crop of a face box.

    Follows face-alignment's framing: centre moved up by 12 % of the box height, crop side
    200 * (w + h) / 195 pixels.
    """
    x0, y0, x1, y1 = box
    cx = (x0 + x1) / 2.0
    cy = (y0 + y1) / 2.0 - 0.12 * (y1 - y0)
    side = 200.0 * ((x1 - x0) + (y1 - y0)) / _REFERENCE_SCALE
    s = _CROP / side
    return np.array([[s, 0.0, _CROP / 2 - s * cx], [0.0, s, _CROP / 2 - s * cy]], dtype=np.float64)


def decode_heatmaps(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heatmaps [P, h, w] -> (points [P, 2] in heatmap pixels, continuous; peak values [P]).

    Argmax with a quarter-pixel step toward the higher neighbour, as FAN's decoders do.
    """
    p, h, w = heatmaps.shape
    flat = heatmaps.reshape(p, -1)
    idx = flat.argmax(1)
    ys, xs = np.divmod(idx, w)
    pts = np.stack([xs, ys], 1).astype(np.float64)
    for k in range(p):
        x, y = int(xs[k]), int(ys[k])
        hm = heatmaps[k]
        if 0 < x < w - 1:
            pts[k, 0] += 0.25 * np.sign(hm[y, x + 1] - hm[y, x - 1])
        if 0 < y < h - 1:
            pts[k, 1] += 0.25 * np.sign(hm[y + 1, x] - hm[y - 1, x])
    return pts + 0.5, flat.max(1)


def heatmap_to_image(points_hm: np.ndarray, crop_affine: np.ndarray) -> np.ndarray:
    """Heatmap coordinates [P, 2] -> image pixels through the inverse of the crop affine."""
    crop_pts = points_hm * (_CROP / _HEATMAP)
    a = crop_affine[:, :2]
    t = crop_affine[:, 2]
    return (crop_pts - t) @ np.linalg.inv(a).T


# ---- the detector ---------------------------------------------------------------------------


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    obj = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(obj, dict) and "state_dict" in obj and isinstance(obj["state_dict"], dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict):
        raise LandmarkError(f"{path} is not a state dict: expected face-alignment's weights")
    return {k.removeprefix("module."): v for k, v in obj.items()}


class FaceAlignmentDetector(LandmarkDetector):
    """S3FD face boxes + 2DFAN4 heatmaps: ``ibug68`` points, confidence = heatmap peak."""

    name = "face_alignment"
    convention = "ibug68"

    def __init__(self, weights_dir: str, min_face_score: float = 0.5) -> None:
        weights = find_face_alignment_weights(weights_dir)
        if not face_alignment_installed():
            raise LandmarkError(
                "detector: face_alignment needs the face-alignment package for its network "
                "definitions: `pip install face-alignment` (weights found in "
                f"{weights.fan.parent})"
            )
        from face_alignment.detection.sfd.net_s3fd import s3fd

        self.weights = weights
        self._min_face_score = float(min_face_score)
        self._s3fd: Any = s3fd()
        self._s3fd.load_state_dict(_load_state_dict(weights.s3fd))
        self._s3fd.eval()
        if weights.fan.suffix == ".zip":
            self._fan: Any = torch.jit.load(str(weights.fan), map_location="cpu")
        else:
            from face_alignment.models import FAN

            self._fan = FAN(4)
            self._fan.load_state_dict(_load_state_dict(weights.fan))
        self._fan.eval()
        self._version = "-".join(
            [sha256_file(weights.fan)[:12], sha256_file(weights.s3fd)[:12], _CODE_VERSION]
        )

    @property
    def version(self) -> str:
        return f"face_alignment-{self._version}"

    @torch.no_grad()
    def _boxes(self, image: np.ndarray) -> np.ndarray:
        bgr = image[..., ::-1].astype(np.float32) - _S3FD_MEAN_BGR
        x = torch.from_numpy(np.ascontiguousarray(bgr.transpose(2, 0, 1)))[None]
        boxes = decode_s3fd(list(self._s3fd(x)))
        if boxes.shape[0] == 0:
            return boxes
        boxes = boxes[nms(boxes, 0.3)]
        return boxes[boxes[:, 4] > self._min_face_score]

    @torch.no_grad()
    def detect(self, image: np.ndarray) -> LandmarkResult:
        import cv2

        image = as_rgb_uint8(image)
        h, w = image.shape[:2]
        boxes = self._boxes(image)
        if boxes.shape[0] == 0:
            return LandmarkResult.no_face(self.name, (h, w), "S3FD found no face above 0.5")
        b = boxes[0]
        box = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
        affine = fan_crop_transform(box)
        crop = cv2.warpAffine(image, affine, (_CROP, _CROP), flags=cv2.INTER_LINEAR)
        x = torch.from_numpy(crop.transpose(2, 0, 1).copy()).float()[None] / 255.0
        out = self._fan(x)
        hm = (out[-1] if isinstance(out, list | tuple) else out)[0].cpu().numpy()  # [68, 64, 64]
        pts_hm, peaks = decode_heatmaps(hm)
        pts = heatmap_to_image(pts_hm, affine).astype(np.float32)
        return LandmarkResult(
            detector=self.name,
            image_size=(h, w),
            convention="ibug68",
            points=pts,
            confidence=np.clip(peaks, 0.0, 1.0).astype(np.float32),
            box=box,
            score=float(b[4]),
        )


def _make(config: TrackConfig) -> FaceAlignmentDetector:
    return FaceAlignmentDetector(config.face_alignment_weights)


def _probe(config: TrackConfig) -> DetectorStatus:
    find_face_alignment_weights(config.face_alignment_weights)  # LandmarkError naming the fix
    if not face_alignment_installed():
        raise LandmarkError("pip install face-alignment")
    return DetectorStatus(True, "")


ENTRY = DetectorEntry(
    "face_alignment", "ibug68", _make, _probe, dist="face-alignment",
    summary="face-alignment's 2DFAN4, 68 points, from local weights (300-W: non-commercial)",
)
