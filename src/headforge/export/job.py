"""What every export format is handed: a baked avatar, its default camera and an animation.

:func:`prepare` loads a bundle on its prior, bakes it (or reuses ``baked.npz`` when the
bundle's decoder and code are unchanged), measures the bake's fidelity and records both in the
bundle's ``card.json`` under ``bake``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from headforge.export.bake import BakedAvatar, bake, baked_gaussians, fidelity
from headforge.export.package import ViewCamera
from headforge.io_utils import atomic_path, sha256_file
from headforge.prior.data import PARAM_KEYS

BAKED_FILE = "baked.npz"
FIDELITY_HEIGHT = 256
"""Picture height (px) at which the bake's fidelity is measured."""


@dataclass
class ExportJob:
    """A baked avatar and what to play on it."""

    baked: BakedAvatar
    camera: ViewCamera
    """The default view: the bundle's first input camera."""
    names: list[str]
    """Frame labels of the animation."""
    sequence: dict[str, Tensor]
    """FLAME-format parameters [T, D] per frame."""
    fps: float
    card: dict[str, Any]
    """The bundle's card (with the bake's record)."""
    static_frame: int | None = None
    """Frame of the animation that static formats (``ply``) show; None: neutral."""

    def frame(self, i: int) -> dict[str, Tensor]:
        """Parameters [1, D] of frame ``i``."""
        return {k: v[i:i + 1] for k, v in self.sequence.items()}

    def static(self) -> dict[str, Tensor]:
        """Parameters [1, D] of the static export: ``static_frame`` or the neutral face."""
        if self.static_frame is None:
            return self.neutral()
        t = len(self.names)
        if not -t <= self.static_frame < t:
            raise ValueError(f"--frame {self.static_frame} is outside the animation's {t} "
                             "frames")
        return self.frame(self.static_frame % t)

    def neutral(self) -> dict[str, Tensor]:
        """Zero expression and pose [1, D]."""
        return {k: torch.zeros(1, v.shape[-1]) for k, v in self.sequence.items()}


def demo_sequence(like: Mapping[str, Tensor], frames: int = 48) -> dict[str, Tensor]:
    """A loop for a bundle exported without a tracked sequence: the jaw opens and closes twice,
    the first expression coefficient swings, the head turns a little ([T, D] each)."""
    t = torch.arange(frames, dtype=torch.float32) / frames * 2 * math.pi
    out = {k: torch.zeros(frames, v.shape[-1]) for k, v in like.items()}
    out["jaw_pose"][:, 0] = 0.15 * (1 - torch.cos(2 * t))
    out["expr"][:, 0] = 1.5 * torch.sin(t)
    out["rotation"][:, 1] = 0.25 * torch.sin(t)
    return out


def _digest(bundle: Path) -> str:
    return ":".join(sha256_file(bundle / n)[:16] for n in ("decoder.pt", "latent.pt"))


def bundle_camera(inputs: Mapping[str, np.ndarray], card: Mapping[str, Any]) -> ViewCamera:
    h, w = card["resolution"]
    return ViewCamera(np.asarray(inputs["K"][0], np.float64),
                      np.asarray(inputs["w2c"][0], np.float64), int(w), int(h))


def load_or_bake(bundle_dir: Path, avatar: Any, like: Mapping[str, Tensor],
                 camera: ViewCamera, samples: int = 0) -> BakedAvatar:
    """The bundle's bake: ``baked.npz`` when it matches the bundle's weights, else a new bake
    (saved there, with its fidelity written into ``card.json``)."""
    path = bundle_dir / BAKED_FILE
    digest = _digest(bundle_dir)
    if path.is_file():
        baked = BakedAvatar.load(path)
        if baked.info.get("bundle_digest") == digest and "fidelity" in baked.info:
            return baked
    baked = bake(avatar, like, samples=samples)
    # scored at FIDELITY_HEIGHT px whatever the inputs' size (tiny profiles invert at 32 px)
    view = camera.scaled(round(FIDELITY_HEIGHT * camera.width / camera.height), FIDELITY_HEIGHT)
    K, w2c = view.tensors()
    dev = avatar.shape.device
    fid = fidelity(avatar, baked, like, K.to(dev), w2c.to(dev), (view.height, view.width))
    baked.info.update({"bundle_digest": digest, "fidelity": fid})
    baked.save(path)
    card_path = bundle_dir / "card.json"
    card = json.loads(card_path.read_text())
    card["bake"] = {k: v for k, v in baked.info.items() if k != "bundle_digest"}
    with atomic_path(card_path) as tmp:
        tmp.write_text(json.dumps(card, indent=2))
    return baked


def prepare(bundle_dir: Path, prior: Any, params_dir: Path | None = None, fps: float = 25.0,
            samples: int = 0) -> ExportJob:
    """Load the bundle on ``prior`` (a :class:`headforge.prior.model.HeadPrior`), bake it and
    attach the animation: a tracked sequence folder of ``.npz`` files, or a demo loop."""
    from headforge.invert.bundle import load_bundle, load_sequence

    bundle_dir = Path(bundle_dir)
    lb = load_bundle(bundle_dir, prior)
    like = {k: torch.from_numpy(lb.inputs[k][:1]).float() for k in PARAM_KEYS}
    camera = bundle_camera(lb.inputs, lb.card)
    baked = load_or_bake(bundle_dir, lb.avatar, like, camera, samples)
    if params_dir is not None:
        names, seq = load_sequence(params_dir)
        seq = {k: v.float() for k, v in seq.items()}
    else:
        seq = demo_sequence(like)
        names = [f"demo_{i:03d}" for i in range(seq["expr"].shape[0])]
    card = json.loads((bundle_dir / "card.json").read_text())
    return ExportJob(baked=baked, camera=camera, names=names, sequence=seq, fps=fps, card=card)


def render_baked(baked: BakedAvatar, params: Mapping[str, Tensor], camera: ViewCamera,
                 background: float = 0.0) -> np.ndarray:
    """headforge's own render of the baked avatar: [H, W, 3] uint8."""
    from headforge.invert.bundle import to_uint8
    from headforge.prior.render import render_head

    K, w2c = camera.tensors()
    with torch.no_grad():
        g = baked_gaussians(baked, params)
        bg = torch.full((3,), float(background))
        r = render_head(g, K, w2c, camera.width, camera.height, background=bg)
    return to_uint8(r.rgb[0])
