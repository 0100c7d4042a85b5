from __future__ import annotations

import numpy as np

from headforge.synth.identity import (
    BEARD_STYLES,
    HAIR_STYLES,
    SCRIPTED,
    identity_seed,
    sample_identity,
)

NAMES = ("smile", "frown", "pucker", "brow_raise", "brow_lower", "blink_left", "blink_right",
         "lip_part", "eyes_wide", "squint", "nose_wrinkle", "upper_lip_raise")


def test_identity_depends_only_on_seed_version_index() -> None:
    a = sample_identity(5, seed=0, version=1, n_shape=10, n_expr=12, n_expressions=4,
                        expression_names=NAMES)
    b = sample_identity(5, seed=0, version=1, n_shape=10, n_expr=12, n_expressions=4,
                        expression_names=NAMES)
    assert np.array_equal(a.shape, b.shape) and a.hair == b.hair and a.skin == b.skin
    c = sample_identity(5, seed=0, version=2, n_shape=10, n_expr=12, n_expressions=4,
                        expression_names=NAMES)
    assert not np.array_equal(a.shape, c.shape)
    assert identity_seed(0, 1, 5) != identity_seed(0, 1, 6)


def test_expressions_start_neutral_then_scripted_then_mixtures() -> None:
    s = sample_identity(0, 0, 1, 10, 12, n_expressions=12, expression_names=NAMES)
    names = [e.name for e in s.expressions]
    assert names[0] == "neutral" and len(names) == 12 and len(set(names)) == 12
    assert not s.expressions[0].expr.any() and not s.expressions[0].jaw_pose.any()
    # every scripted expression whose blend shapes NAMES has (not smirk, cheek_puff) comes
    # before the mixtures
    usable = {"smile", "jaw_open", "surprise", "frown", "pucker", "blink", "disgust", "shout"}
    assert usable < set(SCRIPTED)
    assert set(names[1:9]) == usable and names[9:] == ["mix_00", "mix_01", "mix_02"]
    (smile,) = [e for e in s.expressions if e.name == "smile"]
    assert smile.expr[NAMES.index("smile")] > 0.5
    # a model without named blend shapes still gets distinct random expressions
    anon = sample_identity(0, 0, 1, 10, 12, n_expressions=3, expression_names=())
    assert [e.name for e in anon.expressions] == ["neutral", "mix_00", "mix_01"]


def test_styles_cover_the_catalogue_over_many_identities() -> None:
    ids = [sample_identity(i, 0, 1, 4, 4, 1) for i in range(120)]
    assert {s.hair["style"] for s in ids} == set(HAIR_STYLES)
    assert {s.beard["style"] for s in ids} == set(BEARD_STYLES)
    assert len({s.lighting["setup"] for s in ids}) == 4
    assert len({s.skin.tone for s in ids}) > 50
