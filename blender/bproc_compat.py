"""Run BlenderProc 2.8.0 in a plain ``python`` process that imports pip ``bpy`` 4.5.x.

BlenderProc expects to be launched by its ``blenderproc run`` command, which downloads a
Blender build and re-executes the script inside Blender's own Python. Here Blender *is* a
Python module (pip ``bpy``), so this module does the few things that command would have done,
and nothing else. Every BlenderProc compatibility fix of the project lives in this file:

1. ``blenderproc/__init__.py`` refuses to import outside ``blenderproc run`` unless
   ``OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT`` is set, and imports
   its API only when ``INSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT`` is set. In the second
   branch it calls ``SetupUtility.setup``, which pip-installs packages into a Blender folder
   (offline: fails), removes site-packages from ``sys.path`` and deletes ``PYTHONPATH``. We
   import the package once in the harmless branch, replace ``SetupUtility.setup`` with a no-op,
   keep a second site-packages entry so the removal leaves one, and re-run ``__init__``.
2. A few BlenderProc modules import ``trimesh``, ``sklearn`` and ``png`` at import time for
   features this project never calls (BOP writer, face slicer, trimesh export). When they are
   not installed, placeholder modules are registered whose classes raise a clear error if used.
3. ``bproc.init()`` sets ``preferences.view.language = "en_US"``, but pip ``bpy`` is built
   without translations (the enum holds only ``DEFAULT``), so the assignment raises. During
   ``init`` the Initializer module sees a ``bpy`` whose preferences report ``en_US``.
4. pip ``bpy`` can deadlock in its C++ static destructors at interpreter exit; processes that
   imported it leave through :func:`exit_process` (``os._exit`` after flushing).

Only bpy 4.5.x is supported: BlenderProc 2.8.0 uses the compositor ``scene.node_tree`` API that
Blender 5 removed.
"""

from __future__ import annotations

import importlib
import os
import sys
import types
from typing import Any, NoReturn

SUPPORTED_BPY = (4, 5)
"""Major/minor version of pip ``bpy`` this shim was written and tested for."""

OPTIONAL_MODULES = ("trimesh", "sklearn", "sklearn.cluster", "png")
"""Modules BlenderProc imports eagerly but this project never uses."""

_OUTSIDE = "OUTSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT_BUT_IN_RUN_SCRIPT"
_INSIDE = "INSIDE_OF_THE_INTERNAL_BLENDER_PYTHON_ENVIRONMENT"


class BlenderProcCompatError(RuntimeError):
    """BlenderProc cannot be made to run in this interpreter; the message says what to change."""


def check_bpy_version(version: tuple[int, ...]) -> None:
    """Raise unless ``version`` (``bpy.app.version``) is a supported 4.5.x release."""
    if tuple(version[:2]) != SUPPORTED_BPY:
        want = ".".join(map(str, SUPPORTED_BPY))
        got = ".".join(map(str, version))
        raise BlenderProcCompatError(
            f"bpy {got} is not supported by BlenderProc 2.8.0 here: install bpy=={want}.* "
            f"(pip install 'bpy>={want},<4.6')"
        )


class _UnavailableModule(types.ModuleType):
    """Stands in for an optional dependency; any class taken from it raises when used."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        module = self.__name__

        def _raise(*_args: Any, **_kwargs: Any) -> NoReturn:
            raise BlenderProcCompatError(
                f"{module}.{name} is needed by the BlenderProc feature you called, but "
                f"{module.split('.')[0]} is not installed: pip install it, or use plain bpy"
            )

        return type(name, (), {"__init__": _raise, "__call__": _raise})


def install_missing_module_stubs(names: tuple[str, ...] = OPTIONAL_MODULES) -> list[str]:
    """Register placeholders for the modules in ``names`` that cannot be imported.

    Returns the names that were stubbed (empty when everything is installed).
    """
    stubbed = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ImportError:
            sys.modules[name] = _UnavailableModule(name)
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, sys.modules[name])
            stubbed.append(name)
    return stubbed


class _Proxy:
    """Attribute proxy: answers the names in ``overrides``, delegates everything else."""

    def __init__(self, target: Any, **overrides: Any) -> None:
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_overrides", overrides)

    def __getattr__(self, name: str) -> Any:
        overrides = object.__getattribute__(self, "_overrides")
        if name in overrides:
            return overrides[name]
        return getattr(object.__getattribute__(self, "_target"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_target"), name, value)


def _bpy_reporting_english(bpy: Any) -> _Proxy:
    """A ``bpy`` look-alike whose ``context.preferences.view.language`` reads ``en_US``."""
    prefs = bpy.context.preferences
    view = _Proxy(prefs.view, language="en_US")
    context = _Proxy(bpy.context, preferences=_Proxy(prefs, view=view))
    return _Proxy(bpy, context=context)


def load_blenderproc(temp_dir: str) -> Any:
    """Import BlenderProc's API in this process (idempotent) and return the package.

    ``temp_dir`` is where BlenderProc writes its intermediate frames; it is created.
    """
    import bpy

    check_bpy_version(tuple(bpy.app.version))
    install_missing_module_stubs()
    os.environ[_OUTSIDE] = "1"
    import blenderproc

    if not hasattr(blenderproc, "renderer"):
        from blenderproc.python.utility.SetupUtility import SetupUtility

        SetupUtility.setup = staticmethod(lambda *a, **k: sys.argv)  # type: ignore[method-assign]
        site = os.path.abspath(os.path.join(os.path.dirname(blenderproc.__file__), ".."))
        sys.path.append(site)  # __init__ removes the first copy; the second one stays
        saved_pythonpath = os.environ.get("PYTHONPATH")
        os.environ[_INSIDE] = "1"
        try:
            importlib.reload(blenderproc)
        finally:
            del os.environ[_INSIDE]
            if saved_pythonpath is not None:
                os.environ["PYTHONPATH"] = saved_pythonpath
        if not hasattr(blenderproc, "renderer"):
            raise BlenderProcCompatError("BlenderProc's API did not load: is it 2.8.0?")
    from blenderproc.python.utility.SetupUtility import SetupUtility

    os.makedirs(temp_dir, exist_ok=True)
    SetupUtility.setup_utility_paths(temp_dir)
    return blenderproc


def init(temp_dir: str) -> Any:
    """Load BlenderProc and run ``bproc.init()`` with the language check satisfied.

    Returns the ``blenderproc`` package (use it as ``bproc``).
    """
    import bpy

    bproc = load_blenderproc(temp_dir)
    from blenderproc.python.utility import Initializer

    Initializer.bpy = _bpy_reporting_english(bpy)  # type: ignore[attr-defined]
    try:
        bproc.init()
    finally:
        Initializer.bpy = bpy  # type: ignore[attr-defined]
    return bproc


def exit_process(code: int) -> NoReturn:
    """Flush stdio and leave at once: pip ``bpy`` can hang in its exit-time destructors."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
