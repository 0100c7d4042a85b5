"""Quiet native libraries: MediaPipe's TensorFlow Lite and glog/absl chatter on stderr.

MediaPipe writes several lines to the process's stderr (file descriptor 2, below Python) when
a graph is built and first run (``Created TensorFlow Lite XNNPACK delegate``, ``All log
messages before absl::InitializeLog()``, glog ``W0000 ... inference_feedback_manager``). They
bury the one line that matters, so by default:

* :func:`import_mediapipe` sets ``GLOG_minloglevel`` / ``TF_CPP_MIN_LOG_LEVEL`` (when unset)
  and absl's verbosity before importing MediaPipe;
* :func:`native_quiet` wraps model creation (with :func:`warm_up`, as graphs open in the
  background) and calls: file descriptor 2 goes to a temporary file, and on leaving, every
  line that is not known noise is written back to stderr, so real errors still show.

``HEADFORGE_LOG_LEVEL=debug`` (or ``headforge --verbose ...``) turns all of this off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import IO, Any

LOG_LEVEL_ENV = "HEADFORGE_LOG_LEVEL"
"""``debug`` (or ``verbose``) shows native libraries' logs; anything else keeps them quiet."""

NOISE = re.compile(
    r"^(INFO: Created TensorFlow Lite|INFO: Initialized TensorFlow Lite|"
    r"WARNING: All log messages before absl::InitializeLog|"
    r"[IW]\d{4} [\d:. ]+\s+\d+ \S+:\d+\]|"  # glog info/warning lines (errors are kept)
    r"Created TensorFlow Lite|Initialized TensorFlow Lite)"
)
"""Lines of native stderr dropped while quiet."""

_lock = threading.RLock()
_depth = 0
_saved_fd: int | None = None
_capture: IO[bytes] | None = None


def verbose() -> bool:
    """True when native logs should be shown (``HEADFORGE_LOG_LEVEL=debug``)."""
    return os.environ.get(LOG_LEVEL_ENV, "").strip().lower() in ("debug", "verbose")


def import_mediapipe() -> ModuleType:
    """``import mediapipe`` with its native logging quietened unless :func:`verbose`."""
    if not verbose():
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with native_quiet():
        import mediapipe as mp
    if not verbose():
        with contextlib.suppress(ImportError):
            from absl import logging as absl_logging

            absl_logging.set_verbosity(absl_logging.ERROR)
    return mp


def warm_up(*models: Any) -> None:
    """Run each MediaPipe solution once on a black image (call inside :func:`native_quiet`).

    A solution opens its graph's calculators asynchronously, so TensorFlow Lite's lines can
    come after the constructor returned; one ``process`` waits until the graph is open.
    """
    import numpy as np

    black = np.zeros((64, 64, 3), np.uint8)
    for m in models:
        m.process(black)


def _replay(data: bytes) -> None:
    kept = [
        line for line in data.decode("utf-8", "replace").splitlines(keepends=True)
        if not NOISE.match(line)
    ]
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()


@contextlib.contextmanager
def native_quiet() -> Iterator[None]:
    """Hold back stderr (fd 2) of everything in the block and drop known native noise.

    Process-wide (fd 2 is shared by all threads), so nested and concurrent blocks share one
    redirection, undone when the last one leaves; the held-back lines are then replayed.
    """
    global _depth, _saved_fd, _capture
    if verbose():
        yield
        return
    with _lock:
        if _depth == 0:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            capture = tempfile.TemporaryFile()  # noqa: SIM115 (closed when the last leaves)
            _capture, _saved_fd = capture, os.dup(2)
            os.dup2(capture.fileno(), 2)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None and _capture is not None:
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(_saved_fd, 2)
                os.close(_saved_fd)
                _capture.seek(0)
                data = _capture.read()
                _capture.close()
                _saved_fd, _capture = None, None
                _replay(data)
