"""Special-function kernels (optional in the contract), written against ``am.xp`` so they run on
CuPy and, under test, on NumPy: the inverse trigonometric and hyperbolic functions, exp2, erfc,
lgamma and digamma.

lgamma and digamma mirror the NumPy backend (``ember_cpu_numpy.special``): the Lanczos
approximation with reflection, and PyTorch's calc_digamma, vectorised, in float64, with
PyTorch's values at the poles and at +-inf (cupyx.scipy.special follows SciPy there instead).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember_cuda_cupy import arraymod as am

__all__ = ["SPECIAL_KERNELS"]

_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_EULER = 0.57721566490153286061
_PSI_10 = 2.25175258906672110764
_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


def _lgamma64(x):
    xp = am.xp
    reflect = x < 0.5
    z = xp.where(reflect, 1.0 - x, x) - 1.0
    a = xp.full_like(z, _LANCZOS[0])
    for i, c in enumerate(_LANCZOS[1:], 1):
        a += c / (z + i)
    t = z + 7.5
    out = 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(a)
    r = x - xp.round(x)
    out = xp.where(reflect, math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * r))) - out, out)
    out = xp.where(xp.abs(x) < 1e-10, -xp.log(xp.abs(x)) - _EULER * x, out)
    out = xp.where(reflect & (r == 0), math.inf, out)
    out = xp.where((x == 1) | (x == 2), 0.0, out)  # exact zeros, as PyTorch's
    return xp.where(xp.isinf(x), math.inf, out)


def _digamma64(x):
    xp = am.xp
    neg = x < 0
    refl = xp.where(neg, -math.pi / xp.tan(math.pi * (x - xp.trunc(x))), 0.0)
    y = xp.where(neg, 1.0 - x, x)
    acc = xp.zeros_like(y)
    for _ in range(10):
        small = y < 10
        acc -= xp.where(small, 1.0 / y, 0.0)
        y = xp.where(small, y + 1.0, y)
    z = 1.0 / (y * y)
    poly = xp.zeros_like(z)
    for c in _PSI_A:
        poly = poly * z + c
    series = xp.where(y < 1e17, z * poly, 0.0)
    out = acc + xp.where(y == 10, _PSI_10, xp.log(y) - 0.5 / y - series) + refl
    out = xp.where(neg & (x == xp.trunc(x)), math.nan, out)
    return xp.where(x == 0, xp.copysign(math.inf, -x), out)


def _erfc64(x):
    if am.is_cupy:
        from cupyx.scipy.special import erfc  # implemented in CuPy itself, no SciPy needed

        return erfc(x)
    import numpy as np  # NumPy under test: math.erfc keeps the tail's precision

    return np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()


def _kernel(name: str, fn: Callable, wide: bool = False) -> Callable:
    def kernel(x):
        if x.dtype.kind != "f":
            raise TypeError(f"{name} needs a floating array, got {x.dtype}")
        with am.quiet():
            out = fn(x.astype("float64")) if wide else fn(x)
            return am.xp.asarray(out).astype(x.dtype, copy=False)

    kernel.__name__ = name
    return kernel


def _xp(name: str) -> Callable:
    return lambda x: getattr(am.xp, name)(x)


_XP_NAMES = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "sinh": "sinh", "cosh": "cosh",
             "asinh": "arcsinh", "acosh": "arccosh", "atanh": "arctanh", "exp2": "exp2"}

SPECIAL_KERNELS: dict[str, Callable[..., Any]] = {
    **{name: _kernel(name, _xp(xp_name)) for name, xp_name in _XP_NAMES.items()},
    "erfc": _kernel("erfc", _erfc64),
    "lgamma": _kernel("lgamma", _lgamma64, wide=True),
    "digamma": _kernel("digamma", _digamma64, wide=True),
}
