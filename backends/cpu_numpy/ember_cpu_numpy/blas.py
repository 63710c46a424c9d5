"""Small matrix products on one BLAS thread.

OpenBLAS (NumPy's wheels bundle it) splits every product with ``M*N*K`` above 262,144 across
all its threads. For products just above that size the hand-off costs more than it saves, and
when another process holds a core the split product waits for a descheduled worker: on the
2-core benchmark machine a (32, 64) @ (64, 256) product, as in an LSTM step, took 0.3-2 ms
instead of 20 us. :func:`matmul` runs products with ``M*N*K`` below :data:`SMALL_MNK` per matrix
on one thread (by switching OpenBLAS's thread count around the call) and larger ones as usual.

Without an OpenBLAS that exports its thread-count functions (MKL, Accelerate, a system BLAS)
this module does nothing. ``EMBER_CPU_SMALL_GEMM_MNK`` overrides the threshold (0 turns it off).

Example:
    >>> import numpy as np
    >>> matmul(np.ones((2, 3), np.float32), np.ones((3, 2), np.float32))
    array([[3., 3.],
           [3., 3.]], dtype=float32)
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

__all__ = ["matmul", "SMALL_MNK", "AVAILABLE"]

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
                return get, put
    return None, None


_get_threads, _set_threads = _find_openblas()
AVAILABLE = _get_threads is not None and SMALL_MNK > 0


def matmul(a, b, out=None):
    """``np.matmul(a, b, out=out)``, on one BLAS thread when each product is small."""
    if AVAILABLE and a.ndim >= 2 and b.ndim >= 2 and a.dtype.kind == "f":
        mnk = a.shape[-2] * a.shape[-1] * b.shape[-1]
        if _OPENBLAS_SPLIT_MNK < mnk < SMALL_MNK:
            n = _get_threads()
            if n > 1:  # only the caller that lowered the count restores it (safe across threads)
                _set_threads(1)
                try:
                    return np.matmul(a, b, out=out)
                finally:
                    _set_threads(n)
    return np.matmul(a, b, out=out)
