"""The pseudo-inverse and least squares, with PyTorch's gradients (its ``pinv_backward``)."""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.linalg import _raw
from ember.linalg._common import check_matrix, is_float_or_complex, is_low_precision, needs, return_type, type_word
from ember.linalg.norms import _rank_tol
from ember.linalg.triangular import _out_cast
from ember.tensor import Tensor

__all__ = ["pinv", "lstsq", "LstsqResult"]

LstsqResult = return_type("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])


def _pinv_raw(A: Tensor, atol: Any, rtol: Any, hermitian: bool) -> Tensor:
    """The pseudo-inverse without autograd: PyTorch's thresholding of the SVD (or of eigh)."""
    from ember.functions.creation import zeros
    from ember.functions.elementwise import where

    m, n = A.shape[-2], A.shape[-1]
    if A.numel() == 0:
        return zeros(tuple(A.shape[:-2]) + (n, m), dtype=A.dtype, device=A.device)
    if hermitian:
        w, V = _raw.eigh(A, False)
        S = w.abs()
        keep = S > _rank_tol(S, m, n, atol, rtol)
        inv_s = where(keep, 1.0 / where(keep, w, 1.0), 0.0)
        return (V * inv_s.to(V.dtype).unsqueeze(-2)) @ V.mH
    U, S, Vh = _raw.svd(A, False)
    keep = S > _rank_tol(S, m, n, atol, rtol)
    inv_s = where(keep, 1.0 / where(keep, S, 1.0), 0.0)
    return (Vh.mH * inv_s.to(U.dtype).unsqueeze(-2)) @ U.mH


def _pinv_backward(g: Tensor, P: Tensor, A: Tensor) -> Tensor:
    """PyTorch's pinv_backward, arranged for the smaller of m and n."""
    m, n = A.shape[-2], A.shape[-1]
    Ph, gh = P.mH, g.mH
    if m <= n:
        K = gh @ P
        KPh = K @ Ph
        return -(P @ K).mH + KPh - (A @ P) @ KPh + (Ph @ P) @ (gh - K @ A)
    K = P @ gh
    PhK = Ph @ K
    return -(K @ P).mH + (gh - A @ K) @ P @ Ph + PhK - PhK @ P @ A


class Pinv(Function):
    _backward_name = "LinalgPinvBackward0"

    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):
        P = _pinv_raw(A, atol, rtol, hermitian)
        ctx.save_for_backward(A, P)
        return P

    @staticmethod
    def backward(ctx, g):
        A, P = ctx.saved_tensors
        return _pinv_backward(g, P, A), None, None, None


def _check_pinv(A: Tensor) -> None:
    if not isinstance(A, Tensor) or A.dim() < 2 or not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
        shape = list(A.shape) if isinstance(A, Tensor) else []
        word = type_word(A.dtype) if isinstance(A, Tensor) else type(A).__name__
        raise RuntimeError(f"linalg.pinv({word}{{{shape}}}): expected a tensor with 2 or more dimensions of float, "
                           "double, cfloat or cdouble types")


def pinv(A: Tensor, rcond: Any = None, hermitian: bool = False, *, atol: Any = None, rtol: Any = None,
         out: Tensor | None = None) -> Tensor:
    """Moore-Penrose pseudo-inverse; singular values at most max(atol, rtol * largest) count as zero.

    >>> import ember
    >>> ember.linalg.pinv(ember.tensor([[2.0, 0.0], [0.0, 0.0]]))
    tensor([[0.5000, 0.0000],
            [0.0000, 0.0000]])
    """
    _check_pinv(A)
    if rcond is not None:
        if atol is not None or rtol is not None:  # rcond is another overload's: no atol/rtol beside it
            raise TypeError("linalg_pinv() received an invalid combination of arguments: rcond cannot be "
                            "given with atol or rtol")
        rtol = rcond
    return _out_cast(Pinv.apply(A, atol, rtol, bool(hermitian)), out)


_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


class Lstsq(Function):
    """solution = pinv(A) B with PyTorch's backward (``linalg_lstsq_backward``, through pinv)."""

    _backward_name = "LinalgLstsqBackward0"

    @staticmethod
    def forward(ctx, A, B, rtol):
        P = _pinv_raw(A, None, rtol, False)
        # PyTorch's linalg_lstsq_backward differentiates pinv(A) B with pinv's default tolerance,
        # whatever rcond the forward used
        Pg = P if rtol is None else _pinv_raw(A, None, None, False)
        ctx.save_for_backward(A, B, Pg)
        return P @ B

    @staticmethod
    def backward(ctx, gX):
        from ember.autograd.grad_mode import is_grad_enabled

        A, B, P = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: pinv(A) must be a function of A for the next derivative
            P = Pinv.apply(A, None, None, False)
        gA = _pinv_backward(gX @ B.mH, P, A) if needs(ctx, 0) else None
        gB = P.mH @ gX if needs(ctx, 1) else None
        return gA, gB, None


def lstsq(A: Tensor, B: Tensor, rcond: float | None = None, *, driver: str | None = None):
    """Least-squares solution of ``A X = B`` (minimum norm when underdetermined), as a named tuple
    ``solution``, ``residuals``, ``rank``, ``singular_values`` filled as PyTorch fills them for ``driver``
    on the CPU (default 'gelsy': rank only). Computed through the pseudo-inverse on every backend.

    >>> import ember
    >>> ember.linalg.lstsq(ember.tensor([[1.0], [1.0]]), ember.tensor([[1.0], [3.0]])).solution
    tensor([[2.0000]])
    """
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import zeros
    from ember.linalg.decomp import svdvals

    if driver is not None and driver not in _DRIVERS:
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    check_matrix(A, "torch.linalg.lstsq", "input")
    if not is_float_or_complex(A.dtype) or is_low_precision(A.dtype):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                           f"dtype {type_word(A.dtype)} and other's dtype {type_word(B.dtype)}")
    if not (A.dim() >= B.dim() and A.dim() - B.dim() <= 1):
        raise RuntimeError("torch.linalg.lstsq: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = B.dim() == A.dim() - 1
    Bm = B.unsqueeze(-1) if vector else B
    if Bm.dim() < 2:
        raise RuntimeError("torch.linalg.lstsq: input must have at least 2 dimensions.")
    if A.shape[-2] != Bm.shape[-2]:
        raise RuntimeError("torch.linalg.lstsq: input.size(-2) should match other.size(-2)")
    driver = driver or "gelsy"
    m, n = A.shape[-2], A.shape[-1]
    batch = tuple(A.shape[:-2])
    with no_grad():
        S = svdvals(A) if A.numel() else zeros(batch + (min(m, n),), dtype=_dt.to_real(A.dtype), device=A.device)
        full_rank = S.shape[-1] == 0 or bool((S > _rank_tol(S, m, n, None, rcond)).all())
        rank = (S > _rank_tol(S, m, n, None, rcond)).to(_dt.int64).sum(-1)
    X = Lstsq.apply(A, Bm, rcond)
    empty = zeros((0,), dtype=_dt.to_real(A.dtype), device=A.device)  # residuals, singular values: real
    res = X.reshape(-1)[:0]  # empty, yet part of the graph like PyTorch's
    if res._dtype.is_complex:  # residuals are real
        res = res.real
    if driver != "gelsy" and m > n and full_rank:  # as LAPACK reports them (differentiable, as PyTorch's)
        r = A @ X - Bm
        res = (r * r.conj()).real.sum(-2) if r._dtype.is_complex else (r * r).sum(-2)
    if vector:
        X = X.squeeze(-1)
    if driver == "gels":
        rank = zeros((0,), dtype=_dt.int64, device=A.device)
    singular = S if driver in ("gelsd", "gelss") else empty
    return LstsqResult(X, res, rank, singular)
