from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from headforge.synth.identity import sample_identity
from headforge.synth.texture import albedo_texture, dilate, uv_atlas


@pytest.fixture(scope="module")
def atlas(head_model, part_names):
    m = head_model
    return uv_atlas(m.v_template.numpy(), m.faces.numpy(), m.uvs.numpy(), m.uv_faces.numpy(),
                    m.part_labels.numpy(), part_names, 128)


def _texel_colour(atlas, tex, point, part):
    """Colour of the covered texel of ``part`` nearest to a 3D point."""
    sel = atlas.mask(part)
    d = np.linalg.norm(atlas.position - point, axis=-1)
    d[~sel] = np.inf
    return tex[np.unravel_index(np.argmin(d), d.shape)].astype(int)


def test_atlas_places_texels_on_the_head(atlas, head_model) -> None:
    assert atlas.covered.mean() > 0.5
    v = head_model.v_template.numpy()
    pos = atlas.position[atlas.covered]
    assert (pos.min(0) >= v.min(0) - 1e-6).all() and (pos.max(0) <= v.max(0) + 1e-6).all()
    assert {atlas.part_names[i] for i in np.unique(atlas.part[atlas.covered])} >= {
        "face", "scalp", "neck", "eyes", "mouth"}
    assert atlas.eye_centers[0, 0] > 0 > atlas.eye_centers[1, 0]


def test_albedo_paints_skin_lips_irises_and_mouth(atlas, head_model) -> None:
    spec = sample_identity(3, 0, 1, 4, 4, 1)
    skin = dataclasses.replace(spec.skin, tone=(200, 150, 120), eye_color=(40, 90, 200),
                               lip_color=(170, 60, 60), freckles=0.0)
    tex = albedo_texture(atlas, skin)
    assert tex.shape == (128, 128, 3) and tex.dtype == np.uint8
    mc = atlas.mouth_center
    cheek = _texel_colour(atlas, tex, mc + np.array([0.05, 0.03, -0.01]), "face")
    assert np.abs(cheek - [200, 150, 120]).max() < 30
    lip = _texel_colour(atlas, tex, mc + np.array([0.0, 0.008, 0.005]), "face")
    assert lip[0] - lip[1] > 60  # red lips
    iris = _texel_colour(atlas, tex, atlas.eye_centers[0] + [0, 0, 0.012], "eyes")
    pupil_side = _texel_colour(atlas, tex, atlas.eye_centers[0] + [0.012, 0, 0], "eyes")
    assert iris[2] > iris[0] and pupil_side.min() > 150  # blue iris in front, white sclera aside
    mouth = tex[atlas.mask("mouth")].mean(0)
    assert mouth.max() < 140 and mouth[0] > mouth[1]
    assert np.array_equal(tex, albedo_texture(atlas, skin))  # deterministic


def test_dilate_fills_gaps_next_to_valid_texels() -> None:
    img = np.zeros((5, 5, 3))
    valid = np.zeros((5, 5), bool)
    img[2, 2], valid[2, 2] = 1.0, True
    out = dilate(img, valid, 1)
    assert out[1, 2, 0] == 1.0 and out[0, 0, 0] == 0.0
