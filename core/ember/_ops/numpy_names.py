"""NumPy's argument names on ops that take ``dim``/``keepdim``: ``axis=`` and ``keepdims=``.

PyTorch's argument parser accepts ``axis`` for every ``dim`` parameter and ``keepdims`` for every
``keepdim`` parameter of its native functions (``torch.sum(x, axis=0, keepdims=True)``,
``x.max(axis=1)``, ``torch.cumsum(x, axis=0)``), but not for the functions it writes in Python
(``torch.norm``, ``torch.split``, ``nn.functional.softmax``). :func:`numpy_names` gives an ember op
the same aliases, derived from its own signature, so no signature has to spell them out.

This module imports nothing from ember, so every family can use it at import time.

Example:
    >>> import ember
    >>> ember.ones(2, 3).sum(axis=0, keepdims=True)
    tensor([[2., 2., 2.]])
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["numpy_names", "ALIASES"]

#: NumPy's name -> PyTorch's parameter name, as in PyTorch's python_arg_parser
ALIASES = {"axis": "dim", "keepdims": "keepdim"}

F = TypeVar("F", bound=Callable[..., Any])


def numpy_names(fn: F) -> F:
    """Let ``fn`` take ``axis=`` for its ``dim`` and ``keepdims=`` for its ``keepdim`` parameter.

    The wrapper keeps ``fn``'s name, docstring and signature (``inspect.signature`` follows
    ``__wrapped__``). As in PyTorch, an alias given together with its own parameter (by keyword or
    by position) is a ``TypeError``.
    """
    params = inspect.signature(fn).parameters
    renames = {alias: name for alias, name in ALIASES.items() if name in params}
    if not renames:
        raise TypeError(f"{fn.__name__} has neither a 'dim' nor a 'keepdim' parameter")
    op_name = fn.__name__

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs:  # the common call, positional only, pays one truth test
            for alias, name in renames.items():
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{op_name}() got an unexpected keyword argument '{alias}'")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    wrapper.numpy_names = renames  # type: ignore[attr-defined]  # what the tests read
    return wrapper  # type: ignore[return-value]
