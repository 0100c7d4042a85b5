"""FLAME-format head model: linear blend skinning, the built-in open model and FLAME file I/O.

    from headforge.morphable import load_head_model
    model = load_head_model()          # params.yaml head_model section (built-in by default)
    out = model(shape=betas, expr=psi, jaw_pose=jaw)
"""

from headforge.morphable.builtin import PART_NAMES
from headforge.morphable.model import HeadOutput, MorphableHead, load_head_model

__all__ = ["PART_NAMES", "HeadOutput", "MorphableHead", "load_head_model"]
