"""Retry conditions shared by the stages' Prefect tasks."""

from __future__ import annotations

from typing import Any


def retry_on_io(task: Any, task_run: Any, state: Any) -> bool:
    """Retry only when the failure was an I/O error (never bad input or a missing consent)."""
    try:
        state.result()
    except OSError:
        return True
    except Exception:
        return False
    return False
