"""Fold an eval-mode BatchNorm into the preceding convolution or linear layer, as ``torch.nn.utils.fusion``.

    >>> import ember
    >>> from ember import nn
    >>> conv, bn = nn.Conv2d(2, 3, 3).eval(), nn.BatchNorm2d(3).eval()
    >>> fused = nn.utils.fuse_conv_bn_eval(conv, bn)
    >>> x = ember.randn(1, 2, 5, 5)
    >>> bool(ember.allclose(fused(x), bn(conv(x)), atol=1e-5))
    True
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

import ember
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]

ConvT = TypeVar("ConvT")
LinearT = TypeVar("LinearT")


def fuse_conv_bn_eval(conv: ConvT, bn: Any, transpose: bool = False) -> ConvT:
    """A new convolution computing ``bn(conv(x))`` (both in eval mode); ``transpose`` for ConvTranspose.

    >>> from ember import nn
    >>> fused = nn.utils.fuse_conv_bn_eval(nn.Conv2d(2, 3, 1).eval(), nn.BatchNorm2d(3).eval())
    >>> tuple(fused.bias.shape)
    (3,)
    """
    if conv.training or bn.training:  # type: ignore[attr-defined]
        raise AssertionError("Fusion only for eval!")
    fused_conv = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(  # type: ignore[attr-defined]
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var,  # type: ignore[attr-defined]
        bn.eps, bn.weight, bn.bias, transpose)
    return fused_conv


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Tensor | None, bn_b: Tensor | None,
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    """The fused convolution weight and bias (as Parameters) for the given BatchNorm statistics.

    >>> import ember
    >>> from ember import nn
    >>> w, b = nn.utils.fuse_conv_bn_weights(ember.ones(2, 1, 1, 1), None, ember.zeros(2), ember.ones(2), 0.0,
    ...                                      None, None)
    >>> b.tolist()
    [0.0, 0.0]
    """
    conv_weight_dtype = conv_w.dtype
    conv_bias_dtype = conv_b.dtype if conv_b is not None else conv_weight_dtype
    if conv_b is None:
        conv_b = ember.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = ember.ones_like(bn_rm)
    if bn_b is None:
        bn_b = ember.zeros_like(bn_rm)
    bn_var_rsqrt = ember.rsqrt(bn_rv + bn_eps)
    # the output channels are dim 1 of a transposed convolution's weight, dim 0 otherwise
    shape = ([1, -1] if transpose else [-1, 1]) + [1] * (len(conv_w.shape) - 2)
    fused_conv_w = (conv_w * (bn_w * bn_var_rsqrt).reshape(shape)).to(dtype=conv_weight_dtype)
    fused_conv_b = ((conv_b - bn_rm) * bn_var_rsqrt * bn_w + bn_b).to(dtype=conv_bias_dtype)
    return Parameter(fused_conv_w, conv_w.requires_grad), Parameter(fused_conv_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: Any) -> LinearT:
    """A new Linear computing ``bn(linear(x))`` (both in eval mode; ``bn.num_features`` equal to
    ``linear.out_features`` or 1).

    >>> from ember import nn
    >>> fused = nn.utils.fuse_linear_bn_eval(nn.Linear(3, 2).eval(), nn.BatchNorm1d(2).eval())
    >>> tuple(fused.weight.shape)
    (2, 3)
    """
    if linear.training or bn.training:  # type: ignore[attr-defined]
        raise AssertionError("Fusion only for eval!")
    fused_linear = copy.deepcopy(linear)
    out_features = linear.out_features  # type: ignore[attr-defined]
    if out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
                             f"got linear.out_features={out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_linear.weight, fused_linear.bias = fuse_linear_bn_weights(  # type: ignore[attr-defined]
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var,  # type: ignore[attr-defined]
        bn.eps, bn.weight, bn.bias)
    return fused_linear


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Tensor | None, bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                           bn_w: Tensor, bn_b: Tensor) -> tuple[Parameter, Parameter]:
    """The fused linear weight and bias (as Parameters) for the given BatchNorm statistics.

    >>> import ember
    >>> from ember import nn
    >>> w, b = nn.utils.fuse_linear_bn_weights(ember.ones(2, 3), None, ember.zeros(2), ember.ones(2), 0.0,
    ...                                        ember.full((2,), 2.0), ember.zeros(2))
    >>> w.tolist()
    [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """
    linear_weight_dtype = linear_w.dtype
    linear_bias_dtype = linear_b.dtype if linear_b is not None else linear_weight_dtype
    if linear_b is None:
        linear_b = ember.zeros_like(bn_rm)
    bn_scale = bn_w * ember.rsqrt(bn_rv + bn_eps)
    fused_w = linear_w * bn_scale.unsqueeze(-1).to(dtype=linear_weight_dtype)
    fused_b = ((linear_b - bn_rm) * bn_scale + bn_b).to(dtype=linear_bias_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
