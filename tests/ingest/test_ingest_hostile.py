"""Hostile and odd captures (issue 18): a bystander's face, a decompression bomb, symbolic
links out of the subject's folder, deeply nested or huge metadata. Each is refused with one
clear CaptureError naming the file and the fix, before anything is decoded or written:
data/ and the registry hash the same before and after."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from capture_builders import (
    bomb_png_bytes,
    grant,
    make_nersemble,
    make_transforms,
    snapshot,
    write_png,
)

from headforge.config import IngestConfig
from headforge.demo import two_person_photo
from headforge.ingest import CaptureError, ingest_subjects, read_manifest
from headforge.ingest.faces import FaceDetector
from headforge.privacy import Registry

SID = "odd-s01"


def refused(
    root: Path, registry: Registry, cfg: IngestConfig, match: str, names: str | None = None
) -> str:
    """Ingest ``SID``, expect a CaptureError matching ``match`` (naming ``names``) and no
    change to data/ or the registry."""
    grant(registry, SID)
    before = snapshot(root)
    with pytest.raises(CaptureError, match=match) as err:
        ingest_subjects([SID], cfg, registry, root)
    msg = str(err.value)
    if names is not None:
        assert names in msg, f"the message must name {names!r}: {msg}"
    assert snapshot(root) == before, "a refused ingest must not write anything"
    assert not (root / "data" / ".ingest-staging").exists()
    assert registry.lineage_for_subject(SID) == []
    return msg


# ------------------------------------------------------------------ 1. two people


@pytest.fixture(scope="module")
def two_people() -> np.ndarray:
    return two_person_photo()


def test_two_people_refused_by_default(
    two_people: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    assert cfg.multiple_faces == "refuse"
    write_png(root / "inbox" / SID / "pair.png", two_people)
    msg = refused(root, registry, cfg, "2 faces in the picture", "pair.png")
    assert "ingest.multiple_faces: largest" in msg and "crop the other people out" in msg


def test_two_people_largest_keeps_one_face_and_records_the_removal(
    two_people: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "pair.png", two_people)
    grant(registry, SID)
    cfg = dataclasses.replace(cfg, multiple_faces="largest")
    ingest_subjects([SID], cfg, registry, root)
    out = root / "data" / "captures" / SID
    info = json.loads((out / "capture.json").read_text())
    assert info["faces_removed"] == 1 and info["faces_removed_per_view"] == {"pair.png": 1}
    assert any("1 other face(s) greyed out" in n for n in info["notes"])
    entry = [e for e in registry.audit_entries() if e.event == "ingest.commit"][-1]
    assert entry.payload["faces_removed"] == 1
    # the stored crop shows the kept (larger) face only, and no stored picture holds another
    stored = sorted(out.rglob("*.png"))
    assert len(stored) == 2  # the crop and its mask
    crop = cv2.imread(str(out / "photos" / "pair" / "000000.png"))[:, :, ::-1]
    with FaceDetector(0.5) as det:
        kept, others = det.detect_all(np.ascontiguousarray(crop))
        assert kept is not None and others == []
        # the bystander (the astronaut, left) is not in the crop: Grace Hopper's face is the
        # larger one, and her face in the crop matches the right half of the input
        _, src_others = det.detect_all(two_people)
    assert len(src_others) == 1 and src_others[0].center[0] < 512
    assert read_manifest().subject.tolist() == [SID]


def test_blanked_view_hides_the_other_head(two_people: np.ndarray) -> None:
    from headforge.ingest.ingest import blank_box
    from headforge.ingest.readers import BLANK_GREY, RawView

    with FaceDetector(0.5) as det:
        kept, others = det.detect_all(two_people)
    assert kept is not None and len(others) == 1
    box = blank_box(others[0], kept, 1.8)
    view = RawView("photos", "pair", "000000", "pair.png", (1024, 600), "0", pixels=two_people,
                   blank=(box,))
    rgb = view.load().rgb
    x0, y0, x1, y1 = (max(0, v) for v in box)
    assert np.all(rgb[y0:y1, x0:x1] == BLANK_GREY)
    assert not np.shares_memory(rgb, two_people) and two_people[y0 + 5, x0 + 5].std() >= 0
    with FaceDetector(0.5) as det:
        assert det.detect_all(rgb)[1] == []  # one face left


# ------------------------------------------------------------------ 2. decompression bomb


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid 20000x20000 grey PNG of ~400 kB that decodes to 400 MB."""
    p = tmp_path_factory.mktemp("bomb") / "bomb.png"
    p.write_bytes(bomb_png_bytes(20000))
    return p


def test_decompression_bomb_refused_before_decoding(
    bomb_png: Path, root: Path, registry: Registry, cfg: IngestConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import headforge.ingest.media as media

    def no_decode(*a: object, **k: object) -> None:
        raise AssertionError("the bomb was decoded")

    monkeypatch.setattr(media.cv2, "imdecode", no_decode)
    (root / "inbox" / SID).mkdir()
    (root / "inbox" / SID / "big.png").write_bytes(bomb_png.read_bytes())
    msg = refused(root, registry, cfg, "over the limit of 100,000,000", "big.png")
    assert "20000x20000" in msg and "ingest.max_image_pixels" in msg


def test_pixel_limit_is_configurable(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    cfg = dataclasses.replace(cfg, max_image_pixels=200_000)
    msg = refused(root, registry, cfg, "512x512 is 262,144 pixels, over the limit of 200,000")
    assert "raise ingest.max_image_pixels" in msg
    with pytest.raises(CaptureError, match="max_image_pixels .* out of range"):
        ingest_subjects([SID], dataclasses.replace(cfg, max_image_pixels=10**9), registry, root)


# ------------------------------------------------------------------ 3. symbolic links


@pytest.mark.parametrize("target", ["/etc/passwd", "other"])
def test_link_out_of_the_folder_refused(
    target: str, astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    if target == "other":  # into another subject's folder
        target = str(write_png(root / "inbox" / "odd-s02" / "b.png", astronaut[:, ::-1]))
    link = root / "inbox" / SID / "b.png"
    link.symlink_to(target)
    msg = refused(root, registry, cfg, "symbolic link to .* outside the capture folder",
                  str(link))
    assert "copy the file into" in msg and target in msg


def test_linked_folder_and_linked_subject_refused(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    other = root / "inbox" / "odd-s02"
    write_png(other / "photos" / "b.png", astronaut)
    (root / "inbox" / SID).mkdir()
    (root / "inbox" / SID / "photos").symlink_to(other / "photos")
    refused(root, registry, cfg, "symbolic link", str(root / "inbox" / SID / "photos"))
    (root / "inbox" / SID / "photos").unlink()
    (root / "inbox" / SID).rmdir()
    (root / "inbox" / SID).symlink_to(other)
    refused(root, registry, cfg, "capture folder is a symbolic link", SID)


def test_link_inside_the_folder_is_fine(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    (root / "inbox" / SID / "notes.txt").write_text("taken in the lab")
    (root / "inbox" / SID / "readme").symlink_to("notes.txt")
    grant(registry, SID)
    assert ingest_subjects([SID], cfg, registry, root).rows == 1


# ------------------------------------------------------------------ 4. nested / huge metadata


def test_deeply_nested_camera_params(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    p = root / "inbox" / SID / "calibration" / "camera_params.json"
    p.write_text("[" * 200_000 + "]" * 200_000)  # a RecursionError in json.loads
    msg = refused(root, registry, cfg, "nested 200000 levels deep", "camera_params.json")
    assert "ingest.max_metadata_depth" in msg


def test_huge_camera_params(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_nersemble(root / "inbox" / SID, astronaut, frames=1)
    p = root / "inbox" / SID / "calibration" / "camera_params.json"
    params = json.loads(p.read_text())
    serial = sorted(params["world_2_cam"])[0]
    for i in range(60_000):  # a valid but enormous calibration: 60k cameras, ~9 MB
        params["world_2_cam"][f"9{i:07d}"] = params["world_2_cam"][serial]
        params["intrinsics"][f"9{i:07d}"] = params["intrinsics"][serial]
    p.write_text(json.dumps(params))
    assert p.stat().st_size > 8 * 2**20
    msg = refused(root, registry, cfg, "over the limit of 8,388,608", "camera_params.json")
    assert "ingest.max_metadata_bytes" in msg


def test_nested_transforms_json_and_int_bomb(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_transforms(root / "inbox" / SID, astronaut)
    p = root / "inbox" / SID / "transforms.json"
    meta = json.loads(p.read_text())
    meta["extra"] = json.loads("[" * 40 + "]" * 40)
    p.write_text(json.dumps(meta))
    refused(root, registry, cfg, "nested 41 levels deep", "transforms.json")
    meta["extra"] = None
    p.write_text(json.dumps(meta)[:-1] + ', "fl_y": ' + "9" * 5000 + "}")  # int too long
    refused(root, registry, cfg, "not valid JSON", "transforms.json")


@pytest.mark.parametrize("kind", ["alias", "deep", "flow"])
def test_hostile_capture_yaml(
    kind: str, astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    write_png(root / "inbox" / SID / "a.png", astronaut)
    y = root / "inbox" / SID / "capture.yaml"
    if kind == "alias":  # "billion laughs"
        lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
        lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                  f"*{chr(97 + i)}]" for i in range(8)]
        y.write_text("\n".join(lines) + "\nformat: photos\n")
        refused(root, registry, cfg, "aliases are not accepted", "capture.yaml")
    elif kind == "deep":  # block nesting by indentation
        y.write_text("".join(f"{'  ' * i}k{i}:\n" for i in range(400)) + "format: photos\n")
        refused(root, registry, cfg, "nested .* levels deep", "capture.yaml")
    else:
        y.write_text("format: " + "[" * 100 + "]" * 100 + "\n")
        refused(root, registry, cfg, "nested 100 levels deep", "capture.yaml")


def test_metadata_limits_are_read_from_params(
    astronaut: np.ndarray, root: Path, registry: Registry, cfg: IngestConfig
) -> None:
    make_transforms(root / "inbox" / SID, astronaut)
    size = (root / "inbox" / SID / "transforms.json").stat().st_size
    small = dataclasses.replace(cfg, max_metadata_bytes=max(1024, size - 1))
    if size <= 1024:
        pytest.skip("transforms.json smaller than the lowest accepted limit")
    refused(root, registry, small, f"{size:,} bytes, over the limit", "transforms.json")
    grant(registry, SID)
    assert ingest_subjects([SID], cfg, registry, root).rows == 4
    assert os.path.isdir(root / "data" / "captures" / SID)
