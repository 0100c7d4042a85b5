"""Readers of calibrated multi-view captures: NeRSemble-like layouts and transforms.json.

NeRSemble-like layout (OpenCV cameras)::

    calibration/camera_params.json   {"intrinsics": K | {serial: K}, "world_2_cam": {serial: T}}
    sequences/<seq>/images/cam_<serial>/<frame>.png|jpg   or   .../images/cam_<serial>.mp4
    masks/<seq>/cam_<serial>/<frame>.png                  (optional, or sequences/<seq>/masks/)

transforms.json (nerfstudio; OpenGL camera-to-world, converted to OpenCV world-to-camera)::

    {"fl_x", "fl_y", "cx", "cy", "w", "h" (global or per frame; or "camera_angle_x"),
     "frames": [{"file_path": ..., "transform_matrix": 4x4, "mask_path": optional}, ...]}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from headforge.cameras import intrinsics, opengl_c2w_to_opencv_w2c
from headforge.ingest.errors import CaptureError
from headforge.ingest.layout import IMAGE_EXTS, VIDEO_EXTS, CaptureSpec, check_name, resolve_inside
from headforge.ingest.limits import DEFAULT_LIMITS, InputLimits, load_json
from headforge.ingest.readers import RawView, evenly, image_view, video_views
from headforge.ingest.validate import check_intrinsics, check_rigid

CAMERA_PARAMS = Path("calibration") / "camera_params.json"
DISTORTION_KEYS = ("k1", "k2", "k3", "k4", "p1", "p2")


def load_camera_params(
    path: Path, limits: InputLimits = DEFAULT_LIMITS
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """NeRSemble ``camera_params.json`` -> {serial: (K [3, 3], w2c [4, 4])}, validated."""
    data = load_json(path, limits)
    if not isinstance(data, dict) or not isinstance(data.get("world_2_cam"), dict):
        raise CaptureError(
            f"{path}: needs a 'world_2_cam' mapping of camera serial -> 4x4 world-to-camera"
        )
    w2cs: dict[str, Any] = data["world_2_cam"]
    if not w2cs:
        raise CaptureError(f"{path}: 'world_2_cam' is empty; add the cameras")
    if "intrinsics" not in data:
        raise CaptureError(f"{path}: needs 'intrinsics' (one 3x3, or serial -> 3x3)")
    intr = data["intrinsics"]
    if isinstance(intr, dict):
        extra = sorted(set(intr) - set(w2cs))
        missing = sorted(set(w2cs) - set(intr))
        if missing or extra:
            raise CaptureError(
                f"{path}: 'intrinsics' and 'world_2_cam' list different cameras "
                f"(no intrinsics: {missing}, no extrinsics: {extra}); give both for each camera"
            )
    out = {}
    for serial in sorted(w2cs):
        check_name(str(serial), "camera serial", path)
        K_raw = intr[serial] if isinstance(intr, dict) else intr
        K = check_intrinsics(K_raw, path, f"intrinsics of camera {serial}")
        w2c = check_rigid(w2cs[serial], path, f"world_2_cam of camera {serial}")
        out[str(serial)] = (K, w2c)
    return out


def _camera_entries(images: Path) -> dict[str, Path]:
    """{serial: folder or video} for the ``cam_<serial>`` entries of an images folder."""
    entries: dict[str, Path] = {}
    for p in sorted(images.iterdir()):
        if p.name.startswith(".") or not p.name.startswith("cam_"):
            continue
        if p.is_dir() or p.suffix.lower() in VIDEO_EXTS:
            serial = p.name[4:] if p.is_dir() else p.stem[4:]
            if serial in entries:
                raise CaptureError(
                    f"{p}: camera {serial} has both a folder and a video; keep one"
                )
            entries[serial] = p
    return entries


def read_nersemble(spec: CaptureSpec, fps: float, max_frames: int) -> list[RawView]:
    """Views of a NeRSemble-like capture; every calibrated camera needs images and vice versa."""
    root = spec.root
    params_path = root / CAMERA_PARAMS
    cams = load_camera_params(params_path, spec.limits)
    seq_root = root / "sequences"
    seqs = sorted(p for p in seq_root.iterdir() if p.is_dir()) if seq_root.is_dir() else []
    if not seqs:
        raise CaptureError(f"{root}: no sequences/<name>/images/ folders; add the images")
    views: list[RawView] = []
    for seq_dir in seqs:
        seq = check_name(seq_dir.name, "sequence", seq_dir)
        images = seq_dir / "images"
        if not images.is_dir():
            raise CaptureError(f"{seq_dir}: no images/ folder; put cam_<serial>/ folders in it")
        entries = _camera_entries(images)
        no_calib = sorted(set(entries) - set(cams))
        if no_calib:
            raise CaptureError(
                f"{images / ('cam_' + no_calib[0])}: images of camera {no_calib[0]} but "
                f"{CAMERA_PARAMS.as_posix()} has no such camera; add its calibration or "
                "remove the images"
            )
        no_images = sorted(set(cams) - set(entries))
        if no_images:
            raise CaptureError(
                f"{params_path}: camera {no_images[0]} has no images in sequence {seq} "
                f"(expected {images / ('cam_' + no_images[0])}/); add them or remove the camera "
                "from the calibration"
            )
        mask_root = spec.masks / seq if spec.masks is not None else (
            seq_dir / "masks" if (seq_dir / "masks").is_dir() else None
        )
        files = {
            s: sorted(
                f for f in p.iterdir()
                if f.suffix.lower() in IMAGE_EXTS and not f.name.startswith(".")
            )
            for s, p in entries.items() if p.is_dir()
        }
        names = evenly(sorted({f.stem for fs in files.values() for f in fs}), max_frames)
        for serial, entry in entries.items():
            K, w2c = cams[serial]
            cam_masks = None if mask_root is None else mask_root / f"cam_{serial}"
            if entry.is_file():
                views += video_views(
                    root, entry, seq, serial, fps, max_frames, cam_masks, K, w2c, spec.limits
                )
                continue
            if not files[serial]:
                raise CaptureError(
                    f"{entry}: camera {serial} has no .png/.jpg frames; add them or remove the "
                    "camera from the calibration"
                )
            by_name = {f.stem: f for f in files[serial]}
            for name in names:
                if name not in by_name:
                    continue
                frame = check_name(name, "frame", by_name[name])
                mask = None if cam_masks is None else cam_masks / f"{frame}.png"
                views.append(image_view(
                    root, by_name[name], seq, serial, frame, mask, K, w2c, spec.limits
                ))
    return views


def _frame_intrinsics(
    meta: dict[str, Any], frame: dict[str, Any], size: tuple[int, int], source: Path, what: str
) -> np.ndarray:
    """K of one transforms.json frame (per-frame keys override the global ones)."""
    try:
        return _intrinsics_of(meta, frame, size, source, what)
    except (TypeError, ValueError) as e:
        if isinstance(e, CaptureError):
            raise
        raise CaptureError(
            f"{source}: {what} has a non-numeric camera value ({e}); fix fl_x/fl_y/cx/cy/w/h"
        ) from e


def _intrinsics_of(
    meta: dict[str, Any], frame: dict[str, Any], size: tuple[int, int], source: Path, what: str
) -> np.ndarray:

    def get(key: str) -> Any:
        return frame.get(key, meta.get(key))

    for k in DISTORTION_KEYS:
        v = get(k)
        if v is not None and float(v) != 0.0:
            raise CaptureError(
                f"{source}: {what} has lens distortion ({k}={v}); undistort the images first "
                "and set the distortion coefficients to 0"
            )
    w, h = get("w"), get("h")
    if (w is not None and int(w) != size[0]) or (h is not None and int(h) != size[1]):
        raise CaptureError(
            f"{source}: {what}: transforms.json says {w}x{h} but the image is "
            f"{size[0]}x{size[1]}; fix w/h or the image"
        )
    fx, fy = get("fl_x"), get("fl_y")
    if fx is None and get("camera_angle_x") is not None:
        fx = 0.5 * size[0] / np.tan(0.5 * float(get("camera_angle_x")))
    if fx is None:
        raise CaptureError(f"{source}: {what} has no focal length; add fl_x (and fl_y)")
    fy = fx if fy is None else fy
    cx = get("cx") if get("cx") is not None else size[0] / 2.0
    cy = get("cy") if get("cy") is not None else size[1] / 2.0
    K = intrinsics(float(fx), float(fy), float(cx), float(cy))
    return check_intrinsics(K, source, f"{what} intrinsics")


def _frame_image(root: Path, file_path: str, source: Path) -> Path:
    path = resolve_inside(root, file_path, source)
    if path.suffix.lower() not in IMAGE_EXTS:  # NeRF-synthetic style paths without extension
        for ext in IMAGE_EXTS:
            cand = path.with_name(path.name + ext)
            if cand.is_file():
                return cand
    if not path.is_file():
        raise CaptureError(
            f"{source}: camera for {file_path!r} has no image (file not found); add the image "
            "or remove the frame"
        )
    return path


def read_transforms(spec: CaptureSpec, max_frames: int) -> list[RawView]:
    """Views of a transforms.json capture; each frame is its own camera (id = file stem)."""
    root = spec.root
    source = root / "transforms.json"
    meta = load_json(source, spec.limits)
    frames = meta.get("frames") if isinstance(meta, dict) else None
    if not isinstance(frames, list) or not frames:
        raise CaptureError(f"{source}: needs a non-empty 'frames' list")
    views: list[RawView] = []
    seen: dict[str, str] = {}
    for i, fr in enumerate(evenly(frames, max_frames)):
        if not isinstance(fr, dict) or "file_path" not in fr or "transform_matrix" not in fr:
            raise CaptureError(
                f"{source}: frames[{i}] needs 'file_path' and 'transform_matrix'; add them"
            )
        path = _frame_image(root, fr["file_path"], source)
        cam = check_name(path.stem, "frame file", path)
        if cam in seen:
            raise CaptureError(
                f"{source}: {fr['file_path']!r} and {seen[cam]!r} share the file name {cam!r}; "
                "rename one"
            )
        seen[cam] = fr["file_path"]
        what = f"frame {fr['file_path']!r}"
        c2w = check_rigid(fr["transform_matrix"], source, f"{what} transform_matrix")
        w2c = opengl_c2w_to_opencv_w2c(c2w)
        if "mask_path" in fr:
            mask: Path | None = resolve_inside(root, fr["mask_path"], source)
        else:
            mask = None if spec.masks is None else spec.masks / f"{cam}.png"
        view = image_view(root, path, "transforms", cam, "000000", mask, None, w2c, spec.limits)
        K = _frame_intrinsics(meta, fr, view.size, source, what)
        views.append(dataclasses.replace(view, K=K))
    return views
