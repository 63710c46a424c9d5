"""``torch.jit``'s decorators and markers: ``export``, ``ignore``, ``unused``, ``script_if_tracing``,
``interface``, ``annotate``, ``Attribute``, ``Final`` and the ``Error`` scripted code raises.

They mark functions as PyTorch's do (``fn._torchscript_modifier``), so code that inspects the marks
keeps working. Two of them also change what a call does, since ember runs the Python of a scripted
function: an ``ignore``d function runs outside the scripted mode (``is_scripting()`` is False in it,
as in PyTorch, where it is a call back into Python) and outside compilation (a graph break, so its
side effects happen on every call); an ``unused`` function called from scripted code raises
:class:`Error`, as PyTorch's compiled stub does.

Example:
    >>> import ember
    >>> class Net(ember.nn.Module):
    ...     @ember.jit.export
    ...     def extra(self, x):
    ...         return x + 1
    ...     def forward(self, x):
    ...         return x * 2
    >>> ember.jit.script(Net()).extra(ember.ones(1)).tolist()
    [2.0]
"""

from __future__ import annotations

import collections
import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, Final, TypeVar

from ember.jit import _state

__all__ = ["FunctionModifiers", "export", "ignore", "unused", "script_if_tracing", "interface", "annotate",
           "Attribute", "Final", "Error", "get_modifier"]

_T = TypeVar("_T")


class FunctionModifiers:
    """What a function's mark means (PyTorch's strings, so a comparison with PyTorch's reads alike)."""

    UNUSED = "unused (ignored and replaced with raising of an exception)"
    IGNORE = "ignore (leave as a call to Python, cannot be torch.jit.save'd)"
    EXPORT = "export (compile this function even if nothing calls it)"
    DEFAULT = "default (compile if called from an exported function / forward)"
    COPY_TO_SCRIPT_WRAPPER = "if this method is not scripted, copy the python method onto the scripted model"
    _DROP = "_drop (function is fully ignored, declaration can be unscriptable)"


class Error(Exception):
    """What scripted code raises where PyTorch's interpreter fails (``torch.jit.Error``): here, a
    call of an ``@unused`` function from a scripted function or module."""


Error.__module__ = "ember.jit"

#: ``torch.jit.Attribute(value, type)``: a named pair in eager code, unwrapped to ``value`` when a
#: module is scripted (and when assigned on a ``ScriptModule``), as in PyTorch.
Attribute = collections.namedtuple("Attribute", ["value", "type"])
Attribute.__module__ = "ember.jit"


def get_modifier(fn: Any) -> str | None:
    """The mark of ``fn`` (a function or bound method), ``DEFAULT`` when unmarked, None if not callable."""
    if not callable(fn):
        return None
    fn = getattr(fn, "__func__", fn)
    return getattr(fn, "_torchscript_modifier", FunctionModifiers.DEFAULT)


def export(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Mark a module's method as an entry point of the scripted module (``torch.jit.export``).

    ``jit.script`` makes an exported method run as ``forward`` does: scripted (``is_scripting()``
    True) and compiled. It returns ``fn`` itself.

    Example:
        >>> import ember
        >>> f = ember.jit.export(lambda self, x: x)
        >>> f._torchscript_modifier == ember.jit.FunctionModifiers.EXPORT
        True
    """
    fn._torchscript_modifier = FunctionModifiers.EXPORT  # type: ignore[attr-defined]
    return fn


def _unused_stub(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def unused_fn(*args: Any, **kwargs: Any) -> Any:
        if _state.current() == _state.SCRIPT:
            raise Error("The following operation failed in the TorchScript interpreter.\n"
                        f"RuntimeError: This Python function is annotated to be ignored and cannot be run "
                        f"({getattr(fn, '__qualname__', fn)} is marked @torch.jit.unused and was called from "
                        "scripted code)")
        return fn(*args, **kwargs)

    unused_fn._torchscript_modifier = FunctionModifiers.UNUSED  # type: ignore[attr-defined]
    return unused_fn


def unused(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Mark ``fn`` as left out of scripting (``torch.jit.unused``): called from scripted code it
    raises :class:`Error`; called from plain Python it runs. Also takes a ``property``.

    Example:
        >>> import ember
        >>> @ember.jit.unused
        ... def slow(x):
        ...     return x
        >>> slow(3)
        3
    """
    if isinstance(fn, property):
        fget = _unused_stub(fn.fget) if fn.fget is not None else None
        fset = _unused_stub(fn.fset) if fn.fset is not None else None
        return property(fget, fset, fn.fdel, fn.__doc__)  # type: ignore[return-value]
    fn._torchscript_modifier = FunctionModifiers.UNUSED  # type: ignore[attr-defined]
    return _unused_stub(fn)


def _ignored(fn: Callable) -> Callable:
    from ember.compiler import disable

    eager = disable(fn)

    @functools.wraps(fn)
    def ignored_fn(*args: Any, **kwargs: Any) -> Any:
        with _state.mode(None):  # PyTorch calls back into plain Python: not scripting, not tracing
            return eager(*args, **kwargs)

    fn._torchscript_modifier = FunctionModifiers.IGNORE  # type: ignore[attr-defined]
    ignored_fn._torchscript_modifier = FunctionModifiers.IGNORE  # type: ignore[attr-defined]
    return ignored_fn


def ignore(drop: bool | Callable = False, **kwargs: Any) -> Any:
    """Leave ``fn`` as plain Python inside scripted code (``torch.jit.ignore``); ``ignore(drop=True)``
    is ``unused``.

    The function runs eagerly on every call (a compiled caller runs that call eagerly, a graph
    break), with ``is_scripting()`` False inside it, as PyTorch's call back into Python.

    Example:
        >>> import ember
        >>> @ember.jit.ignore
        ... def log(x):
        ...     return ember.jit.is_scripting()
        >>> log(1)
        False
    """
    if callable(drop):  # used bare: @ignore
        return _ignored(drop)
    if not isinstance(drop, bool):
        raise RuntimeError(f"Argument to @torch.jit.ignore must be a bool or a function but got {drop}")
    drop_on_export = kwargs.pop("drop_on_export", None)
    if drop_on_export:
        warnings.warn("ignore(drop_on_export=True) has been deprecated. TorchScript will now drop the function call "
                      "on compilation. Use torch.jit.unused now. {}", FutureWarning, stacklevel=2)
        drop = drop_on_export
    elif drop:
        warnings.warn("ignore(True) has been deprecated. TorchScript will now drop the function call on "
                      "compilation. Use torch.jit.unused now. {}", FutureWarning, stacklevel=2)

    def decorator(fn: Callable) -> Callable:
        return unused(fn) if drop else _ignored(fn)

    return decorator


def _drop(fn: Callable[..., _T]) -> Callable[..., _T]:
    fn._torchscript_modifier = FunctionModifiers._DROP  # type: ignore[attr-defined]
    return fn


def script_if_tracing(fn: Callable[..., _T]) -> Callable[..., _T]:
    """Script ``fn`` when it is called while tracing, else call it as is (``torch.jit.script_if_tracing``).

    In a trace it runs scripted (``is_scripting()`` True, so its data-dependent control flow is
    kept as PyTorch's scripted call keeps it); outside, it is plain Python.

    Example:
        >>> import ember
        >>> f = ember.jit.script_if_tracing(lambda x: ember.jit.is_scripting())
        >>> f(1), ember.jit.trace(lambda x: x * f(x), ember.ones(1))(ember.ones(1)).tolist()
        (False, [1.0])
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _state.is_tracing():
            return fn(*args, **kwargs)
        with _state.mode(_state.SCRIPT):
            return fn(*args, **kwargs)

    wrapper.__original_fn = fn  # type: ignore[attr-defined]
    wrapper.__script_if_tracing_wrapper = True  # type: ignore[attr-defined]
    return wrapper


def interface(obj: type) -> type:
    """Declare a TorchScript interface class (``torch.jit.interface``): checked as PyTorch checks
    it, then returned unchanged (ember calls methods through Python, so any implementing object works).

    Example:
        >>> import ember
        >>> @ember.jit.interface
        ... class Scorer:
        ...     def score(self, x: ember.Tensor) -> ember.Tensor:
        ...         pass
        >>> Scorer.__torch_script_interface__
        'Scorer'
    """
    from ember.nn import Module

    warnings.warn("`torch.jit.interface` is deprecated. Please use `torch.compile` instead.", DeprecationWarning,
                  stacklevel=2)
    if not inspect.isclass(obj):
        raise RuntimeError("interface must be applied to a class")
    is_module_interface = issubclass(obj, Module) and len(obj.mro()) == 3
    if not is_module_interface and len(obj.mro()) > 2:
        raise RuntimeError("TorchScript interface does not support inheritance yet. "
                           "Please directly inherit from 'object' or 'nn.Module'.")
    obj.__torch_script_interface__ = obj.__qualname__  # type: ignore[attr-defined]
    return obj


def annotate(the_type: Any, the_value: _T) -> _T:
    """Return ``the_value`` (``torch.jit.annotate``: a type hint for the TorchScript compiler).

    Example:
        >>> import ember
        >>> ember.jit.annotate(list[int], [])
        []
    """
    return the_value

