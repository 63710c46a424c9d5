"""Sets, search and counting: unique, unique_consecutive, searchsorted, bucketize, histc, bincount,
histogram (issue #14 section 4).

Every op here is a composite of required kernels (sort, cumsum, nonzero, gather, scatter_add...)
that runs on the tensor's own device. An op whose output size depends on the values (``unique``,
``bincount``) reads that one size back to the host, once; everything else stays on the device.

Example:
    >>> import ember
    >>> ember.unique(ember.tensor([3, 1, 3, 2]), return_counts=True)
    (tensor([1, 2, 3]), tensor([1, 1, 2]))
    >>> ember.searchsorted(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([2.5, 0.0]))
    tensor([2, 0])
    >>> ember.bincount(ember.tensor([0, 2, 2]))
    tensor([1, 0, 2])
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function, _requires_grad_now
from ember.autograd.grad_mode import no_grad
from ember.tensor import Tensor, _wrap_dim


# ---- outputs PyTorch records in the graph without a derivative ------------------------------------
class NoDerivative(Function):
    """Hands ``out`` through as an output of ``inputs`` whose backward raises ``error``: PyTorch
    marks such outputs as requiring grad (``unique`` of a leaf does) and fails only in backward."""

    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, error, out, *inputs):
        ctx.error = error
        return out._new(out._data)

    @staticmethod
    def backward(ctx, g):
        raise ctx.error


def _no_derivative(out: Tensor, inputs: tuple, error: Exception) -> Tensor:
    """``out`` recorded as computed from ``inputs`` (when one of them requires grad)."""
    if not out.dtype.is_floating_point or not any(isinstance(t, Tensor) and _requires_grad_now(t) for t in inputs):
        return out
    return NoDerivative.apply(error, out, *inputs)


def _tensor(values: Any, dtype: _dt.dtype | None, device: Any) -> Tensor:
    from ember.functions.creation import tensor

    return tensor(values, dtype=dtype, device=device)


# ---- unique / unique_consecutive ------------------------------------------------------------------
def _group_starts(new: Tensor) -> Tensor:
    """The positions where ``new`` (bool, 1-D) is True: the first element of each group."""
    from ember.functions.indexing import nonzero

    return nonzero(new).reshape(-1)  # the one host sync: the number of groups


def _counts(starts: Tensor, n: int) -> Tensor:
    from ember.functions.shape import cat

    ends = cat([starts[1:], _tensor([n], _dt.int64, starts.device)])
    return ends - starts


def _inverse(new: Tensor, perm: Tensor | None) -> Tensor:
    """Each element's group number, in the original order (``perm`` sorted it)."""
    from ember.functions.creation import zeros
    from ember.functions.indexing import Scatter

    gid = new.to(_dt.int64).cumsum(0) - 1
    if perm is None:
        return gid
    # perm is a permutation: every slot is written exactly once
    return Scatter.apply(zeros(gid.shape[0], dtype=_dt.int64, device=gid.device), 0, perm, gid, False)


def _first_flags(differs: Tensor) -> Tensor:
    """[True] + ``differs``: an element starts a group when it differs from the one before."""
    from ember.functions.shape import cat

    return cat([_tensor([True], _dt.bool_, differs.device), differs])


def _pack(values: Tensor, inverse: Tensor, counts: Tensor, return_inverse: bool, return_counts: bool) -> Any:
    if not return_inverse and not return_counts:
        return values
    return (values,) + ((inverse,) if return_inverse else ()) + ((counts,) if return_counts else ())


def _unique_flat(x: Tensor, consecutive: bool, return_inverse: bool, return_counts: bool) -> Any:
    from ember.functions.indexing import IndexSelect
    from ember.functions.reduction import sort

    flat = x.reshape(-1)
    n = flat.numel()
    if consecutive:
        vals, perm = flat, None
    else:
        vals, perm = sort(flat, 0)  # the sort kernel is stable and puts NaN last
    if n == 0:
        empty = flat.new_zeros((0,), dtype=_dt.int64)
        return vals, empty.reshape(tuple(x.shape)), empty
    new = _first_flags(vals[1:] != vals[:-1])  # NaN != NaN: each NaN is its own value, as in PyTorch
    starts = _group_starts(new)
    values = IndexSelect.apply(vals, 0, starts)
    inverse = _inverse(new, perm).reshape(tuple(x.shape)) if return_inverse else None
    counts = _counts(starts, n) if return_counts else None
    return values, inverse, counts


def _lexsort_rows(rows: Tensor) -> Tensor:
    """The permutation that sorts the rows of a 2-D tensor lexicographically: stable sorts by each
    column, last column first (a radix sort by columns)."""
    from ember.functions.creation import arange
    from ember.functions.indexing import IndexSelect
    from ember.functions.reduction import sort

    perm = arange(rows.shape[0], device=rows.device)
    for j in reversed(range(rows.shape[1])):
        key = IndexSelect.apply(rows[:, j], 0, perm)
        perm = IndexSelect.apply(perm, 0, sort(key, 0).indices)
    return perm


def _unique_dim(x: Tensor, dim: int, consecutive: bool, return_inverse: bool, return_counts: bool) -> Any:
    from ember.functions.indexing import IndexSelect

    if x.dim() == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = _wrap_dim(dim, x.dim())
    if any(s == 0 for i, s in enumerate(x.shape) if i != d):
        raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so unique cannot be applied")
    moved = x.movedim(d, 0)
    n, rest = moved.shape[0], list(moved.shape[1:])
    rows = moved.reshape(n, math.prod(rest))
    if n == 0:
        empty = x.new_zeros((0,), dtype=_dt.int64)
        return x.clone(), empty, empty
    perm = None if consecutive else _lexsort_rows(rows)
    srows = rows if perm is None else IndexSelect.apply(rows, 0, perm)
    new = _first_flags((srows[1:] != srows[:-1]).any(1))
    starts = _group_starts(new)
    values = IndexSelect.apply(srows, 0, starts).reshape([starts.shape[0]] + rest).movedim(0, d)
    inverse = _inverse(new, perm) if return_inverse else None
    counts = _counts(starts, n) if return_counts else None
    return values, inverse, counts


def _unique(name: str, input: Tensor, consecutive: bool, return_inverse: bool, return_counts: bool,
            dim: int | None) -> Any:
    if input.dtype.is_complex:  # PyTorch's unique kernels have no complex instance
        from ember.functions.complex_ops import type_word

        kernel = "unique_dim" if name == "unique_dim" else "unique"
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{type_word(input.dtype)}'")
    with no_grad():
        if dim is None:
            values, inverse, counts = _unique_flat(input, consecutive, return_inverse, return_counts)
        else:
            values, inverse, counts = _unique_dim(input, dim, consecutive, return_inverse, return_counts)
    values = _no_derivative(values.contiguous(), (input,), NotImplementedError(f"the derivative for '{name}' is "
                                                                                "not implemented."))
    return _pack(values, inverse, counts, return_inverse, return_counts)


def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim: int | None = None) -> Any:
    """The distinct values of ``input`` in ascending order (rows/slices along ``dim`` when given),
    with each element's position among them (``return_inverse``) and how often each occurs.

    ``sorted=False`` gives sorted values too, as PyTorch does on its CPU. NaNs are each distinct.

    Example:
        >>> import ember
        >>> ember.unique(ember.tensor([[1, 2], [1, 2], [0, 3]]), dim=0, return_inverse=True)
        (tensor([[0, 3],
                [1, 2]]), tensor([1, 1, 0]))
    """
    name = "_unique2" if dim is None else "unique_dim"
    return _unique(name, input, False, return_inverse, return_counts, dim)


def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """Collapses each run of equal consecutive values (slices along ``dim`` when given) to one.

    Example:
        >>> import ember
        >>> ember.unique_consecutive(ember.tensor([1, 1, 2, 2, 1]), return_counts=True)
        (tensor([1, 2, 1]), tensor([2, 2, 1]))
    """
    return _unique("unique_consecutive", input, True, return_inverse, return_counts, dim)


# ---- searchsorted / bucketize ---------------------------------------------------------------------
def _searchsorted_args(boundaries: Tensor, values: Tensor, sorter: Tensor | None, out: Tensor | None,
                       out_int32: bool) -> None:
    """PyTorch's searchsorted_pre_check, in its order (a scalar value is a 0-d ``values``)."""
    if sorter is not None:
        if tuple(sorter.shape) != tuple(boundaries.shape):
            raise RuntimeError(f"torch.searchsorted(): boundary and sorter must have the same size, but got "
                               f"boundary tensor {list(boundaries.shape)}and got sorter tensor {list(sorter.shape)}")
        if sorter.dtype is not _dt.int64:
            from ember.functions.indexing import _scalar_type

            raise RuntimeError(f"torch.searchsorted(): sorter must be a tensor of long dtype but got dtype "
                               f"{_scalar_type(sorter.dtype)}")
    if values.dim() == 0 and boundaries.dim() != 1:
        raise RuntimeError(f"torch.searchsorted(): input value can be a scalar only when boundaries tensor dimension "
                           f"is 1, but we got boundaries tensor dim({boundaries.dim()}) and input value's dim(0) "
                           f"numel(1)")
    if boundaries.dim() == 0:
        raise RuntimeError("torch.searchsorted(): boundaries tensor should have positive dimension, but got 0 "
                           "dimension")
    if boundaries.dim() != 1 and (boundaries.dim() != values.dim()
                                  or tuple(boundaries.shape[:-1]) != tuple(values.shape[:-1])):
        raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                           f"dimensions of boundaries tensor and input value tensor must match, but we got "
                           f"boundaries tensor {list(boundaries.shape)} and input value tensor {list(values.shape)}")
    if out is not None and out.dtype is not (_dt.int32 if out_int32 else _dt.int64):
        from ember.functions.indexing import _scalar_type

        raise RuntimeError(f"torch.searchsorted(): output tensor's dtype is wrong, it can only be Int(int32) or "
                           f"Long(int64) depending on whether out_int32 flag is True, but we got output tensor's "
                           f"dtype {_scalar_type(out.dtype)} and out_int32 flag is {out_int32}")


def _refuse_dtype(name: str, dtype: _dt.dtype, device: Any) -> None:
    """PyTorch's searchsorted kernels have no bool or complex instance."""
    if dtype is _dt.bool_ or dtype.is_complex:
        from ember.functions.indexing import _scalar_type

        raise NotImplementedError(f"\"{name}_out_{device.type}\" not implemented for '{_scalar_type(dtype)}'")


def _binary_search(boundaries: Tensor, values: Tensor, right: bool) -> Tensor:
    """For each value, the number of boundaries before it (``<`` it, or ``<=`` with ``right``): a
    binary search run on every value at once, one gather per halving (no host sync)."""
    from ember.functions.creation import full, zeros
    from ember.functions.elementwise import where
    from ember.functions.indexing import Gather, IndexSelect

    m = boundaries.shape[-1]
    lo = zeros(tuple(values.shape), dtype=_dt.int64, device=values.device)
    if m == 0 or values.numel() == 0:
        return lo
    hi = full(tuple(values.shape), m, dtype=_dt.int64, device=values.device)
    for _ in range(m.bit_length()):
        active = lo < hi
        mid = ((lo + hi) // 2).clamp(max=m - 1)  # a finished search (lo == hi == m) reads a valid slot
        if boundaries.dim() == 1:
            at = IndexSelect.apply(boundaries, 0, mid.reshape(-1)).reshape(tuple(values.shape))
        else:
            at = Gather.apply(boundaries, boundaries.dim() - 1, mid)
        # PyTorch's test, written so that a NaN value goes past every boundary
        go_right = active & ((at > values) if right else (at >= values)).logical_not()
        lo = where(go_right, mid + 1, lo)
        hi = where(active & go_right.logical_not(), mid, hi)
    return lo


def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None, out: Tensor | None = None) -> Tensor:
    """Where each value of ``input`` would be inserted into ``sorted_sequence`` (sorted along its
    last dim) to keep it sorted: the first such place, or the last with ``right=True``/``side="right"``.

    Example:
        >>> import ember
        >>> ember.searchsorted(ember.tensor([1, 3, 5, 7]), ember.tensor([3, 6, 9]))
        tensor([1, 3, 4])
        >>> ember.searchsorted(ember.tensor([1, 3, 5, 7]), 3, right=True)
        tensor(2)
    """
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of left "
                               "while right was True")
        right = side == "right"
    from ember.functions.indexing import _check_bounds, _same_device

    # PyTorch compares in result_type(boundaries, values): a Python scalar or 0-d tensor value takes
    # the boundaries' dtype within its kind (-1 searched in uint8 boundaries is 255)
    common = _dt.result_type(sorted_sequence, input)
    values = _tensor(input, None, sorted_sequence.device) if not isinstance(input, Tensor) else input
    _same_device(sorted_sequence, values)
    _searchsorted_args(sorted_sequence, values, sorter, out, out_int32)
    _refuse_dtype("searchsorted", common, sorted_sequence.device)
    boundaries = sorted_sequence
    if values.dtype is not common:
        values = values.to(common)
    if sorter is not None:
        _same_device(sorted_sequence, sorter)
        m = sorter.shape[-1]
        _check_bounds(sorter, 0, m, lambda v: RuntimeError("torch.searchsorted(): sorter index out of range"))
        boundaries = boundaries.gather(-1, sorter)
    with no_grad():
        if boundaries.dtype is not common:
            boundaries = boundaries.to(common)
        result = _binary_search(boundaries, values, right)
    if out_int32:
        result = result.to(_dt.int32)
    if out is not None:
        from ember.functions.elementwise import _out

        return _out(result, out)
    return result


def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False,
              out: Tensor | None = None) -> Tensor:
    """The bucket of each value of ``input`` among the ascending 1-D ``boundaries``:
    ``boundaries[i-1] < x <= boundaries[i]`` (``boundaries[i-1] <= x < boundaries[i]`` with ``right``).

    Example:
        >>> import ember
        >>> ember.bucketize(ember.tensor([0.5, 1.0, 4.0]), ember.tensor([1.0, 2.0, 3.0]))
        tensor([0, 0, 3])
    """
    if boundaries.dim() != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries.dim()})")
    return searchsorted(boundaries, input, out_int32=out_int32, right=right, out=out)


# ---- histc / histogram / bincount -----------------------------------------------------------------
def _finite_range(name: str, x: Tensor, lo: float, hi: float) -> tuple[float, float]:
    """PyTorch's histogram range: the data's own min/max when both bounds are equal (one host sync),
    widened by 1 each side when still equal."""
    from_data = lo == hi and x.numel() > 0
    if from_data:
        from ember.functions.shape import stack

        lo, hi = stack([x.min(), x.max()]).tolist()  # one transfer for both
    if lo > hi:
        raise RuntimeError(f"torch.{name}: max must be larger than min")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.{name}: range of [{_fmt(lo, from_data)}, {_fmt(hi, from_data)}] is not finite")
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    return lo, hi


def _fmt(v: float, from_data: bool = False) -> str:
    """A number as PyTorch's C++ stream prints it in these messages (1, 2.5, inf, nan): the NaN its
    min/max of the data gives carries a sign bit (-nan), a NaN the caller passed does not."""
    if math.isnan(v):
        return "-nan" if from_data else "nan"
    return f"{v:g}"


def _linear_bins(x: Tensor, bins: int, lo: float, hi: float) -> tuple[Tensor, Tensor]:
    """(bin of each element, in range?) for ``bins`` equal bins over [lo, hi], computed in x's dtype
    as PyTorch's linear-interpolation kernel does; a value equal to ``hi`` goes to the last bin."""
    flat = x.reshape(-1)
    lo_t, hi_t = _tensor(lo, x.dtype, x.device), _tensor(hi, x.dtype, x.device)  # the edges in x's dtype
    inside = (flat >= lo_t) & (flat <= hi_t)  # False for NaN
    pos = ((flat - lo_t) * bins / (hi_t - lo_t)).trunc()
    pos = pos.nan_to_num(0.0, 0.0, 0.0).clamp(0, bins - 1).to(_dt.int64)
    return pos, inside


def _count_into(n: int, pos: Tensor, weights: Tensor, dtype: _dt.dtype) -> Tensor:
    """``n`` bins with ``weights`` added at ``pos`` (valid by construction: no index check)."""
    from ember.functions.creation import zeros
    from ember.functions.indexing import IndexAdd

    return IndexAdd.apply(zeros(n, dtype=dtype, device=pos.device), 0, pos, weights)


def histc(input: Tensor, bins: int = 100, min: float = 0, max: float = 0, *,  # noqa: A002
          out: Tensor | None = None) -> Tensor:
    """A histogram of ``bins`` equal-width bins over [min, max] (the data's own range when both are
    0); values outside are ignored. Floating inputs only, as in PyTorch.

    Example:
        >>> import ember
        >>> ember.histc(ember.tensor([1.0, 2.0, 1.0]), bins=4, min=0, max=3)
        tensor([0., 2., 1., 0.])
    """
    from ember.functions.reduction import int_arg

    bins = int_arg("histc", "bins", bins)
    if not input.dtype.is_floating_point:
        from ember.functions.indexing import _scalar_type

        # the first PyTorch kernel to refuse the dtype names itself: its bin edges' linspace for bool,
        # the data range's aminmax for complex without a range, the histogram kernel otherwise
        kernel = ("linspace" if input.dtype is _dt.bool_ else
                  "aminmax" if input.dtype.is_complex and min == max else "histogram")
        raise NotImplementedError(f"\"{kernel}_{input.device.type}\" not implemented for "
                                  f"'{_scalar_type(input.dtype)}'")
    if bins <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {bins} for dimension 0")
    with no_grad():
        lo, hi = _finite_range("histc", input, float(min), float(max))
        pos, inside = _linear_bins(input, bins, lo, hi)
        result = _count_into(bins, pos, inside.to(input.dtype), input.dtype)
    if out is not None:
        from ember.functions.elementwise import _out

        return _out(result, out)
    return result


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in the 1-D non-negative integer ``input`` (the sum of
    its ``weights`` when given); at least ``minlength`` bins.

    Example:
        >>> import ember
        >>> ember.bincount(ember.tensor([1, 1, 3]), weights=ember.tensor([0.5, 1.0, 2.0]))
        tensor([0.0000, 1.5000, 0.0000, 2.0000])
    """
    from ember.functions.indexing import _index_range, _same_device, _scalar_type

    if input.dtype.is_floating_point or input.dtype is _dt.bool_:
        raise NotImplementedError(f"\"bincount_{input.device.type}\" not implemented for '{_scalar_type(input.dtype)}'")
    from ember.functions.reduction import int_arg

    minlength = int_arg("bincount", "minlength", minlength)
    if minlength < 0:
        raise RuntimeError("minlength should be >= 0")
    if input.dim() == 1 and input.numel() == 0:
        return input.new_zeros((minlength,), dtype=_dt.int64)
    lo, hi = _index_range(input) if input.dim() == 1 else (-1, -1)  # the one host sync
    if input.dim() != 1 or lo < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    if weights is not None and (weights.dim() != 1 or weights.shape[0] != input.shape[0]):
        raise RuntimeError("weights should be 1-d and have the same length as input")
    n = max(hi + 1, minlength)
    pos = input.to(_dt.int64)
    if weights is None:
        return _count_into(n, pos, pos.new_ones(pos.shape, dtype=_dt.int64), _dt.int64)
    _same_device(input, weights)
    # float32 weights count in float32; every other weight dtype in float64, as in PyTorch
    dtype = _dt.float32 if weights.dtype is _dt.float32 else _dt.float64
    with no_grad():
        result = _count_into(n, pos, weights.to(dtype), dtype)
    return _no_derivative(result, (weights,), RuntimeError("derivative for aten::bincount is not implemented"))


def _histogram_range(x: Tensor, range: tuple | None, dim: int = 0) -> tuple[float, float]:  # noqa: A002
    """PyTorch's histogramdd outer edges of dimension ``dim``: ``range``, else the data's min and max
    (0 and 1 when empty), widened by 0.5 each side when equal."""
    if range is not None:
        lo, hi = float(range[0]), float(range[1])
    elif x.numel() > 0:
        from ember.functions.shape import stack

        lo, hi = stack([x.min(), x.max()]).tolist()  # one transfer for both
    else:
        lo, hi = 0.0, 1.0
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {dim}'s range [{lo:g}, {hi:g}] is not finite")
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {lo:g} max {hi:g} for "
                           f"dimension {dim}")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _check_histogram(input: Tensor, bins: Any, range: tuple | None, weight: Tensor | None) -> None:  # noqa: A002
    from ember.functions.indexing import _scalar_type

    if not isinstance(bins, Tensor) and range is None and input.dtype not in (_dt.float32, _dt.float64):
        # PyTorch finds the data's range with a kernel built for float and double only
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f"\"histogramdd\" not implemented for '{type_word(input.dtype)}'")
    # (edges of another dtype: PyTorch's dtype-mismatch message below comes first)
    if not input.dtype.is_floating_point and not (isinstance(bins, Tensor) and bins.dtype is not input.dtype):
        raise NotImplementedError(f"\"histogram_{input.device.type}\" not implemented for "
                                  f"'{_scalar_type(input.dtype)}'")
    words = {_dt.float32: "float", _dt.float64: "double", _dt.int64: "long int", _dt.int32: "int", _dt.bool_: "bool"}
    if isinstance(bins, Tensor):
        if range is not None:
            raise TypeError("histogram() received an invalid combination of arguments - got (Tensor, range=tuple, "
                            "bins=Tensor)")
        if bins.dim() != 1:
            raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got {bins.dim()} "
                               f"dimensions in the bins tensor for dimension 0")
        if bins.dtype is not input.dtype:
            raise RuntimeError(f"torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                               f"input with dtype {words.get(input.dtype)} and bins for dimension 0 with dtype "
                               f"{words.get(bins.dtype, bins.dtype.name)}")
    n = bins.numel() - 1 if isinstance(bins, Tensor) else bins
    if n <= 0:
        raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {n} for dimension 0")
    if weight is not None:
        if weight.numel() != input.numel():
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided it should have the same shape as the "
                               f"input tensor excluding its innermost dimension, but got input with shape "
                               f"{[input.numel(), 1]} and weight with shape {[weight.numel()]}")
        if weight.dtype is not input.dtype:
            raise RuntimeError(f"torch.histogramdd: if weight tensor is provided, input tensor and weight tensor "
                               f"should have the same dtype, but got input({words.get(input.dtype)}), and "
                               f"weight({words.get(weight.dtype, weight.dtype.name)})")


def _bins_from_edges(flat: Tensor, edges: Tensor) -> tuple[Tensor, Tensor]:
    """(bin, in range?) for ascending ``edges``: bins are [e_i, e_i+1), the last one closed."""
    nb = edges.numel() - 1
    pos = (searchsorted(edges, flat, right=True) - 1).clamp(0, nb - 1)
    return pos, (flat >= edges[0]) & (flat <= edges[-1])


def _local_search(flat: Tensor, pos: Tensor, edges: Tensor) -> Tensor:
    """PyTorch's correction of the division: the bin moves by one where a neighbouring edge,
    computed by linspace, disagrees with it."""
    from ember.functions.indexing import IndexSelect

    nb = edges.numel() - 1
    below = flat < IndexSelect.apply(edges, 0, pos)
    above = (flat >= IndexSelect.apply(edges, 0, pos + 1)) & (pos + 1 < nb)
    return (pos - below.to(_dt.int64) + above.to(_dt.int64)).clamp(0, nb - 1)


def histogram(input: Tensor, bins: Any = 100, *, range: tuple | None = None,  # noqa: A002
              weight: Tensor | None = None, density: bool = False) -> Any:
    """(hist, bin_edges): a histogram over ``bins`` equal bins of ``range`` (the data's own range by
    default), or over the ascending edges given as a 1-D tensor ``bins``. Floating inputs only.

    Example:
        >>> import ember
        >>> ember.histogram(ember.tensor([1.0, 2.0, 1.0]), bins=2, range=(0.0, 2.0))
        ember.return_types.histogram(
        hist=tensor([0., 3.]),
        bin_edges=tensor([0., 1., 2.]))
    """
    from ember.functions.creation import linspace

    _check_histogram(input, bins, range, weight)
    flat = input.reshape(-1)
    with no_grad():
        if isinstance(bins, Tensor):
            edges = bins
            pos, inside = _bins_from_edges(flat, edges)
        else:
            lo, hi = _histogram_range(input, range)
            edges = linspace(lo, hi, bins + 1, dtype=input.dtype, device=input.device)
            pos, inside = _linear_bins(input, bins, lo, hi)
            pos = _local_search(flat, pos, edges)
        w = inside.to(input.dtype)
        if weight is not None:
            w = w * weight.reshape(-1)
        hist = _count_into(edges.numel() - 1, pos, w, input.dtype)
        if density:
            hist = hist / (hist.sum() * (edges[1:] - edges[:-1]))
    return HistogramResult(hist, edges)


class HistogramResult(namedtuple("histogram", ["hist", "bin_edges"])):
    __slots__ = ()

    def __repr__(self) -> str:
        return f"ember.return_types.histogram(\nhist={self[0]!r},\nbin_edges={self[1]!r})"


# ---- declarations: Tensor methods, ``ember.*`` and ``__all__`` come from these --------------------
_ops = Family(__name__)
_op = _ops.op
_op(unique)
_op(unique_consecutive)
_op(searchsorted, method=False, out=True)
_op(bucketize, method=False, out=True)
_op(histc, out=True)
_op(bincount)
_op(histogram, out="torch.histogram: input tensor and hist tensor should have the same dtype, but got input "
                   "{result_c} and hist {out_c}")

__all__ = _ops.names()
