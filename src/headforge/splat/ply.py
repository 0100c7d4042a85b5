"""Read and write the standard 3DGS PLY layout (numpy only).

One ``vertex`` element, binary little endian, float32 properties in this order::

    x y z  nx ny nz  f_dc_0..2  f_rest_0..f_rest_{3(K-1)-1}  opacity  scale_0..2  rot_0..3

Values are raw (pre-activation) as in the original 3DGS code: log-scales, logit opacity,
unnormalised quaternions (wxyz), SH coefficients. ``f_rest`` is channel-major: the K-1
higher-order coefficients of red, then green, then blue. Files written here open in common
3DGS viewers; reading accepts any property order, float/double/int types and either
endianness, and ignores extra properties.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import torch

from headforge.io_utils import atomic_path
from headforge.splat.gaussians import GaussianParams
from headforge.splat.projection import sh_degree_from_bases

_PLY_TYPES = {
    "char": "i1", "int8": "i1", "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4", "double": "f8", "float64": "f8",
}  # fmt: skip


class PlyFormatError(ValueError):
    """The file is not a 3DGS PLY this reader understands; the message says what is wrong."""


def property_names(sh_degree: int) -> list[str]:
    """3DGS property names, in file order, for an SH degree."""
    n_rest = 3 * ((sh_degree + 1) ** 2 - 1)
    return (
        ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
        + [f"f_rest_{i}" for i in range(n_rest)]
        + ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    )


def to_array(params: GaussianParams) -> np.ndarray:
    """[N, P] float32 rows in 3DGS property order."""
    def np32(t: torch.Tensor) -> np.ndarray:
        return t.detach().to("cpu", torch.float32).numpy()

    N = params.n
    sh = np32(params.sh)  # [N, K, 3]
    rest = sh[:, 1:, :].transpose(0, 2, 1).reshape(N, -1)  # channel-major
    cols = [
        np32(params.means),
        np.zeros((N, 3), np.float32),
        sh[:, 0, :],
        rest,
        np32(params.logit_opacities)[:, None],
        np32(params.log_scales),
        np32(params.quats),
    ]
    return np.ascontiguousarray(np.concatenate(cols, axis=1), dtype=np.float32)


def write_ply(path: str | os.PathLike[str], params: GaussianParams) -> Path:
    """Write ``params`` as a binary little-endian 3DGS PLY (atomically)."""
    names = property_names(params.sh_degree)
    data = to_array(params).astype("<f4")
    header = "\n".join(
        ["ply", "format binary_little_endian 1.0", f"element vertex {params.n}"]
        + [f"property float {n}" for n in names]
        + ["end_header"]
    ) + "\n"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(header.encode("ascii"))
        f.write(data.tobytes())
    return Path(path)


def _parse_header(f) -> tuple[str, int, list[tuple[str, str]], list[tuple[str, int, list]]]:
    first = f.readline()
    if first.strip() != b"ply":
        raise PlyFormatError("not a PLY file (missing 'ply' magic line)")
    fmt = ""
    elements: list[tuple[str, int, list]] = []
    while True:
        raw = f.readline()
        if not raw:
            raise PlyFormatError("PLY header has no end_header line")
        line = raw.decode("ascii", errors="replace").strip()
        if line == "end_header":
            break
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        if parts[0] == "format":
            fmt = parts[1]
        elif parts[0] == "element":
            elements.append((parts[1], int(parts[2]), []))
        elif parts[0] == "property":
            if not elements:
                raise PlyFormatError("PLY property before any element")
            if parts[1] == "list":
                raise PlyFormatError(
                    f"list property {parts[-1]!r} in element {elements[-1][0]!r}: a 3DGS PLY "
                    "holds only a vertex element of scalar properties"
                )
            if parts[1] not in _PLY_TYPES:
                raise PlyFormatError(f"unknown PLY property type {parts[1]!r}")
            elements[-1][2].append((parts[2], _PLY_TYPES[parts[1]]))
    vertex = [e for e in elements if e[0] == "vertex"]
    if not vertex:
        raise PlyFormatError("PLY has no 'vertex' element")
    return fmt, vertex[0][1], vertex[0][2], elements


def read_ply(path: str | os.PathLike[str], dtype: torch.dtype = torch.float32) -> GaussianParams:
    """Read a 3DGS PLY into raw :class:`GaussianParams` (CPU tensors)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"PLY not found: {path}")
    with open(path, "rb") as f:
        fmt, n, props, elements = _parse_header(f)
        if fmt not in ("binary_little_endian", "binary_big_endian"):
            raise PlyFormatError(
                f"{path}: PLY format {fmt!r} is not supported; re-save it as "
                "binary_little_endian (the 3DGS layout)"
            )
        if elements[0][0] != "vertex":
            raise PlyFormatError(f"{path}: the vertex element must come first")
        endian = "<" if fmt == "binary_little_endian" else ">"
        dt = np.dtype([(name, endian + t) for name, t in props])
        arr = np.fromfile(f, dtype=dt, count=n)
    if arr.shape[0] != n:
        raise PlyFormatError(f"{path}: header says {n} vertices, file holds {arr.shape[0]}")
    names = {name for name, _ in props}
    rest = sorted((p for p in names if re.fullmatch(r"f_rest_\d+", p)),
                  key=lambda p: int(p.rsplit("_", 1)[1]))  # fmt: skip
    if len(rest) % 3:
        raise PlyFormatError(f"{path}: {len(rest)} f_rest_* properties is not a multiple of 3")
    degree = sh_degree_from_bases(1 + len(rest) // 3)
    needed = [p for p in property_names(degree) if p not in ("nx", "ny", "nz")]
    missing = [p for p in needed if p not in names]
    if missing:
        raise PlyFormatError(f"{path}: not a 3DGS PLY, missing properties {missing}")

    def cols(keys: list[str]) -> torch.Tensor:
        block = np.stack([arr[k].astype(np.float64) for k in keys], axis=1) if keys else (
            np.zeros((n, 0))
        )
        return torch.from_numpy(block).to(dtype)

    K = (degree + 1) ** 2
    dc = cols(["f_dc_0", "f_dc_1", "f_dc_2"])[:, None, :]
    higher = cols(rest).reshape(n, 3, K - 1).transpose(1, 2)
    return GaussianParams(
        means=cols(["x", "y", "z"]),
        quats=cols(["rot_0", "rot_1", "rot_2", "rot_3"]),
        log_scales=cols(["scale_0", "scale_1", "scale_2"]),
        logit_opacities=cols(["opacity"])[:, 0],
        sh=torch.cat([dc, higher], dim=1).contiguous(),
    )
