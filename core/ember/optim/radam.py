"""RAdam (rectified Adam; Liu et al., 2019) with PyTorch's defaults, checks, state names and
``decoupled_weight_decay``.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.RAdam([w], lr=0.1)
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
    decayed_grad,
    grad_tensor,
    incr_step,
    new_step,
    run_closure,
    zeros_state,
)

__all__ = ["RAdam"]


def _rectification(rho_t: float, rho_inf: float) -> float:
    """The variance rectification term ``r_t`` of the paper."""
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


class RAdam(Optimizer):
    """Adam whose adaptive term is switched on (and rectified) once the variance estimate is
    tractable (``rho_t > 5``); before that, SGD with momentum on the bias-corrected first moment."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, decoupled_weight_decay=decoupled_weight_decay,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("decoupled_weight_decay", False),
        ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RAdam update of every parameter that has a gradient."""
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
                    state["exp_avg_sq"] = zeros_state(p)
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    step = incr_step(state["step"])
                    g = decayed_grad(p, grad_tensor(p, group["maximize"]), lr, wd, group["decoupled_weight_decay"])
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    exp_avg.lerp_(g, 1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    bias_correction1 = 1 - beta1 ** step
                    bias_correction2 = 1 - beta2 ** step
                    upd = exp_avg.div(bias_correction1).mul_(lr)
                    rho_inf = 2 / (1 - beta2) - 1
                    rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
                    if rho_t > 5.0:
                        adaptive = exp_avg_sq.sqrt().add_(eps).reciprocal_().mul_(bias_correction2 ** 0.5)
                        upd = upd.mul_(adaptive).mul_(_rectification(rho_t, rho_inf))
                    p.sub_(upd)
        return loss
