"""Builders of test captures: consent grants, PNG writing, and a calibrated multi-view rig
that renders a photo on a plane with exact homographies."""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import struct
import zlib
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np

from headforge.cameras import intrinsics, look_at_w2c, opencv_w2c_to_opengl_c2w
from headforge.privacy import Registry
from headforge.privacy.records import now_utc


def grant(reg: Registry, sid: str, days: int | None = None) -> None:
    reg.add_subject(sid)
    expires = now_utc() + timedelta(days=days) if days is not None else None
    reg.grant(sid, "capture", evidence="form-0001", expires_at=expires)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), img)
    return path


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under data/, and of the consent registry's content (an SQL dump
    of registry/*.sqlite: its -shm/-wal side files change on reads)."""
    out = {}
    d = root / "data"
    for p in sorted(d.rglob("*")) if d.exists() else []:
        if p.is_file():
            out[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    for db in sorted((root / "registry").glob("*.sqlite")):
        with contextlib.closing(sqlite3.connect(db)) as con:
            dump = "\n".join(con.iterdump())
        out[db.relative_to(root).as_posix()] = hashlib.sha256(dump.encode()).hexdigest()
    assert any(k.startswith("registry/") for k in out), "the registry was not found"
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png_bytes(side: int) -> bytes:
    """A valid ``side`` x ``side`` grey PNG of zeros: a few hundred kB that decode to side² B."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (side + 1)  # filter byte + pixels
    idat = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"IEND", b""))


def data_files(root: Path) -> dict[str, bytes]:
    """Every file under data/ (relative path -> bytes)."""
    d = root / "data"
    if not d.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in d.rglob("*") if p.is_file()}


# ------------------------------------------------------------------------------------------
# A calibrated multi-view capture: the astronaut photo as a textured plane seen by a rig
# ------------------------------------------------------------------------------------------

PLANE_M = 0.5
"""Edge of the photo plane in metres (z = 0, centred at the origin, +y up)."""
IMG_W, IMG_H, FOCAL = 360, 300, 600.0


def rig(n: int = 4) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Cameras on an arc in front of the plane: serial -> (K [3, 3], w2c [4, 4])."""
    cams = {}
    for i, yaw in enumerate(np.linspace(-20.0, 20.0, n)):
        a, pitch = np.radians(yaw), np.radians(4.0 * (i % 2) - 2.0)
        eye = 0.8 * np.array([np.sin(a) * np.cos(pitch), np.sin(pitch), np.cos(a) * np.cos(pitch)])
        w2c = look_at_w2c(eye, np.array([0.0, 0.05, 0.0]))
        K = intrinsics(FOCAL + 10 * i, FOCAL + 10 * i, IMG_W / 2 + 3 * i, IMG_H / 2 - 2 * i)
        cams[f"22{i:04d}"] = (K, w2c)
    return cams


def photo_to_world(size: int) -> np.ndarray:  # [3, 3]: photo pixel (corner conv.) -> plane (X, Y)
    s = PLANE_M / size
    return np.array([[s, 0.0, -PLANE_M / 2], [0.0, -s, PLANE_M / 2], [0.0, 0.0, 1.0]])


def render_plane(photo: np.ndarray, K: np.ndarray, w2c: np.ndarray) -> np.ndarray:
    """The photo plane seen by one camera (exact homography, pixel centres at +0.5)."""
    Rt = w2c[:3, [0, 1, 3]]
    H = K @ Rt @ photo_to_world(photo.shape[0])
    half = np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1.0]])
    H_cv = np.linalg.inv(half) @ H @ half
    return cv2.warpPerspective(photo, H_cv, (IMG_W, IMG_H), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=(90, 90, 90))


def make_nersemble(
    folder: Path, photo: np.ndarray, frames: int = 2, cams: dict | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write a NeRSemble-like capture (one sequence) into ``folder``; returns the cameras."""
    cams = cams or rig()
    params = {
        "intrinsics": {s: K.tolist() for s, (K, _) in cams.items()},
        "world_2_cam": {s: w2c.tolist() for s, (_, w2c) in cams.items()},
    }
    (folder / "calibration").mkdir(parents=True)
    (folder / "calibration" / "camera_params.json").write_text(json.dumps(params))
    for s, (K, w2c) in cams.items():
        img = render_plane(photo, K, w2c)
        for f in range(frames):
            frame = img.copy()
            frame[0, 0] = (f, 0, 0)  # frames of a static rig differ by sensor noise
            write_png(folder / "sequences" / "EXP-1" / "images" / f"cam_{s}" / f"{f:05d}.png",
                      frame)
    return cams


def make_transforms(
    folder: Path, photo: np.ndarray, cams: dict | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write a transforms.json capture (OpenGL c2w, per-frame intrinsics) into ``folder``."""
    cams = cams or rig()
    frames = []
    for s, (K, w2c) in cams.items():
        write_png(folder / "images" / f"{s}.png", render_plane(photo, K, w2c))
        frames.append({
            "file_path": f"images/{s}.png",
            "transform_matrix": opencv_w2c_to_opengl_c2w(w2c).tolist(),
            "fl_x": K[0, 0], "fl_y": K[1, 1], "cx": K[0, 2], "cy": K[1, 2],
        })
    meta = {"camera_model": "OPENCV", "w": IMG_W, "h": IMG_H, "k1": 0.0, "frames": frames}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "transforms.json").write_text(json.dumps(meta, indent=1))
    return cams


def write_video(path: Path, frames: list[np.ndarray], fps: int = 10) -> Path:
    """Encode RGB frames as an MPEG-4 part 2 .mp4 (high quality) with PyAV."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        s = out.add_stream("mpeg4", rate=fps)
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
        s.codec_context.qmax = 3
        for f in frames:
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path
