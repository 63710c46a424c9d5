"""``ember.special``: PyTorch's ``torch.special`` namespace over ember's special functions.

Most names are the ``ember.*`` ops under ``torch.special``'s names (``expit`` is ``sigmoid``,
``gammaln`` is ``lgamma``, ``psi`` is ``digamma``), with ``out=`` as in PyTorch; ``entr``, ``ndtr``,
``log_ndtr``, ``ndtri``, ``multigammaln``, ``i0e``, ``i1``, ``i1e``, ``zeta`` and ``xlog1py`` exist only
here. See docs/special.md.

Example:
    >>> import ember
    >>> ember.special.expit(ember.tensor([0.0]))
    tensor([0.5000])
    >>> ember.special.gammaln(ember.tensor([4.0]))
    tensor([1.7918])
"""

from __future__ import annotations

import math

from ember.autograd.function import Function
from ember.functions import elementwise as _ew
from ember.functions import reduction as _red
from ember.functions import special as _fs
from ember.functions.creation import full_like
from ember.functions.special import (
    _as_float,
    _in_float64,
    _out,
    digamma,
    erfc,
    erfinv,
    exp2,
    i0,
    lgamma,
    logit,
    polygamma,
    sinc,
    xlog1py,
    xlogy,
)
from ember.tensor import Tensor

_BESSEL_NAMES = ("bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
                 "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "airy_ai")
__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_k0", "modified_bessel_k1",
           "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc",
           "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp",
           "modified_bessel_i0", "modified_bessel_i1", "multigammaln", "ndtr", "ndtri", "polygamma", "psi", "round",
           "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta", *_fs.POLYNOMIALS]

psi = digamma
gammaln = lgamma
i0e, i1, i1e, ndtri, zeta = _fs.special_i0e, _fs.special_i1, _fs.special_i1e, _fs.special_ndtri, _fs.special_zeta
gammainc, gammaincc, erfcx = _fs.special_gammainc, _fs.special_gammaincc, _fs.special_erfcx
modified_bessel_i0, modified_bessel_i1 = _fs.special_modified_bessel_i0, _fs.special_modified_bessel_i1
spherical_bessel_j0 = _fs.special_spherical_bessel_j0
(bessel_j0, bessel_j1, bessel_y0, bessel_y1, modified_bessel_k0, modified_bessel_k1, scaled_modified_bessel_k0,
 scaled_modified_bessel_k1, airy_ai) = _fs.BESSEL
(chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w,
 shifted_chebyshev_polynomial_t, shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v,
 shifted_chebyshev_polynomial_w, hermite_polynomial_h, hermite_polynomial_he, laguerre_polynomial_l,
 legendre_polynomial_p) = _fs.POLYNOMIALS.values()


def expit(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The logistic sigmoid, 1 / (1 + exp(-x)) (``ember.sigmoid``).

    Example:
        >>> ember.special.expit(ember.tensor([0.0]))
        tensor([0.5000])
    """
    return _out(_ew.sigmoid(input), out)


def erf(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The error function (``ember.erf``).

    Example:
        >>> ember.special.erf(ember.tensor([0.0]))
        tensor([0.])
    """
    return _out(_ew.erf(input), out)


def expm1(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """exp(x) - 1, exact near 0 (``ember.expm1``).

    Example:
        >>> ember.special.expm1(ember.tensor([0.0]))
        tensor([0.])
    """
    return _out(_ew.expm1(input), out)


def log1p(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log(1 + x), exact near 0 (``ember.log1p``).

    Example:
        >>> ember.special.log1p(ember.tensor([0.0]))
        tensor([0.])
    """
    return _out(_ew.log1p(input), out)


def round(input: Tensor, *, decimals: int = 0, out: Tensor | None = None) -> Tensor:  # noqa: A001
    """Round half to even (``ember.round``).

    Example:
        >>> ember.special.round(ember.tensor([2.5]))
        tensor([2.])
    """
    return _out(_ew.round(input, decimals=decimals), out)


def logsumexp(input: Tensor, dim: int | tuple, keepdim: bool = False, *, out: Tensor | None = None) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed stably (``ember.logsumexp``).

    Example:
        >>> ember.special.logsumexp(ember.tensor([0.0, 0.0]), 0)
        tensor(0.6931)
    """
    return _out(_red.logsumexp(input, dim, keepdim), out)


def softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Softmax along ``dim`` (``ember.softmax``).

    Example:
        >>> ember.special.softmax(ember.tensor([0.0, 0.0]), 0)
        tensor([0.5000, 0.5000])
    """
    return _red.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int, *, dtype=None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (``ember.log_softmax``).

    Example:
        >>> ember.special.log_softmax(ember.tensor([0.0, 0.0]), 0)
        tensor([-0.6931, -0.6931])
    """
    return _red.log_softmax(input, dim, dtype)


class _Entr(Function):
    _backward_name = "SpecialEntrBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        inner = _ew.where(x == 0, 0.0, _ew.where(_ew.isnan(x), x, -math.inf))
        return _ew.where(x > 0, -x * _ew.log(x), inner)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * -(_ew.log(x) + 1)


def entr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise entropy -x log(x): 0 at 0, -inf below 0.

    Example:
        >>> ember.special.entr(ember.tensor([0.0, 0.5]))
        tensor([0.0000, 0.3466])
    """
    return _out(_Entr.apply(_as_float("entr", input)), out)


def ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The standard normal CDF, 0.5 erfc(-x / sqrt(2)).

    Example:
        >>> ember.special.ndtr(ember.tensor([0.0]))
        tensor([0.5000])
    """
    # PyTorch's formula, each step rounded to the input's dtype: (1 + erf(x / sqrt 2)) / 2 (0 below about
    # -5.9 in float32, and its float16/bfloat16 rounding of 1 + erf), not the tail-accurate erfc form
    return _out((1 + _ew.erf(_as_float("ndtr", input) * math.sqrt(0.5))) * 0.5, out)


# (2k - 1)!! / (-2)^k: erfcx(y) ~ (1 + sum c_k / y^2k) / (y sqrt(pi)) for large y
_ERFCX_SERIES = tuple(math.prod(range(1, 2 * k, 2)) / (-2.0) ** k for k in range(1, 8))


@_in_float64
def _log_ndtr(x: Tensor) -> Tensor:
    """PyTorch's calc_log_ndtr: log1p(-erfc(t) / 2) from -1 up, log(erfc(-t) / 2) below, and below
    -20 (where erfc(-t) heads for underflow) the asymptotic series of erfcx(-t) instead. In float64:
    a float32 erfc(-t) is subnormal from x = -13 on."""
    t = x * math.sqrt(0.5)
    upper = _ew.log1p(erfc(t) * -0.5)
    lower = _ew.log(erfc(-t) * 0.5)
    y = -t
    iy2 = 1 / (y * y)
    series = full_like(y, _ERFCX_SERIES[-1])  # (y * 0 would be NaN at x = -inf)
    for c in reversed(_ERFCX_SERIES[:-1]):
        series = series * iy2 + c
    tail = _ew.log1p(series * iy2) - _ew.log(y * (2 * math.sqrt(math.pi))) - t * t
    return _ew.where(x < -1, _ew.where(x < -20, tail, lower), upper)


class _LogNdtr(Function):
    _backward_name = "SpecialLogNdtrBackward0"

    @staticmethod
    def forward(ctx, x):
        out = _log_ndtr(x)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, g):
        x, out = ctx.saved_tensors
        return g / math.sqrt(2 * math.pi) * _ew.exp(-(out + x * x / 2))


def log_ndtr(input: Tensor, *, out: Tensor | None = None) -> Tensor:
    """log of the standard normal CDF, accurate far into the lower tail.

    Example:
        >>> ember.special.log_ndtr(ember.tensor([0.0]))
        tensor([-0.6931])
    """
    return _out(_LogNdtr.apply(_fs._refuse_half("log_ndtr", _as_float("log_ndtr", input))), out)


def multigammaln(input: Tensor, p: int, *, out: Tensor | None = None) -> Tensor:
    """The multivariate log-gamma of dimension p: p(p-1)/4 log(pi) + sum_j lgamma(x - j/2).

    Example:
        >>> ember.special.multigammaln(ember.tensor([2.0]), 2)
        tensor([0.4516])
    """
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    x = _as_float("multigammaln", input)  # PyTorch 2.13 no longer checks x > (p - 1) / 2
    # PyTorch's composite step by step (its rounding in 16-bit dtypes): x + arange(-(p-1)/2, 1/2, 1/2)
    # in x's dtype (the j = 0 term is x + 0.0, +0.0 at x = -0.0), lgamma, one sum over the terms,
    # then the constant added
    from ember.functions.creation import arange

    shifts = arange(-(p - 1) / 2, 0.5, 0.5, dtype=x.dtype, device=x.device)
    terms = lgamma(x.unsqueeze(-1) + shifts)
    return _out(terms.sum(-1) + p * (p - 1) * math.log(math.pi) / 4, out)


_ = (erfinv, exp2, i0, i0e, i1, i1e, logit, polygamma, sinc, xlog1py, xlogy)  # re-exported under torch.special's names
