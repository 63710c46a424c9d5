"""Indexing: ``t[...]`` and ``t[...] = v`` with basic, advanced and boolean indices, and the
gather/scatter family.

Basic indices (ints, slices, ``None``, ``...``) give views sharing storage. Advanced indices
(integer tensors, lists, boolean masks) are reduced to one ``index_select``/``index_put`` on a
flattened axis, so a backend only needs those two kernels.

Example:
    >>> import ember
    >>> t = ember.arange(12).reshape(3, 4)
    >>> t[1:, ::2]
    tensor([[ 4,  6],
            [ 8, 10]])
    >>> t[t > 9] = 0
    >>> t[[0, 2], [1, 3]]
    tensor([1, 0])
"""

from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from ember import _device_checks as _checks
from ember import _value_range
from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember._ops.registry import Family
from ember._scalar_convert import checked_scalar
from ember.autograd.function import _FW, Function, _requires_grad_now, name_grad_fn
from ember.autograd.grad_mode import STATE, no_grad
from ember.tensor import Tensor, _wrap_dim

# ---- index parsing -----------------------------------------------------------------------------
_INDEX_DTYPES = (_dt.int64, _dt.int32, _dt.uint8, _dt.bool_)


def _to_index_tensor(item: Any, device) -> Tensor:
    """A tensor index (a sequence was made one by ``_index_item``), checked and on ``device``."""
    t = item if isinstance(item, Tensor) else _sequence_index(item)
    if t.dtype not in _INDEX_DTYPES:
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if t.device != device:
        if t.device.type == "cpu":
            t = t.to(device)
        else:
            raise RuntimeError(f"indices should be either on cpu or on the same device as the indexed tensor ({device})")
    return t


def _is_sequence(item: Any) -> bool:
    """Python's sequence protocol as PyTorch tests it (PySequence_Check): lists, tuples, ranges,
    strings, NumPy arrays (0-d too), any class with ``__getitem__``; not NumPy scalars, not dicts."""
    if isinstance(item, (list, tuple, range, str, bytes, np.ndarray)):
        return True
    return not isinstance(item, (dict, np.generic)) and hasattr(type(item), "__getitem__")


def _sequence_index(item: Any) -> Tensor:
    """PyTorch's indexing_tensor_from_data: a sequence becomes a uint8 or bool tensor when its
    values infer that dtype, an int64 one otherwise (floats truncated; complex numbers refused)."""
    from ember.functions.creation import tensor

    if isinstance(item, (str, bytes)):
        raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
    t = tensor(item)
    if t.dtype is _dt.uint8 or t.dtype is _dt.bool_:
        return t
    if t.dtype.is_complex:
        raise TypeError("'complex' object cannot be interpreted as an integer")
    return t if t.dtype is _dt.int64 else t.to(_dt.int64)


def _index_item(item: Any) -> Any:
    """One item of an index as PyTorch's applySlicing reads it: an int, slice, None, ``...``, bool
    or tensor; a sequence becomes a tensor; anything with ``__index__`` an int; anything else is
    its IndexError."""
    if item is None or item is Ellipsis or isinstance(item, (bool, int, slice, Tensor)):
        return item
    if _is_sequence(item):
        return _sequence_index(item)
    try:
        return operator.index(item)
    except TypeError:
        kind = type(item)
        name = kind.__name__ if kind.__module__ != "numpy" else f"numpy.{kind.__name__}"
        raise IndexError("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid "
                         f"indices (got {name})") from None


_SKIP = object()  # a dimension an ellipsis passes over


def _sequence_as_tuple(index: Any, warn: bool = True) -> bool:
    """NumPy's old rule, which PyTorch keeps: a short list (under 32 items) holding a sequence, a
    tensor, a slice, ``None`` or ``...`` is a tuple of indices (``x[[[0, 1], [1, 0]]]`` is
    ``x[[0, 1], [1, 0]]``); a list of plain integers is one index."""
    if index.__class__ is not list or len(index) >= 32:
        return False
    if any(isinstance(i, (Tensor, slice)) or i is None or i is Ellipsis or _is_sequence(i) for i in index):
        if not warn:
            return True
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in "
                      "pytorch 2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as "
                      "tensor index, x[torch.tensor(seq)], which will result either in an error or a different "
                      "result", UserWarning, stacklevel=4)
        return True
    return False


def _uint8_as_mask(item: Any) -> Any:
    """A uint8 tensor index is a mask, as a bool one (PyTorch's deprecated rule, with its warning),
    not a list of positions; 0-d included."""
    if isinstance(item, Tensor) and item.dtype is _dt.uint8:
        warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead.",
                      UserWarning, stacklevel=5)
        return item.bool()
    return item


def _parse(x: Tensor, index: Any) -> tuple:
    """Split an index into (slices, shape after basic indexing, advanced: [(dim, tensor)]).

    As in PyTorch, ``True``/``False`` (Python or 0-d tensors) add a size-1 dim indexed by ``[0]``
    or ``[]``: an advanced index like any other (``x[True]`` is a copy, ``x[[0, 1], :, True]``
    moves the indexed dims to the front)."""
    if not isinstance(index, tuple):
        index = tuple(index) if _sequence_as_tuple(index) else (index,)
    index = tuple(_uint8_as_mask(_index_item(item)) for item in index)
    consumed = 0
    expanded = []
    for item in index:
        if isinstance(item, Tensor) and item.dtype is _dt.bool_:
            consumed += max(item.dim(), 1) if item.dim() else 0
        elif item is None or item is Ellipsis or isinstance(item, bool):
            pass
        else:
            consumed += 1
    shape = tuple(x.shape)
    if consumed > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    for item in index:
        if item is Ellipsis:
            # PyTorch lets every ellipsis skip the dimensions the other items leave over, so a second
            # one skips past the last dimension: harmless at the end, out of bounds before an index
            expanded.extend([_SKIP] * (len(shape) - consumed))
        else:
            expanded.append(item)
    slices, out_shape, advanced = [], [], []
    dim = 0
    for item in expanded:
        if item is _SKIP and dim >= len(shape):
            dim += 1
            continue
        if item is _SKIP:
            item = slice(None)
        if dim > len(shape) and item is not None and not isinstance(item, bool):
            raise IndexError(f"index {item} is out of bounds for dimension {dim} with size 0")
        if item is None:
            out_shape.append(1)
            continue
        if isinstance(item, bool):
            out_shape.append(1)
            advanced.append((len(out_shape) - 1, _bool_index(item, x.device)))
            continue
        if isinstance(item, Tensor) and item.dim() == 0 and item.dtype is _dt.bool_:
            out_shape.append(1)
            advanced.append((len(out_shape) - 1, nonzero(_to_index_tensor(item, x.device).reshape(1)).reshape(-1)))
            continue
        if isinstance(item, Tensor) and item.dim() == 0 and not item.dtype.is_floating_point and not item.dtype.is_complex:
            item = int(item.item())
        if isinstance(item, int):
            size = shape[dim]
            if not -size <= item < size:
                raise IndexError(f"index {item} is out of bounds for dimension {dim} with size {size}")
            item = item + size if item < 0 else item
            slices.append((item, item + 1, 1))
            dim += 1
            continue
        if isinstance(item, slice):
            size = shape[dim]
            step = 1 if item.step is None else operator.index(item.step)
            if step == 0:
                raise ValueError("slice step cannot be zero")
            if step < 0:
                raise ValueError("step must be greater than zero")
            start, stop, _ = item.indices(size)
            stop = max(stop, start)
            slices.append((start, stop, step))
            out_shape.append(max(0, -(-(stop - start) // step)))
            dim += 1
            continue
        t = _to_index_tensor(item, x.device)
        if t.dtype is _dt.bool_:
            k = t.dim()
            for j in range(k):  # PyTorch names the first mismatching dim, in the mask and in x
                if t.shape[j] != shape[dim + j]:
                    raise IndexError(f"The shape of the mask {list(t.shape)} at index {j} does not match the shape "
                                     f"of the indexed tensor {list(shape)} at index {dim + j}")
            coords = nonzero(t)
            for j in range(k):
                slices.append((0, shape[dim + j], 1))
                out_shape.append(shape[dim + j])
                advanced.append((len(out_shape) - 1, coords[:, j]))
            dim += k
            continue
        slices.append((0, shape[dim], 1))
        out_shape.append(shape[dim])
        advanced.append((len(out_shape) - 1, t))
        dim += 1
    for d in range(dim, len(shape)):
        slices.append((0, shape[d], 1))
        out_shape.append(shape[d])
    return tuple(slices), tuple(out_shape), advanced, not advanced


def _bool_index(value: bool, device) -> Tensor:
    """PyTorch's boolToIndexingTensor: ``[0]`` for True, ``[]`` for False (int64)."""
    from ember.functions.creation import zeros

    return zeros(1 if value else 0, dtype=_dt.int64, device=device)


def _basic_view(x: Tensor, slices: tuple, out_shape: tuple) -> Tensor:
    from ember.functions.shape import reshape, slice_dims

    trivial = all(s == (0, n, 1) for s, n in zip(slices, x.shape))
    v = x if trivial else slice_dims(x, slices)
    if tuple(v.shape) != out_shape:
        v = reshape(v, out_shape)
    elif v is x:
        v = reshape(x, out_shape)
    return v


def _flat_index(v: Tensor, advanced: list) -> tuple:
    """Permute the advanced axes of ``v`` first; return (permuted, flat index, index shape, dims).

    PyTorch's checks, in its order: the index tensors broadcast together (an IndexError naming
    their shapes); an indexed dim of size 0 needs an empty index; then its kernel checks each
    value it reads, so nothing is checked when the result is empty, and the error names the first
    bad value in the index's order and its position among the index tensors ("dimension j")."""
    from ember.functions.elementwise import broadcast_shapes

    dims = [d for d, _ in advanced]
    tensors = [t.to(_dt.int64) if t.dtype is not _dt.int64 else t for _, t in advanced]
    try:
        ishape = broadcast_shapes(*[tuple(t.shape) for t in tensors])
    except RuntimeError:
        shapes = ", ".join(str(list(t.shape)) for t in tensors)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes {shapes}") from None
    idx = [t if tuple(t.shape) == ishape else t.expand(ishape) for t in tensors]
    shape = tuple(v.shape)
    sizes = [shape[d] for d in dims]
    rest = [d for d in range(len(shape)) if d not in dims]
    if 0 in sizes and 0 not in ishape:
        raise IndexError("index is out of bounds for dimension with size 0")
    # an empty result reads nothing, and a meta tensor has no values: no bounds to check
    checked = math.prod(ishape) * math.prod(shape[d] for d in rest) > 0 and v._kt.device_type != "meta"
    flat, bad = None, False
    for t, size in zip(idx, sizes):
        lo = 0
        if checked:
            known = _value_range.bounds(t)
            if known is not None and -size <= known[0] and known[1] < size:
                lo = known[0]  # in range (lo may be below the true minimum: at worst a no-op wrap)
            else:
                lo, hi = _index_range(t)  # one device->host transfer for both
                bad = bad or hi >= size or lo < -size
            if lo < 0:
                t = t + (t < 0).to(_dt.int64) * size
        flat = t if flat is None else flat * size + t
    if bad:
        _raise_first_out_of_bounds(idx, sizes)
    if not checked and flat.numel():  # an empty result reads nothing: any in-range row will do
        flat = flat * 0
    perm = v.permute(dims + rest) if dims + rest != list(range(len(shape))) else v
    return perm, flat, ishape, dims, rest


def _raise_first_out_of_bounds(idx: list, sizes: list) -> None:
    """The IndexError PyTorch's index kernel raises: the first position (in order) holding a bad
    value, the first index tensor bad there."""
    host = [t.reshape(-1).tolist() for t in idx]
    for k in range(len(host[0])):
        for j, (values, size) in enumerate(zip(host, sizes)):
            if not -size <= values[k] < size:
                raise IndexError(f"index {values[k]} is out of bounds for dimension {j} with size {size}")


def _slice_first_dim(x: Tensor, item: slice) -> Tensor:
    """``x[a:b:c]``, the commonest index (a position table's first rows, a batch's head), as the one
    view it is, without the general parser (14 -> 4 us, issue #16). The same rules as ``_parse``."""
    from ember.functions.shape import Slice

    shape = x._data.shape
    step = 1 if item.step is None else operator.index(item.step)
    if step == 0:
        raise ValueError("slice step cannot be zero")
    if step < 0:
        raise ValueError("step must be greater than zero")
    start, stop, _ = item.indices(shape[0])
    stop = max(stop, start)
    return Slice.apply(x, ((start, stop, step),) + tuple((0, n, 1) for n in shape[1:]))  # SliceBackward0


def _view_node_name(x: Tensor, index: Any) -> str:
    """PyTorch's grad_fn name for basic indexing: the last view it applies. A lone slice is always
    sliced; in a tuple, full slices and ``...`` are skipped, and nothing left is an alias."""
    if isinstance(index, slice):
        return "SliceBackward0"
    items = index if isinstance(index, tuple) else (index,)
    name, dim = "AliasBackward0", 0
    for item in items:
        if item is None:
            name = "UnsqueezeBackward0"
        elif item is Ellipsis:
            dim += x.dim() - sum(1 for i in items if i is not None and i is not Ellipsis)
        elif isinstance(item, slice):
            if item.indices(x.shape[dim]) != (0, x.shape[dim], 1):
                name = "SliceBackward0"
            dim += 1
        else:
            name = "SelectBackward0"
            dim += 1
    return name


def _check_zero_dim(x: Tensor, index: Any) -> None:
    """The errors of PyTorch's single-index paths (an int, a slice) on a 0-d tensor."""
    if isinstance(index, slice):
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
        if index == 0:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                             "in C++ to convert a 0-dim tensor to a number")
        raise IndexError(f"index {int(index)} is out of bounds for dimension 0 with size 0")


def getitem(x: Tensor, index: Any) -> Tensor:
    if x.dim() == 0:
        _check_zero_dim(x, index)
    if isinstance(index, int) and not isinstance(index, bool) and x.dim() > 0:
        size = x._data.shape[0]
        if not -size <= index < size:
            raise IndexError(f"index {index} is out of bounds for dimension 0 with size {size}")
        from ember.functions.shape import select

        return select(x, 0, index)
    if index.__class__ is slice and x._data.shape:
        return _slice_first_dim(x, index)
    slices, out_shape, advanced, basic_only = _parse(x, index)
    v = _basic_view(x, slices, out_shape)
    if basic_only:
        return name_grad_fn(v, _view_node_name(x, index), x) if v._requires_grad else v
    perm, flat, ishape, dims, rest = _flat_index(v, advanced)
    rest_shape = [v.shape[d] for d in rest]
    n = 1
    for d in dims:
        n *= v.shape[d]
    table = perm.reshape([n] + rest_shape)
    out = IndexSelect.apply(table, 0, flat.reshape(-1)).reshape(list(ishape) + rest_shape)  # flat: checked
    consecutive = dims == list(range(dims[0], dims[0] + len(dims)))
    if consecutive and dims[0] > 0:
        k = len(ishape)
        order = list(range(k, k + dims[0])) + list(range(k)) + list(range(k + dims[0], out.dim()))
        out = out.permute(order)
    return name_grad_fn(out, "IndexBackward0", x)


# ---- assignment ---------------------------------------------------------------------------------
def _basic_index(index: Any) -> bool:
    """Whether ``index`` selects by basic indexing only (ints, slices, None, ..., a lone True)."""
    if index is True:  # PyTorch's single-index path: a copy into x.unsqueeze(0)
        return True
    items = index if isinstance(index, tuple) else tuple(index) if _sequence_as_tuple(index, False) else (index,)
    return all(item is None or item is Ellipsis or isinstance(item, slice)
               or (isinstance(item, numbers.Integral) and not isinstance(item, bool))
               or (isinstance(item, Tensor) and item.dim() == 0 and item.dtype not in (_dt.bool_, _dt.uint8)
                   and not item.dtype.is_floating_point) for item in items)


def _lone_mask(x: Tensor, index: Any) -> Tensor | None:
    """The mask PyTorch's index_put_ hands to ``masked_fill_`` (its canDispatchToMaskedFill): the
    index's only index tensor, when that is a bool or uint8 one of dim >= 1 on x's device (ints,
    slices, None and ``...`` are applied as views first; True/False and 0-d masks are index
    tensors of their own)."""
    items = index if isinstance(index, tuple) else tuple(index) if _sequence_as_tuple(index, False) else (index,)
    mask = None
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            continue
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            continue
        if not isinstance(item, Tensor) and _is_sequence(item):
            item = _sequence_index(item)
        if not isinstance(item, Tensor):
            return None
        if item.dim() == 0 and not item.dtype.is_floating_point and item.dtype not in (_dt.bool_, _dt.uint8):
            continue  # an int
        if mask is not None or item.dim() == 0 or item.dtype not in (_dt.bool_, _dt.uint8) or item.device != x.device:
            return None
        mask = item
    return mask


def _check_put_value(x: Tensor, index: Any, value: Any, accumulate: bool) -> Any:
    """PyTorch's index_put_ rules on the value: one element on the CPU (a Python number is one)
    with a lone mask goes to ``masked_fill_``, which takes it as a number (checked as one) and
    refuses a uint8 mask; any other value must have x's dtype (no cast, unlike a write through
    basic indexing), which ``_write`` checks after the shapes. Returns the value to write."""
    number = not isinstance(value, Tensor)
    if not accumulate and (number or (value.numel() == 1 and value.device.type == "cpu")):
        mask = _lone_mask(x, index)
        if mask is not None:
            if mask.dtype is _dt.uint8:
                raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype unsigned char")
            if not number and value.dtype is not x.dtype and not _requires_grad_now(value):
                return value.item()
            return value if number or value.dtype is x.dtype else value.to(x.dtype)
    return value


def _dtype_mismatch(x: Tensor, value: Tensor) -> RuntimeError:
    return RuntimeError(f"Index put requires the source and destination dtypes match, got {_scalar_type(x.dtype)} for "
                        f"the destination and {_scalar_type(value.dtype)} for the source.")


def _value_tensor(x: Tensor, value: Any, basic: bool = False) -> Any:
    if isinstance(value, Tensor):
        if value.device is not x.device:
            # PyTorch: setitem through basic indexing is a ``copy_`` (any device to any device, on
            # the autograd graph); index_put_ moves a 0-dim value of another device to x's
            if not (basic or value.dim() == 0):
                raise RuntimeError(f"expected device {x.device} but got device {value.device}")
            value = value.to(x.device)
        return value if value.dtype is x.dtype or not basic else value.to(x.dtype)
    if isinstance(value, numbers.Number):
        # PyTorch reads the number as int64/double, then checks it fits x's dtype (not float16/bfloat16)
        return checked_scalar(value, x._dtype, unpack="long",
                              check_float=x._dtype is not _dt.float16 and x._dtype is not _dt.bfloat16)
    from ember.functions.creation import tensor

    return tensor(value, dtype=x.dtype, device=x.device)


def _write(x: Tensor, index: Any, value: Any, accumulate: bool = False) -> None:
    """Write ``value`` into ``x[index]`` in place, through views (no autograd)."""
    slices, out_shape, advanced, basic_only = _parse(x, index)
    v = _basic_view(x, slices, out_shape)
    kt = x._kt
    if basic_only:
        if isinstance(value, Tensor):

            target = tuple(v.shape)
            vshape = tuple(value.shape)
            while len(vshape) > len(target) and vshape[0] == 1:
                vshape = vshape[1:]
            if not _expandable(vshape, target):
                raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                                   f"indexing result of shape {list(target)}")
            if value.dtype is not x.dtype:  # index_put_ with 0-d integer indices (setitem casts first)
                raise _dtype_mismatch(x, value)
            data = kt["reshape"](value._data, vshape) if vshape != tuple(value.shape) else value._data
        else:
            data = _cast(value, x.dtype)
        if accumulate:  # index_put_ with 0-d integer indices only: a select, then an add
            from ember.autograd.grad_mode import no_grad

            with no_grad():
                data = (v.detach() + (x._new(data) if isinstance(value, Tensor) else data)).to(x.dtype)._data
        kt["copy_"](v._data, data)
        return
    perm, flat, ishape, dims, rest = _flat_index(v, advanced)
    rest_shape = [v.shape[d] for d in rest]
    n = 1
    for d in dims:
        n *= v.shape[d]
    table = perm.reshape([n] + rest_shape)
    m = flat.numel()
    if isinstance(value, Tensor):
        consecutive = dims == list(range(dims[0], dims[0] + len(dims)))
        k = len(ishape)
        res_shape = list(ishape) + rest_shape
        if consecutive and dims[0] > 0:
            lead = rest_shape[:dims[0]]
            res_shape = lead + list(ishape) + rest_shape[dims[0]:]
        vals = value

        # PyTorch drops a value's extra leading size-1 dims (x[idx] = v[None]), as the basic path does
        lead_ones = 0
        while vals.dim() - lead_ones > len(res_shape) and vals.shape[lead_ones] == 1:
            lead_ones += 1
        if lead_ones:
            vals = vals.reshape(list(vals.shape[lead_ones:]))
        if not _expandable(tuple(vals.shape), tuple(res_shape)):
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast to "
                               f"indexing result of shape {res_shape}")
        if vals.dtype is not x.dtype:  # after the shapes, as in PyTorch
            raise _dtype_mismatch(x, vals)
        vals = vals.expand(res_shape)
        if consecutive and dims[0] > 0:
            order = list(range(dims[0], dims[0] + k)) + list(range(dims[0])) + list(range(dims[0] + k, len(res_shape)))
            vals = vals.permute(order)
        vals_data = vals.reshape([m] + rest_shape)._data
    else:
        # the number was checked by _value_tensor (not by full: x[i] = v has its own float16 rule)
        vals_data = kt["full"](tuple([m] + rest_shape), _cast(value, x.dtype), x.dtype, x.device.index)
    new = kt["index_put"](table._data, flat.reshape(-1)._data, vals_data, accumulate)
    new_t = x._new(new).reshape(list(perm.shape))
    order = dims + rest
    inverse = [0] * len(order)
    for i, d in enumerate(order):
        inverse[d] = i
    kt["copy_"](v._data, new_t.permute(inverse)._data if order != list(range(len(order))) else new_t._data)


def _expandable(shape: tuple, target: tuple) -> bool:
    """Whether ``shape`` broadcasts to ``target`` (PyTorch's is_expandable_to)."""
    if len(shape) > len(target):
        return False
    return all(s == t or s == 1 for s, t in zip(shape[::-1], target[::-1]))


def _cast(value: Any, dt: _dt.dtype) -> Any:
    if dt.is_complex:
        return complex(value)
    if dt.is_floating_point:
        return float(value)
    if dt is _dt.bool_:
        return bool(value)
    return int(value)


class IndexPutFunctional(Function):
    """``x.clone()`` with ``x[index] = value``: the differentiable form of setitem."""

    _backward_name = "IndexPutBackward0"

    @staticmethod
    def forward(ctx, x, value, index, accumulate):
        out = x._new(x._kt["clone"](x._data))
        _write(out, index, value, accumulate)
        ctx.index, ctx.accumulate = index, accumulate
        ctx.vshape = tuple(value.shape) if isinstance(value, Tensor) else None
        return out

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        gx = gv = None
        if ctx.needs_input_grad[0]:
            # through the Function again, not a raw write: the zeroing stays differentiable (double
            # backward, forward AD's double vjp)
            gx = g if ctx.accumulate else IndexPutFunctional.apply(g, 0, ctx.index, False)
        if ctx.needs_input_grad[1]:
            gv = getitem(g, ctx.index)
            # the value may carry extra leading size-1 dims (out[i] = f(x[i:i+1])): sum down to the
            # shape without them, then put them back
            vshape = ctx.vshape
            while len(vshape) > gv.dim() and vshape[0] == 1:
                vshape = vshape[1:]
            gv = unbroadcast(gv, vshape).reshape(ctx.vshape)
        return gx, gv, None, None


def _check_value_overlap(x: Tensor, index: Any, value: Tensor, basic: bool) -> None:
    """PyTorch's refusal of a value sharing memory with the written-to elements (``x[1:] = x[:-1]``):
    the result would depend on the order of the writes. Basic indexing writes into the view
    ``x[index]`` (the very same elements are fine, as ``copy_``); an advanced index refuses any value
    overlapping ``x``."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.elementwise import check_no_overlap

    if basic:
        with no_grad():
            check_no_overlap(getitem(x, index), (value,))
    elif value.numel() == 1 and value.device.type == "cpu" and _lone_mask(x, index) is not None:
        return  # masked_fill_'s case: the value is read as a number
    elif value is x:  # check_no_overlap passes a tensor itself
        from ember.functions.elementwise import _OVERLAP

        raise RuntimeError(_OVERLAP)
    else:
        check_no_overlap(x, (value,), full_too=True)


def setitem(x: Tensor, index: Any, value: Any) -> None:
    from ember.autograd.inplace import _has_internal_overlap, check_inplace, needs_rebase
    from ember.functions.elementwise import assign_inplace

    if not isinstance(value, (Tensor, int, float, complex, np.integer)):
        # PyTorch assigns only tensors and Python numbers (NumPy's integers, float64 and complex128,
        # which subclass Python's, too): ``x[0] = [1, 2]`` or a np.float32 is its TypeError
        kind = type(value)
        name = kind.__name__ if kind.__module__ in ("builtins", "fractions") else f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"can't assign a {name} to a {x._type_name()}")
    if index is False:  # PyTorch writes nothing, and checks nothing either (not even a leaf's in-place rule)
        return
    if x.dim() == 0:
        _check_zero_dim(x, index)
    basic = _basic_index(index)
    try:
        check_inplace(x, overlap_ok=basic)
        if basic and x._base is not None and _has_internal_overlap(x):  # PyTorch judges the region written
            check_inplace(x[index])
    except RuntimeError as exc:
        if basic and str(exc).startswith("a leaf Variable"):  # PyTorch writes into the view x[index]
            raise RuntimeError("a view of a leaf Variable that requires grad is being used in an in-place "
                               "operation.") from None
        raise
    if not basic:
        value = _check_put_value(x, index, value, False)
    if isinstance(value, Tensor) and value._version is x._version:
        _check_value_overlap(x, index, value, basic)
    value = _value_tensor(x, value, basic)
    if (STATE.enabled and (needs_rebase(x) or (isinstance(value, Tensor) and _requires_grad_now(value)))) or (
            _FW[0] is not None and _FW[0].involves(x, value)):  # forward AD: the tangent follows the write
        if not isinstance(value, Tensor):  # checked by _value_tensor
            value = x._new(x._kt["full"]((), _cast(value, x.dtype), x.dtype, x.device.index))
        assign_inplace(x, IndexPutFunctional.apply(x, value, index, False))
        return
    _write(x, index, value)
    x._version[0] += 1


def _check_index_put(name: str, x: Tensor, indices: Any, values: Any, accumulate: bool) -> tuple:
    """PyTorch's argument rules for index_put(_): a tuple or list of tensors, a tensor value (of
    x's dtype, but for masked_fill_'s case), no more indices than dims."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{name}(): argument 'indices' must be tuple of Tensors, not {type(indices).__name__}")
    for i, item in enumerate(indices):
        if not isinstance(item, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(item).__name__}")
    if not isinstance(values, Tensor):
        raise TypeError(f"{name}(): argument 'values' must be Tensor, not {type(values).__name__}")
    if len(indices) > x.dim():
        raise IndexError(f"too many indices for tensor of dimension {x.dim()} (got {len(indices)})")
    indices = tuple(indices)
    return indices, _check_put_value(x, indices, values, accumulate)


def index_put(x: Tensor, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
    """Out-of-place ``x[indices] = values`` (or ``+=`` with accumulate)."""
    indices, values = _check_index_put("index_put", x, indices, values, accumulate)
    return _index_put(x, indices, values, accumulate)


def _index_put(x: Tensor, indices: tuple, values: Any, accumulate: bool) -> Tensor:
    values = _value_tensor(x, values)
    if not isinstance(values, Tensor):
        values = x._new(x._kt["full"]((), _cast(values, x.dtype), x.dtype, x.device.index))
    return IndexPutFunctional.apply(x, values, indices, accumulate)


def index_put_(x: Tensor, indices: tuple, values: Any, accumulate: bool = False) -> Tensor:
    from ember.autograd.inplace import check_inplace, needs_rebase
    from ember.functions.elementwise import assign_inplace

    indices, values = _check_index_put("index_put_", x, indices, values, accumulate)
    if isinstance(values, Tensor) and values._version is x._version:  # PyTorch's assert_no_overlap
        _check_value_overlap(x, indices, values, False)
    if not (STATE.enabled and (needs_rebase(x) or (isinstance(values, Tensor) and _requires_grad_now(values)))) and not (
            _FW[0] is not None and _FW[0].involves(x, values)):  # forward AD: the tangent follows the write
        check_inplace(x)
        _write(x, tuple(indices), _value_tensor(x, values), accumulate)
        x._version[0] += 1
        return x
    return assign_inplace(x, _index_put(x, indices, values, accumulate))


# ---- gather / scatter family ---------------------------------------------------------------------
# PyTorch's rules for this family live here, once, for every backend: the index's dtype, device,
# shape and bounds. A kernel may then assume what core/ember/kernels.py states: an int64 index
# inside [0, size), of the rank and sizes the op needs. The bounds check costs one device->host
# transfer per op (the index's min and max together); callers whose indices are valid by
# construction (the backward passes, cross-entropy's checked targets) apply the Functions below
# directly and pay nothing.
def _scalar_type(dt: _dt.dtype) -> str:
    """PyTorch's ScalarType name ("Float", "Long") that its dtype errors print."""
    from ember.tensor import _TYPE_NAMES

    return _TYPE_NAMES[dt].removesuffix("Tensor") if dt in _TYPE_NAMES else dt.name


def _same_device(x: Tensor, other: Tensor) -> None:
    if other._device is not x._device:
        from ember.functions.elementwise import _device_error

        raise _device_error(x, other)


def _long_index(index: Tensor, accept_int32: bool, error: Exception) -> Tensor:
    """``index`` as int64 (the kernels' index type), or raise ``error`` for another dtype."""
    if index.dtype is _dt.int64:
        return index
    if accept_int32 and index.dtype is _dt.int32:
        return index.to(_dt.int64)
    raise error


# Up to this many elements, copying an index to the host and reducing it there is cheaper than
# two reductions on the device (measured on PoCL: 56 us against 324 us at 256 elements, 207 us
# against 523 us at 64K); past it, only the min and the max travel.
_HOST_RANGE_MAX = 1 << 16


def _index_range(index: Tensor) -> tuple[int, int]:
    """(min, max) of a non-empty index with one device->host transfer, on backend arrays (this
    runs on every checked op, so it skips the Tensor layer), or with none when the host knows them
    (``ember._value_range``)."""
    kt, data = index._kt, index._data
    if kt.device_type == "meta":  # no values: PyTorch checks no bounds on the meta device
        return 0, 0
    known = _value_range.exact(index)
    if known is not None:
        return known
    if index.numel() <= _HOST_RANGE_MAX:
        host = kt["to_host"](data)
        return int(host.min()), int(host.max())
    dims = tuple(range(index.dim()))
    both = kt["cat"]([kt["reshape"](kt[r](data, dims, False), (1,)) for r in ("amin", "amax")], 0)
    lo, hi = kt["to_host"](both).tolist()
    return lo, hi


def _check_bounds(index: Tensor, low: int, high: int, error: Callable[[int], Exception]) -> bool:
    """Raise ``error(v)`` for the first ``v`` of ``index`` outside [low, high) (the one PyTorch's
    sequential check names); return whether ``index`` holds a negative value."""
    if index.numel() == 0:
        return False
    if _checks.compiling():  # recorded as a check every replay repeats; negatives are then wrapped always
        kt, data = index._kt, index._data
        _checks.check(kt, _checks.out_of_range(kt, data, low, high),
                      lambda host: error(next(v for v in host.reshape(-1).tolist() if not low <= v < high)), data)
        return low < 0
    known = _value_range.bounds(index)
    if known is not None and low <= known[0] and known[1] < high:  # in range: no device read
        return known[0] < 0
    lo, hi = _index_range(index)
    if lo < low or hi >= high:
        raise error(next(v for v in index.reshape(-1).tolist() if not low <= v < high))
    return lo < 0


def _wrap_negative(index: Tensor, size: int) -> Tensor:
    """Indices in [-size, size) mapped into [0, size), for the ops where PyTorch accepts negative ones."""
    from ember.functions.elementwise import where

    return where(index < 0, index + size, index)


def _out_of_bounds(dim: int, size: int) -> Callable[[int], Exception]:
    return lambda v: RuntimeError(f"index {v} is out of bounds for dimension {dim} with size {size}")


def _size(x: Tensor, dim: int) -> int:
    """PyTorch's ensure_nonempty_size: a 0-d tensor has one element along any dim; a dim past a
    tensor's last one raises its IndexError."""
    return x.shape[_wrap_dim(dim, x.dim())] if x.dim() else 1


class Gather(Function):
    """``gather`` on an index already checked (int64, in range, ``index.dim() == x.dim() >= 1``)."""

    _backward_name = "GatherBackward0"

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.save_for_backward(index)
        ctx.dim, ctx.shape = dim, x._data.shape
        return x._new(x._kt["gather"](x._data, dim, index._data))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros

        (index,) = ctx.saved_tensors
        return Scatter.apply(zeros(ctx.shape, dtype=g.dtype, device=g.device), ctx.dim, index, g, True), None, None


@numpy_names
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(gather(input, dim, index, sparse_grad=sparse_grad), out)
    if sparse_grad:  # refuse rather than hand back a dense gradient where a sparse one was asked for
        raise NotImplementedError("gather(sparse_grad=True) asks for a sparse gradient, and ember has no sparse "
                                  "tensors; use sparse_grad=False: the gradient then has the same values, stored dense")
    d = _wrap_dim(dim, input.dim())
    if not (isinstance(index, Tensor) and index.numel() == 0):  # (PyTorch checks a non-empty index's dtype only)
        index = _long_index(index, True, RuntimeError("gather(): Expected dtype int32/int64 for index"))
    _same_device(input, index)
    if index.numel() == 0:  # PyTorch skips the shape checks: an empty result of index's shape
        return input.reshape(-1).narrow(0, 0, 0).reshape(tuple(index.shape))
    n = max(input.dim(), 1)
    if max(index.dim(), 1) != n:
        raise RuntimeError("Index tensor must have the same number of dimensions as input tensor")
    for i in range(n):
        if i != d and _size(index, i) > _size(input, i):
            raise RuntimeError(f"Size does not match at dimension {i} expected index {list(index.shape)} to be no "
                               f"larger than self {list(input.shape)} apart from dimension {d}")
    size = _size(input, d)
    _check_bounds(index, 0, size, _out_of_bounds(d, size))
    if input.dim() == 0 or index.dim() == 0:  # the kernels take 1-d for 0-d
        return Gather.apply(input.reshape(-1), 0, index.reshape(-1)).reshape(tuple(index.shape))
    return Gather.apply(input, d, index)


@numpy_names
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(take_along_dim(input, indices, dim), out)
    if dim is None:
        return gather(input.reshape(-1), 0, indices.reshape(-1))
    if input.dim() == 0:  # PyTorch wraps this dim without the 0-d allowance
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = _wrap_dim(dim, input.dim())
    if input.dim() != indices.dim():
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same number of dimensions, "
                           f"but got {input.dim()} dimensions for input, and {indices.dim()} dimensions for indices")
    if indices.dtype is not _dt.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{_scalar_type(indices.dtype)}")
    _same_device(input, indices)
    if input.dim() == 0:
        return take_along_dim(input.reshape(1), indices.reshape(1), 0).reshape(())
    # negative indices count from the end, as in PyTorch; past either end raises (PyTorch 2.13 takes
    # them modulo the size, a silently wrong result)
    size = input.shape[d]
    if _check_bounds(indices, -size, size, _out_of_bounds(d, size)):
        indices = _wrap_negative(indices, size)
    shape_i = list(indices.shape)
    shape_x = list(input.shape)
    x_b = input.expand([max(a, b) if i != d else shape_x[d] for i, (a, b) in enumerate(zip(shape_x, shape_i))])
    idx_shape = list(x_b.shape)
    idx_shape[d] = indices.shape[d]
    return Gather.apply(x_b, d, indices.expand(idx_shape))


class Scatter(Function):
    """``scatter``/``scatter_add`` on an index already checked, with ``src`` (a tensor or a
    Python number) of exactly index's shape."""

    _backward_name = "ScatterBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce_add):
        ctx.save_for_backward(index)
        ctx.dim, ctx.reduce_add = dim, reduce_add
        ctx.src_is_tensor = isinstance(src, Tensor)
        s = src._data if isinstance(src, Tensor) else _cast(src, x._dtype)
        kernel = "scatter_add" if reduce_add else "scatter"
        return x._new(x._kt[kernel](x._data, dim, index._data, s))

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gx = g if ctx.reduce_add else Scatter.apply(g, ctx.dim, index, 0.0, False)
        gs = Gather.apply(g, ctx.dim, index) if ctx.src_is_tensor and ctx.needs_input_grad[3] else None
        return gx, None, None, gs, None


def _check_scatter_shape(x: Tensor, dim: int, index: Tensor, src: Tensor | None) -> None:
    """PyTorch's scatter_shape_check: as many dims as self, no larger than self apart from ``dim``,
    no larger than ``src`` anywhere (then, in its kernel, as many dims as ``src``)."""
    n = max(x.dim(), 1)
    if max(index.dim(), 1) != n:
        raise RuntimeError("Index tensor must have the same number of dimensions as self tensor")
    wrong = any(i != dim and _size(index, i) > _size(x, i) for i in range(n))
    if not wrong and src is not None:
        wrong = any(_size(index, i) > _size(src, i) for i in range(n))
    if wrong:
        msg = f"Expected index {list(index.shape)} to be no larger than self {list(x.shape)} apart from dimension {dim}"
        raise RuntimeError(msg + (f" and to be no larger size than src {list(src.shape)}" if src is not None else ""))
    if src is not None and max(src.dim(), 1) != max(index.dim(), 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src tensor")


def _scatter(input: Tensor, dim: int, index: Tensor, src: Any, reduce_add: bool) -> Tensor:
    d = _wrap_dim(dim, input.dim())
    index = _long_index(index, True, RuntimeError("scatter(): Expected dtype int32/int64 for index"))
    _same_device(input, index)
    is_tensor = isinstance(src, Tensor)
    if is_tensor:
        _same_device(input, src)
        if src.dtype is not input.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if index.numel() == 0:  # PyTorch skips the shape checks: nothing is written
        return input.clone()
    _check_scatter_shape(input, d, index, src if is_tensor else None)
    size = _size(input, d)
    _check_bounds(index, 0, size, _out_of_bounds(d, size))
    if input.dim() == 0 or index.dim() == 0 or (is_tensor and src.dim() == 0):  # the kernels take 1-d for 0-d
        flat = index.reshape(-1)
        s = src.reshape(-1).narrow(0, 0, flat.numel()) if is_tensor else src
        return Scatter.apply(input.reshape(-1), 0, flat, s, reduce_add).reshape(tuple(input.shape))
    if is_tensor and tuple(src.shape) != tuple(index.shape):
        src = _narrow_to(src, tuple(index.shape))
    return Scatter.apply(input, d, index, src, reduce_add)


def _narrow_to(src: Tensor, shape: tuple) -> Tensor:
    """``src``'s leading corner of ``shape`` (checked to fit): the part a scatter reads."""
    out = src
    for i, s in enumerate(shape):
        if out.shape[i] != s:
            out = out.narrow(i, 0, s)
    return out


def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None, reduce: str | None = None,
            out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(scatter(input, dim, index, src, value=value, reduce=reduce), out)
    if src is None:
        src = value
    if not isinstance(src, Tensor) and src is not None:
        # PyTorch's checked conversion of the value: int8 with 300 raises, uint8 takes -1 as 255
        src = checked_scalar(src, input._dtype)
    if reduce is not None:
        return _scatter_legacy_reduce(input, dim, index, src, reduce)
    return _scatter(input, dim, index, src, False)


@numpy_names
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor, *, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(scatter_add(input, dim, index, src), out)
    return _scatter(input, dim, index, src, True)


# ---- scatter_reduce / index_reduce / index_copy ---------------------------------------------------
# Composites of required kernels, on the device and without a host sync: ``sum`` and ``mean`` add
# with index_put; ``prod``/``amax``/``amin`` sort the (target, value) pairs by target and run a
# segmented scan (log2(n) halving steps), so each target's last pair holds its reduction.
_REDUCES = ("sum", "prod", "mean", "amax", "amin")
_REDUCE_ALIASES = {"max": "amax", "min": "amin"}  # PyTorch's parser accepts these too


def _targets(x_shape: tuple, dim: int, index: Tensor) -> Tensor:
    """The flat position in a contiguous tensor of ``x_shape`` that each element of ``index``
    (same ndim, checked) writes to: index along ``dim``, its own coordinate elsewhere."""
    from ember.functions.creation import arange

    strides = [math.prod(x_shape[k + 1:]) for k in range(len(x_shape))]
    flat = index * strides[dim]
    for k, n in enumerate(index.shape):
        if k != dim:
            shape = [1] * index.dim()
            shape[k] = n
            flat = flat + arange(n, device=index.device).reshape(shape) * strides[k]
    return flat.reshape(-1)


def _segmented_scan(keys: Tensor, vals: Tensor, op: Callable) -> Tensor:
    """Inclusive scan with ``op`` inside each run of equal ``keys`` (sorted): Hillis-Steele, where
    a step combines with the value ``s`` places back only inside the same run."""
    from ember.functions.elementwise import where
    from ember.functions.shape import cat

    n, s = vals.shape[0], 1
    while s < n:
        same = keys[s:] == keys[:-s]
        vals = cat([vals[:s], where(same, op(vals[s:], vals[:-s]), vals[s:])])
        s *= 2
    return vals


def _reduce_groups(base: Tensor, targets: Tensor, vals: Tensor, reduce: str) -> Tensor:
    """``base`` (flat) with each target position replaced by the ``reduce`` of the values sent to it."""
    from ember.functions.elementwise import maximum, minimum, where
    from ember.functions.reduction import sort
    from ember.functions.shape import cat

    op = {"prod": lambda a, b: a * b, "amax": maximum, "amin": minimum}[reduce]
    keys, order = sort(targets, 0)
    vals = _segmented_scan(keys, IndexSelect.apply(vals, 0, order), op)
    m = base.shape[0]
    last = cat([keys[1:] != keys[:-1], keys.new_ones((1,), dtype=_dt.bool_)])
    # every non-last pair writes to one spare slot past the end, dropped after: no duplicates elsewhere
    dest = where(last, keys, m)
    padded = cat([base, base[:1] if m else vals[:1]])
    return Scatter.apply(padded, 0, dest, vals, False)[:m]


def _scatter_reduce_data(x: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool) -> Tensor:
    """The values of ``scatter_reduce`` (no graph): x, index and src of one ndim >= 1, src of index's shape."""
    from ember.functions.creation import zeros

    dtype = x.dtype
    if dtype is _dt.bool_:  # reduce as integers; a non-zero result is True
        return _scatter_reduce_data(x.to(_dt.int64), dim, index, src.to(_dt.int64), reduce, include_self) != 0
    base = x.reshape(-1)
    targets = _targets(tuple(x.shape), dim, index)
    vals = src.reshape(-1)
    m = base.shape[0]
    if reduce in ("sum", "mean"):
        touched = IndexAdd.apply(zeros(m, dtype=_dt.int64, device=x.device), 0, targets,
                                 targets.new_ones(targets.shape))
        start = base if include_self else base * (touched == 0).to(dtype)
        total = IndexAdd.apply(start, 0, targets, vals)
        if reduce == "sum":
            return total.reshape(tuple(x.shape))
        count = touched + int(include_self)
        count = count.masked_fill(count == 0, 1).to(dtype)
        mean = total.div(count, rounding_mode="floor") if not dtype.is_floating_point else total / count
        return mean.reshape(tuple(x.shape))
    if include_self:  # self's own value joins each group as one more pair
        from ember.functions.creation import arange
        from ember.functions.shape import cat

        targets = cat([arange(m, device=x.device), targets])
        vals = cat([base, vals])
    return _reduce_groups(base, targets, vals, reduce).reshape(tuple(x.shape))


class ScatterReduce(Function):
    """``scatter_reduce`` on an index already checked, ``src`` of exactly index's shape, ndim >= 1;
    backward as PyTorch's (gradients shared evenly between tied maxima/minima)."""

    _backward_name = "ScatterReduceBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src, reduce, include_self):
        from ember.autograd.grad_mode import no_grad

        with no_grad():
            out = _scatter_reduce_data(x, dim, index, src, _REDUCE_ALIASES.get(reduce, reduce), include_self)
        ctx.save_for_backward(x, index, src, out)
        ctx.dim, ctx.reduce, ctx.include_self = dim, reduce, include_self
        return out

    @staticmethod
    def backward(ctx, g):
        if ctx.reduce in _REDUCE_ALIASES:  # PyTorch's forward takes "max"/"min", its derivative does not
            raise RuntimeError(f"Expected 'reduce' to be one of 'sum', 'prod', 'mean', 'amax', 'amin' but got "
                               f"{ctx.reduce}.")
        x, index, src, result = ctx.saved_tensors
        d, reduce = ctx.dim, ctx.reduce
        grad_self, grad_src = _scatter_reduce_grads(g, x, d, index, src, result, reduce, ctx.include_self)
        if not ctx.include_self:
            grad_self = Scatter.apply(grad_self, d, index, 0.0, False)
        return grad_self, None, None, grad_src, None, None


def _scatter_reduce_grads(g: Tensor, x: Tensor, d: int, index: Tensor, src: Tensor, result: Tensor, reduce: str,
                          include_self: bool) -> tuple:
    """PyTorch's scatter_reduce_backward, in ember ops (so it is itself differentiable)."""
    from ember.functions.creation import ones_like, zeros_like
    from ember.functions.elementwise import where

    if reduce == "sum":
        return g, Gather.apply(g, d, index)
    if reduce == "mean":
        n = ones_like(g) if include_self else zeros_like(g)
        n = Scatter.apply(n, d, index, ones_like(src), True)
        n = n.masked_fill(n == 0, 1)
        return g / n, Gather.apply(g, d, index) / Gather.apply(n, d, index)
    if reduce == "prod":
        # a zero factor: its gradient is the product of the others, computed with it set to 1
        masked_self = x.masked_fill(x == 0, 1)
        masked_self_result = ScatterReduce.apply(masked_self, d, index, src, reduce, include_self)
        grad_self = g * masked_self_result / masked_self
        src_zero = src == 0
        zeros_at = Scatter.apply(zeros_like(x), d, index, src_zero.to(x.dtype), True)
        single_zero = src_zero & (Gather.apply(zeros_at, d, index) == 1)
        masked_src_result = ScatterReduce.apply(x, d, index, src.masked_fill(single_zero, 1), reduce, include_self)
        grad_src = where(single_zero, Gather.apply(g * masked_src_result, d, index),
                         Gather.apply(g * result, d, index) / src.masked_fill(src_zero, 1))
        return grad_self, grad_src
    # amax / amin: the gradient is shared evenly between the elements equal to the result
    value = Gather.apply(result, d, index)
    self_is = (x == result).to(x.dtype)
    src_is = (src == value).to(x.dtype)
    share = g / Scatter.apply(self_is, d, index, src_is, True)
    return self_is * share, src_is * Gather.apply(share, d, index)


def _check_reduce(reduce: str) -> str:
    reduce = _REDUCE_ALIASES.get(reduce, reduce)
    if reduce not in _REDUCES:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    return reduce


def _scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, include_self: bool) -> Tensor:
    """Checks as PyTorch's scatter, then ``ScatterReduce`` (0-d operands as 1-d)."""
    d = _wrap_dim(dim, input.dim())
    index = _long_index(index, True, RuntimeError("scatter(): Expected dtype int32/int64 for index"))
    _same_device(input, index)
    _same_device(input, src)
    if src.dtype is not input.dtype:
        raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    if reduce == "mean" and input.dtype is _dt.bool_:
        raise NotImplementedError(f"\"scatter_gather_tensor_{input.device.type}_reduce_mean\" not implemented for "
                                  f"'Bool'")
    if index.numel() == 0:
        return input.clone()
    op = _REDUCE_ALIASES.get(reduce, reduce)
    if input.dtype.is_complex and op in ("amax", "amin"):  # PyTorch's kernel has no complex max/min
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f'"scatter_gather_tensor_{input.device.type}_reduce_{op}" not implemented for '
                                  f"'{type_word(input.dtype)}'")
    _check_scatter_shape(input, d, index, src)
    size = _size(input, d)
    _check_bounds(index, 0, size, _out_of_bounds(d, size))
    if input.dim() == 0 or index.dim() == 0 or src.dim() == 0:
        flat = index.reshape(-1)
        s = src.reshape(-1).narrow(0, 0, flat.numel())
        return ScatterReduce.apply(input.reshape(-1), 0, flat, s, reduce, include_self).reshape(tuple(input.shape))
    if tuple(src.shape) != tuple(index.shape):
        src = _narrow_to(src, tuple(index.shape))  # a differentiable view: src's gradient is 0 elsewhere
    return ScatterReduce.apply(input, d, index, src, reduce, include_self)


@numpy_names
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """``input`` with the values of ``src`` reduced into it at ``index`` along ``dim``, with
    ``reduce`` one of "sum", "prod", "mean", "amax", "amin" (``include_self``: input's own value
    takes part). Differentiable in ``input`` and ``src``, as in PyTorch.

    Example:
        >>> import ember
        >>> x = ember.tensor([1.0, 2.0, 3.0])
        >>> x.scatter_reduce(0, ember.tensor([0, 0, 2]), ember.tensor([5.0, 7.0, 1.0]), "amax")
        tensor([7., 2., 3.])
    """
    if out is not None:
        return _out(scatter_reduce(input, dim, index, src, reduce, include_self=include_self), out)
    _check_reduce(reduce)
    return _scatter_reduce(input, dim, index, src, reduce, include_self)


def _scatter_legacy_reduce(input: Tensor, dim: int, index: Tensor, src: Any, reduce: str) -> Tensor:
    """``scatter(..., reduce="add"/"multiply")``: PyTorch's deprecated form, which has no derivative."""
    import warnings

    from ember.functions.search import _no_derivative

    if reduce not in ("add", "multiply"):
        raise RuntimeError("reduce argument must be either add or multiply.")
    if isinstance(src, Tensor):
        warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated and will be removed in a "
                      "future PyTorch release. Use torch.scatter_reduce instead for more reduction options.",
                      UserWarning, stacklevel=3)
    else:
        src = _full_like_scalar(input, src).expand(tuple(index.shape))
    from ember.autograd.grad_mode import no_grad

    with no_grad():
        out = _scatter_reduce(input, dim, index, src, "sum" if reduce == "add" else "prod", True)
    return _no_derivative(out, (input, src), RuntimeError("derivative for aten::scatter is not implemented"))


@numpy_names
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True, out: Tensor | None = None) -> Tensor:
    """``input`` with the slices of ``source`` reduced into the slices ``index`` names along ``dim``
    (``reduce``: "prod", "mean", "amax" or "amin"), as ``scatter_reduce`` with a broadcast index.

    Example:
        >>> import ember
        >>> x = ember.ones(2, 2)
        >>> x.index_reduce(0, ember.tensor([1, 1]), ember.tensor([[2.0, 3.0], [4.0, 5.0]]), "prod")
        tensor([[ 1.,  1.],
                [ 8., 15.]])
    """
    if out is not None:
        return _out(index_reduce(input, dim, index, source, reduce, include_self=include_self), out)
    if reduce not in ("prod", "mean", "amax", "amin"):
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin but got {reduce}.")
    d = _wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                         f"{_scalar_type(index.dtype)} and size: {list(index.shape)}")
    index = _long_index(index, True, RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: "
                                                  f"{_scalar_type(index.dtype)}"))
    _same_device(input, index)
    _same_device(input, source)
    _check_index_add(input, d, index, source, "index_reduce_")
    if input.dtype.is_complex:  # PyTorch's index_func_ kernel has no complex types
        from ember.functions.complex_ops import type_word

        raise NotImplementedError(f"\"index_func_\" not implemented for '{type_word(input.dtype)}'")
    _check_bounds(index, 0, _size(input, d), lambda v: IndexError("index out of range in self"))
    if input.dim() == 0:
        return ScatterReduce.apply(input.reshape(1), 0, index.reshape(-1), source.reshape(1), reduce,
                                   include_self).reshape(())
    # the index along dim, broadcast over source's other dims
    shape = [1] * source.dim()
    shape[d] = index.numel()
    full_index = index.reshape(shape).expand(tuple(source.shape)).contiguous()
    res = ScatterReduce.apply(input, d, full_index, source, reduce, include_self)
    if (input._dtype is _dt.float16 or input._dtype is _dt.bfloat16) and reduce in ("prod", "mean") and res.numel():
        with no_grad():  # PyTorch's values; autograd keeps ScatterReduce's graph
            res._data = _index_reduce_lowp(input, d, index, source, reduce, include_self)._data
    return res


def _index_reduce_lowp(input: Tensor, d: int, index: Tensor, source: Tensor, reduce: str,
                       include_self: bool) -> Tensor:
    """PyTorch 2.13's 16-bit CPU index_reduce prod/mean: the index walked in order, each product or
    sum rounded to the 16-bit type, a mean's sum then divided (rounded) by its count. Vectorised by
    occurrence: the k-th occurrences of the indices name distinct rows."""
    import numpy as np

    from ember.functions.creation import tensor

    idx = np.asarray(index.reshape(-1).tolist(), dtype=np.int64)
    x, src = input.movedim(d, 0).contiguous(), source.movedim(d, 0)
    rank = np.zeros(idx.size, dtype=np.int64)
    seen: dict = {}
    for j, i in enumerate(idx.tolist()):
        rank[j] = seen.get(i, 0)
        seen[i] = rank[j] + 1
    dev = input.device
    if not include_self and idx.size:  # the reduction starts from its identity instead of self
        x = x.index_fill(0, tensor(np.unique(idx), device=dev), 1.0 if reduce == "prod" else 0.0)
    for k in range(int(rank.max()) + 1 if idx.size else 0):
        sel = np.nonzero(rank == k)[0]
        dst = tensor(idx[sel], device=dev)
        cur, vals = x.index_select(0, dst), src.index_select(0, tensor(sel, device=dev))
        x = x.index_copy(0, dst, cur * vals if reduce == "prod" else cur + vals)
    if reduce == "mean":
        counts = np.full(x.shape[0], 1 if include_self else 0, dtype=np.float64)
        np.add.at(counts, idx, 1)
        x = x / tensor(np.maximum(counts, 1), dtype=input._dtype, device=dev).reshape((-1,) + (1,) * (x.dim() - 1))
    return x.movedim(0, d).contiguous()


class IndexCopy(Function):
    """``index_copy`` on a checked 1-d int64 index (``x.dim() >= 1``)."""

    _backward_name = "IndexCopyBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.save_for_backward(index)
        ctx.dim = dim
        xm, sm = x.movedim(dim, 0), src.movedim(dim, 0)
        rest = list(xm.shape[1:])
        table = xm.reshape(xm.shape[0], math.prod(rest))
        vals = sm.reshape(sm.shape[0], math.prod(rest))
        out = x._kt["index_put"](table._data, index._data, vals._data, False)
        return x._new(out).reshape([xm.shape[0]] + rest).movedim(0, dim).contiguous()

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros

        (index,) = ctx.saved_tensors
        gx = gs = None
        if ctx.needs_input_grad[0]:  # the copied-over slices get nothing
            gx = IndexCopy.apply(g, ctx.dim, index, zeros(_slices_shape(g, ctx.dim, index), dtype=g.dtype,
                                                              device=g.device))
        if ctx.needs_input_grad[3]:
            gs = IndexSelect.apply(g, ctx.dim, index)
        return gx, None, None, gs


def _slices_shape(x: Tensor, dim: int, index: Tensor) -> list:
    shape = list(x.shape)
    shape[dim] = index.numel()
    return shape


@numpy_names
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``input`` with the slices of ``source`` copied to the positions ``index`` names along ``dim``.

    Example:
        >>> import ember
        >>> ember.zeros(3).index_copy(0, ember.tensor([2, 0]), ember.tensor([9.0, 8.0]))
        tensor([8., 0., 9.])
    """
    if out is not None:
        return _out(index_copy(input, dim, index, source), out)
    d = _wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise IndexError(f"index_copy_(): Index should have dimension 1 or 0 (got {index.dim()})")
    if index.dtype is not _dt.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got {_scalar_type(index.dtype)}")
    _same_device(input, index)
    _same_device(input, source)
    if source.dtype is not input.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, but got (self) "
                           f"{_scalar_type(input.dtype)} and (source) {_scalar_type(source.dtype)}")
    if input.dim() and source.dim() and input.dim() != source.dim():
        raise IndexError(f"index_copy_(): When source and destination are not scalars, their dimensionality must "
                         f"match. Source dimensionality ({source.dim()}), destination dimensionality ({input.dim()})")
    self_slice = [s for k, s in enumerate(input.shape) if k != d]
    src_slice = [s for k, s in enumerate(source.shape) if k != d]
    if self_slice != src_slice:
        raise RuntimeError(f"index_copy_(): Source/destination tensor must have same slice shapes. Destination slice "
                           f"shape: {' '.join(map(str, self_slice))} at dimension {d} and source slice shape: "
                           f"{' '.join(map(str, src_slice))} at dimension 0.")
    n_src = source.shape[d] if source.dim() else 1
    if index.numel() != n_src:
        raise IndexError(f"index_copy_(): Number of indices ({index.numel()}) should be equal to source.size(dim) "
                         f"({n_src})")
    size = _size(input, d)
    _check_bounds(index, 0, size, lambda v: IndexError(f"index_copy_(): index {v} is out of bounds for dimension "
                                                       f"{d} with size {size}"))
    if input.dim() == 0:
        return IndexCopy.apply(input.reshape(1), 0, index.reshape(-1), source.reshape(1)).reshape(())
    return IndexCopy.apply(input, d, index.reshape(-1), source.reshape(_slices_shape(input, d, index)))


class IndexSelect(Function):
    """``index_select`` on a checked 1-d int64 index of ``x`` (``x.dim() >= 1``)."""

    _backward_name = "IndexSelectBackward0"

    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.save_for_backward(index)
        ctx.dim, ctx.shape = dim, x._data.shape
        return x._new(x._kt["index_select"](x._data, dim, index._data))

    @staticmethod
    def backward(ctx, g):
        from ember.functions.creation import zeros

        (index,) = ctx.saved_tensors
        return IndexAdd.apply(zeros(ctx.shape, dtype=g.dtype, device=g.device), ctx.dim, index, g), None, None


@numpy_names
def index_select(input: Tensor, dim: int, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(index_select(input, dim, index), out)
    d = _wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise IndexError("index_select(): Index is supposed to be a vector")
    index = _long_index(index, True, RuntimeError("index_select(): Expected dtype int32 or int64 for index"))
    _same_device(input, index)
    if input.dim() == 0 and index.numel() > 1:
        raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index.numel()} value(s)")
    size = _size(input, d)
    if input.dim() > 1 and index.numel() and not input.numel() and not size:
        raise RuntimeError("index_select(): self indexing axis dim should be positive")
    if input.dim() > 1 and index.numel() and (d == 1 or not input.numel()):
        # PyTorch's CPU paths for dim 1 and for an empty input have their own (RuntimeError) bounds check
        _check_bounds(index, 0, size, lambda v: RuntimeError(
            f"INDICES element is out of DATA bounds, id={v} axis_dim={size}"))
    else:
        _check_bounds(index, 0, size, lambda v: IndexError("index out of range in self"))
    if input.dim() == 0:
        return IndexSelect.apply(input.reshape(1), 0, index.reshape(-1)).reshape(())
    return IndexSelect.apply(input, d, index.reshape(-1))


class IndexAdd(Function):
    """``index_add`` on a checked 1-d int64 index, ``src`` of x's shape but ``len(index)`` along
    ``dim`` (``x.dim() >= 1``)."""

    _backward_name = "IndexAddBackward0"

    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.save_for_backward(index)
        ctx.dim = dim
        xm = x.movedim(dim, 0)
        sm = src.movedim(dim, 0)
        rest = list(xm.shape[1:])
        table = xm.reshape(xm.shape[0], math.prod(rest))  # not -1: either may have no rows
        vals = sm.reshape(sm.shape[0], math.prod(rest))
        out = x._kt["index_put"](table._data, index._data, vals._data, True)
        return x._new(out).reshape([xm.shape[0]] + rest).movedim(0, dim).contiguous()

    @staticmethod
    def backward(ctx, g):
        (index,) = ctx.saved_tensors
        gs = IndexSelect.apply(g, ctx.dim, index) if ctx.needs_input_grad[3] else None
        return g, None, None, gs


def _check_index_add(input: Tensor, d: int, index: Tensor, source: Tensor, name: str = "index_add_") -> None:
    """PyTorch's index_add (and index_reduce) meta checks on source (the index's own were done by the caller)."""
    if source.dtype is not input.dtype:
        raise RuntimeError(f"{name}(): self ({_scalar_type(input.dtype)}) and source "
                           f"({_scalar_type(source.dtype)}) must have the same scalar type")
    if not (d == 0 or d < source.dim()):
        raise RuntimeError(f"{name}(): Indexing dim {d} is out of bounds of the source tensor with dim "
                           f"{source.dim()}")
    n_src = source.shape[d] if source.dim() else 1
    if index.numel() != n_src:
        raise RuntimeError(f"{name}(): Number of indices ({index.numel()}) should be equal to source.size(dim): "
                           f"({n_src}), for dim: {d}")
    self_rest, src_rest = list(input.shape), list(source.shape)
    if input.dim() and source.dim():
        del self_rest[d], src_rest[d]
    if self_rest != src_rest:
        raise RuntimeError(f"source tensor shape must match self tensor shape, excluding the specified dimension. "
                           f"Got self.shape = {list(input.shape)} source.shape = {list(source.shape)}")


@numpy_names
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1,
              out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(index_add(input, dim, index, source, alpha=alpha), out)
    d = _wrap_dim(dim, input.dim())
    if index.dim() > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: {index.dim()} with type: "
                         f"{_scalar_type(index.dtype)} and size: {list(index.shape)}")
    index = _long_index(index, True, RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: "
                                                  f"{_scalar_type(index.dtype)}"))
    _same_device(input, index)
    _same_device(input, source)
    _check_index_add(input, d, index, source)
    size = _size(input, d)
    # PyTorch's 1-D (and 0-d) path reports a bad index as index_select does; the others name it
    oob = (lambda v: IndexError("index out of range in self")) if input.dim() <= 1 else _out_of_bounds(d, size)
    _check_bounds(index, 0, size, oob)
    alpha = _cast(alpha, input.dtype)  # PyTorch reads alpha as self's scalar type (2.5 is 2 for ints)
    if alpha != 1:
        source = source * alpha
        if source.dtype is not input.dtype:
            source = source.to(input.dtype)
    if input.dim() == 0:  # then source is 0-d too (checked above); the kernels take 1-d
        return IndexAdd.apply(input.reshape(1), 0, index.reshape(-1), source.reshape(1)).reshape(())
    return IndexAdd.apply(input, d, index.reshape(-1), source)


def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    from ember.functions.creation import zeros
    from ember.functions.elementwise import where

    d = _wrap_dim(dim, input.dim())
    if index.dtype is not _dt.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index.dim() > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value.dim() > 0:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                           f"{value.dim()} dimension(s).")
    _same_device(input, index)
    size = _size(input, d)
    # unlike index_select, PyTorch's index_fill counts negative indices from the end
    if _check_bounds(index, -size, size, lambda v: IndexError(f"index {v} is out of bounds for dimension {d} "
                                                               f"with size {size}")):
        index = _wrap_negative(index, size)
    # mark the filled positions along dim, then select: the index needs no second check
    mask = Scatter.apply(zeros(size, dtype=_dt.bool_, device=input.device), 0, index.reshape(-1), True, False)
    mask = mask.reshape([size if i == d else 1 for i in range(input.dim())])
    if isinstance(value, Tensor) and not value.requires_grad:
        value = value.item()  # PyTorch checks a 0-d value tensor's number as it checks a Python number
    if isinstance(value, complex) and not input.dtype.is_complex:
        raise RuntimeError("index_fill_(): Converting complex Scalar to non-complex type is not supported")
    fill = value if isinstance(value, Tensor) else _full_like_scalar(input, value)
    if fill.device != input.device:
        fill = fill.to(input.device)
    return where(mask, fill if fill.dtype is input.dtype else fill.to(input.dtype), input)


def _full_like_scalar(x: Tensor, value: Any) -> Tensor:
    from ember.functions.creation import full

    return full((), value, dtype=x.dtype, device=x.device)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    if input.dim() == 0:
        out = input.reshape(1)._new(input._kt["nonzero"](input.reshape(1)._data), _dt.int64)
        # PyTorch's tuple form takes a 0-d input as 1-d ((tensor([0]),) when nonzero); the matrix
        # form has no columns
        return (out[:, 0],) if as_tuple else out[:, :0]
    out = input._new(input._kt["nonzero"](input._data), _dt.int64)
    if as_tuple:
        return tuple(out[:, j] for j in range(input.dim()))
    return out


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


def masked_select(input: Tensor, mask: Tensor, *, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(masked_select(input, mask), out)
    from ember.functions.shape import broadcast_tensors

    if mask.dtype is not _dt.bool_:
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    x, m = broadcast_tensors(input, mask)
    return getitem(x, m)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor, *, _inplace: bool = False) -> Tensor:
    if mask.dtype is not _dt.bool_:  # an integer mask would be taken as positions by index_put
        raise RuntimeError(f"masked_scatter_ only supports boolean masks, but got mask with dtype "
                           f"{_scalar_type(mask.dtype)}")
    if source.dtype is not input.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but got"
                           f"{_scalar_type(input.dtype)} and {_scalar_type(source.dtype)}")
    _same_device(input, mask)
    _same_device(input, source)
    if not _inplace:  # PyTorch's out-of-place form broadcasts self with the mask (expand_outplace(mask, self))
        from ember.functions.elementwise import broadcast_shapes

        shape = broadcast_shapes(tuple(mask.shape), tuple(input.shape))
        if tuple(input.shape) != shape:
            input = input.expand(shape)
    mask = mask.expand(tuple(input.shape))  # the ones are counted after broadcasting
    n = int(mask.sum().item())
    if n > source.numel():
        raise RuntimeError("Number of elements of source < number of ones in mask")
    return index_put(input, (mask,), source.reshape(-1)[:n])


def take(input: Tensor, index: Tensor, *, out: Tensor | None = None) -> Tensor:
    if out is not None:
        return _out(take(input, index), out)
    if index.dtype is not _dt.int64:
        raise RuntimeError(f"take(): Expected a long tensor for index, but got {_scalar_type(index.dtype)}")
    _same_device(input, index)
    n = input.numel()
    if n == 0 and index.numel():
        raise IndexError("take(): tried to take from an empty tensor")
    # negative indices count from the end of the flattened input, as in PyTorch
    if _check_bounds(index, -n, n, lambda v: IndexError(f"out of range: tried to access index {v} on a tensor of "
                                                         f"{n} elements.")):
        index = _wrap_negative(index, n)
    return IndexSelect.apply(input.reshape(-1), 0, index.reshape(-1)).reshape(tuple(index.shape))


# ---- declarations: Tensor methods, in-place forms, ``ember.*`` and ``__all__`` come from these ----
def _out(result: Tensor, out: Tensor) -> Tensor:
    from ember.functions.elementwise import _out as write_out

    return write_out(result, out)


def _assign(self: Tensor, result: Tensor) -> Tensor:
    from ember.functions.elementwise import assign_inplace

    return assign_inplace(self, result)


def _no_overlap(self: Tensor, *sources: Any) -> None:
    """PyTorch's assert_no_overlap for the scatter family's in-place forms: a source (or index) that
    shares any memory with ``self``, the very same memory included, is refused (``x.index_add_(0, i, x)``)."""
    from ember.functions.elementwise import _OVERLAP, check_no_overlap

    if any(s is self for s in sources):  # check_no_overlap passes a tensor itself
        raise RuntimeError(_OVERLAP)
    check_no_overlap(self, sources, full_too=True)


def _scatter_(self: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
              reduce: str | None = None) -> Tensor:
    _no_overlap(self, index, src)
    return _assign(self, scatter(self, dim, index, src, value=value, reduce=reduce))


def _scatter_add_(self: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    _no_overlap(self, index, src)
    return _assign(self, scatter_add(self, dim, index, src))


def _index_add_(self: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
    _no_overlap(self, index, source)
    return _assign(self, index_add(self, dim, index, source, alpha=alpha))


def _index_fill_(self: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    return _assign(self, index_fill(self, dim, index, value))


def _masked_scatter_(self: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    return _assign(self, masked_scatter(self, mask, source, _inplace=True))


def _scatter_reduce_(self: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                     include_self: bool = True) -> Tensor:
    _no_overlap(self, index, src)
    return _assign(self, scatter_reduce(self, dim, index, src, reduce, include_self=include_self))


def _index_reduce_(self: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    _no_overlap(self, index, source)
    return _assign(self, index_reduce(self, dim, index, source, reduce, include_self=include_self))


def _index_copy_(self: Tensor, dim: int, index: Tensor, source: Tensor) -> Tensor:
    _no_overlap(self, index, source)
    return _assign(self, index_copy(self, dim, index, source))


_ops = Family(__name__)
_op = _ops.op
_op(getitem, method=False, export=False, operators=("__getitem__",))
_op(setitem, method=False, export=False, operators=("__setitem__",))
_op(gather, kernels=("gather",), out=True)
_op(scatter, inplace=_scatter_, kernels=("scatter",), out=True)
_op(scatter_add, inplace=_scatter_add_, kernels=("scatter_add",), out=True)
_op(index_select, kernels=("index_select",), out=True)
_op(index_add, inplace=_index_add_, kernels=("index_put",), out=True)
_op(index_put, inplace=index_put_, export_inplace=True, kernels=("index_put",))
_op(masked_select, out=True)
_op(nonzero, kernels=("nonzero",), out="nonzero: Expected out tensor to have scalar type {result} but got scalar type{out}")
_op(take, kernels=("index_select",), out=True)
_op(index_fill, inplace=_index_fill_)
_op(take_along_dim, kernels=("gather",), out=True)
_op(argwhere)
_op(masked_scatter, inplace=_masked_scatter_)
_op(scatter_reduce, inplace=_scatter_reduce_, kernels=("index_put", "sort", "scatter"), out=True)
_op(index_reduce, inplace=_index_reduce_, kernels=("index_put", "sort", "scatter"), out=True)
_op(index_copy, inplace=_index_copy_, kernels=("index_put",), out=True)

__all__ = _ops.names()
