"""The Blender-side proxy builders are numpy only: tested here without bpy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from blender.assets import (
    AssetError,
    HeadRegions,
    ShellAsset,
    beard_assets,
    beard_region,
    build_assets,
    hair_assets,
    torso_asset,
)
from blender.meshops import Mesh, ring_distance, vertex_normals


@pytest.mark.parametrize("style", ["short", "long", "bun"])
def test_hair_styles_give_valid_meshes_over_the_scalp(neutral_head, style) -> None:
    assets = hair_assets(neutral_head, style, np.random.default_rng(0))
    shell = assets[0]
    assert isinstance(shell, ShellAsset) and shell.category == "hair"
    assert neutral_head.mask("scalp")[shell.vertex_ids].all()
    v = shell.place(neutral_head.vertices, neutral_head.normals)
    Mesh(v, shell.faces)  # validates indices and finiteness
    ring = ring_distance(neutral_head.faces, len(neutral_head.vertices),
                         neutral_head.mask("scalp"), 4)[shell.vertex_ids]
    assert np.all(shell.thickness[ring == 0] == 0), "the shell meets the skin at the hairline"
    assert shell.thickness.max() > 0.004
    if style == "long":
        curtain = assets[1].place(neutral_head.vertices, neutral_head.normals)
        assert curtain[:, 1].min() < neutral_head.vertices[neutral_head.mask("scalp")][:, 1].min()
    if style == "bun":
        assert assets[1].place(neutral_head.vertices, None)[:, 1].max() > \
            neutral_head.vertices[:, 1].max()
    assert hair_assets(neutral_head, "bald", np.random.default_rng(0)) == []


def test_beard_leaves_the_lips_free_and_follows_the_jaw(head_model, neutral_head) -> None:
    region = beard_region(neutral_head)
    mc = neutral_head.mouth_center
    d = neutral_head.vertices[region] - mc
    assert not np.any((np.abs(d[:, 0]) < 0.015) & (np.abs(d[:, 1]) < 0.006))
    assert not (region & (neutral_head.mask("eyes") | neutral_head.mask("scalp"))).any()
    (beard,) = beard_assets(neutral_head, "full", np.random.default_rng(1))
    open_jaw = head_model(jaw_pose=torch.tensor([[0.3, 0.0, 0.0]])).vertices[0].double().numpy()
    closed = beard.place(neutral_head.vertices, neutral_head.normals)
    opened = beard.place(open_jaw, vertex_normals(open_jaw, neutral_head.faces))
    moved = np.linalg.norm(opened - closed, axis=1)
    chin = neutral_head.vertices[beard.vertex_ids][:, 1] < mc[1] - 0.03
    moustache = neutral_head.vertices[beard.vertex_ids][:, 1] > mc[1] + 0.012
    assert moved[chin].max() > 0.01 and moved[moustache].max() < 0.004
    (goatee,) = beard_assets(neutral_head, "goatee", np.random.default_rng(1))
    assert len(goatee.vertex_ids) < len(beard.vertex_ids)
    assert beard_assets(neutral_head, "none", np.random.default_rng(1)) == []


def test_torso_sits_below_the_neck_opening(neutral_head) -> None:
    torso = torso_asset(neutral_head)
    neck_bottom = neutral_head.vertices[neutral_head.mask("neck")][:, 1].min()
    v = torso.mesh.vertices
    assert v[:, 1].max() < neck_bottom + 0.02 and v[:, 1].min() < neck_bottom - 0.15
    assert np.ptp(v[:, 0]) > 0.35  # shoulders
    assert torso.category == "neck"


def test_bad_styles_and_unlabelled_heads_fail_with_the_fix(neutral_head) -> None:
    with pytest.raises(AssetError, match="hair style 'mohawk' is not one of"):
        build_assets(neutral_head, {"style": "mohawk"}, {"style": "none"}, seed=0)
    with pytest.raises(AssetError, match="beard style"):
        beard_assets(neutral_head, "sideburns", np.random.default_rng(0))
    with pytest.raises(AssetError, match="no part"):
        HeadRegions(neutral_head.vertices, neutral_head.faces, neutral_head.labels, ("a", "b"))
    bald = HeadRegions(neutral_head.vertices, neutral_head.faces,
                       np.where(neutral_head.mask("scalp"), 0, neutral_head.labels),
                       neutral_head.part_names)
    with pytest.raises(AssetError, match="part labels do not cover"):
        hair_assets(bald, "short", np.random.default_rng(0))


def test_assets_are_deterministic_per_seed(neutral_head) -> None:
    hair, beard = {"style": "long", "thickness": 0.008}, {"style": "full"}
    a = build_assets(neutral_head, hair, beard, seed=4)
    b = build_assets(neutral_head, hair, beard, seed=4)
    for x, y in zip(a, b, strict=True):
        assert np.array_equal(x.place(neutral_head.vertices, neutral_head.normals),
                              y.place(neutral_head.vertices, neutral_head.normals))
