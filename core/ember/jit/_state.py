"""Which ``torch.jit`` mode the running Python code is in: scripted, traced or neither.

PyTorch answers ``is_scripting()`` with True inside TorchScript code (the compiler folds the call to
a constant) and ``is_tracing()`` with True while ``jit.trace`` records. ember runs the Python of a
scripted or traced callable on every call, so the mode is a thread-local set around each call of
what ``jit.script``/``jit.trace`` returned: the branch PyTorch compiled is the branch ember runs.

Example:
    >>> from ember.jit import _state
    >>> _state.is_scripting(), _state.is_tracing()
    (False, False)
    >>> with _state.mode("script"):
    ...     _state.is_scripting()
    True
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["is_scripting", "is_tracing", "mode", "current"]

SCRIPT = "script"
TRACE = "trace"


class _Mode(threading.local):
    value: str | None = None


_MODE = _Mode()


def current() -> str | None:
    """``"script"``, ``"trace"`` or None."""
    return _MODE.value


def is_scripting() -> bool:
    """True while a ``jit.script`` function or module runs (False in plain Python, as in PyTorch).

    Example:
        >>> import ember
        >>> ember.jit.is_scripting()
        False
    """
    return _MODE.value == SCRIPT


def is_tracing() -> bool:
    """True while a ``jit.trace`` function or module runs, including the traced example call.

    Example:
        >>> import ember
        >>> ember.jit.is_tracing()
        False
    """
    return _MODE.value == TRACE


@contextmanager
def mode(value: str | None) -> Iterator[None]:
    """Run the block in ``value`` mode and restore the caller's afterwards (modes nest)."""
    old = _MODE.value
    _MODE.value = value
    try:
        yield
    finally:
        _MODE.value = old
