"""Expected failures of ``headforge`` commands become one line on stderr and an exit code.

Bad input (a wrong key in params.yaml, a capture that cannot be ingested, a missing file, a
refused consent) is the user's to fix, so a command prints ``error: <message>`` (``refused:``
for consent) as one line and exits non-zero; a traceback would bury the fix. Anything else is
a bug and keeps its traceback. ``headforge --debug ...`` shows tracebacks of all failures.

Exit codes: 2 bad input (configuration, capture, arguments, missing file), 3 consent refused.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

DEBUG_ENV = "HEADFORGE_DEBUG"
"""Set (to 1) by ``headforge --debug``: failures keep their tracebacks."""

EXIT_BAD_INPUT = 2
EXIT_REFUSED = 3

F = TypeVar("F", bound=Callable[..., Any])


def debug() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def one_line(message: str) -> str:
    """``message`` on one line: newlines (e.g. from file names) are shown escaped."""
    return message.strip().replace("\r", "\\r").replace("\n", "\\n") or "(no message)"


def classify(exc: BaseException) -> tuple[str, int] | None:
    """(prefix, exit code) of an expected failure, or None for a bug."""
    from headforge.config import ConfigError

    try:
        from headforge.privacy.records import ConsentError, RegistryError
    except ModuleNotFoundError:  # pragma: no cover - privacy is part of the package
        ConsentError = RegistryError = ()  # type: ignore[misc,assignment]  # noqa: N806
    if isinstance(exc, ConsentError):
        return "refused", EXIT_REFUSED
    if isinstance(exc, ConfigError | RegistryError):
        return "error", EXIT_BAD_INPUT
    if isinstance(exc, FileNotFoundError | NotADirectoryError | IsADirectoryError |
                  PermissionError):
        return "error", EXIT_BAD_INPUT
    # ValueError subclasses the library defines for bad input (CaptureError, ...)
    if isinstance(exc, ValueError) and type(exc).__module__.startswith("headforge"):
        return "error", EXIT_BAD_INPUT
    return None


def message_of(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    return str(exc)


def report(exc: BaseException) -> typer.Exit | None:
    """Print an expected failure as one line; returns the Exit to raise (None for a bug)."""
    kind = classify(exc)
    if kind is None or debug():
        return None
    prefix, code = kind
    print(f"{prefix}: {one_line(message_of(exc))}", file=sys.stderr, flush=True)
    return typer.Exit(code)


def friendly(fn: F) -> F:
    """Wrap a command callback so that expected failures become one line and an exit code."""
    if getattr(fn, "__headforge_friendly__", False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:
            ex = report(e)
            if ex is None:
                raise
            raise ex from None

    wrapper.__headforge_friendly__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def make_friendly(app: typer.Typer) -> None:
    """Wrap every command of ``app`` and of the sub-apps mounted on it (recursively)."""
    for cmd in app.registered_commands:
        if cmd.callback is not None:
            cmd.callback = friendly(cmd.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            make_friendly(group.typer_instance)
            cb = group.typer_instance.registered_callback
            if cb is not None and cb.callback is not None:
                cb.callback = friendly(cb.callback)
