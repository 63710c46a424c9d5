"""Triangular solves and the Cholesky factorisation, with PyTorch's gradients."""

from __future__ import annotations

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.linalg import _raw
from ember.linalg._common import (
    check_matrix,
    check_square,
    is_float_or_complex,
    is_low_precision,
    needs,
    raise_info,
    return_type,
)
from ember.tensor import Tensor

__all__ = ["solve_triangular", "cholesky", "cholesky_ex", "CholeskyExResult"]

CholeskyExResult = return_type("linalg_cholesky_ex", ["L", "info"])


def _tri_part(g: Tensor, upper: bool, unitriangular: bool) -> Tensor:
    """The part of a gradient that a triangular operand actually holds."""
    k = int(unitriangular)
    return g.triu(k) if upper else g.tril(-k)


class SolveTriangular(Function):
    _backward_name = "LinalgSolveTriangularBackward0"

    @staticmethod
    def forward(ctx, A, B, upper, left, unitriangular):
        X = _raw.triangular_solve(A, B, upper, left, unitriangular)
        ctx.save_for_backward(A, X if needs(ctx, 0) else None)
        ctx.opts = (upper, left, unitriangular)
        ctx.shapes = (tuple(A.shape), tuple(B.shape))
        return X

    @staticmethod
    def backward(ctx, gX):
        from ember.functions.elementwise import unbroadcast

        A, X = ctx.saved_tensors
        upper, left, unitriangular = ctx.opts
        # PyTorch's linalg_solve_triangular_backward: G_B = A^-H G_X, G_A = -G_B X^H (projected)
        gB = SolveTriangular.apply(A.mH, gX, not upper, left, unitriangular)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ X.mH) if left else -(X.mH @ gB)
            gA = unbroadcast(_tri_part(gA, upper, unitriangular), ctx.shapes[0])
        gB = unbroadcast(gB, ctx.shapes[1]) if ctx.needs_input_grad[1] else None
        return gA, gB, None, None, None


def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` when not ``left``) for triangular ``A``, batched.

    Only the upper (``upper=True``) or lower triangle of ``A`` is read; with ``unitriangular`` its
    diagonal is taken as ones.

    >>> import ember
    >>> A = ember.tensor([[2.0, 0.0], [1.0, 1.0]])
    >>> ember.linalg.solve_triangular(A, ember.tensor([[2.0], [3.0]]), upper=False)
    tensor([[1.],
            [2.]])
    """
    fname = "linalg.solve_triangular"
    check_matrix(A, fname, "A")
    check_matrix(B, fname, "B")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are "
                           f"{A.shape[-2]} by {A.shape[-1]} matrices")
    n = A.shape[-1]
    if (B.shape[-2] if left else B.shape[-1]) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    if not is_float_or_complex(A._dtype) or is_low_precision(A._dtype):
        raise NotImplementedError(f'"triangular_solve_cpu" not implemented for \'{_word(A._dtype)}\'')
    from ember.linalg._common import batch_broadcast

    batch_broadcast(tuple(B.shape[:-2]), tuple(A.shape[:-2]))
    if B._dtype is not A._dtype:
        B = B.to(A._dtype)
    result = SolveTriangular.apply(A, B, upper, left, unitriangular)
    return _out(result, out)


def _word(dt: _dt.dtype) -> str:
    from ember.linalg._common import type_word

    return type_word(dt)


def _out(result, out):
    """Write ``result`` into ``out``. Most linalg ops are structured kernels in PyTorch: their ``out``
    must have the result's dtype exactly (no casting, unlike elementwise ops); ``_out_cast`` is for
    the few that cast."""
    if out is None:
        return result
    if isinstance(out, Tensor) and isinstance(result, Tensor):
        from ember._ops.out import EXACT, _check

        _check("linalg", EXACT, result, out)
    return _out_cast(result, out)


def _out_cast(result, out):
    """Write ``result`` into ``out``, casting as elementwise ops do (pinv, cond, eigvals...)."""
    if out is None:
        return result
    from ember.functions.elementwise import _out as write_out

    return write_out(result, out)


def _out_many(result, out, cast: bool = False):
    """A named-tuple result written into the tensors of ``out`` (a tuple), returned as that type."""
    if out is None:
        return result
    write = _out_cast if cast else _out
    return type(result)(*(write(r, o) for r, o in zip(result, out)))


def _nan_pivot_info(L: Tensor, info: Tensor) -> Tensor:
    """LAPACK's potrf also stops at a NaN pivot: info is the first column whose pivot is NaN or <= 0."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import arange
    from ember.functions.elementwise import where

    with no_grad():
        n = L.shape[-1]
        bad = L.diagonal(0, -2, -1).isnan()
        if not bool(bad.any()):
            return info
        pos = where(bad, arange(1, n + 1, device=L.device), n + 1).amin(-1)
        eff = where(info == 0, n + 1, info.to(pos.dtype))
        first = where(eff < pos, eff, pos)
        return where(first == n + 1, 0, first).to(info.dtype)


def _lapack_partial_factor(A: Tensor, L: Tensor, info: Tensor) -> Tensor:
    """What LAPACK's potrf (so PyTorch's cholesky_ex) leaves for a matrix whose leading minor of order
    k = info fails: the factor's first k - 1 columns, at (k, k) the non-positive pivot a_kk - sum l_kc^2,
    and the rest of tril(A) untouched (not NaN)."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import arange
    from ember.functions.elementwise import where

    with no_grad():
        n = A.shape[-1]
        idx = arange(n, device=A.device)
        row, col = idx.unsqueeze(-1), idx.unsqueeze(0)
        k = where(info == 0, n + 1, info.to(idx.dtype)).unsqueeze(-1).unsqueeze(-1) - 1  # 0-based failing column
        done = col < k
        Lk = where(done & (row > col), L, 0.0)  # the finished columns' off-diagonal entries
        Lk = where(done & (row == col), L, Lk)
        # a_rr - sum_{c<k} |l_rc|^2 for every row r (potrf/zpotrf reads the diagonal's real part)
        diag = A.diagonal(0, -2, -1)
        if A._dtype.is_complex:
            pivot = (diag.real - (Lk * Lk.conj()).real.sum(-1)).to(A._dtype)
        else:
            pivot = diag - (Lk * Lk).sum(-1)
        at_pivot = (row == col) & (row == k)
        rest = where(at_pivot, pivot.unsqueeze(-1), A.tril())
        return where(done, L, rest)


class Cholesky(Function):
    _backward_name = "LinalgCholeskyExBackward0"

    @staticmethod
    def forward(ctx, A, upper, check_name):
        # LAPACK's potrf('U') reads the upper triangle: that of A is the lower triangle of A^H (the
        # gradient stays PyTorch's formula, which is not conjugate-transposed for upper)
        A = A.mH if upper else A
        L, info = _raw.cholesky(A)
        if A.numel():
            info = _nan_pivot_info(L, info)
        if A.numel() and bool((info != 0).any()):
            L = _lapack_partial_factor(A, L, info)
        if check_name:
            raise_info(info, check_name, "The factorization could not be completed because the input is not "
                       "positive-definite (the leading minor of order {info} is not positive-definite).")
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(L)
        ctx.upper = upper
        return (L.mH if upper else L), info

    @staticmethod
    def backward(ctx, gL, _ginfo):
        # Murray (2016), as PyTorch's cholesky_backward: gA = L^-H Phi L^-1 with
        # Phi = 0.5 (X + X^H - diag(X))-like: X = tril(L^H gL), gA = 0.5 (X + tril(X, -1)^H)
        (L,) = ctx.saved_tensors
        if ctx.upper:
            gL = gL.mH
        phi = (L.mH @ gL).tril()
        phi = 0.5 * (phi + phi.tril(-1).mH)
        gA = solve_triangular(L.mH, phi, upper=True)
        return solve_triangular(L, gA, upper=False, left=False), None, None


def _cholesky(A: Tensor, upper: bool, check_name: str | None) -> tuple[Tensor, Tensor]:
    check_square(A, "linalg.cholesky", low_precision=True)
    if is_low_precision(A._dtype):
        raise NotImplementedError(f"\"cholesky_cpu\" not implemented for '{_word(A._dtype)}'")
    return Cholesky.apply(A, bool(upper), check_name)


def cholesky(A: Tensor, *, upper: bool = False, out: Tensor | None = None) -> Tensor:
    """Cholesky factor of symmetric positive-definite matrices (lower, or upper with ``upper=True``).

    Raises ``ember.linalg.LinAlgError`` when a matrix is not positive-definite.

    >>> import ember
    >>> ember.linalg.cholesky(ember.tensor([[4.0, 2.0], [2.0, 5.0]]))
    tensor([[2., 0.],
            [1., 2.]])
    """
    return _out(_cholesky(A, upper, "linalg.cholesky")[0], out)


def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out: tuple | None = None):
    """``cholesky`` that reports failures in ``info`` (int32, 0 = success) instead of raising.

    >>> import ember
    >>> ember.linalg.cholesky_ex(-ember.eye(2)).info
    tensor(1, dtype=ember.int32)
    """
    L, info = _cholesky(A, upper, "linalg.cholesky_ex" if check_errors else None)
    return _out_many(CholeskyExResult(L, info), out)
