"""Runtime kernels: host transfers, creation, casts and copies."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray
from ember_opencl.array import empty as _empty
from ember_opencl.codegen import Scalar, launch_map
from ember_opencl.runtime import to_np

__all__ = ["from_host", "to_host", "device_index", "empty", "full", "arange", "astype", "clone",
           "is_contiguous", "strides", "storage_offset", "storage_size", "as_strided", "copy_", "contiguous"]


def from_host(host: np.ndarray, index: int) -> CLArray:
    """Copy a NumPy array to device ``index``."""
    host = np.asarray(host)
    if not host.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
        host = host.copy(order="C")
    out = _empty(host.shape, host.dtype, index)
    if host.size:
        # pyopencl's NannyEvent waits for the copy when it is dropped anyway, so the copy must
        # not sit behind launches held back by DeviceState.launch: DeviceState.copy flushes first.
        runtime.device(index).copy(out.base_buffer, host)
    return out


def to_host(x: CLArray) -> np.ndarray:
    """A NumPy copy of ``x``; waits for the queued work that produces it."""
    if not x.is_contiguous():
        x = clone(x)
    host = np.empty(x.shape, x.dtype)
    if host.size:
        # a waited-for read must not sit behind held-back launches: DeviceState.copy flushes first
        runtime.device(x.device).copy(host, x.base_buffer, src_offset=x.offset * x.itemsize)
    return host


def device_index(x: CLArray) -> int:
    return x.device


def empty(shape: tuple[int, ...], dtype: Any, index: int) -> CLArray:
    return _empty(tuple(int(s) for s in shape), to_np(dtype), index)


def full(shape: tuple[int, ...], value: Any, dtype: Any, index: int) -> CLArray:
    out = _empty(tuple(int(s) for s in shape), to_np(dtype), index)
    return launch_map(out, [Scalar(value, out.dtype)], "v0")


def arange(start: Any, stop: Any, step: Any, dtype: Any, index: int) -> CLArray:
    """``start + i*step``; computed in long for integer dtypes and in double (or float) else."""
    n = max(0, math.ceil((stop - start) / step))
    npd = to_np(dtype)
    out = _empty((n,), npd, index)
    if n == 0:
        return out
    if npd.kind in "iub" and all(isinstance(v, (int, np.integer)) for v in (start, step)):
        ops = [Scalar(start, np.int64), Scalar(step, np.int64)]
    else:
        ft = np.float64 if runtime.device(index).fp64 else np.float32
        ops = [Scalar(start, ft), Scalar(step, ft)]
    # The map kernel has no flat index variable, so go through a 1-D helper kernel.
    from ember_opencl.elementwise import iota
    return iota(out, ops[0], ops[1])


def astype(x: CLArray, dtype: Any) -> CLArray:
    """Cast; float->int truncates (C semantics), ->bool is ``!= 0``."""
    npd = to_np(dtype)
    out = _empty(x.shape, npd, x.device)
    expr = "v0 != 0" if npd == np.bool_ else "v0"
    return launch_map(out, [x], expr)


def clone(x: CLArray) -> CLArray:
    out = _empty(x.shape, x.dtype, x.device)
    return launch_map(out, [x], "v0")


def contiguous(x: CLArray) -> CLArray:
    """``x`` itself when C-contiguous, else a contiguous copy."""
    return x if x.is_contiguous() else clone(x)


def is_contiguous(x: CLArray) -> bool:
    return x.is_contiguous()


def strides(x: CLArray) -> tuple[int, ...]:
    """Strides in elements (a CLArray keeps them in elements already)."""
    return tuple(x.strides)


def storage_offset(x: CLArray) -> int:
    """Where ``x`` starts in its buffer, in elements (a CLArray keeps it)."""
    return int(x.offset)


def storage_size(x: CLArray) -> int:
    """Elements of x's dtype in its buffer (the pool allocates at least 8 bytes)."""
    return int(x.base_buffer.size) // x.itemsize


def as_strided(x: CLArray, shape: tuple[int, ...], strides: tuple[int, ...], offset: int) -> CLArray:
    """Another view of x's buffer (element strides and offset; bounds checked by the frontend)."""
    return x.view(tuple(int(n) for n in shape), tuple(int(s) for s in strides), int(offset))


def copy_(dst: CLArray, src: Any) -> None:
    """Write ``src`` (array or number, broadcast) into the view ``dst``."""
    if any(st == 0 and n > 1 for st, n in zip(dst.strides, dst.shape)):
        # An expanded view: several elements share one location, so the write is ambiguous.
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    if isinstance(src, CLArray):
        if src.base_buffer is dst.base_buffer:
            src = clone(src)  # overlapping views: read everything before writing
        if src.dtype != dst.dtype:
            launch_map(dst, [src], "v0 != 0" if dst.dtype == np.bool_ else "v0")
        else:
            launch_map(dst, [src], "v0")
    else:
        launch_map(dst, [Scalar(src, dst.dtype)], "v0")
