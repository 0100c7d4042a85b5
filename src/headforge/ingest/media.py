"""Decoding images and videos, and deterministic PNG encoding.

Images come back as ``uint8`` RGB arrays ``[H, W, 3]``; an alpha channel, when a PNG has a
non-trivial one, is returned separately so that it can serve as a given foreground mask.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from headforge.ingest.errors import CaptureError
from headforge.ingest.limits import DEFAULT_LIMITS, PIL_HARD_LIMIT, InputLimits, check_pixels

PNG_COMPRESSION = 4
"""zlib level of written PNGs: fixed, so the same pixels always give the same bytes (4 is
about twice as fast as 6 for 6% larger files)."""


@dataclasses.dataclass(frozen=True)
class Decoded:
    """One decoded image."""

    rgb: np.ndarray  # [H, W, 3] uint8
    alpha: np.ndarray | None  # [H, W] uint8, or None when the file has no useful alpha


_TRANSPOSED = (5, 6, 7, 8)
"""EXIF orientations that swap width and height."""


def _png_dims(path: Path) -> tuple[int, int] | None:
    """(width, height) from a PNG's IHDR chunk, or None for other files."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def image_size(path: Path, limits: InputLimits = DEFAULT_LIMITS) -> tuple[int, int]:
    """``(width, height)`` of an image file as displayed (EXIF orientation applied), from its
    header only; images over ``limits.max_image_pixels`` are refused before decoding."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = int(im.width), int(im.height)
                check_pixels(path, w, h, limits)
                if im.format == "JPEG" and im.getexif().get(0x0112) in _TRANSPOSED:
                    w, h = h, w
                return w, h
    except Image.DecompressionBombError as e:  # over Pillow's own hard limit
        dims = _png_dims(path)
        if dims is not None:
            check_pixels(path, dims[0], dims[1], limits)
        raise CaptureError(
            f"{path}: image over the limit of {limits.max_image_pixels:,} pixels "
            f"(ingest.max_image_pixels; {e}); downscale it"
        ) from e
    except (UnidentifiedImageError, OSError, ValueError) as e:
        if isinstance(e, CaptureError):
            raise
        raise CaptureError(
            f"{path}: corrupt or unreadable image ({e}); re-export it as PNG or JPEG, or "
            "remove it"
        ) from e


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img.astype(np.uint32) * 255 // 65535).astype(np.uint8)
    raise TypeError(f"unsupported image dtype {img.dtype}")


def read_image(path: Path) -> Decoded:
    """Decode an image file fully; corrupt or truncated files raise CaptureError."""
    try:
        data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    except OSError as e:
        raise CaptureError(f"{path}: cannot read file ({e}); check permissions") from e
    # PNGs unchanged (alpha, 16 bit); other formats as colour, which applies EXIF orientation
    is_png = data[:8].tobytes() == b"\x89PNG\r\n\x1a\n"
    flag = cv2.IMREAD_UNCHANGED if is_png else cv2.IMREAD_COLOR
    img = cv2.imdecode(data, flag) if data.size else None
    if img is None or img.size == 0:
        raise CaptureError(
            f"{path}: corrupt or unreadable image; re-export it as PNG or JPEG, or remove it"
        )
    try:
        img = _to_uint8(img)
    except TypeError as e:
        raise CaptureError(f"{path}: {e}; save it as 8- or 16-bit PNG/JPEG") from e
    alpha = None
    if img.ndim == 2:
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        a = img[:, :, 3]
        alpha = None if bool(np.all(a == 255)) else np.ascontiguousarray(a)
        rgb = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    else:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return Decoded(rgb=np.ascontiguousarray(rgb), alpha=alpha)


_MASK_HEADER = InputLimits(max_image_pixels=PIL_HARD_LIMIT)
"""Masks are bounded by their image's size (checked against the image's limit already)."""


def read_mask(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A given foreground mask as ``uint8 [H, W]`` (0 background, 255 foreground).

    Grey masks are used as they are; colour masks by their first channel; RGBA by alpha.
    ``size`` is the ``(width, height)`` of the image the mask belongs to.
    """
    if not path.is_file():
        raise CaptureError(
            f"{path}: mask not found; add it, or remove the masks folder to compute masks"
        )
    w, h = image_size(path, _MASK_HEADER)  # a mask larger than its image: refused undecoded
    if (w, h) != size:
        raise CaptureError(
            f"{path}: mask is {w}x{h} but its image is {size[0]}x{size[1]}; resize the mask "
            "to match"
        )
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    m = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if m is None:
        raise CaptureError(f"{path}: corrupt or unreadable mask; re-export it as PNG")
    try:
        m = _to_uint8(m)
    except TypeError as e:
        raise CaptureError(f"{path}: {e}; save the mask as 8-bit PNG") from e
    if m.ndim == 3:
        m = m[:, :, 3] if m.shape[2] == 4 else m[:, :, 0]
    if (m.shape[1], m.shape[0]) != size:
        raise CaptureError(
            f"{path}: mask is {m.shape[1]}x{m.shape[0]} but its image is {size[0]}x{size[1]}; "
            "resize the mask to match"
        )
    if m.max() == 1:  # 0/1 masks
        m = m * 255
    return np.ascontiguousarray(m)


def encode_png(img: np.ndarray) -> bytes:
    """PNG bytes of an RGB ``[H, W, 3]`` or grey ``[H, W]`` uint8 image (deterministic)."""
    bgr = cv2.cvtColor(img, cv2.COLOR_RGB2BGR) if img.ndim == 3 else img
    ok, buf = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise OSError("PNG encoding failed")
    return buf.tobytes()


# --------------------------------------------------------------------------------------------
# Video
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class VideoFrame:
    """One frame sampled from a video."""

    index: int
    """Position of the frame in decode order (0-based)."""
    time: float
    """Presentation time in seconds."""
    rgb: np.ndarray  # [H, W, 3] uint8


def _sample_times(fps: float) -> Iterator[float]:
    k = 0
    while True:
        yield k / fps
        k += 1


def sample_video(
    path: Path, fps: float, max_frames: int, limits: InputLimits = DEFAULT_LIMITS
) -> list[VideoFrame]:
    """Decode ``path`` with PyAV and keep one frame every ``1/fps`` seconds, at most
    ``max_frames``. ``fps <= 0`` keeps every frame. Display rotation metadata is applied.
    Frames over ``limits.max_image_pixels`` are refused from the stream header.
    """
    import av

    if max_frames < 1:
        raise CaptureError(f"max_frames must be at least 1, got {max_frames}; fix params.yaml")
    out: list[VideoFrame] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise CaptureError(f"{path}: no video stream; give a video with picture")
            stream = container.streams.video[0]
            check_pixels(path, int(stream.codec_context.width or 0),
                         int(stream.codec_context.height or 0), limits)
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or 25)
            times = _sample_times(fps) if fps > 0 else None
            due = next(times) if times else 0.0
            for i, frame in enumerate(container.decode(stream)):
                t = float(frame.time) if frame.time is not None else i / rate
                if times is not None:
                    if t + 0.5 / rate < due:
                        continue
                    while due <= t + 0.5 / rate:
                        due = next(times)
                rgb: np.ndarray = frame.to_ndarray(format="rgb24")
                rot = int(getattr(frame, "rotation", 0) or 0)
                if rot % 360:
                    rgb = np.ascontiguousarray(np.rot90(rgb, k=round(rot / 90) % 4))
                out.append(VideoFrame(index=i, time=t, rgb=rgb))
                if len(out) >= max_frames:
                    break
    except CaptureError:
        raise
    except (av.FFmpegError, OSError, ValueError) as e:
        raise CaptureError(
            f"{path}: corrupt or unreadable video ({e}); re-encode it (e.g. ffmpeg -i in.mov "
            "-c:v libx264 out.mp4) or remove it"
        ) from e
    if not out:
        raise CaptureError(f"{path}: video has no decodable frames; re-encode it or remove it")
    return out
