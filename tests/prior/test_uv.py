from __future__ import annotations

import numpy as np
import pytest

from headforge.prior.uv import part_resolution, part_samples, triangle_parts, uv_grid_samples


def _square_mesh() -> tuple[np.ndarray, np.ndarray]:
    # two triangles covering the unit UV square
    uvs = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    return uvs, faces


def test_grid_covers_the_square_once_and_barycentrics_reproduce_the_point() -> None:
    uvs, faces = _square_mesh()
    fi, bary, uv = uv_grid_samples(uvs, faces, np.arange(2), 8)
    assert len(fi) == 64  # every texel centre exactly once, even on the shared diagonal
    assert len({(round(float(a) * 16), round(float(b) * 16)) for a, b in uv}) == 64
    np.testing.assert_allclose(bary.sum(-1), 1.0, atol=1e-6)
    recon = (bary[:, :, None] * uvs[faces[fi]]).sum(1)
    np.testing.assert_allclose(recon, uv, atol=1e-6)
    assert (bary >= 0).all()


def test_triangle_parts_take_the_majority_label() -> None:
    faces = np.array([[0, 1, 2], [1, 2, 3], [0, 3, 4]])
    labels = np.array([0, 1, 1, 2, 2])
    np.testing.assert_array_equal(triangle_parts(faces, labels), [1, 1, 2])


def test_hair_density_gives_more_samples_per_uv_area() -> None:
    uvs, faces = _square_mesh()
    labels = np.array([0, 0, 1, 1])  # triangle 0 -> part 0 (face), triangle 1 (0,2,3) -> 1
    s = part_samples(uvs, faces, faces, labels, ("face", "scalp"), 16,
                     {"scalp": 4.0}, default_density=1.0)
    c = s.counts(("face", "scalp"))
    # same UV area per part, 4x the density on the scalp
    assert 3.5 < c["scalp"] / c["face"] < 4.5
    assert part_resolution(16, 4.0) == 32
    assert set(np.unique(s.spacing).round(6)) == {round(1 / 16, 6), round(1 / 32, 6)}


def test_bad_inputs_are_refused_with_a_fix() -> None:
    uvs, faces = _square_mesh()
    with pytest.raises(ValueError, match="unknown parts"):
        part_samples(uvs, faces, faces, np.zeros(4, int), ("face",), 8, {"hair": 2.0})
    with pytest.raises(ValueError, match="density must be > 0"):
        part_resolution(8, 0.0)
