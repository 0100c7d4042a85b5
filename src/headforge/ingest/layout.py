"""Capture layouts: format detection, ``capture.yaml``, and safe paths inside a capture folder.

A subject's capture lives in ``inbox/<subject>/`` in one of four formats:

``nersemble``
    ``calibration/camera_params.json`` plus ``sequences/<seq>/images/cam_<serial>/*.png|jpg``
    (or ``sequences/<seq>/images/cam_<serial>.mp4``).
``transforms``
    a nerfstudio-style ``transforms.json`` (OpenGL camera-to-world poses).
``video``
    one or more monocular videos (``.mp4``/``.mov``/...) in the folder or its ``video/``.
``photos``
    a handful of photos (``.png``/``.jpg``/...) in the folder or its ``photos/``.

An optional ``capture.yaml`` names the format (``format: nersemble|transforms|video|photos``)
and an optional ``masks`` folder; without it the format is detected from the files present.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Literal, cast

from headforge.ingest.errors import CaptureError
from headforge.ingest.limits import DEFAULT_LIMITS, InputLimits, load_yaml

CaptureFormat = Literal["nersemble", "transforms", "video", "photos"]
FORMATS: tuple[CaptureFormat, ...] = ("nersemble", "transforms", "video", "photos")

IMAGE_EXTS = (".png", ".jpg", ".jpeg")
VIDEO_EXTS = (".mp4", ".mov", ".m4v", ".avi", ".mkv", ".webm")
MASKS_DIR = "masks"
"""Default folder of given masks, relative to the capture folder."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str, what: str, where: Path) -> str:
    """Return ``name`` if it is safe as a file/folder name in outputs, else raise CaptureError."""
    if not _NAME.match(name) or ".." in name:
        raise CaptureError(
            f"{where}: {what} name {name!r} is not allowed; rename it to letters, digits, "
            "'_', '-' or '.' (at most 64 characters, not starting with a dot)"
        )
    return name


def resolve_inside(root: Path, rel: str, source: Path) -> Path:
    """Resolve ``rel`` (a path read from ``source``) below ``root``; refuse escapes.

    Absolute paths, ``..`` components and symlinks leading out of ``root`` are rejected, so a
    capture can never make ingest read (and copy) files from elsewhere on the machine.
    """
    if not isinstance(rel, str) or not rel.strip():
        raise CaptureError(f"{source}: empty or non-string path {rel!r}; give a relative path")
    p = Path(rel)
    if p.is_absolute() or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", rel):
        raise CaptureError(
            f"{source}: path {rel!r} is absolute; give it relative to {root.name}/ and keep "
            "the file inside the capture folder"
        )
    if ".." in p.parts:
        raise CaptureError(
            f"{source}: path {rel!r} escapes the capture folder ('..'); move the file inside "
            f"{root.name}/ and give its path relative to it"
        )
    full = (root / p).resolve()
    if not full.is_relative_to(root.resolve()):
        raise CaptureError(
            f"{source}: path {rel!r} resolves outside the capture folder (symlink?); copy the "
            f"file into {root.name}/"
        )
    return full


@dataclasses.dataclass(frozen=True)
class CaptureSpec:
    """What ``capture.yaml`` says (or what detection found) about one capture folder."""

    root: Path
    """The subject's capture folder (``inbox/<subject>``)."""
    format: CaptureFormat
    """Input format."""
    masks: Path | None
    """Folder of given masks, or None when masks are to be computed."""
    detected: bool
    """True when the format was detected rather than named in capture.yaml."""
    limits: InputLimits = DEFAULT_LIMITS
    """Bounds on image sizes and metadata files (from the ``ingest`` section)."""


PHOTO_DIRS = ("", "photos")
VIDEO_DIRS = ("", "video", "videos")


def media_files(root: Path, exts: tuple[str, ...], subdirs: tuple[str, ...]) -> list[Path]:
    """Files with one of ``exts`` in ``root`` and its ``subdirs`` (not hidden), sorted."""
    out: list[Path] = []
    for sub in subdirs:
        d = root / sub if sub else root
        if d.is_dir():
            out += sorted(
                p for p in d.iterdir()
                if p.is_file() and p.suffix.lower() in exts and not p.name.startswith(".")
            )
    return out


def detect_format(root: Path) -> CaptureFormat:
    """Guess the format of a capture folder from the files it holds."""
    if (root / "calibration" / "camera_params.json").is_file():
        return "nersemble"
    if (root / "transforms.json").is_file():
        return "transforms"
    videos = media_files(root, VIDEO_EXTS, VIDEO_DIRS)
    photos = media_files(root, IMAGE_EXTS, PHOTO_DIRS)
    if videos and photos:
        raise CaptureError(
            f"{root}: holds both videos and photos; keep one kind, or name the format in "
            "capture.yaml (format: video|photos)"
        )
    if videos:
        return "video"
    if photos:
        return "photos"
    raise CaptureError(
        f"{root}: no capture found; add calibration/camera_params.json + sequences/ "
        "(nersemble), transforms.json, a video (.mp4/.mov) or photos (.png/.jpg)"
    )


def check_links(root: Path) -> None:
    """Refuse a capture folder that is itself a link, or holds a link leading out of it.

    Links between files of the folder are fine; a link to anything outside (``/etc/passwd``,
    another subject's folder) would make ingest read and copy data the subject's consent does
    not cover, so it is named and refused, never followed. Links to folders are not descended.
    """
    if root.is_symlink():
        raise CaptureError(
            f"{root}: the capture folder is a symbolic link; copy the capture into "
            f"inbox/{root.name}/ (links are not followed)"
        )
    base = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            if not p.is_symlink():
                continue
            try:
                target = p.resolve(strict=False)
            except (OSError, RuntimeError) as e:  # a loop of links
                raise CaptureError(f"{p}: broken symbolic link ({e}); remove it") from e
            if not target.is_relative_to(base):
                raise CaptureError(
                    f"{p}: symbolic link to {os.readlink(p)!r}, outside the capture folder; "
                    f"copy the file into {root.name}/ instead of linking to it, or remove the "
                    "link (links are not followed out of a subject's folder)"
                )


def read_spec(root: Path, limits: InputLimits = DEFAULT_LIMITS) -> CaptureSpec:
    """Check the folder's links, read ``capture.yaml`` if present, detect the format
    otherwise."""
    if not root.is_dir():
        raise CaptureError(f"{root}: capture folder not found; create inbox/<subject>/")
    check_links(root)
    spec_path = root / "capture.yaml"
    raw: dict[str, object] = {}
    if spec_path.is_file():
        loaded = load_yaml(spec_path, limits) or {}
        if not isinstance(loaded, dict):
            raise CaptureError(f"{spec_path}: must be a mapping like 'format: video'")
        raw = loaded
        unknown = sorted(set(raw) - {"format", "masks"})
        if unknown:
            raise CaptureError(
                f"{spec_path}: unknown key(s) {unknown}; only 'format' and 'masks' are read"
            )
    fmt = raw.get("format")
    detected = fmt is None
    if fmt is None:
        fmt = detect_format(root)
    elif fmt not in FORMATS:
        raise CaptureError(f"{spec_path}: format {fmt!r} is not one of {list(FORMATS)}")
    masks: Path | None = None
    if "masks" in raw:
        masks = resolve_inside(root, str(raw["masks"]), spec_path)
        if not masks.is_dir():
            raise CaptureError(
                f"{spec_path}: masks folder {raw['masks']!r} not found; create it or remove "
                "the 'masks' key"
            )
    elif (root / MASKS_DIR).is_dir():
        masks = root / MASKS_DIR
    return CaptureSpec(
        root=root, format=cast(CaptureFormat, fmt), masks=masks, detected=detected, limits=limits
    )
