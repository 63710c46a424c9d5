"""Linear algebra on complex tensors, compared with PyTorch 2.13 at runtime (cpu backend).

Fixed in ember.linalg: the shared dtype check (``_common.check_float``) and the per-op checks took
only floating dtypes, so complex64/complex128 were refused with a contradictory message; composites
and gradients now use conjugate transposes (PyTorch's conjugate-Wirtinger conventions); LU pivots
use LAPACK's |re| + |im| (izamax); eigenvalues/singular values are real-typed; slogdet's complex
sign and its gradient, logdet's complex log, vecdot's conjugation, householder_product's v v^H.
Also: cholesky_solve / cholesky_inverse gradients w.r.t. the factor follow PyTorch's formulas
(not projected onto the triangle the solve reads).

Eigen- and singular vectors are compared through phase-invariant quantities (|V|, V diag(w) V^H),
as PyTorch's own tests do.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

CDTYPES = ("complex64", "complex128")


def _rand(shape: tuple, dtype: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if not dtype.startswith("complex"):
        return rng.standard_normal(shape).astype(dtype)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _spd(n: int, dtype: str, batch: tuple = (), seed: int = 0) -> np.ndarray:
    a = _rand(batch + (n, n), dtype, seed)
    return (a @ np.swapaxes(a.conj(), -1, -2) + n * np.eye(n)).astype(dtype)


def _tol(dtype: str) -> dict:
    return {"rtol": 1e-4, "atol": 1e-4} if dtype == "complex64" else {"rtol": 1e-9, "atol": 1e-9}


def _cmp(e, t, dtype: str) -> None:  # noqa: ANN001
    if isinstance(t, (tuple, list)):
        assert len(e) == len(t)
        for a, b in zip(e, t):
            _cmp(a, b, dtype)
        return
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().resolve_conj().numpy(), t.detach().resolve_conj().numpy(), **_tol(dtype))


def _both(arrays: list[np.ndarray], grad: bool = False) -> tuple[list, list]:
    et = [ember.tensor(a, requires_grad=grad) for a in arrays]
    tt = [torch.tensor(a, requires_grad=grad) for a in arrays]
    return et, tt


# name -> (inputs builder(dtype), fn(lib, *inputs)) for value comparisons
VALUE_CASES = {
    "inv": (lambda d: [_rand((2, 4, 4), d)], lambda L, a: L.linalg.inv(a)),
    "inv_ex": (lambda d: [_rand((4, 4), d)], lambda L, a: tuple(L.linalg.inv_ex(a))),
    "solve": (lambda d: [_rand((2, 4, 4), d), _rand((2, 4, 3), d, 1)], lambda L, a, b: L.linalg.solve(a, b)),
    "solve_right": (lambda d: [_rand((4, 4), d), _rand((3, 4), d, 1)],
                    lambda L, a, b: L.linalg.solve(a, b, left=False)),
    "solve_vec": (lambda d: [_rand((4, 4), d), _rand((4,), d, 1)], lambda L, a, b: L.linalg.solve(a, b)),
    "det": (lambda d: [_rand((3, 4, 4), d)], lambda L, a: L.linalg.det(a)),
    "slogdet": (lambda d: [_rand((3, 4, 4), d)], lambda L, a: tuple(L.linalg.slogdet(a))),
    "logdet": (lambda d: [_rand((4, 4), d)], lambda L, a: L.logdet(a)),
    "cholesky": (lambda d: [_spd(4, d, (2,))], lambda L, a: L.linalg.cholesky(a)),
    "cholesky_upper": (lambda d: [_spd(4, d)], lambda L, a: L.linalg.cholesky(a, upper=True)),
    "cholesky_ex_fail": (lambda d: [_rand((4, 4), d)], lambda L, a: tuple(L.linalg.cholesky_ex(a))),
    "qr": (lambda d: [_rand((5, 3), d)], lambda L, a: tuple(L.linalg.qr(a))),
    "qr_wide": (lambda d: [_rand((3, 5), d)], lambda L, a: tuple(L.linalg.qr(a, mode="complete"))),
    "svdvals": (lambda d: [_rand((2, 5, 3), d)], lambda L, a: L.linalg.svdvals(a)),
    "svd_recon": (lambda d: [_rand((4, 3), d)], lambda L, a: (lambda u, s, vh: (u * s.to(u.dtype)) @ vh)(
        *L.linalg.svd(a, full_matrices=False))),
    "eigvalsh": (lambda d: [_spd(4, d)], lambda L, a: L.linalg.eigvalsh(a)),
    "eigh_abs": (lambda d: [_spd(4, d)], lambda L, a: L.linalg.eigh(a)[1].abs()),
    "eigvals": (lambda d: [_rand((3, 3), d)], lambda L, a: L.linalg.eigvals(a).abs()),
    "matrix_norm_nuc": (lambda d: [_rand((3, 4), d)], lambda L, a: L.linalg.matrix_norm(a, "nuc")),
    "matrix_norm_2": (lambda d: [_rand((3, 4), d)], lambda L, a: L.linalg.matrix_norm(a, 2)),
    "norm_fro": (lambda d: [_rand((3, 4), d)], lambda L, a: L.linalg.norm(a)),
    "cond": (lambda d: [_rand((4, 4), d)], lambda L, a: L.linalg.cond(a)),
    "cond_1": (lambda d: [_rand((4, 4), d)], lambda L, a: L.linalg.cond(a, 1)),
    "pinv": (lambda d: [_rand((4, 3), d)], lambda L, a: L.linalg.pinv(a)),
    "pinv_hermitian": (lambda d: [_spd(4, d)], lambda L, a: L.linalg.pinv(a, hermitian=True)),
    "pinverse": (lambda d: [_rand((3, 4), d)], lambda L, a: L.pinverse(a)),
    "matrix_rank": (lambda d: [_rand((4, 3), d)], lambda L, a: L.linalg.matrix_rank(a)),
    "lstsq": (lambda d: [_rand((5, 3), d), _rand((5, 2), d, 1)],
              lambda L, a, b: tuple(L.linalg.lstsq(a, b, driver="gelsd"))[:2]),
    "tensorinv": (lambda d: [_rand((4, 2, 2), d)], lambda L, a: L.linalg.tensorinv(a, ind=1)),
    "tensorsolve": (lambda d: [_rand((6, 2, 3), d), _rand((6,), d, 1)], lambda L, a, b: L.linalg.tensorsolve(a, b)),
    "matrix_power_neg": (lambda d: [_rand((3, 3), d)], lambda L, a: L.linalg.matrix_power(a, -2)),
    "matrix_exp": (lambda d: [_rand((3, 3), d)], lambda L, a: L.linalg.matrix_exp(a)),
    "vecdot": (lambda d: [_rand((3, 4), d), _rand((3, 4), d, 1)], lambda L, a, b: L.linalg.vecdot(a, b)),
    "solve_triangular": (lambda d: [np.triu(_rand((4, 4), d)) + 4 * np.eye(4, dtype=d), _rand((4, 2), d, 1)],
                         lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True)),
    "solve_triangular_right": (lambda d: [np.tril(_rand((4, 4), d)) + 4 * np.eye(4, dtype=d), _rand((2, 4), d, 1)],
                               lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False, left=False)),
    "cholesky_solve": (lambda d: [_rand((4, 2), d), np.linalg.cholesky(_spd(4, d))],
                       lambda L, b, f: L.cholesky_solve(b, f)),
    "cholesky_solve_upper": (lambda d: [_rand((4, 2), d), np.linalg.cholesky(_spd(4, d)).conj().T.copy()],
                             lambda L, b, f: L.cholesky_solve(b, f, upper=True)),
    "cholesky_inverse": (lambda d: [np.linalg.cholesky(_spd(4, d))], lambda L, f: L.cholesky_inverse(f)),
    "lu_factor": (lambda d: [_rand((2, 5, 5), d)], lambda L, a: tuple(L.linalg.lu_factor(a))),
    "lu_tall": (lambda d: [_rand((6, 4), d)], lambda L, a: tuple(L.linalg.lu(a))),
    "lu_wide": (lambda d: [_rand((3, 5), d)], lambda L, a: tuple(L.linalg.lu(a))),
    "lu_solve_adjoint": (lambda d: [_rand((4, 4), d), _rand((4, 2), d, 1)],
                         lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b, adjoint=True)),
    "lu_solve_right": (lambda d: [_rand((4, 4), d), _rand((2, 4), d, 1)],
                       lambda L, a, b: L.linalg.lu_solve(*L.linalg.lu_factor(a), b, left=False)),
    "householder_product": (lambda d: [_rand((4, 3), d), _rand((3,), d, 1)],
                            lambda L, a, t: L.linalg.householder_product(a, t)),
    "eigh_empty": (lambda d: [np.zeros((0, 0), d)], lambda L, a: L.linalg.eigvalsh(a)),
    "svdvals_empty": (lambda d: [np.zeros((2, 0, 3), d)], lambda L, a: L.linalg.svdvals(a)),
}


@pytest.mark.parametrize("dtype", CDTYPES)
@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_complex_values(name: str, dtype: str) -> None:
    build, fn = VALUE_CASES[name]
    et, tt = _both(build(dtype))
    _cmp(fn(ember, *et), fn(torch, *tt), dtype)


# name -> (inputs builder(dtype), fn(lib, *inputs) -> a real scalar loss, phase-invariant where needed)
def _w(shape: tuple, dtype: str, lib):  # noqa: ANN001, ANN202 - fixed complex weights, so the loss is not symmetric
    arr = _rand(shape, dtype, 7)
    return ember.tensor(arr) if lib is ember else torch.tensor(arr)


GRAD_CASES = {
    "inv": (lambda d: [_rand((4, 4), d)], lambda L, a: (L.linalg.inv(a) * _w((4, 4), str(a.dtype).split(".")[-1], L)).real.sum()),
    "solve": (lambda d: [_rand((4, 4), d), _rand((4, 2), d, 1)],
              lambda L, a, b: (L.linalg.solve(a, b) * _w((4, 2), str(a.dtype).split(".")[-1], L)).real.sum()),
    "det": (lambda d: [_rand((4, 4), d)], lambda L, a: (L.linalg.det(a) * (1 + 2j)).real),
    "slogdet": (lambda d: [_rand((4, 4), d)], lambda L, a: (lambda s, la: (s * (1 - 1j)).real + la)(*L.linalg.slogdet(a))),
    "logdet": (lambda d: [_rand((4, 4), d)], lambda L, a: (L.logdet(a) * (2 + 1j)).real),
    "cholesky": (lambda d: [_spd(4, d)], lambda L, a: (L.linalg.cholesky(a) * _w((4, 4), str(a.dtype).split(".")[-1], L)).real.sum()),
    "cholesky_upper": (lambda d: [_spd(4, d)],
                       lambda L, a: (L.linalg.cholesky(a, upper=True) * _w((4, 4), str(a.dtype).split(".")[-1], L)).real.sum()),
    "qr": (lambda d: [_rand((5, 3), d)], lambda L, a: (lambda q, r: (q * _w((5, 3), str(a.dtype).split(".")[-1], L)).real.sum()
                                                       + (r * _w((3, 3), str(a.dtype).split(".")[-1], L)).imag.sum())(*L.linalg.qr(a))),
    "qr_wide": (lambda d: [_rand((3, 5), d)], lambda L, a: (lambda q, r: (q * _w((3, 3), str(a.dtype).split(".")[-1], L)).real.sum()
                                                            + (r * _w((3, 5), str(a.dtype).split(".")[-1], L)).imag.sum())(*L.linalg.qr(a))),
    "svd_abs": (lambda d: [_rand((5, 3), d)], lambda L, a: (lambda u, s, vh: s.sum() + u.abs().sum() + vh.abs().sum())(
        *L.linalg.svd(a, full_matrices=False))),
    "svd_wide": (lambda d: [_rand((3, 5), d)], lambda L, a: (lambda u, s, vh: (s * s).sum() + vh.abs().sum())(
        *L.linalg.svd(a, full_matrices=False))),
    "svdvals": (lambda d: [_rand((4, 3), d)], lambda L, a: L.linalg.svdvals(a).sum()),
    "eigh": (lambda d: [_spd(4, d)], lambda L, a: (lambda w, v: (w * w).sum() + v.abs().sum())(*L.linalg.eigh(a))),
    "pinv": (lambda d: [_rand((4, 3), d)], lambda L, a: (L.linalg.pinv(a) * _w((3, 4), str(a.dtype).split(".")[-1], L)).real.sum()),
    "lstsq": (lambda d: [_rand((5, 3), d), _rand((5, 2), d, 1)],
              lambda L, a, b: (L.linalg.lstsq(a, b).solution * _w((3, 2), str(a.dtype).split(".")[-1], L)).real.sum()),
    "lu": (lambda d: [_rand((4, 4), d)], lambda L, a: (lambda p, lo, u: (lo * _w((4, 4), str(a.dtype).split(".")[-1], L)).real.sum()
                                                       + (u * _w((4, 4), str(a.dtype).split(".")[-1], L)).imag.sum())(*L.linalg.lu(a))),
    "solve_triangular": (lambda d: [np.triu(_rand((4, 4), d)) + 4 * np.eye(4, dtype=d), _rand((4, 2), d, 1)],
                         lambda L, a, b: (L.linalg.solve_triangular(a, b, upper=True)
                                          * _w((4, 2), str(a.dtype).split(".")[-1], L)).real.sum()),
    "cholesky_solve": (lambda d: [_rand((4, 2), d), np.linalg.cholesky(_spd(4, d))],
                       lambda L, b, f: (L.cholesky_solve(b, f) * _w((4, 2), str(b.dtype).split(".")[-1], L)).real.sum()),
    "cholesky_inverse": (lambda d: [np.linalg.cholesky(_spd(4, d))],
                         lambda L, f: (L.cholesky_inverse(f) * _w((4, 4), str(f.dtype).split(".")[-1], L)).real.sum()),
    "householder_product": (lambda d: [_rand((4, 3), d), _rand((3,), d, 1)],
                            lambda L, a, t: (L.linalg.householder_product(a, t)
                                             * _w((4, 3), str(a.dtype).split(".")[-1], L)).real.sum()),
    "vecdot": (lambda d: [_rand((3, 4), d), _rand((3, 4), d, 1)], lambda L, a, b: (L.linalg.vecdot(a, b) * (1 + 1j)).real.sum()),
    "matrix_norm_nuc": (lambda d: [_rand((3, 4), d)], lambda L, a: L.linalg.matrix_norm(a, "nuc")),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_complex_gradients(name: str) -> None:
    dtype = "complex128"
    build, fn = GRAD_CASES[name]
    et, tt = _both(build(dtype), grad=True)
    fn(ember, *et).backward()
    fn(torch, *tt).backward()
    for e, t in zip(et, tt):
        _cmp(e.grad, t.grad, dtype)


# part 2: real gradients of cholesky_solve / cholesky_inverse w.r.t. the factor, the whole matrix
# (PyTorch does not project onto the triangle the solve reads)
@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_cholesky_factor_gradients_unprojected(upper: bool, dtype: str) -> None:
    f = np.linalg.cholesky(_spd(3, dtype, (2,)))
    f = np.swapaxes(f.conj(), -1, -2).copy() if upper else f
    b = _rand((2, 3, 2), dtype, 3)
    for name, call in (("solve", lambda L, bb, ff: L.cholesky_solve(bb, ff, upper)),
                       ("inverse", lambda L, bb, ff: L.cholesky_inverse(ff, upper))):
        et, tt = _both([b, f], grad=True)
        for L, (bb, ff) in ((ember, et), (torch, tt)):
            out = call(L, bb, ff)
            (out * out.conj()).real.sum().backward() if out.dtype.is_complex else (out * out).sum().backward()
        _cmp(et[1].grad, tt[1].grad, dtype)
        assert float(np.abs(np.tril(tt[1].grad.numpy(), -1) if upper else np.triu(tt[1].grad.numpy(), 1)).max()) > 0, name
    assert ember.cholesky_solve(ember.tensor(b, requires_grad=True), ember.tensor(f)).grad_fn.name() == \
        torch.cholesky_solve(torch.tensor(b, requires_grad=True), torch.tensor(f)).grad_fn.name()


@pytest.mark.parametrize("dtype", CDTYPES)
def test_complex_errors_match(dtype: str) -> None:
    # a singular complex matrix: LinAlgError with PyTorch's words; integer input: PyTorch's message
    et, tt = _both([np.zeros((3, 3), dtype)])
    with pytest.raises(RuntimeError) as te:
        torch.linalg.inv(tt[0])
    with pytest.raises(ember.linalg.LinAlgError) as ee:
        ember.linalg.inv(et[0])
    assert str(ee.value) == str(te.value)
    with pytest.raises(RuntimeError) as te:
        torch.linalg.cholesky(torch.tensor(_rand((3, 3), dtype)) * 0 - torch.eye(3))
    with pytest.raises(RuntimeError) as ee:
        ember.linalg.cholesky(ember.tensor(_rand((3, 3), dtype)) * 0 - ember.eye(3))
    assert str(ee.value) == str(te.value)


def test_integer_message_unchanged() -> None:
    with pytest.raises(RuntimeError) as te:
        torch.linalg.inv(torch.ones(2, 2, dtype=torch.int64))
    with pytest.raises(RuntimeError) as ee:
        ember.linalg.inv(ember.ones(2, 2, dtype=ember.int64))
    assert str(ee.value) == str(te.value)
