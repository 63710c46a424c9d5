"""Fit the polynomial pieces of ``ember_cpu_numpy.erf`` and print them as Python source.

Each piece approximates erf on an interval [lo, hi) of |x| through a polynomial in the
interval's own variable s = (x - c) / h in [-1, 1] (c, h: its centre and half-width):

* ``"odd"`` pieces: erf(x) = x * p(s) with s = (x^2 - c) / h, near 0 where erf(x) ~ 2x/sqrt(pi)
  must keep its relative precision;
* ``"tail"`` pieces: erf(x) = 1 - exp(-x^2) * p(s), where erfc(x) * exp(x^2) is smooth and
  slowly varying (an entire function, so a low degree reaches the dtype's precision).

The polynomial is the Chebyshev least-squares fit on 4000 Chebyshev nodes of [lo, hi] against
``math.erf`` / ``math.erfc`` (the C library's, accurate to an ulp of float64), converted to powers
of s. float64's first piece needs no fit: its Taylor series, summed to 14 terms, is computed in
the module itself. Run from the repository root::

    python backends/cpu_numpy/tools/fit_erf.py

The degrees were chosen as the smallest that keep the worst error over 2M random points per piece
at 2 ulp (tests/backends/test_cpu_erf.py checks the result against ``math.erf``).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import chebyshev

#: dtype -> [(kind, lo, hi, degree)]; the last piece's hi is where erf rounds to 1 in that dtype
PIECES = {
    "float32": [("odd", 0.0, 1.0, 6), ("tail", 1.0, 4.0, 10)],
    "float64": [("tail", 0.75, 2.5, 18), ("tail", 2.5, 6.0, 16)],
}


def _target(kind: str, v: np.ndarray) -> np.ndarray:
    if kind == "odd":  # erf(x) / x as a function of t = x^2
        x = np.sqrt(v)
        return np.array([math.erf(a) / a if a else 2 / math.sqrt(math.pi) for a in x])
    return np.array([math.erfc(a) * math.exp(a * a) for a in v])


def fit(kind: str, lo: float, hi: float, degree: int, nodes: int = 4000) -> tuple[float, float, list[float]]:
    """(centre, half-width, coefficients of s^0, s^1, ...) of one piece."""
    if kind == "odd":
        lo, hi = lo * lo, hi * hi  # the piece's variable is x^2
    c, h = (lo + hi) / 2, (hi - lo) / 2
    s = np.cos(np.pi * (np.arange(nodes) + 0.5) / nodes)
    coef = chebyshev.cheb2poly(chebyshev.chebfit(s, _target(kind, c + h * s), degree))
    return c, h, [float(v) for v in coef]


def main() -> None:
    for dtype, pieces in PIECES.items():
        print(f"    {dtype!r}: [")
        for kind, lo, hi, degree in pieces:
            c, h, coef = fit(kind, lo, hi, degree)
            print(f"        ({kind!r}, {lo!r}, {hi!r}, {c!r}, {h!r}, (")
            for k in range(0, len(coef), 3):
                print("            " + " ".join(f"{v!r}," for v in coef[k:k + 3]))
            print("        )),")
        print("    ],")


if __name__ == "__main__":
    main()
