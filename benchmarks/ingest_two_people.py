"""The two-person policy (``ingest.multiple_faces``) on a public-domain two-person photo.

Composes the two demo portraits (scikit-image's astronaut, matplotlib's Grace Hopper) into
one picture, ingests it into a throw-away project once per policy, and reports what happened:
``refuse`` must refuse naming the fix; ``largest`` must keep one face and store nothing of the
other. With ``--docs DIR`` it also writes the pictures shown in docs/ingest.md: the input, the
input as ingest sees it (the other head greyed out) and the stored crop.

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from headforge.config import IngestConfig
from headforge.demo import two_person_photo
from headforge.ingest import CaptureError, ingest_subjects
from headforge.ingest.faces import FaceDetector

SID = "pair-0001"


def _save(path: Path, rgb: np.ndarray, quality: int = 90) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if path.suffix == ".jpg":
        ok = cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    else:
        ok = cv2.imwrite(str(path), bgr)
    assert ok, path


def main(argv: list[str]) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--docs", type=Path, default=None, help="write the docs pictures here")
    a = ap.parse_args(argv)
    photo = two_person_photo()
    out: dict[str, object] = {"input": f"{photo.shape[1]}x{photo.shape[0]}"}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _save(root / "inbox" / SID / "pair.png", photo)
        cfg = IngestConfig(resolution=256, require_consent=False)
        try:
            ingest_subjects([SID], cfg, None, root)
            out["refuse"] = "ingested (wrong)"
        except CaptureError as e:
            out["refuse"] = str(e).split(": ", 1)[1]
        t0 = time.perf_counter()
        ingest_subjects([SID], dataclasses.replace(cfg, multiple_faces="largest"), None, root)
        out["largest_seconds"] = round(time.perf_counter() - t0, 2)
        cap = root / "data" / "captures" / SID
        info = json.loads((cap / "capture.json").read_text())
        crop = cv2.imread(str(cap / "photos" / "pair" / "000000.png"))[:, :, ::-1]
        stored = sorted(p.relative_to(cap).as_posix() for p in cap.rglob("*") if p.is_file())
        with FaceDetector(cfg.min_face_score) as det:
            kept_in, others_in = det.detect_all(photo)
            kept_crop, others_crop = det.detect_all(np.ascontiguousarray(crop))
        out.update(
            faces_in_input=1 + len(others_in) if kept_in else 0,
            faces_removed=info["faces_removed"], notes=info["notes"], stored_files=stored,
            faces_in_stored_crop=(1 + len(others_crop)) if kept_crop else 0,
        )
        if a.docs is not None:
            from headforge.ingest.capture import read_capture
            from headforge.ingest.ingest import detect_faces

            capture = read_capture(root / "inbox" / SID, SID, 2.0, 4)
            scan = detect_faces(capture, cfg.min_face_score, "largest", cfg.box_scale)
            _save(a.docs / "two_people.jpg", photo)
            _save(a.docs / "two_people_seen.jpg", scan.capture.views[0].load().rgb)
            _save(a.docs / "two_people_kept.png", np.ascontiguousarray(crop))
    return out


if __name__ == "__main__":
    res = main(sys.argv[1:])
    print(json.dumps(res))
