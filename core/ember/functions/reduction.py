"""Reductions along ``dim`` (an int, a tuple, or None for all) with ``keepdim``, and scans.

Example:
    >>> import ember
    >>> x = ember.tensor([[1.0, 5.0], [3.0, 2.0]])
    >>> x.sum(dim=0)
    tensor([4., 7.])
    >>> x.max(dim=1)
    ember.return_types.max(
    values=tensor([5., 3.]),
    indices=tensor([1, 0]))
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable
from typing import Any

from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember._ops.out import CAST, DTYPE, EXACT
from ember._ops.registry import Family
from ember.autograd.function import Function, name_grad_fn
from ember.autograd.grad_mode import STATE
from ember.functions.complex_ops import refuse_complex, type_word
from ember.tensor import Tensor, _wrap_dim, _wrap_dims


class _ReturnType(tuple):
    _name = ""

    def __repr__(self) -> str:
        return f"ember.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


def _return_type(name: str):
    base = namedtuple(name, ["values", "indices"])
    return type(name, (base,), {"__repr__": _ReturnType.__repr__, "_name": name, "__slots__": ()})


MaxResult = _return_type("max")
MinResult = _return_type("min")
SortResult = _return_type("sort")
TopkResult = _return_type("topk")
MedianResult = _return_type("median")


def _dims(x: Tensor, dim: Any) -> tuple:
    """The sorted, wrapped reduction dims. Every dim is checked against the tensor's rank even when
    it is 0-d (PyTorch accepts only 0 and -1 there), then a 0-d tensor reduces over nothing."""
    nd = x._data.ndim
    if dim is None or (dim.__class__ in (tuple, list) and not dim):
        return tuple(range(nd))
    wrapped = _wrap_dims(dim, nd)
    return tuple(sorted(wrapped)) if nd else ()


def _expand_back(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """Broadcast a reduced gradient back over the reduced axes."""
    if not keepdim and dims:
        kshape = list(shape)
        for d in dims:
            kshape[d] = 1
        g = g.reshape(kshape)
    return g.expand(shape)


def _accum_dtype(x: Tensor, dtype: _dt.dtype | None) -> _dt.dtype:
    if dtype is not None:
        return dtype
    return x._dtype if x._dtype.is_differentiable else _dt.int64


# PyTorch reduces these in float32 (sum, mean) or wider (var, std) and rounds once at the end, so a
# sum that passes float16's 65504 on the way, or each partial sum's rounding, does not show
_HALF = (_dt.float16, _dt.bfloat16)


class Sum(Function):
    _backward_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        dt = _accum_dtype(x, dtype)
        data = x._data if dt is x._dtype else x._kt["astype"](x._data, dt)
        ctx.shape, ctx.dims, ctx.keepdim, ctx.in_dtype = x._data.shape, dims, keepdim, x._dtype
        if not dims:
            return x._new(x._kt["clone"](data), dt)
        if dt in _HALF:  # summed in float32, rounded once (see _HALF)
            wide = x._kt["sum"](x._kt["astype"](data, _dt.float32), dims, keepdim)
            return x._new(x._kt["astype"](wide, dt), dt)
        return x._new(x._kt["sum"](data, dims, keepdim), dt)

    @staticmethod
    def backward(ctx, g):
        g = _expand_back(g, ctx.shape, ctx.dims, ctx.keepdim)
        return (g if g.dtype is ctx.in_dtype else g.to(ctx.in_dtype)), None, None, None


@numpy_names
def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None) -> Tensor:  # noqa: A001
    if dtype is not None:
        dtype = _dt.dtype_arg("sum", dtype)
    if input.is_sparse:  # ember.sum(sparse): ember.sparse's composite (Tensor.sum is its own method there)
        return input.sum(dim, keepdim, dtype=dtype)
    out = Sum.apply(input, _dims(input, dim), keepdim, dtype)
    return out if dim is None else name_grad_fn(out, "SumBackward1", input)


@numpy_names
def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None) -> Tensor:
    if dtype is not None:
        dtype = _dt.dtype_arg("mean", dtype)
        if not dtype.is_differentiable:
            raise RuntimeError("mean(): could not infer output dtype. Optional dtype must be either a floating point "
                               f"or complex dtype. Got: {_type_word(dtype)}")
        if dtype not in _HALF:
            input = input.to(dtype)
    elif not input._dtype.is_differentiable:
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating point or "
                           f"complex dtype. Got: {_type_word(input._dtype)}")
    out_dtype = dtype or input._dtype
    dims = _dims(input, dim)
    n = 1
    for d in dims:
        n *= input._data.shape[d]
    # float16/bfloat16 as PyTorch: a float32 sum divided by n, then rounded (the sum alone may overflow)
    acc = _dt.float32 if out_dtype in _HALF else None
    out = Sum.apply(input, dims, keepdim, acc) / (n if n else math.nan)
    out = out if acc is None else out.to(out_dtype)
    return name_grad_fn(out, "MeanBackward0" if dim is None else "MeanBackward1", input)


def _type_word(dt: _dt.dtype) -> str:
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(dt.name, dt.name)


class Prod(Function):
    _backward_name = "ProdBackward0"

    @staticmethod
    def forward(ctx, x, dim, keepdim, dtype):
        dt = _accum_dtype(x, dtype)
        data = x._data if dt is x._dtype else x._kt["astype"](x._data, dt)
        ctx.save_for_backward(x)
        ctx.dim, ctx.keepdim = dim, keepdim
        if dim is None:
            dims = tuple(range(x._data.ndim))
            return x._new(x._kt["prod"](data, dims, False) if dims else x._kt["clone"](data), dt)
        return x._new(x._kt["prod"](data, (dim,), keepdim), dt)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        if ctx.dim is None:
            flat = x.reshape(-1)
            return (g * _prod_others(flat, 0).conj()).reshape(x.shape), None, None, None
        if not ctx.keepdim:
            g = g.unsqueeze(ctx.dim)
        return g * _prod_others(x, ctx.dim).conj(), None, None, None  # conj: complex inputs (real: itself)


def _prod_others(x: Tensor, dim: int) -> Tensor:
    """For each element, the product of the others along ``dim`` (exact with zeros)."""
    from ember.functions.shape import cat, flip, narrow

    n = x.shape[dim]
    if n == 0:
        return x
    from ember.functions.creation import ones as _ones

    shape = list(x.shape)
    shape[dim] = 1
    ones = _ones(shape, dtype=x.dtype, device=x.device)
    left = cat([ones, narrow(x, dim, 0, n - 1).cumprod(dim)], dim) if n > 1 else ones
    rx = flip(x, (dim,))
    right = flip(cat([ones, narrow(rx, dim, 0, n - 1).cumprod(dim)], dim), (dim,)) if n > 1 else ones
    return left * right


@numpy_names
def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None) -> Tensor:
    if dtype is not None:
        dtype = _dt.dtype_arg("prod", dtype)
    d = _arg_dim(input, dim)  # a 0-d input reduces over nothing, once dim is checked
    return Prod.apply(input, d, keepdim, dtype)


class _Extreme(Function):
    """amax/amin: the gradient is shared evenly among tied extremes (PyTorch's rule)."""

    _kernel = "amax"

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        for d in dims or range(x._data.ndim):
            if x._data.shape[d] == 0:
                raise IndexError(f"{cls._kernel}(): Expected reduction dim {d} to have non-zero size.")
        out = x._new(x._kt[cls._kernel](x._data, dims, keepdim) if dims else x._kt["clone"](x._data))
        ctx.save_for_backward(x, out)
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @classmethod
    def backward(cls, ctx, g):
        x, out = ctx.saved_tensors
        shape = tuple(x.shape)
        mask = (x == _expand_back(out, shape, ctx.dims, ctx.keepdim)).to(g.dtype)
        count = mask.sum(dim=ctx.dims, keepdim=True) if ctx.dims else mask
        return _expand_back(g, shape, ctx.dims, ctx.keepdim) * mask / count, None, None


class Amax(_Extreme):
    _backward_name = "AmaxBackward0"
    _kernel = "amax"


class Amin(_Extreme):
    _backward_name = "AminBackward0"
    _kernel = "amin"


def _refuse_empty_full_reduction(name: str, input: Tensor, dim: Any) -> None:
    """amax/amin over every dim of an empty tensor: PyTorch asks for a dim (a RuntimeError)."""
    if (dim is None or dim == () or dim == []) and input.numel() == 0:
        raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                           "Specify the reduction dim with the 'dim' argument.")


@numpy_names
def amax(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    refuse_complex(input, message=f'"max_values_{input._device.type}" not implemented for \'{{dtype}}\'')
    _refuse_empty_full_reduction("amax", input, dim)
    return Amax.apply(input, _dims(input, dim), keepdim)


@numpy_names
def amin(input: Tensor, dim: Any = (), keepdim: bool = False) -> Tensor:
    refuse_complex(input, message=f'"min_values_{input._device.type}" not implemented for \'{{dtype}}\'')
    _refuse_empty_full_reduction("amin", input, dim)
    return Amin.apply(input, _dims(input, dim), keepdim)


class _ExtremeDim(Function):
    """max/min along one dim: values and indices; the gradient goes to the index picked."""

    _kernel = "amax"
    _arg = "argmax"

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        if x._data.shape and x._data.shape[dim] == 0:
            raise IndexError(f"{cls._kernel[1:]}(): Expected reduction dim {dim} to have non-zero size.")
        idx = x._new(x._kt[cls._arg](x._data, dim, keepdim) if x._data.ndim else x._kt["full"]((), 0, _dt.int64, x._device.index), _dt.int64)
        vals = x._new(x._kt[cls._kernel](x._data, (dim,), keepdim) if x._data.ndim else x._kt["clone"](x._data))
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.shape, ctx.dim, ctx.keepdim = x._data.shape, dim, keepdim
        return vals, idx

    @staticmethod
    def backward(ctx, g, _gi):
        from ember.functions.creation import zeros

        (idx,) = ctx.saved_tensors
        if not ctx.shape:
            return g, None, None
        if not ctx.keepdim:
            g, idx = g.unsqueeze(ctx.dim), idx.unsqueeze(ctx.dim)
        return zeros(ctx.shape, dtype=g.dtype, device=g.device).scatter(ctx.dim, idx, g), None, None


class MaxDim(_ExtremeDim):
    _backward_name = "MaxBackward0"
    _kernel, _arg = "amax", "argmax"


class MinDim(_ExtremeDim):
    _backward_name = "MinBackward0"
    _kernel, _arg = "amin", "argmin"


def _refuse_complex_order(name: str, input: Tensor, dim: Any) -> None:
    """PyTorch's errors for max/min of a complex tensor (complex numbers have no order)."""
    if dim is None:
        refuse_complex(input, message=f'"{name}_all" not implemented for \'{{dtype}}\'')
    refuse_complex(input, message=f"{name}(): does not support complex input", error=RuntimeError)


@numpy_names
def max(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    """``max(x)`` -> value; ``max(x, dim)`` -> (values, indices); ``max(x, other)`` -> maximum."""
    if isinstance(dim, Tensor):
        from ember.functions.elementwise import maximum

        return maximum(input, dim)
    _refuse_complex_order("max", input, dim)
    if dim is None:
        return MaxAll.apply(input)
    return MaxResult(*MaxDim.apply(input, _wrap_dim(dim, input.dim()), keepdim))


@numpy_names
def min(input: Tensor, dim: Any = None, keepdim: bool = False) -> Any:  # noqa: A001
    if isinstance(dim, Tensor):
        from ember.functions.elementwise import minimum

        return minimum(input, dim)
    _refuse_complex_order("min", input, dim)
    if dim is None:
        return MinAll.apply(input)
    return MinResult(*MinDim.apply(input, _wrap_dim(dim, input.dim()), keepdim))


def _arg_dim(input: Tensor, dim: int | None) -> int | None:
    """A one-dim reduction's kernel dim (prod, argmax, argmin): None for all elements, and for a
    0-d input once ``dim`` is checked (PyTorch accepts 0 and -1 there)."""
    d = None if dim is None else _wrap_dim(dim, input.dim())
    return None if input.dim() == 0 else d


def _arg_reduce(name: str, input: Tensor, dim: int | None, keepdim: bool) -> Tensor:
    """argmax/argmin; an empty input is fine when the reduced axis itself is not empty (PyTorch)."""
    d = _arg_dim(input, dim)
    if input.numel() == 0:
        if dim is None:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0.")
        if input.dim() and input.shape[d] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")
        from ember.functions.creation import zeros

        shape = list(input.shape)
        if keepdim:
            shape[d] = 1
        else:
            del shape[d]
        return zeros(shape, dtype=_dt.int64, device=input.device)
    return input._new(input._kt[name](input._data, d, keepdim), _dt.int64)


def _refuse_bool_arg(name: str, input: Tensor) -> None:
    if input._dtype is _dt.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")


@numpy_names
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    refuse_complex(input, message="argmax(): does not support complex input", error=RuntimeError)
    _refuse_bool_arg("argmax", input)
    return _arg_reduce("argmax", input, dim, keepdim)


@numpy_names
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    refuse_complex(input, message="argmin(): does not support complex input", error=RuntimeError)
    _refuse_bool_arg("argmin", input)
    return _arg_reduce("argmin", input, dim, keepdim)


def _correction(unbiased: Any, correction: Any) -> float:
    if correction is not None:
        return float(correction)
    if unbiased is None:
        return 1.0
    return 1.0 if unbiased else 0.0


def _var_overload(name: str, dim: Any, unbiased: Any, keepdim: bool, correction: Any) -> tuple[Any, Any]:
    """PyTorch's three var/std/var_mean/std_mean overloads: ``(input, bool unbiased=True)``,
    ``(input, dim, bool unbiased=True, bool keepdim=False)`` and ``(input, dim=None, *,
    correction=None, keepdim=False)``. A bool where ``dim`` goes is the first one's ``unbiased``
    (``std(x, True)`` reduces everything), which takes nothing else; ``unbiased`` and
    ``correction`` belong to different overloads. Returns ``(dim, unbiased)``."""
    if isinstance(dim, bool):
        if unbiased is not None or keepdim or correction is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, bool, ...), "
                            "but expected one of: (Tensor input, bool unbiased = True)")
        return None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got (Tensor, ..., "
                        "correction=..., unbiased=bool), but expected one of the unbiased or the correction forms")
    return dim, unbiased


@numpy_names
def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None,
        _name: str = "var") -> Tensor:
    if not input._dtype.is_differentiable:  # checked before dim, as PyTorch does
        what = "std and var" if _name in ("std", "var") else _name
        raise RuntimeError(f"{what} only support floating point and complex dtypes")
    dim, unbiased = _var_overload(_name, dim, unbiased, keepdim, correction)
    dims = _dims(input, dim)
    if input._dtype in _HALF:
        return _HalfVarStd.apply(input, dims, _correction(unbiased, correction), keepdim, False, _name)
    n = 1
    for d in dims:
        n *= input.shape[d]
    centred = input - mean(input, dims, keepdim=True)
    denom = n - _correction(unbiased, correction)
    if denom <= 0:
        import warnings

        warnings.warn(f"{_name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
                      "factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    # PyTorch divides by max(0, n - correction): inf (or NaN for 0/0) when no degree of freedom is left
    # complex: |x - mean|^2 (a real result, as PyTorch's)
    sq = centred.real.square() + centred.imag.square() if centred._dtype.is_complex else centred * centred
    return name_grad_fn(Sum.apply(sq, dims, keepdim, None) / (denom if denom > 0 else 0.0), "VarBackward0", input)


class _StdSqrt(Function):
    """sqrt of a variance with PyTorch's std_backward: the gradient is 0 where the std is 0 (a
    constant input), where sqrt's 1 / (2 * 0) = inf times var's 0 would give NaN."""

    _backward_name = "StdBackward0"

    @staticmethod
    def forward(ctx, v):
        out = v.sqrt()
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import where  # (elementwise imports this module)

        (out,) = ctx.saved_tensors
        return where(out == 0, 0.0, g / (out * 2))


class _HalfVarStd(Function):
    """var/std of float16/bfloat16 as PyTorch: computed in float32 and rounded once (see _HALF),
    and std of those and of float32 computed in float64 (PyTorch accumulates in double: std of
    [1e20, -1e20, 0.] is 1e20, where squares in float32 overflow to inf), while the backward is its var_backward / std_backward formulas in the input's own dtype (so,
    as there, ``2 * std`` overflowing float16 gives a zero gradient)."""

    _backward_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, take_sqrt, name):
        wide = var(x.double() if take_sqrt else x.float(), dims, keepdim=keepdim, correction=correction, _name=name)
        out = (wide.sqrt() if take_sqrt else wide).to(x.dtype)
        ctx.save_for_backward(x, out)
        ctx.args = dims, correction, keepdim, take_sqrt
        return out

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import where  # (elementwise imports this module)

        x, out = ctx.saved_tensors
        dims, correction, keepdim, take_sqrt = ctx.args
        if take_sqrt:  # std_backward
            g = where(out == 0, 0.0, g / (out * 2))
        if not keepdim and dims:
            g = _expand_back(g, tuple(x.shape), dims, False)
        n = 1
        for d in dims:
            n *= x.shape[d]
        centred = x - mean(x, dims, keepdim=True)
        if n - correction == 0:  # var_backward: 2 / 0 = inf (NaN where x is its mean); < 0 is finite
            return g * centred * math.inf, None, None, None, None, None
        return (2.0 / (n - correction)) * g * centred, None, None, None, None, None


def _std(input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, name: str) -> Tensor:
    if input._dtype in _HALF or input._dtype is _dt.float32:  # in float64 (see _HalfVarStd)
        return _HalfVarStd.apply(input, _dims(input, dim), _correction(unbiased, correction), keepdim, True, name)
    return _StdSqrt.apply(var(input, dim, unbiased, keepdim, correction=correction, _name=name))


@numpy_names
def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None) -> Tensor:
    dim, unbiased = _var_overload("std", dim, unbiased, keepdim, correction)
    return name_grad_fn(_std(input, dim, unbiased, keepdim, correction, "std"), "StdBackward0", input)


@numpy_names
def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None):
    dim, unbiased = _var_overload("var_mean", dim, unbiased, keepdim, correction)
    v = var(input, dim, unbiased, keepdim, correction=correction, _name="var_mean")
    return name_grad_fn(v, "VarMeanBackward0", input), name_grad_fn(mean(input, dim, keepdim), "VarMeanBackward0", input)


@numpy_names
def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *, correction: Any = None):
    dim, unbiased = _var_overload("std_mean", dim, unbiased, keepdim, correction)
    std_ = _std(input, dim, unbiased, keepdim, correction, "std_mean")
    return (name_grad_fn(std_, "StdMeanBackward0", input),
            name_grad_fn(mean(input, dim, keepdim), "StdMeanBackward0", input))


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, dtype: _dt.dtype | None = None) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); 'fro' is the 2-norm.

    Routed as PyTorch's ``torch.norm``: ``linalg.vector_norm`` (whose backward is PyTorch's
    norm_backward: 0 where the norm is 0, or where an element is 0 for p < 1, not 0 / 0), and
    ``linalg.matrix_norm`` for 'nuc' and the other strings, or 'fro' over more than two dims.
    """
    from ember import linalg

    dims = [dim] if isinstance(dim, int) else dim
    if isinstance(p, str):
        if p == "fro" and (dims is None or len(dims) <= 2):
            return linalg.vector_norm(input, 2, dims, keepdim, dtype=dtype)
        if p not in ("fro", "nuc"):  # PyTorch checks the order before the rank
            raise RuntimeError(f"linalg.matrix_norm: Order {p} not supported.")
        return linalg.matrix_norm(input, p, list(range(input.dim())) if dims is None else dims, keepdim, dtype=dtype)
    return linalg.vector_norm(input, 2.0 if p is None else p, dims, keepdim, dtype=dtype)


def _logical_result(input: Tensor, data: Any) -> Tensor:
    """``any``/``all``'s result: bool, but uint8 for a uint8 input (PyTorch keeps NumPy's old rule)."""
    out = input._new(data, _dt.bool_)
    return out.to(_dt.uint8) if input._dtype is _dt.uint8 else out


@numpy_names
def all(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    dims = _dims(input, dim)
    data = input._data if input._dtype is _dt.bool_ else input._kt["ne"](input._data, 0)
    return _logical_result(input, input._kt["all"](data, dims, keepdim) if dims else data)


@numpy_names
def any(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    dims = _dims(input, dim)
    data = input._data if input._dtype is _dt.bool_ else input._kt["ne"](input._data, 0)
    return _logical_result(input, input._kt["any"](data, dims, keepdim) if dims else data)


@numpy_names
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    return sum((input != 0).to(_dt.int64), dim)


class Cumsum(Function):
    _backward_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        dt = _accum_dtype(x, dtype)
        data = x._data if dt is x._dtype else x._kt["astype"](x._data, dt)
        ctx.dim, ctx.in_dtype = dim, x._dtype
        if x._data.ndim == 0:
            return x._new(x._kt["clone"](data), dt)
        return x._new(x._kt["cumsum"](data, dim), dt)

    @staticmethod
    def backward(ctx, g):
        if g.dim() == 0:
            return g, None, None
        out = g.flip(ctx.dim).cumsum(ctx.dim).flip(ctx.dim)
        return out.to(ctx.in_dtype), None, None


def _scan_args(name: str, input: Tensor, dim: Any, dtype: Any) -> tuple[int, _dt.dtype | None]:
    """(wrapped dim, dtype) of cumsum/cumprod, with PyTorch's checks: no bool result (its scan
    kernels have no bool instance: a bool input counts in int64 unless ``dtype``/``out`` says bool)."""
    if dtype is not None:
        dtype = _dt.dtype_arg(name, dtype)
        if dtype is _dt.bool_:
            raise NotImplementedError(f"\"{name}_out_cpu\" not implemented for 'Bool'")
    return _wrap_dim(int_arg(name, "dim", dim), input.dim()), dtype


def _scan_(name: str, fn: Callable, self: Tensor, dim: Any, dtype: Any) -> Tensor:
    """``self.cumsum_``/``cumprod_``: PyTorch's ``<name>_out(self, self)``, computed in self's dtype,
    which a given ``dtype`` must equal."""
    from ember.functions.elementwise import assign_inplace
    from ember.tensor import _CPP_TYPE

    if dtype is not None and _dt.dtype_arg(name, dtype) is not self.dtype:
        raise RuntimeError(f"Bad in-place call: input tensor dtype {_CPP_TYPE[self.dtype.name]} and output tensor "
                           f"dtype {_CPP_TYPE[_dt.dtype_arg(name, dtype).name]} should match")
    return assign_inplace(self, fn(self, dim, dtype=self.dtype))


@numpy_names
def cumsum(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    dim, dtype = _scan_args("cumsum", input, dim, dtype)
    return Cumsum.apply(input, dim, dtype)


class Cumprod(Function):
    _backward_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        dt = _accum_dtype(x, dtype)
        data = x._data if dt is x._dtype else x._kt["astype"](x._data, dt)
        out = x._new(x._kt["cumprod"](data, dim) if x._data.ndim else x._kt["clone"](data), dt)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        if x.dim() == 0:
            return g, None, None
        return _cumprod_grad(x, out, g, ctx.dim), None, None


def _cumprod_grad(x: Tensor, out: Tensor, g: Tensor, d: int) -> Tensor:
    """Gradient of cumprod along ``d``, exact with zeros in the input (PyTorch's cases, written
    without a host sync): before a slice's first zero, d out_k / d x_i = out_k / x_i; at the first
    zero it is the product of every other factor up to k; after it, 0 (a zero factor remains)."""
    from ember.functions.elementwise import where  # (elementwise imports this module)

    def rev_cumsum(t: Tensor) -> Tensor:
        return t.flip(d).cumsum(d).flip(d)

    is_zero = x == 0
    zeros_so_far = is_zero.long().cumsum(d)
    before = zeros_so_far == 0
    first_zero = is_zero & (zeros_so_far == 1)
    plain = rev_cumsum(g * out) / where(before, x, 1)
    others = cumprod(where(first_zero, 1, x), d)  # the product without the first zero's factor
    at_zero = rev_cumsum(g * others)
    return where(before, plain, where(first_zero, at_zero, 0))


@numpy_names
def cumprod(input: Tensor, dim: int, *, dtype: _dt.dtype | None = None) -> Tensor:
    dim, dtype = _scan_args("cumprod", input, dim, dtype)
    return Cumprod.apply(input, dim, dtype)


@numpy_names
def logsumexp(input: Tensor, dim: Any, keepdim: bool = False) -> Tensor:
    dims = _dims(input, dim)
    if not input._dtype.is_differentiable:
        input = input.to(_dt.get_default_dtype())
    if input.numel() == 0:  # an empty reduction is log(0) = -inf, and there is no max to shift by
        out = sum(input.exp(), dims, keepdim=True).log()
    else:  # complex: shift by the largest real part (complex numbers have no max)
        m = amax(input.real if input._dtype.is_complex else input, dims, keepdim=True).detach()
        m = m.masked_fill(m.isinf(), 0.0)
        out = sum((input - m).exp(), dims, keepdim=True).log() + m
    return name_grad_fn(out if keepdim else out.squeeze(dims), "LogsumexpBackward0", input)


def _empty_like_data(x: Tensor) -> Tensor:
    """A new tensor of ``x``'s (empty) shape, dtype and device."""
    return x._new(x._kt["full"](tuple(x._data.shape), 0, x._dtype, x._device.index))


class Softmax(Function):
    _backward_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if 0 in x._data.shape:  # nothing to normalise: an empty result (the kernels' max has no identity)
            out = _empty_like_data(x)
        elif x._kt.has("softmax"):
            out = x._new(x._kt["softmax"](x._data, dim))
        else:
            with_max = x - amax(x, (dim,), keepdim=True)
            e = with_max.exp()
            out = e / e.sum(dim, keepdim=True)
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if 0 in y._data.shape:
            return _empty_like_data(g), None
        if not STATE.enabled and y._data.ndim and y._kt.has("softmax_backward") and g._dtype is y._dtype:
            return y._new(y._kt["softmax_backward"](g._data, y._data, ctx.dim)), None  # one kernel, no graph
        return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    _backward_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if 0 in x._data.shape:  # nothing to normalise: an empty result (the kernels' max has no identity)
            out = _empty_like_data(x)
        elif x._kt.has("log_softmax"):
            out = x._new(x._kt["log_softmax"](x._data, dim))
        else:
            shifted = x - amax(x, (dim,), keepdim=True)
            out = shifted - shifted.exp().sum(dim, keepdim=True).log()
        ctx.save_for_backward(out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        if 0 in y._data.shape:
            return _empty_like_data(g), None
        if not STATE.enabled and y._data.ndim and y._kt.has("log_softmax_backward") and g._dtype is y._dtype:
            return y._new(y._kt["log_softmax_backward"](g._data, y._data, ctx.dim)), None
        return g - y.exp() * g.sum(ctx.dim, keepdim=True), None


def _softmax_dim(x: Tensor, dim: int | None) -> int:
    if dim is None:
        dim = 0 if x.dim() in (0, 1, 3) else 1  # PyTorch's legacy implicit choice
    return _wrap_dim(dim, x.dim())


def _softmax_refused(x: Tensor, dim: int, name: str) -> NotImplementedError:
    """PyTorch's error for a softmax of a non-float dtype: its CPU kernel's name (the last dim has
    its own) and its name of the dtype (``ComplexFloat``...)."""
    from ember.functions.complex_ops import type_word

    kernel = "lastdim_kernel_impl" if dim >= x.dim() - 1 else "kernel_impl"
    return NotImplementedError(f'"{name}_{kernel}" not implemented for \'{type_word(x._dtype)}\'')


@numpy_names
def softmax(input: Tensor, dim: int | None = None, dtype: _dt.dtype | None = None) -> Tensor:
    if dtype is not None:
        input = input.to(_dt.dtype_arg("softmax", dtype))
    dim = _softmax_dim(input, dim)  # checked on 0-d inputs too, and before the dtype (PyTorch's order)
    if not input._dtype.is_floating_point:
        raise _softmax_refused(input, dim, "softmax")
    if input.dim() == 0:
        return input / input
    return Softmax.apply(input, dim)


@numpy_names
def log_softmax(input: Tensor, dim: int | None = None, dtype: _dt.dtype | None = None) -> Tensor:
    if dtype is not None:
        input = input.to(_dt.dtype_arg("log_softmax", dtype))
    dim = _softmax_dim(input, dim)  # checked on 0-d inputs too, and before the dtype (PyTorch's order)
    if not input._dtype.is_floating_point:
        raise _softmax_refused(input, dim, "log_softmax")
    if input.dim() == 0:
        return input - input
    return LogSoftmax.apply(input, dim)


class Sort(Function):
    _backward_name = "SortBackward0"

    @staticmethod
    def forward(ctx, x, dim, descending):
        if x._data.ndim == 0:
            idx = x._new(x._kt["full"]((), 0, _dt.int64, x._device.index), _dt.int64)
            ctx.mark_non_differentiable(idx)
            ctx.dim = None
            return x._new(x._kt["clone"](x._data)), idx
        vals, idx = x._kt["sort"](x._data, dim, descending)
        vals, idx = x._new(vals), x._new(idx, _dt.int64)
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(idx)
        ctx.dim, ctx.shape = dim, x._data.shape
        return vals, idx

    @staticmethod
    def backward(ctx, g, _gi):
        from ember.functions.creation import zeros

        if ctx.dim is None:
            return g, None, None
        (idx,) = ctx.saved_tensors
        return zeros(ctx.shape, dtype=g.dtype, device=g.device).scatter(ctx.dim, idx, g), None, None


@numpy_names
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool | None = False) -> Any:
    """Sort along ``dim``. Every backend's sort kernel is stable, so ``stable=True`` changes nothing:
    equal values keep their order, NaN sorts last (first when ``descending``), as in PyTorch."""
    refuse_complex(input, message=" Sort does not support complex dtypes on CPU", error=RuntimeError)
    return SortResult(*Sort.apply(input, _wrap_dim(dim, input.dim()), descending))


@numpy_names
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    return sort(input, dim, descending).indices


def int_arg(op: str, name: str, value: Any) -> int:
    """``value`` as the int PyTorch's argument parser takes for an ``int`` parameter (an int, a NumPy
    integer, a 0-d integer tensor); anything else (a float, a bool) is its TypeError."""
    if type(value) is int:  # the common case, checked first
        return value
    if not isinstance(value, bool) and hasattr(value, "__index__") and not getattr(value, "is_floating_point",
                                                                                     lambda: False)():
        try:
            return value.__index__()
        except TypeError:
            pass
    raise TypeError(f"{op}(): argument '{name}' must be int, not {type(value).__name__}")


@numpy_names
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
    refuse_complex(input, message=" topk does not support complex dtypes on CPU", error=RuntimeError)
    if input.dtype is _dt.bool_:
        raise RuntimeError("topk does not support bool dtypes on CPU")
    k = int_arg("topk", "k", k)
    d = _wrap_dim(int_arg("topk", "dim", dim), input.dim())
    if not 0 <= k <= (input.shape[d] if input.dim() else 1):
        raise RuntimeError("selected index k out of range")
    vals, idx = sort(input, d, descending=largest)
    if input.dim() == 0:  # 0-d: itself and index 0 (narrow needs a dim)
        return TopkResult(vals, idx)
    return TopkResult(name_grad_fn(vals.narrow(d, 0, k), "TopkBackward0", input), idx.narrow(d, 0, k))


def msort(input: Tensor) -> Tensor:
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


def _median_pick(input: Tensor, d: int) -> tuple:
    """(values, indices) with keepdim of the lower median along ``d``. NaN propagates as in PyTorch:
    a row holding NaN gives NaN and the index of its first NaN (the first NaN of the stable ascending
    sort, which puts NaN last)."""
    vals, idx = sort(input, d)
    if input.dim() == 0:  # 0-d: itself and index 0 (narrow needs a dim)
        return vals, idx
    n = input.shape[d]
    k = (n - 1) // 2
    if not input._dtype.is_floating_point:
        return vals.narrow(d, k, 1), idx.narrow(d, k, 1)
    from ember.functions.elementwise import where

    nans = input.isnan().sum(d, keepdim=True)
    pos = where(nans > 0, n - nans, k)
    return vals.gather(d, pos), idx.gather(d, pos)


class _EvenlyDistributed(Function):
    """A reduction of all elements to one of them (``max()``, ``min()``, ``median()``): backward
    spreads the gradient evenly over every element equal to the result, NaN counting as equal to
    NaN (PyTorch's evenly_distribute_backward), so a NaN result gives finite gradients."""

    @classmethod
    def forward(cls, ctx, x):
        value = cls._value(x)
        ctx.save_for_backward(x, value)
        return value

    @staticmethod
    def backward(ctx, g):
        x, value = ctx.saved_tensors
        mask = (x == value) | (x.isnan() & value.isnan())
        return mask.to(g.dtype) * (g / mask.sum())


class MaxAll(_EvenlyDistributed):
    _backward_name = "MaxBackward1"
    _kernel = "amax"

    @classmethod
    def _value(cls, x: Tensor) -> Tensor:
        if x.numel() == 0:
            name = cls._kernel[1:]
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. Specify "
                               "the reduction dim with the 'dim' argument.")
        dims = tuple(range(x._data.ndim))
        return x._new(x._kt[cls._kernel](x._data, dims, False) if dims else x._kt["clone"](x._data))


class MinAll(MaxAll):
    _backward_name = "MinBackward1"
    _kernel = "amin"


class MedianAll(_EvenlyDistributed):
    _backward_name = "MedianBackward0"

    @staticmethod
    def _value(x: Tensor) -> Tensor:
        flat = x.reshape(-1)
        if flat.numel() == 0:
            from ember.functions.creation import full

            return full((), math.nan, dtype=x.dtype, device=x.device)
        return _median_pick(flat, 0)[0].reshape(())


@numpy_names
def median(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """The lower median (PyTorch's definition), over all elements or along ``dim``; NaN propagates."""
    if input._dtype is _dt.bool_ or input._dtype.is_complex:  # no instance of PyTorch's kernels
        kernel = f"median_{input._device.type}" if dim is None else "median_out"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{type_word(input._dtype)}'")
    if dim is None:
        return MedianAll.apply(input)
    d = _wrap_dim(dim, input.dim())
    if input.dim() and input.shape[d] == 0:
        raise IndexError(f"median(): Expected reduction dim {d} to have non-zero size.")
    if input.numel() == 0:  # no elements, but the reduced dim has some: an empty result that keeps the graph
        from ember.functions.creation import zeros

        v = input.narrow(d, 0, 1)
        v = v if keepdim else v.squeeze(d)
        return MedianResult(v, zeros(tuple(v.shape), dtype=_dt.int64, device=input.device))
    v, i = _median_pick(input, d)
    if not keepdim and input.dim():
        v, i = v.squeeze(d), i.squeeze(d)
    return MedianResult(name_grad_fn(v, "MedianBackward1"), i)


# ---- declarations: Tensor methods, in-place forms, ``ember.*`` and ``__all__`` come from these ----
@numpy_names
def _cumsum_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _scan_("cumsum", cumsum, self, dim, dtype)


@numpy_names
def _cumprod_(self: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    return _scan_("cumprod", cumprod, self, dim, dtype)


_ops = Family(__name__)
_op = _ops.op
# ``out=`` (ember._ops.out): the op's dtype is out's (DTYPE), a cast into it (CAST), or the result's only
_AMAX_OUT = "Expected the dtype for input and out to match, but got {result} for input's dtype and {out} for out's dtype."
_BOOL_OUT = "{name} only supports bool tensor for result, got: {out}"
_op(sum, out=DTYPE, kernels=("sum",))
_op(mean, out=CAST, kernels=("sum",))
_op(prod, out=DTYPE, kernels=("prod",))
_op(amax, out=_AMAX_OUT, kernels=("amax",))
_op(amin, out=_AMAX_OUT, kernels=("amin",))
_op(max, out=EXACT, kernels=("amax",))
_op(min, out=EXACT, kernels=("amin",))
_op(argmax, out=EXACT, kernels=("argmax",))
_op(argmin, out=EXACT, kernels=("argmin",))
_op(var, out=CAST, kernels=("sum",))
_op(std, out=CAST)
_op(var_mean, method=False)
_op(std_mean, method=False)
_op(norm, out=EXACT)
_op(all, out=_BOOL_OUT, kernels=("all", "ne"))
_op(any, out=_BOOL_OUT, kernels=("any", "ne"))
_op(cumsum, inplace=_cumsum_, out=DTYPE, kernels=("cumsum",))
_op(cumprod, inplace=_cumprod_, out=DTYPE, kernels=("cumprod",))
_op(logsumexp, out=CAST)
_op(softmax, out=EXACT, kernels=("softmax",))
_op(log_softmax, out=EXACT, kernels=("log_softmax",))
_op(sort, out=EXACT, kernels=("sort",))
for _fn in (argsort, topk, median, msort):
    _op(_fn, out=EXACT)
_op(count_nonzero)

__all__ = _ops.names()
