"""Divergences PyTorch's OpInfo samples found in linear algebra, fixed and compared with torch here.

LU of rectangular and batched matrices (getrf's k = min(m, n) pivots, info, linalg.lu's wide/tall
backward), geqrf of empty inputs, eigh's UPLO, vander of a 0-d input, integer/bool addmv/addbmm/
baddbmm/addr with scalar beta/alpha, zero-size batched matmul, matrix_exp's float32 accuracy.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(11)


def RND(*shape: int, dtype=F64, grad: bool = True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), grad=grad)


def _rank_deficient(m: int, n: int, dtype=F64) -> Arg:
    """A rank-1 matrix with a zero column: zero pivots, so info and unscaled columns matter (powers of
    two, so the eliminated entries are exactly zero in any operation order)."""
    a = np.outer(2.0 ** np.arange(m), 2.0 ** np.arange(n))
    a[:, min(1, n - 1)] = 0.0
    return Arg(a.astype(dtype), grad=False)


LU_INPUTS = [RND(3, 5), RND(5, 3), RND(2, 3, 5), RND(2, 5, 3), RND(4, 4), RND(1, 4), RND(4, 1),
             RND(2, 2, 3, 6, dtype=F32), RND(6, 2, dtype=F32), _rank_deficient(3, 5), _rank_deficient(5, 3),
             Arg(np.zeros((3, 4)), grad=False), Arg(np.zeros((4, 2)), grad=False), Arg(np.zeros((0, 3))), Arg(np.zeros((3, 0))),
             Arg(np.zeros((2, 0, 3)))]
LU_OPS = {
    "lu_factor": lambda L, a: L.linalg.lu_factor(a),
    "lu_factor_ex": lambda L, a: L.linalg.lu_factor_ex(a),
    "linalg.lu": lambda L, a: L.linalg.lu(a),
    "torch.lu": lambda L, a: L.lu(a, get_infos=True),
    "lu_unpack": lambda L, a: L.lu_unpack(*L.linalg.lu_factor_ex(a)[:2]),
}


@pytest.mark.parametrize("op", list(LU_OPS))
@pytest.mark.parametrize("x", LU_INPUTS, ids=range(len(LU_INPUTS)))
def test_lu_rectangular(device, op, x):
    # lu_factor raises on the singular ones in both (compared too)
    check(LU_OPS[op], (x,), {}, device, tol=10.0)


def test_lu_factor_check_errors_wide(device):
    check(lambda L, a: L.linalg.lu_factor_ex(a, check_errors=True), (_rank_deficient(3, 5),), {}, device)


GEQRF = [(5, 0), (0, 5), (0, 0), (2, 0, 3), (2, 3, 0), (0, 2, 3), (4, 3)]


@pytest.mark.parametrize("shape", GEQRF, ids=str)
def test_geqrf_empty(device, shape):
    check(lambda L, a: L.geqrf(a), (RND(*shape, grad=False),), {}, device, tol=10.0)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_reads_one_triangle(device, uplo):
    """Non-symmetric input: only the UPLO triangle counts. Eigenvectors are compared up to each
    column's sign, which LAPACK implementations choose differently (not an ember divergence)."""
    import ember

    a = R.standard_normal((2, 5, 5))
    tw, tv = torch.linalg.eigh(torch.tensor(a), UPLO=uplo)
    ew, ev = ember.linalg.eigh(ember.tensor(a, device=device), UPLO=uplo)
    ev = ev.to("cpu").numpy()
    np.testing.assert_allclose(ew.to("cpu").numpy(), tw.numpy(), atol=1e-10)
    sign = np.sign((ev * tv.numpy()).sum(-2, keepdims=True))
    np.testing.assert_allclose(ev * sign, tv.numpy(), atol=1e-9)


VANDER = [(Arg(np.array(2.0, F32)), {"N": 3}), (Arg(np.array(3, np.int64)), {"N": 2}), (Arg(np.array(2.0, F32)), {}),
          (Arg(np.array(2.0, F32)), {"N": 1}), (Arg(np.zeros(0, F32)), {"N": 3}), (Arg(np.array([1, 2], np.int32)), {}),
          (Arg(np.array([1.0, 2.0], np.float16)), {"N": 3}), (Arg(np.array(True)), {"N": 3}),
          (Arg(np.ones((2, 3), F64)), {"N": 4})]


@pytest.mark.parametrize("x,kwargs", VANDER, ids=range(len(VANDER)))
def test_vander_0d_and_errors(device, x, kwargs):
    check(lambda L, a, **kw: L.linalg.vander(a, **kw), (x,), kwargs, device)


def I64(*shape: int) -> Arg:
    return Arg(R.integers(-5, 6, shape).astype(np.int64), grad=False)


def B(*shape: int) -> Arg:
    return Arg(R.integers(0, 2, shape).astype(bool), grad=False)


SCALARS = [(1.5, 2.7), (1, -1.5), (0.9, 0.9), (-0.5, 0.5), (True, 2), (0, 0), (2, 3)]
INT_OPS = {
    "addmv": (lambda L, i, a, b, **kw: L.addmv(i, a, b, **kw), (I64(3), I64(3, 4), I64(4))),
    "addmm": (lambda L, i, a, b, **kw: L.addmm(i, a, b, **kw), (I64(3, 2), I64(3, 4), I64(4, 2))),
    "baddbmm": (lambda L, i, a, b, **kw: L.baddbmm(i, a, b, **kw), (I64(2, 3, 2), I64(2, 3, 4), I64(2, 4, 2))),
    "addbmm": (lambda L, i, a, b, **kw: L.addbmm(i, a, b, **kw), (I64(3, 2), I64(2, 3, 4), I64(2, 4, 2))),
    "addr": (lambda L, i, a, b, **kw: L.addr(i, a, b, **kw), (I64(3, 4), I64(3), I64(4))),
    "addr_float": (lambda L, i, a, b, **kw: L.addr(i, a, b, **kw), (RND(3, 4), RND(3), RND(4))),
    "addr_bool": (lambda L, i, a, b, **kw: L.addr(i, a, b, **kw), (B(3, 4), B(3), B(4))),
}


@pytest.mark.parametrize("beta,alpha", SCALARS + [(False, True), (True, False), (0.5, True)], ids=str)
@pytest.mark.parametrize("op", list(INT_OPS))
def test_integer_and_bool_scalars(device, op, beta, alpha):
    fn, args = INT_OPS[op]
    check(fn, args, {"beta": beta, "alpha": alpha}, device)


MATMUL = [((5, 5, 0), (0, 5)), ((5, 5, 0), (0,)), ((0,), (3, 0, 2)), ((2, 1, 3, 0), (4, 0, 5)), ((0, 3, 4), (4, 5)),
          ((3,), (0, 3, 2)), ((4, 0), (0, 2, 4, 3)), ((4, 3), (2, 2, 4, 3)), ((2, 5, 3), (4, 2)),
          ((2, 5, 3), (2, 4, 2)), ((3,), (2, 4, 2)), ((2, 5, 3), (4,)), ((3, 5, 3), (2, 1, 4, 2)), ((3,), (4,)),
          ((3,), (4, 2)), ((2, 3), (4,)), ((2, 3), (2, 4))]


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("sa,sb", MATMUL, ids=str)
def test_matmul_zero_size_and_mismatch(device, sa, sb, grad):
    """Zero-size batched products, and the error of the kernel PyTorch's matmul picks (which
    depends on whether a gradient is needed: it then folds a matrix times a stack)."""
    check(lambda L, a, b: L.matmul(a, b), (RND(*sa, grad=grad), RND(*sb, grad=False)), {}, device)
    check(lambda L, a, b: b.__rmatmul__(a), (RND(*sa, grad=grad), RND(*sb, grad=False)), {}, device)


def _rel_err(x: np.ndarray, ref: np.ndarray) -> float:
    """The error relative to each matrix's largest entry: what matrix_exp's accuracy is measured in."""
    scale = np.abs(ref).max(axis=(-2, -1), keepdims=True)
    return float((np.abs(x - ref) / scale).max())


@pytest.mark.parametrize("scale", [0.01, 0.4, 1.5, 4.0, 9.0])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_matrix_exp_accuracy(device, dtype, scale):
    """As accurate as PyTorch's degree-18 scaling and squaring (per-matrix scaling): the error
    against a float64 reference is within a few times PyTorch's own."""
    import ember

    a = (R.uniform(-1, 1, (4, 5, 5)) * scale * np.array([1.0, 0.3, 3.0, 0.05])[:, None, None]).astype(dtype)
    ref = torch.linalg.matrix_exp(torch.tensor(a, dtype=torch.float64)).numpy()
    t = torch.linalg.matrix_exp(torch.tensor(a)).numpy().astype(F64)
    e = ember.linalg.matrix_exp(ember.tensor(a, device=device)).to("cpu").numpy().astype(F64)
    eps = np.finfo(dtype).eps
    assert _rel_err(e, ref) <= max(4 * _rel_err(t, ref), 64 * eps)


@pytest.mark.parametrize("shape", [(5, 5), (2, 4, 4), (3, 3)])
def test_matrix_exp_values_and_grad(device, shape):
    check(lambda L, a: L.linalg.matrix_exp(a), (RND(*shape),), {}, device, tol=10.0)


def _singular(*shape: int) -> Arg:
    return Arg(np.ones(shape), grad=False)


@pytest.mark.parametrize("x", [_singular(3, 3), Arg(np.zeros((2, 2)), grad=False), _singular(3, 5), _singular(5, 3),
                               Arg(np.stack([np.eye(3), np.ones((3, 3))]), grad=False)], ids=range(5))
@pytest.mark.parametrize("fname", ["lu_factor", "lu_factor_ex"])
def test_lu_factor_singular_message(device, x, fname):
    """PyTorch names U[info,info] with LAPACK's 1-based info, and the batch element."""
    kwargs = {"check_errors": True} if fname == "lu_factor_ex" else {}
    check(lambda L, a, **kw: getattr(L.linalg, fname)(a, **kw), (x,), kwargs, device)


LU_SOLVE = [((5,), (3,)), ((3, 3), (3,)), ((3, 5), (3, 2)), ((3, 3), (4, 2)), ((2, 3, 3), (4, 2)), ((3, 3), (2, 3))]


@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("sa,sb", LU_SOLVE, ids=str)
def test_lu_solve_checks(device, sa, sb, left):
    piv = Arg(np.arange(1, 4, dtype=np.int32), grad=False)
    lu = Arg(np.eye(*sa[-2:]) * 2.0 + 0.1 if len(sa) >= 2 else np.ones(sa), grad=False)
    check(lambda L, a, p, b: L.linalg.lu_solve(a, p, b, left=left), (lu, piv, RND(*sb, grad=False)), {}, device)
