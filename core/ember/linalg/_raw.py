"""The factorisations themselves, without autograd: the backend's optional kernel when it has one,
else the on-device composite (``_composite``). Zero-size inputs never reach either.

``use_composites()`` forces the composites on every backend (the tests run them on the CPU too).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ember import dtypes as _dt
from ember.autograd.grad_mode import no_grad
from ember.linalg import _composite
from ember.tensor import Tensor

__all__ = ["use_composites", "cholesky", "triangular_solve", "lu_factor", "qr", "eigh", "svd"]

_FORCE = [False]


@contextlib.contextmanager
def use_composites(enabled: bool = True) -> Iterator[None]:
    """Run the composites even where the backend has the kernels (for testing them)."""
    old, _FORCE[0] = _FORCE[0], enabled
    try:
        yield
    finally:
        _FORCE[0] = old


def _native(x: Tensor, name: str) -> bool:
    return not _FORCE[0] and x._kt.has(name)


def _zeros(shape: tuple, like: Tensor, dtype: _dt.dtype | None = None) -> Tensor:
    from ember.functions.creation import zeros

    return zeros(shape, dtype=dtype or like.dtype, device=like.device)


def _eye(shape: tuple, like: Tensor) -> Tensor:
    from ember.functions.creation import eye

    return eye(shape[-1], dtype=like.dtype, device=like.device).expand(shape).contiguous()


def cholesky(a: Tensor) -> tuple[Tensor, Tensor]:
    """(L, info) of (..., n, n)."""
    batch = tuple(a.shape[:-2])
    if a.numel() == 0:
        return _zeros(tuple(a.shape), a), _zeros(batch, a, _dt.int32)
    with no_grad():
        if _native(a, "cholesky"):
            L, info = a._kt["cholesky"](a._data)
            return a._new(L), a._new(info, _dt.int32)
        return _composite.cholesky(a)


def triangular_solve(a: Tensor, b: Tensor, upper: bool, left: bool, unitriangular: bool) -> Tensor:
    """X of op(A) X = B (left) or X op(A) = B; batch axes broadcast."""
    from ember.functions.elementwise import broadcast_shapes

    shape = tuple(broadcast_shapes(tuple(a.shape[:-2]), tuple(b.shape[:-2]))) + tuple(b.shape[-2:])
    if a.numel() == 0 or b.numel() == 0:
        return _zeros(shape, b)
    with no_grad():
        if _native(a, "triangular_solve"):
            return b._new(a._kt["triangular_solve"](a._data, b._data, upper, left, unitriangular))
        return _composite.triangular_solve(a, b, upper, left, unitriangular)


def lu_factor(a: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(LU (..., m, n), pivots (..., k) 1-based int32, info) as LAPACK's getrf, k = min(m, n).

    The backend kernels factor square matrices: a wide matrix factors its first m columns (getrf's
    pivots never look further) and solves the rest, U2 = L^-1 P^T A2; a tall one, whose pivot search
    spans every row, runs the composite.
    """
    from ember.functions.creation import arange

    m, n, batch = a.shape[-2], a.shape[-1], tuple(a.shape[:-2])
    k = min(m, n)
    if a.numel() == 0:
        piv = (arange(k, device=a.device) + 1).to(_dt.int32).expand(batch + (k,)).contiguous()
        return _zeros(tuple(a.shape), a), piv, _zeros(batch, a, _dt.int32)
    with no_grad():
        if m < n:
            from ember.functions.shape import cat
            from ember.linalg.lu import _permutation

            lu1, piv, info = lu_factor(a[..., :m])
            rows = _permutation(piv).unsqueeze(-1).expand(batch + (m, n - m))
            u2 = triangular_solve(lu1, a[..., m:].gather(-2, rows), False, True, True)
            return cat([lu1, u2], -1), piv, info
        if m > n:
            return _composite.lu_factor(a)
        if _native(a, "lu_factor"):
            lu, piv, info = a._kt["lu_factor"](a._data)
            return a._new(lu), a._new(piv, _dt.int32), a._new(info, _dt.int32)
        return _composite.lu_factor(a)


def qr(a: Tensor, mode: str) -> tuple[Tensor | None, Tensor]:
    m, n, batch = a.shape[-2], a.shape[-1], tuple(a.shape[:-2])
    k = min(m, n)
    if a.numel() == 0:
        qcols = k if mode == "reduced" else m
        q = _eye(batch + (m, m), a)[..., :qcols].contiguous()
        return (None if mode == "r" else q), _zeros(batch + ((m if mode == "complete" else k), n), a)
    with no_grad():
        if _native(a, "qr"):
            q, r = a._kt["qr"](a._data, mode)
            return (None if q is None else a._new(q)), a._new(r)
        return _composite.qr(a, mode)


def eigh(a: Tensor, upper: bool) -> tuple[Tensor, Tensor]:
    if a.numel() == 0:  # (eigenvalues are real, also for a complex input)
        return _zeros(tuple(a.shape[:-1]), a, _dt.to_real(a.dtype)), _zeros(tuple(a.shape), a)
    with no_grad():
        if _native(a, "eigh"):
            w, v = a._kt["eigh"](a._data, upper)
            return a._new(w, _dt.to_real(a.dtype)), a._new(v)
        return _composite.eigh(a, upper)


def svd(a: Tensor, full_matrices: bool) -> tuple[Tensor, Tensor, Tensor]:
    m, n, batch = a.shape[-2], a.shape[-1], tuple(a.shape[:-2])
    k = min(m, n)
    if a.numel() == 0:
        ucols, vrows = (m, n) if full_matrices else (k, k)
        u = _eye(batch + (m, m), a)[..., :ucols].contiguous()
        vh = _eye(batch + (n, n), a)[..., :vrows, :].contiguous()
        return u, _zeros(batch + (k,), a, _dt.to_real(a.dtype)), vh
    with no_grad():
        if _native(a, "svd"):
            u, s, vh = a._kt["svd"](a._data, full_matrices)
            return a._new(u), a._new(s, _dt.to_real(a.dtype)), a._new(vh)
        return _composite.svd(a, full_matrices)
