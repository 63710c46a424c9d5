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
        if not isinstance(data, Tensor):  # (PyTorch's error: it calls data.detach())
            raise AttributeError(f"'{type(data).__name__}' object has no attribute 'detach'")
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
            if not t.dtype.is_differentiable:  # (PyTorch's capitalised wording, unlike the setter's)
                raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
            p.requires_grad = True
        return p

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        """A fresh Parameter with a copy of the data: as PyTorch's, without the ``.grad`` (a deep
        copied module starts with no gradients) or attributes set on the original."""
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.data.clone(), self.requires_grad)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol: int) -> Any:
        return _rebuild_parameter, (self.detach(), self._requires_grad)


def _rebuild_parameter(data: Tensor, requires_grad: bool) -> Parameter:
    return Parameter(data, requires_grad)


class _BufferMeta(type):
    """``isinstance(t, Buffer)`` holds for the plain tensors ``Buffer(...)`` returns (PyTorch's trick)."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and bool(getattr(instance, "__dict__", {}).get("_is_buffer", False))
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """Marker for ``Module`` buffers (``nn.Buffer(tensor, persistent=True)``): as PyTorch's, a plain
    tensor (detached, keeping ``requires_grad``) flagged so that assigning it to a Module attribute
    registers a buffer with its ``persistent`` flag."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:  # type: ignore[misc]
        if data is None:
            from ember.functions.creation import empty

            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


def __getattr__(name: str) -> object:
    """PyTorch defines the lazy modules' placeholders here; ember in ``modules.lazy`` (which imports this one)."""
    if name in ("UninitializedParameter", "UninitializedBuffer", "UninitializedTensorMixin"):
        from ember.nn.modules import lazy

        return getattr(lazy, "_Uninitialized" if name == "UninitializedTensorMixin" else name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
