"""Synthetic head dataset (``synth`` stage), host side: identities, textures, rig, shard jobs,
render processes, validation and the manifest. Blender itself runs only in the subprocesses
started by :mod:`headforge.synth.runner` (``blender/render_shard.py``); nothing here imports
``bpy``.

    from headforge.synth import build_dataset
    summary = build_dataset(cfg, root)      # SynthConfig from params.yaml's synth section
"""

from headforge.synth.dataset import (
    DatasetSummary,
    ShardOutcome,
    SynthFailed,
    build_dataset,
    finish,
    prepare,
    render_shard,
)
from headforge.synth.jobs import CATEGORIES
from headforge.synth.manifest import COLUMNS, read_manifest, write_manifest
from headforge.synth.rig import RigCamera, RigSpec, build_rig, select_cameras

__all__ = [
    "CATEGORIES",
    "COLUMNS",
    "DatasetSummary",
    "RigCamera",
    "RigSpec",
    "ShardOutcome",
    "SynthFailed",
    "build_dataset",
    "build_rig",
    "finish",
    "prepare",
    "read_manifest",
    "render_shard",
    "select_cameras",
    "write_manifest",
]
