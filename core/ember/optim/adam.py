"""Adam (Kingma & Ba) with optional L2 weight decay, AMSGrad and maximize (PyTorch's rules).

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adam([w], lr=0.1)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.9, 0.9]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember import _device_checks as _checks
from ember import dtypes as _dt
from ember.optim.optimizer import (
    Optimizer,
    as_real,
    check_fused,
    check_fused_param,
    check_hparam,
    check_lr,
    grad_array,
    incr_step,
    new_step,
    run_closure,
    set_buffer,
    write_param,
    zeros_state,
)

__all__ = ["Adam"]

_LOWP = (_dt.float16, _dt.bfloat16)


def _check_adam_args(lr: float, betas: tuple[float, float], eps: float, weight_decay: float) -> None:
    check_lr(lr)
    check_hparam(0.0 <= lr, f"Invalid learning rate: {lr}")
    check_hparam(0.0 <= eps, f"Invalid epsilon value: {eps}")
    check_hparam(0.0 <= betas[0] < 1.0, f"Invalid beta parameter at index 0: {betas[0]}")
    check_hparam(0.0 <= betas[1] < 1.0, f"Invalid beta parameter at index 1: {betas[1]}")
    check_hparam(0.0 <= weight_decay, f"Invalid weight_decay value: {weight_decay}")


class Adam(Optimizer):
    """``m = lerp(m, g, 1-b1)``, ``v = b2 v + (1-b2) g^2``, ``p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)``.

    ``weight_decay`` is L2 (added to the gradient), or with ``decoupled_weight_decay=True`` the
    decoupled form ``p *= 1 - lr * weight_decay`` (what ``AdamW`` is: PyTorch >= 2.6). Runs the
    backend's fused ``adam_step`` kernel when it has one (in place, one call per parameter), else
    a composite of required kernels.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        from ember.tensor import Tensor

        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        _check_adam_args(lr, betas, eps, weight_decay)
        if isinstance(betas[0], Tensor) != isinstance(betas[1], Tensor):
            raise ValueError("betas must be either both floats or both Tensors")
        for i, beta in enumerate(betas):
            if isinstance(beta, Tensor):
                if foreach and not capturable:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for capturable=False and foreach=True")
                if beta.numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(b.squeeze() if isinstance(b, Tensor) and b.dim() != 0 else b for b in betas)
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, foreach=foreach, capturable=capturable,
                        differentiable=differentiable, fused=fused, decoupled_weight_decay=decoupled_weight_decay)
        super().__init__(params, defaults)
        check_fused(fused, foreach, differentiable)

    _late_options = (
        ("amsgrad", False), ("maximize", False), ("foreach", None), ("capturable", False),
        ("differentiable", False), ("fused", None), ("decoupled_weight_decay", False),
    )  # filled in when an older pickled optimizer is loaded (Optimizer.__setstate__)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adam update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
            decoupled = group["decoupled_weight_decay"]  # per group, as PyTorch reads it
            wd, amsgrad, maximize = group["weight_decay"], group["amsgrad"], group["maximize"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    if group["fused"]:
                        check_fused_param(p)
                    state["step"] = new_step()
                    state["exp_avg"] = zeros_state(p)
                    state["exp_avg_sq"] = zeros_state(p)
                    if amsgrad:
                        state["max_exp_avg_sq"] = zeros_state(p)
                if group["fused"] and p._dtype in _LOWP and not _checks.compiling():
                    _fused_low(p, state, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
                    continue
                if not p._dtype.is_complex:  # (the hot path: no context manager per parameter)
                    _update(p, state, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
                    continue
                with as_real(p, state) as (q, st):  # a complex parameter steps as its real view
                    _update(q, st, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
        return loss


def _update(p: Any, state: dict, lr: float, beta1: float, beta2: float, eps: float, wd: float, amsgrad: bool,
            maximize: bool, decoupled: bool) -> None:
    """One Adam update of the real parameter ``p`` (state already created)."""
    kt = p._kt
    pd = p._data
    if _checks.compiling():  # no host read: the step count stays on the device
        if kt.has("adam_step_device"):  # the fused update, counting on the device
            _fused_device_step(p, state, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
        else:
            _device_step_update(p, state, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
        return
    step = incr_step(state["step"])
    if kt.has("adam_step"):  # the backend's fused in-place update
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        mx = state["max_exp_avg_sq"] if amsgrad else None
        kt["adam_step"](pd, grad_array(p, False), exp_avg._data, exp_avg_sq._data,
                        None if mx is None else mx._data, step, lr, beta1, beta2, eps, wd, amsgrad,
                        maximize, decoupled)
        for t in (p, exp_avg, exp_avg_sq, mx):
            if t is not None:
                t._version[0] += 1
        return
    # composite: the same update from required kernels
    m, v = _moments(p, state, beta1, beta2, wd, amsgrad, maximize, decoupled)
    bc1 = 1.0 - beta1 ** step
    bc2_sqrt = (1.0 - beta2 ** step) ** 0.5
    # p -= lr/bc1 * m / (sqrt(v)/bc2_sqrt + eps), with bc2_sqrt folded into the scalars
    # (same value; saves a full-size division per step).
    denom = kt["add"](kt["sqrt"](v), eps * bc2_sqrt)
    upd = kt["mul"](kt["div"](m, denom), lr * bc2_sqrt / bc1)
    base = kt["mul"](pd, 1.0 - lr * wd) if (decoupled and wd != 0) else pd
    write_param(p, kt["sub"](base, upd))


def _fused_low(p: Any, state: dict, lr: float, beta1: float, beta2: float, eps: float, wd: float, amsgrad: bool,
               maximize: bool, decoupled: bool) -> None:
    """PyTorch's fused Adam on a float16/bfloat16 parameter: the whole update in float32 (its
    "opmath"), the parameter and each moment rounded once at the end; the single-tensor step rounds
    after every op instead (the backend's ``adam_step`` does that)."""
    f32 = _dt.float32
    q = p.detach().to(f32)
    q.grad = p.grad.detach().to(f32)
    wide = {k: (v.to(f32) if k != "step" else v) for k, v in state.items()}
    _update(q, wide, lr, beta1, beta2, eps, wd, amsgrad, maximize, decoupled)
    write_param(p, p._kt["astype"](q._data, p._dtype))
    for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        if key in state:
            buf = state[key]
            buf._kt["copy_"](buf._data, buf._kt["astype"](wide[key]._data, buf._dtype))
            buf._version[0] += 1


def _moments(p: Any, state: dict, beta1: float, beta2: float, wd: float, amsgrad: bool, maximize: bool,
             decoupled: bool) -> tuple[Any, Any]:
    """Update the first and second moments of ``p`` from its gradient (and weight decay, when it is
    L2 rather than decoupled); return the arrays the step divides: ``m`` and ``v`` (its running
    maximum under amsgrad)."""
    kt, pd = p._kt, p._data
    g = grad_array(p, maximize)
    if wd != 0 and not decoupled:
        g = kt["add"](g, kt["mul"](pd, wd))
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    # exp_avg.lerp_(g, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    m = exp_avg._data
    m = kt["add"](m, kt["mul"](kt["sub"](g, m), 1.0 - beta1))
    v = kt["add"](kt["mul"](exp_avg_sq._data, beta2), kt["mul"](kt["mul"](g, g), 1.0 - beta2))
    set_buffer(exp_avg, m)
    set_buffer(exp_avg_sq, v)
    if amsgrad:
        mx = state["max_exp_avg_sq"]
        v = kt["maximum"](mx._data, v)
        set_buffer(mx, v)
    return m, v


def _step_beside(p: Any, state: dict) -> Any:
    """``state['step']`` on ``p``'s device, moved there once, as PyTorch keeps a capturable step."""
    st = state["step"]
    if st._device is not p._device:
        st = state["step"] = st.to(p.device)
    return st


def _fused_device_step(p: Any, state: dict, lr: float, beta1: float, beta2: float, eps: float, wd: float,
                       amsgrad: bool, maximize: bool, decoupled: bool) -> None:
    """The backend's ``adam_step_device``: ``adam_step`` with the count incremented on the device,
    so a compiled training step replays the same fused update as eager (bit for bit on the cpu)."""
    st = _step_beside(p, state)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    mx = state["max_exp_avg_sq"] if amsgrad else None
    p._kt["adam_step_device"](p._data, grad_array(p, False), exp_avg._data, exp_avg_sq._data,
                              None if mx is None else mx._data, st._data, lr, beta1, beta2, eps, wd, amsgrad,
                              maximize, decoupled)
    for t in (p, exp_avg, exp_avg_sq, mx, st):
        if t is not None:
            t._version[0] += 1


def _device_step_update(p: Any, state: dict, lr: float, beta1: float, beta2: float, eps: float, wd: float,
                        amsgrad: bool, maximize: bool, decoupled: bool) -> None:
    """One Adam update with the step count and the bias corrections on the parameter's device, as
    PyTorch's ``capturable=True``: what ``ember.compile`` captures, since reading the step on the host
    would freeze it into the graph. Same formulas as the composite path; the corrections are
    computed in the parameter's dtype instead of Python floats (equal to rounding)."""
    kt, pd = p._kt, p._data
    st = _step_beside(p, state)
    step = kt["add"](st._data, 1.0)
    set_buffer(st, step)
    step = kt["astype"](step, p._dtype)
    m, v = _moments(p, state, beta1, beta2, wd, amsgrad, maximize, decoupled)
    bc1 = kt["sub"](1.0, kt["pow"](beta1, step))
    bc2_sqrt = kt["sqrt"](kt["sub"](1.0, kt["pow"](beta2, step)))
    denom = kt["add"](kt["div"](kt["sqrt"](v), bc2_sqrt), eps)
    upd = kt["mul"](kt["div"](m, denom), kt["div"](lr, bc1))
    base = kt["mul"](pd, 1.0 - lr * wd) if (decoupled and wd != 0) else pd
    write_param(p, kt["sub"](base, upd))
