"""Rprop (resilient backpropagation) with PyTorch's defaults, checks, state names and update rule.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Rprop([w], lr=0.1)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, 0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.optimizer import (
    Optimizer,
    as_real,
    check_hparam,
    check_lr,
    grad_tensor,
    incr_step,
    new_step,
    run_closure,
    zeros_state,
)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    """Per-element step sizes grow by ``etas[1]`` while the gradient keeps its sign and shrink by
    ``etas[0]`` when it flips (then that element skips its update), clamped to ``step_sizes``;
    ``p -= sign(g) * step_size`` (state: ``step``, ``prev``, ``step_size``)."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 < etas[0] < 1.0 < etas[1], f"Invalid eta values: {etas[0]}, {etas[1]}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Rprop update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["prev"] = zeros_state(p)
                    state["step_size"] = zeros_state(p, float(group["lr"]))
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    incr_step(state["step"])
                    g = grad_tensor(p, group["maximize"])
                    prev, step_size = state["prev"], state["step_size"]
                    sign = g.mul(prev).sign()
                    # masked fills keep the parameter's dtype (a float64 etaplus stays float64)
                    factor = sign.masked_fill(sign.gt(0), etaplus).masked_fill_(sign.lt(0), etaminus)
                    factor.masked_fill_(sign.eq(0), 1.0)
                    step_size.mul_(factor).clamp_(step_size_min, step_size_max)
                    # where the sign flipped, this step moves nothing and the next one starts afresh
                    g = g.masked_fill(sign.lt(0), 0.0)
                    p.addcmul_(g.sign(), step_size, value=-1)
                    prev.copy_(g)
        return loss
