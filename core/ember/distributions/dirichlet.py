"""The Dirichlet distribution."""

from __future__ import annotations

from typing import Any

import ember
from ember.distributions import constraints
from ember.distributions._gamma import StandardGamma
from ember.distributions.exp_family import ExponentialFamily
from ember.distributions.utils import _size, finfo
from ember.tensor import Tensor

__all__ = ["Dirichlet"]


class Dirichlet(ExponentialFamily):
    """Dirichlet distribution with ``concentration`` (last dim: the event).

    ``rsample`` normalises Gamma draws; its gradient w.r.t. ``concentration`` flows through the
    Gamma draws' implicit gradients. That is an exact reparameterisation (its expectation is the
    true gradient), but per sample it is not PyTorch's ``_dirichlet_grad`` (which conditions on
    the sample alone), so single-sample gradients differ from PyTorch's in distribution only.

    Example:
        >>> import ember
        >>> from ember.distributions import Dirichlet
        >>> Dirichlet(ember.tensor([2.0, 3.0])).mean
        tensor([0.4000, 0.6000])
    """

    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: Tensor, validate_args: bool | None = None) -> None:
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Dirichlet:
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = _size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        super(Dirichlet, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> Tensor:
        shape = tuple(self._extended_shape(sample_shape))
        gammas = StandardGamma.apply(self.concentration.expand(shape))
        x = gammas / gammas.sum(-1, keepdim=True)
        floor = x.detach().clamp(min=finfo(x.dtype).tiny)  # as PyTorch's _sample_dirichlet, outside the graph
        return x + (floor - x.detach())

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return (ember.xlogy(self.concentration - 1.0, value).sum(-1) + ember.lgamma(self.concentration.sum(-1))
                - ember.lgamma(self.concentration).sum(-1))

    @property
    def mean(self) -> Tensor:
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self) -> Tensor:
        concentrationm1 = (self.concentration - 1).clamp(min=0.0)
        # all concentrations below 1: the mode is the corner of the largest one (PyTorch writes those
        # rows in place; a 1 in their denominator keeps 0/0 out of the gradient of the other rows)
        mask = (self.concentration < 1).all(dim=-1, keepdim=True)
        total = ember.where(mask, ember.ones_like(concentrationm1[..., :1]), concentrationm1.sum(-1, True))
        mode = concentrationm1 / total
        corner = ember.nn.functional.one_hot(mode.argmax(dim=-1), concentrationm1.shape[-1]).to(mode.dtype)
        return ember.where(mask, corner, mode)

    @property
    def variance(self) -> Tensor:
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self) -> Tensor:
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (ember.lgamma(self.concentration).sum(-1) - ember.lgamma(a0) - (k - a0) * ember.digamma(a0)
                - ((self.concentration - 1.0) * ember.digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self) -> tuple[Tensor]:
        return (self.concentration,)

    def _log_normalizer(self, x: Tensor) -> Tensor:
        return ember.lgamma(x).sum(-1) - ember.lgamma(x.sum(-1))
