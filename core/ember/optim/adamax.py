"""Adamax (Adam with the infinity norm; Kingma & Ba) with PyTorch's defaults, checks and state names.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adamax([w], lr=0.1)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, 0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import (
    Optimizer,
    as_real,
    grad_tensor,
    incr_step,
    new_step,
    run_closure,
    zeros_state,
)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    """``m = lerp(m, g, 1-b1)``; ``u = max(b2 u, |g| + eps)``; ``p -= lr/(1-b1^t) * m / u``
    (state: ``exp_avg``, ``exp_inf``)."""

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adamax update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["exp_avg"] = zeros_state(p)
                    state["exp_inf"] = zeros_state(p)
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    step = incr_step(state["step"])
                    g = grad_tensor(p, group["maximize"])
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    exp_avg, exp_inf = state["exp_avg"], state["exp_inf"]
                    exp_avg.lerp_(g, 1 - beta1)
                    exp_inf.copy_(exp_inf.mul_(beta2).maximum(g.abs().add_(eps)))
                    p.addcdiv_(exp_avg, exp_inf, value=-lr / (1 - beta1 ** step))
        return loss
