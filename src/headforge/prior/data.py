"""Multi-view training/inversion data read from a manifest (Parquet) plus FLAME-format params.

A manifest row is one image: ``subject, sequence, frame, camera, path, mask_path, K (9 floats),
w2c (16 floats), split`` (plus optional ``seg_path``, ``params_path``). Relative paths are taken
from the manifest's folder, then from the project root. The head-model parameters of a row are
found, in order, at:

1. the row's ``params_path`` column, when present;
2. ``<params_root>/<subject>/params/<sequence>.npz`` (synthetic data: one file per expression);
3. ``<params_root>/<subject>/flame_params/<sequence>_<frame>.npz`` or
   ``<sequence>_<camera>_<frame>.npz`` or ``<frame>.npz`` (tracking output, one per frame).

Tracking also refines cameras: when ``<params_root>/<subject>/cameras.json`` has an entry
``<sequence>/<camera>`` its K and w2c replace the manifest's.

Each ``.npz`` holds ``shape, expr, rotation, neck_pose, jaw_pose, eyes_pose, translation``;
a leading axis of length 1 is dropped, and a per-sequence file with a frame axis is indexed by
the row's frame.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch import Tensor

PARAM_KEYS = ("shape", "expr", "rotation", "neck_pose", "jaw_pose", "eyes_pose", "translation")
REQUIRED_COLUMNS = ("subject", "sequence", "frame", "camera", "path", "K", "w2c")


class DataError(ValueError):
    """A manifest or parameter file problem, with the fix in the message."""


@dataclass
class ViewBatch:
    """A batch of views on one device."""

    images: Tensor
    """[B, H, W, 3] RGB in [0, 1], composited on black."""
    masks: Tensor
    """[B, H, W, 1] foreground alpha in [0, 1]."""
    K: Tensor
    """[B, 3, 3] pixel intrinsics at the batch resolution."""
    w2c: Tensor
    """[B, 4, 4] OpenCV world-to-camera."""
    subject: Tensor
    """[B] int64 index into ``ViewSet.subjects``."""
    params: dict[str, Tensor]
    """FLAME-format parameters per view, each [B, D]."""

    def to(self, device: torch.device | str) -> ViewBatch:
        return ViewBatch(
            images=self.images.to(device), masks=self.masks.to(device), K=self.K.to(device),
            w2c=self.w2c.to(device), subject=self.subject.to(device),
            params={k: v.to(device) for k, v in self.params.items()},
        )


@dataclass
class ViewSet:
    """Views of several subjects, held in memory at one square resolution."""

    subjects: list[str]
    """Subject names; ``subject`` indices point here."""
    images: Tensor
    """[M, H, W, 3]."""
    masks: Tensor
    """[M, H, W, 1]."""
    K: Tensor
    """[M, 3, 3]."""
    w2c: Tensor
    """[M, 4, 4]."""
    subject: Tensor
    """[M] int64."""
    params: dict[str, Tensor]
    """Each [M, D]."""
    rows: pd.DataFrame = field(repr=False)
    """The manifest rows, in view order (sequence, frame, camera, ...)."""

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def resolution(self) -> int:
        return int(self.images.shape[1])

    def batch(self, idx: Sequence[int] | Tensor) -> ViewBatch:
        i = torch.as_tensor(idx, dtype=torch.long)
        return ViewBatch(
            images=self.images[i], masks=self.masks[i], K=self.K[i], w2c=self.w2c[i],
            subject=self.subject[i], params={k: v[i] for k, v in self.params.items()},
        )

    def select(self, mask: np.ndarray | Sequence[bool]) -> ViewSet:
        """The views where ``mask`` is true (subjects list kept)."""
        m = np.asarray(mask, dtype=bool)
        i = torch.from_numpy(np.nonzero(m)[0])
        return ViewSet(
            subjects=self.subjects, images=self.images[i], masks=self.masks[i], K=self.K[i],
            w2c=self.w2c[i], subject=self.subject[i],
            params={k: v[i] for k, v in self.params.items()},
            rows=self.rows[m].reset_index(drop=True),
        )


def read_manifest(path: Path, root: Path | None = None) -> pd.DataFrame:
    """Read and check a manifest; relative image paths become absolute, resolved against the
    manifest's folder or the project ``root`` (default: the project holding
    ``data/<stage>/manifest.parquet``, never the working directory)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"manifest not found at {path}: run the stage that writes it "
                        "(synth for data/synth, ingest for data/captures)")
    df = pd.read_parquet(path)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"{path} lacks column(s) {missing}; a manifest needs {REQUIRED_COLUMNS}")
    base = path.parent
    if root is None:
        here = path.resolve()
        root = here.parents[2] if here.parent.parent.name == "data" else base
    for col in ("path", "mask_path", "params_path"):
        if col in df.columns:
            df[col] = [_resolve(p, base, root) for p in df[col]]
    df["subject"] = df["subject"].astype(str)
    df["sequence"] = df["sequence"].astype(str)
    df["camera"] = df["camera"].astype(str)
    return df


def _resolve(p: object, base: Path, root: Path) -> str | None:
    if p is None or (isinstance(p, float) and np.isnan(p)) or p == "":
        return None
    q = Path(str(p))
    if q.is_absolute():
        return str(q)
    for b in (base, root):
        if (b / q).exists():
            return str(b / q)
    return str(base / q)


def _frame_names(frame: object) -> list[str]:
    s = str(frame)
    out = [s]
    if s.isdigit():
        n = int(s)
        out += [f"{n:06d}", f"{n:05d}", f"{n:04d}", str(n)]
    return list(dict.fromkeys(out))


def params_file(row: pd.Series, params_root: Path) -> Path:
    """The parameter file of a manifest row (see the module docstring for the search order)."""
    pp = row.get("params_path") if "params_path" in row.index else None
    if isinstance(pp, str) and pp:
        return Path(pp)
    subj, seq, cam = row["subject"], row["sequence"], row["camera"]
    tried = [params_root / subj / "params" / f"{seq}.npz"]
    for n in _frame_names(row["frame"]):
        tried += [params_root / subj / "flame_params" / f"{stem}.npz"
                  for stem in (f"{seq}_{n}", f"{seq}_{cam}_{n}", n)]
    for t in tried:
        if t.is_file():
            return t
    raise DataError(f"no head-model parameters for subject {row['subject']!r} sequence "
                    f"{row['sequence']!r} frame {row['frame']!r}; looked at "
                    f"{[str(t) for t in tried[:2]]}: run synth/track first or add a "
                    "params_path column")


def load_params(path: Path, frame: object | None = None) -> dict[str, np.ndarray]:
    """FLAME-format parameters of one frame: each key a 1-D float32 array."""
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: np.asarray(z[k], dtype=np.float32) for k in z.files if k in PARAM_KEYS}
    except (OSError, ValueError) as e:
        raise DataError(f"{path} is not a readable .npz parameter file: {e}") from e
    missing = [k for k in PARAM_KEYS if k not in data]
    if missing:
        raise DataError(f"{path} lacks {missing}; parameter files need keys {PARAM_KEYS}")
    out = {}
    for k in PARAM_KEYS:
        a = data[k]
        if a.ndim == 2 and a.shape[0] == 1:
            a = a[0]
        elif a.ndim == 2 and k != "shape":
            if frame is None:
                raise DataError(f"{path}: {k} has a frame axis {a.shape}; give the frame")
            fi = int(str(frame))
            if not 0 <= fi < a.shape[0]:
                raise DataError(f"{path}: frame {fi} outside {k}'s {a.shape[0]} frames")
            a = a[fi]
        elif a.ndim == 2:
            a = a[0]
        out[k] = a.reshape(-1)
    return out


def load_image(path: str, res: int, mode: str) -> np.ndarray:
    """An image resized to ``res x res`` as float32 [res, res, C] in [0, 1]."""
    try:
        with Image.open(path) as src:
            im = src.convert(mode)
        if im.size != (res, res):
            im = im.resize((res, res), Image.Resampling.BILINEAR)
        a = np.asarray(im, dtype=np.float32) / 255.0
    except OSError as e:
        raise DataError(f"cannot read image {path}: {e}") from e
    return a[..., None] if a.ndim == 2 else a


def _mask_for(row: pd.Series, res: int) -> np.ndarray:
    """[res, res, 1] foreground: the mask file (its alpha if it has one, else its grey
    level), or the image's own alpha channel when the row has no mask."""
    mp = row.get("mask_path") if "mask_path" in row.index else None
    src = mp if isinstance(mp, str) and mp else str(row["path"])
    try:
        with Image.open(src) as im:
            has_alpha = im.mode in ("RGBA", "LA", "PA")
    except OSError as e:
        raise DataError(f"cannot read mask {src}: {e}") from e
    if has_alpha:
        return load_image(src, res, "RGBA")[..., 3:4]
    if src == str(row["path"]):
        raise DataError(f"{src} has no alpha channel and the manifest row has no mask_path: "
                        "add the foreground masks")
    return load_image(src, res, "L")


def has_params(row: pd.Series, params_root: Path) -> bool:
    """True when :func:`params_file` finds the row's parameters."""
    try:
        params_file(row, params_root)
    except DataError:
        return False
    return True


def _camera(row: pd.Series, params_root: Path, cache: dict[str, dict[str, Any]]
            ) -> tuple[np.ndarray, np.ndarray]:
    """(K [3, 3], w2c [4, 4]) of a row: tracking's refined camera when there is one."""
    subj = str(row["subject"])
    if subj not in cache:
        f = params_root / subj / "cameras.json"
        cache[subj] = json.loads(f.read_text()) if f.is_file() else {}
    entry = cache[subj].get(f"{row['sequence']}/{row['camera']}")
    src = entry if entry is not None else row
    return (np.asarray(src["K"], dtype=np.float64).reshape(3, 3),
            np.asarray(src["w2c"], dtype=np.float64).reshape(4, 4))


def load_views(
    df: pd.DataFrame,
    resolution: int,
    params_root: Path,
    subjects: Sequence[str] | None = None,
) -> ViewSet:
    """Load the rows of ``df`` at a square ``resolution`` (K rescaled to match)."""
    if len(df) == 0:
        raise DataError("no views to load: the manifest selection is empty")
    subjects = list(subjects) if subjects is not None else sorted(df["subject"].unique())
    sidx = {s: i for i, s in enumerate(subjects)}
    imgs, masks, Ks, w2cs, subj = [], [], [], [], []
    params: dict[str, list[np.ndarray]] = {k: [] for k in PARAM_KEYS}
    cache: dict[str, dict[str, np.ndarray]] = {}
    cams: dict[str, dict[str, Any]] = {}
    for _, row in df.iterrows():
        if row["subject"] not in sidx:
            raise DataError(f"view of subject {row['subject']!r} not in the subject list")
        m = _mask_for(row, resolution)
        with Image.open(str(row["path"])) as im:
            w, h = im.size
            straight = im.mode in ("RGBA", "LA")
        rgb = load_image(str(row["path"]), resolution, "RGB")
        # RGBA files carry straight colour: composite on black; RGB files already are.
        imgs.append(rgb * m if straight else rgb)
        masks.append(m)
        K_row, w2c_row = _camera(row, params_root, cams)
        K = K_row.copy()
        K[0] *= resolution / w
        K[1] *= resolution / h
        Ks.append(K)
        w2cs.append(w2c_row)
        subj.append(sidx[row["subject"]])
        pf = params_file(row, params_root)
        key = f"{pf}#{row['frame']}"
        if key not in cache:
            cache[key] = load_params(pf, row["frame"])
        for k in PARAM_KEYS:
            params[k].append(cache[key][k])
    return ViewSet(
        subjects=subjects,
        images=torch.from_numpy(np.stack(imgs)),
        masks=torch.from_numpy(np.stack(masks)),
        K=torch.from_numpy(np.stack(Ks)).float(),
        w2c=torch.from_numpy(np.stack(w2cs)).float(),
        subject=torch.tensor(subj, dtype=torch.long),
        params={k: torch.from_numpy(np.stack(v)) for k, v in params.items()},
        rows=df.reset_index(drop=True),
    )


def split_subjects(df: pd.DataFrame, held_out: int) -> tuple[list[str], list[str]]:
    """(training subjects, held-out subjects) of a synthetic manifest.

    Subjects whose rows all have ``split == "test"`` are held out; without such a split, the
    last ``held_out`` subjects in sorted order are. The prior never sees held-out subjects.
    """
    subjects = sorted(df["subject"].unique())
    if "split" in df.columns:
        test = sorted(s for s in subjects if (df.loc[df["subject"] == s, "split"] == "test").all())
        if test:
            return [s for s in subjects if s not in test], test
    if held_out < 0 or held_out >= len(subjects):
        raise DataError(f"evaluate.held_out={held_out} must leave at least one of the "
                        f"{len(subjects)} synthetic subjects for training")
    cut = len(subjects) - held_out
    return subjects[:cut], subjects[cut:]


def on_black(views: ViewSet) -> ViewSet:
    """Views with their images composited on black through their masks.

    Captures keep their background in the RGB file (the mask lies beside it), while the prior
    renders on black and its energies compare whole images: real inputs and their held-out
    frames are composited before inversion and scoring. (Synthetic renders already are.)"""
    return dataclasses.replace(views, images=views.images * views.masks)
