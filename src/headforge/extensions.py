"""Extension points: one named list per kind of plug-in (landmark detectors, forget places).

An :class:`ExtensionPoint` is the single list that config validation, the CLI, ``--help`` and
the code that uses the plug-ins all read. Adding a plug-in is one new module plus one line::

    DETECTORS.add_lazy("mydetector", "headforge.track.detect_mine")   # module defines ENTRY

Lazy entries are named without importing their module (so validating ``params.yaml`` or
printing ``--help`` stays cheap); the module is imported on first use and must define
``ENTRY``. Tests add a fake for the duration of a ``with point.registered(entry):`` block.

Config fields name a point with ``Annotated[str, OneOf("module:ATTRIBUTE")]``: the loader
checks the value against the point's names at load time (the point is looked up then, so
``headforge.config`` imports no plug-in package).
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar


class Named(Protocol):
    """What every entry has: the name configs and commands use."""

    @property
    def name(self) -> str: ...


E = TypeVar("E", bound=Named)


class UnknownExtensionError(KeyError):
    """A name that no entry of the point has; the message lists the registered ones."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ExtensionPoint(Generic[E]):
    """Ordered name -> entry list of one kind of plug-in."""

    def __init__(self, what: str, config_key: str = "") -> None:
        self.what = what
        """Human name of the kind (``landmark detector``), used in messages."""
        self.config_key = config_key
        """The ``section.key`` of params.yaml that names an entry (for messages), if any."""
        self._entries: dict[str, E | str] = {}
        self._lock = threading.Lock()
        self._on_add: list[Callable[[str], None]] = []
        self._on_remove: list[Callable[[str], None]] = []

    # ---- registering ---------------------------------------------------------------------
    def add(self, entry: E) -> E:
        """Register ``entry`` (replacing an earlier one of the same name)."""
        with self._lock:
            self._entries[entry.name] = entry
        for hook in self._on_add:
            hook(entry.name)
        return entry

    def add_lazy(self, name: str, module: str) -> None:
        """Register ``module``'s ``ENTRY`` under ``name`` without importing the module yet."""
        with self._lock:
            self._entries[name] = module
        for hook in self._on_add:
            hook(name)

    def remove(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)
        for hook in self._on_remove:
            hook(name)

    @contextlib.contextmanager
    def registered(self, entry: E) -> Iterator[E]:
        """Register ``entry`` for the duration of the block, then restore what was there."""
        with self._lock:
            before = self._entries.get(entry.name)
        self.add(entry)
        try:
            yield entry
        finally:
            self.remove(entry.name)
            if before is not None:
                if isinstance(before, str):
                    self.add_lazy(entry.name, before)
                else:
                    self.add(before)

    def on_change(self, added: Callable[[str], None], removed: Callable[[str], None]) -> None:
        """Call ``added(name)`` / ``removed(name)`` whenever an entry is (un)registered, and
        ``added`` now for every entry already there."""
        self._on_add.append(added)
        self._on_remove.append(removed)
        for name in self.names():
            added(name)

    # ---- reading -------------------------------------------------------------------------
    def names(self) -> tuple[str, ...]:
        """Registered names, in registration order (no module is imported)."""
        with self._lock:
            return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._entries

    def get(self, name: str) -> E:
        """The entry called ``name``; :class:`UnknownExtensionError` lists the known names."""
        with self._lock:
            item = self._entries.get(name)
        if item is None:
            raise UnknownExtensionError(self.unknown_message(name))
        if isinstance(item, str):
            entry: E = importlib.import_module(item).ENTRY
            if entry.name != name:
                raise RuntimeError(f"{item}.ENTRY is named {entry.name!r}, registered as "
                                   f"{name!r}: make the two names agree")
            with self._lock:
                if self._entries.get(name) == item:
                    self._entries[name] = entry
            return entry
        return item

    def entries(self) -> list[E]:
        """Every entry (lazy ones are loaded)."""
        return [self.get(n) for n in self.names()]

    def unknown_message(self, name: object) -> str:
        where = f"{self.config_key}: " if self.config_key else ""
        return (f"{where}{name!r} is not a registered {self.what}; choose one of "
                f"{', '.join(self.names()) or '(none registered)'}")

    def check(self, name: object) -> str:
        """``name`` when it is registered; otherwise ValueError naming the choices."""
        if not isinstance(name, str) or name not in self:
            raise ValueError(self.unknown_message(name))
        return name


def command_reading(**points: ExtensionPoint[Any]) -> Any:
    """A typer command class whose options named in ``points`` take their choices (checked
    when parsed, shown as the ``--help`` metavar) from those extension points: ``@app.command(cls=command_reading(
    detector=DETECTORS))``. typer builds the command on every invocation, so the choices are
    the registered names of that moment."""
    import typer
    from typer.core import TyperCommand

    def checker(point: ExtensionPoint[Any]) -> Callable[..., Any]:
        def check(ctx: Any, param: Any, value: Any) -> Any:
            if value is None:
                return value
            try:
                return point.check(value)
            except ValueError as e:
                raise typer.BadParameter(str(e), ctx=ctx, param=param) from None

        return check

    class _Command(TyperCommand):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            for param in self.params:
                point = points.get(param.name or "")
                if point is not None:
                    param.metavar = "[" + "|".join(point.names()) + "]"
                    param.callback = checker(point)

    return _Command


@dataclasses.dataclass(frozen=True)
class OneOf:
    """Config-field metadata: the value must be a name of the extension point at ``ref``
    (``"package.module:ATTRIBUTE"``), looked up when params are validated."""

    ref: str

    def point(self) -> ExtensionPoint[Any]:
        module, _, attr = self.ref.partition(":")
        point = getattr(importlib.import_module(module), attr)
        if not isinstance(point, ExtensionPoint):
            raise TypeError(f"{self.ref} is not an ExtensionPoint")
        return point

    def check(self, value: object) -> str:
        """``value`` if registered; ValueError listing the registered names otherwise."""
        point = self.point()
        if not isinstance(value, str) or value not in point:
            raise ValueError(f"{value!r} is not a registered {point.what}; choose one of "
                             f"{', '.join(point.names())}")
        return value
