"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay (PyTorch's rules).

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.SGD([w], lr=0.5, momentum=0.9)
    >>> w.sum().backward()
    >>> opt.step()
    >>> w.tolist()
    [0.5, 0.5]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.optimizer import (
    Optimizer,
    check_first_fused,
    check_fused,
    check_hparam,
    check_lr,
    grad_array,
    run_closure,
    scalar_value,
    set_buffer,
    write_param,
    zeros_state,
)

__all__ = ["SGD"]


class SGD(Optimizer):
    """``v = momentum * v + (1 - dampening) * g``; ``p -= lr * (g + momentum * v if nesterov else v)``.

    Weight decay adds ``weight_decay * p`` to the gradient first; ``maximize`` ascends. Runs the
    backend's fused ``sgd_step`` kernel when it has one (in place), else a composite of required kernels.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0, dampening: float = 0,
                 weight_decay: float = 0, nesterov: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        # PyTorch's SGD tests ``x < 0`` (a NaN passes), where the others test ``not 0 <= x``
        check_hparam(not lr < 0.0, f"Invalid learning rate: {lr}")
        check_hparam(not momentum < 0.0, f"Invalid momentum value: {momentum}")
        check_hparam(not weight_decay < 0.0, f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, foreach=foreach, differentiable=differentiable,
                        fused=fused)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One SGD update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            # a Tensor lr is read once per group (PyTorch's ``alpha=-lr`` takes its item): the kernels
            # take Python numbers (NumPy's complex path would otherwise see an ember Tensor)
            lr, momentum, dampening = scalar_value(group["lr"]), group["momentum"], group["dampening"]
            wd, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
            if group["fused"] and self.__dict__.get("_need_fused_check", True):
                check_first_fused(self, group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                kt = p._kt
                pd = p._data
                if kt.has("sgd_step"):  # the backend's fused in-place update
                    buf = None
                    first = False
                    if momentum != 0:
                        state = self.state[p]
                        buf = state.get("momentum_buffer")
                        if buf is None:
                            state["momentum_buffer"] = buf = zeros_state(p)
                            first = True
                    kt["sgd_step"](pd, grad_array(p, False), None if buf is None else buf._data, lr, momentum,
                                   dampening, wd, nesterov, maximize, first)
                    p._version[0] += 1
                    if buf is not None:
                        buf._version[0] += 1
                    continue
                # composite: the same update from required kernels
                g = grad_array(p, maximize)
                if wd != 0:
                    g = kt["add"](g, kt["mul"](pd, wd))
                if momentum != 0:
                    state = self.state[p]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        state["momentum_buffer"] = buf = p._new(kt["clone"](g))
                        bd = buf._data
                    else:
                        bd = kt["mul"](buf._data, momentum)
                        bd = kt["add"](bd, g if dampening == 0 else kt["mul"](g, 1 - dampening))
                        set_buffer(buf, bd)
                    g = kt["add"](g, kt["mul"](bd, momentum)) if nesterov else bd
                write_param(p, kt["sub"](pd, kt["mul"](g, lr)))
        return loss

