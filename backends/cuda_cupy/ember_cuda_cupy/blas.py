"""Matrix products on cuBLAS, with a short path for the 2-D float products of nn layers.

``cupy.matmul`` spends ~26 us of host time per call on an H100 host (shape checks, a generic
batched-GEMM setup); a linear layer's forward and backward are plain 2-D products whose operands
are C-contiguous or transposed views of C-contiguous arrays, which cuBLAS takes as they are.
For those, one ``cublas<S|D>gemm`` call on CuPy's handle costs ~20 us including the output's
allocation. Everything else (batches, broadcasting, integers, float16, other strides) goes to
``cupy.matmul``, as does everything under NumPy.

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> old = am.use(numpy)
    >>> matmul(numpy.eye(2, dtype=numpy.float32), numpy.ones((2, 3), numpy.float32)).shape
    (2, 3)
    >>> _ = am.use(old)
"""

from __future__ import annotations

import numpy as np

from ember_cuda_cupy import arraymod as am

__all__ = ["matmul"]

# Host scalars for alpha and beta (cuBLAS reads them at the call, in host pointer mode).
_ONE = {np.dtype(np.float32): np.ones(1, np.float32), np.dtype(np.float64): np.ones(1, np.float64)}
_ZERO = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}
_cublas: list = []


def _layout(a, rows: int, cols: int):
    """(transpose flag, leading dimension) of a 2-D operand as cuBLAS's column-major view, or None.

    A C-contiguous (r, c) array is the column-major (c, r) matrix with ld = c (op N in the swapped
    product below); the transpose of a C-contiguous array is used with op T and ld = r.
    """
    if a.flags.c_contiguous:
        return 0, max(cols, 1)
    if a.flags.f_contiguous:
        return 1, max(rows, 1)
    return None


def _gemm_2d(a, b):
    m, k = a.shape
    n = b.shape[1]
    la, lb = _layout(a, m, k), _layout(b, k, n)
    if la is None or lb is None or not (m and n and k):
        return None
    xp = am.xp
    if not _cublas:
        from cupy_backends.cuda.libs import cublas

        _cublas.append(cublas)
    cublas = _cublas[0]
    out = xp.empty((m, n), a.dtype)
    handle = xp.cuda.device.get_cublas_handle()
    cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
    gemm = cublas.sgemm if a.dtype == np.float32 else cublas.dgemm
    # Row-major C = A B is column-major C^T = B^T A^T: pass b first, then a, with m and n swapped.
    gemm(handle, lb[0], la[0], n, m, k, _ONE[a.dtype].ctypes.data, b.data.ptr, lb[1], a.data.ptr, la[1],
         _ZERO[a.dtype].ctypes.data, out.data.ptr, n)
    return out


def matmul(a, b):
    if (am.is_cupy and a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype and a.dtype in _ONE
            and a.shape[1] == b.shape[0]):
        out = _gemm_2d(a, b)
        if out is not None:
            return out
    # cuBLAS (batched) GEMM for float types; CuPy's own kernel for integers.
    return am.xp.matmul(a, b)
