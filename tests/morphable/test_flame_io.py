"""FLAME file I/O: bit-exact round trips, restricted unpickling, one clear error per problem."""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse

from headforge.morphable import MorphableHead
from headforge.morphable.builtin import build_builtin
from headforge.morphable.io import (
    FlameFileError,
    load_flame,
    load_landmark_embedding,
    safe_unpickle,
    save_flame,
)


def _tiny_flame(n_v: int = 12, n_shape: int = 400) -> dict[str, object]:
    """A FLAME-2020-shaped dict (300 + 100 blend shapes) on a toy mesh, as FLAME pickles it."""
    rng = np.random.default_rng(0)
    w = rng.random((n_v, 5))
    return {
        "f": np.array([[0, 1, 2], [2, 3, 4], [5, 6, 7]], dtype=np.uint32),
        "v_template": rng.normal(size=(n_v, 3)) * 0.05,
        "shapedirs": rng.normal(size=(n_v, 3, n_shape)) * 1e-3,
        "posedirs": rng.normal(size=(n_v, 3, 36)) * 1e-3,
        "J_regressor": scipy.sparse.csc_matrix(np.eye(5, n_v)),
        "weights": w / w.sum(1, keepdims=True),
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.uint32),
        "J": np.zeros((5, 3)),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }


@pytest.mark.parametrize("suffix", [".pkl", ".npz"])
def test_builtin_round_trips_bit_exactly(tmp_path: Path, suffix: str) -> None:
    d = build_builtin()
    path = save_flame(tmp_path / f"builtin{suffix}", d)
    back = load_flame(path)
    assert sorted(back) == sorted(d)
    for k, v in d.items():
        assert back[k].dtype == v.dtype, k
        assert back[k].shape == v.shape, k
        assert back[k].tobytes() == v.tobytes(), k


def test_flame_2020_layout_with_sparse_regressor_loads(tmp_path: Path) -> None:
    src = _tiny_flame()
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(pickle.dumps(src, protocol=2))
    d = load_flame(path)
    np.testing.assert_array_equal(d["J_regressor"], np.eye(5, 12))
    assert str(d["bs_style"]) == "lbs"
    m = MorphableHead(d, n_shape=300, n_expr=100)
    assert m.n_shape == 300 and m.n_expr == 100
    assert m().vertices.shape == (1, 12, 3)
    with pytest.raises(ValueError, match="300 identity and 100 expression"):
        MorphableHead(d, n_shape=301)


def test_foreign_global_is_refused_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "generic_model.pkl"
    path.write_bytes(pickle.dumps({"f": Evil()}, protocol=2))
    with pytest.raises(FlameFileError, match=r"refusing to unpickle global (posix|os|nt)\.system"):
        load_flame(path)
    assert not marker.exists()
    with pytest.raises(FlameFileError, match="builtins.eval"):
        safe_unpickle(b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.")


def test_chumpy_arrays_are_refused_with_conversion_advice(tmp_path: Path) -> None:
    path = tmp_path / "generic_model.pkl"
    # {"shapedirs": chumpy.ch.Ch()} as protocol 2 opcodes (chumpy itself is not installed).
    path.write_bytes(b"\x80\x02}X\t\x00\x00\x00shapedirscchumpy.ch\nCh\n)\x81s.")
    with pytest.raises(FlameFileError, match="chumpy.*Convert the file"):
        load_flame(path)


def test_truncated_files_are_reported(tmp_path: Path) -> None:
    d = build_builtin(n_rings=32, n_cols=32, with_mediapipe=False)
    for suffix in (".pkl", ".npz"):
        full = save_flame(tmp_path / f"full{suffix}", d).read_bytes()
        cut = tmp_path / f"cut{suffix}"
        cut.write_bytes(full[: len(full) // 2])
        with pytest.raises(FlameFileError, match="truncated") as e:
            load_flame(cut)
        assert "generic_model.pkl" in str(e.value)


def test_wrong_keys_and_shapes_give_one_error_naming_the_keys(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"v_template": np.zeros((4, 3)), "foo": np.zeros(2)}))
    with pytest.raises(FlameFileError) as e:
        load_flame(path)
    msg = str(e.value)
    assert "missing key(s)" in msg and "'shapedirs'" in msg and "unexpected key(s) ['foo']" in msg
    assert "flame2023.pkl" in msg
    bad = _tiny_flame()
    bad["weights"] = np.zeros((11, 5))
    path.write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(FlameFileError, match=r"weights has shape \[11, 5\]"):
        load_flame(path)
    path.write_bytes(pickle.dumps([1, 2, 3], protocol=2))
    with pytest.raises(FlameFileError, match="holds a list, not a dict"):
        load_flame(path)


def test_missing_path_names_the_expected_files(tmp_path: Path) -> None:
    for p in (tmp_path / "nope" / "generic_model.pkl", ""):
        with pytest.raises(FlameFileError, match="not found.*generic_model.pkl.*flame2023.pkl"):
            load_flame(p)


def test_landmark_embeddings_in_their_published_layouts(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    deca = {
        "full_lmk_faces_idx": rng.integers(0, 3, size=(1, 68)),
        "full_lmk_bary_coords": np.full((1, 68, 3), 1 / 3),
        "static_lmk_faces_idx": rng.integers(0, 3, size=51),
    }
    npy = tmp_path / "landmark_embedding.npy"
    np.save(npy, np.array(deca, dtype=object), allow_pickle=True)
    out = load_landmark_embedding(npy, n_faces=3)
    assert out["lmk68_faces_idx"].shape == (68,) and out["lmk68_bary_coords"].shape == (68, 3)
    mp = tmp_path / "mediapipe_landmark_embedding.npz"
    np.savez(mp, lmk_face_idx=np.array([0, 1, 2]), lmk_b_coords=np.full((3, 3), 1 / 3),
             landmark_indices=np.array([1, 4, 33]))
    src = _tiny_flame()
    model_path = tmp_path / "generic_model.pkl"
    model_path.write_bytes(pickle.dumps(src, protocol=2))
    d = load_flame(model_path, landmark_embedding_path=mp)
    m = MorphableHead(d, n_shape=10, n_expr=10)
    lm = m().landmarks478
    assert lm is not None and lm.shape == (1, 478, 3)
    assert int(m.lmk478_valid.sum()) == 3 and float(lm[0, 0].abs().sum()) == 0.0
    with pytest.raises(FlameFileError, match="does not fit this model"):
        load_landmark_embedding(npy, n_faces=1)
    # An object .npy carrying a foreign global is refused like a .pkl.
    evil = io.BytesIO()
    np.lib.format.write_array_header_1_0(evil, {"descr": "|O", "fortran_order": False,
                                                "shape": ()})
    evil.write(b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00true\x85R.")
    bad = tmp_path / "evil.npy"
    bad.write_bytes(evil.getvalue())
    with pytest.raises(FlameFileError, match="posix.system"):
        load_landmark_embedding(bad)


def test_npz_never_unpickles(tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w") as z:
        payload = io.BytesIO()
        np.lib.format.write_array_header_1_0(payload, {"descr": "|O", "fortran_order": False,
                                                       "shape": ()})
        z.writestr("f.npy", payload.getvalue() + b"\x80\x02cos\nsystem\nX\x01\x00\x00\x00:\x85R.")
    with pytest.raises(FlameFileError, match="os.system"):
        load_flame(path)
