"""Place ``remote``: every DVC remote (local folders, S3 with every object version); store
names ``remote:<name>``."""

from __future__ import annotations

from headforge.privacy.forget.places import Place
from headforge.privacy.forget.places.cache import apply_object, objects_left, scan_objects

NAME = "remote"

ENTRY = Place(NAME, "every DVC remote: objects of every version of the subject's data",
              scan=lambda ctx, det: scan_objects(ctx, det, NAME, list(ctx.remotes)),
              apply=apply_object,
              verify=lambda vc: objects_left(vc, NAME, list(vc.scan.remotes)),
              scoped=True)
