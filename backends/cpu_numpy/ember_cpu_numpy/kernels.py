"""The whole kernel contract on NumPy arrays (see ``ember.kernels`` for every signature).

NumPy arrays are also ember's host format, so ``from_host``/``to_host`` are nearly free and
views (slices, transposes, broadcasts) share memory exactly as in PyTorch. The pointwise,
reduction, movement and index kernels are ``ember_cpu_numpy.xp_kernels``' (written once for NumPy
and CuPy, shared with the cuda backend); this module adds the runtime, random and matmul kernels.

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.kernels import KERNELS
    >>> KERNELS["add"](np.ones(2, np.float32), 1.0)
    array([2., 2.], dtype=float32)
"""

from __future__ import annotations

import math

import ember.dtypes as _ember_dtypes
import numpy as np

from ember_cpu_numpy import blas as _blas
from ember_cpu_numpy import lowp, numba_nn, xp_kernels
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
    if value == 0 and (value.__class__ is int or value.__class__ is bool
                       or value.__class__ is float and math.copysign(1.0, value) > 0):
        return np.zeros(shape, NP_DTYPE[dtype])  # zeroed pages: 3-4x faster than np.full's fill (not -0.0)
    return np.full(shape, value, NP_DTYPE[dtype])


def arange(start, stop, step, dtype, index):
    n = max(0, math.ceil((stop - start) / step))
    # start + i*step computed in float64/int64, then cast: the same rule as the contract.
    if isinstance(start, float) or isinstance(step, float) or isinstance(stop, float):
        out = start + np.arange(n, dtype=np.float64) * step
    else:
        out = start + np.arange(n, dtype=np.int64) * step
    return out.astype(NP_DTYPE[dtype], copy=False)


_BF16 = NP_DTYPE[_ember_dtypes.bfloat16]
_F32 = np.dtype(np.float32)


def astype(x, dtype):
    target = NP_DTYPE[dtype]
    if target == np.bool_:
        return np.asarray(x != 0)
    x = np.asarray(x)
    src = x.dtype
    # bfloat16 (ml_dtypes) <-> float32: one compiled pass over the bits when numba is there. Identity
    # tests (the dtypes are singletons): this runs on every astype, and `==` between dtypes costs more.
    if target is _BF16 and src is _F32 or src is _BF16 and target is _F32:
        done = numba_nn.float32_to_bfloat16(x, target) if target is _BF16 else numba_nn.bfloat16_to_float32(x)
        if done is not None:
            return done
    if x.dtype.kind == "V" and target.kind in "iu":  # bfloat16 (ml_dtypes) -> int goes through float32,
        x = x.astype(np.float32)                     # as PyTorch's conversion does (ml_dtypes saturates)
    elif target.itemsize == 2 and target.kind in "fV" and src.itemsize > 4 and src.kind in "fiu":
        # float64 (or a 64-bit int) -> float16/bfloat16 rounds to float32 first, as PyTorch's (c10::Half
        # and c10::BFloat16 are built from a float): a second rounding NumPy's direct cast skips
        x = x.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        return x.astype(target)


def storage_offset(x):
    """Elements from the start of the memory ``x`` shares with its views (its root NumPy base)."""
    root = x
    while isinstance(root.base, np.ndarray):
        root = root.base
    start = root.__array_interface__["data"][0]
    return (x.__array_interface__["data"][0] - start) // x.itemsize


def _root(x):
    while isinstance(x.base, np.ndarray):
        x = x.base
    return x


def storage_size(x):
    """Elements of x's dtype in the memory ``x`` shares with its views (its root NumPy base)."""
    return _root(x).nbytes // x.itemsize


def as_strided(x, shape, strides, offset):
    """A view of x's root memory with element ``strides`` from element ``offset`` (bounds checked by
    the frontend): an ndarray over the root's bytes, so writes and ``storage_offset`` follow it."""
    mem = _root(x).ravel(order="K").view(np.uint8)  # the root owns one block: a view, never a copy
    start = min(offset * x.itemsize, mem.nbytes)  # an empty view may start past the end, as in PyTorch
    return np.ndarray(tuple(shape), dtype=x.dtype, buffer=mem, offset=start,
                      strides=tuple(s * x.itemsize for s in strides))


def bitcast(x, dtype):
    """The same bytes as ``dtype``: NumPy's ``view`` (the frontend checked PyTorch's layout rules)."""
    return x.view(NP_DTYPE[dtype])


def copy_(dst, src):
    if not dst.flags.writeable and not dst.flags.owndata:
        # NumPy marks a broadcast (expand) view and every view of it read-only. One whose elements
        # alias one another is PyTorch's error; one that does not (``x.expand(3, 4)[1]``) is written
        # through a writeable view of the same memory, as PyTorch writes it.
        if any(st == 0 and n > 1 for st, n in zip(dst.strides, dst.shape)):
            raise RuntimeError("unsupported operation: more than one element of the written-to tensor refers to a "
                               "single memory location. Please clone() the tensor before performing the "
                               "operation.")
        root = _root(dst)
        if root.flags.writeable:
            dst = as_strided(dst, dst.shape, tuple(st // dst.itemsize for st in dst.strides), storage_offset(dst))
    np.copyto(dst, src, casting="unsafe")


# ---- linear algebra --------------------------------------------------------------------------
def matmul(a, b):
    return _blas.matmul(a, b)  # small products on one BLAS thread (see ember_cpu_numpy.blas)


def _array_result(fn):
    """Ufuncs return NumPy scalars for 0-d inputs; tensors must always hold ndarrays."""

    def kernel(*args):
        out = fn(*args)
        return out if type(out) is np.ndarray else np.asarray(out)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


#: the kernels shared with the cuda backend, bound to NumPy (large ``where`` selections branch-free)
SHARED = xp_kernels.elementwise_kernels(np, branchless_where=True, add_rows=numba_nn.add_rows)

def _relu_kernel(shared_relu):
    """relu for the eager hot path (issue #16): a float32/float64 array takes one dict lookup and
    NumPy's ``maximum`` (large ones the compiled pass, ``numba_nn.relu``); every other dtype, 16-bit
    floats included, takes the shared kernel inside the float32 wrapper of ``lowp``. Marked so that
    ``lowp.wrap`` leaves it alone: the wrapper's own call and dtype test cost ~0.25 us of the ~0.7 us
    of a 16x16 relu."""
    wide_dtypes = lowp.in_float32(shared_relu)
    # The zero goes first, as in the shared kernel: NumPy's maximum returns its second operand on a
    # tie, so relu(-0.0) keeps -0.0 (PyTorch). A 0-d zero of x's dtype converts for free.
    zeros = {np.dtype(np.float32): np.zeros((), np.float32), np.dtype(np.float64): np.zeros((), np.float64)}
    maximum, ndarray = np.maximum, np.ndarray

    def relu(x):
        zero = zeros.get(x.dtype)
        if zero is None:
            return wide_dtypes(x)
        if x.size >= numba_nn.RELU_LOOP_MIN:
            res = numba_nn.relu(x)
            if res is not None:
                return res
        out = maximum(zero, x)
        return out if type(out) is ndarray else np.asarray(out)

    relu.__wrapped__ = shared_relu  # type: ignore[attr-defined]
    return lowp.handles_low_precision(relu)


KERNELS = {
    "from_host": from_host, "to_host": to_host, "device_index": device_index, "empty": empty, "full": full,
    "arange": arange, "astype": astype, "storage_offset": storage_offset, "bitcast": bitcast, "copy_": copy_,
    "storage_size": storage_size, "as_strided": as_strided,
    "rand_uniform": rand_uniform, "rand_normal": rand_normal, "rand_int": rand_int,
    **SHARED,
    "matmul": _array_result(matmul),
    "relu": _relu_kernel(SHARED["relu"]),
}
KERNELS.update(DLPACK_KERNELS)
