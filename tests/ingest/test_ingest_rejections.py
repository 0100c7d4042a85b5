"""Every bad input is rejected with one clear CaptureError, and nothing is written."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_builders import data_files, grant, make_nersemble, make_transforms, write_png

from headforge.config import IngestConfig
from headforge.ingest import CaptureError, ingest_subjects
from headforge.privacy import Registry

SID = "bad-s01"


def _expect_rejection(
    root: Path, registry: Registry, cfg: IngestConfig, match: str, names: str | None = None
) -> str:
    grant(registry, SID)
    before = data_files(root)
    with pytest.raises(CaptureError, match=match) as err:
        ingest_subjects([SID], cfg, registry, root)
    msg = str(err.value)
    if names is not None:
        assert names in msg, f"the message must name {names!r}: {msg}"
    assert data_files(root) == before, "a rejected ingest must not write anything"
    assert not (root / "data" / ".ingest-staging").exists()
    assert registry.lineage_for_subject(SID) == []
    return msg


def _photo(root: Path, astronaut: np.ndarray, name: str = "a.png") -> Path:
    return write_png(root / "inbox" / SID / name, astronaut)


# ------------------------------------------------------------------ unreadable inputs


def test_garbage_image(root: Path, registry: Registry, cfg: IngestConfig) -> None:
    p = root / "inbox" / SID / "face.png"
    p.parent.mkdir(parents=True)
    p.write_bytes(b"this is not a png at all")
    _expect_rejection(root, registry, cfg, "corrupt or unreadable image", "face.png")


def test_truncated_image(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    p = _photo(root, astronaut, "face.png")
    p.write_bytes(p.read_bytes()[: 4000])  # header intact, pixel data cut
    msg = _expect_rejection(root, registry, cfg, "corrupt or unreadable image", "face.png")
    assert "re-export" in msg


@pytest.mark.parametrize("cut", [None, 30000])
def test_corrupt_video(
    cut: int | None, realdata: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    p = root / "inbox" / SID / "clip.mp4"
    p.parent.mkdir(parents=True)
    data = (realdata / "liveportrait_d3.mp4").read_bytes()
    p.write_bytes(b"\x00garbage" * 100 if cut is None else data[:cut])
    _expect_rejection(root, registry, cfg, "corrupt or unreadable video", "clip.mp4")


# ------------------------------------------------------------------ geometry and layout


def test_frames_of_different_sizes_within_one_camera(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=2)
    serial = sorted(cams)[1]
    p = root / "inbox" / SID / "sequences" / "EXP-1" / "images" / f"cam_{serial}" / "00001.png"
    write_png(p, cv2.resize(cv2.imread(str(p))[:, :, ::-1], (200, 150)))
    _expect_rejection(root, registry, cfg, "same camera", "00001.png")


def _edit_params(root: Path, edit: Callable[[dict], None]) -> None:
    p = root / "inbox" / SID / "calibration" / "camera_params.json"
    params = json.loads(p.read_text())
    edit(params)
    p.write_text(json.dumps(params).replace("NaN", "NaN"))


def test_non_orthonormal_rotation(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    serial = sorted(cams)[2]

    def scale(params: dict) -> None:
        T = np.asarray(params["world_2_cam"][serial])
        T[:3, :3] *= 1.05
        params["world_2_cam"][serial] = T.tolist()

    _edit_params(root, scale)
    _expect_rejection(root, registry, cfg, "not orthonormal", serial)


@pytest.mark.parametrize("key", ["world_2_cam", "intrinsics"])
def test_nan_in_calibration(
    key: str, astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    serial = sorted(cams)[0]

    def poison(params: dict) -> None:
        params[key][serial][0][2] = float("nan")

    _edit_params(root, poison)
    _expect_rejection(root, registry, cfg, "NaN", "camera_params.json")


def test_nan_in_transforms(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_transforms(root / "inbox" / SID, astronaut)
    p = root / "inbox" / SID / "transforms.json"
    meta = json.loads(p.read_text())
    meta["frames"][1]["transform_matrix"][1][3] = float("nan")
    p.write_text(json.dumps(meta))
    _expect_rejection(root, registry, cfg, "NaN", "transforms.json")


def test_calibrated_camera_without_images(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    serial = sorted(cams)[3]
    shutil.rmtree(root / "inbox" / SID / "sequences" / "EXP-1" / "images" / f"cam_{serial}")
    msg = _expect_rejection(root, registry, cfg, "has no images", serial)
    assert "remove the camera" in msg


def test_images_without_calibration(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    serial = sorted(cams)[0]

    def drop(params: dict) -> None:
        del params["world_2_cam"][serial]
        del params["intrinsics"][serial]

    _edit_params(root, drop)
    _expect_rejection(root, registry, cfg, "has no such camera", serial)


def test_transforms_frame_without_image(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_transforms(root / "inbox" / SID, astronaut)
    serial = sorted(cams)[1]
    (root / "inbox" / SID / "images" / f"{serial}.png").unlink()
    _expect_rejection(root, registry, cfg, "has no image", serial)


def test_duplicate_photos(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    _photo(root, astronaut, "a.png")
    shutil.copy(root / "inbox" / SID / "a.png", root / "inbox" / SID / "b.png")
    _expect_rejection(root, registry, cfg, "duplicate frame", "b.png")


def test_duplicate_frames_in_a_camera(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    cams = make_nersemble(root / "inbox" / SID, astronaut, frames=2)
    d = root / "inbox" / SID / "sequences" / "EXP-1" / "images" / f"cam_{sorted(cams)[0]}"
    shutil.copy(d / "00000.png", d / "00001.png")
    _expect_rejection(root, registry, cfg, "duplicate frame", "00001.png")


@pytest.mark.parametrize(
    ("key", "path", "match"),
    [
        ("file_path", "../outside.png", "escapes the capture folder"),
        ("file_path", "images/../../outside.png", "escapes the capture folder"),
        ("file_path", "/etc/hostname", "is absolute"),
        ("mask_path", "../outside.png", "escapes the capture folder"),
    ],
)
def test_paths_escaping_the_capture(
    key: str, path: str, match: str, astronaut: np.ndarray, root: Path, registry: Registry,
    cfg: IngestConfig,
) -> None:
    make_transforms(root / "inbox" / SID, astronaut)
    write_png(root / "inbox" / "outside.png", astronaut)
    p = root / "inbox" / SID / "transforms.json"
    meta = json.loads(p.read_text())
    meta["frames"][0][key] = path
    p.write_text(json.dumps(meta))
    _expect_rejection(root, registry, cfg, match, path)


def test_symlink_out_of_the_capture(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_transforms(root / "inbox" / SID, astronaut)
    outside = write_png(root / "elsewhere" / "x.png", astronaut)
    (root / "inbox" / SID / "images" / "link.png").symlink_to(outside)
    p = root / "inbox" / SID / "transforms.json"
    meta = json.loads(p.read_text())
    meta["frames"][0]["file_path"] = "images/link.png"
    p.write_text(json.dumps(meta))
    _expect_rejection(root, registry, cfg, "outside the capture folder", "images/link.png")


def test_no_face_in_any_frame(root: Path, registry: Registry, cfg: IngestConfig) -> None:
    from skimage import data

    write_png(root / "inbox" / SID / "coffee.png", np.asarray(data.coffee()))
    write_png(root / "inbox" / SID / "rocket.png", np.asarray(data.rocket()))
    msg = _expect_rejection(root, registry, cfg, "no face found in any of the 2 frames", SID)
    assert "visible" in msg


# ------------------------------------------------------------------ folder-level mistakes


def test_mixed_videos_and_photos(
    astronaut: np.ndarray, realdata: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    _photo(root, astronaut)
    shutil.copy(realdata / "liveportrait_d18.mp4", root / "inbox" / SID / "clip.mp4")
    _expect_rejection(root, registry, cfg, "both videos and photos", "capture.yaml")


def test_capture_yaml_with_unknown_format(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    _photo(root, astronaut)
    (root / "inbox" / SID / "capture.yaml").write_text("format: hologram\n")
    _expect_rejection(root, registry, cfg, "is not one of", "capture.yaml")


def test_empty_capture_folder(root: Path, registry: Registry, cfg: IngestConfig) -> None:
    (root / "inbox" / SID).mkdir()
    _expect_rejection(root, registry, cfg, "no capture found", SID)


def test_subject_folder_that_is_no_pseudonym(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / "Jane Doe" / "a.png", astronaut)
    with pytest.raises(CaptureError, match="not a pseudonym.*rename the inbox folder"):
        ingest_subjects(["Jane Doe"], cfg, registry, root)
    assert data_files(root) == {}


def test_given_mask_of_the_wrong_size(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    _photo(root, astronaut, "a.png")
    write_png(root / "inbox" / SID / "masks" / "a.png", np.zeros((100, 100), np.uint8))
    _expect_rejection(root, registry, cfg, "resize the mask", "masks/a.png")


def test_failed_reingest_keeps_the_previous_state(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    _photo(root, astronaut, "a.png")
    grant(registry, SID)
    ingest_subjects([SID], cfg, registry, root)
    lineage = registry.lineage_for_subject(SID)
    before = data_files(root)
    assert before
    (root / "inbox" / SID / "b.png").write_bytes(b"broken")
    with pytest.raises(CaptureError, match="corrupt or unreadable image"):
        ingest_subjects([SID], cfg, registry, root)
    assert data_files(root) == before
    assert registry.lineage_for_subject(SID) == lineage
