"""Suites, protocol rules and the methods registry (no fitting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from headforge.evaluate.methods import METHODS, get_method
from headforge.evaluate.protocol import pose_spread_frames
from headforge.evaluate.suite import SuiteError, load_suite, parse_suite

ROOT = Path(__file__).resolve().parents[2]


def test_repo_suites_parse() -> None:
    d = load_suite(ROOT, "default")
    assert d.realdata == "../shared/realdata" and d.protocol.shots == (1, 3)
    assert {c.kind for c in d.captures.values()} == {"realdata", "portrait"}
    t = load_suite(ROOT, "tiny")
    assert all(c.kind != "realdata" for c in t.captures.values())
    with pytest.raises(SuiteError, match="suites here"):
        load_suite(ROOT, "nope")


def test_missing_realdata_names_the_folder_and_the_fix(tmp_path: Path) -> None:
    s = load_suite(ROOT, "default")
    with pytest.raises(SuiteError, match=r"liveportrait_d3.mp4.*--realdata.*suite tiny"):
        s.realdata_dir(tmp_path / "proj")


@pytest.mark.parametrize("raw, msg", [
    ({"name": "x", "captures": {}, "bogus": 1}, "unknown key"),
    ({"name": "x", "captures": {"a": {"source": "portrait:astronaut", "terms": "public"}},
      "self_reenactment": ["a"]}, "single photo"),
    ({"name": "x", "captures": {"a": {"source": "web:x", "terms": "public"}}}, "source"),
    ({"name": "x", "captures": {"a": {"source": "portrait_clip:astronaut"}}}, "terms"),
    ({"name": "x", "captures": {}, "photo_set": ["b"]}, "not under captures"),
])
def test_bad_suites_are_refused(raw: dict, msg: str) -> None:
    with pytest.raises(SuiteError, match=msg):
        parse_suite(yaml.safe_load(yaml.safe_dump(raw)))


def test_photo_set_picks_poses_far_apart_from_the_most_frontal() -> None:
    yaw = np.array([5.0, 0.0, -30.0, 2.0, 28.0, 14.0])
    rv = Rotation.from_euler("y", yaw, degrees=True).as_rotvec()
    pick = pose_spread_frames(rv, 3)
    assert pick[0] == 1 and set(pick[1:]) == {2, 4}


def test_methods_registry() -> None:
    assert {"prior", "baseline"} <= set(METHODS)
    for name in METHODS:
        assert callable(get_method(name))
    with pytest.raises(KeyError, match="registered methods"):
        get_method("nerf")
