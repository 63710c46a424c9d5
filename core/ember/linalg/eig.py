"""``linalg.eig`` and ``linalg.eigvals``: eigen-decomposition of general (non-symmetric) square
matrices, complex results as in PyTorch (``cfloat`` for float32 input, ``cdouble`` for float64).

They run the backend's optional ``eig`` kernel (LAPACK's geev through NumPy on the cpu backend;
CuPy's, or NumPy on the host, on cuda). There is no on-device composite: a general eigensolver
in ember ops (a shifted Hessenberg QR iteration) is not written yet, so a backend without the
kernel raises ``NotImplementedError``; the OpenCL backend, which stores no complex dtype, could not
hold the results anyway. Gradients follow PyTorch's ``linalg_eig_backward``.

Example:
    >>> import ember
    >>> ember.linalg.eigvals(ember.tensor([[0.0, 1.0], [-1.0, 0.0]]))
    tensor([0.+1.j, 0.-1.j])
"""

from __future__ import annotations

from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.autograd.grad_mode import no_grad
from ember.linalg._common import check_square, return_type, type_word
from ember.linalg.triangular import _out_cast, _out_many
from ember.tensor import Tensor

__all__ = ["eig", "eigvals", "EigResult"]

EigResult = return_type("linalg_eig", ["eigenvalues", "eigenvectors"])


def _check(A: Tensor, fname: str) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{fname}(): argument 'input' (position 1) must be Tensor, not {type(A).__name__}")
    if not (A.dtype.is_floating_point or A.is_complex()):
        raise RuntimeError(f"Unknown Complex ScalarType for {type_word(A.dtype)}")
    if A.dtype.is_floating_point and A.dtype.itemsize < 4:
        raise NotImplementedError(f"\"linalg_eig_out_cpu\" not implemented for '{type_word(A.dtype)}'")
    check_square(A, fname)


def _decompose(A: Tensor) -> tuple[Tensor, Tensor]:
    """(w, V) without autograd, complex; zero-size batches never reach the kernel."""
    from ember.functions.creation import zeros

    cdt = A.dtype if A.is_complex() else _dt.to_complex(A.dtype)
    n = A.shape[-1]
    zeros((0,), dtype=cdt, device=A.device)  # a device without complex dtypes refuses here (TypeError)
    if A.numel() == 0:
        batch = tuple(A.shape[:-2])
        return zeros(batch + (n,), dtype=cdt, device=A.device), zeros(batch + (n, n), dtype=cdt, device=A.device)
    if not A._kt.has("eig"):
        raise NotImplementedError(f"linalg.eig: the {A.device.type} backend has no 'eig' kernel (ember has no "
                                  f"on-device composite for general eigenproblems)")
    with no_grad():
        if not bool(A.isfinite().all()):
            raise RuntimeError("torch.linalg.eig: input tensor should not contain infs or NaNs.")
        w, V = A._kt["eig"](A.contiguous()._data)
    return A._new(w, cdt), A._new(V, cdt)


def _complex_solve(M: Tensor, R: Tensor) -> Tensor:
    """X with M X = R for complex M (ember's linalg.solve takes real matrices): the real system
    [[Re M, -Im M], [Im M, Re M]] [Re X; Im X] = [Re R; Im R]."""
    from ember.functions.complex_ops import complex as make_complex
    from ember.functions.shape import cat
    from ember.linalg.lu import solve

    a, b = M.real, M.imag
    big = cat([cat([a, -b], -1), cat([b, a], -1)], -2)
    rhs = cat([R.real, R.imag], -2)
    x = solve(big, rhs)
    n = M.shape[-1]
    return make_complex(x[..., :n, :], x[..., n:, :])


class Eig(Function):
    _backward_name = "LinalgEigBackward0"

    @staticmethod
    def forward(ctx, A):
        w, V = _decompose(A)
        ctx.real_input = not A.is_complex()
        ctx.save_for_backward(w, V)
        return w, V

    @staticmethod
    def backward(ctx, gw, gV):
        # PyTorch's linalg_eig_backward: gA = V^-H (diag(gw) + (V^H gV - V^H V Re(diag(V^H gV))) / conj(E)) V^H,
        # E_ij = w_j - w_i off the diagonal
        from ember.linalg._common import diag_embed, eye_like

        w, V = ctx.saved_tensors
        Vh = V.mH
        if gV is None:
            gA = _complex_solve(Vh, gw.unsqueeze(-1) * Vh)
        else:
            VhgV = Vh @ gV
            VhgV = VhgV - Vh @ (V * VhgV.diagonal(0, -2, -1).real.unsqueeze(-2))
            wc = w.conj()
            eye = eye_like(VhgV)
            inner = VhgV / (wc.unsqueeze(-2) - wc.unsqueeze(-1) + eye)
            inner = inner - inner * eye
            if gw is not None:
                inner = inner + diag_embed(gw)
            gA = _complex_solve(Vh, inner @ Vh)
        return gA.real if ctx.real_input else gA


def eig(A: Tensor, *, out: Any = None) -> Any:
    """Eigenvalues and eigenvectors (unit-norm columns) of general square matrices, both complex.

    >>> import ember
    >>> ember.linalg.eig(ember.tensor([[2.0, 0.0], [0.0, 3.0]])).eigenvalues
    tensor([2.+0.j, 3.+0.j])
    """
    _check(A, "linalg.eig")
    return _out_many(EigResult(*Eig.apply(A)), out, cast=True)


def eigvals(A: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Eigenvalues of general square matrices, complex (``linalg.eig(A).eigenvalues``).

    >>> import ember
    >>> ember.linalg.eigvals(ember.tensor([[1.0, 2.0], [0.0, 3.0]]))
    tensor([1.+0.j, 3.+0.j])
    """
    _check(A, "linalg.eigvals")
    return _out_cast(Eig.apply(A)[0], out)
