"""Calibrated multi-view captures (NeRSemble-like layout and transforms.json) round-trip their
cameras: w2c unchanged, K moved exactly with the crop, and the face where the cameras say."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_builders import (
    IMG_H,
    IMG_W,
    grant,
    make_nersemble,
    make_transforms,
    photo_to_world,
    render_plane,
    write_video,
)

from headforge.config import IngestConfig
from headforge.ingest import ingest_subjects, read_manifest
from headforge.ingest.crops import CropBox, crop_matrix, project_point
from headforge.ingest.faces import FaceDetector
from headforge.privacy import Registry


def _face_point(astronaut: np.ndarray) -> np.ndarray:
    """World position of the astronaut's face-box centre on the photo plane [3]."""
    with FaceDetector() as det:
        face = det.detect(astronaut)
    assert face is not None
    X = photo_to_world(astronaut.shape[0]) @ [*face.center, 1.0]
    return np.array([X[0], X[1], 0.0])


def _check_round_trip(
    root: Path, sid: str, cams: dict, astronaut: np.ndarray, cfg: IngestConfig
) -> None:
    df = read_manifest().query("subject == @sid")
    assert set(df.camera) == set(cams)
    assert not df.camera_estimated.any()
    X = _face_point(astronaut)
    res = cfg.resolution
    stored = json.loads((root / "data" / "captures" / sid / "cameras.json").read_text())
    with FaceDetector() as det:
        for r in df.itertuples():
            K_in, w2c_in = cams[r.camera]
            K = np.asarray(r.K).reshape(3, 3)
            w2c = np.asarray(r.w2c).reshape(4, 4)
            np.testing.assert_allclose(w2c, w2c_in, atol=1e-6)
            x0, y0, side = (int(v) for v in r.crop)
            np.testing.assert_allclose(K, crop_matrix(CropBox(x0, y0, side), res) @ K_in,
                                       atol=1e-6)
            np.testing.assert_allclose(stored[r.sequence][r.camera]["w2c"], w2c_in, atol=1e-6)
            np.testing.assert_allclose(stored[r.sequence][r.camera]["K"], K, atol=1e-6)
            # the written pixels agree with the written camera: the face is where K, w2c say
            img = cv2.cvtColor(cv2.imread(str(root / r.path)), cv2.COLOR_BGR2RGB)
            face = det.detect(img)
            assert face is not None
            uv, _ = project_point(X, K, w2c)
            assert np.linalg.norm(face.center - uv) < 0.06 * res
    # the crop follows the triangulated head: its centre sits near the face in every view
    for r in df.itertuples():
        uv, _ = project_point(X, *cams[r.camera])
        x0, y0, side = r.crop
        assert abs(x0 + side / 2 - uv[0]) < 0.1 * side


def test_nersemble_layout_round_trips_cameras(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "mv-s01"
    cams = make_nersemble(root / "inbox" / sid, astronaut, frames=2)
    grant(registry, sid)
    ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert len(df) == 2 * len(cams) and set(df.source_format) == {"nersemble"}
    assert set(df.sequence) == {"EXP-1"} and set(df.frame) == {"00000", "00001"}
    # one crop per camera over the sequence, so one K per camera
    assert df.groupby("camera").crop.apply(lambda c: len({tuple(x) for x in c})).max() == 1
    # multi-view: whole cameras are held out for validation
    assert df.groupby("camera").split.nunique().max() == 1
    assert set(df.split) == {"train", "val"}
    info = json.loads((root / "data" / "captures" / sid / "capture.json").read_text())
    assert info["notes"] == [], "the head must be triangulated, not cropped per camera"
    _check_round_trip(root, sid, cams, astronaut, cfg)


def test_transforms_json_round_trips_cameras(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "mv-s02"
    cams = make_transforms(root / "inbox" / sid, astronaut)
    grant(registry, sid)
    ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert len(df) == len(cams) and set(df.source_format) == {"transforms"}
    _check_round_trip(root, sid, cams, astronaut, cfg)


@pytest.mark.parametrize("layout", ["nersemble", "transforms"])
def test_calibrated_capture_with_given_masks(
    layout: str, astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "mv-s03"
    folder = root / "inbox" / sid
    if layout == "nersemble":
        cams = make_nersemble(folder, astronaut, frames=1)
        mask_of = {s: folder / "masks" / "EXP-1" / f"cam_{s}" / "00000.png" for s in cams}
    else:
        cams = make_transforms(folder, astronaut)
        mask_of = {s: folder / "masks" / f"{s}.png" for s in cams}
    for p in mask_of.values():
        m = np.zeros((IMG_H, IMG_W), np.uint8)
        m[:, : IMG_W // 2] = 255
        p.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(p), m)
    grant(registry, sid)
    ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert set(df.mask_source) == {"given"}
    for r in df.itertuples():
        mask = cv2.imread(str(root / r.mask_path), cv2.IMREAD_UNCHANGED)
        x0, _, side = r.crop
        edge = (IMG_W // 2 - x0) * cfg.resolution / side  # the mask's edge in the crop
        cols = (mask > 127).mean(axis=0)
        assert cols[: max(0, int(edge) - 2)].min(initial=1.0) > 0.3
        assert cols[int(edge) + 2 :].max(initial=0.0) == 0.0


def test_nersemble_with_one_video_per_camera(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "mv-s04"
    folder = root / "inbox" / sid
    cams = make_nersemble(folder, astronaut, frames=1)
    images = folder / "sequences" / "EXP-1" / "images"
    for s, (K, w2c) in cams.items():
        frame = render_plane(astronaut, K, w2c)
        shutil.rmtree(images / f"cam_{s}")
        shifted = [np.roll(frame, k, axis=1) for k in range(6)]  # the head moves a little
        write_video(images / f"cam_{s}.mp4", shifted, fps=4)
    grant(registry, sid)
    ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert set(df.frame) == {"000000", "000002", "000004"}  # 2 of 4 fps, 6 frames
    assert set(df.source) == {f"sequences/EXP-1/images/cam_{s}.mp4#{i}" for s in cams
                              for i in (0, 2, 4)}
    for r in df.itertuples():
        np.testing.assert_allclose(np.asarray(r.w2c).reshape(4, 4), cams[r.camera][1], atol=1e-6)
