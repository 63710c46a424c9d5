"""Fused optimizer steps on NumPy (the ``optim`` family of ``ember.kernels``).

Each kernel updates the parameter and its optimizer state in place with ``out=`` ufuncs and
one scratch array, in the operation order of PyTorch's single-tensor Adam/AdamW and SGD, instead
of the ~13 allocating kernel calls per parameter of the frontend's composite.

Example:
    >>> import numpy as np
    >>> p, g = np.ones(2, np.float32), np.ones(2, np.float32)
    >>> m, v = np.zeros(2, np.float32), np.zeros(2, np.float32)
    >>> OPTIM_KERNELS["adam_step"](p, g, m, v, None, 1.0, 0.1, 0.9, 0.999, 1e-8, 0.0, False, False, False)
    >>> p
    array([0.9, 0.9], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OPTIM_KERNELS"]


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad, maximize, decoupled):
    g = np.negative(grad) if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1 - lr * weight_decay
        else:
            t = np.multiply(param, weight_decay)
            t += g  # grad.add(param, alpha=weight_decay)
            g = t
    tmp = np.empty_like(param)
    # exp_avg.lerp_(g, 1 - beta1), with torch's two-sided lerp formula
    w = 1 - beta1
    np.subtract(g, exp_avg, out=tmp)
    if w < 0.5:
        tmp *= w
        exp_avg += tmp
    else:
        tmp *= 1 - w
        np.subtract(g, tmp, out=exp_avg)
    # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    exp_avg_sq *= beta2
    np.multiply(g, 1 - beta2, out=tmp)
    tmp *= g
    exp_avg_sq += tmp
    second = exp_avg_sq
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        second = max_exp_avg_sq
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    # denom = second.sqrt() / bias_correction2_sqrt + eps; param.addcdiv_(exp_avg, denom, value=-step_size)
    np.sqrt(second, out=tmp)
    tmp /= bias_correction2_sqrt
    tmp += eps
    np.divide(exp_avg, tmp, out=tmp)
    tmp *= -(lr / bias_correction1)
    param += tmp


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    d = np.negative(grad) if maximize else grad
    if weight_decay != 0:
        t = np.multiply(param, weight_decay)
        t += d  # d_p.add(param, alpha=weight_decay)
        d = t
    if momentum != 0:
        buf = momentum_buffer
        if first:
            np.copyto(buf, d)
        else:
            buf *= momentum
            buf += d if dampening == 0 else np.multiply(d, 1 - dampening)
        if nesterov:
            t = np.multiply(buf, momentum)
            t += d  # d_p.add(buf, alpha=momentum)
            d = t
        else:
            d = buf
    param += np.multiply(d, -lr)  # param.add_(d_p, alpha=-lr)


OPTIM_KERNELS: dict = {
    "adam_step": adam_step,
    "sgd_step": sgd_step,
}
