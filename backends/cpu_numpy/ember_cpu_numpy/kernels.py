"""The whole kernel contract on NumPy arrays (see ``ember.kernels`` for every signature).

NumPy arrays are also ember's host format, so ``from_host``/``to_host`` are nearly free and
views (slices, transposes, broadcasts) share memory exactly as in PyTorch.

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.kernels import KERNELS
    >>> KERNELS["add"](np.ones(2, np.float32), 1.0)
    array([2., 2.], dtype=float32)
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ember_cpu_numpy import blas as _blas
from ember_cpu_numpy.dlpack import DLPACK_KERNELS
from ember_cpu_numpy.dtypes import NP_DTYPE
from ember_cpu_numpy.random import rand_int, rand_normal, rand_uniform


# ---- runtime -----------------------------------------------------------------------------------
def from_host(host, index):
    return host


def to_host(x):
    return np.asarray(x)


def device_index(x):
    return 0


def empty(shape, dtype, index):
    return np.empty(shape, NP_DTYPE[dtype])


def full(shape, value, dtype, index):
    return np.full(shape, value, NP_DTYPE[dtype])


def arange(start, stop, step, dtype, index):
    n = max(0, math.ceil((stop - start) / step))
    # start + i*step computed in float64/int64, then cast: the same rule as the contract.
    if isinstance(start, float) or isinstance(step, float) or isinstance(stop, float):
        out = start + np.arange(n, dtype=np.float64) * step
    else:
        out = start + np.arange(n, dtype=np.int64) * step
    return out.astype(NP_DTYPE[dtype], copy=False)


def astype(x, dtype):
    target = NP_DTYPE[dtype]
    if target == np.bool_:
        return np.asarray(x != 0)
    x = np.asarray(x)
    if x.dtype.kind == "V" and target.kind in "iu":  # bfloat16 (ml_dtypes) -> int goes through float32,
        x = x.astype(np.float32)                     # as PyTorch's conversion does (ml_dtypes saturates)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(target)


def clone(x):
    return np.array(x, copy=True, order="C")


def is_contiguous(x):
    return bool(x.flags.c_contiguous)


def strides(x):
    """Strides in elements (the array's own are in bytes)."""
    n = x.itemsize
    return tuple(s // n for s in x.strides)


def storage_offset(x):
    """Elements from the start of the memory ``x`` shares with its views (its root NumPy base)."""
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = root.__array_interface__["data"][0]
    return (x.__array_interface__["data"][0] - start) // x.itemsize


def bitcast(x, dtype):
    """The same bytes as ``dtype``: NumPy's ``view`` (the frontend checked PyTorch's layout rules)."""
    return x.view(NP_DTYPE[dtype])


def copy_(dst, src):
    try:
        np.copyto(dst, src, casting="unsafe")
    except ValueError:
        if not dst.flags.writeable:  # a broadcast (expand) view: elements alias one another
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                               "single memory location. Please clone() the tensor before performing the "
                               "operation.") from None
        raise


# ---- elementwise ---------------------------------------------------------------------------------
def _erf(x):
    # Vectorised erf through math.erf keeps full precision without SciPy.
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))).astype(x.dtype, copy=False)


def _relu(x):
    return np.maximum(x, 0) if x.dtype != np.bool_ else x.copy()


def _rsqrt(x):
    return 1 / np.sqrt(x)


def _sign(x):
    if x.dtype == np.bool_:
        return x.copy()
    out = np.asarray(np.sign(x))  # (a 0-d input gives a NumPy scalar)
    if out.dtype.kind == "f":  # PyTorch's sign(NaN) is 0 (NumPy's is NaN)
        np.copyto(out, 0, where=np.isnan(out))
    return out


def _abs(x):
    return np.abs(x) if x.dtype != np.bool_ else x.copy()


def _neg(x):
    return np.negative(x)  # bool operands are refused by the frontend (ember.functions.elementwise.Neg)


def _float_only(fn):
    # (NumPy's floating-point warnings from this module are filtered once, below, instead of an
    # errstate block per call, which cost ~1 us per op)
    return fn


def _div(a, b):
    return np.true_divide(a, b)


# Integer division by zero never reaches these kernels: the frontend raises PyTorch's error first
# (ember.functions.elementwise._check_divisor), the same for every backend.
def _floor_divide(a, b):
    return np.floor_divide(a, b)


def _remainder(a, b):
    return np.remainder(a, b)


def _pow(a, b):
    return np.power(a, b)


# PyTorch computes inf and NaN without a word (0 * inf, inf - inf, overflow); NumPy warns. An
# errstate block around every kernel would cost ~1.5 us per op, so NumPy's floating-point warnings
# raised from this backend's modules are filtered once instead (other code's warnings are untouched).
warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero|underflow) encountered",
                        category=RuntimeWarning, module=r"ember_cpu_numpy(\.|$)")


def _keep_dtype(fn):
    """Binary kernels whose result dtype must follow the array operand (not NumPy's scalar rules)."""

    def kernel(a, b):
        out = fn(a, b)
        if type(out) is not np.ndarray:  # ufuncs on 0-d arrays return NumPy scalars
            out = np.asarray(out)
        ref = a if isinstance(a, np.ndarray) else b
        return out if out.dtype == ref.dtype else out.astype(ref.dtype)

    return kernel


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def where(cond, a, b):
    ref = a if isinstance(a, np.ndarray) else b
    if isinstance(ref, np.ndarray) and ref.size >= 4096:
        return _select(cond, a, b, ref.dtype)
    out = np.where(cond, a, b)
    if isinstance(ref, np.ndarray) and out.dtype != ref.dtype:
        out = out.astype(ref.dtype)
    return out


def _select(cond, a, b, dtype):
    """``np.where`` without branches: (a & m) | (b & ~m) on the bit patterns, m all-ones where cond.

    np.where branches per element, which costs ~4 ns an element on a random mask (a ReLU
    backward); these four bitwise passes cost ~0.6 ns and select NaN payloads and -0.0 exactly.
    """
    u = _UINT[dtype.itemsize]
    a = np.asarray(a, dtype).view(u)
    b = np.asarray(b, dtype).view(u)
    shape = np.broadcast_shapes(np.shape(cond), a.shape, b.shape)
    mask = np.empty(shape, u)
    np.copyto(mask, cond, casting="unsafe")  # 0 / 1
    np.negative(mask, out=mask)  # 0 / all ones
    out = np.bitwise_and(a, mask, out=np.empty(shape, u))
    np.invert(mask, out=mask)
    mask &= b
    out |= mask
    return out.view(dtype)


def clamp(x, lo, hi):
    out = x
    if lo is not None:
        out = np.maximum(out, x.dtype.type(lo))
    if hi is not None:
        out = np.minimum(out, x.dtype.type(hi))
    return out if out is not x else x.copy()


# ---- reductions ------------------------------------------------------------------------------
def _reduce(fn):
    def kernel(x, dims, keepdim):
        return np.asarray(fn(x, axis=dims, keepdims=keepdim))

    return kernel


def _sum(x, dims, keepdim):
    return np.asarray(np.sum(x, axis=dims, keepdims=keepdim, dtype=x.dtype))


def _prod(x, dims, keepdim):
    return np.asarray(np.prod(x, axis=dims, keepdims=keepdim, dtype=x.dtype))


def _arg(fn):
    def kernel(x, dim, keepdim):
        if dim is None:
            out = np.asarray(fn(x.reshape(-1)), dtype=np.int64)
            return out.reshape((1,) * x.ndim) if keepdim else out
        return np.asarray(fn(x, axis=dim, keepdims=keepdim), dtype=np.int64)

    return kernel


def _scan(fn):
    def kernel(x, dim):
        return fn(x, axis=dim, dtype=x.dtype)

    return kernel


def sort(x, dim, descending):
    if not descending:
        idx = np.argsort(x, axis=dim, kind="stable")  # NumPy, like PyTorch, sorts NaN last
    else:
        # Stable descending order with NaN first (PyTorch: NaN is the largest): the stable ascending
        # order of the reversed axis, reversed back. Negating instead would sort NaN last and wrap
        # int64's minimum.
        rev = np.argsort(np.flip(x, dim), axis=dim, kind="stable")
        idx = (x.shape[dim] - 1) - np.flip(rev, dim)
    return np.take_along_axis(x, idx, dim), idx.astype(np.int64)


# ---- movement --------------------------------------------------------------------------------
def reshape(x, shape):
    return x.reshape(shape)


def permute(x, dims):
    return x.transpose(dims)


def expand(x, shape):
    return np.broadcast_to(x, shape)


def slice_(x, slices):
    return x[tuple(slice(a, b, c) for a, b, c in slices)]


def flip(x, dims):
    return np.flip(x, dims)


def pad(x, pads, value):
    return np.pad(x, pads, mode="constant", constant_values=value)


def cat(xs, dim):
    return np.concatenate(xs, axis=dim)


# ---- indexing --------------------------------------------------------------------------------
# The frontend checks every index once, for every backend (dtype, shapes, bounds), so these
# kernels take them as valid (core/ember/kernels.py).
def gather(x, dim, index):
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
    src = x[tuple(slice(0, index.shape[d]) if d != dim else slice(None) for d in range(x.ndim))]
    return np.take_along_axis(src, index, dim)


def _scatter_coords(x, dim, index):
    grids = np.indices(index.shape, sparse=True)
    coords = list(grids)
    coords[dim] = index
    return tuple(coords)


def scatter(x, dim, index, src):
    out = np.array(x, copy=True)
    if index.size == 0:
        return out
    vals = src if not isinstance(src, np.ndarray) else src[tuple(slice(0, s) for s in index.shape)]
    out[_scatter_coords(x, dim, index)] = vals
    return out


def scatter_add(x, dim, index, src):
    out = np.array(x, copy=True)
    if index.size == 0:
        return out
    vals = src if not isinstance(src, np.ndarray) else src[tuple(slice(0, s) for s in index.shape)]
    np.add.at(out, _scatter_coords(x, dim, index), vals)
    return out


def index_select(x, dim, index):
    return np.take(x, index, axis=dim)


def index_put(x, index, values, accumulate):
    out = np.array(x, copy=True)  # kernels never modify their inputs
    if accumulate:
        np.add.at(out, index, values)
    else:
        out[index] = values
    return out


def nonzero(x):
    return np.argwhere(x).astype(np.int64)


# ---- linear algebra --------------------------------------------------------------------------
def matmul(a, b):
    return _blas.matmul(a, b)  # small products on one BLAS thread (see ember_cpu_numpy.blas)


_UNARY = {
    "exp": np.exp, "log": np.log, "log1p": np.log1p, "expm1": np.expm1, "sqrt": np.sqrt, "rsqrt": _rsqrt,
    "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "sigmoid": _sigmoid, "erf": _erf,
}

def _array_result(fn):
    """Ufuncs return NumPy scalars for 0-d inputs; tensors must always hold ndarrays."""

    def kernel(*args):
        out = fn(*args)
        return out if type(out) is np.ndarray else np.asarray(out)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


KERNELS = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "clone": clone, "is_contiguous": is_contiguous, "strides": strides,
    "storage_offset": storage_offset, "bitcast": bitcast, "copy_": copy_,
    "rand_uniform": rand_uniform, "rand_normal": rand_normal, "rand_int": rand_int,
    **{name: _float_only(fn) for name, fn in _UNARY.items()},
    "neg": _neg, "abs": _abs, "sign": _sign, "relu": _relu, "floor": np.floor, "ceil": np.ceil, "round": np.round,
    "trunc": np.trunc, "logical_not": np.logical_not, "isnan": np.isnan,
    "add": _keep_dtype(np.add), "sub": _keep_dtype(np.subtract), "mul": _keep_dtype(np.multiply),
    "div": _keep_dtype(_div), "floor_divide": _keep_dtype(_floor_divide), "remainder": _keep_dtype(_remainder),
    "pow": _keep_dtype(_pow), "maximum": _keep_dtype(np.maximum), "minimum": _keep_dtype(np.minimum),
    "atan2": _keep_dtype(np.arctan2),
    "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
    "ge": np.greater_equal, "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "bitwise_and": _keep_dtype(np.bitwise_and),
    "bitwise_or": _keep_dtype(np.bitwise_or), "bitwise_xor": _keep_dtype(np.bitwise_xor),
    "where": where, "clamp": clamp,
    "sum": _sum, "prod": _prod, "amax": _reduce(np.max), "amin": _reduce(np.min), "any": _reduce(np.any),
    "all": _reduce(np.all), "argmax": _arg(np.argmax), "argmin": _arg(np.argmin),
    "cumsum": _scan(np.cumsum), "cumprod": _scan(np.cumprod), "sort": sort,
    "reshape": reshape, "permute": permute, "expand": expand, "slice": slice_, "flip": flip, "pad": pad, "cat": cat,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_select": index_select,
    "index_put": index_put, "nonzero": nonzero, "matmul": matmul,
}
for _name in ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid", "erf", "neg", "abs",
              "sign", "relu", "floor", "ceil", "round", "trunc", "logical_not", "isnan", "eq", "ne", "lt", "le", "gt",
              "ge", "logical_and", "logical_or", "logical_xor", "where", "clamp", "matmul"):
    KERNELS[_name] = _array_result(KERNELS[_name])
KERNELS.update(DLPACK_KERNELS)
