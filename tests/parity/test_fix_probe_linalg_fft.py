"""Probe of torch.linalg / torch.fft parity: divergences found and fixed.

lstsq's gradient ignoring rcond (PyTorch differentiates pinv(A) B with pinv's default tolerance) and
its input.dim() rule; cholesky_ex's L and info for non positive-definite and NaN inputs (what
LAPACK's potrf leaves: the finished columns, the failing pivot, the rest of tril(A)).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN = math.nan
R = np.random.default_rng(5)


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def RND(*shape: int, dtype=F64) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype))


LSTSQ = [((RND(4, 3), RND(4, 2)), {"rcond": 0.5, "driver": "gelsd"}),
         ((RND(2, 5, 3), RND(2, 5, 2)), {"rcond": 0.4, "driver": "gelss"}),
         ((RND(4, 3), RND(2, 4, 2)), {}),
         ((RND(2, 4, 3), RND(2, 4, 2)), {})]


@pytest.mark.parametrize("args,kwargs", LSTSQ, ids=range(len(LSTSQ)))
def test_lstsq(device, args, kwargs):
    check(lambda L, a, b, **kw: L.linalg.lstsq(a, b, **kw), args, kwargs, device)


def _nonpd(seed: int) -> Arg:
    r = np.random.default_rng(seed)
    n = 2 + seed % 5
    a = r.standard_normal((n, n))
    return Arg(a + a.T + (seed % 3) * np.eye(n))


CHOL = [A([[1.0, 2.0], [2.0, 1.0]]), A([[4.0, 2.0, 1.0], [2.0, 1.0, 3.0], [1.0, 3.0, 5.0]], grad=False),
        A([[4.0, 2.0, 1.0], [2.0, 5.0, 3.0], [1.0, 3.0, -5.0]], F64),
        A([[[1.0, 2.0], [2.0, 1.0]], [[2.0, 0.0], [0.0, 2.0]], [[-1.0, 0.0], [0.0, 1.0]]]),
        A([[1.0, 2.0], [2.0, NAN]]), A([[NAN, 2.0], [2.0, 1.0]]),
        A([[1.0, NAN, 0.0], [NAN, 2.0, 0.0], [0.0, 0.0, 1.0]]), *[_nonpd(s) for s in range(6)]]


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("x", CHOL, ids=range(len(CHOL)))
def test_cholesky_ex_not_positive_definite(device, x, upper):
    check(lambda L, a: L.linalg.cholesky_ex(a, upper=upper), (x,), {}, device)


@pytest.mark.parametrize("x", CHOL[:4], ids=range(4))
def test_cholesky_not_positive_definite_raises(device, x):
    check(lambda L, a: L.linalg.cholesky(a), (x,), {}, device)
