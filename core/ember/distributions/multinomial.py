"""The multinomial distribution: counts of ``total_count`` categorical draws."""

from __future__ import annotations

from typing import Any

import ember
from ember.distributions import constraints
from ember.distributions.binomial import Binomial
from ember.distributions.categorical import Categorical
from ember.distributions.distribution import Distribution
from ember.distributions.utils import _size, broadcast_all
from ember.size import Size
from ember.tensor import Tensor

__all__ = ["Multinomial"]


class Multinomial(Distribution):
    """Counts per category of ``total_count`` draws with ``probs`` (or ``logits``) over the last dim.

    Example:
        >>> import ember
        >>> from ember.distributions import Multinomial
        >>> Multinomial(4, probs=ember.tensor([0.5, 0.5])).log_prob(ember.tensor([2.0, 2.0])).exp()
        tensor(0.3750)
    """

    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Tensor | None = None, logits: Tensor | None = None,
                 validate_args: bool | None = None) -> None:
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Multinomial:
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = _size(batch_shape)
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        super(Multinomial, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self) -> constraints.Constraint:
        return constraints.multinomial(self.total_count)

    @property
    def mean(self) -> Tensor:
        return self.probs * self.total_count

    @property
    def variance(self) -> Tensor:
        return self.total_count * self.probs * (1 - self.probs)

    @property
    def logits(self) -> Tensor:
        return self._categorical.logits

    @property
    def probs(self) -> Tensor:
        return self._categorical.probs

    @property
    def param_shape(self) -> Size:
        return self._categorical.param_shape

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        sample_shape = _size(sample_shape)
        with ember.no_grad():
            samples = self._categorical.sample(Size((self.total_count,)) + sample_shape)
            order = list(range(samples.dim()))
            order.append(order.pop(0))  # the draws last
            samples = samples.permute(tuple(order))
            counts = ember.zeros(tuple(self._extended_shape(sample_shape)), dtype=samples.dtype,
                                 device=samples.device)
            counts = counts.scatter_add(-1, samples, ember.ones_like(samples))
            return counts.to(self.probs.dtype)

    def entropy(self) -> Tensor:
        # PyTorch's ``torch.tensor(total_count)``: the default dtype, so lgamma(n + 1) is rounded to
        # float32 even for float64 probs (a 0-d tensor: the result keeps the probs' dtype)
        n = ember.tensor(float(self.total_count), dtype=ember.get_default_dtype(), device=self.probs.device)
        term1 = n * self._categorical.entropy() - ember.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = ember.exp(self._binomial.log_prob(support))
        weights = ember.lgamma(support + 1)
        return term1 + (binomial_probs * weights).sum([0, -1])

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = ember.lgamma(value.sum(-1) + 1)
        log_factorial_xs = ember.lgamma(value + 1).sum(-1)
        logits = ember.where((value == 0) & (logits == float("-inf")), ember.zeros_like(logits), logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)
