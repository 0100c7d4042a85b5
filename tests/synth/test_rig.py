from __future__ import annotations

import numpy as np
import pytest

from headforge.cameras import is_rotation
from headforge.synth.rig import HEAD_CENTER, RigSpec, build_rig, select_cameras


def _project(cam, p):
    x = cam.w2c[:3, :3] @ p + cam.w2c[:3, 3]
    return (cam.K @ x)[:2] / x[2], x[2]


def test_rig_has_14_front_and_14_upper_cameras_looking_at_the_head() -> None:
    spec = RigSpec(width=96, height=64)
    rig = build_rig(spec, seed=3)
    assert [c.group for c in rig] == ["front"] * 14 + ["upper"] * 14
    assert len({c.name for c in rig}) == 28
    for cam in rig:
        assert is_rotation(cam.w2c[:3, :3])
        uv, z = _project(cam, np.asarray(HEAD_CENTER))
        assert z == pytest.approx(spec.distance)
        assert np.allclose(uv, [48.0, 32.0], atol=1e-9)  # target on the optical axis
        # world up points up in the image
        up = cam.w2c[:3, :3] @ np.array([0.0, 1.0, 0.0])
        assert up[1] < 0
    front = np.array([c.center - np.asarray(HEAD_CENTER) for c in rig[:14]])
    az = np.degrees(np.arctan2(front[:, 0], front[:, 2]))
    assert az.min() == pytest.approx(-80.0) and az.max() == pytest.approx(80.0)
    upper = np.array([c.center - np.asarray(HEAD_CENTER) for c in rig[14:]])
    el = np.degrees(np.arcsin(upper[:, 1] / np.linalg.norm(upper, axis=1)))
    assert el.min() >= 20.0 and el.max() <= 70.0
    upper_az = np.degrees(np.arctan2(upper[:, 0], upper[:, 2]))
    assert (np.abs(upper_az) > 100).any(), "some hemisphere cameras see the back of the head"


def test_rig_is_deterministic_per_seed() -> None:
    a = build_rig(RigSpec(64, 64), seed=1)
    b = build_rig(RigSpec(64, 64), seed=1)
    c = build_rig(RigSpec(64, 64), seed=2)
    assert all(np.array_equal(x.w2c, y.w2c) for x, y in zip(a, b, strict=True))
    assert not np.allclose(a[20].w2c, c[20].w2c)


def test_select_cameras_spreads_over_both_groups() -> None:
    rig = build_rig(RigSpec(64, 64), seed=0)
    sel = select_cameras(rig, 8)
    assert [c.group for c in sel].count("front") == 4 and len(sel) == 8
    assert len({c.name for c in sel}) == 8
    assert [c.name for c in select_cameras(rig, 28)] == [c.name for c in rig]
    with pytest.raises(ValueError, match="must be in"):
        select_cameras(rig, 29)
