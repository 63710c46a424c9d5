"""Movement kernels. reshape/permute/expand/slice/flip return zero-copy views when possible."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ember_opencl.array import CLArray, empty
from ember_opencl.creation import clone, copy_, full
from ember_opencl.runtime import to_np

__all__ = ["reshape", "permute", "expand", "slice_", "flip", "pad", "cat", "nocopy_strides", "bitcast"]


def nocopy_strides(shape: Sequence[int], strides: Sequence[int], new_shape: Sequence[int]
                   ) -> tuple[int, ...] | None:
    """Strides viewing ``shape``/``strides`` as ``new_shape`` without a copy, or None.

    NumPy's ``_attempt_nocopy_reshape``: match groups of old and new axes with equal products
    and require each old group to be contiguous within itself.
    """
    old = [(n, s) for n, s in zip(shape, strides) if n != 1]
    new = list(new_shape)
    if math.prod(new) == 0 or not old:
        return tuple(0 for _ in new) if math.prod(new) == 0 else tuple(1 for _ in new)
    out = [0] * len(new)
    oi = ni = 0
    while oi < len(old) and ni < len(new):
        np_, op_ = new[ni], old[oi][0]
        oj, nj = oi + 1, ni + 1
        while np_ != op_:
            if np_ < op_:
                np_ *= new[nj]
                nj += 1
            else:
                op_ *= old[oj][0]
                oj += 1
        for k in range(oi, oj - 1):
            if old[k][1] != old[k + 1][0] * old[k + 1][1]:
                return None
        out[nj - 1] = old[oj - 1][1]
        for k in range(nj - 1, ni, -1):
            out[k - 1] = out[k] * new[k]
        oi, ni = oj, nj
    # trailing size-1 new axes
    last = out[ni - 1] if ni > 0 else 1
    for k in range(ni, len(new)):
        out[k] = last
    return tuple(out)


def reshape(x: CLArray, shape: tuple[int, ...]) -> CLArray:
    """A view when the strides allow it, else a copy."""
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != x.size:
        raise ValueError(f"cannot reshape array of size {x.size} into shape {shape}")
    if x.is_contiguous():
        return x.view(shape, CLArray(None, shape, x.dtype, x.device).strides, x.offset)
    st = nocopy_strides(x.shape, x.strides, shape)
    if st is not None:
        return x.view(shape, st, x.offset)
    c = clone(x)
    return c.view(shape, CLArray(None, shape, x.dtype, x.device).strides, 0)


def permute(x: CLArray, dims: tuple[int, ...]) -> CLArray:
    return x.view(tuple(x.shape[d] for d in dims), tuple(x.strides[d] for d in dims), x.offset)


def expand(x: CLArray, shape: tuple[int, ...]) -> CLArray:
    """Size-1 axes grow with stride 0."""
    strides = tuple(s if n == t else 0 for n, s, t in zip(x.shape, x.strides, shape))
    return x.view(tuple(shape), strides, x.offset)


def slice_(x: CLArray, slices: tuple[tuple[int, int, int], ...]) -> CLArray:
    """Basic slicing with normalised (start, stop, step) per axis; a view."""
    off = x.offset
    shape, strides = [], []
    for (start, stop, step), s in zip(slices, x.strides):
        length = max(0, -(-(stop - start) // step))
        if length:
            off += start * s
        shape.append(length)
        strides.append(s * step)
    shape += list(x.shape[len(slices):])
    strides += list(x.strides[len(slices):])
    return x.view(tuple(shape), tuple(strides), off)


def flip(x: CLArray, dims: tuple[int, ...]) -> CLArray:
    """A view with negated strides (like ``np.flip``)."""
    off = x.offset
    strides = list(x.strides)
    for d in dims:
        if x.shape[d] > 0:
            off += (x.shape[d] - 1) * strides[d]
        strides[d] = -strides[d]
    return x.view(x.shape, tuple(strides), off)


def pad(x: CLArray, pads: tuple[tuple[int, int], ...], value: Any) -> CLArray:
    """Constant padding: fill, then copy ``x`` into the interior view."""
    pads = tuple(pads) + ((0, 0),) * (x.ndim - len(pads))
    shape = tuple(n + a + b for n, (a, b) in zip(x.shape, pads))
    out = full(shape, value, x.dtype, x.device)
    inner = slice_(out, tuple((a, a + n, 1) for n, (a, _) in zip(x.shape, pads)))
    copy_(inner, x)
    return out


def cat(xs: Sequence[CLArray], dim: int) -> CLArray:
    """Concatenate along ``dim`` by copying each input into a slice of the output."""
    first = xs[0]
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in xs)
    out = empty(tuple(shape), first.dtype, first.device)
    pos = 0
    for x in xs:
        n = x.shape[dim]
        if n:
            sl = tuple((pos, pos + n, 1) if d == dim else (0, m, 1) for d, m in enumerate(shape))
            copy_(slice_(out, sl), x)
        pos += n
    return out


def bitcast(x: CLArray, dtype: Any) -> CLArray:
    """The same buffer read as ``dtype``: a buffer is untyped bytes, so only the element counts change
    (last axis length, the other strides and the offset, scaled by the itemsize ratio; the frontend
    checked that a larger dtype divides them)."""
    target = to_np(dtype)
    old, new = x.itemsize, target.itemsize
    shape, strides, offset = list(x.shape), list(x.strides), x.offset
    if new != old and shape:
        scale = (lambda v: v * old // new) if new < old else (lambda v: v // (new // old))
        shape[-1] = shape[-1] * old // new
        strides = [scale(s) for s in strides[:-1]] + [1]
        offset = scale(offset)
    return CLArray(x.base_buffer, tuple(shape), target, x.device, tuple(strides), offset)
