"""RMSprop (Hinton) with optional momentum, centering and weight decay (PyTorch's rules).

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.RMSprop([w], lr=0.01)
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

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``v = alpha v + (1-alpha) g^2``; ``p -= lr * g / (sqrt(v - mean(g)^2 if centered else v) + eps)``,
    through a momentum buffer when ``momentum > 0``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0, momentum: float = 0, centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False, differentiable: bool = False) -> None:
        check_lr(lr)
        check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
        check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
        check_hparam(0.0 <= momentum, f"Invalid momentum value: {momentum}")
        check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")
        check_hparam(0.0 <= alpha, f"Invalid alpha value: {alpha}")
        if differentiable:
            raise NotImplementedError("differentiable=True is not supported by ember's optimizers")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach, maximize=maximize,
                        differentiable=differentiable)
        super().__init__(params, defaults)

    _late_options = (
        ("momentum", 0), ("centered", False), ("foreach", None), ("maximize", False),
        ("differentiable", False), ("capturable", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One RMSprop update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            wd, momentum, centered, maximize = (group["weight_decay"], group["momentum"], group["centered"],
                                                group["maximize"])
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = new_step()
                    state["square_avg"] = zeros_state(p)
                    if momentum > 0:
                        state["momentum_buffer"] = zeros_state(p)
                    if centered:
                        state["grad_avg"] = zeros_state(p)
                if p._dtype in _LOWP:
                    _update_low(p, state, scalar_value(lr), alpha, eps, wd, momentum, centered, maximize)
                    continue
                with as_real(p, state) as (p, state):  # a complex parameter steps as its real view
                    kt = p._kt
                    pd = p._data
                    g = grad_array(p, maximize)
                    incr_step(state["step"])
                    if wd != 0:
                        g = kt["add"](g, kt["mul"](pd, wd))
                    sq = state["square_avg"]
                    v = kt["add"](kt["mul"](sq._data, alpha), kt["mul"](kt["mul"](g, g), 1.0 - alpha))
                    set_buffer(sq, v)
                    if centered:
                        ga = state["grad_avg"]
                        a = ga._data
                        a = kt["add"](a, kt["mul"](kt["sub"](g, a), 1.0 - alpha))
                        set_buffer(ga, a)
                        v = kt["sub"](v, kt["mul"](a, a))
                    avg = kt["add"](kt["sqrt"](v), eps)
                    if momentum > 0:
                        buf = state["momentum_buffer"]
                        b = kt["add"](kt["mul"](buf._data, momentum), kt["div"](g, avg))
                        set_buffer(buf, b)
                        write_param(p, kt["sub"](pd, kt["mul"](b, lr)))
                    else:
                        write_param(p, kt["sub"](pd, kt["mul"](kt["div"](g, avg), lr)))
        return loss


_LOWP = (_dt.float16, _dt.bfloat16)


def _update_low(p: Any, state: dict, lr: float, alpha: float, eps: float, wd: float, momentum: float,
                centered: bool, maximize: bool) -> None:
    """A float16/bfloat16 parameter steps through PyTorch's own ops (``addcmul_``, ``lerp_``,
    ``addcdiv_``...), each computed in float32 and rounded to 16 bits as PyTorch's: the same bits
    as its single-tensor RMSprop (the composite above rounds at other points)."""
    g = grad_tensor(p, maximize)
    incr_step(state["step"])
    if wd != 0:
        g = g.add(p, alpha=wd)
    sq = state["square_avg"]
    sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    if centered:
        ga = state["grad_avg"]
        ga.lerp_(g, 1 - alpha)
        avg = sq.addcmul(ga, ga, value=-1).sqrt_()
    else:
        avg = sq.sqrt()
    avg = avg.add_(eps)
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(g, avg)
        p.add_(buf, alpha=-lr)
    else:
        p.addcdiv_(g, avg, value=-lr)
