"""QR, symmetric eigendecomposition and SVD, with PyTorch's gradients (real inputs)."""

from __future__ import annotations

from typing import Any

from ember.autograd.function import Function
from ember.linalg import _raw
from ember.linalg._common import (
    check_float,
    check_matrix,
    check_square,
    diag_embed,
    is_low_precision,
    return_type,
    type_word,
)
from ember.linalg.triangular import _out, _out_many, solve_triangular
from ember.tensor import Tensor

__all__ = ["qr", "eigh", "eigvalsh", "svd", "svdvals", "householder_product", "QRResult", "EighResult", "SVDResult"]

QRResult = return_type("linalg_qr", ["Q", "R"])
EighResult = return_type("linalg_eigh", ["eigenvalues", "eigenvectors"])
SVDResult = return_type("linalg_svd", ["U", "S", "Vh"])


def _empty_like(x: Tensor) -> Tensor:
    from ember.functions.creation import zeros

    return zeros((0,), dtype=x.dtype, device=x.device)


# ---- QR -------------------------------------------------------------------------------------------
def _qr_backward_tall(gQ: Tensor | None, gR: Tensor | None, Q: Tensor, R: Tensor) -> Tensor:
    """A = QR with m >= n (reduced): gA = (gQ + Q copyltu(M)) R^-H, M = R gR^H - gQ^H Q."""
    M = None
    if gR is not None:
        M = R @ gR.mT
    if gQ is not None:
        M = -(gQ.mT @ Q) if M is None else M - gQ.mT @ Q
    low = M.tril(-1)
    b = Q @ (low + low.mT + diag_embed(M.diagonal(0, -2, -1)))
    if gQ is not None:
        b = b + gQ
    return solve_triangular(R.mT, b, upper=False, left=False)


class QR(Function):
    _backward_name = "LinalgQrBackward0"

    @staticmethod
    def forward(ctx, A, mode):
        Q, R = _raw.qr(A, mode)
        if Q is None:
            Q = _empty_like(A)
        ctx.mode = mode
        ctx.save_for_backward(Q, R)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        m, n = Q.shape[-2] if Q.dim() > 1 else 0, R.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if m >= n:
            return _qr_backward_tall(gQ, gR, Q, R), None
        # wide: A = [X | Y] with X = Q U square; Y = Q V adds Q gV to Y and Y gV^H to gQ
        from ember.functions.shape import cat

        U, V = R[..., :, :m], R[..., :, m:]
        gU = gV = None
        if gR is not None:
            gU, gV = gR[..., :, :m], gR[..., :, m:]
        Y = None
        if gV is not None:
            Y = Q @ V
            gQ = Y @ gV.mT if gQ is None else gQ + Y @ gV.mT
        gX = _qr_backward_tall(gQ, gU, Q, U)
        gY = Q @ gV if gV is not None else gX.new_zeros(tuple(gX.shape[:-1]) + (n - m,))
        return cat([gX, gY], -1), None


def qr(A: Tensor, mode: str = "reduced", *, out: Any = None):
    """QR decomposition ``A = Q R`` (named tuple ``Q``, ``R``); ``mode`` 'reduced', 'complete' or 'r'.

    >>> import ember
    >>> Q, R = ember.linalg.qr(ember.tensor([[3.0, 1.0], [4.0, 2.0]]))
    >>> (Q @ R).round()
    tensor([[3., 1.],
            [4., 2.]])
    """
    check_matrix(A, "linalg.qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    check_float(A, "linalg.qr", low_precision=True)
    _no_half(A, "geqrf")
    return _out_many(QRResult(*QR.apply(A, mode)), out)


def _no_half(A: Tensor, kernel: str) -> None:
    if is_low_precision(A._dtype):
        raise NotImplementedError(f"\"{kernel}_cpu\" not implemented for '{type_word(A._dtype)}'")


# ---- eigh -----------------------------------------------------------------------------------------
class Eigh(Function):
    _backward_name = "LinalgEighBackward0"

    @staticmethod
    def forward(ctx, A, upper):
        w, V = _raw.eigh(A, upper)
        ctx.save_for_backward(w, V)
        return w, V

    @staticmethod
    def backward(ctx, gw, gV):
        # gA = V (diag(gw) + (V^H gV) / E) V^H with E_ij = w_j - w_i (PyTorch's linalg_eig_backward)
        w, V = ctx.saved_tensors
        inner = None
        if gV is not None:
            E = w.unsqueeze(-2) - w.unsqueeze(-1)
            eye = diag_embed(w * 0 + 1)
            E = E + eye  # the diagonal is replaced below; keep it non-zero
            inner = (V.mT @ gV) / E
            inner = inner - inner * eye
        if gw is not None:
            d = diag_embed(gw)
            inner = d if inner is None else inner + d
        gA = V @ inner @ V.mT
        return 0.5 * (gA + gA.mT), None  # PyTorch returns the symmetric part


def _check_eigh(A: Tensor, fname: str) -> None:
    check_matrix(A, fname)
    if A.shape[-1] != A.shape[-2]:
        check_square(A, fname)
    if not A.dtype.is_floating_point or is_low_precision(A.dtype):
        raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for '{type_word(A.dtype)}'")


def _check_uplo(UPLO: str) -> bool:
    if UPLO not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    return UPLO in ("U", "u")


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None):
    """Eigenvalues (ascending) and eigenvectors of symmetric matrices, read from one triangle.

    >>> import ember
    >>> ember.linalg.eigh(ember.tensor([[2.0, 0.0], [0.0, 1.0]])).eigenvalues
    tensor([1., 2.])
    """
    _check_eigh(A, "linalg.eigh")
    upper = _check_uplo(UPLO)
    return _out_many(EighResult(*Eigh.apply(A, upper)), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Tensor | None = None) -> Tensor:
    """Eigenvalues of symmetric matrices, ascending.

    >>> import ember
    >>> ember.linalg.eigvalsh(ember.tensor([[2.0, 1.0], [1.0, 2.0]]))
    tensor([1., 3.])
    """
    _check_eigh(A, "linalg.eigvalsh")
    upper = _check_uplo(UPLO)
    return _out(Eigh.apply(A, upper)[0], out)


# ---- SVD ------------------------------------------------------------------------------------------
def _svd_backward(gU: Tensor | None, gS: Tensor | None, gVh: Tensor | None, U: Tensor, S: Tensor,
                  Vh: Tensor) -> Tensor:
    """PyTorch's svd_backward for the reduced factors (real case)."""
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return (U * gS.unsqueeze(-2)) @ Vh
    V = Vh.mT
    gV = gVh.mT if gVh is not None else None
    S2 = S * S
    eye = diag_embed(S * 0 + 1)
    E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye  # E_jk = S_k^2 - S_j^2, 1 on the diagonal
    inner = None
    if gU is not None:
        UhgU = U.mT @ gU
        inner = (UhgU - UhgU.mT) * S.unsqueeze(-2)
    if gV is not None:
        VhgV = V.mT @ gV
        term = S.unsqueeze(-1) * (VhgV - VhgV.mT)
        inner = term if inner is None else inner + term
    inner = inner / E
    if gS is not None:
        inner = inner + diag_embed(gS)
    k = S.shape[-1]
    if m > k and gU is not None:
        gA = U @ inner
        gUSinv = gU / S.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mT @ gUSinv)
        gA = gA @ Vh
    elif n > k and gV is not None:
        gA = inner @ Vh
        gVSinv = gV / S.unsqueeze(-2)
        gA = gA + gVSinv.mT - (gVSinv.mT @ V) @ Vh
        gA = U @ gA
    else:
        gA = U @ inner @ Vh
    return gA


class SVD(Function):
    _backward_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A, full_matrices):
        U, S, Vh = _raw.svd(A, full_matrices)
        ctx.save_for_backward(U, S, Vh)
        ctx.full = full_matrices
        return U, S, Vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        k = S.shape[-1]
        if ctx.full:  # only the first k singular vectors carry information
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = gU[..., :, :k] if gU is not None else None
            gVh = gVh[..., :k, :] if gVh is not None else None
        return _svd_backward(gU, gS, gVh, U, S, Vh), None


class SVDVals(Function):
    _backward_name = "LinalgSvdBackward0"

    @staticmethod
    def forward(ctx, A):
        U, S, Vh = _raw.svd(A, False)
        ctx.save_for_backward(A, U, Vh)
        return S

    @staticmethod
    def backward(ctx, gS):
        from ember.autograd.grad_mode import is_grad_enabled

        A, U, Vh = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: U and Vh must be functions of A for the next derivative
            U, _S, Vh = SVD.apply(A, False)
        return (U * gS.unsqueeze(-2)) @ Vh


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None):
    """Singular value decomposition ``A = U diag(S) Vh`` (named tuple ``U``, ``S``, ``Vh``; S descending).

    >>> import ember
    >>> ember.linalg.svd(ember.tensor([[3.0, 0.0], [0.0, -2.0]])).S
    tensor([3., 2.])
    """
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd", low_precision=True)
    _no_half(A, "linalg_svd")
    return _out_many(SVDResult(*SVD.apply(A, bool(full_matrices))), out)


def svdvals(A: Tensor, *, driver: str | None = None, out: Tensor | None = None) -> Tensor:
    """Singular values, descending.

    >>> import ember
    >>> ember.linalg.svdvals(ember.tensor([[3.0, 0.0], [0.0, -2.0]]))
    tensor([3., 2.])
    """
    check_matrix(A, "linalg.svdvals")
    check_float(A, "linalg.svdvals", low_precision=True)
    _no_half(A, "linalg_svd")
    return _out(SVDVals.apply(A), out)


# ---- Householder product --------------------------------------------------------------------------
class _NoReflector(Function):
    """With no reflector the product is constant, yet PyTorch's result is part of the graph (with
    no gradient for A and tau)."""

    _backward_name = "LinalgHouseholderProductBackward0"

    @staticmethod
    def forward(ctx, Q, A, tau):
        return Q.contiguous()

    @staticmethod
    def backward(ctx, g):
        return None, None, None


def householder_product(A: Tensor, tau: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The first n columns of H_1 ... H_k, H_i = I - tau_i v_i v_i^T with v_i = (0, .., 1, A[i+1:, i])
    (LAPACK's orgqr); differentiable in A and tau through the ops it is made of.

    >>> import ember
    >>> ember.linalg.householder_product(ember.zeros(2, 2), ember.tensor([2.0, 0.0]))
    tensor([[-1.,  0.],
            [ 0.,  1.]])
    """
    from ember.functions.creation import arange, eye
    from ember.functions.elementwise import where

    fname = "torch.linalg.householder_product"
    if A.dim() < 2:
        raise RuntimeError(f"{fname}: input must have at least 2 dimensions.")
    m, n, k = A.shape[-2], A.shape[-1], tau.shape[-1] if tau.dim() else 1
    if m < n:
        raise RuntimeError(f"{fname}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    if n < k:
        raise RuntimeError(f"{fname}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tuple(tau.shape[:-1]) != tuple(A.shape[:-2]):
        raise RuntimeError(f"{fname}: Expected batch dimensions of tau to be equal to input.shape[:-2], but got "
                           f"{list(tau.shape[:-1])}")
    if not A.dtype.is_floating_point or is_low_precision(A.dtype):
        raise NotImplementedError(f"\"orgqr_cpu\" not implemented for '{type_word(A.dtype)}'")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{fname}: tau dtype {type_word(tau.dtype)} does not match input dtype "
                           f"{type_word(A.dtype)}")
    batch = tuple(A.shape[:-2])
    Q = eye(m, dtype=A.dtype, device=A.device)[:, :n].expand(batch + (m, n))
    r = arange(m, device=A.device)
    for i in reversed(range(k)):  # H_1 (H_2 (... (H_k I)))
        v = where(r == i, 1.0, where(r > i, A[..., :, i], 0.0))
        Q = Q - (tau[..., i, None, None] * v.unsqueeze(-1)) @ (v.unsqueeze(-2) @ Q)
    return _out(Q if k else _NoReflector.apply(Q, A, tau), out)
