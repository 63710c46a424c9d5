"""The top-level linear-algebra ops PyTorch keeps beside ``torch.linalg`` (``torch.inverse``,
``torch.det``, ``torch.svd`` with its old ``some``/``V`` API, ``torch.qr``...): thin forms of
``ember.linalg``, declared here so they become ``ember.*`` functions and Tensor methods.

Example:
    >>> import ember
    >>> A = ember.tensor([[2.0, 0.0], [0.0, 4.0]])
    >>> A.det(), ember.inverse(A).diagonal()
    (tensor(8.), tensor([0.5000, 0.2500]))
"""

from __future__ import annotations

from typing import Any

from ember import linalg as _la
from ember._ops.out import EXACT
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.linalg._common import return_type, type_word
from ember.tensor import Tensor

SlogdetResult = return_type("slogdet", ["sign", "logabsdet"])
SVDResult = return_type("svd", ["U", "S", "V"])
QRResult = return_type("qr", ["Q", "R"])
GeqrfResult = return_type("geqrf", ["a", "tau"])


def inverse(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Inverse of square matrices (``ember.linalg.inv``)."""
    return _la.inv(input, out=out)


def det(input: Tensor) -> Tensor:
    """Determinant of square matrices (``ember.linalg.det``)."""
    return _la.det(input)


def logdet(input: Tensor) -> Tensor:
    """log(det): NaN for a negative determinant, -inf for a zero one."""
    from ember.linalg.lu import logdet as _logdet

    return _logdet(input)


def slogdet(input: Tensor) -> Any:
    """Sign and log-absolute-value of the determinant (``ember.linalg.slogdet``)."""
    return SlogdetResult(*_la.slogdet(input))


def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """Pseudo-inverse with relative tolerance ``rcond`` (``ember.linalg.pinv(rtol=rcond)``)."""
    return _la.pinv(input, rtol=rcond)


def matrix_power(input: Tensor, n: int, *, out: Tensor | None = None) -> Tensor:
    """Integer matrix power (``ember.linalg.matrix_power``)."""
    return _la.matrix_power(input, n, out=out)


def matrix_exp(input: Tensor) -> Tensor:
    """Matrix exponential (``ember.linalg.matrix_exp``)."""
    return _la.matrix_exp(input)


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """The old SVD: returns ``V`` (not ``Vh``); ``some=False`` gives full U and V; without
    ``compute_uv``, U and V are zero-filled (m, m) and (n, n) matrices."""
    from ember.functions.creation import zeros
    from ember.linalg.triangular import _out_many

    if not compute_uv:
        S = _la.svdvals(input)
        m, n, batch = input.shape[-2], input.shape[-1], tuple(input.shape[:-2])
        return _out_many(SVDResult(zeros(batch + (m, m), dtype=input.dtype, device=input.device), S,
                                   zeros(batch + (n, n), dtype=input.dtype, device=input.device)), out)
    U, S, Vh = _la.svd(input, full_matrices=not some)
    return _out_many(SVDResult(U, S, Vh.mT), out)


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    """The old QR: ``some=False`` is mode 'complete'."""
    return QRResult(*_la.qr(input, "reduced" if some else "complete", out=out))


def geqrf(input: Tensor, *, out: Any = None) -> Any:
    """LAPACK's QR in compact form: ``a`` holds R and the Householder vectors, ``tau`` their scales
    (no gradient, as in PyTorch, whose backward is not implemented)."""
    from ember.autograd.grad_mode import no_grad
    from ember.linalg import _composite
    from ember.linalg._common import check_matrix
    from ember.linalg.triangular import _out_many

    check_matrix(input, "geqrf")
    if not (input.dtype.is_floating_point or input.dtype.is_complex) or input.dtype.itemsize < 4:
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for '{type_word(input.dtype)}'")
    with no_grad():
        return _out_many(GeqrfResult(*_composite.geqrf(input)), out)


def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """The orthogonal matrix of a Householder QR (``ember.linalg.householder_product``)."""
    return _la.householder_product(input, tau)


def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False, *,
          out: Tensor | None = None) -> Tensor:
    """``other`` multiplied by the Q of ``geqrf`` (LAPACK's ormqr), on the left or the right.

    Q @ other (``left``) or other @ Q, with Q^H for ``transpose``. The reflectors
    H_i = I - tau_i v_i v_i^H are applied one at a time, never forming Q, in ember ops, so the
    gradient reaches ``input``, ``tau`` and ``other``.

    >>> import ember
    >>> a, tau = ember.geqrf(ember.tensor([[2.0, 1.0], [0.0, 3.0]]))
    >>> ember.ormqr(a, tau, ember.eye(2)).abs()
    tensor([[1., 0.],
            [0., 1.]])
    """
    from ember.functions.creation import arange
    from ember.functions.elementwise import where
    from ember.linalg.triangular import _out

    name = "torch.ormqr"
    if input.dim() < 2:
        raise RuntimeError(f"{name}: input must have at least 2 dimensions.")
    if other.dim() < 2:
        raise RuntimeError(f"{name}: other must have at least 2 dimensions.")
    side = -2 if left else -1
    if other.shape[side] != input.shape[-2]:
        raise RuntimeError(f"{name}: other.shape[{side}] must be equal to input.shape[-2]")
    k = tau.shape[-1] if tau.dim() else 1
    if k != min(other.shape[side], input.shape[-1]):
        raise RuntimeError(f"{name}: tau.shape[-1] must be equal to min(other.shape[{side}], input.shape[-1])")
    if input.dim() - tau.dim() != 1:
        raise RuntimeError(f"{name}: Expected tau to have one dimension less than input, but got tau.ndim equal to "
                           f"{tau.dim()} and input.ndim is equal to {input.dim()}")
    if input.dim() != other.dim():
        raise RuntimeError(f"{name}: Expected other to have the same number of dimensions as input, but got "
                           f"other.ndim equal to {other.dim()} and input.ndim is equal to {input.dim()}")
    batch = tuple(input.shape[:-2])
    if input.dim() > 2:
        for what, t, cut in (("tau", tau, -1), ("other", other, -2)):
            if tuple(t.shape[:cut]) != batch:
                raise RuntimeError(f"{name}: Expected batch dimensions of {what} to be equal to input.shape[:-2], "
                                   f"but got {list(t.shape[:cut])}")
    for what, t in (("tau", tau), ("other", other)):
        if t.dtype is not input.dtype:
            raise RuntimeError(f"{name}: Expected input and {what} to have the same dtype, but input has dtype"
                               f"{type_word(input.dtype)} and {what} has dtype {type_word(t.dtype)}")
    if not (input.dtype.is_floating_point or input.dtype.is_complex) or input.dtype.itemsize < 4:
        raise NotImplementedError(f"\"ormqr_cpu\" not implemented for '{type_word(input.dtype)}'")
    m = input.shape[-2]
    r = arange(m, device=input.device)
    C = other
    cplx = input.dtype.is_complex
    # Q = H_1 ... H_k: Q C applies H_k first, Q^H C H_1^H first; C Q applies H_1 first, C Q^H H_k^H first
    order = range(k) if left == bool(transpose) else reversed(range(k))
    for i in order:
        v = where(r == i, 1.0, where(r > i, input[..., :, i], 0.0))  # (..., m)
        t = tau[..., i, None, None]
        if transpose and cplx:
            t = t.conj()
        vh = v.conj() if cplx else v
        if left:  # H C = C - tau v (v^H C)
            C = C - (t * v.unsqueeze(-1)) @ (vh.unsqueeze(-2) @ C)
        else:  # C H = C - (C v) tau v^H
            C = C - ((C @ v.unsqueeze(-1)) * t) @ vh.unsqueeze(-2)
    return _out(C.clone() if C is other else C, out)


def _cholesky_solve_raw(B: Tensor, F: Tensor, upper: bool) -> Tensor:
    """(F F^H)^-1 B (F^H F with ``upper``) through two triangular solves, with their checks."""
    L = F.mH if upper else F
    y = _la.solve_triangular(L, B, upper=False)
    return _la.solve_triangular(L.mH, y, upper=True)


class _CholeskySolve(Function):
    """PyTorch's cholesky_solve and its cholesky_solve_backward: the factor's gradient is not
    projected onto the triangle the solve reads."""

    _backward_name = "CholeskySolveBackward0"

    @staticmethod
    def forward(ctx, B, F, upper):
        X = _cholesky_solve_raw(B, F, upper)
        ctx.save_for_backward(F, X)
        ctx.upper = upper
        ctx.shapes = (tuple(B.shape), tuple(F.shape))
        return X

    @staticmethod
    def backward(ctx, g):
        from ember.functions.elementwise import unbroadcast

        F, X = ctx.saved_tensors
        gB = _CholeskySolve.apply(g, F, ctx.upper)
        gF = None
        if ctx.needs_input_grad[1]:
            common = gB @ X.mH
            common = common + common.mH
            gF = unbroadcast(-(F @ common) if ctx.upper else -(common @ F), ctx.shapes[1])
        gB = unbroadcast(gB, ctx.shapes[0]) if ctx.needs_input_grad[0] else None
        return gB, gF, None


class _CholeskyInverse(Function):
    """PyTorch's cholesky_inverse with its cholesky_inverse_backward (not projected either)."""

    _backward_name = "CholeskyInverseBackward0"

    @staticmethod
    def forward(ctx, F, upper):
        from ember.linalg._common import eye_like

        X = _cholesky_solve_raw(eye_like(F).expand(tuple(F.shape)), F, upper)
        ctx.save_for_backward(F, X)
        ctx.upper = upper
        return X

    @staticmethod
    def backward(ctx, g):
        F, X = ctx.saved_tensors
        common = X @ ((g + g.mH) @ X)
        return (-(F @ common) if ctx.upper else -(common @ F)), None


def cholesky_solve(input: Tensor, input2: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Solve ``A X = B`` given the Cholesky factor ``input2`` of A (``input`` is B)."""
    from ember.linalg.triangular import _out_cast  # (PyTorch casts into out here)

    return _out_cast(_CholeskySolve.apply(input, input2, bool(upper)), out)


def cholesky_inverse(input: Tensor, upper: bool = False, *, out: Tensor | None = None) -> Tensor:
    """Inverse of ``A`` from its Cholesky factor."""
    from ember.linalg.triangular import _out_cast  # (PyTorch casts into out here)

    return _out_cast(_CholeskyInverse.apply(input, bool(upper)), out)


# ---- declarations: Tensor methods, ``ember.*`` and ``__all__`` come from these -------------------------
_ops = Family(__name__)
_op = _ops.op
_op(inverse, out=True)
_op(det)
_op(logdet)
_op(slogdet, out=EXACT)
_op(pinverse)
_op(matrix_power, out=True)
_op(matrix_exp)
_op(svd, out=True)
_op(qr, out=True)
_op(geqrf, out=True)
_op(orgqr, out=EXACT)
_op(ormqr, out=True)
_op(cholesky_solve, out=True)
_op(cholesky_inverse, out=True)

__all__ = _ops.names()
