"""Exporting avatars: the Gaussian blendshape bake (:mod:`.bake`), the formats' registry
(:mod:`.formats`: 3DGS PLY, PLY sequence, glTF package, web viewer) and the checks of the web
viewer in headless Chromium (:mod:`.check`). See ``docs/export.md``."""
