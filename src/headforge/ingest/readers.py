"""Capture readers: every input format becomes a list of :class:`RawView`.

A view is one image of the subject: a photo, a sampled video frame, or one camera's frame of a
calibrated capture, with its camera (K and world-to-camera, OpenCV) when the capture has one
and its given mask when present. Readers validate as they go; pixels are decoded lazily for
image files and eagerly for sampled video frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np

from headforge.ingest.errors import CaptureError
from headforge.ingest.layout import (
    IMAGE_EXTS,
    PHOTO_DIRS,
    VIDEO_DIRS,
    VIDEO_EXTS,
    CaptureFormat,
    CaptureSpec,
    check_name,
    media_files,
)
from headforge.ingest.limits import DEFAULT_LIMITS, InputLimits
from headforge.ingest.media import Decoded, image_size, read_image, sample_video
from headforge.io_utils import sha256_bytes, sha256_file

T = TypeVar("T")

BLANK_GREY = 128
"""Fill of removed regions (flat, so nothing of what was there can be recovered)."""


@dataclasses.dataclass(frozen=True)
class RawView:
    """One input image with whatever camera and mask the capture gives for it."""

    sequence: str
    """Sequence name (a NeRSemble sequence, a video's stem, ``photos``, ``transforms``)."""
    camera: str
    """Camera id within the capture (a serial, ``video``, or a photo's stem)."""
    frame: str
    """Frame id within the camera (file stem or zero-padded decode index)."""
    source: str
    """Where the pixels came from, relative to the capture folder (``clip.mp4#12`` for video)."""
    size: tuple[int, int]
    """(width, height) in pixels."""
    content_sha256: str
    """Hash of the file bytes (images) or of the decoded pixels (video frames)."""
    path: Path | None = None
    """Image file to decode, or None when ``pixels`` holds a decoded video frame."""
    pixels: np.ndarray | None = None  # [H, W, 3] uint8
    mask: Path | None = None
    """Given foreground mask file, if any."""
    K: np.ndarray | None = None  # [3, 3] pixels, of the source image
    w2c: np.ndarray | None = None  # [4, 4] world-to-camera, OpenCV
    blank: tuple[tuple[int, int, int, int], ...] = ()
    """Boxes (x0, y0, x1, y1) filled with flat grey on loading: other people's faces, removed
    before anything is cropped, masked or stored (``ingest.multiple_faces: largest``)."""

    def load(self) -> Decoded:
        """Decoded pixels (and alpha) of this view, with the ``blank`` boxes filled."""
        if self.pixels is not None:
            dec = Decoded(rgb=self.pixels, alpha=None)
        else:
            assert self.path is not None
            dec = read_image(self.path)
        if not self.blank:
            return dec
        rgb = dec.rgb.copy()
        for x0, y0, x1, y1 in self.blank:
            rgb[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)] = BLANK_GREY
        return Decoded(rgb=rgb, alpha=dec.alpha)


@dataclasses.dataclass(frozen=True)
class Capture:
    """All views of one subject's capture."""

    subject: str
    spec: CaptureSpec
    views: list[RawView]

    @property
    def format(self) -> CaptureFormat:
        return self.spec.format

    @property
    def calibrated(self) -> bool:
        """True when every view comes with a camera from the capture."""
        return all(v.K is not None and v.w2c is not None for v in self.views)


def evenly(items: Sequence[T], n: int) -> list[T]:
    """At most ``n`` items spread evenly over ``items`` (first and last kept)."""
    if len(items) <= n:
        return list(items)
    idx = np.unique(np.round(np.linspace(0, len(items) - 1, n)).astype(int))
    return [items[i] for i in idx]


def rel(root: Path, p: Path) -> str:
    """``p`` relative to ``root`` as a POSIX string."""
    return p.resolve().relative_to(root.resolve()).as_posix()


def image_view(
    root: Path,
    path: Path,
    sequence: str,
    camera: str,
    frame: str,
    mask: Path | None,
    K: np.ndarray | None = None,
    w2c: np.ndarray | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> RawView:
    """A view backed by an image file (size from the header, checked against ``limits``;
    pixels decoded later)."""
    return RawView(
        sequence=sequence,
        camera=camera,
        frame=frame,
        source=rel(root, path),
        size=image_size(path, limits),
        content_sha256=sha256_file(path),
        path=path,
        mask=mask,
        K=K,
        w2c=w2c,
    )


def video_views(
    root: Path,
    path: Path,
    sequence: str,
    camera: str,
    fps: float,
    max_frames: int,
    mask_dir: Path | None,
    K: np.ndarray | None = None,
    w2c: np.ndarray | None = None,
    limits: InputLimits = DEFAULT_LIMITS,
) -> list[RawView]:
    """Views of frames sampled from one video (``fps`` per second, at most ``max_frames``)."""
    views = []
    for f in sample_video(path, fps, max_frames, limits):
        frame = f"{f.index:06d}"
        views.append(
            RawView(
                sequence=sequence,
                camera=camera,
                frame=frame,
                source=f"{rel(root, path)}#{f.index}",
                size=(f.rgb.shape[1], f.rgb.shape[0]),
                content_sha256=sha256_bytes(f.rgb.tobytes()),
                pixels=f.rgb,
                mask=None if mask_dir is None else mask_dir / f"{frame}.png",
                K=K,
                w2c=w2c,
            )
        )
    return views


def read_photos(spec: CaptureSpec, max_frames: int) -> list[RawView]:
    """Each photo is its own camera (``camera`` = file stem) in sequence ``photos``; given
    masks are ``<masks>/<stem>.png``."""
    root = spec.root
    files = media_files(root, IMAGE_EXTS, PHOTO_DIRS)
    if not files:
        raise CaptureError(
            f"{root}: format is photos but no .png/.jpg files are in it or in photos/; add some"
        )
    stems = [p.stem for p in files]
    for s in set(stems):
        if stems.count(s) > 1:
            raise CaptureError(
                f"{root}: several photos share the name {s!r} (e.g. .png and .jpg); rename one"
            )
    views = []
    for p in evenly(files, max_frames):
        cam = check_name(p.stem, "photo", p)
        mask = None if spec.masks is None else spec.masks / f"{p.stem}.png"
        views.append(image_view(root, p, "photos", cam, "000000", mask, limits=spec.limits))
    return views


def read_videos(spec: CaptureSpec, fps: float, max_frames: int) -> list[RawView]:
    """Each video is a sequence (named by its stem) seen by one camera named ``video``; given
    masks are ``<masks>/<stem>/<frame index, 6 digits>.png``."""
    root = spec.root
    files = media_files(root, VIDEO_EXTS, VIDEO_DIRS)
    if not files:
        raise CaptureError(
            f"{root}: format is video but no .mp4/.mov file is in it or in video/; add one"
        )
    stems = [p.stem for p in files]
    for s in set(stems):
        if stems.count(s) > 1:
            raise CaptureError(f"{root}: several videos share the name {s!r}; rename one")
    views: list[RawView] = []
    for p in files:
        seq = check_name(p.stem, "video", p)
        mask_dir = None if spec.masks is None else spec.masks / seq
        views += video_views(
            root, p, seq, "video", fps, max_frames, mask_dir, limits=spec.limits
        )
    return views
