"""Standard Gamma(alpha, 1) sampling on the device, with PyTorch's reparameterised gradient.

Sampling is Marsaglia and Tsang's method (2000) composed from ember ops, so every backend runs
it on the device: each round draws a normal and a uniform per element and accepts where the
squeeze test passes; rounds repeat until every element is accepted (about 1 in 20 is rejected per
round). ``alpha < 1`` samples ``Gamma(alpha + 1)`` and boosts it with ``u ** (1 / alpha)``.

The gradient of a sample with respect to ``alpha`` is the implicit reparameterisation gradient
``dx/dalpha = -(dF/dalpha) / f`` (``F``, ``f``: the Gamma CDF and density at the sample), computed
with the same approximations as PyTorch's ``_standard_gamma_grad`` (a series for ``x < 0.8``, Rice's
saddle-point expansion for ``alpha > 8``, a fitted rational function otherwise), so it matches
PyTorch's to rounding for the same ``(alpha, x)``.
"""

from __future__ import annotations

import ember
from ember.autograd import Function
from ember.distributions.utils import finfo
from ember.tensor import Tensor

_MAX_ROUNDS = 200  # P(an element is rejected 200 times) is far below 1e-200; past it (alpha inf/NaN) give NaN

# PyTorch's bivariate rational approximation of the gradient (ATen/native/Distributions.h)
_COEF_UV = (
    (0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084),
    (0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915, -0.00058392623),
    (0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326, 0.00085092367,
     -1.5247877e-07),
)


def sample_standard_gamma(alpha: Tensor, generator=None) -> Tensor:
    """Draws from Gamma(alpha, 1), elementwise, in ``alpha``'s dtype (no autograd)."""
    alpha = alpha.detach()
    shape, dtype, device = tuple(alpha.shape), alpha.dtype, alpha.device
    tiny = finfo(dtype).tiny
    boost = alpha < 1
    a = ember.where(boost, alpha + 1, alpha)
    d = a - 1.0 / 3.0
    c = (9 * d).rsqrt()
    out = ember.full(shape, float("nan"), dtype=dtype, device=device)
    pending = ember.ones(shape, dtype=ember.bool, device=device)
    for _ in range(_MAX_ROUNDS if alpha.numel() else 0):
        x = ember.randn(shape, generator=generator, dtype=dtype, device=device)
        u = ember.rand(shape, generator=generator, dtype=dtype, device=device)
        v = (1 + c * x) ** 3
        bound = 0.5 * x * x + d - d * v + d * ember.log(v.clamp(min=tiny))
        ok = (v > 0) & (ember.log(u) < bound)
        out = ember.where(ok & pending, d * v, out)
        pending = pending & ~ok
        if not bool(pending.any().item()):
            break
    u = ember.rand(shape, generator=generator, dtype=dtype, device=device)
    out = ember.where(boost, out * u.pow(alpha.reciprocal()), out)
    return out.clamp(min=tiny)


def standard_gamma_grad(alpha: Tensor, x: Tensor) -> Tensor:
    """d(sample)/d(alpha) of a Gamma(alpha, 1) sample ``x`` (PyTorch's ``_standard_gamma_grad``)."""
    alpha, x = alpha.detach(), x.detach()
    result = ember.where(x < 0.8, _grad_small_x(alpha, x),
                         ember.where(alpha > 8.0, _grad_large_alpha(alpha, x), _grad_rational(alpha, x)))
    return result


def _grad_small_x(alpha: Tensor, x: Tensor) -> Tensor:
    """A Taylor series of the CDF in ``x``."""
    numer = ember.ones_like(x)
    denom = alpha
    series1 = numer / denom
    series2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = x.pow(alpha)
    gamma_pdf = x.pow(alpha - 1) * ember.exp(-x)
    gamma_cdf = pow_x_alpha * series1
    gamma_cdf_alpha = (ember.log(x) - ember.digamma(alpha)) * gamma_cdf - pow_x_alpha * series2
    result = -gamma_cdf_alpha / gamma_pdf
    return ember.where(result.isnan(), ember.zeros_like(result), result)


def _grad_large_alpha(alpha: Tensor, x: Tensor) -> Tensor:
    """Rice's saddle-point expansion (alpha > 8)."""
    numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    numer_2 = 1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha + alpha * (107 + 3600 * x)
    near = numer_1 * numer_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
    denom = (8 * alpha).sqrt()
    term2 = denom / (alpha - x)
    term3 = (x - alpha - alpha * ember.log(x / alpha)).abs().pow(-1.5)
    term23 = ember.where(x < alpha, term2 - term3, term2 + term3)
    term1 = ember.log(x / alpha) * term23 - (2 / alpha).sqrt() * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    far = -stirling * (x * term1) / denom
    return ember.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near, far)


def _grad_rational(alpha: Tensor, x: Tensor) -> Tensor:
    """PyTorch's fitted rational function of log(x / alpha) and log(alpha)."""
    u = ember.log(x / alpha)
    v = ember.log(alpha)
    coef_v = [c0 + u * (c1 + u * c2) for c0, c1, c2 in zip(*_COEF_UV, strict=True)]
    p = coef_v[0] + v * (coef_v[1] + v * (coef_v[2] + v * coef_v[3]))
    q = coef_v[4] + v * (coef_v[5] + v * (coef_v[6] + v * coef_v[7]))
    return ember.exp(p / q)


class StandardGamma(Function):
    """A Gamma(alpha, 1) sample whose gradient w.r.t. ``alpha`` is the implicit reparameterisation
    gradient (PyTorch's ``_standard_gamma``)."""

    _backward_name = "StandardGammaBackward0"

    @staticmethod
    def forward(ctx, alpha: Tensor) -> Tensor:
        x = sample_standard_gamma(alpha)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        alpha, x = ctx.saved_tensors
        return grad * standard_gamma_grad(alpha, x)
