"""One capture folder of any supported format -> a validated :class:`Capture`.

Dispatches on the capture's format to the readers of :mod:`headforge.ingest.readers` (photos,
video) and :mod:`headforge.ingest.readers_calibrated` (NeRSemble, transforms.json); both of
those import only downwards, so the readers form no import cycle.
"""

from __future__ import annotations

from pathlib import Path

from headforge.ingest.layout import read_spec
from headforge.ingest.limits import DEFAULT_LIMITS, InputLimits
from headforge.ingest.readers import Capture, read_photos, read_videos
from headforge.ingest.readers_calibrated import read_nersemble, read_transforms
from headforge.ingest.validate import check_duplicates, check_sizes


def read_capture(
    root: Path, subject: str, fps: float, max_frames: int, limits: InputLimits = DEFAULT_LIMITS
) -> Capture:
    """Read and validate the capture in ``root`` (any supported format) within ``limits``."""
    spec = read_spec(root, limits)
    if spec.format == "photos":
        views = read_photos(spec, max_frames)
    elif spec.format == "video":
        views = read_videos(spec, fps, max_frames)
    elif spec.format == "nersemble":
        views = read_nersemble(spec, fps, max_frames)
    else:
        views = read_transforms(spec, max_frames)
    check_sizes(
        (f"{v.sequence}/{v.camera}", v.path or root / v.source, v.size) for v in views
    )
    check_duplicates((str(root / v.source), v.content_sha256) for v in views)
    return Capture(subject=subject, spec=spec, views=views)
