"""NAdam (Adam with Nesterov momentum; Dozat, 2016) with PyTorch's defaults, checks and state names,
including ``momentum_decay`` and ``decoupled_weight_decay`` (NAdamW).

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.NAdam([w], lr=0.1)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.8944, 0.8944]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.adam import _check_adam_args
from ember.optim.optimizer import (
    Optimizer,
    as_real,
    check_hparam,
    decayed_grad,
    grad_tensor,
    incr_step,
    new_step,
    run_closure,
    scalar_state,
    scalar_value,
    zeros_state,
)
from ember.tensor import Tensor

__all__ = ["NAdam"]


class NAdam(Optimizer):
    """Adam whose momentum term looks one step ahead, with the momentum schedule
    ``mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay))`` (state: ``step``, ``mu_product``, ``exp_avg``,
    ``exp_avg_sq``; ``mu_product`` is a float32 scalar as in PyTorch, so values match it bit for bit)."""

    _capturable_what = "params, mu_products and state_steps"

    def __init__(self, params: Iterable[Any], lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None, maximize: bool = False,
                 capturable: bool = False, differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        check_hparam(0.0 <= momentum_decay, f"Invalid momentum_decay value: {momentum_decay}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, foreach=foreach,
                        capturable=capturable, differentiable=differentiable)
        super().__init__(params, defaults)

    _late_options = (
        ("maximize", False), ("foreach", None), ("capturable", False), ("differentiable", False),
        ("decoupled_weight_decay", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for s in self.state.values():
            if isinstance(s, dict):
                if "mu_product" in s and not isinstance(s["mu_product"], Tensor):
                    s["mu_product"] = scalar_state(s["mu_product"])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One NAdam update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            wd, momentum_decay = group["weight_decay"], group["momentum_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["mu_product"] = scalar_state(1.0)
                    state["exp_avg"] = zeros_state(p)
                    state["exp_avg_sq"] = zeros_state(p)
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    step = incr_step(state["step"])
                    g = decayed_grad(p, grad_tensor(p, group["maximize"]), lr, wd, group["decoupled_weight_decay"])
                    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
                    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
                    # PyTorch's ``mu_product *= mu``: the number is rounded to the tensor's float32
                    # before the product (multiplying in double and rounding once differs by an ulp)
                    mu_product = scalar_value(state["mu_product"].mul_(mu))
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    exp_avg.lerp_(g, 1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    denom = exp_avg_sq.div(1 - beta2 ** step).sqrt().add_(eps)
                    p.addcdiv_(g, denom, value=-lr * (1.0 - mu) / (1.0 - mu_product))
                    p.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1.0 - mu_product * mu_next))
        return loss
