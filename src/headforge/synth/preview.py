"""Contact sheet of a rendered synthetic dataset: views, masks, segmentation and textures.

One row per identity: several camera views of its first expression, then one view of another
expression as colour, alpha mask and colour-coded part segmentation, then its UV albedo.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from headforge.synth.jobs import CATEGORIES

SEG_COLORS: dict[str, tuple[int, int, int]] = {
    "background": (0, 0, 0), "face": (235, 170, 140), "hair": (250, 205, 40),
    "beard": (150, 75, 20), "eyes": (40, 120, 255), "mouth": (220, 30, 70),
    "neck": (110, 200, 120), "ears": (190, 100, 220),
}
"""Display colour per segmentation category."""


def colorize_segmentation(seg: np.ndarray) -> np.ndarray:
    """[H, W] category ids -> [H, W, 3] uint8 colours (``SEG_COLORS``)."""
    lut = np.zeros((256, 3), dtype=np.uint8)
    for name, idx in CATEGORIES.items():
        lut[idx] = SEG_COLORS[name]
    return lut[np.asarray(seg, dtype=np.uint8)]


def _load(path: Path, tile: int) -> np.ndarray:
    with Image.open(path) as src:
        im = src.convert("RGB")
    im.thumbnail((tile, tile), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", (tile, tile))
    canvas.paste(im, ((tile - im.width) // 2, (tile - im.height) // 2))
    return np.asarray(canvas)


def _seg_tile(path: Path, tile: int) -> np.ndarray:
    with Image.open(path) as im:
        rgb = Image.fromarray(colorize_segmentation(np.asarray(im)))
    rgb.thumbnail((tile, tile), Image.Resampling.NEAREST)
    canvas = Image.new("RGB", (tile, tile))
    canvas.paste(rgb, ((tile - rgb.width) // 2, (tile - rgb.height) // 2))
    return np.asarray(canvas)


def _spread(items: list[str], k: int) -> list[str]:
    if len(items) <= k:
        return items
    idx = np.round(np.linspace(0, len(items) - 1, k)).astype(int)
    return [items[i] for i in idx]


def contact_sheet(manifest: pd.DataFrame, root: Path, identities: int = 6, views: int = 5,
                  tile: int = 128) -> Image.Image:
    """A labelled grid image of ``identities`` rows (see the module docstring)."""
    if manifest.empty:
        raise ValueError("the manifest is empty: render a dataset first (headforge synth run)")
    subjects = _spread(sorted(manifest["subject"].unique()), identities)
    header = 18
    columns = [*(f"view {i + 1}" for i in range(views)), "expression", "alpha", "parts", "albedo"]
    sheet = Image.new("RGB", (tile * len(columns), header + tile * len(subjects)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    for c, name in enumerate(columns):
        draw.text((c * tile + 4, 3), name, fill=(230, 230, 230))
    for r, subject in enumerate(subjects):
        rows = manifest[manifest["subject"] == subject]
        sequences = sorted(rows["sequence"].unique(), key=lambda s: (s != "neutral", s))
        first = rows[rows["sequence"] == sequences[0]]
        cams = sorted(first["camera"].unique())
        tiles = [_load(root / first[first["camera"] == c]["path"].iloc[0], tile)
                 for c in _spread(cams, views)]
        tiles += [np.zeros((tile, tile, 3), np.uint8)] * (views - len(tiles))
        other = rows[rows["sequence"] == sequences[-1]]
        front = [c for c in sorted(other["camera"].unique()) if c.startswith("front")]
        cam = front[len(front) // 2] if front else sorted(other["camera"].unique())[0]
        row = other[other["camera"] == cam].iloc[0]
        tiles += [_load(root / row["path"], tile), _load(root / row["mask_path"], tile),
                  _seg_tile(root / row["seg_path"], tile)]
        albedo = (root / row["path"]).parents[2] / "albedo.png"
        tiles.append(_load(albedo, tile) if albedo.is_file() else np.zeros((tile, tile, 3), np.uint8))
        y = header + r * tile
        sheet.paste(Image.fromarray(np.concatenate(tiles, axis=1)), (0, y))
        draw.text((4, y + 2), f"{subject} {sequences[-1]}", fill=(255, 255, 255))
    return sheet


def write_contact_sheet(manifest_path: Path, root: Path, out: Path, identities: int = 6,
                        views: int = 5, tile: int = 128) -> Path:
    """Render the contact sheet of the dataset at ``manifest_path`` to ``out`` (PNG)."""
    from headforge.io_utils import atomic_path
    from headforge.synth.manifest import read_manifest

    if not manifest_path.is_file():
        raise FileNotFoundError(f"{manifest_path} not found: run `headforge synth run` first, "
                                "or `headforge synth preview --render`")
    sheet = contact_sheet(read_manifest(manifest_path), root, identities, views, tile)
    with atomic_path(out) as tmp:
        sheet.save(tmp, format="PNG")
    return out
