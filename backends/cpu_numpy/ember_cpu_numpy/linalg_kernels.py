"""Optional linear-algebra kernels on NumPy (``numpy.linalg``, batched over leading axes).

NumPy has no LU factorisation and no triangular solve; those two are short vectorised loops over
the n columns (each step is one batched NumPy expression), exactly as LAPACK's getf2 and trsv.

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy.linalg_kernels import LINALG_KERNELS
    >>> L, info = LINALG_KERNELS["cholesky"](np.array([[4.0, 2.0], [2.0, 5.0]]))
    >>> L.tolist(), int(info)
    ([[2.0, 0.0], [1.0, 2.0]], 0)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["LINALG_KERNELS"]


def _cholesky_loop(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky-Banachiewicz over the columns, with getrf-style info (only on the failing path)."""
    n = a.shape[-1]
    L = np.zeros_like(a)
    info = np.zeros(a.shape[:-2], np.int32)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(n):
            d = a[..., j, j] - np.sum(L[..., j, :j] ** 2, axis=-1)
            info = np.where((info == 0) & ~(d > 0), j + 1, info).astype(np.int32)
            ljj = np.sqrt(d)
            L[..., j, j] = ljj
            below = a[..., j + 1:, j] - np.einsum("...ik,...k->...i", L[..., j + 1:, :j], L[..., j, :j])
            L[..., j + 1:, j] = below / ljj[..., None]
    return L, info


def cholesky(a):
    try:
        L = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return _cholesky_loop(a)
    return L, np.zeros(a.shape[:-2], np.int32)


def triangular_solve(a, b, upper, left, unitriangular):
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return np.swapaxes(triangular_solve(np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2), not upper, True,
                                            unitriangular), -1, -2)
    n = a.shape[-1]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    dtype = np.result_type(a, b)
    x = np.zeros(batch + b.shape[-2:], dtype)
    order = range(n - 1, -1, -1) if upper else range(n)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for i in order:
            done = slice(i + 1, n) if upper else slice(0, i)
            rhs = b[..., i, :] - np.einsum("...j,...jk->...k", a[..., i, done], x[..., done, :])
            x[..., i, :] = rhs if unitriangular else rhs / a[..., i, i, None]
    return x


def lu_factor(a):
    batch, n = a.shape[:-2], a.shape[-1]
    w = np.array(a, copy=True).reshape((-1, n, n))
    rows = np.arange(w.shape[0])
    piv = np.zeros((w.shape[0], n), np.int32)
    info = np.zeros(w.shape[0], np.int32)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for k in range(n):
            p = k + np.argmax(np.abs(w[:, k:, k]), axis=-1)
            piv[:, k] = p + 1
            row_k, row_p = w[rows, k].copy(), w[rows, p].copy()
            w[rows, k], w[rows, p] = row_p, row_k
            pivot = w[:, k, k]
            zero = pivot == 0
            info = np.where((info == 0) & zero, k + 1, info).astype(np.int32)
            # a zero pivot means its column below is zero too: getrf leaves it unscaled
            f = w[:, k + 1:, k] / np.where(zero, 1, pivot)[:, None]
            w[:, k + 1:, k] = f
            w[:, k + 1:, k + 1:] -= f[:, :, None] * w[:, k, None, k + 1:]
    return w.reshape(a.shape), piv.reshape(batch + (n,)), info.reshape(batch)


def qr(a, mode):
    if mode == "r":
        return None, np.linalg.qr(a, mode="r")
    q, r = np.linalg.qr(a, mode=mode)
    return q, r


def eigh(a, upper):
    w, v = np.linalg.eigh(a, UPLO="U" if upper else "L")
    return w, v


def svd(a, full_matrices):
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u, s, vh


LINALG_KERNELS: dict[str, Callable[..., Any]] = {
    "cholesky": cholesky, "triangular_solve": triangular_solve, "lu_factor": lu_factor, "qr": qr,
    "eigh": eigh, "svd": svd,
}
