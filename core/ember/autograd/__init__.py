"""Reverse-mode automatic differentiation, written once in the frontend for every backend.

Example:
    >>> import ember
    >>> x = ember.tensor(3.0, requires_grad=True)
    >>> (x ** 2).backward()
    >>> x.grad
    tensor(6.)
"""

from ember.autograd import forward_ad, functional, graph  # noqa: F401  (ember.autograd.forward_ad/.functional/.graph, as in PyTorch)
from ember.autograd.anomaly import detect_anomaly, set_detect_anomaly
from ember.autograd.engine import backward, grad
from ember.autograd.function import Function, FunctionCtx, once_differentiable
from ember.autograd.grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.autograd.gradcheck import gradcheck, gradgradcheck
from ember.autograd.multithreading import set_multithreading_enabled
from ember.autograd.variable import Variable

__all__ = ["Function", "FunctionCtx", "Variable", "backward", "detect_anomaly", "enable_grad", "grad", "gradcheck",
           "gradgradcheck", "inference_mode", "is_grad_enabled", "no_grad", "once_differentiable",
           "set_detect_anomaly", "set_grad_enabled", "set_multithreading_enabled"]


# a submodule not imported yet, by name (``ember.nn.attention`` after ``import ember``, as in PyTorch)
from ember import _lazy_submodules  # noqa: E402

__getattr__ = _lazy_submodules.package_getattr(__name__, __path__[0])
