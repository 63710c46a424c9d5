"""Stochastic depth (https://arxiv.org/abs/1603.09382): randomly drop a residual branch while training.

Restated from torchvision/ops/stochastic_depth.py (pytorch/vision). ``mode="row"`` draws one Bernoulli
keep/drop per sample (the first dimension), ``mode="batch"`` one for the whole input; the kept values
are divided by the survival rate ``1 - p`` so the expectation is unchanged.

Example:
    >>> import ember
    >>> from ember.vision.ops import StochasticDepth, stochastic_depth
    >>> x = ember.ones(4, 3)
    >>> bool((stochastic_depth(x, 0.5, "row", training=False) == x).all())
    True
    >>> StochasticDepth(p=0.2, mode="row")
    StochasticDepth(p=0.2, mode=row)
"""

from __future__ import annotations

import ember
from ember import nn

__all__ = ["stochastic_depth", "StochasticDepth"]


def stochastic_depth(input: ember.Tensor, p: float, mode: str, training: bool = True) -> ember.Tensor:
    """``input`` with whole rows (``mode="row"``) or all of it (``mode="batch"``) zeroed with probability
    ``p`` and the rest scaled by ``1 / (1 - p)``; the identity when not ``training`` or when ``p == 0``.

    Example:
        >>> import ember
        >>> ember.manual_seed(0)  # doctest: +ELLIPSIS
        <...>
        >>> out = stochastic_depth(ember.ones(6, 2), 0.5, "row")
        >>> sorted(set(out.flatten().tolist())) in ([0.0, 2.0], [0.0], [2.0])
        True
    """
    if p < 0.0 or p > 1.0:
        raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
    if mode not in ["batch", "row"]:
        raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
    if not training or p == 0.0:
        return input
    survival_rate = 1.0 - p
    size = [input.shape[0]] + [1] * (input.ndim - 1) if mode == "row" else [1] * input.ndim
    noise = ember.empty(size, dtype=input.dtype, device=input.device).bernoulli_(survival_rate)
    if survival_rate > 0.0:  # p == 1 drops everything: nothing to rescale
        noise.div_(survival_rate)
    return input * noise


class StochasticDepth(nn.Module):
    """:func:`stochastic_depth` as a module: it applies in training mode only."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, input: ember.Tensor) -> ember.Tensor:
        return stochastic_depth(input, self.p, self.mode, self.training)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, mode={self.mode})"
