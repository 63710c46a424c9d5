"""The toy device's native kernels: the runtime contract, the view kernels, a few elementwise ops.

The runtime and view kernels are the minimum: they can never run as a CPU fallback (a fallback
works on copies, and a view that is a copy silently loses every write through it).

Every name and signature comes from ``ember.kernels`` (``docs/kernel-contract.md``). Kernels
take and return :class:`ToyArray`; binary kernels accept a Python number for either operand.

Example:
    >>> import numpy as np
    >>> from ember_toy.kernels import KERNELS
    >>> a = KERNELS["from_host"](np.ones(2, np.float32), 0)
    >>> KERNELS["to_host"](KERNELS["mul"](a, 3.0)).tolist()
    [3.0, 3.0]
"""

from __future__ import annotations

import math

import numpy as np
from ember import dtypes as _dt

from ember_toy.array import ToyArray

__all__ = ["KERNELS"]

NP_DTYPE = {
    _dt.float32: np.float32, _dt.float64: np.float64, _dt.int64: np.int64, _dt.int32: np.int32,
    _dt.int16: np.int16, _dt.int8: np.int8, _dt.uint8: np.uint8, _dt.bool_: np.bool_,
}


# ---- runtime: what every backend must have for anything (even fallbacks) to work --------------
def from_host(host: np.ndarray, index: int) -> ToyArray:
    return ToyArray(np.array(host, copy=True), index or 0)


def to_host(x: ToyArray) -> np.ndarray:
    return np.array(x.data, copy=True)


def device_index(x: ToyArray) -> int:
    return x.index


def empty(shape, dtype, index) -> ToyArray:
    return ToyArray(np.empty(shape, NP_DTYPE[dtype]), index)


def full(shape, value, dtype, index) -> ToyArray:
    return ToyArray(np.full(shape, value, NP_DTYPE[dtype]), index)


def arange(start, stop, step, dtype, index) -> ToyArray:
    n = max(0, math.ceil((stop - start) / step))
    return ToyArray((start + np.arange(n) * step).astype(NP_DTYPE[dtype]), index)


def astype(x: ToyArray, dtype) -> ToyArray:
    target = NP_DTYPE[dtype]
    if target is np.bool_:
        return ToyArray(x.data != 0, x.index)
    with np.errstate(invalid="ignore", over="ignore"):
        return ToyArray(x.data.astype(target), x.index)


def clone(x: ToyArray) -> ToyArray:
    return ToyArray(np.array(x.data, copy=True, order="C"), x.index)


def is_contiguous(x: ToyArray) -> bool:
    return bool(x.data.flags.c_contiguous)


def copy_(dst: ToyArray, src) -> None:
    np.copyto(dst.data, src.data if isinstance(src, ToyArray) else src, casting="unsafe")


def strides(x: ToyArray) -> tuple:
    return tuple(s // x.data.itemsize for s in x.data.strides)


# ---- views: they share the input's memory, so ``t[0] = 5`` reaches ``t`` ---------------------------
def reshape(x: ToyArray, shape) -> ToyArray:
    return ToyArray(x.data.reshape(shape), x.index)  # a view when the strides allow it, else a copy


def permute(x: ToyArray, dims) -> ToyArray:
    return ToyArray(x.data.transpose(dims), x.index)


def expand(x: ToyArray, shape) -> ToyArray:
    return ToyArray(np.broadcast_to(x.data, shape), x.index)


def slice_(x: ToyArray, slices) -> ToyArray:
    return ToyArray(x.data[tuple(slice(a, b, c) for a, b, c in slices)], x.index)


# ---- elementwise: the toy device's "compute" -----------------------------------------------------
def _binary(fn):
    def kernel(a, b):
        ref = a if isinstance(a, ToyArray) else b
        out = fn(a.data if isinstance(a, ToyArray) else a, b.data if isinstance(b, ToyArray) else b)
        return ToyArray(np.asarray(out).astype(ref.data.dtype, copy=False), ref.index)
    return kernel


def _unary(fn):
    def kernel(x):
        with np.errstate(all="ignore"):
            return ToyArray(np.asarray(fn(x.data)).astype(x.data.dtype, copy=False), x.index)
    return kernel


def _div(a, b):
    with np.errstate(all="ignore"):
        return np.true_divide(a, b)


KERNELS = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "clone": clone, "is_contiguous": is_contiguous, "copy_": copy_,
    "strides": strides, "reshape": reshape, "permute": permute, "expand": expand, "slice": slice_,
    "add": _binary(np.add), "sub": _binary(np.subtract), "mul": _binary(np.multiply), "div": _binary(_div),
    "maximum": _binary(np.maximum), "minimum": _binary(np.minimum),
    "neg": _unary(np.negative), "exp": _unary(np.exp), "tanh": _unary(np.tanh),
    "relu": _unary(lambda x: np.maximum(x, 0) if x.dtype != np.bool_ else x),
}
