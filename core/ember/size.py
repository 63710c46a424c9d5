"""``ember.Size``: the tuple subclass ``tensor.shape`` returns.

Example:
    >>> import ember
    >>> ember.zeros(2, 3).shape
    ember.Size([2, 3])
"""

from __future__ import annotations

__all__ = ["Size"]


class Size(tuple):
    """A shape: a tuple of ints with ``numel()`` and PyTorch's repr."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"ember.Size({list(self)})"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out

    def __add__(self, other):
        return Size(tuple.__add__(self, tuple(other)))
