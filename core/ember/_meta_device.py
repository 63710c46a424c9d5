"""The ``meta`` device: tensors with a shape, a dtype and strides but no data, as PyTorch's.

Programs use it to build a model without memory (``nn.Linear(4096, 4096, device="meta")``,
``with ember.device("meta"): ...``, ``model.to("meta")``), to learn the shapes a forward pass
produces, and then ``model.to_empty(device="cpu")`` to allocate for real. ember ships it with the
frontend, as PyTorch does, registered like any backend (pluggy hooks) but left out of
``ember.plugins.device_types()``: it is not hardware, holds nothing, and is never a test device.

How its kernels work. Each kernel of the contract answers with a :class:`MetaArray` (shape, dtype,
strides, storage offset, a shared storage size). The views compute strides exactly as the host
backend's do; creation, random, copy and optimizer kernels allocate nothing; elementwise ops,
reductions, products, scans and indexing get their shape by rule and their dtype from the host
kernel run on one-element stand-ins. Every other kernel (convolutions, pooling, normalisation,
decompositions, FFTs...) runs the host kernel on stand-ins of ones of the real shapes and keeps only
the result's shape and dtype: correct for every kernel, with host memory only while it runs.
Data-dependent kernels (``nonzero``) and reading values (``item()``, ``.cpu()``) raise PyTorch's
errors.

Example:
    >>> import ember
    >>> w = ember.empty(4096, 4096, device="meta")
    >>> (w @ w.t()).shape, w.t().stride(), w.is_meta
    (ember.Size([4096, 4096]), (1, 4096), True)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember.backend import Backend
from ember.hookspecs import hookimpl
from ember.kernels import KERNELS

__all__ = ["MetaArray", "MetaBackend", "NO_DATA"]

#: PyTorch's words when a meta tensor's values are asked for (``.cpu()``, ``.tolist()``...)
NO_DATA = "Cannot copy out of meta tensor; no data!"


class _Storage:
    """The memory a meta tensor and its views share: only its size (in elements) exists."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


class MetaArray:
    """A device array without data: shape, ember dtype, element strides and a storage offset."""

    __slots__ = ("shape", "dtype", "strides", "offset", "storage")

    def __init__(self, shape: Any, dtype: Any, strides: tuple[int, ...] | None = None, offset: int = 0,
                 storage: _Storage | None = None) -> None:
        self.shape = tuple(int(n) for n in shape)
        self.dtype = dtype
        self.strides = _contiguous_strides(self.shape) if strides is None else tuple(strides)
        self.offset = offset
        self.storage = _Storage(math.prod(self.shape)) if storage is None else storage

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def data_ptr(self) -> int:
        return 0  # PyTorch's answer for a meta tensor: there is no memory

    def _view(self, shape: tuple[int, ...], strides: tuple[int, ...], offset: int | None = None,
              dtype: Any = None) -> MetaArray:
        return MetaArray(shape, self.dtype if dtype is None else dtype, strides,
                         self.offset if offset is None else offset, self.storage)

    def __repr__(self) -> str:
        return f"MetaArray(shape={self.shape}, dtype={self.dtype}, strides={self.strides}, offset={self.offset})"


class MetaBackend(Backend):
    device_type = "meta"
    array_types = (MetaArray,)

    def device_count(self) -> int:
        return 1

    def device_name(self, index: int) -> str:
        return "meta (shapes and dtypes only, no data)"


# ---- stand-ins on the host ---------------------------------------------------------------------
def _host_kernels():
    from ember import dispatch

    return dispatch.table("cpu")


def _ones(host, shape: tuple[int, ...], dtype) -> Any:
    return host["full"](shape, 1, dtype, 0)  # ones: no integer division by zero, no log(0) noise


def _stand_ins(host, args: tuple, tiny: bool) -> list:
    """The host arrays a host kernel runs on: ones of each MetaArray's dtype, of its shape or,
    when ``tiny``, of one element with its number of dims (to learn a result dtype)."""
    def one(a: Any) -> Any:
        if isinstance(a, MetaArray):
            return _ones(host, (1,) * a.ndim if tiny else a.shape, a.dtype)
        if isinstance(a, (list, tuple)):
            return type(a)(one(v) for v in a)
        return a

    return [one(a) for a in args]


def _to_meta(host, out: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(_to_meta(host, v) for v in out)
    if isinstance(out, list):
        return [_to_meta(host, v) for v in out]
    if isinstance(out, host.backend.array_types):
        return MetaArray(out.shape, host.backend.dtype_of(out))
    return out


def _result_dtype(name: str, args: tuple) -> Any:
    host = _host_kernels()
    out = host[name](*_stand_ins(host, args, tiny=True))
    return host.backend.dtype_of(out)


def _broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for s in shapes:
        for i, n in enumerate(s, ndim - len(s)):
            if n != 1:
                if out[i] != 1 and out[i] != n:  # NumPy's error, which the frontend words as PyTorch's
                    raise ValueError(f"operands could not be broadcast together with shapes {shapes}")
                out[i] = n
    return tuple(out)


# ---- kernels by rule ---------------------------------------------------------------------------
def _layout_of(arrays: list, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Strides for a new result of ``shape`` laid out as its first full-shape operand is (NumPy's
    "K" order, which the host backend's elementwise kernels and ``astype`` follow, as PyTorch's
    TensorIterator does): that operand's dims from the largest stride to the smallest, densely.
    None (C order) when no operand has the shape, or it broadcasts (a zero stride)."""
    for a in arrays:
        if a.shape == shape and 0 not in a.strides and not _is_contiguous(a):
            order = sorted(range(len(shape)), key=lambda d: -abs(a.strides[d]))
            strides, step = [0] * len(shape), 1
            for d in reversed(order):
                strides[d] = step
                step *= max(shape[d], 1)
            return tuple(strides)
    return None


def _elementwise(name: str) -> Callable:
    """Unary, binary, comparison and ternary kernels, and those shaped like their first input."""
    def run(*args: Any) -> MetaArray:
        arrays = [a for a in args if isinstance(a, MetaArray)]
        shape = _broadcast([a.shape for a in arrays])
        return MetaArray(shape, _result_dtype(name, args), _layout_of(arrays, shape))

    return run


def _reduction(name: str) -> Callable:
    def run(x: MetaArray, dims: Any, keepdim: bool) -> MetaArray:
        # dims: a tuple (sum, amax...), or one dim or None (argmax, argmin)
        axes = range(x.ndim) if dims is None else (dims,) if isinstance(dims, int) else dims
        shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape) if keepdim or i not in axes)
        return MetaArray(shape, _result_dtype(name, (x, dims, keepdim)))

    return run


def _matmul(a: MetaArray, b: MetaArray) -> MetaArray:
    sa, sb = a.shape, b.shape
    if len(sa) == 1 and len(sb) == 1:
        shape: tuple[int, ...] = ()
    elif len(sb) == 1:
        shape = sa[:-1]
    elif len(sa) == 1:
        shape = sb[:-2] + sb[-1:]
    else:
        shape = _broadcast([sa[:-2], sb[:-2]]) + (sa[-2], sb[-1])
    return MetaArray(shape, _result_dtype("matmul", (a, b)))


def _sort(x: MetaArray, dim: int, descending: bool) -> tuple[MetaArray, MetaArray]:
    from ember import dtypes

    return MetaArray(x.shape, x.dtype), MetaArray(x.shape, dtypes.int64)


def _cat(xs: list, dim: int) -> MetaArray:
    first = xs[0]
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in xs)
    return MetaArray(shape, first.dtype)


def _index_select(x: MetaArray, dim: int, index: MetaArray) -> MetaArray:
    shape = list(x.shape)
    if shape:
        shape[dim] = index.size
    return MetaArray(shape, x.dtype)


def _same_as_first(x: MetaArray, *rest: Any) -> MetaArray:
    return MetaArray(x.shape, x.dtype)


def _nonzero(x: MetaArray) -> Any:
    raise NotImplementedError("aten::nonzero: the number of nonzero elements depends on the data, which meta "
                              "tensors do not have, so data-dependent ops cannot run on the meta device")


# ---- runtime and views -------------------------------------------------------------------------
def _from_host(host_array: Any, index: int) -> MetaArray:
    return _to_meta(_host_kernels(), host_array)


def _to_host(x: MetaArray) -> Any:
    raise NotImplementedError(NO_DATA)


def _empty(shape: Any, dtype: Any, index: int) -> MetaArray:
    return MetaArray(shape, dtype)


def _full(shape: Any, value: Any, dtype: Any, index: int) -> MetaArray:
    return MetaArray(shape, dtype)


def _arange(start: Any, stop: Any, step: Any, dtype: Any, index: int) -> MetaArray:
    return MetaArray((max(0, math.ceil((stop - start) / step)),), dtype)


def _astype(x: MetaArray, dtype: Any) -> MetaArray:
    return MetaArray(x.shape, dtype, _layout_of([x], x.shape))


def _clone(x: MetaArray) -> MetaArray:
    return MetaArray(x.shape, x.dtype)


def _is_contiguous(x: MetaArray) -> bool:
    # NumPy's rule, as the host backend's: dims of size 1 do not count; an empty array is contiguous
    if x.size == 0:
        return True
    step = 1
    for n, s in zip(reversed(x.shape), reversed(x.strides)):
        if n != 1:
            if s != step:
                return False
            step *= n
    return True


def _as_strided(x: MetaArray, shape: Any, strides: Any, offset: int) -> MetaArray:
    return x._view(tuple(shape), tuple(strides), offset)


def _reshape(x: MetaArray, shape: Any) -> MetaArray:
    shape = tuple(shape)
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        shape = tuple(x.size // known if n == -1 and known else (0 if n == -1 else n) for n in shape)
    from ember.functions.shape import _compute_stride  # PyTorch's computeStride, as the frontend's views use

    strides = _compute_stride(x.shape, x.strides, shape)
    if strides is None:  # not expressible as a view: the host backend copies, so does this one
        return MetaArray(shape, x.dtype)
    return x._view(shape, strides)


def _permute(x: MetaArray, dims: Any) -> MetaArray:
    return x._view(tuple(x.shape[d] for d in dims), tuple(x.strides[d] for d in dims))


def _expand(x: MetaArray, shape: Any) -> MetaArray:
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    strides = [0] * lead + [0 if n != m else s for n, m, s in zip(shape[lead:], x.shape, x.strides)]
    return x._view(shape, tuple(strides))


def _slice(x: MetaArray, slices: Any) -> MetaArray:
    shape, strides, offset = list(x.shape), list(x.strides), x.offset
    for d, (start, stop, step) in enumerate(slices):
        start, stop, step = slice(start, stop, step).indices(x.shape[d])
        n = len(range(start, stop, step))
        shape[d] = n
        if n:
            offset += start * x.strides[d]
        strides[d] = x.strides[d] * step
    return x._view(tuple(shape), tuple(strides), offset)


def _bitcast(x: MetaArray, dtype: Any) -> MetaArray:
    old, new = x.dtype.itemsize, dtype.itemsize
    if old == new or not x.shape:
        return x._view(x.shape, x.strides, dtype=dtype)
    shape = x.shape[:-1] + (x.shape[-1] * old // new,)
    strides = tuple(s * old // new for s in x.strides[:-1]) + (1,)
    return x._view(shape, strides, x.offset * old // new, dtype)


def _nothing(*args: Any) -> None:
    """copy_ and the optimizer steps: they write values, and a meta tensor has none."""


def _no_dlpack(*args: Any) -> Any:
    raise RuntimeError("meta tensors have no memory to share over DLPack")


_RULES: dict[str, Callable] = {
    "from_host": _from_host, "to_host": _to_host, "device_index": lambda x: 0,
    "empty": _empty, "full": _full, "arange": _arange, "astype": _astype, "clone": _clone,
    "is_contiguous": _is_contiguous, "strides": lambda x: x.strides, "storage_offset": lambda x: x.offset,
    "storage_size": lambda x: x.storage.size, "as_strided": _as_strided, "copy_": _nothing,
    "reshape": _reshape, "permute": _permute, "expand": _expand, "slice": _slice, "bitcast": _bitcast,
    "flip": _same_as_first, "cat": _cat,
    "gather": lambda x, dim, index: MetaArray(index.shape, x.dtype), "scatter": _same_as_first,
    "scatter_add": _same_as_first, "index_select": _index_select, "index_put": _same_as_first,
    "nonzero": _nonzero, "matmul": _matmul, "sort": _sort,
    "rand_uniform": lambda shape, key, offset, dtype, index: MetaArray(shape, dtype),
    "rand_normal": lambda shape, key, offset, dtype, index: MetaArray(shape, dtype),
    "rand_int": lambda shape, low, high, key, offset, dtype, index: MetaArray(shape, dtype),
    "adam_step": _nothing, "adam_step_device": _nothing, "sgd_step": _nothing,
    "to_dlpack": _no_dlpack, "from_dlpack": _no_dlpack, "dlpack_device": _no_dlpack,
}
#: kernels whose result has the broadcast shape of their array arguments (besides the families)
_SHAPED_LIKE_INPUTS = frozenset({"cumsum", "cumprod", "softmax", "log_softmax", "softmax_backward",
                                 "log_softmax_backward", "gelu", "gelu_backward", "relu_backward"})


def _generic(name: str) -> Callable:
    """Any other kernel: the host kernel on ones of the real shapes; only the shapes are kept."""
    def run(*args: Any) -> Any:
        host = _host_kernels()
        return _to_meta(host, host[name](*_stand_ins(host, args, tiny=False)))

    return run


def _kernel(name: str) -> Callable:
    rule = _RULES.get(name)
    if rule is not None:
        return rule
    spec = KERNELS.get(name)
    family = spec.family if spec is not None else ""
    if family in ("unary", "binary", "comparison", "ternary") or name in _SHAPED_LIKE_INPUTS:
        return _elementwise(name)
    if family == "reduction":
        return _reduction(name)
    return _generic(name)


_BACKEND = MetaBackend()


@hookimpl
def ember_backend() -> Backend:
    return _BACKEND


@hookimpl
def ember_kernels(device_type: str) -> dict | None:
    if device_type != "meta":
        return None
    names = set(KERNELS) | set(_host_kernels().native)
    return {name: _kernel(name) for name in sorted(names)}
