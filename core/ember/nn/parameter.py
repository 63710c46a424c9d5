"""``nn.Parameter``: a Tensor that a ``Module`` registers as a learnable parameter.

Example:
    >>> import ember
    >>> p = ember.nn.Parameter(ember.zeros(2))
    >>> p.requires_grad, isinstance(p, ember.Tensor)
    (True, True)
"""

from __future__ import annotations

from typing import Any

from ember.tensor import Tensor

__all__ = ["Parameter", "Buffer"]

_SLOTS = ("_data", "_dtype", "_device", "_kt", "_requires_grad", "_grad", "grad_fn", "_output_nr", "_version",
          "_base", "_accum", "_retains_grad")


class Parameter(Tensor):
    """A leaf tensor shared with ``data`` (no copy) that requires grad by default."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> Parameter:
        if data is None:
            from ember.functions.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        return cls._from_tensor(data, requires_grad)

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass

    @classmethod
    def _from_tensor(cls, t: Tensor, requires_grad: bool) -> Parameter:
        """A new ``cls`` object sharing ``t``'s storage, as a fresh leaf."""
        p = object.__new__(cls)
        for name in _SLOTS:
            object.__setattr__(p, name, getattr(t, name))
        p._grad = None
        p.grad_fn = None
        p._output_nr = 0
        p._accum = None
        p._retains_grad = False
        p._base = None
        p._requires_grad = False
        if requires_grad:
            p.requires_grad = True  # validates the dtype (ints cannot require grad)
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol: int) -> Any:
        return _rebuild_parameter, (self.detach(), self._requires_grad)


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marker for ``Module`` buffers (``nn.Buffer(tensor, persistent=True)``); returns a plain tensor."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            from ember.functions.creation import empty

            data = empty(0)
        t = data.detach()
        t._buffer_persistent = persistent  # read by Module.__setattr__
        return t


def __getattr__(name: str) -> object:
    """PyTorch defines the lazy modules' placeholders here; ember in ``modules.lazy`` (which imports this one)."""
    if name in ("UninitializedParameter", "UninitializedBuffer", "UninitializedTensorMixin"):
        from ember.nn.modules import lazy

        return getattr(lazy, "_Uninitialized" if name == "UninitializedTensorMixin" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
