"""Tiny configurations shared by the prior/invert/evaluate tests."""

from __future__ import annotations

from pathlib import Path

from headforge.config import HeadModelConfig, InvertConfig, TrainPriorConfig
from headforge.prior.data import read_manifest, split_subjects
from headforge.prior.stage import synthetic_training_views

TINY_TRAIN = TrainPriorConfig(
    steps=2, batch=2, resolution=32, latent_dim=8, uv_res=16, channels=8, face_density=0.5,
    hair_density=1.0, checkpoint_every=1, lr=3e-3,
)
TINY_INVERT = InvertConfig(
    shots=2, steps_latent=2, steps_decoder=2, steps_per_frame=0, resolution=32,
    reference_views=2, turntable_frames=3, early_warmup=100,
)
HEAD = HeadModelConfig()


def training_views(manifest: Path, cfg: TrainPriorConfig = TINY_TRAIN):
    return synthetic_training_views(cfg, 1, manifest=manifest)


def held_out(manifest: Path) -> list[str]:
    return split_subjects(read_manifest(manifest), 1)[1]
