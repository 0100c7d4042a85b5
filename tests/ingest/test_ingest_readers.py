"""Format detection, capture.yaml, video sampling and mask sources."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_builders import grant, write_png

from headforge.config import IngestConfig
from headforge.ingest import CaptureError, ingest_subjects, read_manifest
from headforge.ingest.layout import detect_format, read_spec
from headforge.ingest.masks import grabcut_mask
from headforge.ingest.media import sample_video
from headforge.privacy import Registry

SID = "read-s01"


def test_detects_each_format(tmp_path: Path, astronaut: np.ndarray, realdata: Path) -> None:
    (tmp_path / "a" / "calibration").mkdir(parents=True)
    (tmp_path / "a" / "calibration" / "camera_params.json").write_text("{}")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "transforms.json").write_text("{}")
    (tmp_path / "c" / "video").mkdir(parents=True)
    shutil.copy(realdata / "liveportrait_d18.mp4", tmp_path / "c" / "video" / "x.mp4")
    write_png(tmp_path / "d" / "photos" / "p.jpg", astronaut)
    assert [detect_format(tmp_path / k) for k in "abcd"] == [
        "nersemble", "transforms", "video", "photos"
    ]


def test_capture_yaml_names_format_and_masks(tmp_path: Path, astronaut: np.ndarray) -> None:
    write_png(tmp_path / "p.png", astronaut)
    (tmp_path / "alpha").mkdir()
    (tmp_path / "capture.yaml").write_text("format: photos\nmasks: alpha\n")
    spec = read_spec(tmp_path)
    assert spec.format == "photos" and not spec.detected and spec.masks == tmp_path / "alpha"
    (tmp_path / "capture.yaml").write_text("format: photos\nmasks: ../elsewhere\n")
    with pytest.raises(CaptureError, match="escapes the capture folder"):
        read_spec(tmp_path)
    (tmp_path / "capture.yaml").write_text("format: photos\nfps: 3\n")
    with pytest.raises(CaptureError, match="unknown key"):
        read_spec(tmp_path)


def test_video_sampling_rate_and_cap(realdata: Path) -> None:
    frames = sample_video(realdata / "liveportrait_d3.mp4", 2.0, 5)  # 30 fps
    assert [f.index for f in frames] == [0, 15, 30, 45, 60]
    every = sample_video(realdata / "liveportrait_d18.mp4", 0.0, 3)
    assert [f.index for f in every] == [0, 1, 2]
    pex = sample_video(realdata / "pexels_wolfganglanger.mp4", 1.0, 3)  # 23.976 fps
    assert [f.index for f in pex] == [0, 24, 48]
    assert pex[0].rgb.shape == (360, 640, 3)


def test_given_masks_alpha_and_grabcut(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    folder = root / "inbox" / SID
    h, w = astronaut.shape[:2]
    given = np.zeros((h, w), np.uint8)
    given[:, : w // 2] = 255  # the left half
    write_png(folder / "photos" / "given.png", astronaut)
    write_png(folder / "masks" / "given.png", given)
    # an RGBA photo carries its own mask in alpha
    rgba = np.dstack([astronaut[:, ::-1], np.where(np.arange(w) < w // 2, 255, 0)
                      .astype(np.uint8)[None].repeat(h, 0)])
    folder.joinpath("photos").mkdir(exist_ok=True)
    cv2.imwrite(str(folder / "photos" / "withalpha.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    write_png(folder / "masks" / "withalpha.png", np.full((h, w), 255, np.uint8))
    grant(registry, SID)
    ingest_subjects([SID], cfg, registry, root)
    df = read_manifest().set_index("camera")
    assert set(df.mask_source) == {"given"}
    m = cv2.imread(str(root / df.loc["given"].mask_path), cv2.IMREAD_UNCHANGED)
    _assert_vertical_edge(m, w // 2, df.loc["given"].crop, cfg.resolution)
    # a mask file wins over alpha; without it, alpha is used
    (folder / "masks" / "withalpha.png").unlink()
    (folder / "masks" / "given.png").unlink()
    (folder / "masks").rmdir()
    (folder / "photos" / "given.png").unlink()
    ingest_subjects([SID], cfg, registry, root)
    r = read_manifest().iloc[0]
    assert r.camera == "withalpha" and r.mask_source == "given"
    m = cv2.imread(str(root / r.mask_path), cv2.IMREAD_UNCHANGED)
    _assert_vertical_edge(m, w // 2, r.crop, cfg.resolution)


def _assert_vertical_edge(mask: np.ndarray, x_src: int, crop: np.ndarray, res: int) -> None:
    """Foreground left of source column ``x_src``, background right of it, inside the crop."""
    edge = (x_src - crop[0]) * res / crop[2]
    assert 8 < edge < res - 8, "the mask edge must cross the crop for the check to mean much"
    cols = (mask > 127).mean(axis=0)
    assert cols[int(edge) + 2 :].max() == 0 and cols[: int(edge) - 1].min() > 0.5


def test_grabcut_fallback_masks_the_head(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    grant(registry, SID)
    ingest_subjects([SID], dataclasses.replace(cfg, masks="grabcut"), registry, root)
    r = read_manifest().iloc[0]
    assert r.mask_source == "grabcut"
    m = cv2.imread(str(root / r.mask_path), cv2.IMREAD_UNCHANGED)
    res = cfg.resolution
    assert m[res // 2, res // 2] == 255 and m[2, 2] == 0
    assert 0.2 < (m > 0).mean() < 0.9


def test_grabcut_separates_a_disc_from_its_background() -> None:
    rng = np.random.default_rng(0)
    img = (rng.normal(60, 8, (96, 96, 3))).clip(0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:96, :96]
    disc = (xx - 48) ** 2 + (yy - 50) ** 2 < 30**2
    img[disc] = (rng.normal(200, 8, (disc.sum(), 3))).clip(0, 255).astype(np.uint8)
    m = grabcut_mask(img, (38, 40, 58, 60)) > 0
    assert (m == disc).mean() > 0.97
    assert np.array_equal(m, grabcut_mask(img, (38, 40, 58, 60)) > 0)  # deterministic


def test_jpeg_exif_orientation_is_applied(tmp_path: Path, astronaut: np.ndarray) -> None:
    from PIL import Image

    from headforge.ingest.media import image_size, read_image

    upright = np.ascontiguousarray(astronaut[:, :400])  # 400 wide, 512 high
    stored = np.ascontiguousarray(np.rot90(upright, k=1))  # as a sideways camera saved it
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    p = tmp_path / "phone.jpg"
    Image.fromarray(stored).save(p, quality=95, exif=exif)
    assert image_size(p) == (400, 512)
    rgb = read_image(p).rgb
    assert rgb.shape == (512, 400, 3)
    assert np.abs(rgb.astype(int) - upright).mean() < 6


def test_non_numeric_transforms_intrinsics(tmp_path: Path, astronaut: np.ndarray) -> None:
    import json

    from capture_builders import make_transforms

    from headforge.ingest.layout import read_spec
    from headforge.ingest.readers_calibrated import read_transforms

    make_transforms(tmp_path / "t", astronaut)
    meta = json.loads((tmp_path / "t" / "transforms.json").read_text())
    meta["frames"][0]["fl_x"] = "wide"
    (tmp_path / "t" / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(CaptureError, match="non-numeric camera value"):
        read_transforms(read_spec(tmp_path / "t"), 8)
