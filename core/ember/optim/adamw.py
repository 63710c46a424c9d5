"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's rules.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.85, 0.85]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ember.optim.adam import Adam

__all__ = ["AdamW"]


class AdamW(Adam):
    """Adam where ``p *= 1 - lr * weight_decay`` before the update (default weight_decay=1e-2)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                         foreach=foreach, maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused, decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # PyTorch's AdamW: a loaded group is decoupled whatever it says (an Adam's state loads as AdamW)
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
