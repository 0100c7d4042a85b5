"""Real face images and shared detectors for the tracking tests (never written to disk)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest


def video_frames(path: Path, every: int, limit: int) -> list[np.ndarray]:
    """Every ``every``-th frame of a video as RGB arrays, at most ``limit`` of them."""
    import av

    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every == 0:
                frames.append(frame.to_ndarray(format="rgb24"))
                if len(frames) >= limit:
                    break
    return frames


def make_captures(root: Path, realdata: Path, subject: str = "s0001") -> Path:
    """Write a captures folder + manifest under ``root``: one monocular 256 x 256 subject with
    3 frames of liveportrait_d3.mp4 and 1 blank frame (temporary files, never committed)."""
    import pandas as pd
    from PIL import Image

    from headforge.cameras import focal_from_fov, intrinsics

    frames = video_frames(realdata / "liveportrait_d3.mp4", every=40, limit=3)
    frames.append(np.full_like(frames[0], 200))  # a frame without a face
    folder = root / "data" / "captures" / subject / "clip" / "video"
    folder.mkdir(parents=True)
    rows = []
    fx = focal_from_fov(30.0, 256)
    for i, f in enumerate(frames):
        path = folder / f"{i:06d}.png"
        Image.fromarray(f).resize((256, 256), Image.BILINEAR).save(path)
        rows.append({
            "subject": subject, "sequence": "clip", "frame": f"{i:06d}", "camera": "video",
            "path": path.relative_to(root).as_posix(), "mask_path": "", "width": 256,
            "height": 256, "K": intrinsics(fx, fx, 128, 128).ravel().tolist(),
            "w2c": np.eye(4).ravel().tolist(), "camera_estimated": True, "split": "train",
        })  # fmt: skip
    pd.DataFrame(rows).to_parquet(root / "data" / "captures" / "manifest.parquet")
    (root / "params.yaml").write_text("profile: tiny\n")
    return root


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.asarray(data.astronaut())


@pytest.fixture(scope="session")
def grace_hopper() -> np.ndarray:
    import matplotlib.cbook as cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as f, Image.open(f) as im:
        return np.asarray(im.convert("RGB"))


@pytest.fixture(scope="session")
def d3_frames(realdata: Path) -> list[np.ndarray]:
    return video_frames(realdata / "liveportrait_d3.mp4", every=70, limit=4)


@pytest.fixture(scope="session")
def mediapipe_detector() -> Iterator[object]:
    from headforge.track.detect_mediapipe import MediaPipeDetector

    with MediaPipeDetector() as det:
        yield det


@pytest.fixture(scope="session")
def dlib_detector() -> Iterator[object]:
    from headforge.track.detect_dlib import DlibDetector

    with DlibDetector() as det:
        yield det


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread() -> Iterator[None]:
    """Fitting problems are small: one intra-op thread avoids oversubscribing 2 shared cores."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
