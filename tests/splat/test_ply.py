"""3DGS PLY: exact round trip, standard layout, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from headforge.splat.gaussians import GaussianParams
from headforge.splat.ply import PlyFormatError, property_names, read_ply, write_ply


def _params(n: int, degree: int, seed: int = 0) -> GaussianParams:
    g = torch.Generator().manual_seed(seed)
    K = (degree + 1) ** 2
    return GaussianParams(
        means=torch.randn(n, 3, generator=g),
        quats=torch.randn(n, 4, generator=g),
        log_scales=torch.randn(n, 3, generator=g) - 3,
        logit_opacities=torch.randn(n, generator=g),
        sh=torch.randn(n, K, 3, generator=g),
    )


@pytest.mark.parametrize("degree", [0, 1, 3])
def test_round_trip_is_exact(tmp_path, degree):
    p = _params(57, degree)
    path = write_ply(tmp_path / "a.ply", p)
    q = read_ply(path)
    for a, b in zip(p.tensors(), q.tensors(), strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert torch.equal(a, b)


def test_layout_matches_3dgs(tmp_path):
    p = _params(3, 1)
    path = write_ply(tmp_path / "a.ply", p)
    raw = path.read_bytes()
    header, body = raw.split(b"end_header\n", 1)
    lines = header.decode().splitlines()
    assert lines[:3] == ["ply", "format binary_little_endian 1.0", "element vertex 3"]
    names = [ln.split()[-1] for ln in lines if ln.startswith("property")]
    assert names == property_names(1)
    assert names[6:9] == ["f_dc_0", "f_dc_1", "f_dc_2"] and names[-4:] == [
        "rot_0", "rot_1", "rot_2", "rot_3"]  # fmt: skip
    rows = np.frombuffer(body, dtype="<f4").reshape(3, len(names))
    # f_rest is channel-major: the 3 degree-1 coefficients of red come first.
    np.testing.assert_array_equal(rows[:, 9:12], p.sh[:, 1:, 0].numpy())
    np.testing.assert_array_equal(rows[:, names.index("opacity")], p.logit_opacities.numpy())


def test_reads_big_endian_doubles_and_extra_properties(tmp_path):
    p = _params(4, 0)
    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1",
             "scale_2", "rot_0", "rot_1", "rot_2", "rot_3", "red"]  # fmt: skip
    data = np.concatenate(
        [p.means, p.sh[:, 0], p.logit_opacities[:, None], p.log_scales, p.quats,
         torch.zeros(4, 1)], axis=1).astype(">f8")  # fmt: skip
    header = "ply\nformat binary_big_endian 1.0\ncomment made by a test\nelement vertex 4\n"
    header += "".join(f"property double {n}\n" for n in names) + "end_header\n"
    path = tmp_path / "b.ply"
    path.write_bytes(header.encode() + data.tobytes())
    q = read_ply(path)
    torch.testing.assert_close(q.means, p.means)
    torch.testing.assert_close(q.sh, p.sh)


def test_errors_name_the_problem(tmp_path):
    bad = tmp_path / "ascii.ply"
    bad.write_bytes(b"ply\nformat ascii 1.0\nelement vertex 0\nproperty float x\nend_header\n")
    with pytest.raises(PlyFormatError, match="binary_little_endian"):
        read_ply(bad)
    mesh = tmp_path / "mesh.ply"
    mesh.write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\n"
                     b"property float y\nproperty float z\nend_header\n" + bytes(12))
    with pytest.raises(PlyFormatError, match="missing properties"):
        read_ply(mesh)
    with pytest.raises(FileNotFoundError):
        read_ply(tmp_path / "nope.ply")
