"""The whole kernel contract on CuPy arrays (see ``ember.kernels`` for every signature).

CuPy mirrors NumPy, so each kernel is written once over ``am.xp`` (CuPy on a GPU; NumPy when the
tests exercise this code without one). The pointwise, reduction, movement and index kernels are
written once for both backends, in ``ember_cpu_numpy.xp_kernels`` (``am.shared``); this module
adds the runtime, random and DLPack kernels and CuPy's fast paths (fused ElementwiseKernels).
``matmul`` runs on cuBLAS, scatter-adds on atomics, and views (slices, transposes, broadcasts)
share device memory exactly as in PyTorch.

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
from ember_cpu_numpy import xp_kernels

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


def storage_offset(x):
    """Elements from the start of the allocation ``x`` shares with its views."""
    if am.is_cupy:
        return (x.data.ptr - x.data.mem.ptr) // x.itemsize
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    return (x.__array_interface__["data"][0] - root.__array_interface__["data"][0]) // x.itemsize


def _np_root(x):
    while isinstance(x.base, np.ndarray):
        x = x.base
    return x


def storage_size(x):
    """Elements of x's dtype in the allocation ``x`` shares with its views."""
    if am.is_cupy:
        return x.data.mem.size // x.itemsize
    return _np_root(x).nbytes // x.itemsize


def as_strided(x, shape, strides, offset):
    """A view of x's allocation with element ``strides`` from element ``offset`` (bounds checked by
    the frontend)."""
    byte_strides = tuple(s * x.itemsize for s in strides)
    if am.is_cupy:
        ptr = am.xp.cuda.MemoryPointer(x.data.mem, offset * x.itemsize)
        return am.xp.ndarray(tuple(shape), x.dtype, ptr, byte_strides)
    mem = _np_root(x).ravel(order="K").view(np.uint8)
    return np.ndarray(tuple(shape), dtype=x.dtype, buffer=mem, offset=min(offset * x.itemsize, mem.nbytes),
                      strides=byte_strides)


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


# ---- kernels shared with the cpu backend --------------------------------------------------------
# The pointwise, reduction, movement and index kernels are ember_cpu_numpy.xp_kernels', bound to
# the current array library in ``am.shared``. Where CuPy has a faster way (one ElementwiseKernel or
# RawKernel instead of several CuPy calls), the kernel tries it first (``_FAST``: None when it does
# not apply, and the shared kernel runs).
def _fused_unary(name: str) -> Callable:
    """The one-launch ElementwiseKernel of ``name`` for a floating array (see arraymod.fused_unary)."""
    return lambda x: am.fused_unary(name, x) if x.dtype.kind == "f" else None


def _fused_binary(name: str) -> Callable:
    # an ElementwiseKernel launches in ~9 us, a CuPy ufunc with its type resolution in ~15-22
    return lambda a, b: am.fused_binary(name, a, b)


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


def _column_sum(x, dims, keepdim):
    if not (dims == (0,) and x.ndim == 2 and x.dtype.char in "fd" and x.flags.c_contiguous
            and 0 < x.shape[0] <= 65536 and x.shape[1]):
        return None
    # a bias gradient: one launch of a fixed-order column sum (~8 us of host time against ~18
    # for CuPy's generic reduction); 32 columns x 8 row-strides per block
    rows, cols = x.shape
    out = am.xp.empty(cols, x.dtype)
    am.raw_kernel(_COLUMN_SUM, "ember_column_sum", x.dtype)(((cols + 31) // 32,), (32, 8),
                                                           (x, np.int64(rows), np.int64(cols), out))
    return out.reshape(1, cols) if keepdim else out


# Index kernels don't check their indices: the frontend checks them once per op for every
# backend (dtype, shapes, bounds) or knows they are valid, so a check here would be a second
# host round trip.
def _gather_fast(x, dim, index):
    return _gather_kernel(x, dim, index) if x.ndim and index.size else None


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


_FAST: dict[str, Callable] = {
    **{name: _fused_unary(name) for name in ("sigmoid", "rsqrt", "relu", "abs", "neg")},
    **{name: _fused_binary(fused) for name, fused in (("add", "add"), ("sub", "subtract"), ("mul", "multiply"),
                                                      ("div", "div"))},
    "sum": _column_sum, "gather": _gather_fast,
}


KERNELS: dict[str, Callable[..., Any]] = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "storage_offset": storage_offset, "bitcast": bitcast, "copy_": copy_,
    "storage_size": storage_size, "as_strided": as_strided,
    "from_dlpack": from_dlpack, "to_dlpack": to_dlpack, "dlpack_device": dlpack_device,
    "rand_uniform": rand_uniform, "rand_normal": rand_normal, "rand_int": rand_int,
    **{name: am.shared_kernel(name, _FAST.get(name)) for name in xp_kernels.elementwise_kernels(np)},
    "matmul": matmul,
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
