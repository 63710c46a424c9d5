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
import types
import warnings
from collections.abc import Iterable

from ember.autograd.grad_mode import no_grad
from ember.functions import creation as _c
from ember.functions import shape as _s
from ember.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "clip_grad_norm", "get_total_norm", "clip_grads_with_norm_"]


def _params(parameters: Tensor | Iterable[Tensor]) -> list:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _vector_norm(t: Tensor, norm_type: float, foreach: bool | None) -> Tensor:
    """One tensor's ``norm_type`` norm (``linalg.vector_norm``); PyTorch's foreach path (its default)
    words the inf norm of an empty tensor in its own way."""
    from ember.linalg import vector_norm

    if norm_type == math.inf and t.numel() == 0 and foreach is not False:
        raise RuntimeError("_foreach_norm cannot compute the infinity norm on an empty tensor because the "
                           "operation does not have an identity")
    return vector_norm(t, norm_type)


def get_total_norm(tensors: Tensor | Iterable[Tensor], norm_type: float = 2.0, error_if_nonfinite: bool = False,
                   foreach: bool | None = None) -> Tensor:
    """The ``norm_type`` norm of all ``tensors`` viewed as one vector: the norm of their norms (as
    PyTorch computes it, each tensor's norm in its own dtype, on the first tensor's device)."""
    from ember.linalg import vector_norm

    tensors = _params(tensors)
    norm_type = float(norm_type)
    if not tensors:
        return _c.tensor(0.0)
    first_device = tensors[0].device
    with no_grad():
        norms = [_vector_norm(t, norm_type, foreach).to(first_device) for t in tensors]
        total = vector_norm(_s.stack(norms), norm_type)
    if error_if_nonfinite and bool((total.isnan() | total.isinf()).item()):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so "
                           "it cannot be clipped. To disable this error and scale the gradients by the non-finite "
                           "norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, total_norm: Tensor,
                          foreach: bool | None = None) -> None:
    """Scale every gradient by ``min(max_norm / (total_norm + 1e-6), 1)`` (a 0-d factor, so a 0-d
    gradient scales in place too)."""
    grads = [p.grad for p in _params(parameters) if p.grad is not None]
    max_norm = float(max_norm)
    if not grads:
        return
    with no_grad():
        coef = (max_norm / (total_norm + 1e-6)).clamp(max=1.0)
        for g in grads:
            g.mul_(coef.to(g.device))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    """Scale all gradients together so their joint ``norm_type`` norm is at most ``max_norm``;
    returns the norm before clipping."""
    if isinstance(parameters, Tensor):
        params = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        params = list(parameters)
        if is_generator and not params:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.", stacklevel=3)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    clip_value = float(clip_value)
    with no_grad():
        for p in _params(parameters):
            if p.grad is not None:
                p.grad.clamp_(min=-clip_value, max=clip_value)
