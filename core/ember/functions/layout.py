"""Layout queries PyTorch programs make: ``stride``, ``storage_offset``, ``data_ptr``, the ``is_*``
flags, ``f"{loss:.4f}"``, and the memory formats.

ember keeps every tensor's memory in C order (row-major), so ``channels_last`` and
``channels_last_3d`` are accepted wherever PyTorch takes ``memory_format=`` (``contiguous``,
``clone``, ``to``, the ``*_like`` factories) with PyTorch's rank checks, and give the same values and
shapes; the layout stays C-contiguous, and ``is_contiguous(memory_format=channels_last)`` answers
from the real strides.

Example:
    >>> import ember
    >>> x = ember.zeros(2, 3)
    >>> x.stride(), x.t().stride(), f"{x.sum():.2f}"
    ((3, 1), (1, 3), '0.00')
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.tensor import Tensor, _wrap_dim


class _NamedConstant:
    """A module-level constant printed as ``ember.<name>`` and pickled as that constant."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"ember.{self._name}"

    def __reduce__(self) -> str:
        return self._name


class memory_format(_NamedConstant):  # noqa: N801 - PyTorch's name
    """A memory layout name, as ``torch.memory_format`` (``ember.contiguous_format``...)."""

    def __init__(self, name: str, rank: int | None = None) -> None:
        super().__init__(name)
        self._rank = rank


contiguous_format = memory_format("contiguous_format")
preserve_format = memory_format("preserve_format")
channels_last = memory_format("channels_last", 4)
channels_last_3d = memory_format("channels_last_3d", 5)


class layout(_NamedConstant):  # noqa: N801 - PyTorch's name
    """How a tensor stores its elements, as ``torch.layout``: ``ember.strided`` (dense) or
    ``ember.sparse_coo`` (``ember.sparse``'s coordinate format).

    Example:
        >>> import ember
        >>> ember.zeros(2).layout, ember.zeros(2).to_sparse().layout
        (ember.strided, ember.sparse_coo)
    """


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def check_memory_format(rank: int, fmt: Any, op: str = "contiguous") -> None:
    """PyTorch's checks on a ``memory_format=`` argument for a tensor of ``rank`` dims; the layout
    itself stays C order."""
    if fmt is None:
        return
    if not isinstance(fmt, memory_format):
        raise TypeError(f"{op}(): argument 'memory_format' must be ember.memory_format, not {type(fmt).__name__}")
    if fmt._rank is not None and rank != fmt._rank:
        raise RuntimeError(f"required rank {fmt._rank} tensor to use {fmt._name} format")


def _c_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    out, acc = [], 1
    for n in reversed(shape):
        out.append(acc)
        acc *= max(n, 1)
    return tuple(reversed(out))


def _strides(input: Tensor) -> tuple[int, ...]:
    """A contiguous tensor reports C-order strides, size-1 axes included, as PyTorch does (NumPy may
    give a size-1 axis any stride); otherwise the backend's own."""
    from ember.functions.shape import _layout_strides

    if input.numel() == 0 or input._kt["is_contiguous"](input._data):
        return _c_strides(tuple(input.shape))
    return _layout_strides(input)


def stride(input: Tensor, dim: int | None = None) -> tuple[int, ...] | int:
    """The strides in elements (``stride(dim)``: one of them), as PyTorch reports them."""
    s = _strides(input)
    if dim is None:
        return s
    if input.dim() == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    return s[_wrap_dim(dim, input.dim())]


def storage_offset(input: Tensor) -> int:
    """Where the tensor starts in the memory it shares with its views, in elements."""
    kt = input._kt
    if kt.has("storage_offset"):
        return int(kt["storage_offset"](input._data))
    if input.numel() and not kt["is_contiguous"](input._data):
        raise RuntimeError(f"the {input.device.type} backend has no 'storage_offset' kernel")
    return 0


def data_ptr(input: Tensor) -> int:
    """The address of the first element: views of one storage differ by ``storage_offset * itemsize``."""
    data = input._data
    iface = getattr(data, "__array_interface__", None) or getattr(data, "__cuda_array_interface__", None)
    if iface is not None:
        return int(iface["data"][0])
    ptr = getattr(data, "data_ptr", None)  # a backend array without either interface may offer its own
    if callable(ptr):
        return int(ptr())
    raise RuntimeError(f"data_ptr: the {input.device.type} backend's arrays expose no address")


def is_contiguous_as(input: Tensor, fmt: memory_format) -> bool:
    """True when the real strides are ``fmt``'s (C order for contiguous_format)."""
    check_memory_format(fmt._rank if isinstance(fmt, memory_format) else 0, fmt, "is_contiguous")
    if fmt._rank is not None and input.dim() != fmt._rank:  # PyTorch answers False, it does not raise
        return False
    shape = tuple(input.shape)
    if fmt._rank is None:  # contiguous_format (and preserve_format, as PyTorch answers it)
        return input.is_contiguous()
    order = [1, *reversed(range(2, input.dim())), 0]
    expected, acc = [0] * input.dim(), 1
    for d in order:  # channels innermost, then W, H(, D), then N
        expected[d] = acc
        acc *= max(shape[d], 1)
    return all(n == 1 or s == e for n, s, e in zip(shape, _strides(input), expected))


def __format__(self: Tensor, format_spec: str) -> str:
    """A 0-d tensor formats its value (``f"{loss:.4f}"``); any other falls back to ``object``'s rules."""
    if self.dim() == 0:
        return self.detach().item().__format__(format_spec)
    return object.__format__(self, format_spec)


def _false(self: Tensor) -> bool:
    return False


def _is_type(kind: str) -> property:
    return property(lambda self: self.device.type == kind, doc=f"True on a {kind!r} device.")


def _reversed(self: Tensor) -> Tensor:
    """``reversed(t)``: ``t`` flipped along dim 0 (a 0-d tensor is itself), as PyTorch."""
    return self if self.dim() == 0 else self.flip(0)


def _is_view(self: Tensor) -> bool:
    """Whether this tensor is a view of another (``t._base`` is set)."""
    return self._base is not None


def _cfloat(self: Tensor, *, memory_format: Any = None) -> Tensor:
    return self.to(_dt.complex64, memory_format=memory_format)


def _cdouble(self: Tensor, *, memory_format: Any = None) -> Tensor:
    return self.to(_dt.complex128, memory_format=memory_format)


_ops = Family(__name__)
_ops.attr("__reversed__", _reversed)
_ops.attr("_is_view", _is_view)
_ops.attr("const_data_ptr", data_ptr)
_ops.attr("output_nr", property(lambda self: self._output_nr,
                                doc="Which output of its ``grad_fn`` this tensor is (0 for a leaf)."))
_ops.attr("cfloat", _cfloat)
_ops.attr("cdouble", _cdouble)
_ops.op(stride, export=False)
_ops.op(storage_offset, export=False)
_ops.op(data_ptr, export=False)
_ops.attr("__format__", __format__)
for _flag in ("is_quantized", "is_sparse_csr", "is_nested", "is_mkldnn"):
    _ops.attr(_flag, property(_false, doc="Always False: ember has dense, strided tensors only."))
# A plain class attribute, not a property: the ops that take sparse operands test it on every call
# (ember.sparse's tensors set it True).
_ops.attr("is_sparse", False)
_ops.attr("layout", property(lambda self: strided, doc="``ember.strided``: a dense tensor's layout."))
for _kind in ("xpu", "mps", "meta"):
    _ops.attr(f"is_{_kind}", _is_type(_kind))

__all__ = _ops.names()
