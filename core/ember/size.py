"""``ember.Size``: the tuple subclass ``tensor.shape`` returns.

Example:
    >>> import ember
    >>> ember.zeros(2, 3).shape
    ember.Size([2, 3])
"""

from __future__ import annotations

from typing import Any

__all__ = ["Size"]


class Size(tuple):
    """A shape: a tuple of ints with ``numel()`` and PyTorch's repr."""

    __slots__ = ()

    def __new__(cls, sizes: Any = ()) -> Size:
        out = tuple.__new__(cls, sizes)
        for v in out:  # a shape's ints pass at C speed; anything else is read as PyTorch reads it
            if v.__class__ is not int:
                return tuple.__new__(cls, [_as_int(e, i) for i, e in enumerate(out)])
        return out

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return tuple.__new__(Size, out) if isinstance(item, slice) else out  # (ints already: no checks)

    def __add__(self, other):
        if not isinstance(other, tuple):
            raise TypeError(f"can only concatenate tuple (not {type(other).__name__}) to ember.Size")
        return Size(tuple.__add__(self, other))

    def __radd__(self, other):  # ``(4,) + size`` is a Size too
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple.__add__(other, self))

    def __mul__(self, n):
        return tuple.__new__(Size, tuple.__mul__(self, n))

    __rmul__ = __mul__


def _as_int(v: Any, i: int) -> int:
    """One element of a Size as PyTorch's constructor takes it: an int, or anything with
    ``__index__`` (a bool, a NumPy integer, an integer tensor of one element); else its TypeError."""
    if isinstance(v, int):
        return int(v)
    if not isinstance(v, float) and hasattr(v, "__index__"):
        try:
            return v.__index__()
        except TypeError:
            pass
    raise TypeError(f"ember.Size() takes an iterable of 'int' (item {i} is '{type(v).__name__}')")
