"""Ingest of real faces: two real videos and the astronaut photo, end to end."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_builders import data_files, grant, write_png

from headforge.config import IngestConfig
from headforge.ingest import COLUMNS, ingest_subjects, read_manifest
from headforge.ingest.crops import estimated_camera
from headforge.ingest.faces import FaceDetector
from headforge.ingest.media import sample_video
from headforge.io_utils import sha256_file
from headforge.privacy import Registry


def _check_outputs(root: Path, rows, cfg: IngestConfig, reg: Registry, sid: str) -> None:  # type: ignore[no-untyped-def]
    """Every row's files exist with its hashes; crops hold a centred face; lineage recorded."""
    res = cfg.resolution
    K_est, w2c_est = estimated_camera(res, cfg.fov_deg, cfg.box_scale, cfg.face_width_m)
    lineage = {r.artifact: r for r in reg.lineage_for_subject(sid)}
    with FaceDetector() as det:
        for r in rows.itertuples():
            img = cv2.imread(str(root / r.path), cv2.IMREAD_UNCHANGED)
            mask = cv2.imread(str(root / r.mask_path), cv2.IMREAD_UNCHANGED)
            assert img.shape == (res, res, 3) and mask.shape == (res, res)
            assert sha256_file(root / r.path) == r.sha256
            assert sha256_file(root / r.mask_path) == r.mask_sha256
            assert lineage[r.path].sha256 == r.sha256 and lineage[r.path].subject_ids == (sid,)
            assert r.mask_path in lineage
            fg = (mask > 127).mean()
            assert 0.15 < fg < 0.95, f"implausible foreground fraction {fg:.2f} in {r.mask_path}"
            assert mask[res // 2, res // 2] > 127, "the face centre must be foreground"
            face = det.detect(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
            assert face is not None, f"no face in the crop {r.path}"
            assert np.linalg.norm(face.center - [res / 2, res / 2]) < 0.2 * res
            assert 0.5 < face.size / (res / cfg.box_scale) < 1.6
            assert r.camera_estimated
            np.testing.assert_allclose(np.asarray(r.K).reshape(3, 3), K_est)
            np.testing.assert_allclose(np.asarray(r.w2c).reshape(4, 4), w2c_est)
    assert "data/captures/manifest.parquet" in {r.artifact for r in reg.lineage_records("ingest")}


def _records(df) -> list[dict]:  # type: ignore[no-untyped-def]
    return [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in r.items()}
            for r in df.to_dict("records")]


@pytest.mark.parametrize("video", ["liveportrait_d3.mp4", "pexels_wolfganglanger.mp4"])
def test_real_video_ingests_as_monocular_capture(
    video: str, realdata: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "video-s01"
    (root / "inbox" / sid).mkdir()
    shutil.copy(realdata / video, root / "inbox" / sid / video)
    grant(registry, sid)
    res = ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert list(df.columns) == COLUMNS
    assert res.rows == len(df) == cfg.max_frames
    assert set(df.source_format) == {"video"} and set(df.camera) == {"video"}
    assert set(df.sequence) == {Path(video).stem}
    assert list(df.split) == ["train", "train", "train", "val"]
    times = [f.time for f in sample_video(realdata / video, cfg.video_fps, cfg.max_frames)]
    np.testing.assert_allclose(times, np.arange(cfg.max_frames) / cfg.video_fps, atol=0.05)
    _check_outputs(root, df, cfg, registry, sid)


def test_one_photo_capture_is_ingested_and_idempotent(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "photo-s01"
    write_png(root / "inbox" / sid / "photos" / "portrait.png", astronaut)
    grant(registry, sid)
    ingest_subjects([sid], cfg, registry, root)
    df = read_manifest()
    assert len(df) == 1 and df.iloc[0].source_format == "photos"
    assert df.iloc[0].camera == "portrait" and df.iloc[0].split == "train"
    assert df.iloc[0].mask_source == "selfie"
    _check_outputs(root, df, cfg, registry, sid)
    first = data_files(root)
    ingest_subjects([sid], cfg, registry, root)
    assert data_files(root) == first, "same inputs must give the same bytes"


def test_reingest_replaces_only_that_subject(
    astronaut: np.ndarray, realdata: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / "photo-a" / "a.png", astronaut)
    write_png(root / "inbox" / "photo-b" / "b.png", astronaut[:, ::-1])
    for sid in ("photo-a", "photo-b"):
        grant(registry, sid)
    ingest_subjects(["photo-a", "photo-b"], cfg, registry, root)
    before = data_files(root)
    rows_b = _records(read_manifest().query("subject == 'photo-b'"))
    old_a = [p for p in before if p.startswith("data/captures/photo-a/photos/")]
    # subject a now brings a video instead of its photo
    (root / "inbox" / "photo-a" / "a.png").unlink()
    shutil.copy(realdata / "liveportrait_d3.mp4", root / "inbox" / "photo-a" / "clip.mp4")
    ingest_subjects(["photo-a"], cfg, registry, root)
    after = data_files(root)
    df = read_manifest()
    assert _records(df.query("subject == 'photo-b'")) == rows_b
    assert set(df.query("subject == 'photo-a'").source_format) == {"video"}
    assert len(df.query("subject == 'photo-a'")) == cfg.max_frames
    for p, b in before.items():
        if p.startswith("data/captures/photo-b/"):
            assert after[p] == b
    assert not any(p in after for p in old_a)
    arts = {r.artifact for r in registry.lineage_for_subject("photo-a")}
    assert not arts & set(old_a), "lineage of replaced files must be removed"
    assert {p for p in after if p.startswith("data/captures/photo-a/")} <= arts


def test_per_frame_crops_follow_the_face(
    realdata: Path, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    sid = "video-s02"
    (root / "inbox" / sid).mkdir()
    shutil.copy(realdata / "pexels_wolfganglanger.mp4", root / "inbox" / sid / "clip.mp4")
    grant(registry, sid)
    per_frame = dataclasses.replace(cfg, crop="frame", video_fps=0.5)
    ingest_subjects([sid], per_frame, registry, root)
    df = read_manifest()
    assert len({tuple(c) for c in df.crop}) > 1, "each frame gets its own crop"
    _check_outputs(root, df, per_frame, registry, sid)
