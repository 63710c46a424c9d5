"""``torch.autograd.set_multithreading_enabled``: whether backward may run on device worker threads.

ember's engine runs every backward on the calling thread, so the switch changes no result; it is
kept, thread-local and restorable, so that programs written for PyTorch run unchanged.

Example:
    >>> import ember
    >>> with ember.autograd.set_multithreading_enabled(False):
    ...     ember.autograd.multithreading.is_multithreading_enabled()
    False
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["set_multithreading_enabled", "is_multithreading_enabled"]


class _State(threading.local):
    enabled = True


_STATE = _State()


def is_multithreading_enabled() -> bool:
    """The switch's value on this thread (PyTorch's ``torch._C._is_multithreading_enabled``)."""
    return _STATE.enabled


class set_multithreading_enabled:  # noqa: N801 - PyTorch's name
    """Enable or disable multithreaded backward on this thread: takes effect when called, and, used
    with ``with``, is undone on exit; as a decorator it applies around each call.

    Example:
        >>> @set_multithreading_enabled(False)
        ... def f():
        ...     return is_multithreading_enabled()
        >>> f(), is_multithreading_enabled()
        (False, True)
    """

    def __init__(self, mode: bool) -> None:
        self.prev = _STATE.enabled
        _STATE.enabled = bool(mode)
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc: Any) -> None:
        _STATE.enabled = self.prev

    def clone(self) -> set_multithreading_enabled:
        return self.__class__(self.mode)

    def __call__(self, fn: Callable) -> Callable:
        _STATE.enabled = self.prev  # decorating changes nothing by itself; each call does
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_multithreading_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
