"""Optional backends, detected once.

One place knows whether an optional accelerator or model package can be used (CUDA, gsplat,
later mediapipe, dlib, ...). Each backend has a *probe*: a function returning a
:class:`BackendStatus`. Probes run lazily on first request and are cached, so importing this
module (or the library) never imports or compiles anything optional.

Other packages add their own probes with :func:`register_probe`::

    @register_probe("mediapipe")
    def _probe_mediapipe() -> BackendStatus:
        return probe_import("mediapipe")

A backend that fails at run time (e.g. a CUDA JIT build error on first use) is recorded with
:func:`mark_failed`, so ``auto`` choices fall back instead of failing again.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import threading
from collections.abc import Callable, Iterator


@dataclasses.dataclass(frozen=True)
class BackendStatus:
    """Whether one optional backend can be used here."""

    name: str
    """Backend name as used in configs (``gsplat``, ``cuda``, ...)."""
    available: bool
    """True when the backend imported (or probed) successfully."""
    version: str | None = None
    """Installed distribution version, when known."""
    detail: str = ""
    """Why it is unavailable (and how to fix it), or a short note when available."""


class BackendUnavailableError(RuntimeError):
    """An explicitly requested backend cannot be used; the message names the fix."""


_PROBES: dict[str, Callable[[], BackendStatus]] = {}  # name -> probe
_CACHE: dict[str, BackendStatus] = {}
_LOCK = threading.Lock()


Probe = Callable[[], BackendStatus]


def register_probe(name: str) -> Callable[[Probe], Probe]:
    """Decorator registering ``fn`` as the probe for backend ``name`` (replacing any earlier)."""

    def deco(fn: Probe) -> Probe:
        with _LOCK:
            _PROBES[name] = fn
            _CACHE.pop(name, None)
        return fn

    return deco


def unregister_probe(name: str) -> None:
    """Remove backend ``name`` and its cached status (a plug-in that was unregistered)."""
    with _LOCK:
        _PROBES.pop(name, None)
        _CACHE.pop(name, None)


def status(name: str) -> BackendStatus:
    """The cached status of backend ``name`` (probing it on first call)."""
    with _LOCK:
        if name in _CACHE:
            return _CACHE[name]
        probe = _PROBES.get(name)
    if probe is None:
        known = ", ".join(sorted(_PROBES)) or "none"
        raise KeyError(f"unknown backend {name!r}; registered probes: {known}")
    try:
        result = probe()
    except Exception as e:  # a probe must never crash the caller
        result = BackendStatus(name, False, detail=f"probe raised {type(e).__name__}: {e}")
    with _LOCK:
        _CACHE.setdefault(name, result)
        return _CACHE[name]


def available(name: str) -> bool:
    """True when backend ``name`` can be used."""
    return status(name).available


def require(name: str, fix: str = "") -> BackendStatus:
    """Status of ``name``; raises :class:`BackendUnavailableError` naming the fix if unusable."""
    st = status(name)
    if not st.available:
        msg = f"backend {name!r} is not available: {st.detail}"
        if fix:
            msg += f". {fix}"
        raise BackendUnavailableError(msg)
    return st


def mark_failed(name: str, detail: str) -> None:
    """Record that backend ``name`` failed at run time; later probes report it unavailable."""
    with _LOCK:
        old = _CACHE.get(name)
        _CACHE[name] = BackendStatus(name, False, old.version if old else None, detail)


def reset(name: str | None = None) -> None:
    """Forget cached results (for tests, or after installing a package)."""
    with _LOCK:
        if name is None:
            _CACHE.clear()
        else:
            _CACHE.pop(name, None)


@contextlib.contextmanager
def isolated() -> Iterator[None]:
    """Within the block, probes registered and statuses cached (or marked failed) do not
    outlive it: on exit the probes of before are restored and every cached status dropped
    (tests use it so that one test's probe results never leak into the next)."""
    with _LOCK:
        probes = dict(_PROBES)
        _CACHE.clear()
    try:
        yield
    finally:
        with _LOCK:
            _PROBES.clear()
            _PROBES.update(probes)
            _CACHE.clear()


def summary() -> dict[str, BackendStatus]:
    """Status of every registered backend."""
    return {name: status(name) for name in sorted(_PROBES)}


def dist_version(dist: str) -> str | None:
    """Installed version of distribution ``dist`` without importing it, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def probe_import(module: str, dist: str | None = None, hint: str = "") -> BackendStatus:
    """Probe that imports ``module``; unavailable (with ``hint``) when the import fails."""
    version = dist_version(dist or module)
    if importlib.util.find_spec(module) is None:
        return BackendStatus(module, False, version, f"{module} is not installed. {hint}".strip())
    try:
        importlib.import_module(module)
    except Exception as e:
        return BackendStatus(
            module, False, version, f"importing {module} failed ({type(e).__name__}: {e}). {hint}"
        )
    return BackendStatus(module, True, version)


@register_probe("cuda")
def _probe_cuda() -> BackendStatus:
    import torch

    if torch.cuda.is_available():
        return BackendStatus("cuda", True, torch.version.cuda, torch.cuda.get_device_name(0))
    return BackendStatus("cuda", False, torch.version.cuda, "torch sees no CUDA device")


GSPLAT_HINT = "install it with `pip install --no-deps gsplat==1.5.3` on a CUDA machine"


@register_probe("gsplat")
def _probe_gsplat() -> BackendStatus:
    """gsplat usable: installed, CUDA present, and its CUDA extension loads (JIT-built once)."""
    version = dist_version("gsplat")
    if importlib.util.find_spec("gsplat") is None:
        return BackendStatus("gsplat", False, None, f"gsplat is not installed; {GSPLAT_HINT}")
    cuda = status("cuda")
    if not cuda.available:
        return BackendStatus("gsplat", False, version, "gsplat needs CUDA: " + cuda.detail)
    try:
        # Loading the extension triggers gsplat's JIT build the first time (minutes).
        backend = importlib.import_module("gsplat.cuda._backend")
    except Exception as e:
        return BackendStatus(
            "gsplat", False, version, f"gsplat's CUDA extension failed to build/load: {e}"
        )
    if getattr(backend, "_C", None) is None:
        return BackendStatus(
            "gsplat", False, version, "gsplat found no CUDA toolkit (nvcc) to build its extension"
        )
    return BackendStatus("gsplat", True, version)
