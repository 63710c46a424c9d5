"""The Gamma distribution (shape ``concentration``, ``rate``)."""

from __future__ import annotations

from typing import Any

import ember
from ember.distributions import constraints
from ember.distributions._gamma import StandardGamma
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import _Number, _size, broadcast_all, finfo
from ember.size import Size
from ember.tensor import Tensor

__all__ = ["Gamma"]


def _standard_gamma(concentration: Tensor) -> Tensor:
    return StandardGamma.apply(concentration)


class Gamma(ExponentialFamily):
    """Gamma distribution with shape ``concentration`` (alpha) and ``rate`` (beta = 1 / scale).

    ``rsample`` is reparameterised in both parameters; the gradient w.r.t. ``concentration`` is
    the implicit one, with PyTorch's approximation (see ``ember.distributions._gamma``).

    Example:
        >>> import ember
        >>> from ember.distributions import Gamma
        >>> Gamma(ember.tensor(2.0), ember.tensor(1.0)).log_prob(ember.tensor(1.0))
        tensor(-1.)
    """

    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Tensor | float, rate: Tensor | float, validate_args: bool | None = None) -> None:
        self.concentration, self.rate = broadcast_all(concentration, rate)
        scalar = isinstance(concentration, _Number) and isinstance(rate, _Number)
        super().__init__(Size() if scalar else self.concentration.size(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Gamma:
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = _size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        super(Gamma, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.rate

    @property
    def mode(self) -> Tensor:
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self) -> Tensor:
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        # clamped outside the graph, as PyTorch's in-place clamp of value.detach() (which ember's
        # division, saving its output, would see as a modified saved tensor)
        floor = value.detach().clamp(min=finfo(value.dtype).tiny)
        return value + (floor - value.detach())

    def log_prob(self, value: Tensor | float) -> Tensor:
        value = ember.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (ember.xlogy(self.concentration, self.rate) + ember.xlogy(self.concentration - 1, value)
                - self.rate * value - ember.lgamma(self.concentration))

    def entropy(self) -> Tensor:
        return (self.concentration - ember.log(self.rate) + ember.lgamma(self.concentration)
                + (1.0 - self.concentration) * ember.digamma(self.concentration))

    @property
    def _natural_params(self) -> tuple[Tensor, Tensor]:
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x: Tensor, y: Tensor) -> Tensor:
        return ember.lgamma(x + 1) + (x + 1) * ember.log(-y.reciprocal())

    def cdf(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return ember.special.gammainc(self.concentration, self.rate * value)
