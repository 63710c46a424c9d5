"""Special-function kernels (optional in the contract): inverse trigonometric and hyperbolic
functions, exp2, erfc, lgamma and digamma, on NumPy alone (no SciPy).

lgamma and digamma are vectorised approximations computed in float64 whatever the input dtype
(then rounded back), accurate to ~1e-15 absolute near their zeros and ~1e-15 relative elsewhere;
``math.lgamma`` through ``np.vectorize`` would be as accurate but ~50x slower. Their poles and
non-finite inputs follow PyTorch: lgamma is +inf at 0 and every negative integer and at +-inf;
digamma(+-0) is -+inf, NaN at negative integers and at -inf.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["SPECIAL_KERNELS", "lgamma", "digamma", "erfc"]

# Lanczos approximation, g = 7, n = 9 (the coefficients of Numerical Recipes / Wikipedia):
# Gamma(z + 1) = sqrt(2 pi) t^(z + 1/2) e^-t A(z), t = z + g + 1/2; relative error ~1e-15.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_EULER = 0.57721566490153286061


def _lgamma_ge_half(x: np.ndarray) -> np.ndarray:
    """lgamma for x >= 0.5 (other values give garbage, masked out by the caller)."""
    z = x - 1.0
    a = np.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a += c / (z + i)
    t = z + (_LANCZOS_G + 0.5)
    return _HALF_LOG_2PI + (z + 0.5) * np.log(t) - t + np.log(a)


def _lgamma64(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        reflect = x < 0.5
        xr = np.where(reflect, 1.0 - x, x)
        out = _lgamma_ge_half(xr)
        # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x); x - round(x) is exact, so sin(pi r)
        # keeps full relative precision next to the poles.
        r = x - np.round(x)
        refl = math.log(math.pi) - np.log(np.abs(np.sin(math.pi * r))) - out
        out = np.where(reflect, refl, out)
        tiny = np.abs(x) < 1e-10  # -log|x| - euler x: exact to rounding, no subnormal sin
        out = np.where(tiny, -np.log(np.abs(x)) - _EULER * x, out)
        out = np.where(reflect & (r == 0), np.inf, out)  # the poles: 0 and the negative integers
        out = np.where((x == 1) | (x == 2), 0.0, out)  # exact zeros, as PyTorch's
        return np.where(np.isinf(x), np.inf, out)


# digamma: PyTorch's calc_digamma (Cephes psi): recurrence up to x >= 10, then the asymptotic series.
_PSI_10 = 2.25175258906672110764
_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


def _digamma64(x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        neg = x < 0
        # psi(x) = psi(1 - x) - pi / tan(pi r), r the fractional part of x (more exact than pi x)
        refl = np.where(neg, -math.pi / np.tan(math.pi * (x - np.trunc(x))), 0.0)
        y = np.where(neg, 1.0 - x, x)
        acc = np.zeros_like(y)
        for _ in range(10):
            small = y < 10
            acc -= np.where(small, 1.0 / y, 0.0)
            y = np.where(small, y + 1.0, y)
        z = 1.0 / (y * y)
        poly = np.zeros_like(z)
        for c in _PSI_A:
            poly = poly * z + c
        series = np.where(y < 1e17, z * poly, 0.0)
        out = acc + np.where(y == 10, _PSI_10, np.log(y) - 0.5 / y - series) + refl
        out = np.where(neg & (x == np.trunc(x)), np.nan, out)  # negative integers and -inf
        return np.where(x == 0, np.copysign(np.inf, -x), out)


def _in_float64(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"{fn.__name__[1:-2]} needs a floating array, got {x.dtype}")
        with np.errstate(over="ignore"):  # lgamma of a float32 past ~4e36 overflows to inf, as in PyTorch
            return np.asarray(fn(np.asarray(x, np.float64))).astype(x.dtype, copy=False)

    kernel.__name__ = fn.__name__[1:-2]
    return kernel


lgamma = _in_float64(_lgamma64)
digamma = _in_float64(_digamma64)


def erfc(x: np.ndarray) -> np.ndarray:
    """erfc through math.erfc: full precision in the tail, where 1 - erf(x) cancels."""
    if x.dtype.kind != "f":
        raise TypeError(f"erfc needs a floating array, got {x.dtype}")
    return np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()


def _ufunc(fn: Callable, name: str) -> Callable[[np.ndarray], np.ndarray]:
    def kernel(x: np.ndarray) -> np.ndarray:
        if x.dtype.kind != "f":
            raise TypeError(f"{name} needs a floating array, got {x.dtype}")
        with np.errstate(all="ignore"):
            return np.asarray(fn(x))  # a ufunc returns a NumPy scalar for a 0-d input

    kernel.__name__ = name
    return kernel


_UFUNCS = {"asin": np.arcsin, "acos": np.arccos, "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh,
           "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh, "exp2": np.exp2}

SPECIAL_KERNELS: dict[str, Callable] = {
    **{name: _ufunc(fn, name) for name, fn in _UFUNCS.items()},
    "erfc": erfc, "lgamma": lgamma, "digamma": digamma,
}
