"""Small matrix products on one BLAS thread.

OpenBLAS (NumPy's wheels bundle it) splits every product with ``M*N*K`` above 262,144 across
all its threads. For products just above that size the hand-off costs more than it saves, and
when another process holds a core the split product waits for a descheduled worker: on the
2-core benchmark machine a (32, 64) @ (64, 256) product, as in an LSTM step, took 0.3-2 ms
instead of 20 us. :func:`matmul` runs products with ``M*N*K`` below :data:`SMALL_MNK` per matrix
on one thread (by switching OpenBLAS's thread count around the call) and larger ones as usual.

Without an OpenBLAS that exports its thread-count functions (MKL, Accelerate, a system BLAS)
this module does nothing. ``EMBER_CPU_SMALL_GEMM_MNK`` overrides the threshold (0 turns it off).
``EMBER_CPU_BLAS_ADAPT=1`` also runs the larger products on one thread while another process
holds a core (see :func:`_threaded_unless_contended`). A stack of matrices times one matrix is
computed as one taller product.

Example:
    >>> import numpy as np
    >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
    array([[3., 3.],
           [3., 3.]], dtype=float32)
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
import time

import numpy as np

__all__ = ["matmul", "one_thread", "SMALL_MNK", "AVAILABLE", "SGEMM_ILP64"]

_OPENBLAS_SPLIT_MNK = 65536 * 4  # OpenBLAS runs products up to this size on one thread anyway
SMALL_MNK = int(os.environ.get("EMBER_CPU_SMALL_GEMM_MNK", 1 << 22))


def _find_openblas():
    libdirs = [os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs"),
               os.path.join(os.path.dirname(np.__file__), ".dylibs")]
    for d in libdirs:
        for path in sorted(glob.glob(os.path.join(d, "*openblas*"))):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""), ("openblas", "64_"),
                                   ("openblas", "")):
                try:
                    get = getattr(lib, f"{prefix}_get_num_threads{suffix}")
                    put = getattr(lib, f"{prefix}_set_num_threads{suffix}")
                except AttributeError:
                    continue
                get.restype, get.argtypes = ctypes.c_int, ()
                put.restype, put.argtypes = None, (ctypes.c_int,)
                # cblas_sgemm with 64-bit integers (the ILP64 builds NumPy's wheels bundle), for
                # compiled loops that multiply without Python in between (rnn_kernels)
                cblas = "scipy_" if prefix == "scipy_openblas" else ""
                sgemm = getattr(lib, f"{cblas}cblas_sgemm{suffix}", None) if suffix == "64_" else None
                return get, put, sgemm
    return None, None, None


_get_threads, _set_threads, _sgemm = _find_openblas()
#: the address of an ILP64 ``cblas_sgemm`` (0 when NumPy's BLAS has none: MKL, Accelerate, LP64 builds)
SGEMM_ILP64 = (ctypes.cast(_sgemm, ctypes.c_void_p).value or 0) if _sgemm is not None else 0
AVAILABLE = _get_threads is not None and SMALL_MNK > 0
# Opt-in: one thread while the cores are contended. Off by default because OpenBLAS's one- and
# two-thread products can differ in the last bits for some shapes ((64, 784) @ (784, 512)), so
# results would then depend on the machine's load from run to run.
ADAPT = os.environ.get("EMBER_CPU_BLAS_ADAPT", "0") == "1"
_SOLO_S = 1.0
_state = {"solo_until": 0.0}
_solo_rates: dict = {}  # size class -> best one-thread multiply-adds per second


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``, on one BLAS thread when each product is small."""
    if a.ndim > 2 and b.ndim == 2 and out is None and a.flags.c_contiguous and a.shape[-2] > 0:
        # a stack times one matrix is one taller product: NumPy would call GEMM once per matrix of
        # the stack (a (20, 32, 512) @ (512, 128) product takes 2.8x as long that way)
        lead = a.shape[:-1]
        return matmul(a.reshape(-1, a.shape[-1]), b).reshape(lead + (b.shape[-1],))
    if AVAILABLE and a.ndim >= 2 and b.ndim >= 2 and a.dtype.kind == "f":
        mnk = a.shape[-2] * a.shape[-1] * b.shape[-1]
        if _OPENBLAS_SPLIT_MNK < mnk < SMALL_MNK:
            return _one_thread(a, b, out)
        if mnk >= SMALL_MNK and ADAPT:
            return _threaded_unless_contended(a, b, out, mnk)
    return np.matmul(a, b, out=out)


@contextlib.contextmanager
def one_thread(mnk: int):
    """The products of the block, each of ``M*N*K = mnk`` per matrix, on one BLAS thread when
    :func:`matmul` would run such a product on one thread: for a loop of many small products
    (an LSTM layer's steps), the thread count switches once instead of twice per product."""
    n = _get_threads() if AVAILABLE and _OPENBLAS_SPLIT_MNK < mnk < SMALL_MNK else 1
    if n <= 1:
        yield
        return
    _set_threads(1)
    try:
        yield
    finally:
        _set_threads(n)


def _one_thread(a, b, out):
    n = _get_threads()
    if n <= 1:
        return np.matmul(a, b, out=out)
    _set_threads(1)  # only the caller that lowered the count restores it (safe across threads)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _set_threads(n)


def _threaded_unless_contended(a, b, out, mnk: int):
    """A large product on all threads, unless one recently ran slower (in multiply-adds per
    second) than one thread ran a product of its size class (a power of two of ``M*N*K``): then
    another process holds a core and OpenBLAS's split product waits for a descheduled worker (an
    LSTM step went from 17 to 90-110 ms that way on the 2-core machine, 17-22 ms on one thread),
    so products run on one thread for :data:`_SOLO_S` seconds before all threads are tried again.
    The first product of each size class runs on one thread, to have that rate."""
    t0 = time.perf_counter()
    size_class = mnk.bit_length()
    solo_rate = _solo_rates.get(size_class, 0.0)
    solo = t0 < _state["solo_until"] or not solo_rate
    r = _one_thread(a, b, out) if solo else np.matmul(a, b, out=out)
    rate = mnk * max(1, r.size // max(1, r.shape[-2] * r.shape[-1])) / max(time.perf_counter() - t0, 1e-9)
    if solo:
        _solo_rates[size_class] = max(solo_rate, rate)
    elif rate < solo_rate:
        _state["solo_until"] = t0 + _SOLO_S
    return r
