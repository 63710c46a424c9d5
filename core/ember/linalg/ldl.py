"""``ldl_factor``, ``ldl_factor_ex`` and ``ldl_solve``: PyTorch's LDL^T (Bunch-Kaufman) decomposition.

PyTorch runs LAPACK's ``sytrf``/``hetrf`` with the lower triangle and ``sytrs``/``hetrs``; this is
that algorithm (``sytf2``: the partial-pivoting rule with alpha = (1 + sqrt 17) / 8, 1x1 and 2x2
pivot blocks, LAPACK's pivot encoding: 1-based, negative for a 2x2 block) written in ember ops on
the input's device. The pivot choices read a column (and at most one row) of the working matrix
back to the host per step, so the pivots equal LAPACK's (for matrices LAPACK factors unblocked,
n <= 64; larger ones may round differently). Like PyTorch, neither op has a gradient.
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember.linalg._common import return_type, type_word
from ember.tensor import Tensor

__all__ = ["ldl_factor", "ldl_factor_ex", "ldl_solve", "LDLFactorResult", "LDLFactorExResult"]

LDLFactorResult = return_type("linalg_ldl_factor", ["LD", "pivots"])
LDLFactorExResult = return_type("linalg_ldl_factor_ex", ["LD", "pivots", "info"])

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0


def _abs1(v: Any) -> float:
    """LAPACK's pivot magnitude: |x| for reals, |re| + |im| (cabs1) for complex."""
    return abs(v.real) + abs(v.imag) if isinstance(v, complex) else abs(v)


def _iamax(values: list) -> int:
    """BLAS i?amax: the first index of the largest magnitude (a NaN never wins a comparison)."""
    best, big = 0, _abs1(values[0])
    for i in range(1, len(values)):
        a = _abs1(values[i])
        if a > big:
            best, big = i, a
    return best


def _fmax(a: float, b: float) -> float:
    """Fortran's MAX as compiled (maxsd): the second operand when the first is NaN."""
    return b if a != a else (a if a > b else b)


def _factor_one(A: Tensor, hermitian: bool) -> tuple[Tensor, list[int], int]:
    """One matrix: (LD, 1-based pivots, info) as LAPACK's ?sytf2/?hetf2 with uplo='L'."""
    from ember.functions.shape import tril

    n = A.shape[-1]
    W = A.clone()
    cplx = W._dtype.is_complex
    herm = hermitian and cplx

    def conj(t: Any) -> Any:
        return t.conj() if herm else t

    def sym(M: Tensor) -> Tensor:  # the lower triangle is authoritative; the upper mirrors it
        low = tril(M, -1)
        return low + conj(low).transpose(-2, -1) + (M.diagonal().real if herm else M.diagonal()).diag().to(M.dtype)

    if herm:
        W = sym(W)
    else:
        W = tril(W) + tril(W, -1).transpose(-2, -1)
    piv, info, k = [0] * n, 0, 0
    while k < n:
        kstep = 1
        col = W[k:, k].tolist()
        akk = col[0]
        absakk = abs(akk.real) if herm else _abs1(akk)
        if k < n - 1:
            imax = k + 1 + _iamax(col[1:])
            colmax = _abs1(col[imax - k])
        else:
            imax, colmax = k, 0.0
        if _fmax(absakk, colmax) == 0:
            info = info or k + 1
            kp = k
        elif absakk >= _ALPHA * colmax:
            kp = k
        else:
            row = W[imax, k:imax].tolist()  # row imax left of the diagonal
            rowmax = _abs1(row[_iamax(row)])
            if imax < n - 1:
                below = W[imax + 1:, imax].tolist()
                rowmax = _fmax(rowmax, _abs1(below[_iamax(below)]))
            diag = W[imax, imax].item()
            if absakk >= _ALPHA * colmax * (colmax / rowmax):
                kp = k
            elif (abs(diag.real) if herm else _abs1(diag)) >= _ALPHA * rowmax:
                kp = imax
            else:
                kp, kstep = imax, 2
        kk = k + kstep - 1
        if kp != kk:  # symmetric interchange of rows and columns kk and kp
            # of the trailing block only (the columns of L already made stay: LAPACK's P_k L_k form); on
            # the full Hermitian/symmetric block this is LAPACK's swaps and conjugations
            perm = list(range(n - k))
            perm[kk - k], perm[kp - k] = kp - k, kk - k
            W[k:, k:] = W[k:, k:][perm][:, perm]
        if kstep == 1:
            if k < n - 1 and not (_fmax(absakk, colmax) == 0):
                d = W[k, k].real if herm else W[k, k]
                x = W[k + 1:, k]
                # ?syr / ?her: A -= x (d^-1 x)^T, the lower triangle of it
                r1 = 1 / d
                trail = W[k + 1:, k + 1:] - x.unsqueeze(-1) * (r1 * conj(x)).unsqueeze(-2)
                W[k + 1:, k + 1:] = sym(trail)
                W[k + 1:, k] = x * r1
                W[k, k + 1:] = conj(W[k + 1:, k])
        else:
            if k < n - 2:
                d21 = W[k + 1, k]
                if herm:
                    d = d21.abs()
                    d11 = W[k + 1, k + 1].real / d
                    d22 = W[k, k].real / d
                    tt = 1 / (d11 * d22 - 1)
                    d21 = d21 / d
                    d = tt / d
                    a0, a1 = W[k + 2:, k], W[k + 2:, k + 1]
                    wk = d * (d11 * a0 - d21 * a1)
                    wkp1 = d * (d22 * a1 - d21.conj() * a0)
                    trail = (W[k + 2:, k + 2:] - a0.unsqueeze(-1) * wk.conj().unsqueeze(-2)
                             - a1.unsqueeze(-1) * wkp1.conj().unsqueeze(-2))
                else:
                    d11 = W[k + 1, k + 1] / d21
                    d22 = W[k, k] / d21
                    t = 1 / (d11 * d22 - 1)
                    d21 = t / d21
                    a0, a1 = W[k + 2:, k], W[k + 2:, k + 1]
                    wk = d21 * (d11 * a0 - a1)
                    wkp1 = d21 * (d22 * a1 - a0)
                    trail = W[k + 2:, k + 2:] - a0.unsqueeze(-1) * wk.unsqueeze(-2) - a1.unsqueeze(-1) * wkp1.unsqueeze(-2)
                W[k + 2:, k + 2:] = sym(trail)
                W[k + 2:, k] = wk
                W[k + 2:, k + 1] = wkp1
                W[k, k + 2:] = conj(wk)
                W[k + 1, k + 2:] = conj(wkp1)
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    return tril(W), piv, info


def _check_square(A: Tensor, fname: str) -> None:
    if A.dim() < 2:
        raise RuntimeError(f"{fname}: The input tensor A must have at least 2 dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"{fname}: A must be batches of square matrices, but they are {A.shape[-2]} by "
                           f"{A.shape[-1]} matrices")
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"{fname}: Expected a floating point or complex tensor as input. Got {type_word(A.dtype)}")
    if A.dtype.itemsize < 4 or A.dtype is _dt.bfloat16:
        raise NotImplementedError(f"\"ldl_factor_kernel_cpu\" not implemented for '{type_word(A.dtype)}'")


def _factor(A: Tensor, hermitian: bool, fname: str) -> tuple[Tensor, Tensor, Tensor, list[int]]:
    """(LD, pivots, info) of every matrix of the batch, and the info codes as a list."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.creation import tensor
    from ember.functions.shape import stack

    _check_square(A, fname)
    batch, n = tuple(A.shape[:-2]), A.shape[-1]
    with no_grad():
        flat = A.detach().reshape(math.prod(batch), n, n)  # -1 is ambiguous for 0 x 0 matrices
        done = [_factor_one(flat[b], hermitian) for b in range(flat.shape[0])]
        LD = stack([d[0] for d in done]).reshape(*batch, n, n) if done else A.detach().clone()
        pivots = tensor([d[1] for d in done], dtype=_dt.int32, device=A.device).reshape(*batch, n)
        infos = [d[2] for d in done]
        info = tensor(infos, dtype=_dt.int32, device=A.device).reshape(batch)
    from ember.functions.search import _no_derivative

    # recorded, as in PyTorch, so that backward (not a missing grad_fn) names the op without a derivative
    LD = _no_derivative(LD, (A,), RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented"))
    return LD, pivots, info, infos


def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``torch.linalg.ldl_factor_ex``: (LD, pivots, info); info > 0 names the first zero pivot block."""
    from ember.linalg.triangular import _out_many

    fname = "torch.linalg.ldl_factor_ex"
    LD, pivots, info, infos = _factor(A, hermitian, fname)
    if check_errors and any(infos):
        # PyTorch's message is an internal assert naming LAPACK's code; the type is the same
        raise RuntimeError(f"{fname}: Unknown error code: {next(i for i in infos if i)}.")
    return _out_many(LDLFactorExResult(LD, pivots, info), out)


def ldl_factor(A: Tensor, *, hermitian: bool = False, out: Any = None) -> Any:
    """``torch.linalg.ldl_factor``: A = P L D L^H P^T as (LD, pivots); a singular A raises as in PyTorch."""
    from ember.linalg.triangular import _out_many

    fname = "torch.linalg.ldl_factor"
    LD, pivots, _, infos = _factor(A, hermitian, fname)
    if any(infos):
        raise RuntimeError(f"{fname}: Unknown error code: {next(i for i in infos if i)}.")
    return _out_many(LDLFactorResult(LD, pivots), out)


def _solve_one(LD: Tensor, piv: list[int], B: Tensor, hermitian: bool) -> Tensor:
    """LAPACK's ?sytrs/?hetrs, uplo='L': solve (P L D L^H P^T) X = B for one matrix."""
    n = LD.shape[-1]
    herm = hermitian and LD._dtype.is_complex
    B = B.clone()

    def conj(t: Any) -> Any:
        return t.conj() if herm else t

    def swap(i: int, j: int) -> None:
        if i != j:
            B[[i, j]] = B[[j, i]]

    k = 0
    while k < n:  # L D Y = P^T B
        if piv[k] > 0:
            swap(k, piv[k] - 1)
            if k < n - 1:
                B[k + 1:] = B[k + 1:] - LD[k + 1:, k].unsqueeze(-1) * B[k].unsqueeze(0)
            B[k] = B[k] / (LD[k, k].real if herm else LD[k, k])
            k += 1
        else:
            swap(k + 1, -piv[k] - 1)
            if k < n - 2:
                B[k + 2:] = B[k + 2:] - LD[k + 2:, k].unsqueeze(-1) * B[k].unsqueeze(0)
                B[k + 2:] = B[k + 2:] - LD[k + 2:, k + 1].unsqueeze(-1) * B[k + 1].unsqueeze(0)
            akm1k = LD[k + 1, k]
            akm1 = LD[k, k] / conj(akm1k)
            ak = LD[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1
            bkm1 = B[k] / conj(akm1k)
            bk = B[k + 1] / akm1k
            B[k] = (ak * bkm1 - bk) / denom
            B[k + 1] = (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^H P^T X = Y
        if piv[k] > 0:
            if k < n - 1:
                B[k] = B[k] - (conj(LD[k + 1:, k]).unsqueeze(-1) * B[k + 1:]).sum(0)
            swap(k, piv[k] - 1)
            k -= 1
        else:
            if k < n - 1:
                B[k] = B[k] - (conj(LD[k + 1:, k]).unsqueeze(-1) * B[k + 1:]).sum(0)
                B[k - 1] = B[k - 1] - (conj(LD[k + 1:, k - 1]).unsqueeze(-1) * B[k + 1:]).sum(0)
            swap(k, -piv[k] - 1)
            k -= 2
    return B


def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out: Any = None) -> Tensor:
    """``torch.linalg.ldl_solve``: X with A X = B, A given by ``ldl_factor``'s (LD, pivots)."""
    from ember.autograd.grad_mode import no_grad
    from ember.functions.shape import stack
    from ember.linalg.triangular import _out

    fname = "torch.linalg.ldl_solve"
    _check_square(LD, fname)
    if B.dim() < 2:
        raise IndexError("Dimension out of range (expected to be in range of [-1, 0], but got -2)")
    if tuple(LD.shape[:-1]) != tuple(pivots.shape):
        raise RuntimeError(f"{fname}: Expected LD.shape[:-1] and pivots.shape to be the same, but got pivots with "
                           f"shape {list(pivots.shape)} instead")
    if B.shape[-2] != LD.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for {fname}: each A matrix is {LD.shape[-1]} by "
                           f"{LD.shape[-1]} but each b matrix is {B.shape[-2]} by {B.shape[-1]}")
    if B.dtype is not LD.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {type_word(B.dtype)} and A "
                           f"of type {type_word(LD.dtype)} instead.")
    n = LD.shape[-1]
    batch = _broadcast_batch(tuple(LD.shape[:-2]), tuple(B.shape[:-2]))
    with no_grad():
        count = math.prod(batch)  # -1 is ambiguous for empty matrices
        LDb = LD.detach().expand(*batch, n, n).reshape(count, n, n)
        Pb = pivots.expand(*batch, n).reshape(count, n)
        Bb = B.detach().expand(*batch, *B.shape[-2:]).reshape(count, *B.shape[-2:])
        xs = [_solve_one(LDb[i], [int(p) for p in Pb[i].tolist()], Bb[i], hermitian) for i in range(Bb.shape[0])]
        X = stack(xs).reshape(*batch, *B.shape[-2:]) if xs else B.detach().expand(*batch, *B.shape[-2:]).clone()
    from ember.functions.search import _no_derivative

    X = _no_derivative(X, (LD, B), RuntimeError("derivative for aten::linalg_ldl_solve is not implemented"))
    return _out(X, out)


def _broadcast_batch(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    import ember

    return tuple(ember.broadcast_shapes(a, b))
