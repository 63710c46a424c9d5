"""Everything built on the LU factorisation: ``inv``, ``solve``, ``det``, ``slogdet``, ``logdet``."""

from __future__ import annotations

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.linalg import _raw
from ember.linalg._common import (
    batch_broadcast,
    batch_error,
    check_same_dtype,
    check_square,
    eye_like,
    is_float_or_complex,
    is_low_precision,
    needs,
    raise_info,
    return_type,
    type_word,
)
from ember.linalg.triangular import _out, _out_many
from ember.tensor import Tensor

__all__ = ["inv", "inv_ex", "solve", "solve_ex", "det", "slogdet", "logdet", "lu", "lu_factor", "lu_factor_ex",
           "lu_solve", "InvExResult", "SolveExResult", "SlogdetResult", "LUFactorResult", "LUFactorExResult",
           "LUResult"]

InvExResult = return_type("linalg_inv_ex", ["inverse", "info"])
SolveExResult = return_type("linalg_solve_ex", ["result", "info"])
SlogdetResult = return_type("linalg_slogdet", ["sign", "logabsdet"])

_SINGULAR_INV = ("The diagonal element {info} is zero, the inversion could not be completed because the input "
                 "matrix is singular.")
_SINGULAR_SOLVE = "The solver failed because the input matrix is singular."


def _permutation(piv: Tensor, m: int | None = None) -> Tensor:
    """The row order (int64, (..., m)) that LAPACK's sequential pivots (1-based, (..., k)) amount to;
    ``m`` (the rows, k by default) exceeds k for a wide factorisation's k = min(m, n) pivots."""
    from ember.functions.creation import arange
    from ember.functions.elementwise import where

    k = piv.shape[-1]
    m = k if m is None else m
    r = arange(m, device=piv.device)
    perm = r.expand(tuple(piv.shape[:-1]) + (m,)).contiguous()
    p_all = piv.to(_dt.int64) - 1
    for i in range(k):
        p = p_all[..., i:i + 1]
        at_i, at_p = perm[..., i:i + 1], perm.gather(-1, p)
        perm = where(r == i, at_p, where(r == p, at_i, perm))
    return perm


def _perm_sign(piv: Tensor, dtype: _dt.dtype) -> Tensor:
    from ember.functions.creation import arange

    n = piv.shape[-1]
    swaps = (piv != (arange(n, device=piv.device) + 1).to(_dt.int32)).to(_dt.int64).sum(-1)
    return (1 - 2 * (swaps % 2)).to(dtype)


def _lu_solve(lu: Tensor, piv: Tensor, B: Tensor) -> Tensor:
    """X with A X = B from A's factors (no autograd); batch axes broadcast."""
    from ember.functions.elementwise import broadcast_shapes

    batch = tuple(broadcast_shapes(tuple(lu.shape[:-2]), tuple(B.shape[:-2])))
    perm = _permutation(piv).expand(batch + (lu.shape[-1],))
    B = B.expand(batch + tuple(B.shape[-2:])).gather(-2, perm.unsqueeze(-1).expand(batch + tuple(B.shape[-2:])))
    y = _raw.triangular_solve(lu, B, False, True, True)
    return _raw.triangular_solve(lu, y, True, True, False)


def _factor(A: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return _raw.lu_factor(A)


class Inv(Function):
    _backward_name = "LinalgInvExBackward0"

    @staticmethod
    def forward(ctx, A, check_name):
        lu, piv, info = _factor(A)
        if check_name:
            raise_info(info, check_name, _SINGULAR_INV)
        Ainv = _lu_solve(lu, piv, eye_like(A).expand(tuple(A.shape)))
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(Ainv)
        return Ainv, info

    @staticmethod
    def backward(ctx, g, _ginfo):
        (Ainv,) = ctx.saved_tensors
        return -(Ainv.mH @ g @ Ainv.mH), None


def inv_ex(A: Tensor, *, check_errors: bool = False, out: tuple | None = None):
    """``inv`` that reports singular matrices in ``info`` (int32) instead of raising.

    >>> import ember
    >>> ember.linalg.inv_ex(ember.zeros(2, 2)).info
    tensor(1, dtype=ember.int32)
    """
    check_square(A, "linalg.inv")
    return _out_many(InvExResult(*Inv.apply(A, "linalg.inv_ex" if check_errors else None)), out)


def inv(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse of square matrices (batched); ``ember.linalg.LinAlgError`` when one is singular.

    >>> import ember
    >>> ember.linalg.inv(ember.tensor([[2.0, 0.0], [0.0, 4.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.2500]])
    """
    check_square(A, "linalg.inv")
    return _out(Inv.apply(A, "linalg.inv")[0], out)


class Solve(Function):
    _backward_name = "LinalgSolveExBackward0"

    @staticmethod
    def forward(ctx, A, B, check_name):
        lu, piv, info = _factor(A)
        if check_name:
            raise_info(info, check_name, _SINGULAR_SOLVE)
        X = _lu_solve(lu, piv, B)
        ctx.mark_non_differentiable(info)
        ctx.save_for_backward(A, X if needs(ctx, 0) else None)
        ctx.shapes = (tuple(A.shape), tuple(B.shape))
        return X, info

    @staticmethod
    def backward(ctx, gX, _ginfo):
        from ember.functions.elementwise import unbroadcast

        A, X = ctx.saved_tensors
        gB = Solve.apply(A.mH, gX, None)[0]
        gA = unbroadcast(-(gB @ X.mH), ctx.shapes[0]) if needs(ctx, 0) else None
        return gA, (unbroadcast(gB, ctx.shapes[1]) if needs(ctx, 1) else None), None


def _no_lu_low_precision(A: Tensor) -> None:
    if is_low_precision(A.dtype):
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{type_word(A.dtype)}'")


def _solve(A: Tensor, B: Tensor, left: bool, check_name: str | None) -> tuple[Tensor, Tensor]:
    fname = "linalg.solve"
    check_square(A, fname, low_precision=True)
    _no_lu_low_precision(A)
    check_same_dtype(A, B, fname)
    n = A.shape[-1]
    vector = B.dim() == 1 or (B.dim() == A.dim() - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    Bm = B.unsqueeze(-1) if vector else B
    rows = Bm.shape[-2] if left or vector else Bm.shape[-1]
    if rows != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{fname}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {Bm.shape[-2]}x{Bm.shape[-1]})")
    batch_broadcast(tuple(Bm.shape[:-2]), tuple(A.shape[:-2]))
    if left or vector:
        X, info = Solve.apply(A if left else A.mT, Bm, check_name)
    else:  # X A = B  <=>  A^T X^T = B^T
        X, info = Solve.apply(A.mT, Bm.mT, check_name)
        X = X.mT
    return (X.squeeze(-1) if vector else X), info


def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` (``X A = B`` when not ``left``) for square ``A``; ``B`` may be a vector.

    >>> import ember
    >>> ember.linalg.solve(ember.tensor([[2.0, 0.0], [0.0, 4.0]]), ember.tensor([2.0, 2.0]))
    tensor([1.0000, 0.5000])
    """
    return _out(_solve(A, B, left, "torch.linalg.solve")[0], out)


def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: tuple | None = None):
    """``solve`` that reports singular matrices in ``info`` instead of raising."""
    return _out_many(SolveExResult(*_solve(A, B, left, "torch.linalg.solve_ex" if check_errors else None)), out)


def _diag_u(lu: Tensor) -> Tensor:
    return lu.diagonal(0, -2, -1)


class Det(Function):
    _backward_name = "LinalgDetBackward0"

    @staticmethod
    def forward(ctx, A):
        lu, piv, _info = _factor(A)
        d = _diag_u(lu).prod(-1) * _perm_sign(piv, A.dtype)
        ctx.save_for_backward(A, d)
        return d

    @staticmethod
    def backward(ctx, g):
        # PyTorch's linalg_det_backward: g conj(det) A^-H, the (conjugated) cofactor matrix; for
        # singular A from the SVD
        A, d = ctx.saved_tensors
        Ainv, info = Inv.apply(A, None)
        g = g.unsqueeze(-1).unsqueeze(-1)
        dc = (d.conj() if d._dtype.is_complex else d).unsqueeze(-1).unsqueeze(-1)
        if bool((info == 0).all()):
            return g * dc * Ainv.mH
        from ember.functions.elementwise import where

        singular = (info != 0).unsqueeze(-1).unsqueeze(-1)
        return g * where(singular, _cofactor(A), dc * where(singular, 0.0, Ainv.mH))


def _cofactor(A: Tensor) -> Tensor:
    """conj(det(A)) A^-H (the conjugated cofactor matrix) of any square A, from A = U diag(S) Vh:
    conj(det(U) det(Vh)) U diag(prod_{j != i} S_j) Vh (not differentiable again)."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.shape import stack

    with no_grad():
        U, S, Vh = _raw.svd(A, False)
        k = S.shape[-1]
        others = stack([S[..., [j for j in range(k) if j != i]].prod(-1) for i in range(k)], -1)
        sign = Det.apply(U) * Det.apply(Vh)
        if sign._dtype.is_complex:
            sign = sign.conj()
        return sign.unsqueeze(-1).unsqueeze(-1) * (U * others.to(U.dtype).unsqueeze(-2)) @ Vh


def det(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Determinant of square matrices (batched).

    >>> import ember
    >>> ember.linalg.det(ember.tensor([[1.0, 2.0], [3.0, 4.0]]))
    tensor(-2.0000)
    """
    check_square(A, "linalg.det", low_precision=True)
    _no_lu_low_precision(A)
    return _out(Det.apply(A), out)


class Slogdet(Function):
    _backward_name = "LinalgSlogdetBackward0"

    @staticmethod
    def forward(ctx, A):
        lu, piv, _info = _factor(A)
        u = _diag_u(lu)
        if A._dtype.is_complex:  # the phase of the determinant: prod(u / |u|) (0 for a zero pivot)
            from ember.functions.elementwise import where

            au = u.abs()
            unit = where(au == 0, 0.0, u / where(au == 0, 1.0, au).to(u.dtype))
            sign = unit.prod(-1) * _perm_sign(piv, A.dtype)
        else:
            sign = u.sign().prod(-1) * _perm_sign(piv, A.dtype)
        logabs = u.abs().log().sum(-1)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(A, sign)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        # PyTorch's slogdet_backward: (g_abs - i Im(conj(g_sign) sign)) A^-H; the real sign has none
        A, sign = ctx.saved_tensors
        g = glog
        if A._dtype.is_complex:
            if gsign is not None:
                from ember.functions.complex_ops import complex as make_complex

                im = (gsign.conj() * sign).imag
                rot = make_complex(im * 0, -im)  # -i Im(...)
                g = rot if g is None else g.to(A.dtype) + rot
            elif g is not None:
                g = g.to(A.dtype)
        if g is None:  # only the (real) sign was used: it has no gradient
            return None
        return g.unsqueeze(-1).unsqueeze(-1) * Inv.apply(A, None)[0].mH


def slogdet(A: Tensor, *, out: tuple | None = None):
    """Sign and log of the absolute value of the determinant (a named tuple ``sign``, ``logabsdet``).

    >>> import ember
    >>> ember.linalg.slogdet(ember.tensor([[-2.0, 0.0], [0.0, 1.0]])).sign
    tensor(-1.)
    """
    check_square(A, "linalg.slogdet")
    return _out_many(SlogdetResult(*Slogdet.apply(A)), out)


def logdet(A: Tensor) -> Tensor:
    """log(det(A)): NaN where the determinant is negative, -inf where it is 0 (``torch.logdet``).

    >>> import ember
    >>> ember.logdet(ember.tensor([[2.0, 0.0], [0.0, 2.0]]))
    tensor(1.3863)
    """
    from ember.functions.elementwise import where

    check_square(A, "logdet")
    sign, logabs = Slogdet.apply(A)
    if A._dtype.is_complex:  # PyTorch: log(sign) + logabsdet, complex
        return sign.log() + logabs
    return where(sign < 0, float("nan"), logabs)



# ---- the LU factorisation itself ------------------------------------------------------------------
LUFactorResult = return_type("linalg_lu_factor", ["LU", "pivots"])
LUFactorExResult = return_type("linalg_lu_factor_ex", ["LU", "pivots", "info"])
LUResult = return_type("linalg_lu", ["P", "L", "U"])


def _check_lu(A: Tensor, pivot: bool, fname: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"torch.lu_factor: Expected tensor with 2 or more dimensions. Got size: {list(A.shape)} "
                           "instead")
    if not pivot:
        raise RuntimeError(f"{fname}: LU without pivoting is not implemented on the CPU")
    if not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{type_word(A.dtype)}'")


def _unpermute_rows(X: Tensor, perm: Tensor) -> Tensor:
    """P X for A = P L U, given the row order ``perm`` (A[perm] = L U): row perm[i] of the result is X[i]."""
    inverse = perm.argsort(-1)
    return X.gather(-2, inverse.unsqueeze(-1).expand(tuple(X.shape)))


def _lu_backward(gL: Tensor | None, gU: Tensor | None, L: Tensor, U: Tensor, perm: Tensor) -> Tensor:
    """PyTorch's linalg_lu_backward for L (m, k), U (k, n): square gA = P L^-H (tril(L^H gL, -1) +
    triu(gU U^H)) U^-H; wide (m < n) and tall (m > n) split U = [U1 U2] or L = [L1; L2] at k."""
    from ember.functions.creation import zeros
    from ember.functions.shape import cat
    from ember.linalg.triangular import solve_triangular

    m, k, n = L.shape[-2], L.shape[-1], U.shape[-1]
    if m == n:
        phi = None
        if gL is not None:
            phi = (L.mH @ gL).tril(-1)
        if gU is not None:
            term = (gU @ U.mH).triu()
            phi = term if phi is None else phi + term
        X = solve_triangular(L.mH, phi, upper=True, unitriangular=True)
        X = solve_triangular(U.mH, X, upper=False, left=False)
    elif m < n:  # A1 = P L^-H [triu(gU1) + tril(L^H gL - triu(gU) U^H, -1) U1^-H], A2 = P L^-H gU2
        X = None if gL is None else L.mH @ gL
        if gU is not None:
            term = gU.triu() @ U.mH
            X = -term if X is None else X - term
        X = solve_triangular(U[..., :k].mH, X.tril(-1), upper=False, left=False)
        if gU is not None:
            X = cat([X + gU[..., :k].triu(), gU[..., k:]], -1)
        X = solve_triangular(L.mH, X, upper=True, unitriangular=True)
        if gU is None:
            X = cat([X, zeros(tuple(X.shape[:-1]) + (n - k,), dtype=X.dtype, device=X.device)], -1)
    else:  # A1 = P [tril(gL1, -1) + L1^-H triu(gU U^H - L^H tril(gL, -1))] U^-H, A2 = P gL2 U^-H
        X = None if gU is None else gU @ U.mH
        if gL is not None:
            term = L.mH @ gL.tril(-1)
            X = -term if X is None else X - term
        X = solve_triangular(L[..., :k, :].mH, X.triu(), upper=True, unitriangular=True)
        if gL is not None:
            X = cat([X + gL[..., :k, :].tril(-1), gL[..., k:, :]], -2)
        X = solve_triangular(U.mH, X, upper=False, left=False)
        if gL is None:
            X = cat([X, zeros(tuple(X.shape[:-2]) + (m - k, k), dtype=X.dtype, device=X.device)], -2)
    return _unpermute_rows(X, perm)


def _unpack(lu: Tensor) -> tuple[Tensor, Tensor]:
    """L (m, k) unit lower and U (k, n) upper of a compact m x n factorisation, k = min(m, n)."""
    from ember.functions.creation import eye

    m, n = lu.shape[-2], lu.shape[-1]
    k = min(m, n)
    L = lu[..., :, :k].tril(-1) + eye(m, k, dtype=lu.dtype, device=lu.device)
    return L, lu[..., :k, :].triu()


class LUFactor(Function):
    _backward_name = "LinalgLuFactorExBackward0"

    @staticmethod
    def forward(ctx, A, check_name):
        lu, piv, info = _factor(A)
        if check_name:
            found = batch_error(info)
            if found is not None:  # PyTorch names U[info, info], info 1-based as LAPACK's
                i, k = found
                prefix = f"(Batch element {i}): " if info.dim() > 0 else ""
                raise RuntimeError(f"{check_name}: {prefix}U[{k},{k}] is zero and using it on lu_solve would result "
                                   "in a division by zero. If you still want to perform the factorization, consider "
                                   "calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")
        ctx.mark_non_differentiable(piv, info)
        ctx.save_for_backward(lu, piv)
        return lu, piv, info

    @staticmethod
    def backward(ctx, gLU, _gpiv, _ginfo):
        # PyTorch's lu_factor_ex_backward: the strict lower part of gLU's first k columns feeds L,
        # the upper part of its first k rows U
        lu, piv = ctx.saved_tensors
        m, n = lu.shape[-2], lu.shape[-1]
        k = min(m, n)
        L, U = _unpack(lu)
        return _lu_backward(gLU[..., :, :k].tril(-1), gLU[..., :k, :].triu(), L, U, _permutation(piv, m)), None


def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out: tuple | None = None):
    """Compact LU factorisation with partial pivoting: ``LU``, 1-based ``pivots`` (int32) and ``info``.

    >>> import ember
    >>> ember.linalg.lu_factor_ex(ember.tensor([[1.0, 2.0], [3.0, 4.0]])).pivots
    tensor([2, 2], dtype=ember.int32)
    """
    _check_lu(A, pivot, "linalg.lu_factor_ex")
    return _out_many(LUFactorExResult(*LUFactor.apply(A, "torch.linalg.lu_factor_ex" if check_errors else None)), out)


def lu_factor(A: Tensor, *, pivot: bool = True, out: tuple | None = None):
    """Compact LU factorisation (``LU``, ``pivots``) for ``lu_solve``; raises when U has a zero pivot.

    >>> import ember
    >>> ember.linalg.lu_factor(ember.tensor([[1.0, 2.0], [3.0, 4.0]])).LU
    tensor([[3.0000, 4.0000],
            [0.3333, 0.6667]])
    """
    _check_lu(A, pivot, "linalg.lu_factor")
    lu, piv, _info = LUFactor.apply(A, "torch.linalg.lu_factor")
    return _out_many(LUFactorResult(lu, piv), out)


class LU(Function):
    _backward_name = "LinalgLuBackward0"

    @staticmethod
    def forward(ctx, A):
        from ember.functions.creation import eye

        m = A.shape[-2]
        lu, piv, _info = _factor(A)
        perm = _permutation(piv, m)
        shape = tuple(A.shape[:-2]) + (m, m)
        P = eye(m, dtype=A.dtype, device=A.device).expand(shape).gather(-2, perm.unsqueeze(-1).expand(shape)).mT
        L, U = _unpack(lu)
        ctx.mark_non_differentiable(P)
        ctx.save_for_backward(L, U, perm)
        return P, L, U

    @staticmethod
    def backward(ctx, _gP, gL, gU):
        L, U, perm = ctx.saved_tensors
        return _lu_backward(gL, gU, L, U, perm)


def lu(A: Tensor, *, pivot: bool = True, out: tuple | None = None):
    """``A = P L U`` with partial pivoting (named tuple ``P``, ``L``, ``U``).

    >>> import ember
    >>> ember.linalg.lu(ember.tensor([[1.0, 2.0], [3.0, 4.0]])).P
    tensor([[0., 1.],
            [1., 0.]])
    """
    _check_lu(A, pivot, "linalg.lu")
    return _out_many(LUResult(*LU.apply(A)), out)


def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False,
             out: Tensor | None = None) -> Tensor:
    """Solve with the factors of ``lu_factor``: ``A X = B`` (``A^H X = B`` when ``adjoint``; ``X A = B``
    when not ``left``). Differentiable in ``LU`` and ``B``.

    >>> import ember
    >>> A = ember.tensor([[1.0, 2.0], [3.0, 4.0]])
    >>> ember.linalg.lu_solve(*ember.linalg.lu_factor(A), ember.tensor([[5.0], [11.0]]))
    tensor([[1.],
            [2.]])
    """
    from ember.linalg.triangular import solve_triangular

    # PyTorch's checks, in its order: the dtypes, LU a matrix, B a matrix, LU square, B's size against
    # LU's, the pivots' count and batch
    if not is_float_or_complex(LU._dtype):
        raise RuntimeError(f"torch.linalg.lu_solve: Expected a floating point or complex tensor as input. "
                           f"Got {type_word(LU._dtype)}")
    if LU._dtype is not B._dtype:
        raise RuntimeError(f"linalg.lu_solve: Expected LU and B to have the same dtype, but found LU of type "
                           f"{type_word(LU._dtype)} and B of type {type_word(B._dtype)} instead")
    if pivots._dtype is not _dt.int32:
        raise RuntimeError("linalg.lu_solve: pivots should be a Tensor of scalar type torch.int32")
    if LU.dim() < 2:
        raise RuntimeError("torch.linalg.lu_solve: The input tensor A must have at least 2 dimensions.")
    if B.dim() < 2:
        raise RuntimeError("linalg.lu_solve: The input tensor B must have at least 2 dimensions.")
    n = LU.shape[-1]
    if LU.shape[-2] != n:  # a wide or tall factorisation solves nothing
        raise RuntimeError(f"torch.linalg.lu_solve: A must be batches of square matrices, but they are "
                           f"{LU.shape[-2]} by {n} matrices")
    if (B.shape[-2] if left else B.shape[-1]) != n:
        raise RuntimeError(f"linalg.lu_solve: Incompatible shapes of A and B for the equation "
                           f"{'AX = B' if left else 'XA = B'} ({n}x{n} and {B.shape[-2]}x{B.shape[-1]})")
    if pivots.dim() == 0 or pivots.shape[-1] != n:
        raise RuntimeError("linalg.lu_solve: Number of pivots per batch should be same as the dimension of the matrix")
    if tuple(pivots.shape) != tuple(LU.shape[:-1]):
        raise RuntimeError(f"linalg.lu_solve: Expected LU.shape[:-1] and pivots.shape to be the same, but got "
                           f"pivots with shape {list(pivots.shape)} instead")
    if not left:  # X A = B  <=>  A^H X^H = B^H
        return _out(lu_solve(LU, pivots, B.mH, left=True, adjoint=not adjoint).mH, out)

    if pivots.numel():  # PyTorch reads the pivots too (a gather would refuse them less clearly)
        if bool((pivots < 1).any()):
            raise RuntimeError("Pivots given to lu_solve must all be greater or equal to 1. Did you properly pass "
                               "the result of lu_factor?")
        if bool((pivots > LU.shape[-2]).any()):
            raise RuntimeError("Pivots given to lu_solve must all be smaller or equal to LU.size(-2). Did you "
                               "properly pass the result of lu_factor?")
    L, U = LU.tril(-1) + eye_like(LU), LU.triu()
    perm = _permutation(pivots)
    batch = batch_broadcast(tuple(B.shape[:-2]), tuple(LU.shape[:-2]))
    B = B.expand(batch + tuple(B.shape[-2:]))
    perm = perm.expand(batch + (perm.shape[-1],)).unsqueeze(-1).expand(tuple(B.shape))
    if not adjoint:  # U^-1 L^-1 P^T B
        y = solve_triangular(L, B.gather(-2, perm), upper=False, unitriangular=True)
        return _out(solve_triangular(U, y, upper=True), out)
    y = solve_triangular(U.mH, B, upper=False)  # A^H = U^H L^H P^H: X = P L^-H U^-H B
    y = solve_triangular(L.mH, y, upper=True, unitriangular=True)
    return _out(y.gather(-2, perm.argsort(-2)), out)
