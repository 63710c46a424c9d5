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
    is_float_or_complex,
    is_low_precision,
    return_type,
    type_word,
)
from ember.linalg.triangular import _out, _out_cast, _out_many, solve_triangular
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
    """PyTorch's linalg_qr_backward for m >= n (reduced): gA = (gQ + Q syminvadj(triu(M))) R^-H,
    M = gR R^H - Q^H gQ, syminvadj(X) = X + X^H with the diagonal's real part halved."""
    M = None
    if gR is not None:
        M = gR @ R.mH
    if gQ is not None:
        M = -(Q.mH @ gQ) if M is None else M - Q.mH @ gQ
    up = M.triu()
    sym = up + up.mH
    d = sym.diagonal(0, -2, -1)
    if d._dtype.is_complex:  # halve the real part of the diagonal only
        from ember.functions.complex_ops import complex as make_complex

        sym = sym - diag_embed(make_complex(d.real * 0.5, d.real * 0))
    else:
        sym = sym - diag_embed(d * 0.5)
    b = Q @ sym
    if gQ is not None:
        b = b + gQ
    return solve_triangular(R.mH, b, upper=False, left=False)


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
        # wide (PyTorch's m < n case): gA = Q gR + pi*(Q trilImInvAdjSkew(Q^H gQ - gR R^H) R_1^-H)
        from ember.functions.shape import cat

        M = None
        if gR is not None:
            M = gR @ R.mH
        if gQ is not None:
            M = -(Q.mH @ gQ) if M is None else M - Q.mH @ gQ
        X = -M
        low = (X - X.mH).tril()
        if low._dtype.is_complex:  # halve the diagonal's imaginary part
            from ember.functions.complex_ops import complex as make_complex

            d = low.diagonal(0, -2, -1)
            low = low - diag_embed(make_complex(d.imag * 0, d.imag * 0.5))
        gA = solve_triangular(R[..., :, :m].mH, Q @ low, upper=False, left=False)
        gA = cat([gA, gA.new_zeros(tuple(gA.shape[:-1]) + (n - m,))], -1)
        if gR is not None:
            gA = gA + Q @ gR
        return gA, None


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
        # PyTorch's linalg_eig_backward (Hermitian): gA = V (diag(gw) + skew(V^H gV) / E) V^H,
        # skew(X) = (X - X^H) / 2, E_ij = w_j - w_i
        w, V = ctx.saved_tensors
        inner = None
        if gV is not None:
            VhgV = V.mH @ gV
            if VhgV._dtype.is_complex:
                _check_phase(VhgV.diagonal(0, -2, -1).imag, "linalg_eigh_backward: The eigenvectors in the "
                             "complex case are specified up to multiplication by e^{i phi}. The specified loss "
                             "function depends on this quantity, so it is ill-defined.")
            E = w.unsqueeze(-2) - w.unsqueeze(-1)
            eye = diag_embed(w * 0 + 1)
            E = E + eye  # the diagonal is replaced below; keep it non-zero
            inner = (0.5 * (VhgV - VhgV.mH)) / E.to(VhgV.dtype)
            inner = inner - inner * eye.to(inner.dtype)
        if gw is not None:
            d = diag_embed(gw).to(V.dtype)
            inner = d if inner is None else inner + d
        return V @ inner @ V.mH, None


def _check_phase(imag: Tensor, message: str) -> None:
    """PyTorch's check that a complex loss does not depend on the eigenvectors' (singular vectors')
    phases: the imaginary part must be ~0 (allclose to zero, rtol = atol = 1e-2)."""
    if imag.numel() and not bool((imag.abs() <= 1e-2).all()):
        raise RuntimeError(message)


def _check_eigh(A: Tensor, fname: str) -> None:
    check_matrix(A, fname)
    if A.shape[-1] != A.shape[-2]:
        check_square(A, fname)
    if not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
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
    """PyTorch's svd_backward for the reduced factors (real and complex)."""
    m, n = U.shape[-2], Vh.shape[-1]
    if gU is None and gVh is None:
        return (U * gS.to(U.dtype).unsqueeze(-2)) @ Vh
    is_complex = U._dtype.is_complex
    UhgU = VhgV = None
    if gU is not None:
        UhgU = U.mH @ gU
        UhgU = UhgU - UhgU.mH
    if gVh is not None:
        VhgV = Vh @ gVh.mH
        VhgV = VhgV - VhgV.mH
    if is_complex:  # the loss must not depend on the singular vectors' phases
        from ember.functions.creation import zeros_like

        im_u = UhgU.diagonal(0, -2, -1).imag if UhgU is not None else zeros_like(S)
        im_v = VhgV.diagonal(0, -2, -1).imag if VhgV is not None else zeros_like(S)
        _check_phase(im_u + im_v, "svd_backward: The singular vectors in the complex case are specified up to "
                     "multiplication by e^{i phi}. The specified loss function depends on this phase term, "
                     "making it ill-defined.")
    S2 = S * S
    eye = diag_embed(S * 0 + 1)
    E = (S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye).to(U.dtype)  # E_jk = S_k^2 - S_j^2, 1 on the diagonal
    Sc = S.to(U.dtype)
    if UhgU is not None and VhgV is not None:
        inner = (UhgU * Sc.unsqueeze(-2) + Sc.unsqueeze(-1) * VhgV) / E
    elif UhgU is not None:
        inner = (UhgU / E) * Sc.unsqueeze(-2)
    else:
        inner = Sc.unsqueeze(-1) * (VhgV / E)
    if gS is not None:
        inner = inner + diag_embed(gS.to(U.dtype))
    if is_complex and UhgU is not None and VhgV is not None:
        inner = inner + diag_embed(UhgU.diagonal(0, -2, -1) / (2.0 * Sc))
    if m > n and gU is not None:
        gA = U @ inner
        gUSinv = gU / Sc.unsqueeze(-2)
        gA = gA + gUSinv - U @ (U.mH @ gUSinv)
        gA = gA @ Vh
    elif m < n and gVh is not None:
        gA = inner @ Vh
        SinvgVh = gVh / Sc.unsqueeze(-1)
        gA = gA + SinvgVh - (SinvgVh @ Vh.mH) @ Vh
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
        return (U * gS.to(U.dtype).unsqueeze(-2)) @ Vh


def _check_driver(A: Tensor, driver: str | None) -> None:
    """PyTorch takes ``driver=`` only for cuSOLVER (CUDA) inputs and refuses it on the CPU; on an
    accelerator ember accepts cuSOLVER's names (and ignores them: there is one SVD routine)."""
    if driver is None:
        return
    if A.device.type == "cpu":
        raise RuntimeError("torch.linalg.svd: keyword argument `driver=` is only supported on CUDA inputs "
                           "with cuSOLVER backend.")
    if driver not in ("gesvd", "gesvdj", "gesvda"):
        raise RuntimeError(f"torch.linalg.svd: unknown svd driver {driver} in svd_cusolver computation. "
                           "Available options are: gesvd, gesvdj, and gesvda.")


def svd(A: Tensor, full_matrices: bool = True, *, driver: str | None = None, out: Any = None):
    """Singular value decomposition ``A = U diag(S) Vh`` (named tuple ``U``, ``S``, ``Vh``; S descending).

    >>> import ember
    >>> ember.linalg.svd(ember.tensor([[3.0, 0.0], [0.0, -2.0]])).S
    tensor([3., 2.])
    """
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd", low_precision=True)
    _no_half(A, "linalg_svd")
    _check_driver(A, driver)
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
    _check_driver(A, driver)
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
    if not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
        raise NotImplementedError(f"\"orgqr_cpu\" not implemented for '{type_word(A.dtype)}'")
    if tau.dtype is not A.dtype:
        raise RuntimeError(f"{fname}: tau dtype {type_word(tau.dtype)} does not match input dtype "
                           f"{type_word(A.dtype)}")
    batch = tuple(A.shape[:-2])
    Q = eye(m, dtype=A.dtype, device=A.device)[:, :n].expand(batch + (m, n))
    r = arange(m, device=A.device)
    for i in reversed(range(k)):  # H_1 (H_2 (... (H_k I))), H_i = I - tau_i v_i v_i^H
        v = where(r == i, 1.0, where(r > i, A[..., :, i], 0.0))
        vh = v.conj() if v._dtype.is_complex else v
        Q = Q - (tau[..., i, None, None] * v.unsqueeze(-1)) @ (vh.unsqueeze(-2) @ Q)
    return _out_cast(Q if k else _NoReflector.apply(Q, A, tau), out)
