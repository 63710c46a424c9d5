"""Adafactor (Shazeer & Stern, 2018) with PyTorch's variant of the algorithm, defaults, checks and state.

The second moment of a matrix-shaped gradient is kept factored: a row factor (``row_var``, the
gradient's shape with the last dim 1) and a column factor (``col_var``, the second-to-last dim 1),
so it costs ``O(n + m)`` memory instead of ``O(n m)``; a vector (or 0-d) parameter keeps a full
``variance``. As in PyTorch, ``lr`` caps the relative step size ``rho_t = min(lr, 1/sqrt(t))`` and
scales the decoupled weight decay, and ``eps1`` (default: the parameter dtype's machine epsilon)
guards the variance estimate and the update's denominator.

Example:
    >>> import ember
    >>> w = ember.ones(2, requires_grad=True)
    >>> opt = ember.optim.Adafactor([w], lr=0.01)
    >>> w.sum().backward()
    >>> opt.step()
    >>> [round(v, 4) for v in w.tolist()]
    [0.99, 0.99]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ember.optim.optimizer import Optimizer, check_hparam, check_lr, incr_step, new_step, run_closure
from ember.tensor import Tensor
from ember.typeinfo import finfo

__all__ = ["Adafactor"]


def _scalar_lr(lr: Any) -> Any:
    """A Tensor lr as PyTorch's ``_to_scalar`` leaves it: 0-d (a one-element tensor squeezed). The
    step's scalar arithmetic then runs on that float32 tensor, as PyTorch's does (its rounding too)."""
    return lr.squeeze() if isinstance(lr, Tensor) and lr.dim() != 0 else lr


class Adafactor(Optimizer):
    """Factored second moments, relative step sizes and update clipping (PyTorch's ``torch.optim.Adafactor``).

    Per step ``t`` of a parameter: ``beta2_t = 1 - t**beta2_decay``; ``rho_t = min(lr, 1/sqrt(t))``;
    ``alpha = max(eps2, RMS(p)) * rho_t``; ``p *= 1 - lr * weight_decay``; the variance estimate is
    the running average of ``g*g`` (factored into row and column means for ``g.dim() > 1``, then
    ``V = R C / max(mean(R), eps1)``); ``U = g / max(sqrt(V), eps1)``; ``p -= alpha / max(1, RMS(U)/d) * U``.

    Args:
        params: parameters or param groups to optimize (complex parameters are refused at ``step``).
        lr: maximum relative step size and weight decay scale (a float or a one-element Tensor).
        beta2_decay: exponent of the second moment's decay schedule (``<= 0``).
        eps: ``(eps1, eps2)``: ``eps1=None`` means the parameter dtype's machine epsilon; ``eps2``
            floors the parameter RMS that scales the step.
        d: update clipping threshold (``>= 1``).
        weight_decay: decoupled weight decay coefficient (multiplied by ``lr``).
        foreach: accepted for PyTorch compatibility (ember runs one implementation; the value is
            kept in ``param_groups``).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params: Iterable[Any], lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0, weight_decay: float = 0.0, *,
                 foreach: bool | None = None, maximize: bool = False) -> None:
        check_lr(lr)
        # PyTorch's checks, in its order and words (``not 0 <= x``: a NaN fails them)
        check_hparam(0.0 <= lr, f"Learning rate should be >= 0 but is: {lr}")
        check_hparam(0.0 >= beta2_decay, f"beta2_decay should be <= 0 but is: {beta2_decay}")
        check_hparam(eps[0] is None or 0.0 <= eps[0], f"epsilon1 should be >= 0 but is: {eps[0]}")
        check_hparam(0.0 <= eps[1], f"epsilon2 should be >= 0 but is: {eps[1]}")
        check_hparam(1.0 <= d, f"Clipping threshold d should be >= 1 but is: {d}")
        check_hparam(0.0 <= weight_decay, f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize)
        super().__init__(params, defaults)

    _late_options = (("foreach", None),)  # filled in when an older pickled optimizer is loaded

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Adafactor update of every parameter that has a gradient."""
        loss = run_closure(closure)
        for group in self.param_groups:
            # PyTorch checks and initializes a whole group before updating any of it: a complex
            # parameter anywhere in the group leaves every parameter of the group unchanged
            todo = [p for p in group["params"] if p.grad is not None]
            for p in todo:
                if p.is_complex():
                    raise RuntimeError("Adafactor does not support complex parameters")
                if p.grad.is_sparse:
                    raise RuntimeError("Adafactor does not support sparse gradients")
                state = self.state[p]
                if len(state) == 0:
                    _init_state(state, p.grad)
            eps1, eps2 = group["eps"]
            lr = _scalar_lr(group["lr"])
            for p in todo:
                if eps1 is None:
                    # the first parameter's dtype decides for the whole group (as in PyTorch's loop)
                    eps1 = finfo(p.dtype).eps
                _update(p, self.state[p], lr, group["beta2_decay"], eps1, eps2, group["d"],
                        group["weight_decay"], group["maximize"])
        return loss


def _init_state(state: dict, grad: Tensor) -> None:
    """``step`` (float32 0-d on the cpu) and the second-moment buffers, in the gradient's dtype."""
    state["step"] = new_step()
    if grad.dim() > 1:
        shape = list(grad.shape)
        state["row_var"] = grad.new_zeros(shape[:-1] + [1])
        state["col_var"] = grad.new_zeros(shape[:-2] + [1, shape[-1]])
    else:
        state["variance"] = grad.new_zeros(tuple(grad.shape))


def _update(p: Tensor, state: dict, lr: Any, beta2_decay: float, eps1: float, eps2: float, d: float,
            weight_decay: float, maximize: bool) -> None:
    """One Adafactor update of the real parameter ``p`` (state already created)."""
    g = -p.grad if maximize else p.grad
    step = incr_step(state["step"])
    weight = step ** beta2_decay  # 1 - beta2_t: the new average's share
    rho = min(lr, 1.0 / step ** 0.5)
    # the parameter's RMS before the weight decay shrinks it (PyTorch's order)
    alpha = max(eps2, p.norm(2).item() / p.numel() ** 0.5) * rho
    if weight_decay != 0:
        p.mul_(1 - lr * weight_decay)
    if g.dim() > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        # mean of g*g along a dim, as a squared norm: no gradient-sized g*g
        row_var.lerp_(g.norm(dim=-1, keepdim=True).square_().div_(g.size(-1)), weight)
        col_var.lerp_(g.norm(dim=-2, keepdim=True).square_().div_(g.size(-2)), weight)
        var = (row_var @ col_var).div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        variance = state["variance"]
        variance.lerp_(g * g, weight)
        var = variance.clone()  # the update below runs in place: the state must stay as it is
    # clamping the variance at eps1**2 before the square root floors its root at eps1
    upd = var.clamp_(min=eps1 * eps1).rsqrt_().mul_(g)
    clip = max(1.0, upd.norm(2).item() / (upd.numel() ** 0.5 * d))
    p.add_(upd, alpha=-alpha / clip)
