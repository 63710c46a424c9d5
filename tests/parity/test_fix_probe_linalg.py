"""Probe of torch.linalg / torch.fft / torch.special edges beyond the OpInfo samples: divergences found
and fixed.

``zeta`` (and ``polygamma`` through it) returning Cephes' early sum where later terms are inf * 0
(zeta(inf, 1) = 1) and a pole at q = 0, -1, ... winning over a non-integer x; ``cholesky(upper=True)``
reading the upper triangle; ``matrix_power(A, 0)`` the identity in A's dtype whatever A holds (NaN,
bool), ``n`` as an integer 0-d tensor; ``vector_norm(dim=())`` reducing every dim; ``cond(p='nuc')``
of a singular matrix (NaN); ``cross`` of bools refused; ``svd(driver=)`` refused on the CPU;
``lu_solve``'s dtype and pivot checks; batch
broadcasting errors of the solvers and matmul with PyTorch's infer_size message; ``out=`` of structured linalg kernels (and matmul) taking the
result's dtype only, fft ``out=`` refusing a real out for a complex result (and the reverse),
``fftfreq(out=)`` building in out's dtype; the fft argument parser's TypeErrors (``norm`` not a str,
``n`` a float, bool or list input) and its integer-tensor ``n``.
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf

ZETA_GRID = [0.0, -0.0, 1.0, -1.0, -2.0, 0.5, -0.5, 2.5, -2.5, 1e-30, 30.0, 200.0, -200.0, INF, -INF, NAN, 1e9, -1.5, 3.0]


@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("q", [1.0, 0.5, 2.0, -2.0, -1.5, 0.0, INF, 1e10])
def test_zeta_edges(device, dtype, q):
    x = Arg(np.array(ZETA_GRID, dtype=dtype), grad=False)
    check(lambda L, a: L.special.zeta(a, L.tensor(q, dtype=a.dtype, device=a.device)), (x,), {}, device)
    check(lambda L, a: L.special.zeta(L.tensor(q, dtype=a.dtype, device=a.device), a), (x,), {}, device)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_polygamma_edges(device, n):
    check(lambda L, a: L.special.polygamma(n, a), (Arg(np.array(ZETA_GRID, dtype=F64), grad=False),), {}, device)


CHOL_UPPER = [[[4.0, 1.0], [9.0, 5.0]], [[4.0, 1.0, 0.5], [9.0, 5.0, 1.0], [3.0, 2.0, 6.0]],
              [[4.0, 3.0, 1.0], [9.0, 1.0, 2.0], [1.0, 1.0, 1.0]]]


@pytest.mark.parametrize("upper", [True, False])
@pytest.mark.parametrize("a", CHOL_UPPER, ids=range(len(CHOL_UPPER)))
def test_cholesky_reads_its_triangle(device, a, upper):
    x = Arg(np.array(a, dtype=F64))
    check(lambda L, m: L.linalg.cholesky_ex(m, upper=upper), (x,), {}, device)
    if a is not CHOL_UPPER[2]:
        check(lambda L, m: L.linalg.cholesky(m, upper=upper), (x,), {}, device)
        check(lambda L, m: L.cholesky(m, upper=upper), (x,), {}, device)


@pytest.mark.parametrize("a", [[[NAN, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
def test_matrix_power_zero(device, a):
    check(lambda L, m: L.linalg.matrix_power(m, 0), (Arg(np.array(a, dtype=F32)),), {}, device)


def test_matrix_power_zero_bool(device):
    check(lambda L, m: L.linalg.matrix_power(m, 0), (Arg(np.array([[True, False], [True, True]])),), {}, device)


@pytest.mark.parametrize("kwargs", [{"dim": ()}, {"dim": [], "keepdim": True}, {"dim": (), "ord": 1}])
def test_vector_norm_empty_dim(device, kwargs):
    check(lambda L, m: L.linalg.vector_norm(m, **kwargs), (Arg(np.arange(6.0, dtype=F32).reshape(2, 3)),), {}, device)


@pytest.mark.parametrize("p", ["nuc", "fro", 1, INF])
def test_cond_singular(device, p):
    a = Arg(np.stack([np.eye(2), np.zeros((2, 2))]).astype(F32), grad=False)
    check(lambda L, m: L.linalg.cond(m, p=p), (a,), {}, device)


# ---- errors: the type and PyTorch's message ------------------------------------------------------
_PRE = ("A = t.tensor([[1., 2], [3, 4]]); P = t.tensor([[2., 1], [1, 2]]); b = t.tensor([1., 2]); "
        "v = t.tensor([1., 2, 3]); C = t.ones(4).to(t.complex64); LU, piv = t.linalg.lu_factor(A)")

ERRORS = [
    "t.linalg.svd(A, driver='gesvd')", "t.linalg.svdvals(A, driver='gesvdj')",
    "t.linalg.lu_solve(LU, piv.long(), b[:, None])", "t.linalg.lu_solve(LU, piv.float(), b[:, None])",
    "t.linalg.lu_solve(LU, piv[:1], b[:, None])", "t.linalg.lu_solve(LU, piv.expand(3, 2), b[:, None])",
    "t.linalg.lu_solve(LU, piv, b[:, None].double())", "t.linalg.lu_solve(LU.long(), piv, b[:, None])",
    "t.linalg.norm(A, dim=(0, 1, 1))", "t.linalg.norm(A, dim=())",
    "t.linalg.cross(t.tensor([True, False, True]), t.tensor([True, True, False]))",
    "t.linalg.matrix_power(A, t.tensor(2.))", "t.linalg.matrix_power(A, t.tensor([2]))",
    "t.linalg.inv(A, out=t.empty(2, 2, dtype=t.float64))", "t.linalg.det(A, out=t.empty((), dtype=t.complex64))",
    "t.linalg.cholesky(P, out=t.empty(2, 2, dtype=t.float16))", "t.linalg.eigvalsh(P, out=t.empty(2, dtype=t.complex64))",
    "t.linalg.svdvals(A, out=t.empty(2, dtype=t.float64))", "t.linalg.solve(A, b, out=t.empty(2, dtype=t.int64))",
    "t.linalg.vector_norm(A, out=t.empty((), dtype=t.float64))", "t.linalg.cross(v, v, out=t.empty(3, dtype=t.float64))",
    "t.linalg.lu_solve(LU, piv, A, out=t.empty(2, 2, dtype=t.float64))",
    "t.linalg.matrix_power(A, 2, out=t.empty(2, 2, dtype=t.float64))",
    "t.matmul(A, A, out=t.empty(2, 2, dtype=t.float64))", "t.linalg.matmul(A, A, out=t.empty(2, 2, dtype=t.float16))",
    "t.fft.fft2(A, out=t.empty(0))", "t.fft.ifft(b, out=t.empty(0, dtype=t.int64))", "t.fft.rfft2(A, out=t.empty(0))",
    "t.fft.irfft(C, out=t.empty(0, dtype=t.complex64))", "t.fft.hfftn(C, out=t.empty(0, dtype=t.int64))",
    "t.fft.ihfft2(A, out=t.empty(0))", "t.fft.fftfreq(4, dtype=t.float64, out=t.empty(0))",
    "t.fft.rfftfreq(4, out=t.empty(0, dtype=t.complex64))",
    "t.linalg.solve(t.eye(3).expand(2, 3, 3), t.ones(4, 3, 1))", "t.linalg.solve(P.expand(3, 2, 2), t.ones(2, 2, 2))",
    "t.matmul(t.ones(2, 3, 4), t.ones(5, 4, 2))", "t.linalg.solve_triangular(P.expand(3, 2, 2), t.ones(4, 2, 1), upper=True)",
    "t.linalg.lu_solve(LU.expand(3, 2, 2), piv.expand(3, 2), t.ones(4, 2, 1))",
    "t.cholesky_solve(t.ones(4, 2, 1), P.expand(3, 2, 2))",
    "t.linalg.lu_solve(LU, t.tensor([0, 2], dtype=t.int32), b[:, None])",
    "t.linalg.lu_solve(LU, t.tensor([3, 2], dtype=t.int32), b[:, None])",
    "t.linalg.pinv(A, rcond=0.5, atol=0.5)", "t.linalg.pinv(A, 0.5, rtol=0.5)",
    "t.linalg.matrix_rank(A, tol=0.5, rtol=0.5)", "t.fft.fft(b, norm=1)", "t.fft.ihfft(b, norm=b)", "t.fft.fft(b, n=t.tensor(3.))", "t.fft.rfft(b, n=True)",
    "t.fft.fft([1., 2.])", "t.fft.fftfreq(5.0)", "t.fft.rfftfreq(True)",
]


def _run(lib, expr: str):
    ns = {"t": lib}
    exec(_PRE, ns)
    try:
        return eval(expr, ns), None
    except Exception as exc:  # noqa: BLE001 - the exception is what is compared
        return None, exc


@pytest.mark.parametrize("expr", ERRORS)
def test_errors(expr):
    _, t_exc = _run(torch, expr)
    _, e_exc = _run(ember, expr)
    assert t_exc is not None, "PyTorch accepts it: the row is wrong"
    assert e_exc is not None, f"ember accepts {expr}; PyTorch raised {type(t_exc).__name__}: {t_exc}"
    base = next(k for k in type(t_exc).__mro__ if k.__module__ == "builtins")
    assert isinstance(e_exc, base), (type(t_exc), t_exc, type(e_exc), e_exc)
    if "invalid combination of arguments" not in str(t_exc):  # (the parser's overload listing is not copied)
        assert str(e_exc).splitlines()[0] == str(t_exc).splitlines()[0]


# ---- accepted where PyTorch casts into out (or builds in out's dtype) ----------------------------
ACCEPTED = [
    "t.linalg.pinv(A, out=t.empty(2, 2, dtype=t.float64))", "t.linalg.cond(A, out=t.empty((), dtype=t.float64))",
    "t.linalg.eigvals(A, out=t.empty(2, dtype=t.complex128))", "t.cholesky_inverse(P, out=t.empty(2, 2, dtype=t.float64))",
    "t.cholesky_solve(A, P, out=t.empty(2, 2, dtype=t.float64))", "t.linalg.tensorinv(A, 1, out=t.empty(2, 2, dtype=t.float64))",
    "t.linalg.householder_product(A, b, out=t.empty(2, 2, dtype=t.float64))",
    "t.fft.fft(A, out=t.empty(0, dtype=t.complex128))", "t.fft.irfft(C, out=t.empty(0, dtype=t.float16))",
    "t.fft.fft(A.double(), out=t.empty(0, dtype=t.complex64))", "t.fft.fftfreq(5, out=t.empty(0, dtype=t.float64))",
    "t.fft.rfftfreq(5, 0.5, out=t.empty(0, dtype=t.float64))", "t.linalg.matrix_power(A, t.tensor(3))",
    "t.linalg.inv(A, out=t.empty(2, 2))", "t.matmul(A, A, out=t.empty(2, 2))",
    "t.fft.fft(b, n=t.tensor(3))", "t.fft.irfft(C, n=t.tensor([5]))", "t.fft.fftfreq(t.tensor(5))",
]


@pytest.mark.parametrize("expr", ACCEPTED)
def test_accepted(expr):
    t_res, t_exc = _run(torch, expr)
    e_res, e_exc = _run(ember, expr)
    assert t_exc is None and e_exc is None, (t_exc, e_exc)
    assert str(e_res.dtype).split(".")[-1] == str(t_res.dtype).split(".")[-1]
    np.testing.assert_allclose(e_res.cpu().numpy(), t_res.numpy(), rtol=1e-5, atol=1e-6)
