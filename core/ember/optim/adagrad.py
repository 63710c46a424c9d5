"""Adagrad (Duchi et al.) with learning-rate decay and weight decay (PyTorch's rules).

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adagrad([w], lr=0.1)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, 0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember import dtypes as _dt
from ember.optim.optimizer import (
    Optimizer,
    as_real,
    check_first_fused,
    check_fused,
    check_hparam,
    check_lr,
    grad_array,
    grad_tensor,
    incr_step,
    new_step,
    run_closure,
    scalar_value,
    set_buffer,
    write_param,
    zeros_state,
)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    """``s += g^2``; ``p -= lr / (1 + (t-1) lr_decay) * g / (sqrt(s) + eps)``.

    State is created at construction (``sum`` starts at ``initial_accumulator_value``), as PyTorch.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, foreach: bool | None = None, *,
                 maximize: bool = False, differentiable: bool = False, fused: bool | None = None) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 <= lr_decay, f"Invalid lr_decay value: {lr_decay}")
        check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check_hparam(0.0 <= initial_accumulator_value,
                     f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach, maximize=maximize,
                        differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state[p]
                state["step"] = new_step()
                state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))

    _late_options = (
        ("foreach", None), ("maximize", False), ("differentiable", False), ("fused", None),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def share_memory(self) -> None:
        """Move every parameter's accumulated sum into shared memory, for Hogwild training
        (``ember.multiprocessing``), as PyTorch's ``Adagrad.share_memory``."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"].share_memory_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adagrad update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = group["lr"], group["lr_decay"], group["eps"]
            wd, maximize = group["weight_decay"], group["maximize"]
            if group["fused"] and self.__dict__.get("_need_fused_check", True):
                check_first_fused(self, group)
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # a group added after construction
                    state["step"] = new_step()
                    state["sum"] = zeros_state(p, float(group["initial_accumulator_value"]))
                if p._dtype in _LOWP and not group["fused"]:
                    _update_low(p, state, scalar_value(lr), lr_decay, eps, wd, maximize)
                    continue
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    kt = p._kt
                    pd = p._data
                    g = grad_array(p, maximize)
                    step = incr_step(state["step"])
                    if wd != 0:
                        g = kt["add"](g, kt["mul"](pd, wd))
                    clr = lr / (1 + (step - 1) * lr_decay)
                    acc = state["sum"]
                    s = kt["add"](acc._data, kt["mul"](g, g))
                    set_buffer(acc, s)
                    std = kt["add"](kt["sqrt"](s), eps)
                    write_param(p, kt["sub"](pd, kt["mul"](kt["div"](g, std), clr)))
        return loss


_LOWP = (_dt.float16, _dt.bfloat16)


def _update_low(p: Any, state: dict, lr: float, lr_decay: float, eps: float, wd: float, maximize: bool) -> None:
    """A float16/bfloat16 parameter steps through PyTorch's own ops (``addcmul_``, ``addcdiv_``),
    each computed in float32 and rounded to 16 bits: the same bits as its single-tensor Adagrad."""
    g = grad_tensor(p, maximize)
    step = incr_step(state["step"])
    if wd != 0:
        g = g.add(p, alpha=wd)
    clr = lr / (1 + (step - 1) * lr_decay)
    acc = state["sum"]
    acc.addcmul_(g, g, value=1)
    std = acc.sqrt().add_(eps)
    p.addcdiv_(g, std, value=-clr)
