"""Comparing the web viewer's pictures with headforge's own renders (tests and benchmarks).

:func:`serve` hands a folder to a loopback HTTP server; :func:`shoot` drives the page in
headless Chromium through ``web/shoot.mjs`` (Playwright's core over Debian's chromium);
:func:`foreground_psnr` and :func:`region_change` score the screenshots.
"""

from __future__ import annotations

import contextlib
import functools
import json
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

from headforge.export.package import ViewCamera

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
"""Chromium's flags for the checks (``web/shoot.mjs`` passes the same, plus SwiftShader GL)."""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@contextlib.contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``http://127.0.0.1:PORT/`` serving ``folder`` while the block runs."""
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium() -> str | None:
    """Debian's chromium, when installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def shoot(web_dir: Path, url: str, out: Path, frames: Sequence[int], width: int, height: int,
          fps_seconds: float = 3.0, timeout: float = 300.0) -> dict[str, Any]:
    """Screenshots of the viewer at ``url`` (paused at each of ``frames``) and its frame rate
    while playing; returns ``web/shoot.mjs``'s report (paths, fps, the WebGL renderer)."""
    node = shutil.which("node")
    browser = chromium()
    if node is None or browser is None:
        raise FileNotFoundError("the viewer check needs node and Debian's chromium "
                                "(apt-get install nodejs chromium)")
    opts = {"width": width, "height": height, "frames": list(frames), "fpsSeconds": fps_seconds}
    r = subprocess.run([node, str(web_dir / "shoot.mjs"), url + "index.html", str(out),
                        json.dumps(opts)], capture_output=True, text=True, timeout=timeout,
                       env={**_env(), "CHROMIUM": browser})
    if r.returncode != 0:
        raise RuntimeError(f"shoot.mjs failed ({r.returncode}): {r.stderr[-2000:]}")
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def foreground_psnr(a: np.ndarray, b: np.ndarray, level: int = 8) -> tuple[float, float]:
    """PSNR (dB) of two uint8 [H, W, 3] pictures on black over their foreground (pixels
    brighter than ``level`` in either); returns (psnr, foreground fraction)."""
    fg = (a.max(-1) > level) | (b.max(-1) > level)
    if not fg.any():
        raise ValueError("both pictures are empty (black)")
    mse = float(((a[fg].astype(np.float64) - b[fg].astype(np.float64)) ** 2).mean())
    return (float("inf") if mse == 0 else 10 * float(np.log10(255.0 ** 2 / mse))), float(fg.mean())


def project(points: np.ndarray, camera: ViewCamera) -> np.ndarray:
    """[P, 3] world points -> [P, 2] pixel coordinates (OpenCV)."""
    h = np.c_[points, np.ones(len(points))] @ np.asarray(camera.w2c, np.float64).T
    uv = h[:, :3] @ np.asarray(camera.K, np.float64).T
    return uv[:, :2] / uv[:, 2:3]


def region_change(a: np.ndarray, b: np.ndarray, box: tuple[int, int, int, int]
                  ) -> tuple[float, float]:
    """Mean absolute difference of two pictures inside ``box`` (x0, y0, x1, y1) and outside."""
    d = np.abs(a.astype(np.float64) - b.astype(np.float64)).mean(-1)
    x0, y0, x1, y1 = box
    inside = np.zeros(d.shape, bool)
    inside[max(y0, 0):y1, max(x0, 0):x1] = True
    return float(d[inside].mean()), float(d[~inside].mean())
