"""``sym_int``, ``sym_float``, ``sym_max``, ``sym_min``, ``sym_not``, ``sym_ite``, ``sym_sqrt``,
``sym_sum``: PyTorch's "SymInt-aware" helpers, with PyTorch's eager semantics.

PyTorch writes these so that code tracing symbolic shapes (``torch.compile``) does not branch on
them; on plain numbers they are ``int()``, ``float()``, ``max()``... with a few rules of their own
(``sym_max``/``sym_min`` take only int/float/NumPy numbers and promote to float when either is a
float; ``sym_ite`` wants a bool and two values of one type). ember has no symbolic shapes, so every
value is concrete: the helpers follow PyTorch's eager branch, and still call an object's own
``__sym_float__``/``__sym_not__``/``__sym_max__``... protocol methods as PyTorch does, so a class
written for PyTorch's protocol behaves the same. ``SymInt``, ``SymFloat`` and ``SymBool`` exist so
that ``isinstance`` checks and annotations naming them run; ember never makes one.

Example:
    >>> from ember._sym import sym_int, sym_float, sym_max, sym_ite, sym_sum
    >>> sym_int(3.9), sym_float(2), sym_max(1, 2.5), sym_max(3, 2), sym_ite(True, 1, 2), sym_sum([1, 2, 3])
    (3, 2.0, 2.5, 3, 1, 6)
"""

from __future__ import annotations

import builtins
import math
from typing import Any

__all__ = ["SymBool", "SymFloat", "SymInt", "sym_float", "sym_int", "sym_ite", "sym_max", "sym_min", "sym_not",
           "sym_sqrt", "sym_sum"]


class _NoSymbolic:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError(f"ember has no symbolic shapes: a {type(self).__name__} cannot be created (every size "
                        "and number is concrete)")


class SymInt(_NoSymbolic):
    """PyTorch's symbolic int (``torch.SymInt``); ember's values are always concrete ints."""


class SymFloat(_NoSymbolic):
    """PyTorch's symbolic float (``torch.SymFloat``); ember's values are always concrete floats."""


class SymBool(_NoSymbolic):
    """PyTorch's symbolic bool (``torch.SymBool``); ember's values are always concrete bools."""


def _number_types() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """What ``sym_max``/``sym_min`` accept, and which of those count as float (PyTorch's list)."""
    try:
        import numpy as np
    except ModuleNotFoundError:  # pragma: no cover - NumPy is a dependency of ember's cpu backend
        return (builtins.int, builtins.float), (builtins.float,)
    return (np.integer, np.floating, builtins.int, builtins.float), (np.floating, builtins.float)


def sym_not(a: Any) -> Any:
    """Logical negation: ``not a`` (or ``a.__sym_not__()``).

    Example:
        >>> from ember._sym import sym_not
        >>> sym_not(True), sym_not(0)
        (False, True)
    """
    if hasattr(a, "__sym_not__"):
        return a.__sym_not__()
    return not a


def sym_float(a: Any) -> Any:
    """``float(a)`` (``a`` itself for a SymFloat; ``a.__sym_float__()`` where defined).

    Example:
        >>> from ember._sym import sym_float
        >>> sym_float(3), sym_float(True)
        (3.0, 1.0)
    """
    if isinstance(a, SymFloat):
        return a
    if hasattr(a, "__sym_float__"):
        return a.__sym_float__()
    return builtins.float(a)


def sym_int(a: Any) -> Any:
    """``int(a)``: truncation toward zero for a float (``a`` itself for a SymInt).

    Example:
        >>> from ember._sym import sym_int
        >>> sym_int(-2.7), sym_int(True)
        (-2, 1)
    """
    if isinstance(a, SymInt):
        return a
    if isinstance(a, SymFloat):
        return math.trunc(a)
    return builtins.int(a)


def _sym_minmax(a: Any, b: Any, pick: Any, method: str) -> Any:
    if isinstance(a, (SymInt, SymFloat)):
        return getattr(a, method)(b)
    if isinstance(b, (SymInt, SymFloat)):  # PyTorch's promotion makes these commutative
        return getattr(b, method)(a)
    all_types, float_types = _number_types()
    if not isinstance(a, all_types):
        raise AssertionError(f"expected {all_types}, got {type(a)}")
    if not isinstance(b, all_types):
        raise AssertionError(f"expected {all_types}, got {type(b)}")
    if isinstance(a, float_types) or isinstance(b, float_types):
        return builtins.float(pick(a, b))
    return pick(a, b)


def sym_max(a: Any, b: Any) -> Any:
    """``max(a, b)`` for ints and floats (NumPy's included), a float whenever either is a float,
    unlike ``builtins.max`` (``sym_max(1, 1.0)`` and ``sym_max(2, 1.5)`` are floats).

    Example:
        >>> from ember._sym import sym_max
        >>> sym_max(2, 1.5), sym_max(2, 5)
        (2.0, 5)
    """
    return _sym_minmax(a, b, builtins.max, "__sym_max__")


def sym_min(a: Any, b: Any) -> Any:
    """``min(a, b)`` with :func:`sym_max`'s rules.

    Example:
        >>> from ember._sym import sym_min
        >>> sym_min(2, 1.5), sym_min(2, 5)
        (1.5, 2)
    """
    return _sym_minmax(a, b, builtins.min, "__sym_min__")


def sym_sum(*args: Any) -> Any:
    """The sum of its arguments: ``sym_sum([a, b, c])`` or ``sym_sum(a, b, c)`` (``builtins.sum``,
    so it starts from 0).

    Example:
        >>> from ember._sym import sym_sum
        >>> sym_sum([1, 2, 3]), sym_sum(1, 2.5)
        (6, 3.5)
    """
    if len(args) == 1 and isinstance(args[0], (list, tuple)):
        args = args[0]
    return builtins.sum(args)


def sym_sqrt(a: Any) -> Any:
    """``math.sqrt(a)`` (``a.__sym_sqrt__()`` where defined): a float, ``ValueError`` below zero.

    Example:
        >>> from ember._sym import sym_sqrt
        >>> sym_sqrt(16)
        4.0
    """
    if isinstance(a, SymInt):
        a = sym_float(a)
    if hasattr(a, "__sym_sqrt__"):
        return a.__sym_sqrt__()
    return math.sqrt(a)


def sym_ite(b: Any, t: Any, f: Any) -> Any:
    """``t if b else f``, where ``b`` must be a bool and ``t``, ``f`` of one type (PyTorch's
    ``AssertionError`` otherwise).

    Example:
        >>> from ember._sym import sym_ite
        >>> sym_ite(False, 1, 2)
        2
    """
    if not isinstance(b, (SymBool, builtins.bool)):
        raise AssertionError(f"expected SymBool or bool, got {type(b)}")
    if type(t) is not type(f):
        raise AssertionError(f"type mismatch: {type(t)} vs {type(f)}")
    if isinstance(b, SymBool):
        return b.__sym_ite__(t, f)
    return t if b else f
