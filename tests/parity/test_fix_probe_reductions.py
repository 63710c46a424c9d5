"""Divergences from PyTorch found by probing reductions and the addmm family. Each case runs on real
PyTorch and on ember (every device) and compares values, dtypes, errors and gradients.

``norm`` (and so ``F.normalize`` / ``F.cosine_similarity``) at a zero vector or a zero element
(gradient 0, not NaN); ``std`` of a constant input (gradient 0); float16/bfloat16 ``sum``, ``mean``,
``var``, ``std``, ``var_mean``, ``std_mean`` accumulated in float32 (no overflow of the partial
sums); the ``sinc`` gradient where ``x * x * pi`` underflows; ``addmm``/``baddbmm``/``addmv``/
``addbmm``/``addr`` with ``beta=0`` (input not read) or ``alpha=0`` (product not read).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F16, F32, F64 = np.float16, np.float32, np.float64
NAN, INF = math.nan, math.inf


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


# ---- norm: PyTorch's norm_backward (0 where the norm is 0, and at zero elements for p < 1) --------
ZERO, ONE_ZERO, PLAIN = [0.0, 0.0], [3.0, 0.0], [3.0, -4.0]
NORM_P = ["fro", 2, 1, 0.5, -1, 3, 1.5, INF, -INF, 0, None]


@pytest.mark.parametrize("p", NORM_P, ids=str)
@pytest.mark.parametrize("values", [ZERO, ONE_ZERO, PLAIN], ids=["zero", "one_zero", "plain"])
def test_norm_at_zero(device, p, values):
    check(lambda L, x: x.norm(p), (A(values),), {}, device, tol=2)  # tol: pow rounding for p = 1.5, 3
    check(lambda L, x: L.norm(x, p), (A(values, F64),), {}, device)


NORM_DIMS = [
    ({"dim": 1}, [[0.0, 0.0], [3.0, 4.0]]),
    ({"p": 0.5, "dim": 1, "keepdim": True}, [[0.0, 0.0], [3.0, 0.0]]),
    ({"p": -1, "dim": 1, "keepdim": True}, [[0.0, 0.0], [3.0, 0.0]]),
    ({"p": -1, "dim": 0}, [[0.0, 0.0], [3.0, 0.0]]),
    ({"p": 2, "dim": (0, 1)}, [[0.0, 0.0], [0.0, 0.0]]),
    ({"p": "fro", "dim": (0, 1)}, [[0.0, 0.0], [0.0, 0.0]]),
    ({"p": 2, "dim": 0}, [[[0.0, 1.0]], [[0.0, 2.0]]]),
    ({"p": 2, "dim": 1, "dtype": "dtype:float64"}, [[0.0, 0.0], [3.0, 4.0]]),
    ({"p": "fro", "dim": (0, 1, 2)}, [[[0.0, 1.0]], [[0.0, 2.0]]]),  # a matrix_norm error
]


@pytest.mark.parametrize("kwargs,values", NORM_DIMS, ids=range(len(NORM_DIMS)))
def test_norm_dims(device, kwargs, values):
    check(lambda L, x, **kw: L.norm(x, **kw), (A(values),), kwargs, device)


def test_norm_errors_and_dtypes(device):
    check(lambda L, x: L.norm(x), (A([1, 2], np.int64),), {}, device)  # no integer norm
    check(lambda L, x: L.norm(x, dtype=L.float32), (A([1.0, 2.0], F64),), {}, device)  # no narrowing dtype
    check(lambda L, x: L.norm(x, 3, dim=0), (A(2.0),), {}, device)  # 0-d
    check(lambda L, x: x.norm(p=None), (A([3.0, 0.0]),), {}, device)
    check(lambda L, x: L.norm(x, p=-1), (A(np.zeros((0, 2))),), {}, device)  # no identity on an empty tensor


def test_normalize_and_cosine_similarity_zero_rows(device):
    rows = [[0.0, 0.0], [3.0, 4.0]]
    check(lambda L, x: L.nn.functional.normalize(x, dim=1), (A(rows),), {}, device)
    check(lambda L, x: L.nn.functional.normalize(x, p=1, dim=0), (A(rows),), {}, device)
    # PyTorch's cosine_similarity clamps each norm at eps, so its gradients hold no 0 / 0 either
    check(lambda L, x, y: L.nn.functional.cosine_similarity(x, y, dim=1), (A(rows), A([[1.0, 2.0], [0.0, 0.0]])),
          {}, device, grad_tol=10)
    check(lambda L, x: L.nn.functional.cosine_similarity(x, L.zeros_like(x), dim=1), (A(rows),), {}, device)


# ---- std: PyTorch's std_backward masks the 1 / (2 std) of a zero std ----------------------------
CONST = [[1.0, 1.0, 1.0], [1.0, 2.0, 4.0]]
STD = [
    (lambda L, x: x.std(), [2.0, 2.0, 2.0]),
    (lambda L, x: x.std(1), CONST),
    (lambda L, x: x.std(1, keepdim=True, correction=0), CONST),
    (lambda L, x: x.std(0, False), CONST),
    (lambda L, x: x.std(1, correction=2), CONST),
    (lambda L, x: x.std(1, correction=3), CONST),  # no degree of freedom: inf / NaN, NaN gradients
    (lambda L, x: x.std((0, 1)), [[5.0, 5.0], [5.0, 5.0]]),
    (lambda L, x: x.std(), [5.0]),  # one element: NaN
    (lambda L, x: L.std_mean(x, 1), CONST),
    (lambda L, x: L.std_mean(x, correction=0), [2.0, 2.0]),
    (lambda L, x: L.var_mean(x, 0), CONST),
    (lambda L, x: L.var(x, 1), CONST),
]


@pytest.mark.parametrize("case", range(len(STD)))
def test_std_of_constant(device, case):
    fn, values = STD[case]
    check(fn, (A(values),), {}, device)
    check(fn, (A(values, F64),), {}, device)


def test_std_complex_constant(device):
    if device != "cpu":
        pytest.skip("complex tensors: the cpu device only")
    check(lambda L, x: L.std(L.complex(x, x * 0 + 1.0)), (A([1.0, 1.0]),), {}, device)


# ---- float16 / bfloat16: accumulated in float32 (var/std: wider), rounded once -------------------
BIG = [60000.0, 60000.0, 1.0]
TENTHS = [0.1] * 1000
HALF = [
    (lambda L, x: x.mean(), [60000.0, 60000.0]),
    (lambda L, x: x.mean(0, keepdim=True), [[60000.0, 60000.0], [60000.0, 1.0]]),
    (lambda L, x: x.mean(), TENTHS),
    (lambda L, x: x.sum(), TENTHS),
    (lambda L, x: x.sum(1), [TENTHS, [0.3] * 1000]),
    (lambda L, x: x.sum(), [60000.0, 60000.0, -60000.0]),  # no overflow on the way
    (lambda L, x: x.std(), BIG),
    (lambda L, x: x.var(), BIG),  # the result itself overflows float16
    (lambda L, x: x.var(), [1.0, 2.0, 3.3]),
    (lambda L, x: x.std(), [3.0, 3.0]),
    (lambda L, x: x.std(0, correction=0, keepdim=True), [[1.0, 2.0], [3.0, 5.0], [7.0, 8.0]]),
    (lambda L, x: x.std(1), [[1.0, 2.0], [3.0, 3.0]]),
    (lambda L, x: x.var(1, correction=2), [[1.0, 2.0], [3.0, 3.0]]),  # no degree of freedom
    (lambda L, x: L.var_mean(x), BIG),
    (lambda L, x: L.std_mean(x, 0), BIG),
    (lambda L, x: L.std_mean(x, 0, correction=0), [0.1] * 300),
]


@pytest.mark.parametrize("case", range(len(HALF)))
def test_half_accumulation(device, case):
    fn, values = HALF[case]
    check(fn, (A(values, F16),), {}, device)
    check(lambda L, x: fn(L, x.bfloat16()), (A(values),), {}, device)  # the float32 leaf gets the gradient


def test_half_mean_and_sum_dtype(device):
    check(lambda L, x: x.mean(dtype=L.float16), (A([70000.0, 50000.0]),), {}, device)  # summed in float32
    check(lambda L, x: x.mean(dtype=L.float16), (A([70000.0, 50000.0], F64),), {}, device)
    check(lambda L, x: x.mean(dtype=L.float16), (A([70000, 50000], np.int64),), {}, device)
    check(lambda L, x: x.mean(dtype=L.bfloat16), (A([70000, 50000], np.int64),), {}, device)
    check(lambda L, x: x.mean(), (A([70000, 50000], np.int64),), {}, device)  # integer mean: an error
    check(lambda L, x: x.sum(dtype=L.float32), (A(TENTHS, F16),), {}, device)
    check(lambda L, x: x.sum(dtype=L.float16), (A([1] * 3000, np.int64),), {}, device)


# ---- sinc: PyTorch masks its gradient where x * x * pi is 0 -------------------------------------
def test_sinc_grad_tiny(device):
    check(lambda L, x: L.sinc(x), (A([0.0, 1e-30, 1e-20, 1e-19, 0.5, -1e-10, 2.0]),), {}, device)
    check(lambda L, x: L.sinc(x), (A([0.0, 1e-30, 1e-200, 1e-160, 1e-150, 0.5, -3.0], F64),), {}, device)
    check(lambda L, x: L.sinc(x), (A([0.0, 1e-3, 1e-4, 0.5], F16),), {}, device)


# ---- the addmm family: beta == 0 does not read input, alpha == 0 does not read the product ------
def _mm(name, inp, a, b, **kw):
    return lambda L, x, y, z: getattr(L, name)(x, y, z, **kw)


BAD = [[NAN, INF], [-INF, NAN]]
ADDMM = [
    ("addmm", BAD, [[1.0, 2.0], [3.0, 4.0]], [[1.0, -1.0], [2.0, 0.5]], {"beta": 0}),
    ("addmm", [NAN], [[1.0, 2.0]], [[2.0], [3.0]], {"beta": 0}),  # broadcast input
    ("addmm", [[1.0, 2.0], [3.0, 4.0]], [[INF, 2.0], [3.0, NAN]], [[1.0, -1.0], [2.0, 0.5]], {"alpha": 0}),
    ("addmm", [[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]], [[1.0, -1.0], [2.0, 0.5]], {"alpha": 0}),
    ("addmm", BAD, [[INF, 2.0], [3.0, 4.0]], [[1.0, -1.0], [2.0, 0.5]], {"alpha": 0, "beta": 0}),
    ("addmm", [[1.0, 2.0], [3.0, 4.0]], [[INF, 2.0], [3.0, 4.0]], [[1.0, -1.0], [2.0, 0.5]], {"alpha": 0, "beta": 2}),
    ("addmm", [[1.0, 2.0], [3.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]], [[1.0, -1.0], [2.0, 0.5]], {"alpha": 2, "beta": 0.5}),
    ("baddbmm", [BAD], [[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, -1.0], [2.0, 0.5]]], {"beta": 0}),
    ("baddbmm", [[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, 2.0], [3.0, 4.0]]], [[[1.0, -1.0], [2.0, 0.5]]], {"alpha": 0}),
    ("addbmm", BAD, [[[1.0, 2.0], [3.0, 4.0]]] * 2, [[[1.0, -1.0], [2.0, 0.5]]] * 2, {"beta": 0}),
    ("addbmm", [[1.0, 2.0], [3.0, 4.0]], [[[INF, 2.0], [3.0, 4.0]]] * 2, [[[1.0, -1.0], [2.0, 0.5]]] * 2, {"alpha": 0}),
    ("addbmm", [[1.0, 2.0], [3.0, 4.0]], [[[1.0, 2.0], [3.0, 4.0]]] * 2, [[[1.0, -1.0], [2.0, 0.5]]] * 2, {"alpha": 0}),
    ("addmv", [NAN, INF], [[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0], {"beta": 0}),
    ("addmv", [1.0, 2.0], [[INF, 2.0], [3.0, 4.0]], [1.0, -1.0], {"alpha": 0}),
    ("addmv", [1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]], [1.0, -1.0], {"alpha": 0}),
    ("addmv", [NAN, 2.0], [[INF, 2.0], [3.0, 4.0]], [1.0, -1.0], {"alpha": 0, "beta": 0}),
    ("addr", BAD, [1.0, 2.0], [3.0, -1.0], {"beta": 0}),
    ("addr", [[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], [3.0, -1.0], {"alpha": 0}),
    ("addr", [[1.0, 2.0], [3.0, 4.0]], [INF, 2.0], [3.0, -1.0], {"alpha": 0}),  # addr's kernel: 0 * inf = NaN
]


@pytest.mark.parametrize("case", range(len(ADDMM)), ids=[f"{r[0]}-{i}" for i, r in enumerate(ADDMM)])
def test_addmm_family_zero_scales(device, case):
    name, inp, a, b, kw = ADDMM[case]
    check(_mm(name, inp, a, b, **kw), (A(inp), A(a), A(b)), {}, device)


def test_baddbmm_zero_alpha_skips_product(device):
    # PyTorch's BLAS path (>= 400 multiply-adds per batch) skips the product at alpha == 0; below
    # that its own loop computes 0 * inf = NaN, so the check runs at a size that takes the BLAS path
    b1 = np.ones((2, 8, 8), F32)
    b1[0, 0, 0] = INF
    b2 = np.full((2, 8, 8), 0.5, F32)
    inp = np.arange(128, dtype=F32).reshape(2, 8, 8)
    check(lambda L, x, y, z: L.baddbmm(x, y, z, alpha=0), (A(inp), A(b1), A(b2)), {}, device)
    check(lambda L, x, y, z: L.baddbmm(x, y, z, alpha=0, beta=0), (A(inp), A(b1), A(b2)), {}, device)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("ord", [2, 1, 3, math.inf])
def test_16_bit_vector_norm_accumulates_in_float32(device, dtype, ord):
    """[300, 300] squared overflows float16: PyTorch sums 16-bit norms in float32 and rounds once."""
    x = Arg(np.array([300.0, 300.0, 1.0], np.float32), grad=False)  # values: the 16-bit gradients round per op
    check(lambda L, t: L.linalg.vector_norm(t.to(getattr(L, dtype)), ord), (x,), {}, device, tol=2.0)
