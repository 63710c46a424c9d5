"""Statistics and scans: nanmean, nansum, kthvalue, mode, quantile, cummax, cummin, logcumsumexp, diff
(issue #14 sections 3/4).

Every op here is a composite of required kernels (sort, gather, elementwise, a log-step scan built
from ``narrow``/``cat``), so every backend runs it on the device, and gradients come from the ops it
is made of, except ``logcumsumexp`` whose backward is PyTorch's formula.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 3.0, 2.0, 5.0])
    >>> ember.cummax(x, 0)
    ember.return_types.cummax(
    values=tensor([1., 3., 3., 5.]),
    indices=tensor([0, 1, 1, 3]))
    >>> ember.quantile(x, 0.5)
    tensor(2.5000)
"""

from __future__ import annotations

import math
from collections import namedtuple
from collections.abc import Callable
from typing import Any

from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember._ops.registry import Family
from ember.autograd.function import Function, name_grad_fn
from ember.autograd.grad_mode import no_grad
from ember.functions import reduction as _r
from ember.functions.complex_ops import type_word
from ember.tensor import Tensor, _wrap_dim

# ---- named-tuple results (torch.return_types.*) ----------------------------------------------


def _return_type(name: str, fields: tuple[str, str] = ("values", "indices")) -> type:
    base = namedtuple(name, fields)

    def __repr__(self: Any) -> str:
        return f"ember.return_types.{name}(\n{fields[0]}={self[0]!r},\n{fields[1]}={self[1]!r})"

    return type(name, (base,), {"__repr__": __repr__, "__slots__": ()})


CummaxResult = _return_type("cummax")
CumminResult = _return_type("cummin")
KthvalueResult = _return_type("kthvalue")
ModeResult = _return_type("mode")
NanmedianResult = _return_type("nanmedian")
AminmaxResult = _return_type("aminmax", ("min", "max"))
# grad_fn names PyTorch gives these ops' results (nanmedian's reaches _outs only with a dim)
_NODE_NAMES = {CummaxResult: "CummaxBackward0", CumminResult: "CumminBackward0", KthvalueResult: "KthvalueBackward0",
               ModeResult: "ModeBackward0", NanmedianResult: "NanmedianBackward1", AminmaxResult: "AminmaxBackward0"}


# ---- shared pieces ---------------------------------------------------------------------------


def _out(result: Tensor, out: Tensor | None) -> Tensor:
    from ember.functions.elementwise import _out as write

    return write(result, out)


# PyTorch's words where an ``out`` must have exactly the result's dtype (scan kernels' check)
_SCALAR_TYPE = "expected scalar_type {result} but found {out}"
_KTHVALUE_OUT = ("output values must be of same type as input", "output indices must be of scalar type Long")


def _exact_dtype(result: Tensor, out: Any, message: str) -> None:
    """Refuse an ``out`` whose dtype is not the result's, in ``message`` (on the out= path only)."""
    if isinstance(out, Tensor) and out._dtype is not result._dtype:
        from ember.functions.indexing import _scalar_type

        raise RuntimeError(message.format(result=_scalar_type(result._dtype), out=_scalar_type(out._dtype)))


def _outs(result: tuple, out: Any, kind: type, exact: tuple[str, ...] | None = None) -> Any:
    """A (values, indices)-like result written into ``out=(a, b)`` when given; with ``exact`` (one
    message per output), each ``out`` must have its result's dtype."""
    if out is None:
        node = _NODE_NAMES.get(kind)
        if node is not None:  # PyTorch's one node per op (ember's values end in a gather, squeeze, ...)
            result = tuple(name_grad_fn(r, node) if r._dtype.is_differentiable else r for r in result)
        return kind(*result)
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{kind.__name__}(): argument 'out' must be tuple of Tensors of length {len(result)}")
    for r, o, message in zip(result, out, exact or ()):
        _exact_dtype(r, o, message)
    return kind(*(_out(r, o) for r, o in zip(result, out)))


def _not_for(name: str, input: Tensor, *, allow_int: bool = True, allow_bool: bool = True,
             allow_complex: bool = True) -> None:
    """PyTorch's NotImplementedError for a dtype a CPU kernel is not built for."""
    dt = input._dtype
    if dt.is_complex and not allow_complex:
        raise NotImplementedError(f'"{name}" not implemented for \'{type_word(dt)}\'')
    if (dt is _dt.bool_ and not allow_bool) or (not (dt.is_floating_point or dt.is_complex or dt is _dt.bool_) and not allow_int):
        raise NotImplementedError(f'"{name}" not implemented for \'{_r._type_word(dt)}\'')


def _positions(x: Tensor, dim: int) -> Tensor:
    """0, 1, ..., n-1 along ``dim`` (int64), shaped to broadcast against ``x``."""
    from ember.functions.creation import arange

    shape = [1] * x.dim()
    shape[dim] = x.shape[dim]
    return arange(x.shape[dim], dtype=_dt.int64, device=x.device).reshape(shape)


def _scan(x: Tensor, dim: int, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Inclusive scan of an associative ``combine`` along ``dim``: log2(n) steps of
    ``x[k:] = combine(x[k:], x[:-k])`` (Hillis-Steele), each a few whole-tensor ops on the device."""
    from ember.functions.shape import cat

    n = x.shape[dim]
    k = 1
    while k < n:
        x = cat([x.narrow(dim, 0, k), combine(x.narrow(dim, k, n - k), x.narrow(dim, 0, n - k))], dim)
        k *= 2
    return x


def _sequential_scan(x: Tensor, dim: int, combine: Callable[[Tensor, Tensor], Tensor]) -> Tensor:
    """Inclusive scan combining one element at a time, ``acc = combine(x[i], acc)``, as PyTorch's CPU
    scan does: for a combine that is associative only up to a multiple of 2*pi i (the complex
    log-add-exp, whose log1p takes the principal branch), the order decides the imaginary part."""
    from ember.functions.shape import stack

    if x.shape[dim] == 0:
        return x
    acc = x.select(dim, 0)
    outs = [acc]
    for i in range(1, x.shape[dim]):
        acc = combine(x.select(dim, i), acc)
        outs.append(acc)
    return stack(outs, dim)


def _select(values: Tensor, indices: Tensor, dim: int, pos: Tensor, keepdim: bool) -> tuple[Tensor, Tensor]:
    """``values``/``indices`` gathered at ``pos`` (keepdim-shaped) along ``dim``; gradients reach the
    picked element through ``gather``, as PyTorch's value_selecting_reduction_backward does."""
    v, i = values.gather(dim, pos), indices.gather(dim, pos)
    if not keepdim:
        v, i = v.squeeze(dim), i.squeeze(dim)
    return v, i


def _empty_result(input: Tensor, dim: int, keepdim: bool, name: str) -> tuple[Tensor, Tensor] | None:
    """(values, indices) for an input with no elements, or None when there are some. A reduced dim
    of size 0 is PyTorch's IndexError."""
    if input.numel():
        return None
    from ember.functions.creation import zeros

    if input.shape[dim] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {dim} to have non-zero size.")
    values = input.narrow(dim, 0, 1)  # no elements either, but it keeps the graph (requires_grad) as PyTorch's
    if not keepdim:
        values = values.squeeze(dim)
    return values, zeros(tuple(values.shape), dtype=_dt.int64, device=input.device)


def _scalar_pair(input: Tensor) -> tuple[Tensor, Tensor]:
    """A 0-d input's (values, indices) for a one-dim selection: itself (differentiably) and 0."""
    from ember.functions.creation import zeros

    return input.reshape(()), zeros((), dtype=_dt.int64, device=input.device)


# ---- NaN-ignoring reductions ---------------------------------------------------------------------


class _ZeroNaN(Function):
    """NaN -> 0; the gradient is ``g * (x is not NaN)``, a product as in PyTorch's nansum backward (so
    an infinite incoming gradient, from an all-NaN slice's 0/0 mean, gives NaN there, not 0)."""

    _backward_name = "NansumBackward0"

    @staticmethod
    def forward(ctx, x):
        keep = x.isnan().logical_not()
        ctx.save_for_backward(keep)
        return x.masked_fill(keep.logical_not(), 0)

    @staticmethod
    def backward(ctx, g):
        (keep,) = ctx.saved_tensors
        return g * keep.to(g.dtype)


def _zero_nan(input: Tensor) -> Tensor:
    if not input._dtype.is_floating_point:
        return input
    return _ZeroNaN.apply(input)  # NaN positions get no gradient (unless it is inf or NaN), as in PyTorch


@numpy_names
def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None,
           out: Tensor | None = None) -> Tensor:
    """Sum over ``dim`` treating NaN as zero.

    Example:
        >>> import ember
        >>> ember.nansum(ember.tensor([1.0, float("nan"), 2.0]))
        tensor(3.)
    """
    dtype = _dt.dtype_arg("nansum", dtype)
    if input._dtype.is_complex:  # PyTorch's CPU kernel refuses complex tensors
        raise RuntimeError(f"nansum on {_device_word(input)} does not support complex inputs")
    if dtype is not None and dtype.is_complex:
        raise NotImplementedError(f'"nansum_{input._device.type}" not implemented for \'{type_word(dtype)}\'')
    return _out(_r.sum(_zero_nan(input), dim, keepdim, dtype=dtype), out)


def _device_word(t: Tensor) -> str:
    """A device type as PyTorch's messages write it (CPU, CUDA)."""
    return t._device.type.upper()


@numpy_names
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: _dt.dtype | None = None,
            out: Tensor | None = None) -> Tensor:
    """Mean over ``dim`` of the elements that are not NaN (NaN where all are).

    Example:
        >>> import ember
        >>> ember.nanmean(ember.tensor([1.0, float("nan"), 2.0]))
        tensor(1.5000)
    """
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        raise RuntimeError("nanmean(): expected input to have floating point or complex dtype but got "
                           f"{_r._type_word(input._dtype)}")
    count = _r.sum(input.isnan().logical_not(), dim, keepdim)
    return _out(nansum(input, dim, keepdim, dtype=dtype) / count, out)


def _nanmedian_pos(vals: Tensor, input: Tensor, dim: int) -> Tensor:
    """The lower median's position among the non-NaN values (sorted first); 0 for an all-NaN row."""
    from ember.functions.elementwise import where

    if not input._dtype.is_floating_point:
        from ember.functions.creation import full

        shape = list(vals.shape)
        shape[dim] = 1
        return full(shape, (input.shape[dim] - 1) // 2, dtype=_dt.int64, device=vals.device)
    count = _r.sum(input.isnan().logical_not(), dim, keepdim=True)
    return where(count > 0, (count - 1) // 2, 0)


class NanmedianAll(_r._EvenlyDistributed):
    _backward_name = "NanmedianBackward0"

    @staticmethod
    def _value(x: Tensor) -> Tensor:
        flat = x.reshape(-1)
        if flat.numel() == 0:
            from ember.functions.creation import full

            return full((), math.nan, dtype=x.dtype, device=x.device)
        vals, _ = _r.sort(flat, 0)
        return vals.gather(0, _nanmedian_pos(vals, flat, 0)).reshape(())


@numpy_names
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """The lower median of the non-NaN values, over all elements or along ``dim`` (then with indices).

    Example:
        >>> import ember
        >>> ember.nanmedian(ember.tensor([3.0, float("nan"), 1.0, 2.0]))
        tensor(2.)
    """
    _not_for("median_cpu" if dim is None else "median_out", input, allow_bool=False, allow_complex=False)
    if dim is None:
        if out is not None:  # PyTorch has out= only on the dim form
            raise TypeError('nanmedian() missing 1 required positional arguments: "dim"')
        return NanmedianAll.apply(input)
    d = _wrap_dim(dim, input.dim())
    if input.dim() == 0:
        return _outs(_scalar_pair(input), out, NanmedianResult)
    empty = _empty_result(input, d, keepdim, "median")
    if empty is not None:
        return _outs(empty, out, NanmedianResult)
    vals, idx = _r.sort(input, d)
    return _outs(_select(vals, idx, d, _nanmedian_pos(vals, input, d), keepdim), out, NanmedianResult)


# ---- order statistics ------------------------------------------------------------------------------


@numpy_names
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """The ``k``-th smallest element (1-based) along ``dim`` and its index; NaN counts as the largest.

    Among equal values PyTorch's index depends on its selection algorithm; ember's is the one the
    stable ascending sort puts at position ``k - 1``.

    Example:
        >>> import ember
        >>> ember.kthvalue(ember.tensor([4.0, 1.0, 3.0]), 2)
        ember.return_types.kthvalue(
        values=tensor(3.),
        indices=tensor(2))
    """
    _not_for("kthvalue_cpu", input, allow_bool=False, allow_complex=False)
    k = _r.int_arg("kthvalue", "k", k)
    d = _wrap_dim(dim, input.dim())
    n = input.shape[d] if input.dim() else 1
    if input.dim() and n == 0:
        raise IndexError(f"kthvalue(): Expected reduction dim {d} to have non-zero size.")
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    if input.dim() == 0:
        return _outs(_scalar_pair(input), out, KthvalueResult, _KTHVALUE_OUT)
    vals, idx = _r.sort(input, d)
    v, i = vals.narrow(d, k - 1, 1), idx.narrow(d, k - 1, 1)
    if not keepdim:
        v, i = v.squeeze(d), i.squeeze(d)
    return _outs((v, i), out, KthvalueResult, _KTHVALUE_OUT)


def _mode_pos(vals: Tensor, dim: int) -> Tensor:
    """Where, in ``vals`` (sorted along ``dim``), the last element of the first longest run of equal
    values lies (keepdim-shaped). NaN equals nothing, so every NaN is a run of one (PyTorch's CPU
    kernel compares with ``!=`` too)."""
    from ember.functions.creation import ones
    from ember.functions.elementwise import maximum, where
    from ember.functions.shape import cat

    n = vals.shape[dim]
    pos = _positions(vals, dim)
    edge_shape = list(vals.shape)
    edge_shape[dim] = 1
    edge = ones(edge_shape, dtype=_dt.bool_, device=vals.device)
    differs = vals.narrow(dim, 1, n - 1) != vals.narrow(dim, 0, n - 1)
    starts = cat([edge, differs], dim)  # a run starts here
    ends = cat([differs, edge], dim)  # a run ends here
    start = _scan(where(starts, pos, 0), dim, maximum)  # the start of the run each element is in
    length = where(ends, pos - start + 1, 0)
    return _r.argmax(length, dim, keepdim=True)  # the first longest run: the smallest such value


@numpy_names
def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """The most frequent value along ``dim`` (the smallest among equally frequent ones) and the index
    of its last occurrence.

    Example:
        >>> import ember
        >>> ember.mode(ember.tensor([2, 1, 2, 1, 3]))
        ember.return_types.mode(
        values=tensor(1),
        indices=tensor(3))
    """
    d = _wrap_dim(dim, input.dim())
    if input.dim() == 0:
        return _outs(_scalar_pair(input), out, ModeResult)
    empty = _empty_result(input, d, keepdim, "mode")
    if empty is not None:
        return _outs(empty, out, ModeResult)
    vals, idx = _r.sort(input, d)  # stable: equal values keep their order, so a run ends at its last index
    with no_grad():
        pos = _mode_pos(vals.detach(), d)
        nan_rows = input.dtype.is_floating_point and bool(input.isnan().any())
    if nan_rows:
        # PyTorch's std::sort with "<" leaves NaNs where its algorithm happens to stop, so the runs it
        # counts depend on that order: replay it (on the host) for the rows with NaN
        with no_grad():
            index = _std_sort_mode_index(input.detach(), idx.detach().gather(d, pos), d)
        v = input.gather(d, index)
        return _outs((v, index) if keepdim else (v.squeeze(d), index.squeeze(d)), out, ModeResult)
    return _outs(_select(vals, idx, d, pos, keepdim), out, ModeResult)


def _std_sort_mode_index(input: Tensor, index: Tensor, dim: int) -> Tensor:
    """``index`` (keepdim-shaped, from the stable sort) with the rows of ``input`` holding NaN (and
    any row past 16 elements, whose ties std::sort orders its own way) redone as PyTorch's CPU mode
    kernel does: libstdc++'s ``std::sort`` of (value, index) pairs by
    ``value <``, then the last element of the first longest run of ``!=``-equal values."""
    import numpy as np

    from ember.functions.creation import tensor

    rows = input.movedim(dim, -1).cpu().numpy()
    n = rows.shape[-1]
    rows = rows.reshape(-1, n)
    out = index.movedim(dim, -1).cpu().numpy().reshape(-1).copy()
    # rows of up to 16 without NaN are right already (std::sort is then a stable insertion sort)
    for r in np.nonzero(np.isnan(rows).any(axis=1) | (n > 16))[0]:
        pairs = [(float(v), k) for k, v in enumerate(rows[r])]
        _StdSort(pairs).sort()
        best = run = 0
        for i, (v, k) in enumerate(pairs):
            run += 1
            if i == n - 1 or v != pairs[i + 1][0]:
                if run > best:
                    best, out[r] = run, k
                run = 0
    shape = list(index.movedim(dim, -1).shape)
    return tensor(out.reshape(shape), dtype=_dt.int64, device=input.device).movedim(-1, dim)


class _StdSort:
    """libstdc++'s ``std::sort`` (introsort, heapsort past the depth limit, then insertion sort)
    on (value, index) pairs compared by value with ``<``, step for step: with NaN (never less, never
    greater) the order it leaves is the algorithm's own."""

    def __init__(self, a: list) -> None:
        self.a = a

    def lt(self, x: Any, y: Any) -> bool:
        return x[0] < y[0]

    def sort(self) -> None:
        n = len(self.a)
        if n > 1:
            self.introsort(0, n, 2 * (n.bit_length() - 1))
            if n > 16:
                self.insertion(0, 16)
                for i in range(16, n):
                    self.linear_insert(i)
            else:
                self.insertion(0, n)

    def introsort(self, first: int, last: int, depth: int) -> None:
        a = self.a
        while last - first > 16:
            if depth == 0:  # heapsort: make_heap, then sort_heap
                for parent in range((last - first - 2) // 2, -1, -1):
                    self.adjust_heap(first, parent, last - first, a[first + parent])
                while last - first > 1:
                    last -= 1
                    value, a[last] = a[last], a[first]
                    self.adjust_heap(first, 0, last - first, value)
                return
            depth -= 1
            self.median_to_first(first, first + 1, first + (last - first) // 2, last - 1)
            lo, hi = first + 1, last  # unguarded partition around a[first]
            while True:
                while self.lt(a[lo], a[first]):
                    lo += 1
                hi -= 1
                while self.lt(a[first], a[hi]):
                    hi -= 1
                if lo >= hi:
                    break
                a[lo], a[hi] = a[hi], a[lo]
                lo += 1
            self.introsort(lo, last, depth)
            last = lo

    def median_to_first(self, result: int, x: int, y: int, z: int) -> None:
        a, lt = self.a, self.lt
        if lt(a[x], a[y]):
            pick = y if lt(a[y], a[z]) else z if lt(a[x], a[z]) else x
        else:
            pick = x if lt(a[x], a[z]) else z if lt(a[y], a[z]) else y
        a[result], a[pick] = a[pick], a[result]

    def adjust_heap(self, first: int, hole: int, length: int, value: Any) -> None:
        a = self.a
        top = second = hole
        while second < (length - 1) // 2:
            second = 2 * (second + 1)
            if self.lt(a[first + second], a[first + second - 1]):
                second -= 1
            a[first + hole] = a[first + second]
            hole = second
        if length % 2 == 0 and second == (length - 2) // 2:
            second = 2 * (second + 1)
            a[first + hole] = a[first + second - 1]
            hole = second - 1
        parent = (hole - 1) // 2  # push_heap
        while hole > top and self.lt(a[first + parent], value):
            a[first + hole] = a[first + parent]
            hole = parent
            parent = (hole - 1) // 2
        a[first + hole] = value

    def insertion(self, first: int, last: int) -> None:
        a = self.a
        for i in range(first + 1, last):
            if self.lt(a[i], a[first]):
                a[first:i + 1] = [a[i]] + a[first:i]
            else:
                self.linear_insert(i)

    def linear_insert(self, last: int) -> None:
        a = self.a
        val = a[last]
        while last > 0 and self.lt(val, a[last - 1]):  # unguarded in C++: its guard holds without NaN
            a[last] = a[last - 1]
            last -= 1
        a[last] = val


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _q_tensor(input: Tensor, q: Any) -> tuple[Tensor, bool]:
    """``q`` as a 1-D tensor of the input's dtype on its device, and whether the result has a q dim."""
    from ember.functions.creation import full

    if isinstance(q, Tensor):
        return q.reshape(-1), q.dim() == 1
    return full((1,), q, dtype=input.dtype, device=input.device), False


def _check_quantile(input: Tensor, q: Any, interpolation: str) -> None:
    """PyTorch's checks, in its order (quantile_checks)."""
    if interpolation not in _INTERPOLATIONS:
        raise RuntimeError("quantile() interpolation must be one of linear, lower, higher, midpoint or nearest, "
                           f"but got {interpolation}")
    if isinstance(q, Tensor) and q.dim() > 1:
        raise RuntimeError("quantile() q must be a scalar or 1D tensor")
    if input.numel() == 0:
        raise RuntimeError("quantile() input tensor must be non-empty")
    if input._dtype not in (_dt.float32, _dt.float64):
        raise RuntimeError("quantile() input tensor must be either float or double dtype")
    if isinstance(q, Tensor):
        if q._dtype is not input._dtype:
            raise RuntimeError("quantile() q tensor must be same dtype as the input tensor")
        if q.device != input.device:
            raise RuntimeError("quantile() q tensor must be on the same device as the input tensor")
        if q.numel() and bool(((q < 0) | (q > 1)).any()):  # one host sync, as PyTorch's CPU check
            raise RuntimeError("quantile() q values must be in the range [0, 1]")


class _Fill(Function):
    """``x.masked_fill(mask, value)`` whose backward is exactly 0 under the mask. (``where``'s backward
    multiplies the gradient by 0 there, which gives NaN where the gradient is infinite or NaN, as a
    quantile's gradient for q is on rows holding infinities or NaN.)"""

    _backward_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.save_for_backward(mask)
        return x.masked_fill(mask, value)

    @staticmethod
    def backward(ctx, g):
        (mask,) = ctx.saved_tensors
        return g.masked_fill(mask, 0.0), None, None  # a select in the forward direction: exact zeros


class _Lerp(Function):
    """PyTorch's lerp: the formula switches at weight 0.5, so lerp(a, b, 1) is exactly b; its
    gradients are the analytic ones (d/dweight = end - start, infinite where that is)."""

    _backward_name = "LerpBackward1"

    @staticmethod
    def forward(ctx, start, end, weight):
        from ember.functions.elementwise import where

        ctx.save_for_backward(start, end, weight)
        diff = end - start
        return where(weight < 0.5, start + weight * diff, end - diff * (1 - weight))

    @staticmethod
    def backward(ctx, g):
        start, end, weight = ctx.saved_tensors
        return g * (1 - weight), g * weight, g * (end - start)


def _quantile(input: Tensor, q: Any, dim: int | None, keepdim: bool, interpolation: str, ignore_nan: bool) -> Tensor:
    """PyTorch's quantile_compute, step by step: sort (NaN last), a rank per q, the interpolation."""
    from ember.functions.creation import full_like

    if not isinstance(q, Tensor) and not 0 <= q <= 1:  # PyTorch checks a float q before anything else
        raise RuntimeError(f"quantile() q must be in the range [0, 1] but got {q}")
    _check_quantile(input, q, interpolation)
    qt, q_dim = _q_tensor(input, q)
    d = None if dim is None else _wrap_dim(dim, input.dim())
    if dim is None:
        rows = input.reshape(-1)
        shape = [1] * input.dim() if keepdim else []
    else:
        rows = input.reshape(1) if input.dim() == 0 else input.movedim(d, -1)
        shape = list(input.shape)
        if shape:
            if keepdim:
                shape[d] = 1
            else:
                del shape[d]
    sorted_ = _r.sort(rows, -1).values.unsqueeze(-2)  # (*rows, 1, n): one row per q
    n = sorted_.shape[-1]
    nan = sorted_.isnan()
    if ignore_nan:
        ranks = qt * (_r.sum(nan.logical_not(), -1) - 1)  # (*rows, k)
        ranks = _Fill.apply(ranks, ranks.detach() < 0, 0.0)  # an all-NaN row: rank 0, a NaN
    else:
        ranks = (qt * (n - 1)).expand(tuple(sorted_.shape[:-2]) + (qt.shape[0],))
        ranks = _Fill.apply(ranks, _r.any(nan, -1), float(n - 1))  # a NaN row picks its last value, a NaN
    if interpolation == "lower":
        ranks = ranks.floor()
    elif interpolation == "higher":
        ranks = ranks.ceil()
    elif interpolation == "nearest":
        ranks = ranks.round()  # half to even, as PyTorch's round_
    below = ranks.to(_dt.int64)
    sorted_ = sorted_.squeeze(-2)
    values = sorted_.gather(-1, below)
    if interpolation in ("linear", "midpoint"):
        weights = ranks - below if interpolation == "linear" else full_like(ranks, 0.5)
        values = _Lerp.apply(values, sorted_.gather(-1, ranks.ceil().to(_dt.int64)), weights)
    # values: (*rows, k) -> (k, *shape) or (*shape)
    values = values.movedim(-1, 0) if q_dim else values.squeeze(-1)
    return values.reshape(([qt.shape[0]] if q_dim else []) + shape)


@numpy_names
def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *, interpolation: str = "linear",
             out: Tensor | None = None) -> Tensor:
    """The ``q``-th quantiles (a float or a 1-D tensor in [0, 1]) over all elements or along ``dim``;
    a row holding NaN gives NaN. ``interpolation``: linear, lower, higher, midpoint or nearest.

    Example:
        >>> import ember
        >>> ember.quantile(ember.tensor([0.0, 1.0, 2.0, 3.0]), ember.tensor([0.25, 0.5]))
        tensor([0.7500, 1.5000])
    """
    return _out(_quantile(input, q, dim, keepdim, interpolation, ignore_nan=False), out)


@numpy_names
def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out: Tensor | None = None) -> Tensor:
    """``quantile`` over the values that are not NaN (NaN where all are).

    Example:
        >>> import ember
        >>> ember.nanquantile(ember.tensor([0.0, float("nan"), 2.0]), 0.5)
        tensor(1.)
    """
    return _out(_quantile(input, q, dim, keepdim, interpolation, ignore_nan=True), out)


@numpy_names
def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out: Any = None) -> Any:
    """(min, max) over all elements or along ``dim``; the gradient is shared among tied extremes.

    Example:
        >>> import ember
        >>> ember.aminmax(ember.tensor([3.0, 1.0, 2.0]))
        ember.return_types.aminmax(
        min=tensor(1.),
        max=tensor(3.))
    """
    dims = _r._dims(input, () if dim is None else dim)
    if dim is None and input.numel() == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the operation has no "
                           "identity.")
    for d in dims if dim is not None else ():
        if input.shape[d] == 0:
            raise IndexError(f"aminmax: Expected reduction dim {d} to have non-zero size.")
    return _outs((_r.amin(input, dims, keepdim), _r.amax(input, dims, keepdim)), out, AminmaxResult)


# ---- scans -----------------------------------------------------------------------------------------


def _scan_dim(name: str, input: Tensor, dim: int) -> int:
    if input.dim() == 0 and dim not in (0, -1):
        raise IndexError(f"{name}(): Expected reduction dim -1 or 0 for scalar but got {dim}")
    return _wrap_dim(dim, input.dim())


def _cum_extreme(name: str, input: Tensor, dim: int, pick: Callable, kind: type, out: Any) -> Any:
    """cummax/cummin: a log-step scan of ``pick`` (which propagates NaN) for the values; the index is
    the last position whose element equals the running value (PyTorch updates on >= / <=), or the
    last NaN. Values are gathered from the input, so the gradient is PyTorch's scatter_add to the
    indices."""
    from ember.functions.elementwise import maximum, where

    _not_for(f"{name}_cpu", input, allow_complex=False)
    d = _scan_dim(name, input, dim)
    if input.dim() == 0:
        return _outs(_scalar_pair(input), out, kind, (_SCALAR_TYPE, _SCALAR_TYPE))
    with no_grad():
        x = input.detach()
        running = _scan(x, d, pick)
        # j holds the running value of every later i up to the next such j: values only change there
        hit = (x == running) | x.isnan()
        idx = _scan(where(hit, _positions(x, d), 0), d, maximum)
    return _outs((input.gather(d, idx), idx), out, kind, (_SCALAR_TYPE, _SCALAR_TYPE))


@numpy_names
def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """Running maximum along ``dim`` and the index where it was last reached (NaN propagates).

    Example:
        >>> import ember
        >>> ember.cummax(ember.tensor([1, 3, 2, 3]), 0).indices
        tensor([0, 1, 1, 3])
    """
    from ember.functions.elementwise import maximum

    return _cum_extreme("cummax", input, dim, maximum, CummaxResult, out)


@numpy_names
def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """Running minimum along ``dim`` and the index where it was last reached (NaN propagates).

    Example:
        >>> import ember
        >>> ember.cummin(ember.tensor([3, 1, 2, 1]), 0).values
        tensor([3, 1, 1, 1])
    """
    from ember.functions.elementwise import minimum

    return _cum_extreme("cummin", input, dim, minimum, CumminResult, out)


def _logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """log(exp(a) + exp(b)) without overflow; equal infinities stay themselves (no inf - inf)."""
    from ember.functions.elementwise import maximum, minimum, where

    hi, lo = maximum(a, b), minimum(a, b)
    return where(hi.isinf() & (hi == lo), hi, hi + (lo - hi).exp().log1p())


def _logaddexp_complex(new: Tensor, acc: Tensor) -> Tensor:
    """PyTorch's complex _log_add_exp_helper(new, acc): the operands ordered by real part; any NaN
    gives NaN + NaN j; equal infinite real parts give the lower operand (-inf: its phase is
    meaningless) or log(exp(a) + exp(b)) (+inf); otherwise log1p(exp(min - max)) + max."""
    from ember.functions.elementwise import where

    first = new.real < acc.real
    lo, hi = where(first, new, acc), where(first, acc, new)
    both_inf = lo.real.isinf() & (lo.real == hi.real)
    inf_case = where(lo.real < 0, lo, (lo.exp() + hi.exp()).log())
    out = where(both_inf, inf_case, (lo - hi).exp().log1p() + hi)
    return out.masked_fill(new.isnan() | acc.isnan(), complex(math.nan, math.nan))


class Logcumsumexp(Function):
    _backward_name = "LogcumsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        if x._dtype.is_complex:
            # PyTorch's scan starts from -inf + 0j: each element is first combined with it (a -inf real
            # part loses its phase, a NaN part becomes NaN + NaN j)
            start = _logaddexp_complex(x, x.new_full((), complex(-math.inf, 0.0)))
            out = _sequential_scan(start, dim, _logaddexp_complex)
        else:
            out = _scan(x, dim, _logaddexp)
        ctx.save_for_backward(x, out)
        ctx.dim = dim
        return out

    @staticmethod
    def backward(ctx, g):
        # PyTorch's logcumsumexp_backward: the positive and negative parts of g go through a reversed
        # logcumsumexp in log space, so no exp overflows.
        from ember.functions.elementwise import where
        from ember.typeinfo import finfo

        x, out = ctx.saved_tensors
        d = ctx.dim
        if g.numel() == 0:
            return g, None

        def reverse(t: Tensor) -> Tensor:
            return logcumsumexp(t.flip(d), d).flip(d)

        if g._dtype.is_complex:  # no sign split needed: the log of a complex gradient exists
            return (reverse(g.conj().log() - out) + x).exp().conj(), None
        lowest = -finfo(g.dtype).max
        log_abs = g.abs().log()
        pos = where(g > 0, log_abs, lowest)
        neg = where(g < 0, log_abs, lowest)
        return (reverse(pos - out) + x).exp() - (reverse(neg - out) + x).exp(), None


@numpy_names
def logcumsumexp(input: Tensor, dim: int, *, out: Tensor | None = None) -> Tensor:
    """log(cumsum(exp(input))) along ``dim``, computed without overflow or underflow.

    Example:
        >>> import ember
        >>> ember.logcumsumexp(ember.tensor([-1000.0, 0.0]), 0)
        tensor([-1000.,     0.])
    """
    d = _wrap_dim(dim, input.dim())
    _not_for("logcumsumexp_out_cpu", input, allow_int=False, allow_bool=False)
    _exact_dtype(input, out, _SCALAR_TYPE)
    if input.dim() == 0:
        return _out(input.clone(), out)
    if input._dtype in (_dt.bfloat16, _dt.float16):  # PyTorch accumulates in float32, rounding each output
        return _out(Logcumsumexp.apply(input.float(), d).to(input._dtype), out)
    return _out(Logcumsumexp.apply(input, d), out)


# ---- differences -----------------------------------------------------------------------------------


def _diff_operand(input: Tensor, t: Any, dim: int, which: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"diff(): argument '{which}' must be Tensor, not {type(t).__name__}")
    if t.dim() != input.dim():
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for i in range(input.dim()):
        if i != dim and t.shape[i] != input.shape[i]:
            raise RuntimeError("diff expects the shape of tensor to prepend or append to match that of input "
                               f"except along the differencing dimension; input.size({i}) = {input.shape[i]}, but got "
                               f"tensor.size({i}) = {t.shape[i]}")
    return t


@numpy_names
def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None, *,
         out: Tensor | None = None) -> Tensor:
    """The ``n``-th forward difference along ``dim`` (``!=`` for bool), after concatenating
    ``prepend`` and ``append``.

    Example:
        >>> import ember
        >>> ember.diff(ember.tensor([1, 3, 6, 10]), n=2)
        tensor([1, 1])
    """
    from ember.functions.shape import cat

    if input.dim() == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    n = _r.int_arg("diff", "n", n)
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    parts = [input]
    if prepend is not None:
        parts.insert(0, _diff_operand(input, prepend, _wrap_dim(dim, input.dim()), "prepend"))
    if append is not None:
        parts.append(_diff_operand(input, append, _wrap_dim(dim, input.dim()), "append"))
    if n == 0:  # PyTorch copies the input: prepend/append are checked, not used (nor is dim)
        return _out(input.clone(), out)
    d = _wrap_dim(dim, input.dim())
    x = cat(parts, d) if len(parts) > 1 else input
    for _ in range(n):
        length = x.shape[d]
        if length == 0:
            break
        hi, lo = x.narrow(d, 1, length - 1), x.narrow(d, 0, length - 1)
        x = hi != lo if x._dtype is _dt.bool_ else hi - lo
    return _out(x, out)


# ---- declarations: Tensor methods, ``ember.*`` and ``__all__`` come from these ----------------------
_ops = Family(__name__)
_op = _ops.op
_op(nansum, out=True)
_op(nanmean, out=True)
_op(nanmedian, out=True)
_op(kthvalue, out=True)
_op(mode, out=True)
_op(quantile, out=True)
_op(nanquantile, out=True)
_op(aminmax, out=True)
_op(cummax, out=True)
_op(cummin, out=True)
_op(logcumsumexp, out=True)
_op(diff, out=True)

__all__ = _ops.names()
