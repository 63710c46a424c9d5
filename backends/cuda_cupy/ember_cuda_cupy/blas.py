"""Matrix products on cuBLAS, with a short path for the float products of nn layers.

``cupy.matmul`` spends ~26 us of host time per 2-D call on an H100 host (shape checks, a generic
batched-GEMM setup), and ~120 us when a 2-D operand is broadcast over a batch (it materialises
the broadcast first). A linear layer's products are 2-D, a convolution's are a weight matrix
against a batch of column matrices, and their operands are C-contiguous or transposed views of
C-contiguous arrays, which cuBLAS takes as they are: one ``cublas<S|D>gemm`` call (or
``gemmStridedBatched``, with batch stride 0 for the broadcast operand) on CuPy's handle, ~20 us
including the output's allocation. Everything else (more batch axes, integers, float16, other
strides) goes to ``cupy.matmul``, as does everything under NumPy.

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


def _operand(a):
    """(op, ld, batch stride) of a 2-D or 3-D operand as cuBLAS's column-major view, or None.

    Each matrix must be row-major (C-contiguous in its last two axes: used with op N, ld = its
    column count) or the transpose of one (op T, ld = its row count); a 2-D operand or a batch of
    one repeats for every batch entry (stride 0).
    """
    rows, cols = a.shape[-2:]
    item = a.itemsize
    s_row, s_col = a.strides[-2:]
    if s_col == item and (s_row == cols * item or rows == 1):
        op, ld = 0, max(cols, 1)
    elif s_row == item and (s_col == rows * item or cols == 1):
        op, ld = 1, max(rows, 1)
    else:
        return None
    if a.ndim == 2 or a.shape[0] == 1:
        return op, ld, 0
    if a.strides[0] % item or a.strides[0] < rows * cols * item:
        return None
    return op, ld, a.strides[0] // item


def _gemm(a, b):
    """``a @ b`` for 2-D/3-D float32/float64 operands in the layouts of :func:`_operand`, or None."""
    m, k = a.shape[-2:]
    n = b.shape[-1]
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    if (a.ndim == 3 and a.shape[0] not in (1, batch)) or (b.ndim == 3 and b.shape[0] not in (1, batch)):
        return None  # incompatible batches: cupy.matmul raises the error
    la, lb = _operand(a), _operand(b)
    if la is None or lb is None or not (m and n and k and batch):
        return None
    xp = am.xp
    if not _cublas:
        from cupy_backends.cuda.libs import cublas

        _cublas.append(cublas)
    cublas = _cublas[0]
    batched = a.ndim == 3 or b.ndim == 3
    out = xp.empty((batch, m, n) if batched else (m, n), a.dtype)
    handle = xp.cuda.device.get_cublas_handle()
    cublas.setPointerMode(handle, cublas.CUBLAS_POINTER_MODE_HOST)
    one, zero = _ONE[a.dtype].ctypes.data, _ZERO[a.dtype].ctypes.data
    single = a.dtype == np.float32
    # Row-major C = A B is column-major C^T = B^T A^T: pass b first, then a, with m and n swapped.
    if batched:
        gemm = cublas.sgemmStridedBatched if single else cublas.dgemmStridedBatched
        gemm(handle, lb[0], la[0], n, m, k, one, b.data.ptr, lb[1], lb[2], a.data.ptr, la[1], la[2], zero,
             out.data.ptr, n, m * n, batch)
    else:
        gemm = cublas.sgemm if single else cublas.dgemm
        gemm(handle, lb[0], la[0], n, m, k, one, b.data.ptr, lb[1], a.data.ptr, la[1], zero, out.data.ptr, n)
    return out


def matmul(a, b):
    if (am.is_cupy and 2 <= a.ndim <= 3 and 2 <= b.ndim <= 3 and a.dtype == b.dtype and a.dtype in _ONE
            and a.shape[-1] == b.shape[-2]):
        out = _gemm(a, b)
        if out is not None:
            return out
    # cuBLAS (batched) GEMM for float types; CuPy's own kernel for integers.
    return am.xp.matmul(a, b)
