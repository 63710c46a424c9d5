"""The whole kernel contract on CuPy arrays (see ``ember.kernels`` for every signature).

CuPy mirrors NumPy, so each kernel is written once over ``am.xp`` (CuPy on a GPU; NumPy when the
tests exercise this code without one). ``matmul`` runs on cuBLAS, scatter-adds on atomics, and
views (slices, transposes, broadcasts) share device memory exactly as in PyTorch.

Creation kernels run ``with`` the target device; the others run where their inputs live (the
plugin wraps them in a device guard when the machine has more than one GPU).

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> from ember_cuda_cupy.kernels import KERNELS
    >>> old = am.use(numpy)
    >>> KERNELS["add"](numpy.ones(2, numpy.float32), 1.0)
    array([2., 2.], dtype=float32)
    >>> _ = am.use(old)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from ember import dtypes as _dt

from ember_cuda_cupy import arraymod as am
from ember_cuda_cupy.blas import matmul
from ember_cuda_cupy.dtypes import EMBER_DTYPE, NP_DTYPE
from ember_cuda_cupy.special_kernels import SPECIAL_KERNELS

__all__ = ["KERNELS", "CREATION", "device_guarded"]

_SPLIT = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


# ---- runtime -----------------------------------------------------------------------------------
def from_host(host, index):
    with am.on_device(index):
        return am.xp.array(host, copy=True)


def to_host(x):
    # .get() copies to the host after the pending work on the array's stream (a sync point).
    return x.get() if am.is_cupy else np.array(x, copy=True)


def device_index(x):
    return x.device.id if am.is_cupy else 0


def empty(shape, dtype, index):
    with am.on_device(index):
        return am.xp.empty(shape, NP_DTYPE[dtype])


def full(shape, value, dtype, index):
    with am.on_device(index):
        return am.xp.full(shape, value, NP_DTYPE[dtype])


def arange(start, stop, step, dtype, index):
    n = max(0, math.ceil((stop - start) / step))
    xp = am.xp
    with am.on_device(index):
        # start + i*step in float64/int64, then cast: the contract's rule on every backend.
        if isinstance(start, float) or isinstance(step, float) or isinstance(stop, float):
            out = start + xp.arange(n, dtype=xp.float64) * step
        else:
            out = start + xp.arange(n, dtype=xp.int64) * step
        return out.astype(NP_DTYPE[dtype], copy=False)


def astype(x, dtype):
    target = NP_DTYPE[dtype]
    if target == np.bool_:
        return x != 0
    with am.quiet():
        if x.dtype.kind == "f" and target.kind in "iu" and target.itemsize < 8:
            # CUDA's float->uint8 (and narrow int) conversion saturates (-4.0 -> 0); NumPy and
            # PyTorch's CPU truncate to an integer and then wrap (-4.0 -> 252). Going through
            # int64 gives the wrap on both.
            return x.astype(np.int64).astype(target)
        return x.astype(target)


def clone(x):
    return am.xp.array(x, copy=True, order="C")


def is_contiguous(x):
    return bool(x.flags.c_contiguous)


def strides(x):
    """Strides in elements (the array's own are in bytes)."""
    n = x.itemsize
    return tuple(s // n for s in x.strides)


def storage_offset(x):
    """Elements from the start of the allocation ``x`` shares with its views."""
    if am.is_cupy:
        return (x.data.ptr - x.data.mem.ptr) // x.itemsize
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    return (x.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // x.itemsize


def bitcast(x, dtype):
    """The same bytes as ``dtype``, a view (the frontend checked PyTorch's layout rules). Built from
    x's pointer and byte strides: only the last axis changes (its length, and its stride to the new
    itemsize); every other byte stride stays."""
    target = np.dtype(NP_DTYPE[dtype])
    if not am.is_cupy:
        return x.view(target)
    shape, strides = list(x.shape), list(x.strides)
    if target.itemsize != x.itemsize and shape:
        shape[-1] = shape[-1] * x.itemsize // target.itemsize
        strides[-1] = target.itemsize
    return am.xp.ndarray(tuple(shape), target, x.data, tuple(strides))


def copy_(dst, src):
    if any(st == 0 and n > 1 for st, n in zip(dst.strides, dst.shape)):
        # An expanded view: CuPy would write every alias in an unspecified order (PyTorch refuses).
        raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                           "single memory location. Please clone() the tensor before performing the operation.")
    with am.quiet():
        am.xp.copyto(dst, src, casting="unsafe")


# ---- DLPack (zero-copy exchange with PyTorch, JAX, ...) ----------------------------------------
def from_dlpack(obj):
    """Wrap a DLPack producer without copying; returns (array, ember dtype)."""
    arr = am.xp.from_dlpack(obj)
    try:
        return arr, EMBER_DTYPE[arr.dtype]
    except KeyError:
        raise TypeError(f"can't import a DLPack tensor of type {arr.dtype}: ember supports float64, float32, "
                        "float16, int64, int32, int16, int8, uint8 and bool") from None


def to_dlpack(x, *, stream=None, max_version=None, dl_device=None, copy=None):
    """``x.__dlpack__`` with only the arguments given (older CuPy knows no max_version/dl_device/copy)."""
    kwargs = {k: v for k, v in (("stream", stream), ("max_version", max_version), ("dl_device", dl_device),
                                ("copy", copy)) if v is not None}
    return x.__dlpack__(**kwargs)


def dlpack_device(x):
    return x.__dlpack_device__()


# ---- random --------------------------------------------------------------------------------------
def _bits(key, offset, n):
    """splitmix64 outputs for counters offset..offset+n-1 (see ember.kernels), in uint64 lanes.

    Unsigned 64-bit arithmetic wraps mod 2**64 on the GPU exactly as in NumPy, so the bits match
    the CPU backend's for every seed.
    """
    xp = am.xp
    c = xp.arange(n, dtype=xp.uint64) + np.uint64((offset + 1) & ((1 << 64) - 1))
    with am.quiet():
        z = np.uint64(key) + c * _SPLIT
        z ^= z >> np.uint64(30)
        z *= _M1
        z ^= z >> np.uint64(27)
        z *= _M2
        z ^= z >> np.uint64(31)
    return z


def rand_uniform(shape, key, offset, dtype, index):
    xp = am.xp
    with am.on_device(index):
        bits = _bits(key, offset, math.prod(shape))
        if dtype is _dt.float64:
            out = (bits >> np.uint64(11)).astype(xp.float64) * (2.0 ** -53)
        else:
            out = (bits >> np.uint64(40)).astype(xp.float32) * np.float32(2.0 ** -24)
        return out.astype(NP_DTYPE[dtype], copy=False).reshape(shape)


def rand_normal(shape, key, offset, dtype, index):
    xp = am.xp
    n = math.prod(shape)
    with am.on_device(index):
        bits = _bits(key, offset, 2 * n)
        u1 = ((bits[0::2] >> np.uint64(11)).astype(xp.float64) + 1.0) * (2.0 ** -53)
        u2 = (bits[1::2] >> np.uint64(11)).astype(xp.float64) * (2.0 ** -53)
        z = xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * math.pi * u2)
        return z.astype(NP_DTYPE[dtype]).reshape(shape)


def rand_int(shape, low, high, key, offset, dtype, index):
    xp = am.xp
    with am.on_device(index):
        bits = _bits(key, offset, math.prod(shape))
        r = (bits % np.uint64(high - low)).astype(xp.int64) + np.int64(low)
        return r.astype(NP_DTYPE[dtype]).reshape(shape)


# ---- elementwise ---------------------------------------------------------------------------------
def _unary(name: str) -> Callable:
    def kernel(x):
        with am.quiet():
            return getattr(am.xp, name)(x)

    kernel.__name__ = name
    return kernel


def _sigmoid(x):
    # e = exp(-|x|) never overflows; 1/(1+e) and e/(1+e) keep full relative precision on both sides.
    if am.is_cupy and x.dtype.kind == "f":
        return am.fused_unary("sigmoid", x)
    xp = am.xp
    with am.quiet():
        e = xp.exp(-xp.abs(x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _rsqrt(x):
    if am.is_cupy and x.dtype.kind == "f":
        return am.fused_unary("rsqrt", x)
    with am.quiet():
        return 1 / am.xp.sqrt(x)


def _erf(x):
    return am.erf(x).astype(x.dtype, copy=False)


def _bool_passthrough(name: str) -> Callable:
    """relu/abs/sign of a bool array are the array itself (NumPy's ufuncs reject or change it)."""

    def kernel(x):
        return x.copy() if x.dtype == np.bool_ else getattr(am.xp, name)(x)

    kernel.__name__ = name
    return kernel


def _sign(x):
    """-1, 0 or 1; PyTorch's sign(NaN) is 0 (NumPy's and CuPy's are NaN)."""
    if x.dtype == np.bool_:
        return x.copy()
    out = am.xp.sign(x)
    return am.xp.where(am.xp.isnan(out), 0, out).astype(out.dtype, copy=False) if out.dtype.kind == "f" else out


def _relu(x):
    if am.is_cupy and x.dtype.kind == "f":
        return am.fused_unary("relu", x)  # an ElementwiseKernel launches in ~9 us, cupy.maximum in ~15
    return x.copy() if x.dtype == np.bool_ else am.xp.maximum(x, x.dtype.type(0))


def _abs(x):
    if am.is_cupy and x.dtype.kind == "f":
        return am.fused_unary("abs", x)
    return x.copy() if x.dtype == np.bool_ else am.xp.abs(x)


def _neg(x):
    if am.is_cupy and x.dtype.kind == "f":
        return am.fused_unary("neg", x)
    return am.xp.negative(x)  # bool operands are refused by the frontend (ember.functions.elementwise.Neg)


def _div(a, b):
    with am.quiet():
        return am.xp.true_divide(a, b)


# Integer division by zero never reaches these kernels: the frontend raises PyTorch's error first
# (ember.functions.elementwise._check_divisor), the same for every backend.
def _floor_divide(a, b):
    with am.quiet():
        return am.xp.floor_divide(a, b)


def _remainder(a, b):
    with am.quiet():
        return am.xp.remainder(a, b)


def _pow(a, b):
    with am.quiet():
        return am.xp.power(a, b)


def _binary(name: str) -> Callable:
    """A binary kernel whose result dtype follows the array operand (not the scalar promotion rules)."""

    def kernel(a, b):
        if fast and am.is_cupy:
            out = am.fused_binary(name, a, b)
            if out is not None:
                return out
        out = fn(a, b)
        ref = a if hasattr(a, "dtype") and not isinstance(a, (int, float, bool)) else b
        return out if out.dtype == ref.dtype else out.astype(ref.dtype)

    fn = _SPECIAL_BINARY.get(name) or _xp_binary(name)
    fast = name in am.FUSED_BINARY
    kernel.__name__ = name
    return kernel


def _xp_binary(xp_name: str) -> Callable:
    def call(a, b):
        return getattr(am.xp, xp_name)(a, b)

    return call


_SPECIAL_BINARY = {"div": _div, "floor_divide": _floor_divide, "remainder": _remainder, "pow": _pow}
_BINARY_XP = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "div", "floor_divide": "floor_divide",
              "remainder": "remainder", "pow": "pow", "maximum": "maximum", "minimum": "minimum",
              "atan2": "arctan2", "bitwise_and": "bitwise_and", "bitwise_or": "bitwise_or",
              "bitwise_xor": "bitwise_xor"}
_COMPARE_XP = {"eq": "equal", "ne": "not_equal", "lt": "less", "le": "less_equal", "gt": "greater",
               "ge": "greater_equal", "logical_and": "logical_and", "logical_or": "logical_or",
               "logical_xor": "logical_xor"}


def _compare(xp_name: str) -> Callable:
    def kernel(a, b):
        return getattr(am.xp, xp_name)(a, b)

    kernel.__name__ = xp_name
    return kernel


def where(cond, a, b):
    out = am.xp.where(cond, a, b)
    ref = a if hasattr(a, "shape") else b
    if hasattr(ref, "shape") and out.dtype != ref.dtype:
        out = out.astype(ref.dtype)
    return out


def clamp(x, lo, hi):
    xp = am.xp
    out = x
    if lo is not None:
        out = xp.maximum(out, x.dtype.type(lo))
    if hi is not None:
        out = xp.minimum(out, x.dtype.type(hi))
    return out if out is not x else x.copy()


# ---- reductions ------------------------------------------------------------------------------
def _reduce(xp_name: str) -> Callable:
    def kernel(x, dims, keepdim):
        return getattr(am.xp, xp_name)(x, axis=dims, keepdims=keepdim)

    kernel.__name__ = xp_name
    return kernel


_COLUMN_SUM = r"""
extern "C" __global__ void ember_column_sum(const T* x, long long rows, long long cols, T* out) {
    __shared__ A part[8][32];
    const long long col = (long long)blockIdx.x * 32 + threadIdx.x;
    A s = 0;
    if (col < cols) {
        for (long long r = threadIdx.y; r < rows; r += 8) s += (A)x[r * cols + col];
    }
    part[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && col < cols) {
        A t = 0;
        for (int i = 0; i < 8; ++i) t += part[i][threadIdx.x];
        out[col] = (T)t;
    }
}
"""


def _sum(x, dims, keepdim):
    if (dims == (0,) and x.ndim == 2 and am.is_cupy and x.dtype.char in "fd" and x.flags.c_contiguous
            and 0 < x.shape[0] <= 65536 and x.shape[1]):
        # a bias gradient: one launch of a fixed-order column sum (~8 us of host time against ~18
        # for CuPy's generic reduction); 32 columns x 8 row-strides per block
        rows, cols = x.shape
        out = am.xp.empty(cols, x.dtype)
        am.raw_kernel(_COLUMN_SUM, "ember_column_sum", x.dtype)(((cols + 31) // 32,), (32, 8),
                                                               (x, np.int64(rows), np.int64(cols), out))
        return out.reshape(1, cols) if keepdim else out
    return am.xp.sum(x, axis=dims, keepdims=keepdim, dtype=x.dtype)


def _prod(x, dims, keepdim):
    return am.xp.prod(x, axis=dims, keepdims=keepdim, dtype=x.dtype)


def _arg(xp_name: str) -> Callable:
    def kernel(x, dim, keepdim):
        fn = getattr(am.xp, xp_name)
        if dim is None:
            out = fn(x.reshape(-1)).astype(np.int64)
            return out.reshape((1,) * x.ndim) if keepdim else out
        out = fn(x, axis=dim).astype(np.int64)
        return am.xp.expand_dims(out, dim) if keepdim else out

    kernel.__name__ = xp_name
    return kernel


def _scan(xp_name: str) -> Callable:
    def kernel(x, dim):
        return getattr(am.xp, xp_name)(x, axis=dim, dtype=x.dtype)

    kernel.__name__ = xp_name
    return kernel


def sort(x, dim, descending):
    xp = am.xp

    def argsort(a):
        # CuPy's argsort is always stable (and accepts no kind other than its default); both sort NaN last.
        return xp.argsort(a, axis=dim) if am.is_cupy else xp.argsort(a, axis=dim, kind="stable")

    if not descending:
        idx = argsort(x)
    else:
        # Stable descending order with NaN first (PyTorch: NaN is the largest): the stable ascending
        # order of the reversed axis, reversed back. Negating instead would sort NaN last and wrap
        # int64's minimum.
        idx = (x.shape[dim] - 1) - xp.flip(argsort(xp.flip(x, dim)), dim)
    return xp.take_along_axis(x, idx, dim), idx.astype(np.int64, copy=False)


# ---- movement --------------------------------------------------------------------------------
def reshape(x, shape):
    return x.reshape(shape)


def permute(x, dims):
    return x.transpose(dims)


def expand(x, shape):
    return am.xp.broadcast_to(x, shape)


def slice_(x, slices):
    return x[tuple(slice(a, b, c) for a, b, c in slices)]


def flip(x, dims):
    return am.xp.flip(x, dims)


def pad(x, pads, value):
    return am.xp.pad(x, pads, mode="constant", constant_values=value)


def cat(xs, dim):
    return am.xp.concatenate(xs, axis=dim)


# ---- indexing --------------------------------------------------------------------------------
# Index kernels don't check their indices: the frontend checks them once per op for every
# backend (dtype, shapes, bounds) or knows they are valid, so a check here would be a second
# host round trip.
def gather(x, dim, index):
    if x.ndim == 0:
        return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
    if am.is_cupy and index.size:
        return _gather_kernel(x, dim, index)
    src = x[tuple(slice(0, index.shape[d]) if d != dim else slice(None) for d in range(x.ndim))]
    return am.xp.take_along_axis(src, index, dim)


_gather_kernels: dict = {}


def _gather_kernel(x, dim, index):
    """One CUDA kernel: out[p] = x[p with coordinate ``dim`` replaced by index[p]] (CuPy's
    take_along_axis builds index grids and costs ~5 launches)."""
    nd = x.ndim
    kernel = _gather_kernels.get((nd, dim))
    if kernel is None:
        params = ", ".join(f"int64 n{k}, int64 s{k}" for k in range(nd))
        lines = ["long long rem = i, off = 0, c;"]
        for k in range(nd - 1, -1, -1):
            lines.append(f"c = rem % n{k}; rem /= n{k};")
            if k == dim:
                lines.append("c = (long long)idx; if (c < 0) c += xdim;")
            lines.append(f"off += c * s{k};")
        lines.append("out = x[off];")
        kernel = am.xp.ElementwiseKernel(f"raw T x, I idx, int64 xdim, {params}", "T out", "\n".join(lines),
                                         f"ember_gather_{nd}d_dim{dim}")
        _gather_kernels[(nd, dim)] = kernel
    xc = am.xp.ascontiguousarray(x)
    strides = [1] * nd
    for k in range(nd - 2, -1, -1):
        strides[k] = strides[k + 1] * xc.shape[k + 1]
    args = [v for k in range(nd) for v in (index.shape[k], strides[k])]
    return kernel(xc.reshape(-1), index, x.shape[dim], *args)


def _scatter_coords(dim, index):
    """Open-grid coordinates of every index element, with the `dim` coordinate from `index`."""
    xp = am.xp
    nd = index.ndim
    coords = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(index.shape)]
    coords[dim] = index
    return tuple(coords)


def _src_values(src, index):
    return src[tuple(slice(0, s) for s in index.shape)] if hasattr(src, "shape") else src


def scatter(x, dim, index, src):
    out = am.xp.array(x, copy=True)
    if index.size == 0:
        return out
    out[_scatter_coords(dim, index)] = _src_values(src, index)
    return out


def scatter_add(x, dim, index, src):
    out = am.xp.array(x, copy=True, order="C")
    if index.size == 0:
        return out
    vals = _src_values(src, index)
    if hasattr(vals, "shape"):
        vals = am.xp.broadcast_to(vals, index.shape)
    am.add_at(out, _scatter_coords(dim, index), vals)
    return out


def index_select(x, dim, index):
    return am.xp.take(x, index, axis=dim)


def index_put(x, index, values, accumulate):
    out = am.xp.array(x, copy=True, order="C")  # kernels never modify their inputs
    if accumulate:
        am.add_at(out, index, values)
    else:
        out[index] = values
    return out


def nonzero(x):
    return am.xp.argwhere(x).astype(np.int64, copy=False)


# ---- linear algebra --------------------------------------------------------------------------
_UNARY_FLOAT = ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh")

KERNELS: dict[str, Callable[..., Any]] = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "clone": clone, "is_contiguous": is_contiguous, "strides": strides,
    "storage_offset": storage_offset, "bitcast": bitcast, "copy_": copy_,
    "from_dlpack": from_dlpack, "to_dlpack": to_dlpack, "dlpack_device": dlpack_device,
    "rand_uniform": rand_uniform, "rand_normal": rand_normal, "rand_int": rand_int,
    **{name: _unary(name) for name in _UNARY_FLOAT},
    "rsqrt": _rsqrt, "sigmoid": _sigmoid, "erf": _erf,
    "neg": _neg, "abs": _abs, "sign": _sign, "relu": _relu,
    "floor": _unary("floor"), "ceil": _unary("ceil"), "round": _unary("round"), "trunc": _unary("trunc"),
    "logical_not": _unary("logical_not"), "isnan": _unary("isnan"),
    **{name: _binary(xp_name) for name, xp_name in _BINARY_XP.items()},
    **{name: _compare(xp_name) for name, xp_name in _COMPARE_XP.items()},
    "where": where, "clamp": clamp,
    "sum": _sum, "prod": _prod, "amax": _reduce("max"), "amin": _reduce("min"), "any": _reduce("any"),
    "all": _reduce("all"), "argmax": _arg("argmax"), "argmin": _arg("argmin"),
    "cumsum": _scan("cumsum"), "cumprod": _scan("cumprod"), "sort": sort,
    "reshape": reshape, "permute": permute, "expand": expand, "slice": slice_, "flip": flip, "pad": pad, "cat": cat,
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_select": index_select,
    "index_put": index_put, "nonzero": nonzero, "matmul": matmul,
}

KERNELS.update(SPECIAL_KERNELS)  # optional special functions (ember_cuda_cupy.special_kernels)

#: kernels that receive the target device index and enter it themselves
CREATION = frozenset({"from_host", "empty", "full", "arange", "rand_uniform", "rand_normal", "rand_int",
                      "from_dlpack"})


def _first_array(args):
    for a in args:
        if isinstance(a, (list, tuple)):
            found = _first_array(a)
            if found is not None:
                return found
        elif hasattr(a, "device") and hasattr(a, "shape"):
            return a
    return None


def device_guarded(fn: Callable) -> Callable:
    """Run ``fn`` with its first array argument's GPU current (for machines with several GPUs).

    CuPy launches on the *current* device, so without this an op on ``cuda:1`` data issued while
    ``cuda:0`` is current would fail or touch peer memory.
    """

    def guarded(*args):
        arr = _first_array(args)
        if arr is None or arr.device.id == am.xp.cuda.runtime.getDevice():
            return fn(*args)
        with arr.device:
            return fn(*args)

    guarded.__name__ = getattr(fn, "__name__", "kernel")
    guarded.__wrapped__ = fn
    return guarded
