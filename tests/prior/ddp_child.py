"""One rank of the DDP test: train a tiny prior, then dump what this rank did.

Run by ``tests/prior/test_ddp.py`` under ``python -m torch.distributed.run``:
``ddp_child.py <manifest> <out_dir> <steps> <snapshot_step> [<nan_rank>]``. Writes
``<out>/rank<r>.json``
with a digest of this rank's replica after the last step, its losses, the files it wrote and
where it resumed from; rank 0 also copies ``checkpoints/last.pt`` of step ``snapshot_step`` to
``<out>/snapshot.pt`` (the test restores it to resume from there). With ``nan_rank``, that
rank's loss turns NaN from the second step on; each rank then records the error it raised.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

import torch  # noqa: E402

from headforge.prior import train as train_mod  # noqa: E402
from headforge.prior.stage import load_head  # noqa: E402
from tests.prior.helpers import HEAD, TINY_TRAIN, training_views  # noqa: E402


def main(manifest: str, out: str, steps: int, snapshot_step: int, nan_rank: int = -1) -> None:
    torch.set_num_threads(1)
    rank = int(os.environ.get("RANK", "0"))
    cfg = dataclasses.replace(TINY_TRAIN, steps=steps, checkpoint_every=1)
    views, _ = training_views(Path(manifest), cfg)
    head, parts = load_head(HEAD)
    stepped: list[torch.nn.Module] = []
    writes: list[str] = []
    setup, save, write_text = (train_mod._ddp_setup, train_mod.save_checkpoint,
                               train_mod.write_text_atomic)

    def spy_setup(step_mod: Any, device: Any) -> Any:  # this rank's replica, as stepped
        stepped.append(step_mod)
        return setup(step_mod, device)

    def spy_save(path: Path, *a: Any, **k: Any) -> Any:
        writes.append(Path(path).name)
        return save(path, *a, **k)

    def spy_write(path: Path, *a: Any, **k: Any) -> Any:
        writes.append(Path(path).name)
        return write_text(path, *a, **k)

    class Snapshot(train_mod.TrainCallback):
        def on_checkpoint(self, step: int, path: Path) -> None:
            if step == snapshot_step:
                shutil.copyfile(path, Path(out) / "snapshot.pt")

    if rank == nan_rank:
        terms_of = train_mod.photometric_terms
        calls = [0]

        def poisoned(*a: Any, **k: Any) -> Any:
            calls[0] += 1
            terms = terms_of(*a, **k)
            if calls[0] > 1:
                terms["l1"] = terms["l1"] * float("nan")
            return terms

        train_mod.photometric_terms = poisoned
    train_mod._ddp_setup = spy_setup
    train_mod.save_checkpoint = spy_save
    train_mod.write_text_atomic = spy_write
    try:
        res = train_mod.train(cfg, views, Path(out), head, parts, callbacks=[Snapshot()])
    except FloatingPointError as e:
        Path(out, f"rank{rank}.json").write_text(json.dumps({"error": str(e)}))
        raise SystemExit(3) from e
    h = hashlib.sha256()
    for name, t in sorted(stepped[0].state_dict().items()):
        h.update(name.encode() + t.detach().cpu().contiguous().numpy().tobytes())
    Path(out, f"rank{rank}.json").write_text(json.dumps({
        "digest": h.hexdigest(), "losses": [x["loss"] for x in res.history],
        "world": int(os.environ.get("WORLD_SIZE", "1")), "writes": sorted(set(writes)),
        "resumed_from": res.resumed_from}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
         int(sys.argv[5]) if len(sys.argv) > 5 else -1)
