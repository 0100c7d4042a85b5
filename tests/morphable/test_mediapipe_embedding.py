"""The committed MediaPipe-478 embedding of the built-in head: present, consistent, reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headforge.morphable import load_head_model
from headforge.morphable.builtin import build_builtin, mesh_fingerprint, read_mediapipe_data

# MediaPipe index -> iBUG index of the same anatomical point.
SAME_POINT = {4: 30, 33: 36, 263: 45, 133: 39, 362: 42, 61: 48, 291: 54, 13: 62, 14: 66, 0: 51,
              17: 57, 2: 33}


def test_committed_embedding_matches_the_current_head() -> None:
    data = read_mediapipe_data()
    assert data is not None, "run `headforge model calibrate-mediapipe`"
    d = build_builtin()
    assert data["fingerprint"] == mesh_fingerprint(d["v_template"], d["f"])
    assert d["lmk478_faces_idx"].shape == (478,) and d["lmk478_bary_coords"].shape == (478, 3)
    np.testing.assert_allclose(d["lmk478_bary_coords"].sum(1), 1.0, atol=1e-6)
    assert (d["lmk478_bary_coords"] >= -1e-6).all()


def test_mediapipe_points_agree_with_ibug_and_irises_sit_on_the_eyes() -> None:
    m = load_head_model()
    out = m(eyes_pose=torch.tensor([[0.0, 0.3, 0.0, 0.0, 0.3, 0.0]]))
    rest = m()
    assert out.landmarks478 is not None and out.landmarks478.shape == (1, 478, 3)
    mp, ib = rest.landmarks478[0], rest.landmarks68[0]
    for a, b in SAME_POINT.items():
        assert float((mp[a] - ib[b]).norm()) < 0.006, (a, b)
    # Iris centres (468 right, 473 left) are on the eyeballs and turn with the eye joints.
    eyes = m.part_mask("eyes")
    fidx = m.lmk478_faces_idx[[468, 473]]
    assert bool(eyes[m.faces[fidx]].all())
    moved = out.landmarks478[0, [468, 473]] - rest.landmarks478[0, [468, 473]]
    assert float(moved[:, 0].min()) > 0.002  # yaw toward +x


@pytest.mark.slow
def test_regeneration_reproduces_the_committed_file() -> None:
    pytest.importorskip("mediapipe")
    from headforge.morphable.mediapipe_calib import calibrate, embedding_shift

    data = calibrate()
    old = read_mediapipe_data()
    assert data is not None and old is not None
    assert data["fingerprint"] == old["fingerprint"]
    assert embedding_shift(old, data) < 2e-4  # 0.2 mm
