"""Rig of the built-in head: joints (as a regressor), skinning weights and pose correctives.

Joint order and tree are FLAME's: 0 global (root, base of the neck), 1 neck, 2 jaw,
3 left eye (+x), 4 right eye (-x); parents [-1, 0, 1, 1, 1].
"""

from __future__ import annotations

import numpy as np

from headforge.morphable import builtin_shape as bs
from headforge.morphable.builtin_mesh import (
    REGION_EYE_L,
    REGION_EYE_R,
    REGION_MOUTH,
    HeadMesh,
)

N_JOINTS = 5
KINTREE = np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], dtype=np.int64)


def _mirror_pair(mesh: HeadMesh, ring: int, az: float) -> tuple[int, int]:
    col_az = bs.column_azimuths(mesh.n_cols)
    c = int(np.argmin(np.abs(col_az - az)))
    return mesh.skin_index(ring, c), mesh.skin_index(ring, mesh.n_cols - 1 - c)


def _ring_nearest(mesh: HeadMesh, col: int, y: float) -> int:
    ys = np.array([mesh.vertices[mesh.skin_index(r, col), 1] for r in range(1, mesh.n_rings + 1)])
    return int(np.argmin(np.abs(ys - y))) + 1


def joint_regressor(mesh: HeadMesh) -> np.ndarray:
    """J_regressor [5, V]: each joint an average of vertices, so it follows identity shape."""
    n_v = len(mesh.vertices)
    reg = np.zeros((N_JOINTS, n_v))
    bottom = [mesh.skin_index(mesh.n_rings, c) for c in range(mesh.n_cols)]
    reg[0, bottom] = 1.0 / len(bottom)
    side_col = int(np.argmin(np.abs(bs.column_azimuths(mesh.n_cols) - np.pi / 2)))
    for j, (y, az) in ((1, (-0.05, np.pi / 2)), (2, (0.004, np.radians(84.0)))):
        a, b = _mirror_pair(mesh, _ring_nearest(mesh, side_col, y), az)
        reg[j, [a, b]] = 0.5
    for j, region in ((3, REGION_EYE_L), (4, REGION_EYE_R)):
        idx = np.nonzero(mesh.region == region)[0]
        reg[j, idx] = 1.0 / len(idx)
    return reg


def skinning_weights(mesh: HeadMesh) -> np.ndarray:
    """LBS weights [V, 5], rows summing to 1."""
    v = mesh.vertices
    x, y = v[:, 0], v[:, 1]
    root = bs.smoothstep(y, -0.12, -0.175)
    front = bs.smoothstep(np.abs(mesh.az), 1.55, 1.0)
    below_mouth = bs.smoothstep(y, mesh.mouth_y + 0.004, mesh.mouth_y - 0.016)
    lips = bs.smoothstep(np.abs(x), 0.040, 0.022) * mesh.lower_mouth
    jaw = np.maximum(below_mouth, lips) * front
    jaw *= bs.smoothstep(mesh.vparam, 0.78, 0.50)  # fades out down the throat
    mouth = mesh.region == REGION_MOUTH
    jaw = np.where(mouth, np.where(mesh.lower_mouth, lips, 0.0), jaw)
    w = np.zeros((len(v), N_JOINTS))
    w[:, 0] = root
    w[:, 1] = (1.0 - root) * (1.0 - jaw)
    w[:, 2] = (1.0 - root) * jaw
    for j, region in ((3, REGION_EYE_L), (4, REGION_EYE_R)):
        eye = mesh.region == region
        w[eye] = 0.0
        w[eye, j] = 1.0
    return w


def pose_correctives(mesh: HeadMesh) -> np.ndarray:
    """posedirs [V, 3, 36]: hand-made correctives for neck flexion and jaw opening.

    Features are ``R_j - I`` of joints 1..4 (9 each, row-major). Flexing the neck (rotation
    about +x, chin down) makes ``(R - I)[2, 1] = sin(angle)`` positive: the skin under the chin
    bunches forward and down. Opening the jaw the same way draws the cheeks in, thins the
    lower lip and keeps the throat from folding. Other entries are zero.
    """
    v = mesh.vertices
    x, y, z = v[:, 0], v[:, 1], v[:, 2]
    skin = (mesh.region == 0) | (mesh.region == REGION_MOUTH)
    pd = np.zeros((len(v), 3, 36))
    under_chin = bs.gauss(y, -0.104, 0.014) * bs.smoothstep(z, 0.0, 0.04) * bs.gauss(x, 0.0, 0.04)
    pd[:, 1, 0 * 9 + 7] = -0.010 * under_chin * skin
    pd[:, 2, 0 * 9 + 7] = 0.016 * under_chin * skin
    cheeks = (bs.gauss(np.abs(x), 0.046, 0.012) * bs.gauss(y, mesh.mouth_y + 0.01, 0.016)
              * bs.smoothstep(z, 0.03, 0.06) * bs.smoothstep(y, mesh.mouth_y + 0.03,
                                                                mesh.mouth_y + 0.012)) * skin
    pd[:, 0, 1 * 9 + 7] = -np.sign(x) * 0.012 * cheeks
    pd[:, 2, 1 * 9 + 7] = -0.006 * cheeks
    # Opening the jaw pulls the under-chin back into the throat; push the throat skin forward.
    throat = bs.gauss(y, -0.11, 0.016) * bs.smoothstep(z, -0.01, 0.035) * bs.gauss(x, 0.0, 0.035)
    pd[:, 2, 1 * 9 + 7] += 0.03 * throat * skin
    pd[:, 1, 1 * 9 + 7] -= 0.01 * throat * skin
    lower_lip = bs.lip_width(x) * bs.gauss(y, mesh.mouth_y - 0.006, 0.005) * mesh.lower_mouth
    lower_lip *= bs.smoothstep(z, 0.03, 0.06)
    pd[:, 2, 1 * 9 + 7] -= 0.008 * lower_lip * skin
    return pd
