"""The built-in open head model: deterministic, well-formed, anatomically labelled."""

from __future__ import annotations

import numpy as np
import pytest

from headforge.morphable import PART_NAMES
from headforge.morphable.builtin import _build, build_builtin, builtin_mesh
from headforge.morphable.builtin_bases import EXPRESSION_NAMES


@pytest.fixture(scope="module")
def d() -> dict[str, np.ndarray]:
    return build_builtin()


def test_two_builds_are_identical(d: dict[str, np.ndarray]) -> None:
    again = _build.__wrapped__(64, 80, True)  # bypass the cache
    assert sorted(again) == sorted(d)
    for k in d:
        assert again[k].tobytes() == d[k].tobytes(), k


def test_sizes_and_flame_layout(d: dict[str, np.ndarray]) -> None:
    n_v, n_f = len(d["v_template"]), len(d["f"])
    assert 3000 < n_v < 7000 and n_f > 2 * 3000
    n_id = int(d["num_shape_components"])
    assert n_id >= 20 and d["shapedirs"].shape == (n_v, 3, n_id + len(EXPRESSION_NAMES))
    assert len(EXPRESSION_NAMES) >= 10
    assert d["posedirs"].shape == (n_v, 3, 36) and d["J_regressor"].shape == (5, n_v)
    np.testing.assert_allclose(d["weights"].sum(1), 1.0, atol=1e-12)
    assert (d["weights"] >= 0).all()
    np.testing.assert_allclose(d["J_regressor"].sum(1), 1.0, atol=1e-12)
    np.testing.assert_array_equal(d["kintree_table"][0, 1:], [0, 1, 1, 1])
    # Head centred near the origin, ~0.15 m wide, face toward +z, +y up.
    v = d["v_template"]
    width = v[:, 0].max() - v[:, 0].min()
    assert 0.14 < width < 0.20 and abs(v[:, 0].mean()) < 1e-9
    lm = (d["v_template"][d["f"][d["lmk68_faces_idx"]]] * d["lmk68_bary_coords"][..., None]).sum(1)
    assert lm[30, 2] == lm[:, 2].max()  # nose tip is the frontmost landmark
    assert lm[8, 1] == lm[:, 1].min()  # chin is the lowest
    assert lm[19, 1] > lm[37, 1] > lm[30, 1] > lm[51, 1] > lm[57, 1]  # brow > eye > nose > lips
    np.testing.assert_allclose(lm[36, 0], -lm[45, 0], atol=1e-6)  # symmetric eye corners
    assert lm[36, 0] < 0 < lm[45, 0]  # iBUG order: the subject's right (-x) first


def test_mesh_is_consistently_oriented_and_open_only_at_the_neck(d: dict[str, np.ndarray]) -> None:
    f, v = d["f"], d["v_template"]
    edges = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert counts.max() == 1  # no edge traversed twice the same way: consistent winding
    directed = set(map(tuple, edges.tolist()))
    boundary = [(a, b) for a, b in directed if (b, a) not in directed]
    bverts = np.unique(np.array(boundary))
    assert len(bverts) == 80 and np.allclose(v[bverts, 1], v[:, 1].min())
    # Outward normals: the skin's triangles face away from the head's axis.
    skin = d["part_labels"][f].max(1) <= PART_NAMES.index("neck")
    n = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])[skin]
    c = v[f].mean(1)[skin]
    radial = c - np.array([0.0, 1.0, 0.0]) * c[:, 1:2]
    assert ((n * radial).sum(1) > 0).mean() > 0.95


def test_uvs(d: dict[str, np.ndarray]) -> None:
    vt, ft = d["vt"], d["ft"]
    assert ft.shape == d["f"].shape and ft.max() < len(vt)
    assert vt.min() >= 0.0 and vt.max() <= 1.0
    t = vt[ft]
    area = 0.5 * np.abs(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]))
    assert (area > 0).all()
    # The face is at the centre of the skin's unwrap.
    nose = d["f"][d["lmk68_faces_idx"][30]]
    uv_nose = vt[ft[d["lmk68_faces_idx"][30]]].mean(0)
    assert abs(uv_nose[0] - 0.5) < 0.05 and len(nose) == 3


def test_part_labels_cover_every_vertex_sensibly(d: dict[str, np.ndarray]) -> None:
    labels, v = d["part_labels"], d["v_template"]
    assert list(d["part_names"]) == list(PART_NAMES)
    assert labels.shape == (len(v),) and labels.min() >= 0 and labels.max() < len(PART_NAMES)
    counts = np.bincount(labels, minlength=len(PART_NAMES))
    assert (counts > 0).all()
    scalp = labels == PART_NAMES.index("scalp")
    top = np.argmax(v[:, 1])
    back = np.argmin(v[:, 2] + 10 * np.abs(v[:, 1] - 0.03))
    assert scalp[top] and scalp[back]  # the cap covers the crown and the back of the head
    lm = (v[d["f"][d["lmk68_faces_idx"]]] * d["lmk68_bary_coords"][..., None]).sum(1)
    assert v[scalp, 1].min() > -0.07 and np.median(v[scalp, 1]) > lm[19, 1] - 0.02
    # Eyes are the eyeball vertices (weights on the eye joints); the face holds the landmarks.
    np.testing.assert_array_equal(labels == PART_NAMES.index("eyes"),
                                  d["weights"][:, 3:].sum(1) > 0.5)
    lmk_labels = labels[d["f"][d["lmk68_faces_idx"]]]
    assert (lmk_labels == PART_NAMES.index("face")).all()


def test_identity_basis_is_smooth_orthogonal_and_keeps_eyes_rigid(d: dict[str, np.ndarray]) -> None:
    n_id = int(d["num_shape_components"])
    ident = d["shapedirs"][:, :, :n_id].reshape(-1, n_id)
    gram = ident.T @ ident
    off = gram - np.diag(np.diag(gram))
    assert np.abs(off).max() < 1e-9 * np.abs(gram).max()
    norms = np.sqrt(np.diag(gram))
    assert (np.diff(norms) <= 1e-12).all()  # ordered by variance
    eye = d["weights"][:, 3] > 0.5
    for k in range(n_id):
        disp = d["shapedirs"][eye, :, k]
        np.testing.assert_allclose(disp, disp[:1].repeat(len(disp), 0), atol=1e-12)


def test_expression_basis_leaves_eyes_and_scalp(d: dict[str, np.ndarray]) -> None:
    n_id = int(d["num_shape_components"])
    expr = d["shapedirs"][:, :, n_id:]
    labels = d["part_labels"]
    back_scalp = (labels == PART_NAMES.index("scalp")) & (d["v_template"][:, 2] < 0)
    for part, mask in [(p, labels == PART_NAMES.index(p)) for p in ("eyes", "ears", "neck")] + [
        ("back of the scalp", back_scalp)
    ]:
        assert np.abs(expr[mask]).max() < 1e-4, part
    peak = np.abs(expr).max(axis=(0, 1))
    assert (peak > 0.002).all() and (peak < 0.02).all()  # each one visible, none absurd


def test_lower_resolution_builds(d: dict[str, np.ndarray]) -> None:
    small = build_builtin(n_rings=40, n_cols=48, with_mediapipe=False)
    assert len(small["v_template"]) < len(d["v_template"])
    assert "lmk478_faces_idx" not in small
    mesh = builtin_mesh(40, 48)
    assert mesh.n_cols == 48 and len(mesh.slit_cols) >= 3
