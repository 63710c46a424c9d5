"""``ember.nn.grad`` (``torch.nn.grad``): the gradients of a convolution with respect to its input
and its weight, given the gradient of its output.

Each one runs the convolution's own backward (the one autograd uses) on a stand-in of the missing
tensor's size, so the values are exactly those ``backward()`` gives; the result is differentiable
with respect to the tensors passed in (grad-of-grad works), because ember's convolution backward
is written in ember ops when a graph is recorded.

Example:
    >>> import ember
    >>> from ember.nn import grad
    >>> x = ember.ones(1, 1, 3, 3)
    >>> w = ember.ones(1, 1, 2, 2)
    >>> go = ember.ones(1, 1, 2, 2)
    >>> grad.conv2d_input(x.shape, w, go)
    tensor([[[[1., 2., 1.],
              [2., 4., 2.],
              [1., 2., 1.]]]])
    >>> grad.conv2d_weight(x, w.shape, go)
    tensor([[[[4., 4.],
              [4., 4.]]]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ember.autograd.grad_mode import enable_grad, is_grad_enabled
from ember.tensor import Tensor

__all__ = ["conv1d_input", "conv1d_weight", "conv2d_input", "conv2d_weight", "conv3d_input", "conv3d_weight"]


def _conv(nd: int) -> Callable[..., Tensor]:
    from ember.nn import functional as F

    return (F.conv1d, F.conv2d, F.conv3d)[nd - 1]


def _input_grad(nd: int, input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any, padding: Any,
                dilation: Any, groups: int) -> Tensor:
    from ember.autograd import grad as autograd_grad
    from ember.functions.creation import zeros

    # a graph of the result is recorded only when the caller could differentiate it, as PyTorch's
    # convolution_backward, whose result requires grad iff weight or grad_output does
    create_graph = is_grad_enabled() and (weight.requires_grad or grad_output.requires_grad)
    with enable_grad():
        stand_in = zeros(tuple(input_size), dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
        out = _conv(nd)(stand_in, weight, None, stride, padding, dilation, groups)
        (gx,) = autograd_grad(out, stand_in, grad_output, create_graph=create_graph)
    return gx


def _weight_grad(nd: int, input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any,
                 padding: Any, dilation: Any, groups: int) -> Tensor:
    from ember.autograd import grad as autograd_grad
    from ember.functions.creation import zeros

    create_graph = is_grad_enabled() and (input.requires_grad or grad_output.requires_grad)
    with enable_grad():
        stand_in = zeros(tuple(weight_size), dtype=grad_output.dtype, device=grad_output.device, requires_grad=True)
        out = _conv(nd)(input, stand_in, None, stride, padding, dilation, groups)
        (gw,) = autograd_grad(out, stand_in, grad_output, create_graph=create_graph)
    return gw


def conv1d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its input (of shape ``input_size``): the
    transposed convolution of ``grad_output`` with ``weight``, sized to the input.

    Example:
        >>> import ember
        >>> ember.nn.grad.conv1d_input((1, 1, 3), ember.ones(1, 1, 2), ember.ones(1, 1, 2))
        tensor([[[1., 2., 1.]]])
    """
    return _input_grad(1, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv1d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv1d`` with respect to its weight (of shape ``weight_size``).

    Example:
        >>> import ember
        >>> ember.nn.grad.conv1d_weight(ember.tensor([[[1., 2., 3.]]]), (1, 1, 2), ember.ones(1, 1, 2))
        tensor([[[3., 5.]]])
    """
    return _weight_grad(1, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv2d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its input (of shape ``input_size``).

    Example:
        >>> import ember
        >>> ember.nn.grad.conv2d_input((1, 1, 2, 2), ember.ones(1, 1, 1, 1), ember.ones(1, 1, 2, 2)).shape
        ember.Size([1, 1, 2, 2])
    """
    return _input_grad(2, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv2d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv2d`` with respect to its weight (of shape ``weight_size``).

    Example:
        >>> import ember
        >>> ember.nn.grad.conv2d_weight(ember.ones(1, 1, 2, 2), (1, 1, 1, 1), ember.ones(1, 1, 2, 2))
        tensor([[[[4.]]]])
    """
    return _weight_grad(2, input, weight_size, grad_output, stride, padding, dilation, groups)


def conv3d_input(input_size: Sequence[int], weight: Tensor, grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                 dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its input (of shape ``input_size``).

    Example:
        >>> import ember
        >>> ember.nn.grad.conv3d_input((1, 1, 2, 2, 2), ember.ones(1, 1, 1, 1, 1), ember.ones(1, 1, 2, 2, 2)).sum()
        tensor(8.)
    """
    return _input_grad(3, input_size, weight, grad_output, stride, padding, dilation, groups)


def conv3d_weight(input: Tensor, weight_size: Sequence[int], grad_output: Tensor, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1) -> Tensor:
    """The gradient of ``conv3d`` with respect to its weight (of shape ``weight_size``).

    Example:
        >>> import ember
        >>> ember.nn.grad.conv3d_weight(ember.ones(1, 1, 2, 2, 2), (1, 1, 1, 1, 1), ember.ones(1, 1, 2, 2, 2))
        tensor([[[[[8.]]]]])
    """
    return _weight_grad(3, input, weight_size, grad_output, stride, padding, dilation, groups)
