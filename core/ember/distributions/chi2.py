"""The chi-squared distribution: ``Gamma(df / 2, 1 / 2)``."""

from __future__ import annotations

from typing import Any

from ember.distributions import constraints
from ember.distributions.gamma import Gamma
from ember.tensor import Tensor

__all__ = ["Chi2"]


class Chi2(Gamma):
    """Chi-squared with ``df`` degrees of freedom (exactly ``Gamma(0.5 * df, 0.5)``).

    Example:
        >>> import ember
        >>> from ember.distributions import Chi2
        >>> Chi2(ember.tensor(4.0)).mean
        tensor(4.)
    """

    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Tensor | float, validate_args: bool | None = None) -> None:
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> Chi2:
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self) -> Tensor:
        return self.concentration * 2
