"""From raw UV maps to world-space Gaussians on the posed mesh.

Each Gaussian is bound to one triangle at fixed barycentrics (its UV sample point). The maps
give, per Gaussian, an offset and a rotation in the triangle's local frame, a log scale
relative to the local sample spacing, an opacity logit and a colour. Activations happen here,
at the renderer call (STYLE.md section 6):

* position = surface point + R_tri @ (tanh(offset) * max_offset); the triangle frames and
  the binding maths are :mod:`headforge.splat.gaussians`
* rotation = q_tri * normalize(q_local)
* scale = exp(log_scale) * spacing_3d * scale_mult, where spacing_3d is the UV sample spacing
  mapped to 3D by the posed triangle's area ratio, so Gaussians stretch with the skin
* opacity = sigmoid(logit); colour = sigmoid(logit) for SH degree 0, SH coefficients otherwise
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from headforge.prior.layout import ChannelLayout
from headforge.prior.network import GaussianMaps, sample_maps


@dataclass
class GaussianBatch:
    """Activated Gaussians for B heads, N each."""

    means: Tensor
    """[B, N, 3] world positions (metres)."""
    quats: Tensor
    """[B, N, 4] unit quaternions, wxyz."""
    scales: Tensor
    """[B, N, 3] standard deviations (metres)."""
    opacities: Tensor
    """[B, N] in (0, 1)."""
    colors: Tensor
    """[B, N, 3] RGB in (0, 1), or [B, N, K, 3] SH coefficients."""
    offsets: Tensor
    """[B, N, 3] local offsets in metres (for regularisers)."""
    log_scales: Tensor
    """[B, N, 3] raw log scales relative to the spacing (for regularisers)."""

    def item(self, i: int) -> GaussianBatch:
        """The i-th head as a batch of one."""
        s = slice(i, i + 1)
        return GaussianBatch(self.means[s], self.quats[s], self.scales[s], self.opacities[s],
                             self.colors[s], self.offsets[s], self.log_scales[s])


@dataclass(frozen=True)
class Binding:
    """Where the N Gaussians sit, as tensors on the model's device."""

    face_index: Tensor
    """[N] int64 triangle ids."""
    bary: Tensor
    """[N, 3] barycentrics."""
    uv: Tensor
    """[N, 2] UV points where the maps are sampled."""
    spacing_uv: Tensor
    """[N] UV grid spacing of each sample."""
    uv_area: Tensor
    """[N] UV area of each sample's triangle."""


def place_gaussians(
    maps: GaussianMaps,
    verts: Tensor,
    faces: Tensor,
    binding: Binding,
    max_offset: float,
    scale_mult: float = 0.7,
    photo: tuple[Tensor, Tensor] | None = None,
) -> GaussianBatch:
    """Sample raw maps [B, C, R, R] at the binding's UV points and place them on the posed
    mesh (verts [B, V, 3], faces [F, 3]).

    ``photo`` = (colour [B, N, 3] in [0, 1], confidence [B, N, 1]) per Gaussian, unprojected
    from the subject's photos (:mod:`headforge.prior.appearance`): the appearance skip path
    blends it into the colour channels (:func:`blend_photo_colour`)."""
    raw = sample_maps(maps.stacked(), binding.uv)  # [B,N,C]
    if photo is not None:
        res = None if maps.color_residual is None else sample_maps(maps.color_residual,
                                                                   binding.uv)
        raw = blend_photo_colour(raw, photo[0], photo[1], res)
    return activate_on_mesh(raw, verts, faces, binding, max_offset, scale_mult)


def blend_photo_colour(raw: Tensor, photo: Tensor, conf: Tensor, residual: Tensor | None
                       ) -> Tensor:
    """Raw parameters [B, N, C] whose colour is ``conf * photo + (1 - conf) * decoder colour``
    (in colour space, back to a logit) plus ``conf * residual`` (a learned correction of the
    photos' lighting); plain RGB layouts only."""
    layout = ChannelLayout(0)
    if raw.shape[-1] != layout.channels:
        raise ValueError("the appearance skip path needs plain RGB colours: set "
                         "train_prior.sh_degree: 0")
    sl = layout.slices()["color"]
    b = raw.shape[0]
    photo, conf = photo.expand(b, -1, -1), conf.expand(b, -1, -1)
    mixed = conf * photo + (1.0 - conf) * torch.sigmoid(raw[..., sl])
    logit = torch.logit(mixed.clamp(1e-4, 1.0 - 1e-4))
    if residual is not None:
        logit = logit + conf * residual
    return torch.cat([raw[..., :sl.start], logit, raw[..., sl.stop:]], dim=-1)


def activate_on_mesh(
    raw: Tensor,
    verts: Tensor,
    faces: Tensor,
    binding: Binding,
    max_offset: float,
    scale_mult: float = 0.7,
) -> GaussianBatch:
    """Activate per-Gaussian raw parameters [B, N, C] (channel order of
    :class:`headforge.prior.layout.ChannelLayout`) and put them on the posed mesh verts
    [B, V, 3]."""
    from headforge.splat.gaussians import bind_to_triangles, triangle_frames

    layout = ChannelLayout.for_channels(raw.shape[-1])
    k = layout.color_coeffs
    parts = layout.split(raw)
    off_raw, rot_raw, sc_raw = parts["offset"], parts["rotation"], parts["scale"]
    op_raw, col_raw = parts["opacity"], parts["color"]
    frames = triangle_frames(verts, faces)
    s_f = frames.scale[:, binding.face_index].unsqueeze(-1)  # [B,N,1] triangle size (m)
    area = 0.5 * torch.linalg.cross(
        frames.corners[:, binding.face_index, 1] - frames.corners[:, binding.face_index, 0],
        frames.corners[:, binding.face_index, 2] - frames.corners[:, binding.face_index, 0],
    ).norm(dim=-1)  # [B,N]
    # clamp inside the sqrt: degenerate (zero-area) triangles must not give inf gradients
    ratio = (area / binding.uv_area.clamp_min(1e-12)).clamp_min(1e-12)
    spacing3d = binding.spacing_uv * torch.sqrt(ratio)
    offsets = torch.tanh(off_raw) * max_offset  # metres, local frame
    log_rel = torch.log((spacing3d * scale_mult).unsqueeze(-1) / s_f.clamp_min(1e-9))
    bound = bind_to_triangles(binding.face_index, binding.bary, offsets / s_f.clamp_min(1e-9),
                              rot_raw, sc_raw + log_rel, frames)
    opac = torch.sigmoid(op_raw.squeeze(-1))
    if k == 1:
        colors = torch.sigmoid(col_raw)
    else:
        colors = col_raw.view(*col_raw.shape[:-1], 3, k).transpose(-1, -2)  # [B,N,K,3]
    return GaussianBatch(means=bound.means, quats=bound.quats, scales=bound.scales,
                         opacities=opac, colors=colors, offsets=offsets, log_scales=sc_raw)
