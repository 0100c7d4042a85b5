"""DVC stage ``train_prior``: base prior on synthetic data, then the optional adaptation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from headforge.io_utils import write_text_atomic
from headforge.paths import project_root, results_dir
from headforge.timing import stage_timer
from tasks.train_prior import adapt_prior, train_base_prior


def tracked_subjects(root: Path) -> list[str]:
    """Real subjects with tracking output (ingest only admits consented subjects)."""
    track = results_dir("track", root)
    if not track.is_dir():
        return []
    return sorted(p.name for p in track.iterdir() if (p / "flame_params").is_dir())


@flow(name="train_prior")
def train_prior(root: Path | None = None) -> dict[str, Any]:
    """Train the base prior, then adapt it to tracked real subjects when configured."""
    base = root or project_root()
    with stage_timer("train_prior", base):
        out = {"base": train_base_prior(base)}
        out["adapted"] = adapt_prior(base, tracked_subjects(base))
        summary = results_dir("train_prior", base) / "base" / "train_metrics.json"
        write_text_atomic(base / "results" / "metrics" / "train_prior.json",
                          summary.read_text())
    return out


if __name__ == "__main__":
    print(train_prior())
