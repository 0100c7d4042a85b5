"""CSIM from dlib's face-recognition ResNet: identical faces score 1, a degraded face scores
lower, and two different people's photos (the public-domain portraits) score below two frames
of one person (the portrait under a roll and zoom; frames far apart of each real clip)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from headforge.evaluate.captures import portrait_clip, portrait_image
from headforge.metrics.csim import FaceEmbedder, cosine


@pytest.fixture(scope="module")
def embedder() -> FaceEmbedder:
    return FaceEmbedder()


def test_identical_one_and_blur_lowers(embedder: FaceEmbedder) -> None:
    from PIL import Image, ImageFilter

    a = portrait_image("astronaut")
    box = embedder.detect(a)
    assert box is not None
    assert embedder.csim(a, a) == pytest.approx(1.0, abs=1e-9)
    blurred = [np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(r)))
               for r in (2, 8)]
    s = [embedder.csim(b, a, box=box) for b in blurred]
    assert s[0] is not None and s[1] is not None and 1.0 > s[0] > s[1]
    assert embedder.csim(np.zeros_like(a), a) is None  # no face found: no score


def test_portraits_of_two_people_score_below_one_person(embedder: FaceEmbedder) -> None:
    a, h = portrait_image("astronaut"), portrait_image("grace_hopper")
    ea, eh = embedder.embed(a), embedder.embed(h)
    e_roll = embedder.embed(portrait_clip(a, 5)[4])
    assert ea is not None and eh is not None and e_roll is not None
    assert cosine(ea, e_roll) > cosine(ea, eh)


def test_clips_same_person_above_different_people(embedder: FaceEmbedder,
                                                  realdata: Path) -> None:
    from tests.track.conftest import video_frames

    clips = {"d3": ("liveportrait_d3.mp4", 300), "d18": ("liveportrait_d18.mp4", 200),
             "wolfgang": ("pexels_wolfganglanger.mp4", 400)}
    emb: dict[str, list[np.ndarray]] = {}
    for name, (f, gap) in clips.items():
        frames = video_frames(realdata / f, every=gap, limit=2)
        es = [embedder.embed(x) for x in frames]
        assert all(e is not None for e in es), name
        emb[name] = [e for e in es if e is not None]
    for name in ("astronaut", "grace_hopper"):
        e = embedder.embed(portrait_image(name))
        assert e is not None
        emb[name] = [e]
    same = [cosine(*v) for v in emb.values() if len(v) == 2]
    diff = [cosine(emb[p][0], emb[q][0]) for p, q in itertools.combinations(emb, 2)]
    assert min(same) > max(diff), (same, diff)
