"""Optional linear-algebra kernels on CuPy (``cupy.linalg``: cuSOLVER, batched over leading axes).

They mirror the NumPy backend's: the LU factorisation and the triangular solve are vectorised loops
over the n columns; CuPy does not raise on a failed Cholesky by default, so its info is recomputed
by the column loop for the batches whose factor has a non-positive (or NaN) diagonal.

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> from ember_cuda_cupy.linalg_kernels import LINALG_KERNELS
    >>> old = am.use(numpy)
    >>> L, info = LINALG_KERNELS["cholesky"](numpy.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> L.tolist(), int(info)
    ([[2.0, 0.0], [1.0, 2.0]], 0)
    >>> _ = am.use(old)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_cuda_cupy import arraymod as am

__all__ = ["LINALG_KERNELS"]


def _cholesky_loop(a: Any) -> tuple[Any, Any]:
    """Cholesky-Banachiewicz over the columns, with getrf-style info (only on the failing path)."""
    n = a.shape[-1]
    L = am.xp.zeros_like(a)
    info = am.xp.zeros(a.shape[:-2], am.xp.int32)
    with am.quiet():
        for j in range(n):
            d = a[..., j, j] - am.xp.sum(L[..., j, :j] ** 2, axis=-1)
            info = am.xp.where((info == 0) & ~(d > 0), j + 1, info).astype(am.xp.int32)
            ljj = am.xp.sqrt(d)
            L[..., j, j] = ljj
            below = a[..., j + 1:, j] - am.xp.einsum("...ik,...k->...i", L[..., j + 1:, :j], L[..., j, :j])
            L[..., j + 1:, j] = below / ljj[..., None]
    return L, info


def cholesky(a):
    xp = am.xp
    try:
        L = xp.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return _cholesky_loop(a)
    if not bool((xp.diagonal(L, 0, -2, -1) > 0).all()):  # cuSOLVER does not raise: find the minor
        return _cholesky_loop(a)
    return L, xp.zeros(a.shape[:-2], xp.int32)


def triangular_solve(a, b, upper, left, unitriangular):
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return am.xp.swapaxes(triangular_solve(am.xp.swapaxes(a, -1, -2), am.xp.swapaxes(b, -1, -2), not upper, True,
                                            unitriangular), -1, -2)
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    dtype = am.xp.result_type(a, b)
    x = am.xp.zeros(batch + b.shape[-2:], dtype)
    order = range(n - 1, -1, -1) if upper else range(n)
    with am.quiet():
        for i in order:
            done = slice(i + 1, n) if upper else slice(0, i)
            rhs = b[..., i, :] - am.xp.einsum("...j,...jk->...k", a[..., i, done], x[..., done, :])
            x[..., i, :] = rhs if unitriangular else rhs / a[..., i, i, None]
    return x


def lu_factor(a):
    batch, n = a.shape[:-2], a.shape[-1]
    w = am.xp.array(a, copy=True).reshape((-1, n, n))
    rows = am.xp.arange(w.shape[0])
    piv = am.xp.zeros((w.shape[0], n), am.xp.int32)
    info = am.xp.zeros(w.shape[0], am.xp.int32)
    with am.quiet():
        for k in range(n):
            p = k + am.xp.argmax(am.xp.abs(w[:, k:, k]), axis=-1)
            piv[:, k] = p + 1
            row_k, row_p = w[rows, k].copy(), w[rows, p].copy()
            w[rows, k], w[rows, p] = row_p, row_k
            pivot = w[:, k, k]
            zero = pivot == 0
            info = am.xp.where((info == 0) & zero, k + 1, info).astype(am.xp.int32)
            # a zero pivot means its column below is zero too: getrf leaves it unscaled
            f = w[:, k + 1:, k] / am.xp.where(zero, 1, pivot)[:, None]
            w[:, k + 1:, k] = f
            w[:, k + 1:, k + 1:] -= f[:, :, None] * w[:, k, None, k + 1:]
    return w.reshape(a.shape), piv.reshape(batch + (n,)), info.reshape(batch)


def qr(a, mode):
    if mode == "r":
        return None, am.xp.linalg.qr(a, mode="r")
    q, r = am.xp.linalg.qr(a, mode=mode)
    return q, r


def eigh(a, upper):
    w, v = am.xp.linalg.eigh(a, UPLO="U" if upper else "L")
    return w, v


def svd(a, full_matrices):
    u, s, vh = am.xp.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


LINALG_KERNELS: dict[str, Callable[..., Any]] = {
    "cholesky": cholesky, "triangular_solve": triangular_solve, "lu_factor": lu_factor, "qr": qr,
    "eigh": eigh, "svd": svd,
}
