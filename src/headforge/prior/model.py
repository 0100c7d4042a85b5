"""The head prior: head model + UV sample points + decoder + identity codes, and its renderer.

:class:`HeadPrior` owns the learned parts (decoder, one latent row per training identity) and
precomputed buffers (Gaussian bindings, the UV grid used to rasterise expression offsets). The
head model itself is held but not saved: checkpoints record how to rebuild it
(:class:`PriorSpec`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from headforge.morphable import MorphableHead
from headforge.prior import architectures
from headforge.prior.encoder import EncoderSpec, IdentityEncoder
from headforge.prior.gaussians import Binding, GaussianBatch, place_gaussians
from headforge.prior.network import DecoderSpec, GaussianMaps
from headforge.prior.uv import part_samples, uv_area, uv_grid_samples

HAIR_PARTS = ("scalp",)
"""Parts sampled at the hair density; every other part uses the face density."""
EXPR_OFFSET_SCALE = 0.01
"""Metres per unit of the rasterised expression offset map."""


@dataclass(frozen=True)
class PriorSpec:
    """Everything needed to rebuild a :class:`HeadPrior` (saved in checkpoints)."""

    decoder: DecoderSpec
    """Decoder shape (the spec type of ``architecture``)."""
    subjects: tuple[str, ...]
    """Training identity names, one latent row each."""
    face_density: float = 1.0
    """Gaussians per UV texel outside the scalp."""
    hair_density: float = 2.0
    """Gaussians per UV texel on the scalp."""
    max_offset: float = 0.04
    """Largest Gaussian offset from the surface (metres)."""
    scale_mult: float = 0.7
    """Initial Gaussian size relative to the 3D sample spacing."""
    head_model: Mapping[str, Any] = field(default_factory=dict)
    """Keyword arguments of ``load_head_model`` (source, paths, n_shape, n_expr)."""
    architecture: str = architectures.DEFAULT
    """Decoder architecture name (:mod:`headforge.prior.architectures`)."""
    encoder: EncoderSpec | None = None
    """Identity encoder shape, None for an auto-decoder only prior."""

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["subjects"] = list(self.subjects)
        d["head_model"] = dict(self.head_model)
        return d

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> PriorSpec:
        d = dict(d)
        d.setdefault("architecture", architectures.DEFAULT)  # checkpoints before the registry
        d["decoder"] = architectures.spec_from_dict(d["architecture"], d["decoder"])
        d["subjects"] = tuple(d["subjects"])
        enc = d.get("encoder")
        d["encoder"] = EncoderSpec(**enc) if enc else None
        return PriorSpec(**d)


@dataclass
class PriorOutput:
    """Decoded maps, posed mesh and placed Gaussians of a batch."""

    maps: GaussianMaps
    vertices: Tensor
    """[B, V, 3] posed vertices."""
    gaussians: GaussianBatch


def expression_vector(params: Mapping[str, Tensor]) -> Tensor:
    """[B, E] expression code: expression coefficients, jaw pose, eye poses (the decoder uses
    its first ``expr_dim`` entries)."""
    return torch.cat([params["expr"], params["jaw_pose"], params["eyes_pose"]], dim=-1)


class HeadPrior(nn.Module):
    """UV-space generative Gaussian head model conditioned on identity and expression."""

    faces: Tensor
    b_face: Tensor
    b_bary: Tensor
    b_uv: Tensor
    b_spacing: Tensor
    b_part: Tensor
    b_uv_area: Tensor
    g_face: Tensor
    g_bary: Tensor
    g_texel: Tensor

    def __init__(self, spec: PriorSpec, head: MorphableHead, part_names: tuple[str, ...]) -> None:
        super().__init__()
        self.spec = spec
        self._head = [head]  # a list keeps the head model's buffers out of state_dict
        self.decoder = architectures.build_decoder(spec.architecture, spec.decoder)
        self.encoder = IdentityEncoder(spec.encoder) if spec.encoder is not None else None
        n = max(len(spec.subjects), 1)
        self.latents = nn.Parameter(torch.randn(n, spec.decoder.latent_dim) * 0.01)
        if head.uvs is None or head.uv_faces is None:
            raise ValueError("the head model has no UV layout, which the prior needs: use "
                             "head_model.source: builtin, or a FLAME file with its UV layout")
        faces = np.asarray(head.faces.cpu(), dtype=np.int64)
        uvs = np.asarray(head.uvs.cpu(), dtype=np.float64)
        uv_faces = np.asarray(head.uv_faces.cpu(), dtype=np.int64)
        labels = np.asarray(head.part_labels.cpu(), dtype=np.int64)
        dens = {p: spec.hair_density for p in HAIR_PARTS if p in part_names}
        s = part_samples(uvs, uv_faces, faces, labels, part_names, spec.decoder.uv_res,
                         dens, default_density=spec.face_density)
        self.part_names = part_names
        self.register_buffer("faces", torch.from_numpy(faces), persistent=False)
        self.register_buffer("b_face", torch.from_numpy(s.face_index), persistent=False)
        self.register_buffer("b_bary", torch.from_numpy(s.bary), persistent=False)
        self.register_buffer("b_uv", torch.from_numpy(s.uv), persistent=False)
        self.register_buffer("b_spacing", torch.from_numpy(s.spacing), persistent=False)
        self.register_buffer("b_part", torch.from_numpy(s.part), persistent=False)
        areas = uv_area(uvs, uv_faces).astype(np.float32)
        self.register_buffer("b_uv_area", torch.from_numpy(areas[s.face_index]),
                             persistent=False)
        # UV grid for rasterising per-vertex expression offsets at the map resolution.
        r = spec.decoder.uv_res
        gf, gb, gu = uv_grid_samples(uvs, uv_faces, np.arange(len(faces)), r)
        texel = (np.floor(gu[:, 1] * r) * r + np.floor(gu[:, 0] * r)).astype(np.int64)
        self.register_buffer("g_face", torch.from_numpy(gf), persistent=False)
        self.register_buffer("g_bary", torch.from_numpy(gb), persistent=False)
        self.register_buffer("g_texel", torch.from_numpy(texel), persistent=False)

    @property
    def head(self) -> MorphableHead:
        return self._head[0]

    @property
    def device(self) -> torch.device:
        return self.b_uv.device

    @property
    def n_gaussians(self) -> int:
        return int(self.b_face.shape[0])

    def part_counts(self) -> dict[str, int]:
        return {n: int((self.b_part == i).sum()) for i, n in enumerate(self.part_names)}

    def binding(self) -> Binding:
        return Binding(self.b_face, self.b_bary, self.b_uv, self.b_spacing, self.b_uv_area)

    def mean_latent(self) -> Tensor:
        """[L] mean of the training identity codes (the inversion's starting point)."""
        return self.latents.detach().mean(0)

    def _to(self, t: Tensor) -> Tensor:
        return t.to(self.device, torch.float32)

    def pose(self, params: Mapping[str, Tensor]) -> Tensor:
        """Posed vertices [B, V, 3] from FLAME-format parameters (each [B, D])."""
        p = {k: self._to(v) for k, v in params.items()}
        out = self.head(
            shape=p["shape"], expr=p["expr"], rotation=p["rotation"], neck_pose=p["neck_pose"],
            jaw_pose=p["jaw_pose"], eyes_pose=p["eyes_pose"], translation=p["translation"],
        )
        return out.vertices

    def expression_map(self, params: Mapping[str, Tensor]) -> Tensor:
        """[B, 3, R, R] per-vertex expression displacement (unposed head) rasterised in UV."""
        p = {k: self._to(v) for k, v in params.items()}
        b = p["shape"].shape[0]
        zero = {k: torch.zeros_like(v) for k, v in p.items()}
        both = {
            k: torch.cat([zero[k], zero[k]]) for k in ("rotation", "neck_pose", "translation")
        }
        both["shape"] = torch.cat([p["shape"], p["shape"]])
        for k in ("expr", "jaw_pose", "eyes_pose"):
            both[k] = torch.cat([p[k], zero[k]])
        v = self.head(**both).vertices
        d = (v[:b] - v[b:]) / EXPR_OFFSET_SCALE  # [B,V,3]
        tri = d[:, self.faces[self.g_face]]  # [B,G,3,3]
        val = (self.g_bary.unsqueeze(-1) * tri).sum(-2)  # [B,G,3]
        r = self.spec.decoder.uv_res
        out = torch.zeros(b, r * r, 3, device=d.device, dtype=d.dtype)
        out[:, self.g_texel] = val
        return out.view(b, r, r, 3).permute(0, 3, 1, 2)

    def encode(self, encoder_input: Tensor, encoder: nn.Module | None = None) -> Tensor:
        """Identity codes [B, L] from encoder inputs [B, 7, R, R]
        (:meth:`headforge.prior.appearance.PhotoAppearance.encoder_input`); the mean training
        code for a prior without an encoder."""
        enc = encoder if encoder is not None else self.encoder
        if enc is None:
            return self.mean_latent().expand(encoder_input.shape[0], -1).clone()
        out: Tensor = enc(encoder_input.to(self.device))
        return out

    def forward(self, z: Tensor, params: Mapping[str, Tensor],
                decoder: nn.Module | None = None,
                photo: tuple[Tensor, Tensor] | None = None) -> PriorOutput:
        """Decode identity codes z [B, L] under per-item parameters into placed Gaussians.

        ``decoder`` replaces the prior's decoder (inversion fine-tunes a copy); ``photo`` is
        the (colour [B|1, N, 3], confidence [B|1, N, 1]) unprojected from the subject's photos
        (:func:`headforge.prior.appearance.unproject`) for the appearance skip path.
        """
        dec = decoder if decoder is not None else self.decoder
        p = {k: self._to(v) for k, v in params.items()}
        maps = dec(z, expression_vector(p), self.expression_map(p))
        verts = self.pose(p)
        g = place_gaussians(maps, verts, self.faces, self.binding(), self.spec.max_offset,
                            self.spec.scale_mult, photo=photo)
        return PriorOutput(maps=maps, vertices=verts, gaussians=g)

    def decode(self, z: Tensor, params: Mapping[str, Tensor],
               photo: tuple[Tensor, Tensor] | None = None) -> GaussianBatch:
        """The public decode call: placed Gaussians [B, N] for codes z [B, L] (or [L]) under
        expression/pose parameters [B, D] (``photo`` as in :meth:`forward`)."""
        b = next(iter(params.values())).shape[0]
        z = z.view(1, -1).expand(b, -1) if z.dim() == 1 else z
        return self(z, params, photo=photo).gaussians
