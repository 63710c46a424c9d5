"""Issue #14 section 4, ``ember.linalg``: what the parity table cannot express.

- PyTorch's ``LinAlgError`` (a RuntimeError) and its exact messages for singular and not
  positive-definite inputs, batched or not;
- the on-device composites (what OpenCL runs) on the CPU too, against PyTorch, up to n = 64,
  including the accuracy of small singular values, the LAPACK sign conventions of QR, rank-deficient
  and repeated-eigenvalue inputs;
- named-tuple results, the old ``torch.svd``/``torch.qr`` API, Tensor methods, second derivatives,
  the optional kernels' declarations.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ember.linalg import _raw  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(4)


def _spd(n: int, batch: tuple = ()) -> np.ndarray:
    a = R.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _raises_like_torch(fn, array: np.ndarray, device: str) -> None:
    """Both raise; ember's error is ``ember.linalg.LinAlgError`` with PyTorch's message."""
    with pytest.raises(torch.linalg.LinAlgError) as t_err:
        fn(torch, torch.from_numpy(array))
    with pytest.raises(ember.linalg.LinAlgError) as e_err:
        fn(ember, ember.tensor(array, device=device))
    assert str(e_err.value) == str(t_err.value)


def test_linalg_error_is_a_runtime_error() -> None:
    assert issubclass(ember.linalg.LinAlgError, RuntimeError)


@pytest.mark.parametrize("case", ["inv", "inv_batch", "solve", "solve_batch", "cholesky", "cholesky_batch",
                                  "cholesky_upper", "inv_ex_check"])
def test_singular_and_not_positive_definite_messages(case: str, device: str) -> None:
    sing = np.stack([np.eye(3), np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])])
    not_pd = np.stack([np.eye(3), np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])])
    fns = {
        "inv": (lambda lib, a: lib.linalg.inv(a), sing[1]),
        "inv_batch": (lambda lib, a: lib.linalg.inv(a), sing),
        "solve": (lambda lib, a: lib.linalg.solve(a, a[..., 0]), sing[1]),
        "solve_batch": (lambda lib, a: lib.linalg.solve(a, a[..., 0]), sing),
        "cholesky": (lambda lib, a: lib.linalg.cholesky(a), -np.eye(2)),
        "cholesky_batch": (lambda lib, a: lib.linalg.cholesky(a), not_pd),
        "cholesky_upper": (lambda lib, a: lib.linalg.cholesky(a, upper=True), not_pd),
        "inv_ex_check": (lambda lib, a: lib.linalg.inv_ex(a, check_errors=True), sing),
    }
    fn, array = fns[case]
    _raises_like_torch(fn, array, device)


def test_ex_variants_report_info(device: str) -> None:
    not_pd = np.stack([np.eye(3), np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]]), -np.eye(3)])
    check(lambda lib, a: lib.linalg.cholesky_ex(a).info, [Arg(not_pd)], {}, device)
    sing = np.stack([np.eye(3), np.zeros((3, 3)), np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])])
    check(lambda lib, a: lib.linalg.inv_ex(a).info, [Arg(sing)], {}, device)
    check(lambda lib, a: lib.linalg.solve_ex(a, a[..., 0]).info, [Arg(sing)], {}, device)


def test_named_tuples(device: str) -> None:
    a = ember.tensor(_spd(3), device=device)
    r = ember.linalg.slogdet(a)
    assert type(r).__name__ == "linalg_slogdet" and r.sign is r[0] and r.logabsdet is r[1]
    assert "linalg_slogdet" in repr(r)
    assert ember.linalg.eigh(a)._fields == ("eigenvalues", "eigenvectors")
    assert ember.linalg.svd(a)._fields == ("U", "S", "Vh")
    assert ember.linalg.qr(a)._fields == ("Q", "R")
    assert ember.linalg.cholesky_ex(a)._fields == ("L", "info")
    assert ember.linalg.inv_ex(a)._fields == ("inverse", "info")
    assert ember.linalg.lstsq(a, a)._fields == ("solution", "residuals", "rank", "singular_values")
    assert type(ember.slogdet(a)).__name__ == "slogdet" and ember.svd(a)._fields == ("U", "S", "V")


@pytest.mark.filterwarnings("ignore:torch.qr is deprecated")
def test_old_svd_and_qr_api(device: str) -> None:
    x = R.standard_normal((5, 3))

    def old_svd(lib, a, **kw):
        U, S, V = lib.svd(a, **kw)
        return S, (U[:, :3] * S) @ V.mT, V.abs()

    check(old_svd, [Arg(x)], {}, device, tol=50)
    check(old_svd, [Arg(x)], {"some": False}, device, tol=50)
    check(lambda lib, a: lib.svd(a, compute_uv=False), [Arg(x)], {}, device, tol=20)
    check(lambda lib, a: lib.qr(a, some=False), [Arg(x)], {}, device, tol=20)
    check(lambda lib, a: a.qr(), [Arg(x)], {}, device, tol=20)


def test_tensor_methods(device: str) -> None:
    a = _spd(3)
    for name in ("det", "logdet", "inverse", "pinverse", "matrix_exp"):
        check(lambda lib, t, name=name: getattr(t, name)(), [Arg(a)], {}, device, tol=20)
    check(lambda lib, t: t.slogdet(), [Arg(a)], {}, device, tol=20)
    check(lambda lib, t: t.matrix_power(3), [Arg(a / 4)], {}, device, tol=20)
    check(lambda lib, t, b: b.cholesky_solve(lib.linalg.cholesky(t)), [Arg(a), Arg(R.standard_normal((3, 2)))], {},
          device, tol=20)


# ---- the composites (OpenCL's path) on the CPU, bigger than the table's 3x3 and 4x4 ----------------
COMPOSITE_CASES = {
    "cholesky": (lambda lib, a: lib.linalg.cholesky(a @ a.mT + a.shape[-1] * lib.eye(a.shape[-1], dtype=a.dtype)),
                 (2, 24, 24)),
    "solve_triangular": (lambda lib, a: lib.linalg.solve_triangular(
        a.tril() + 8 * lib.eye(a.shape[-1], dtype=a.dtype), a, upper=False, left=False), (20, 20)),
    "solve": (lambda lib, a: lib.linalg.solve(a, a[..., :3]), (2, 20, 20)),
    "inv_pivoting": (lambda lib, a: lib.linalg.inv(a), (16, 16)),
    "det": (lambda lib, a: lib.linalg.det(a), (3, 12, 12)),
    "slogdet": (lambda lib, a: lib.linalg.slogdet(a), (2, 30, 30)),
    "qr_tall": (lambda lib, a: lib.linalg.qr(a), (40, 25)),
    "qr_wide_complete": (lambda lib, a: lib.linalg.qr(a, mode="complete"), (2, 6, 9)),
    "eigh": (lambda lib, a: (lambda r: (r.eigenvalues, r.eigenvectors.abs()))(lib.linalg.eigh(a + a.mT)), (32, 32)),
    "eigh_64": (lambda lib, a: lib.linalg.eigvalsh(a + a.mT), (64, 64)),
    "svd": (lambda lib, a: (lambda r: (r.S, r.U.abs(), r.Vh.abs()))(lib.linalg.svd(a, full_matrices=False)),
            (30, 20)),
    "svd_wide_full": (lambda lib, a: (lambda r: (r.S, r.U.abs(), r.Vh[..., :7, :].abs()))(lib.linalg.svd(a)),
                      (2, 7, 12)),
    "svdvals_64": (lambda lib, a: lib.linalg.svdvals(a), (64, 48)),
    "pinv": (lambda lib, a: lib.linalg.pinv(a), (12, 7)),
    "lstsq": (lambda lib, a: lib.linalg.lstsq(a, a[..., :2]).solution, (12, 7)),
    "matrix_rank": (lambda lib, a: lib.linalg.matrix_rank(a[..., :5] @ a[..., :5].mT), (12, 12)),
}


@pytest.mark.parametrize("name", sorted(COMPOSITE_CASES))
def test_composites_on_cpu(name: str) -> None:
    fn, shape = COMPOSITE_CASES[name]
    x = R.standard_normal(shape)
    with _raw.use_composites():
        check(fn, [Arg(x)], {}, "cpu", tol=200)


def test_composite_svd_keeps_small_singular_values_accurate() -> None:
    """One-sided Jacobi: singular values down to 1e-12 of the largest come out to relative accuracy
    (the Gram-matrix route would lose them)."""
    u, _ = np.linalg.qr(R.standard_normal((8, 8)))
    v, _ = np.linalg.qr(R.standard_normal((6, 6)))
    s = np.logspace(0, -12, 6)
    a = (u[:, :6] * s) @ v.T
    with _raw.use_composites():
        got = ember.linalg.svdvals(ember.tensor(a)).numpy()
    np.testing.assert_allclose(got, s, rtol=1e-3)


def test_composites_on_degenerate_inputs() -> None:
    """Repeated eigenvalues, a rank-deficient SVD (U completed to an orthonormal basis), zero pivots."""
    with _raw.use_composites():
        w, V = ember.linalg.eigh(ember.eye(5, dtype=ember.float64) * 2)
        np.testing.assert_allclose(w.numpy(), 2 * np.ones(5))
        np.testing.assert_allclose(V.numpy() @ V.numpy().T, np.eye(5), atol=1e-12)
        a = R.standard_normal((6, 2)) @ R.standard_normal((2, 4))
        U, S, Vh = (t.numpy() for t in ember.linalg.svd(ember.tensor(a)))
        np.testing.assert_allclose(U.T @ U, np.eye(6), atol=1e-10)
        np.testing.assert_allclose((U[:, :4] * S) @ Vh, a, atol=1e-10)
        assert S[2] < 1e-12
        assert float(ember.linalg.det(ember.zeros(3, 3, dtype=ember.float64))) == 0.0


@pytest.mark.parametrize("composites", [False, True])
def test_second_derivatives(composites: bool) -> None:
    """Backward is written in ember ops, so it differentiates again (create_graph)."""
    from ember.autograd import gradgradcheck

    a = ember.tensor(R.standard_normal((3, 3)), requires_grad=True)
    b = ember.tensor(R.standard_normal((3, 2)), requires_grad=True)
    eye = ember.eye(3, dtype=ember.float64)
    with _raw.use_composites(composites):
        assert gradgradcheck(lambda x: ember.linalg.cholesky(x @ x.mT + 3 * eye), (a,))
        assert gradgradcheck(lambda x, y: ember.linalg.solve_triangular(x.tril() + 3 * eye, y, upper=False), (a, b))
        assert gradgradcheck(lambda x, y: ember.linalg.solve(x + 4 * eye, y), (a, b))
        assert gradgradcheck(lambda x: ember.linalg.slogdet(x + 4 * eye).logabsdet, (a,))
        assert gradgradcheck(lambda x: ember.linalg.det(x), (a,))
        assert gradgradcheck(lambda x: ember.linalg.inv(x + 4 * eye), (a,))
        assert gradgradcheck(lambda x: ember.linalg.lu_factor(x + 4 * eye).LU, (a,))
        assert gradgradcheck(lambda x: ember.linalg.pinv(x), (b,))
        assert gradgradcheck(lambda x: ember.linalg.svdvals(x), (b,))
        assert gradgradcheck(lambda x, y: ember.linalg.lstsq(x, y).solution, (b, a[:, :1]))
        assert gradgradcheck(lambda x: ember.linalg.matrix_exp(x), (a,))
        assert gradgradcheck(lambda x: ember.linalg.householder_product(x, x[0, :2]), (b,))
        assert gradgradcheck(lambda x: ember.linalg.vector_norm(x, 3, dim=0), (b,))


SECOND_ORDER_MULTI_OUTPUT = {
    "qr": lambda x: (lambda r: r.Q @ r.R.abs())(ember.linalg.qr(x)),
    "eigh": lambda x: (lambda r: (r.eigenvectors * r.eigenvalues) @ r.eigenvectors.abs().mT)(ember.linalg.eigh(x.mT @ x)),
    "svd": lambda x: (lambda r: (r.U * r.S).abs() @ r.Vh)(ember.linalg.svd(x, full_matrices=False)),
    "lu": lambda x: ember.linalg.lu(x[:3]).U,
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER_MULTI_OUTPUT))
def test_second_derivatives_through_saved_second_outputs(name: str) -> None:
    """Double backward through a saved output other than the first (R, V, U...): the saved alias keeps
    its output number (it used to send the gradient to output 0)."""
    from ember.autograd import gradgradcheck

    x = ember.tensor(R.standard_normal((4, 3)), requires_grad=True)
    assert gradgradcheck(SECOND_ORDER_MULTI_OUTPUT[name], (x,))


def test_det_gradient_of_a_singular_matrix(device: str) -> None:
    """det's gradient is the cofactor matrix, defined for singular inputs too. The reference is the
    cofactor matrix itself: PyTorch 2.13's own backward for this rank-2 input depends on its LAPACK
    (the cofactors on the Intel CPUs of earlier runs, zeros with MKL on an AMD EPYC)."""
    x = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])
    cof = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(x, i, 0), j, 1)) for j in range(3)]
                    for i in range(3)])
    a = ember.tensor(x, device=device, requires_grad=True)
    out = ember.linalg.det(a)
    assert abs(out.item()) < 1e-12
    out.backward(ember.tensor(0.7, dtype=ember.float64, device=device))
    np.testing.assert_allclose(a.grad.cpu().numpy(), 0.7 * cof, rtol=1e-10, atol=1e-12)
    assert np.abs(cof).max() == 4.0  # not the zero matrix: the test would pass for a zero gradient otherwise


def test_optional_kernels_are_declared() -> None:
    from ember.kernels import KERNELS

    for name in ("cholesky", "triangular_solve", "lu_factor", "qr", "eigh", "svd"):
        assert KERNELS[name].family == "linalg" and not KERNELS[name].required


def test_no_fallback_on_the_device(device: str) -> None:
    """Every decomposition runs on the device itself (the device fixture forbids CPU fallback)."""
    a = ember.tensor(_spd(4), device=device)
    for fn in (ember.linalg.cholesky, ember.linalg.inv, ember.linalg.det, ember.linalg.qr, ember.linalg.eigh,
               ember.linalg.svd, ember.linalg.pinv, ember.linalg.matrix_exp):
        out = fn(a)
        first = out[0] if isinstance(out, tuple) else out
        assert first.device == a.device


def test_cupy_kernels_code_on_numpy() -> None:
    """The CUDA backend's linalg kernels, run on NumPy (no GPU here), agree with the CPU backend's."""
    pytest.importorskip("ember_cuda_cupy")
    from ember_cpu_numpy.linalg_kernels import LINALG_KERNELS as CPU
    from ember_cuda_cupy import arraymod as am
    from ember_cuda_cupy.linalg_kernels import LINALG_KERNELS as CUDA

    a = R.standard_normal((2, 4, 4))
    spd = _spd(4, (2,))
    not_pd = np.stack([np.eye(2), np.array([[1.0, 2], [2, 1]])])
    calls = {"cholesky": [(spd,), (not_pd,)], "triangular_solve": [(a + 4 * np.eye(4), a, True, False, True)],
             "lu_factor": [(a,), (np.zeros((3, 3)),)], "qr": [(a, "complete"), (a[:, :, :3], "r")],
             "eigh": [(spd, True)], "svd": [(a[:, :3], True)], "eig": [(a,)]}
    assert set(calls) == set(CUDA)
    old = am.use(np)
    try:
        for name, cases in calls.items():
            for args in cases:
                got, want = CUDA[name](*args), CPU[name](*args)
                got, want = (got, want) if isinstance(got, tuple) else ((got,), (want,))
                for g, w in zip(got, want):
                    if name == "cholesky" and g is got[0] and np.any(want[-1]):
                        continue  # L is unspecified where the factorisation failed
                    assert (g is None and w is None) or np.allclose(g, w), name
    finally:
        am.use(old)


@pytest.mark.parametrize("name", ["inv", "det", "vector_norm", "matrix_norm", "cholesky", "solve_triangular",
                                  "eigvalsh", "svdvals", "matrix_exp_top", "pinv", "cross"])
def test_out_argument(name: str, device: str) -> None:
    """``out=`` writes into the given tensor and returns it (inputs without grad, as PyTorch requires)."""
    calls = {
        "inv": (lambda lib, a, o: lib.linalg.inv(a, out=o), (3, 3)),
        "det": (lambda lib, a, o: lib.linalg.det(a, out=o), ()),
        "vector_norm": (lambda lib, a, o: lib.linalg.vector_norm(a, dim=1, out=o), (3,)),
        "matrix_norm": (lambda lib, a, o: lib.linalg.matrix_norm(a, "nuc", out=o), ()),
        "cholesky": (lambda lib, a, o: lib.linalg.cholesky(a, out=o), (3, 3)),
        "solve_triangular": (lambda lib, a, o: lib.linalg.solve_triangular(a, a, upper=True, out=o), (3, 3)),
        "eigvalsh": (lambda lib, a, o: lib.linalg.eigvalsh(a, out=o), (3,)),
        "svdvals": (lambda lib, a, o: lib.linalg.svdvals(a, out=o), (3,)),
        "matrix_exp_top": (lambda lib, a, o: lib.inverse(a, out=o), (3, 3)),
        "pinv": (lambda lib, a, o: lib.linalg.pinv(a, out=o), (3, 3)),
        "cross": (lambda lib, a, o: lib.linalg.cross(a, a.flip(0), dim=0, out=o), (3, 3)),
    }
    fn, shape = calls[name]

    def expr(lib, a):
        o = lib.zeros(shape, dtype=a.dtype, device=a.device)
        r = fn(lib, a, o)
        return r, o, r is o

    check(expr, [Arg(_spd(3), grad=False)], {}, device, tol=20)
