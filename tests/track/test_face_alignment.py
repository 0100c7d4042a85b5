"""face-alignment: the error paths (no weights here) and the pure decoding maths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from headforge.config import TrackConfig
from headforge.track import LandmarkError, make_detector
from headforge.track.detect_face_alignment import (
    decode_heatmaps,
    decode_s3fd,
    fan_crop_transform,
    find_face_alignment_weights,
    heatmap_to_image,
    nms,
)
from headforge.track.detectors import probe_detector


def test_no_weights_configured_names_files_and_install() -> None:
    with pytest.raises(LandmarkError) as e:
        make_detector(TrackConfig(detector="face_alignment", face_alignment_weights=""))
    msg = str(e.value)
    for part in (
        "2DFAN4",
        "s3fd-619a316812.pth",
        "pip install face-alignment",
        "track.face_alignment_weights",
    ):
        assert part in msg


def test_missing_folder_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(LandmarkError, match="does not exist"):
        find_face_alignment_weights(str(tmp_path / "nope"))
    (tmp_path / "s3fd-619a316812.pth").write_bytes(b"")
    with pytest.raises(LandmarkError, match=r"lacks 2DFAN4") as e:
        find_face_alignment_weights(str(tmp_path))
    assert "s3fd .pth" not in str(e.value).split(":")[0]


def test_weights_present_but_package_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """Whether or not face-alignment is installed here: without it, the error names it."""
    from headforge.track import detect_face_alignment

    monkeypatch.setattr(detect_face_alignment, "face_alignment_installed", lambda: False)
    (tmp_path / "s3fd-619a316812.pth").write_bytes(b"")
    (tmp_path / "2DFAN4-cd938726ad.zip").write_bytes(b"")
    w = find_face_alignment_weights(str(tmp_path))
    assert w.fan.name.startswith("2DFAN4") and w.s3fd.name.startswith("s3fd")
    st = probe_detector(detect_face_alignment.ENTRY,
                        TrackConfig(face_alignment_weights=str(tmp_path)))
    assert not st.available and "pip install face-alignment" in st.reason
    with pytest.raises(LandmarkError, match="pip install face-alignment"):
        make_detector(TrackConfig(detector="face_alignment", face_alignment_weights=str(tmp_path)))


def test_heatmap_decoding_recovers_subpixel_peaks() -> None:
    rng = np.random.default_rng(0)
    true = rng.uniform(5, 59, size=(68, 2))
    yy, xx = np.mgrid[0:64, 0:64] + 0.5  # pixel centres
    hm = np.exp(
        -((xx[None] - true[:, 0, None, None]) ** 2 + (yy[None] - true[:, 1, None, None]) ** 2) / 2.0
    )
    pts, peaks = decode_heatmaps(hm)
    assert np.abs(pts - true).max() <= 0.5 and np.all(peaks > 0.5)


def test_crop_transform_round_trip() -> None:
    box = (100.0, 80.0, 220.0, 230.0)
    a = fan_crop_transform(box)
    img_pts = np.array([[150.0, 120.0], [210.0, 200.0]])
    crop = img_pts @ a[:, :2].T + a[:, 2]
    back = heatmap_to_image(crop / 4.0, a)
    np.testing.assert_allclose(back, img_pts, atol=1e-9)
    centre = np.array([160.0, 155.0 - 0.12 * 150.0]) @ a[:, :2].T + a[:, 2]
    np.testing.assert_allclose(centre, [128.0, 128.0])


def test_s3fd_decoding_and_nms() -> None:
    outs: list[torch.Tensor] = []
    for level in range(6):
        n = 64 >> level
        cls = torch.zeros(1, 2, n, n)
        cls[0, 0] = 5.0  # background everywhere
        if level == 2:  # stride 16, anchor side 64: one face at cell (x=3, y=5)
            cls[0, 1, 5, 3] = 10.0
        outs += [cls, torch.zeros(1, 4, n, n)]
    boxes = decode_s3fd(outs)
    assert boxes.shape == (1, 5) and boxes[0, 4] > 0.99
    np.testing.assert_allclose(boxes[0, :4], [56 - 32, 88 - 32, 56 + 32, 88 + 32])
    b = np.array([[0, 0, 10, 10, 0.9], [1, 1, 11, 11, 0.8], [50, 50, 60, 60, 0.7]])
    assert nms(b, 0.3).tolist() == [0, 2]
