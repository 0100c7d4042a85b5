"""headforge: few-shot 3D Gaussian head avatars from a synthetic prior.

The library holds all maths, formats and decisions; it imports no Prefect, no DVC and no bpy.
"""

__version__ = "0.1.0"
