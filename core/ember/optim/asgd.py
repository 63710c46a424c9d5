"""ASGD (averaged SGD; Polyak & Juditsky) with PyTorch's defaults, checks, state names and update rule.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.ASGD([w], lr=0.1)
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
    scalar_state,
    scalar_value,
    set_scalar,
    zeros_state,
)
from ember.tensor import Tensor

__all__ = ["ASGD"]


class ASGD(Optimizer):
    """``p = p (1 - lambd eta) - eta g``; the running average ``ax`` of the iterates starts at step
    ``t0``; ``eta = lr / (1 + lambd lr t)^alpha``, ``mu = 1 / max(1, t - t0)``.

    ``eta`` and ``mu`` are float32 0-d state tensors, read back as such (as PyTorch does), so the
    iterates match PyTorch's.
    """

    _capturable_what = "params, mus, etas, and state_steps"

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lambd: float = 1e-4, alpha: float = 0.75,
                 t0: float = 1e6, weight_decay: float = 0, foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for s in self.state.values():
            if isinstance(s, dict):
                for key in ("eta", "mu"):
                    if key in s and not isinstance(s[key], Tensor):
                        s[key] = scalar_state(s[key])

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One ASGD update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha, t0, wd = group["lr"], group["lambd"], group["alpha"], group["t0"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["eta"] = scalar_state(lr)
                    state["mu"] = scalar_state(1.0)
                    state["ax"] = zeros_state(p)
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    step = incr_step(state["step"])
                    g = grad_tensor(p, group["maximize"])
                    if wd != 0:
                        g = g.add(p, alpha=wd)
                    eta = scalar_value(state["eta"])
                    p.mul_(1 - lambd * eta).add_(g, alpha=-eta)
                    ax = state["ax"]
                    mu = scalar_value(state["mu"])
                    if mu != 1:
                        ax.add_(p.sub(ax).mul_(mu))
                    else:
                        ax.copy_(p)
                    set_scalar(state["eta"], lr / ((1 + lambd * lr * step) ** alpha))
                    set_scalar(state["mu"], 1 / max(1, step - t0))
        return loss
