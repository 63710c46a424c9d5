"""Gradient clipping: ``clip_grad_norm_`` and ``clip_grad_value_``.

Example:
    >>> import ember
    >>> p = ember.nn.Parameter(ember.ones(4)); p.grad = ember.full((4,), 3.0)
    >>> ember.nn.utils.clip_grad_norm_([p], max_norm=1.0).item()
    6.0
    >>> round(p.grad.norm().item(), 4)
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from ember.autograd.grad_mode import no_grad
from ember.functions import creation as _c
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "get_total_norm", "clip_grads_with_norm_"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def get_total_norm(tensors: Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    tensors = _params(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _c.tensor(0.0)
    with no_grad():
        if norm_type == math.inf:
            total = _s.stack([t.abs().amax().to(tensors[0].device) for t in tensors]).amax()
        else:
            total = _s.stack([t.norm(norm_type).to(tensors[0].device) for t in tensors]).norm(norm_type)
    if error_if_nonfinite and not bool(total.isfinite().item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    with no_grad():
        # reshape(1): keeps the arithmetic on arrays, not 0-d scalars (NumPy backend 0-d issue)
        coef = (float(max_norm) / (total_norm.reshape(1) + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so their joint ``norm_type`` norm is at most ``max_norm``;
    returns the norm before clipping."""
    params = _params(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    if grads:
        clip_grads_with_norm_(params, max_norm, total)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    clip_value = float(clip_value)
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
