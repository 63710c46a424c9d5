"""The torch.special functions added after the first special-function pass: gammainc/gammaincc (and
torch.igamma/igammac, Tensor.igamma(_)/igammac(_)), erfcx, modified_bessel_i0/i1, spherical_bessel_j0,
bessel_j0/j1/y0/y1, modified_bessel_k0/k1, scaled_modified_bessel_k0/k1, airy_ai and the orthogonal polynomials.
Each case runs on real PyTorch and on ember (every device) and compares values, dtypes, exception types and
gradients (or PyTorch's lack of them).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
NAN, INF = math.nan, math.inf
UNARY = ["erfcx", "modified_bessel_i0", "modified_bessel_i1", "spherical_bessel_j0", "bessel_j0", "bessel_j1",
         "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1", "scaled_modified_bessel_k0",
         "scaled_modified_bessel_k1", "airy_ai"]
POLYNOMIALS = [f"{s}chebyshev_polynomial_{k}" for s in ("", "shifted_") for k in "tuvw"] + [
    "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p"]
UNARY_GRID = [NAN, INF, -INF, 0.0, -0.0, 1e-300, 1e-8, 0.3, 0.5, -0.5, 1.0, -1.0, 2.0, -3.7, 7.9, 8.1, -12.0, 25.9,
              26.1, -26.5, -26.8, 30.0, 100.0, -700.0, 700.0, 1e5, 1e300, *np.linspace(-30, 30, 121)]


def _grid(values, dtype):
    with np.errstate(over="ignore"):
        return np.array(values, dtype=dtype)


# ---- gammainc / gammaincc ----------------------------------------------------------------------------
A_GRID = [0.0, 1e-3, 0.5, 1.0, 2.5, 7.0, 20.0, 55.5, 300.0, -1.0, INF, NAN]
X_GRID = [0.0, 1e-3, 0.4, 1.0, 3.0, 7.5, 19.0, 60.0, 280.0, 1000.0, -1.0, INF, NAN]


@pytest.mark.parametrize("name", ["special.gammainc", "special.gammaincc", "igamma", "igammac"])
@pytest.mark.parametrize("dtype", [F32, F64])
def test_igamma_grid(device, name, dtype):
    a, x = np.meshgrid(np.array(A_GRID, dtype), np.array(X_GRID, dtype))
    fn = name.split(".")

    def run(lib, ta, tx):
        mod = lib.special if len(fn) == 2 else lib
        return getattr(mod, fn[-1])(ta, tx)
    # float32: PyTorch computes in float, ember in double and rounds once (a few ulps apart)
    check(run, [Arg(a, grad=False), Arg(x)], {}, device, tol=8 if dtype is F32 else 1)


def test_igamma_random_float64(device):
    # ember sums the series / continued fraction to convergence; PyTorch's Temme expansion near x = a
    # (a > 20) is ~2e-9 off (mpmath agrees with ember), inside the float64 tolerance of 1e-7
    rng = np.random.default_rng(3)
    a, x = rng.uniform(0, 60, 400), rng.uniform(0, 80, 400)
    check(lambda lib, ta, tx: lib.special.gammainc(ta, tx), [Arg(a, grad=False), Arg(x)], {}, device)
    check(lambda lib, ta, tx: lib.special.gammaincc(ta, tx), [Arg(a, grad=False), Arg(x)], {}, device)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_no_derivative_for_a(device, name):
    check(lambda lib, ta, tx: getattr(lib, name)(ta, tx), [Arg(np.array([1.5, 3.0])), Arg(np.array([0.5, 2.0]))],
          {}, device)


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_method_inplace_out_and_dtypes(device, name):
    a, x = np.array([1.5, 3.0, 0.5]), np.array([0.5, 2.0, 4.0])
    check(lambda lib, ta, tx: getattr(ta, name)(tx), [Arg(a, grad=False), Arg(x, grad=False)], {}, device)
    check(lambda lib, ta, tx: getattr(ta.clone(), name + "_")(tx), [Arg(a, grad=False), Arg(x, grad=False)], {},
          device)
    check(lambda lib, ta, tx: getattr(lib, name)(ta, tx, out=lib.empty_like(ta)),
          [Arg(a, grad=False), Arg(x, grad=False)], {}, device)
    # integers refused ("igamma_cpu" ... 'Long'); half computed (CPU only: other backends may lack it)
    for dt in (np.int64, np.float16) if device == "cpu" else (np.int64,):
        check(lambda lib, ta, tx: getattr(lib, name)(ta, tx), [Arg(a.astype(dt), grad=False),
                                                               Arg(x.astype(dt), grad=False)], {}, device)
    check(lambda lib, ta, tx: getattr(lib, name)(ta, tx), [Arg(a.astype(F32), grad=False), Arg(x, grad=False)], {},
          device)
    check(lambda lib, ta: lib.special.gammainc(ta, 2.0), [Arg(a, grad=False)], {}, device)


# ---- erfcx and the unary Bessel functions ---------------------------------------------------------------
@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_unary_grid(device, name, dtype):
    x = _grid(UNARY_GRID, dtype)
    if name.startswith("modified_bessel_i"):
        x = x[np.abs(x) < 700]  # (exp(|x|) overflows either way; keep the comparison to finite values)
    # float32: PyTorch computes these in float, ember in double then rounds once; airy_ai's float exp(zeta)
    # is 1.3e-6 off at x = 10, and its float sin/cos of the phase near -30 a few ulps: 4x the usual tolerance
    check(lambda lib, t: getattr(lib.special, name)(t), [Arg(x)], {}, device, tol=4 if dtype is F32 else 1)


# Bessel functions and Ai at their range boundaries (5 for J/Y, 2 for K, -2.09/2.09/8.32/103.892 for Ai), tiny
# arguments (Y and K blow up), and the large arguments where the phase of J/Y is rounded to the input's dtype
BESSEL = UNARY[4:]
BESSEL_GRID = [4.999, 5.0, 5.001, 1.999, 2.0, 2.001, -2.1, -2.09, -2.08, 2.08, 2.09, 2.1, 8.32, 8.33, 103.0, 103.9,
               104.0, -60.0, -100.0, 1e-5, 1.1e-5, 9e-6, 1e-30, 3e3, 1e4, 12345.6, 1e7, -1e7, *np.geomspace(1e-6, 1e3, 60)]


@pytest.mark.parametrize("name", BESSEL)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_bessel_boundaries(device, name, dtype):
    x = _grid(BESSEL_GRID, dtype)
    check(lambda lib, t: getattr(lib.special, name)(t), [Arg(x)], {}, device, tol=4 if dtype is F32 else 1)


@pytest.mark.parametrize("name", BESSEL)
def test_bessel_random(device, name):
    x = np.random.default_rng(7).uniform(-40, 40, 500)
    check(lambda lib, t: getattr(lib.special, name)(t), [Arg(x)], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(t), [Arg(x.astype(F32))], {}, device, tol=4)


@pytest.mark.parametrize("name", UNARY)
def test_unary_dtypes(device, name):
    odd = (np.array([0.5, 2.0], np.float16), np.array([0.5 + 1j], np.complex64)) if device == "cpu" else ()
    for values in (np.array([0, 1, -3, 7]), np.array([True, False]), *odd):
        check(lambda lib, t: getattr(lib.special, name)(t), [Arg(values, grad=False)], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(t, out=lib.empty_like(t)),
          [Arg(np.array([0.5, 3.0]), grad=False)], {}, device)


# ---- the orthogonal polynomials -----------------------------------------------------------------------
POLY_X = [-3.0, -1.5, -1.0, -0.7, -0.3, -0.0, 0.0, 0.2, 0.5, 0.99, 1.0, 1.2, 2.5, INF, -INF]
POLY_N = [-2.0, 0.0, 1.0, 2.0, 3.0, 5.0, 7.0, 8.0, 9.0, 12.0, 20.0, 40.0, 130.0, 600.0, 3.7, -0.5]


@pytest.mark.parametrize("name", POLYNOMIALS)
@pytest.mark.parametrize("dtype", [F32, F64])
def test_polynomial_grid(device, name, dtype):
    x, n = np.meshgrid(np.array(POLY_X, dtype), np.array(POLY_N, dtype))
    # float32: PyTorch runs the recurrence in float, ember in double then rounds: up to 600 steps of
    # float rounding (6e-5 relative on laguerre/legendre at n = 600), and cancellation near the roots
    # (an absolute 1e-5 on values of order 1), so float32 is compared at 50x the usual tolerance
    check(lambda lib, tx, tn: getattr(lib.special, name)(tx, tn), [Arg(x), Arg(n)], {}, device,
          tol=50 if dtype is F32 else 1)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_nan_x(device, name):
    # NaN x: n < 2 only (PyTorch's loop stops at NaN and returns an uninitialised value for n >= 2)
    x, n = np.array([NAN, NAN, NAN, 0.5]), np.array([-1.0, 0.0, 1.0, 4.0])
    check(lambda lib, tx, tn: getattr(lib.special, name)(tx, tn), [Arg(x), Arg(n)], {}, device)


@pytest.mark.parametrize("name", POLYNOMIALS)
def test_polynomial_scalars_and_dtypes(device, name):
    x = np.array([-1.5, -0.4, 0.3, 1.0, 2.0])
    for n in (0, 3, 11, 4.9, -1):
        check(lambda lib, t, n=n: getattr(lib.special, name)(t, n), [Arg(x)], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(0.3, t), [Arg(np.array([0.0, 2.0, 9.0, 10.0]))], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(t, 3), [Arg(np.array([1, 2, -3]), grad=False)], {}, device)
    check(lambda lib, t, n: getattr(lib.special, name)(t, n),
          [Arg(np.array([0.5, 2.0], F32)), Arg(np.array([3.0, 10.0], F64))], {}, device)
    check(lambda lib, t, n: getattr(lib.special, name)(t, n),
          [Arg(np.array([[0.5], [2.0]])), Arg(np.array([1, 3, 4]), grad=False)], {}, device)
    for dt in (np.float16, np.complex64) if device == "cpu" else ():  # (other backends may lack these dtypes)
        check(lambda lib, t: getattr(lib.special, name)(t, 2), [Arg(np.array([0.5], dt), grad=False)], {}, device)
    check(lambda lib, t: getattr(lib.special, name)(t, 2, out=lib.empty_like(t)), [Arg(x, grad=False)],
          {}, device)


# ---- distributions whose cdf is the incomplete gamma function -----------------------------------
@pytest.mark.parametrize("dist", ["Gamma", "InverseGamma", "Chi2"])
def test_gamma_family_cdf(device, dist):
    conc = Arg(np.array([0.5, 2.0, 7.5, 30.0]), grad=False)  # (igamma has no derivative in its first argument)
    rate = Arg(np.array([1.0, 0.3, 2.0, 0.7]))
    value = Arg(np.array([0.2, 3.0, 4.0, 50.0]))

    def fn(L, c, r, v):
        d = L.distributions.Chi2(c) if dist == "Chi2" else getattr(L.distributions, dist)(c, r)
        return d.cdf(v * (1 + 0 * r))

    check(fn, (conc, rate, value), {}, device, tol=4)
