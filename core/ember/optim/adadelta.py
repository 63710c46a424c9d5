"""Adadelta (Zeiler, 2012) with PyTorch's defaults, checks, state names and update rule.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adadelta([w])
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9968, 0.9968]
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

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    """``v = rho v + (1-rho) g^2``; ``delta = sqrt(u + eps) / sqrt(v + eps) * g``;
    ``u = rho u + (1-rho) delta^2``; ``p -= lr * delta`` (state: ``square_avg``, ``acc_delta``)."""

    _capturable_xla = False

    def __init__(self, params: Iterable[Any], lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0, foreach: bool | None = None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 <= rho <= 1.0, f"Invalid rho value: {rho}")
        check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adadelta update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["square_avg"] = zeros_state(p)
                    state["acc_delta"] = zeros_state(p)
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    incr_step(state["step"])
                    g = grad_tensor(p, group["maximize"])
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                    square_avg.mul_(rho).addcmul_(g, g, value=1 - rho)
                    delta = acc_delta.add(eps).sqrt_().div_(square_avg.add(eps).sqrt_()).mul_(g)
                    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
                    p.add_(delta, alpha=-lr)
        return loss
