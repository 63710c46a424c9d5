"""erf on NumPy arrays as whole-array polynomial pieces, accurate to 2 ulp in float32 and float64.

NumPy has no erf, and ``np.vectorize(math.erf)`` costs ~120 ns per element (7.7 ms for a GELU's
(8, 32, 256) activations, 60% of a small GPT block's training step). SciPy's would do, but it is a
large dependency for one function, so erf is computed here from pieces over |x|, each a polynomial
in its interval's own variable s = (x - c) / h (Horner, two whole-array passes per degree):

* near 0, erf(x) = x * p(x^2) keeps the relative precision of tiny inputs (2x/sqrt(pi));
* further out, erf(x) = 1 - exp(-x^2) * p(x): erfc(x) * exp(x^2) is smooth and slowly varying;
* past 4 (float32) or 6 (float64), erf rounds to 1, so x is clipped there (inf included).

Elements are sorted into the pieces with one comparison per boundary, and each piece runs on its
own elements only. float32 (and the float16/bfloat16 the backend widens to float32) is computed in
float32, float64 in float64. The coefficients come from ``backends/cpu_numpy/tools/fit_erf.py``
(Chebyshev least squares against ``math.erf``), except float64's first piece, which is erf's own
Taylor series. ``tests/backends/test_cpu_erf.py`` checks the error against ``math.erf``.

Example:
    >>> import math, numpy as np
    >>> x = np.array([-2.0, -0.0, 1e-300, 0.5, 3.0, np.inf])
    >>> bool(np.all(np.abs(erf(x) - [math.erf(v) for v in x]) <= 2 * np.spacing(1.0)))
    True
    >>> erf(np.array(-0.0)), erf(np.float32([np.nan]))
    (array(-0.), array([nan], dtype=float32))
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["erf"]

# (kind, lo, hi, centre, half-width, coefficients of s^0, s^1, ...), printed by tools/fit_erf.py.
# An "odd" piece's variable is x^2 (its lo/hi are still bounds on |x|).
_FITTED = {
    "float32": [
        ("odd", 0.0, 1.0, 0.5, 0.5, (
            0.9654687386375509, -0.14053609728153735, 0.0198524977227796,
            -0.0022854195288915455, 0.00021751198975790325, -1.766908081238413e-05,
            1.2316401729179468e-06,
        )),
        ("tail", 1.0, 4.0, 2.5, 1.5, (
            0.210806357528339, -0.1115214013906549, 0.056110958411634874,
            -0.02699779138428331, 0.01248403568573156, -0.005611762780077976,
            0.0024258851012639747, -0.0009155637844833793, 0.00036786867240583385,
            -0.0002455025877140863, 9.640451524677925e-05,
        )),
    ],
    "float64": [
        ("tail", 0.75, 2.5, 1.625, 0.875, (
            0.30226120936348577, -0.12777645708116184, 0.04973658850664825,
            -0.018073092113172796, 0.006190948863373072, -0.0020137822948407495,
            0.0006255328421032847, -0.00018639215096694875, 5.347430484581019e-05,
            -1.4816194431759569e-05, 3.974916807330901e-06, -1.0347889195624766e-06,
            2.6195219325947663e-07, -6.471144894850221e-08, 1.5560459104362098e-08,
            -3.5432726956852646e-09, 8.151139966735872e-10, -2.377852892020364e-10,
            5.21141946518828e-11,
        )),
        ("tail", 2.5, 6.0, 4.25, 1.75, (
            0.12934527478599267, -0.050652579975047504, 0.01939134046297384,
            -0.007266954342700028, 0.002669003737263824, -0.0009617326298100165,
            0.00034031140805121385, -0.0001183563607759446, 4.04873228987844e-05,
            -1.362460842243195e-05, 4.517604160710074e-06, -1.490620891379437e-06,
            4.810027546915398e-07, -1.375690386725455e-07, 4.277623629867303e-08,
            -2.202358396714062e-08, 6.830504012642102e-09,
        )),
    ],
}

# float64 below |x| = 0.75: erf(x) = x * sum_n 2/sqrt(pi) * (-1)^n t^n / (n! (2n + 1)), t = x^2; the
# 15th term is under 1e-18 of the first there. (centre 0, half-width 1: s is t itself)
_TAYLOR = ("odd", 0.0, 0.75, 0.0, 1.0,
           tuple(2 / math.sqrt(math.pi) * (-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(15)))

_PIECES: dict[np.dtype, list[tuple]] = {}
for _name, _pieces in _FITTED.items():
    _dt = np.dtype(_name)
    _typed = [(kind, _dt.type(lo), _dt.type(hi), _dt.type(c), _dt.type(1 / h), tuple(_dt.type(v) for v in coef))
              for kind, lo, hi, c, h, coef in ([_TAYLOR] if _name == "float64" else []) + _pieces]
    _PIECES[_dt] = _typed


def _poly(s: np.ndarray, coef: tuple) -> np.ndarray:
    """sum_k coef[k] s^k by Horner's rule, in place on a fresh array."""
    r = s * coef[-1]
    for c in coef[-2:0:-1]:
        r += c
        r *= s
    r += coef[0]
    return r


def _piece(v: np.ndarray, piece: tuple) -> np.ndarray:
    """erf of the non-negative (or NaN) values ``v`` by one piece."""
    kind, _, hi, c, inv_h, coef = piece
    if kind == "odd":
        t = v * v
        if c:
            t -= c
        if inv_h != 1:
            t *= inv_h
        p = _poly(t, coef)
        p *= v
        return p
    v = np.minimum(v, hi)  # erf is 1 to the dtype's precision from there on (inf too); NaN stays
    s = v - c
    s *= inv_h
    p = _poly(s, coef)
    np.multiply(v, v, out=v)
    np.negative(v, out=v)
    np.exp(v, out=v)
    p *= v
    np.subtract(1, p, out=p)
    return p


def _select(out: np.ndarray, mask: np.ndarray, values: np.ndarray) -> None:
    """``out[mask] = values[mask]`` without branches: on a random mask NumPy's masked copies
    mispredict per element (~5 ns each here), AND/OR on the bit patterns costs ~0.3 ns."""
    u = np.uint64 if out.itemsize == 8 else np.uint32
    bits = mask.astype(u)
    np.negative(bits, out=bits)  # all ones where mask, zeros elsewhere
    v = values.view(u)
    v &= bits
    np.invert(bits, out=bits)
    o = out.view(u)
    o &= bits
    o |= v


def erf(x: np.ndarray) -> np.ndarray:
    """The error function of a float array, elementwise; float64 stays float64, anything else is
    computed in float32 and returned as float32. erf(-x) = -erf(x) exactly (-0.0 included); NaN
    gives NaN, +-inf gives +-1."""
    dt = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
    a = np.empty(x.shape, dt)
    np.abs(x, out=a, casting="unsafe")
    a = a.reshape(-1)
    pieces = _PIECES[dt]
    # The first piece runs on every element (NaN fails every comparison below and stays there:
    # any piece turns it into NaN); each later piece k then overwrites the elements from its lower
    # bound on (the ones past its upper bound are overwritten again by piece k + 1). A piece that
    # holds few elements runs on those alone: gathering and scattering them costs ~3 passes over
    # the whole array, computing a piece 15-35.
    out = _piece(a, pieces[0])
    for piece in pieces[1:]:
        mask = a >= piece[1]
        n = int(np.count_nonzero(mask))
        if n == 0:
            break
        if n * 4 < a.size:
            idx = np.flatnonzero(mask)
            out[idx] = _piece(a[idx], piece)
        else:
            _select(out, mask, _piece(a, piece))
    # erf(|x|) >= 0, so x's sign bit ORed in is copysign (a third of np.copysign's cost)
    u = np.uint64 if dt.itemsize == 8 else np.uint32
    sign = np.bitwise_and(x.view(u) if x.dtype == dt else x.astype(dt).view(u), u(1) << u(8 * dt.itemsize - 1))
    out = out.reshape(x.shape)
    out.view(u)[...] |= sign
    return out
