"""The embedded demo's real inputs: two public portraits shipped inside common packages.

``prepare_demo_inbox`` writes scikit-image's astronaut (NASA, public domain) and matplotlib's
Grace Hopper portrait (public domain) as one-photo captures under ``inbox/`` with pseudonymous
subject ids, and records the demo's consent (capture, train_prior, avatar) in the registry.
The bytes are deterministic, so rerunning it does not make DVC rerun ``ingest``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from headforge.io_utils import write_bytes_atomic

DEMO_EVIDENCE = "demo: public-domain portrait shipped in a Python package"


@dataclass(frozen=True)
class DemoSubject:
    """One demo capture."""

    subject_id: str
    """Pseudonymous id (never a name)."""
    source: str
    """Where the picture comes from."""


DEMO_SUBJECTS = (
    DemoSubject("demo-0001", "skimage.data.astronaut()"),
    DemoSubject("demo-0002", "matplotlib sample_data/grace_hopper.jpg"),
)


def demo_image(subject: DemoSubject) -> np.ndarray:
    """The demo subject's portrait as HxWx3 uint8."""
    if subject.subject_id == "demo-0001":
        from skimage import data

        return np.asarray(data.astronaut())
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def two_person_photo() -> np.ndarray:
    """Both demo portraits side by side on one white canvas, bottoms aligned: a public-domain
    "photo with a bystander" for the ``ingest.multiple_faces`` policy (docs/ingest.md)."""
    a, g = (demo_image(s) for s in DEMO_SUBJECTS)
    h = max(a.shape[0], g.shape[0])
    canvas = np.full((h, a.shape[1] + g.shape[1], 3), 255, np.uint8)
    canvas[h - a.shape[0]:, : a.shape[1]] = a
    canvas[h - g.shape[0]:, a.shape[1]:] = g
    return canvas


def _png_bytes(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def prepare_demo_inbox(inbox: Path, grant_consent: bool = True) -> list[Path]:
    """Write the demo captures into ``inbox`` (and grant their consent); returns written files."""
    written = []
    for subj in DEMO_SUBJECTS:
        target = inbox / subj.subject_id / "photos" / "portrait.png"
        data = _png_bytes(demo_image(subj))
        if not target.is_file() or target.read_bytes() != data:
            write_bytes_atomic(target, data)
        written.append(target)
    if grant_consent:
        from headforge.privacy import Registry

        reg = Registry.from_config()
        for subj in DEMO_SUBJECTS:
            for scope in ("capture", "train_prior", "avatar"):
                if not reg.has_consent(subj.subject_id, scope):
                    reg.add_subject(subj.subject_id)
                    reg.grant(subj.subject_id, scope, evidence=DEMO_EVIDENCE)
    return written
