"""``torch.jit.Future``, ``fork`` and ``wait``.

A :class:`Future` is PyTorch's (``torch.futures.Future``): a value set once, by ``set_result`` or
``set_exception``, that ``wait`` blocks for and callbacks (``then``, ``add_done_callback``) run after.
``fork(fn, *args)`` runs ``fn`` at once and returns a completed future: PyTorch runs a fork in
parallel only inside TorchScript, and "in pure python, fork will not execute in parallel", which is
where ember runs it.

Example:
    >>> import ember, warnings
    >>> warnings.simplefilter("ignore", DeprecationWarning)
    >>> fut = ember.jit.fork(lambda a, b: a + b, 1, b=2)
    >>> fut.done(), ember.jit.wait(fut)
    (True, 3)
"""

from __future__ import annotations

import logging
import threading
import traceback
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["Future", "fork", "wait"]

T = TypeVar("T")
S = TypeVar("S")

_log = logging.getLogger(__name__)
_UNSET = object()


def _callback_error(exc: BaseException) -> RuntimeError:
    tb = "".join(traceback.format_tb(exc.__traceback__))
    return RuntimeError(f"Got the following error when running the callback: {type(exc).__name__}: {exc}\n\n"
                        f"At:\n{tb}")


class Future(Generic[T]):
    """A value that becomes available later (``torch.jit.Future`` / ``torch.futures.Future``).

    Example:
        >>> fut = Future()
        >>> doubled = fut.then(lambda f: f.value() * 2)
        >>> fut.set_result(21)
        >>> doubled.wait()
        42
    """

    def __init__(self, *, devices: list | None = None) -> None:
        self._cond = threading.Condition()
        self._value: Any = _UNSET
        self._error: BaseException | None = None
        self._callbacks: list[Callable[[Future], None]] = []

    def done(self) -> bool:
        """True once a result or an exception is set."""
        return self._value is not _UNSET or self._error is not None

    def wait(self) -> T:
        """Block until the future completes; return its value or raise its exception."""
        with self._cond:
            self._cond.wait_for(self.done)
        return self.value()

    def value(self) -> T:
        """The value of a completed future (raises its exception); RuntimeError before completion."""
        if self._error is not None:
            raise self._error
        if self._value is _UNSET:
            raise RuntimeError("Future.value() called before the Future completed (call wait() to block for it)")
        return self._value

    def then(self, callback: Callable[[Future[T]], S]) -> Future[S]:
        """A new future holding ``callback(self)`` once this one completes (run inline if it has).

        An exception raised by ``callback`` completes the new future with a RuntimeError naming it."""
        out: Future[S] = Future()

        def chain(fut: Future[T]) -> None:
            try:
                result = callback(fut)
            except Exception as exc:  # noqa: BLE001 - becomes the new future's error, as PyTorch's
                out.set_exception(_callback_error(exc))
                return
            out.set_result(result)

        self.add_done_callback(chain)
        return out

    def add_done_callback(self, callback: Callable[[Future[T]], None]) -> None:
        """Run ``callback(self)`` when the future completes (inline if it has). An exception from the
        callback is logged and dropped, as PyTorch does (use :meth:`then` to see it)."""
        with self._cond:
            if not self.done():
                self._callbacks.append(callback)
                return
        self._run(callback)

    def _run(self, callback: Callable[[Future], None]) -> None:
        try:
            callback(self)
        except Exception as exc:  # noqa: BLE001 - PyTorch logs it and goes on
            _log.error("%s", _callback_error(exc))

    def _complete(self, value: Any, error: BaseException | None) -> None:
        with self._cond:
            if self.done():
                raise RuntimeError("Attempting to mark a completed Future as complete again. Note that a Future can "
                                   "only be marked completed once.")
            if error is not None:
                self._error = error
            else:
                self._value = value
            callbacks, self._callbacks = self._callbacks, []
            self._cond.notify_all()
        for cb in callbacks:
            self._run(cb)

    def set_result(self, result: T) -> None:
        """Complete the future with ``result``; RuntimeError if it is complete already."""
        self._complete(result, None)

    def set_exception(self, result: BaseException) -> None:
        """Complete the future with an exception, which ``wait`` and ``value`` raise."""
        if not isinstance(result, Exception):
            raise AssertionError(f"{result} is of type {type(result)}, not an Exception.")
        self._complete(None, result)

    def __repr__(self) -> str:
        return f"<ember.jit.Future object at {id(self):#x}>"


Future.__module__ = "ember.jit"


def fork(func: Callable[..., T], *args: Any, **kwargs: Any) -> Future[T]:
    """Call ``func(*args, **kwargs)`` and return a completed :class:`Future` of its result
    (``torch.jit.fork``, which runs in parallel only inside TorchScript). An exception ``func``
    raises is raised here, as PyTorch's eager ``fork`` does.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     fork(max, 2, 5).value()
        5
    """
    warnings.warn("`torch.jit.fork` is deprecated. Please use `torch.compile` instead.", DeprecationWarning,
                  stacklevel=2)
    fut: Future[T] = Future()
    fut.set_result(func(*args, **kwargs))
    return fut


def wait(future: Future[T]) -> T:
    """The value of ``future`` once it completes (``torch.jit.wait``).

    Example:
        >>> import warnings
        >>> f = Future(); f.set_result(7)
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     wait(f)
        7
    """
    warnings.warn("`torch.jit.wait` is deprecated. Please use `torch.compile` instead.", DeprecationWarning,
                  stacklevel=2)
    if not isinstance(future, Future):
        raise TypeError("wait(): incompatible function arguments. The following argument types are supported:\n"
                        f"    1. (arg0: torch._C.Future) -> object\n\nInvoked with: {future!r}")
    return future.wait()
