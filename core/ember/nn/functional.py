"""``ember.nn.functional``: stateless layers, activations and losses (``torch.nn.functional``).

Everything here is written in ember ops (autograd for free, runs on every backend), except
convolution/pooling/softmax which use a device's optional fast kernels when it has them
(see ``ember.nn._convpool``).

Example:
    >>> import ember
    >>> import ember.nn.functional as F
    >>> F.relu(ember.tensor([-1.0, 2.0]))
    tensor([0., 2.])
    >>> F.cross_entropy(ember.tensor([[2.0, 0.0]]), ember.tensor([0])).item() < 0.2
    True
"""

from __future__ import annotations

import functools
import math
import struct
import warnings
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ember import _device_checks as _checks
from ember import _value_range
from ember import dtypes as _dt
from ember._ops.numpy_names import numpy_names
from ember.autograd.function import Function, grad_fn_name, name_grad_fn
from ember.autograd.grad_mode import STATE, no_grad
from ember.functions import creation as _c
from ember.functions import elementwise as _e
from ember.functions import reduction as _r
from ember.functions import shape as _s
from ember.functions.complex_ops import type_word
from ember.functions.indexing import Gather, IndexAdd, IndexSelect, Scatter, _check_bounds, _same_device, _scalar_type
from ember.nn import _ctc, _grid_sample, _margin_losses, _more_layers, _nll_lowp  # re-exported at the end
from ember.nn import _reduction as _Reduction  # noqa: F401, N812 - PyTorch's name (F._Reduction)
from ember.nn._convpool import _check_conv, avg_pool2d, check_conv_geometry, conv2d, conv_transpose2d, max_pool2d, pair
from ember.nn._layer_norm import check_norm_dtypes, check_shape_arg, native_layer_norm
from ember.tensor import Tensor, _wrap_dim

__all__ = [
    "linear", "bilinear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "batch_norm", "layer_norm", "group_norm", "instance_norm", "dropout", "dropout1d",
    "dropout2d", "alpha_dropout", "embedding", "relu", "relu_", "leaky_relu", "elu", "selu", "celu", "gelu", "silu",
    "mish", "sigmoid", "tanh", "softplus", "hardtanh", "relu6", "hardsigmoid", "hardswish", "softsign",
    "tanhshrink", "threshold", "glu", "softmax", "log_softmax", "softmin", "logsigmoid", "prelu", "mse_loss",
    "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "kl_div", "pad", "interpolate", "upsample", "one_hot", "normalize",
    "unfold", "fold", "cosine_similarity", "pairwise_distance", "scaled_dot_product_attention",
    "conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d", "adaptive_max_pool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d", "max_unpool1d", "max_unpool2d", "max_unpool3d", "pixel_shuffle",
    "pixel_unshuffle", "upsample_nearest", "upsample_bilinear", "multi_head_attention_forward",
    "linear_cross_entropy",
] + _margin_losses.__all__ + _more_layers.__all__ + _grid_sample.__all__ + _ctc.__all__


# ---- linear ----------------------------------------------------------------------------------
@_e.in_opmath  # PyTorch's 16-bit addmm: product and bias added in float32, rounded once
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``input @ weight.T + bias``."""
    x_shape, w_shape = input._data.shape, weight._data.shape  # (the backend's tuples: cheaper than .shape)
    if not x_shape or not w_shape:
        raise RuntimeError(f"both arguments to linear need to be at least 1D, but they are {len(x_shape)}D and "
                           f"{len(w_shape)}D")
    if x_shape[-1] != w_shape[-1]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied "
                           f"({input.numel() // max(x_shape[-1], 1)}x{x_shape[-1]} and "
                           f"{w_shape[-1]}x{w_shape[0] if len(w_shape) > 1 else 1})")
    if (len(w_shape) == 2 and input._dtype is weight._dtype and input._device is weight._device
            and (bias is None or (bias._dtype is weight._dtype and bias._device is weight._device
                                  and bias._data.shape == (w_shape[0],)))):
        if bias is None and len(x_shape) == 2:  # PyTorch runs mm here, not addmm
            return name_grad_fn(_Linear.apply(input, weight, bias), "MmBackward0", input)
        return _Linear.apply(input, weight, bias)
    # unusual operands (mixed dtypes or devices, a broadcast bias): the general ops, with their errors
    if len(w_shape) > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {len(w_shape)}D")
    if bias is not None and len(w_shape) == 2:  # PyTorch's addmm(bias, input, weight.t()) checks the dtypes first
        for name, t in (("self", bias), ("mat1", input)):
            if t._dtype is not weight._dtype:
                raise RuntimeError(f"{name} and mat2 must have the same dtype, but got {type_word(t._dtype)} and "
                                   f"{type_word(weight._dtype)}")
    if bias is not None and len(w_shape) == 2:
        _check_linear_bias(x_shape, w_shape[0], bias)
    out = input @ weight.t() if weight.dim() == 2 else input @ weight
    return out + bias if bias is not None else out


def _check_linear_bias(x_shape: tuple, out_features: int, bias: Tensor) -> None:
    """PyTorch adds the bias without broadcasting the result: addmm expands it to (rows, out) for a
    1-d or 2-d input (and a contiguous 3-d one with a 1-d bias, which it flattens), else the bias
    is added in place to the product. A bias that would grow the result raises those ops' errors."""
    b_shape = list(bias._data.shape)
    flat = len(x_shape) <= 2 or (len(x_shape) == 3 and len(b_shape) == 1)
    target = [math.prod(x_shape[:-1]), out_features] if flat else [*x_shape[:-1], out_features]
    if flat and len(b_shape) > len(target):
        raise RuntimeError(f"expand({bias.type()}{{{b_shape}}}, size={target}): the number of sizes provided "
                           f"({len(target)}) must be greater or equal to the number of dimensions in the tensor "
                           f"({len(b_shape)})")
    rank = max(len(target), len(b_shape))
    for k in range(1, min(len(b_shape), len(target)) + 1):
        if b_shape[-k] not in (1, target[-k]):
            if flat:  # addmm's expand of the bias
                raise RuntimeError(f"The expanded size of the tensor ({target[-k]}) must match the existing size "
                                   f"({b_shape[-k]}) at non-singleton dimension {len(target) - k}.  Target sizes: "
                                   f"{target}.  Tensor sizes: {b_shape}")
            raise RuntimeError(f"The size of tensor a ({target[-k]}) must match the size of tensor b ({b_shape[-k]}) "
                               f"at non-singleton dimension {rank - k}")  # the in-place add's broadcast
    if len(b_shape) > len(target):
        grown = b_shape[:len(b_shape) - len(target)] + [max(t, b) for t, b in zip(target, b_shape[-len(target):])]
        raise RuntimeError(f"output with shape {target} doesn't match the broadcast shape {grown}")


class _Linear(Function):
    """``input @ weight.T + bias`` as one node, as PyTorch's addmm: the weight's gradient comes
    out of one product already in the weight's layout, so nothing is transposed back or copied."""

    _backward_name = "AddmmBackward0"

    @staticmethod
    def forward(ctx, x, w, b):
        kt, lead = x._kt, tuple(x._data.shape[:-1])
        rows = math.prod(lead)
        x2 = x._data if x._data.ndim == 2 else kt["reshape"](x._data, (rows, x._data.shape[-1]))
        out = kt["matmul"](x2, kt["permute"](w._data, (1, 0)))
        if b is not None:
            out = kt["add"](out, b._data)
        if len(lead) != 1:
            out = kt["reshape"](out, lead + (w._data.shape[0],))
        ctx.save_for_backward(x if w.requires_grad else None, w if x.requires_grad else None)
        return x._new(out)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        if not STATE.enabled and g._data.ndim >= 2:
            # without create_graph: the three products on backend arrays, no per-op graph bookkeeping
            # (a (batch, time, features) input's rows flattened into one matrix, as in forward)
            kt, gd, need = g._kt, g._data, ctx.needs_input_grad
            lead = gd.shape[:-1]
            if len(lead) != 1:
                gd = kt["reshape"](gd, (math.prod(lead), gd.shape[-1]))
            gx = gw = gb = None
            if need[0]:
                gx = kt["matmul"](gd, w._data)
                gx = g._new(gx if len(lead) == 1 else kt["reshape"](gx, lead + (gx.shape[-1],)))
            if need[1]:
                xd = x._data if x._data.ndim == 2 else kt["reshape"](x._data, (gd.shape[0], x._data.shape[-1]))
                gw = g._new(kt["matmul"](kt["permute"](gd, (1, 0)), xd))
            if len(need) > 2 and need[2]:
                gb = g._new(kt["sum"](gd, (0,), False))
            return gx, gw, gb
        g2 = g if g.dim() == 2 else g.reshape(-1, g.shape[-1])
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = g @ w
        if ctx.needs_input_grad[1]:
            gw = g2.mT @ (x if x.dim() == 2 else x.reshape(-1, x.shape[-1]))
        if len(ctx.needs_input_grad) > 2 and ctx.needs_input_grad[2]:
            gb = g2.sum(0)
        return gx, gw, gb


def _bias_add(out: Tensor, bias: Tensor | None) -> Tensor:
    return out + bias if bias is not None else out


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1^T W_k x2 + b_k`` with weight (out, in1, in2)."""
    # PyTorch's checks, in its order (a broadcast or matmul would otherwise name other sizes)
    if input1.dim() != input2.dim():
        raise RuntimeError(f"bilinear(): input dimensions do not match: got {input1.dim()} and {input2.dim()}")
    for i in range(input1.dim() - 1):
        if input1.shape[i] != input2.shape[i]:
            raise RuntimeError(f"bilinear(): input batch dimensions do not match at dim {i}: got {input1.shape[i]} and "
                               f"{input2.shape[i]}")
    if weight.dim() >= 1:
        for name, x, k in (("input1", input1, 1), ("input2", input2, 2)):
            if k >= weight.dim():  # PyTorch reads weight.size(k)
                n = weight.dim()
                raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {k})")
            if x.dim() and x.shape[-1] != weight.shape[k]:
                raise RuntimeError(f"bilinear(): {name} size does not match weight size: got {x.shape[-1]} but "
                                   f"expected {weight.shape[k]}")
        if bias is not None and bias.dim() and bias.shape[0] != weight.shape[0]:
            raise RuntimeError(f"bilinear(): bias size does not match weight size: got {bias.shape[0]} but expected "
                               f"{weight.shape[0]}")
    out_f, in1, in2 = weight.shape
    tmp = input1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)  # (..., out*in2)
    tmp = tmp.reshape(*input1.shape[:-1], out_f, in2)
    if tmp._dtype.is_floating_point:
        # PyTorch's _trilinear contracts in2 as a second (batched) matmul: one float32 accumulation,
        # rounded once for float16/bfloat16 (a product then a sum would round twice)
        return _bias_add((tmp @ input2.unsqueeze(-1)).squeeze(-1), bias)
    out = (tmp * input2.unsqueeze(-2)).sum(-1)
    if out.dtype is not tmp.dtype:  # an integer sum went to int64: PyTorch's result keeps the inputs' dtype,
        out = out.to(tmp.dtype)  # wrapped (integer products and sums agree modulo 2**bits in any width)
    return out + bias if bias is not None else out


# ---- convolution / pooling (1-d through the 2-d ops) -----------------------------------------
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution over (N, C, L) or (C, L), through conv2d on an (N, C, 1, L) view."""
    unbatched = input.dim() == 2
    if unbatched:
        input = input.unsqueeze(0)
    if input.dim() != 3:
        raise RuntimeError(f"Expected 2D (unbatched) or 3D (batched) input to conv1d, but got input of size: "
                           f"{list(input.shape)}")
    _check_conv(input, weight, bias, groups, 1)
    (s,), (d,) = pair(stride, 1, "stride", "conv"), pair(dilation, 1, "dilation", "conv")
    p = padding if isinstance(padding, str) else (0, pair(padding, 1, "padding", "conv")[0])
    if not isinstance(padding, str) or padding == "valid":  # checked in 1-d, to name 1-d sizes
        check_conv_geometry((input.shape[2],), (weight.shape[2],), (s,), (0 if isinstance(p, str) else p[1],), (d,))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, s), p, (1, d), groups).squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    unbatched = input.dim() == 2
    if unbatched:
        input = input.unsqueeze(0)
    out = conv_transpose2d(input.unsqueeze(2), weight.unsqueeze(2), bias, (1, _one(stride, "stride", "conv")),
                           (0, _one(padding, "padding", "conv")), (0, _one(output_padding, "output_padding", "conv")),
                           groups, (1, _one(dilation, "dilation", "conv"))).squeeze(2)
    return out.squeeze(0) if unbatched else out


def _one(v: Any, name: str = "value", op: str = "") -> int:
    return pair(v, 1, name, op)[0]


def _check_max_pool1d(input: Tensor, k: int, s: int, p: int, d: int, ceil_mode: bool) -> None:
    from ember.nn._convpool import out_size

    if input.dim() not in (2, 3):
        raise RuntimeError(f"max_pool1d() Expected 2D or 3D input tensor, but got {list(input.shape)}")
    for ok, text in ((k > 0, f"kernel_size must be greater than zero, but got {k}"),
                     (s > 0, f"stride must be greater than zero, but got {s}"),
                     (p >= 0, f"padding must be non-negative, but got {p}"),
                     (p <= k // 2, f"padding should be at most half of kernel size, but got padding={p} and "
                                   f"kernel_size={k}"),
                     (d > 0, f"dilation must be greater than zero, but got {d}")):
        if not ok:
            raise RuntimeError(f"max_pool1d() {text}")
    n = out_size(input.shape[-1], k, s, p, d, ceil_mode)
    if n <= 0:
        raise RuntimeError(f"max_pool1d() Invalid computed output size: {n}")
    if 0 in input.shape[input.dim() - 2:]:  # only a 3-D input's batch dim may be empty
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:{list(input.shape)}")
    if not input.dtype.is_floating_point:  # PyTorch's max_pool1d_impl has float instances only
        from ember.functions.binary import _dtype_name

        raise NotImplementedError(f'"max_pool1d_impl" not implemented for \'{_dtype_name(input.dtype)}\'')


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    stride = kernel_size if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    k, s = _one(kernel_size, "kernel_size", "max_pool1d"), _one(stride, "stride", "max_pool1d")
    p, d = _one(padding, "padding", "max_pool1d"), _one(dilation, "dilation", "max_pool1d")
    if not return_indices:  # PyTorch's max_pool1d checks (its return_indices path words them as 2-d)
        _check_max_pool1d(input, k, s, p, d, ceil_mode)
    res = max_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, p), (1, d), ceil_mode, return_indices)
    if return_indices:
        return res[0].squeeze(-2), res[1].squeeze(-2)
    return res.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    _check_1d_pool_rank(input, "avg_pool1d")
    stride = kernel_size if stride is None or (isinstance(stride, (list, tuple)) and not stride) else stride
    k, s = _one(kernel_size, "kernel_size", "avg_pool1d"), _one(stride, "stride", "avg_pool1d")
    return avg_pool2d(input.unsqueeze(-2), (1, k), (1, s), (0, _one(padding, "padding", "avg_pool1d")),
                      ceil_mode, count_include_pad).squeeze(-2)


def _adaptive_ranges(n: int, o: int) -> list:
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _adaptive_axis(x: Tensor, dim: int, o: int | None, reduce: str) -> Tensor:
    dim = dim % x.dim()
    n = x.shape[dim]
    if o is None or o == n:
        return x
    if o < 0:
        raise RuntimeError(f"adaptive pooling: elements of output_size must be greater than or equal to 0 but "
                           f"received {o}")
    if o == 0:  # an empty output, as PyTorch gives
        shp = list(x.shape)
        shp[dim] = 0
        return x.narrow(dim, 0, 0).reshape(shp)
    if n % o == 0:
        k = n // o
        shp = list(x.shape)
        shp[dim:dim + 1] = [o, k]
        y = x.reshape(*shp)
        return y.mean(dim + 1) if reduce == "mean" else y.amax(dim + 1)
    parts = []
    for a, b in _adaptive_ranges(n, o):
        piece = x.narrow(dim, a, b - a)
        parts.append(piece.mean(dim, keepdim=True) if reduce == "mean" else piece.amax(dim, keepdim=True))
    return _s.cat(parts, dim)


def _check_adaptive_rank(input: Tensor, output_size: Any) -> None:
    """PyTorch's Python layer fills a sequence ``output_size``'s None entries from the input's sizes
    first, refusing an input with no more dims than it has entries (before the kernel's checks)."""
    if isinstance(output_size, (list, tuple)):
        from ember.nn.modules.utils import _list_with_default

        _list_with_default(output_size, list(input.shape))


@grad_fn_name("AdaptiveAvgPool2DBackward0")
@_e.in_opmath  # (PyTorch's 16-bit kernel sums each window in float32 and rounds once)
def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive windows [floor(i*H/o), ceil((i+1)*H/o))."""
    _check_adaptive_rank(input, output_size)
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got {list(input.shape)}")
    if isinstance(output_size, (list, tuple)) and len(output_size) != 2:
        raise RuntimeError("adaptive_avg_pool2d: output_size must be 2")
    # (PyTorch's 2d kernel refuses only empty spatial dims: channels may be 0)
    _check_adaptive_max_dims(input, "adaptive_avg_pool2d", range(input.dim() - 2, input.dim()))
    _float_only(input, "adaptive_avg_pool2d")
    oh, ow = output_size if isinstance(output_size, (list, tuple)) else (output_size, output_size)
    return _adaptive_axis(_adaptive_axis(input, -2, oh, "mean"), -1, ow, "mean")


def _float_only(input: Tensor, kernel: str) -> None:
    """PyTorch's adaptive pooling kernels are defined for floating dtypes only."""
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_word(input._dtype)}\'')


def _check_1d_pool_rank(input: Tensor, name: str) -> None:
    if input.dim() not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {name})")


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    _check_1d_pool_rank(input, "adaptive_avg_pool1d")
    if input.dim() in (2, 3) and input.shape[-1] == 0:  # PyTorch runs the 2d kernel on input.unsqueeze(-2)
        _check_adaptive_max_dims(input.unsqueeze(-2), "adaptive_avg_pool2d", [input.dim()])
    _float_only(input, "adaptive_avg_pool2d")  # (PyTorch runs the 2d kernel)
    return _adaptive_axis(input, -1, _one(output_size, "output_size", "adaptive_avg_pool1d"), "mean")


def _adaptive_max_2d(input: Tensor, oh: int, ow: int) -> Tensor:
    # separable max is exact: max over a rectangle = max over rows of max over columns
    return _adaptive_axis(_adaptive_axis(input, -2, oh, "max"), -1, ow, "max")


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    _check_adaptive_rank(input, output_size)
    if input.dim() not in (3, 4):
        raise RuntimeError(f"adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: {list(input.shape)}")
    _check_adaptive_max_dims(input, "adaptive_max_pool2d")
    _float_only(input, "adaptive_max_pool2d")
    if return_indices or _max_grad(input):
        return _adaptive_max_indices(input, output_size, 2) if return_indices else \
            _adaptive_max_indices(input, output_size, 2)[0]
    oh, ow = _adaptive_sizes(input, output_size, 2, "adaptive_max_pool2d")
    return _adaptive_max_2d(input, oh, ow)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    _check_1d_pool_rank(input, "adaptive_max_pool1d")
    _check_adaptive_max_dims(input, "adaptive_max_pool1d")
    _float_only(input, "adaptive_max_pool2d")  # (PyTorch runs the 2d kernel)
    size = _one(output_size, "output_size", "adaptive_max_pool1d")
    if return_indices or _max_grad(input):
        return _adaptive_max_indices(input, size, 1) if return_indices else _adaptive_max_indices(input, size, 1)[0]
    return _adaptive_axis(input, -1, size, "max")


def _max_grad(input: Tensor) -> bool:
    """Whether adaptive max pooling must record PyTorch's gradient: all of a window's gradient to the
    first maximum (its index), where the faster composite of ``amax`` would share it among ties (a
    window of equal values, as after a ReLU)."""
    return STATE.enabled and input.requires_grad


def _check_adaptive_max_dims(input: Tensor, name: str, dims: Any = None) -> None:
    """PyTorch's adaptive max (and 3d average) pooling refuses an empty dim after the first (the
    first is a batch, or the channels of an unbatched input); 2d average pooling checks ``dims``."""
    for d in range(1, input.dim()) if dims is None else dims:
        if input.shape[d] == 0:
            raise RuntimeError(f"{name}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(input.shape)} with dimension {d} being empty")


def _adaptive_sizes(input: Tensor, output_size: Any, nd: int, name: str) -> tuple:
    """PyTorch's adaptive output sizes of the last ``nd`` dims (None keeps that dim's size)."""
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"{name}(): Expected {nd + 1}D or {nd + 2}D tensor, but got: {list(input.shape)}")
    outs = tuple(output_size) if isinstance(output_size, (list, tuple)) else (output_size,) * nd
    if len(outs) != nd:
        raise RuntimeError(f"{name}(): internal error: output_size.size() must be {nd}")
    outs = tuple(n if o is None else int(o) for n, o in zip(input.shape[-nd:], outs))
    if min(outs) < 0:
        shape = list(input.shape[:-nd]) + list(outs)
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(outs)}: {shape}")
    return outs


def _adaptive_max_indices(input: Tensor, output_size: Any, nd: int) -> tuple:
    """Adaptive max pooling with PyTorch's flat indices over the last ``nd`` dims."""
    from ember.nn._convpool import adaptive_max_with_indices

    outs = _adaptive_sizes(input, output_size, nd, f"adaptive_max_pool{nd}d")
    lead = tuple(input.shape[:-nd])
    x = input.reshape((-1, 1) + tuple(input.shape[-nd:]))  # (batch, 1, *S): any leading dims
    if 0 in outs or x.shape[0] == 0:  # an empty result, still attached to input's graph
        empty = input.flatten()[:0].reshape(lead + outs)
        return empty, empty.detach().long()
    out, idx = adaptive_max_with_indices(x, outs)
    out = out.reshape(lead + outs)
    if nd > 1:  # (PyTorch's 1d pooling is its 2d one and a squeeze: its node is SqueezeBackward1)
        out = name_grad_fn(out, f"AdaptiveMaxPool{nd}DBackward0", input)
    return out, idx.reshape(lead + outs)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive windows of the last three dims of (N, C, D, H, W) or (C, D, H, W)."""
    _check_adaptive_rank(input, output_size)
    if input.dim() not in (4, 5):
        raise RuntimeError(f"adaptive_avg_pool3d(): Expected 4D or 5D tensor, but got {list(input.shape)}")
    _check_adaptive_max_dims(input, "adaptive_avg_pool3d")
    _float_only(input, "adaptive_avg_pool3d_cpu")
    outs = _adaptive_sizes(input, output_size, 3, "adaptive_avg_pool3d")
    out = _adaptive_avg_nd(input, list(outs))
    if (input._dtype is _dt.float16 or input._dtype is _dt.bfloat16) and out.numel():
        if outs == (1, 1, 1):  # PyTorch takes input.mean over the three dims (float32, rounded once)
            return input.mean((-3, -2, -1), keepdim=True)
        with no_grad():  # PyTorch's values; autograd keeps the composite's graph
            out._data = _adaptive_avg3d_lowp(input, outs)._data
    return out


def _adaptive_avg3d_lowp(input: Tensor, outs: tuple) -> Tensor:
    """PyTorch 2.13's 16-bit CPU adaptive_avg_pool3d (``adaptive_avg_pool3d_out_frame`` in
    scalar_t): each window summed in the 16-bit type in (d, h, w) order, every add rounded, then
    divided by its depth, height and width in turn, each division rounded. Vectorised over the
    output cells: window offset by window offset, cells whose window is shorter add zero."""
    import numpy as np

    dt, dev = input._dtype, input.device
    tables = []
    for n, o in zip(input.shape[-3:], outs):
        start = np.array([(i * n) // o for i in range(o)])
        length = np.array([-((-(i + 1) * n) // o) for i in range(o)]) - start
        tables.append((start, length))
    total = _c.zeros(tuple(input.shape[:-3]) + tuple(outs), dtype=dt, device=dev)
    zero = _c.zeros((), dtype=dt, device=dev)
    ranges = [range(int(length.max())) for _, length in tables]
    for offs in ((a, b, c) for a in ranges[0] for b in ranges[1] for c in ranges[2]):
        x, mask = input, None
        for axis, ((start, length), k) in enumerate(zip(tables, offs)):
            n = input.shape[axis - 3]
            idx = _c.tensor(np.minimum(start + k, n - 1), dtype=_dt.int64, device=dev)
            x = x.index_select(axis - 3, idx)
            m = _c.tensor(k < length, device=dev).reshape((-1,) + (1,) * (2 - axis))
            mask = m if mask is None else mask & m
        total = total + _e.where(mask, x, zero)
    for axis, (_, length) in enumerate(tables):
        total = total / _c.tensor(length, dtype=dt, device=dev).reshape((-1,) + (1,) * (2 - axis))
    return total


def _adaptive_avg_nd(input: Tensor, sizes: list) -> Tensor:
    """Adaptive average pooling of the last ``len(sizes)`` dims (separable: a mean of means over
    a rectangle of adaptive windows is the rectangle's mean)."""
    out = input
    for i, o in enumerate(sizes):
        out = _adaptive_axis(out, input.dim() - len(sizes) + i, o, "mean")
    return out


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max over PyTorch's adaptive windows of the last three dims; indices are flat d*H*W+h*W+w."""
    _check_adaptive_rank(input, output_size)
    _check_adaptive_max_dims(input, "adaptive_max_pool3d")
    _float_only(input, "adaptive_max_pool3d_cpu")
    if return_indices or _max_grad(input):
        return _adaptive_max_indices(input, output_size, 3) if return_indices else \
            _adaptive_max_indices(input, output_size, 3)[0]
    outs = _adaptive_sizes(input, output_size, 3, "adaptive_max_pool3d")
    out = input
    for i, o in enumerate(outs):
        out = _adaptive_axis(out, input.dim() - 3 + i, o, "max")
    return out


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    from ember.nn._convpool import max_pool3d as _max_pool3d

    return _max_pool3d(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    from ember.nn._convpool import avg_pool3d as _avg_pool3d

    return _avg_pool3d(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    from ember.nn._convpool import conv3d as _conv3d

    return _conv3d(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    from ember.nn._convpool import conv_transpose3d as _conv_transpose3d

    return _conv_transpose3d(input, weight, bias, stride, padding, output_padding, groups, dilation)


def _lp_finish(out: Tensor, norm_type: float, count: int) -> Tensor:
    # PyTorch's formula: sign(s) * relu(|s|) * count, to the 1/p. sign's gradient is zeros in PyTorch
    # (not g * 0), so an all-zero window's infinite gradient from pow becomes 0, not NaN: detached here.
    return (out.sign().detach() * out.abs().relu() * count).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: (sum over the window of x**p) ** (1/p), PyTorch's formula."""
    out = avg_pool1d(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, _one(kernel_size))


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    kh, kw = pair(kernel_size, 2, "kernel_size")
    out = avg_pool2d(input.pow(norm_type), (kh, kw), stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kh * kw)


def lp_pool3d(input: Tensor, norm_type: float, kernel_size: Any, stride: Any = None,
              ceil_mode: bool = False) -> Tensor:
    kd, kh, kw = pair(kernel_size, 3, "kernel_size")
    out = avg_pool3d(input.pow(norm_type), (kd, kh, kw), stride, 0, ceil_mode)
    return _lp_finish(out, norm_type, kd * kh * kw)


def _unpool_output_size(input: Tensor, kernel: tuple, stride: tuple, padding: tuple, output_size: Any) -> tuple:
    """PyTorch's _unpool_output_size: the default, or a given size checked against its range."""
    nd = len(kernel)
    default = tuple((input.shape[input.dim() - nd + d] - 1) * stride[d] + kernel[d] - 2 * padding[d]
                    for d in range(nd))
    if output_size is None:
        return default
    size = list(output_size)
    if len(size) == nd + 2:
        size = size[2:]
    if len(size) != nd:
        raise ValueError(f"output_size should be a sequence containing {nd} or {nd + 2} elements, but it has a "
                         f"length of '{len(size)}'")
    for d in range(nd):
        lo, hi = default[d] - stride[d], default[d] + stride[d]
        if not lo < size[d] < hi:
            raise ValueError(f'invalid output_size "{tuple(size)}" (dim {d} must be between {lo} and {hi})')
    return tuple(int(v) for v in size)


def _max_unpool(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any, output_size: Any,
                nd: int) -> Tensor:
    """Scatter each value to its flat index in a zero output of PyTorch's unpooled size."""
    kernel = pair(kernel_size, nd, "kernel_size")
    stride = kernel if stride is None else pair(stride, nd, "stride")
    padding = pair(padding, nd, "padding")
    out_sp = _unpool_output_size(input, kernel, stride, padding, output_size)
    if indices.dtype is not _dt.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: {_scalar_type(indices.dtype)}")
    if input.dim() not in (nd + 1, nd + 2):
        if nd == 1:
            raise RuntimeError(f"Input to max_unpooling1d should be a 2d or 3d Tensor, but got a tensor with "
                               f"{input.dim()} dimensions.")
        raise RuntimeError(f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, but got a tensor "
                           f"with {input.dim()} dimensions.")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor ({list(input.shape)}) "
                           f"but got indices tensor with shape: {list(indices.shape)}")
    lead = tuple(input.shape[:-nd])
    total = math.prod(out_sp)
    flat_i = indices.reshape(lead + (-1,))
    if flat_i.numel():
        lo, hi = int(flat_i.amin().item()), int(flat_i.amax().item())
        if lo < 0 or hi >= total:
            bad = hi if hi >= total else lo
            raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                               f"{'x'.join(str(v) for v in out_sp)})")
    out = input.new_zeros(lead + (total,))
    out = out.scatter(-1, flat_i, input.reshape(lead + (-1,)))
    return out.reshape(lead + out_sp)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """The partial inverse of max_pool1d: values at their indices, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


def _check_shuffle(input: Tensor, name: str, factor: Any, what: str) -> None:
    if isinstance(factor, bool) or not isinstance(factor, int):
        raise TypeError(f"{name}(): argument '{what}' (position 2) must be int, not {type(factor).__name__}")
    if input.dim() < 3:
        raise RuntimeError(f"{name} expects input to have at least 3 dimensions, but got input with {input.dim()} "
                           "dimension(s)")
    if factor <= 0:
        raise RuntimeError(f"{name} expects a positive {what}, but got {factor}")


@grad_fn_name("PixelShuffleBackward0")
def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r): a reshape, a permute and a reshape."""
    _check_shuffle(input, "pixel_shuffle", upscale_factor, "upscale_factor")
    r = upscale_factor
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError("pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    nl = len(lead)
    x = input.reshape(tuple(lead) + (c // (r * r), r, r, h, w))
    x = x.permute(tuple(range(nl + 1)) + (nl + 3, nl + 1, nl + 4, nl + 2))
    return x.reshape(tuple(lead) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W), the inverse of pixel_shuffle."""
    _check_shuffle(input, "pixel_unshuffle", downscale_factor, "downscale_factor")
    r = downscale_factor
    *lead, c, h, w = input.shape
    for name, n, d in (("height", h, -2), ("width", w, -1)):
        if n % r:
            raise RuntimeError(f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                               f"input.size({d})={n} is not divisible by {r}")
    nl = len(lead)
    x = input.reshape(tuple(lead) + (c, h // r, r, w // r, r))
    x = x.permute(tuple(range(nl + 1)) + (nl + 2, nl + 4, nl + 1, nl + 3))
    return x.reshape(tuple(lead) + (c * r * r, h // r, w // r))


# ---- normalisation ---------------------------------------------------------------------------
@grad_fn_name("NativeBatchNormBackward0")
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise over every dim but 1; in training, update running stats (unbiased var) in place."""
    # PyTorch's order: _verify_batch_size, an empty input returned at once (1-D included), the
    # running stats required in evaluation, their sizes against size(1) (0 for a 1-D input, which
    # then fails reading size(1))
    if training and input.dim() and input.shape[0] * math.prod(input.shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {input.shape!r}")
    if input.numel() == 0:
        # PyTorch returns an empty input at once: no statistics, no checks; the affine vectors still
        # join the graph (zero gradients)
        out = input.clone()
        if weight is not None:
            out = out * weight.reshape(-1)[0]
        if bias is not None:
            out = out + bias.reshape(-1)[0]
        return out
    if not training:
        for name, t in (("running_mean", running_mean), ("running_var", running_var)):
            if t is None:
                raise RuntimeError(f"{name} must be defined in evaluation mode")
    c = input.shape[1] if input.dim() > 1 else 0
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {c} elements not {t.numel()}")
    if input.dim() < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(input.dim(), 1)}, "
                         f"{max(input.dim(), 1) - 1}], but got 1)")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"batch_norm" not implemented for \'{type_word(input._dtype)}\'')
    if check_norm_dtypes(input, weight, bias, running_mean, running_var):
        # PyTorch's mixed-precision kernel (a 16-bit input, float32 parameters): float32 statistics
        # and affine map, the output in the input's dtype
        return batch_norm(input.float(), running_mean, running_var, weight, bias, training, momentum, eps).to(
            input.dtype)
    dims = tuple(d for d in range(input.dim()) if d != 1)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if training and input._dtype in (_dt.float16, _dt.bfloat16):
        return _batch_norm_train_16bit(input, dims, shape, running_mean, running_var, weight, bias, momentum, eps)
    if training:
        n = input.numel() // c
        mean = input.mean(dims)
        var = input.var(dims, correction=0)
        if running_mean is not None:
            with no_grad():
                running_mean.mul_(1 - momentum).add_(mean.detach() * momentum)
                running_var.mul_(1 - momentum).add_(var.detach() * (momentum * n / (n - 1)))
    else:
        mean, var = running_mean, running_var
    return _normalize_affine(input, mean.reshape(shape), var.reshape(shape), weight, bias, eps, shape)


def _batch_norm_train_16bit(input: Tensor, dims: tuple, shape: tuple, running_mean: Tensor | None,
                            running_var: Tensor | None, weight: Tensor | None, bias: Tensor | None, momentum: float,
                            eps: float) -> Tensor:
    """Training-mode batch_norm of a float16/bfloat16 input with parameters of its dtype, rounded
    where PyTorch's CPU kernel rounds. Both sum the statistics in float32 and map the input as
    ``x * alpha + beta`` (``alpha = invstd * weight``, ``beta = bias - mean * alpha``) in float32,
    rounding the output once. float16 then rounds only the saved mean and invstd (the running
    statistics blend in float32); bfloat16 keeps its statistics in bfloat16 between steps, as
    c10::BFloat16 arithmetic does: the mean, the sum of squared deviations, that sum over n (and
    n itself), the invstd, the momentum and every product of the running-statistics update."""
    dt = input._dtype
    n = input.numel() // input.shape[1]

    def r(t: Tensor) -> Tensor:  # round to the input's dtype, computing on in float32
        return t.to(dt).float()

    x = input.float()
    mean = x.mean(dims)
    var_sum = ((x - mean.reshape(shape)) ** 2).sum(dims)
    if dt is _dt.float16:
        mean_r, invstd_r = r(mean), r((var_sum / n + eps).rsqrt())
        if running_mean is not None:
            with no_grad():
                running_mean.copy_(mean.detach() * momentum + running_mean.float() * (1 - momentum))
                running_var.copy_(var_sum.detach() / (n - 1) * momentum + running_var.float() * (1 - momentum))
    else:
        mean_r, var_sum_r = r(mean), r(var_sum)
        invstd_r = r((r(var_sum_r / _dt.round_scalar(n, dt)) + eps).rsqrt())
        if running_mean is not None:
            mom = _dt.round_scalar(momentum, dt)
            keep = _dt.round_scalar(1 - mom, dt)
            with no_grad():
                running_mean.copy_(r(mean_r.detach() * mom) + r(running_mean.float() * keep))
                unbiased = r(var_sum_r.detach() / _dt.round_scalar(n - 1, dt))
                running_var.copy_(unbiased * mom + r(running_var.float() * keep))
    alpha = invstd_r if weight is None else invstd_r * weight.float()
    beta = -(mean_r * alpha) if bias is None else bias.float() - mean_r * alpha
    return (x * alpha.reshape(shape) + beta.reshape(shape)).to(dt)


@_e.in_opmath  # (PyTorch's 16-bit batch_norm applies the statistics and affine map in float32, rounded once)
def _normalize_affine(input: Tensor, mean: Tensor, var: Tensor, weight: Tensor | None, bias: Tensor | None,
                      eps: float, shape: tuple) -> Tensor:
    """``(input - mean) / sqrt(var + eps) * weight + bias``, weight and bias reshaped to ``shape``."""
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each (sample, channel) plane by its own statistics, or by the running ones when
    ``use_input_stats`` is False. With input statistics, given running buffers are updated in place
    as PyTorch does (its batch_norm over the N*C planes, averaged over the batch): the mean of the
    planes' means and of their unbiased variances, blended in with ``momentum``."""
    dims = tuple(range(2, input.dim()))
    shape = (1, input.shape[1]) + (1,) * (input.dim() - 2)
    if use_input_stats and math.prod(input.shape[2:]) == 1:  # PyTorch's _verify_spatial_size
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {input.shape}")
    if use_input_stats and (running_mean is None) != (running_var is None):  # (PyTorch's batch_norm refuses it)
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not input._dtype.is_floating_point:
        if not input.numel():  # PyTorch returns an empty input as it is
            return input.clone()
        raise NotImplementedError(f'"batch_norm" not implemented for \'{type_word(input._dtype)}\'')
    check_norm_dtypes(input, weight, bias, running_mean, running_var)
    if input._dtype in (_dt.float16, _dt.bfloat16) and input.dim() > 1 and input.numel():
        # PyTorch's own route: batch_norm over the (1, N*C, ...) planes, so 16-bit statistics and
        # mixed-precision parameters round exactly as its batch_norm kernel rounds them
        return _instance_norm_as_batch_norm(input, running_mean, running_var, weight, bias, use_input_stats,
                                            momentum, eps)
    if use_input_stats:
        mean = input.mean(dims, keepdim=True)
        var = input.var(dims, correction=0, keepdim=True)
        if running_mean is not None or running_var is not None:
            n = math.prod(input.shape[2:])
            with no_grad():
                if running_mean is not None:
                    running_mean.mul_(1 - momentum).add_(mean.mean(0).reshape(-1) * momentum)
                if running_var is not None:
                    unbiased = var * (n / (n - 1)) if n > 1 else var * math.nan
                    running_var.mul_(1 - momentum).add_(unbiased.mean(0).reshape(-1) * momentum)
    else:
        if running_mean is None or running_var is None:
            raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _instance_norm_as_batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
                                 weight: Tensor | None, bias: Tensor | None, use_input_stats: bool, momentum: float,
                                 eps: float) -> Tensor:
    """aten's instance_norm: the input seen as one sample of N*C channels, the per-channel vectors
    repeated N times, and the running statistics (updated per plane) averaged back over the batch."""
    b, c = input.shape[0], input.shape[1]
    def rep(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.repeat(b)

    rm, rv = rep(running_mean), rep(running_var)
    planes = input.reshape((1, b * c) + tuple(input.shape[2:]))
    out = batch_norm(planes, rm, rv, rep(weight), rep(bias), use_input_stats, momentum, eps)
    with no_grad():
        if running_mean is not None:
            running_mean.copy_(rm.reshape(b, c).mean(0))
        if running_var is not None:
            running_var.copy_(rv.reshape(b, c).mean(0))
    return out.reshape(tuple(input.shape))


@_e.in_opmath
def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the trailing ``normalized_shape`` dims, then scale by ``weight`` and shift by
    ``bias`` (each of ``normalized_shape``); one autograd node (``NativeLayerNormBackward0``).

    Example:
        >>> import ember
        >>> ember.nn.functional.layer_norm(ember.tensor([[1.0, 3.0]]), (2,))
        tensor([[-1.0000,  1.0000]])
    """
    check_shape_arg(normalized_shape, "layer_norm")
    return native_layer_norm(input, normalized_shape, weight, bias, eps)[0]


@grad_fn_name("NativeGroupNormBackward0")
@_e.in_opmath  # (PyTorch's 16-bit kernels: statistics and the affine map in float32, rounded once)
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    n, c = input.shape[0], input.shape[1]
    if c % num_groups:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in input, but "
                               f"got {name} of shape {list(t.shape)} and input of shape {list(input.shape)}")
    mixed = check_norm_dtypes(input, weight, bias)  # (first: its mixed-dtype error comes before the dtype's)
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"GroupNormKernelImpl" not implemented for \'{type_word(input._dtype)}\'')
    if mixed:  # mixed precision: float32 kernel, the input's dtype out
        return group_norm(input.float(), num_groups, weight, bias, eps).to(input.dtype)
    x = input.reshape(n, num_groups, (c // num_groups) * math.prod(input.shape[2:]))  # n may be 0
    mean = x.mean(2, keepdim=True)
    var = x.var(2, correction=0, keepdim=True)
    out = ((x - mean) * (var + eps).rsqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ---- dropout ---------------------------------------------------------------------------------
def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: tuple, p: float) -> Tensor:
    return (_c.rand(*shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1-p) (training only)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    if p == 1.0:
        out = input * 0.0
    else:
        out = input * (_keep_mask(input, tuple(input.shape), p) * (1.0 / (1.0 - p)))
    if inplace:
        return _e.assign_inplace(input, out)
    return out


def _feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """aten's ``feature_dropout``: one draw per (dim 0, dim 1) entry, shared along the other dims;
    a 2-D input therefore drops single elements (what ``dropout2d`` on (N, C) has always done)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    if p == 1.0:
        out = input * input.new_zeros(())
    else:
        if input.dim() < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = tuple(input.shape[:2]) + (1,) * (input.dim() - 2)
        out = input * (_keep_mask(input, shape, p) * (1.0 / (1.0 - p)))
    return _e.assign_inplace(input, out) if inplace else out


def _unbatched_feature_dropout(input: Tensor, p: float, training: bool, inplace: bool) -> Tensor:
    """Feature dropout of an input without its batch dim (one is added, then removed)."""
    if not training or p == 0.0 or input.numel() == 0:
        return input
    out = _feature_dropout(input.unsqueeze(0), p, training, False).squeeze(0)
    return _e.assign_inplace(input, out) if inplace else out


_FEATURE_DROPOUT_DEPRECATED = ("{name}: Received a {dim}-D input to {name}, which is deprecated and will result in an "
                               "error in a future release. To retain the behavior and silence this warning, please "
                               "use dropout instead. Note that {name} exists to provide channel-wise dropout on inputs "
                               "with {spatial} spatial dimensions, a channel dimension, and an optional batch dimension "
                               "(i.e. {lo}D or {hi}D inputs).")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input, as PyTorch: a 3-D input is taken as (N, C, L)
    (1-D channels, with PyTorch's warning) and a 2-D one as (N, C), whose "channels" are single
    elements (deprecated, warned)."""
    _check_p(p)
    dim = input.dim()
    if dim not in (3, 4):
        warnings.warn(_FEATURE_DROPOUT_DEPRECATED.format(name="dropout2d", dim=dim, spatial=2, lo=3, hi=4),
                      stacklevel=2)
    if dim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, please "
                      "switch to using dropout1d instead.", stacklevel=2)
    return _feature_dropout(input, p, training, inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or unbatched (C, L) input."""
    _check_p(p)
    dim = input.dim()
    if dim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {dim}D input. Note that dropout1d "
                           "exists to provide channel-wise dropout on inputs with 1 spatial dimension, a channel "
                           "dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    if dim == 3:
        return _feature_dropout(input, p, training, inplace)
    return _unbatched_feature_dropout(input, p, training, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    _check_p(p)
    if not training or p == 0.0:
        return input
    alpha_p = -1.7580993408473766
    keep = _keep_mask(input, tuple(input.shape), p)
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    return (input * keep + alpha_p * (1 - keep)) * a + b


# ---- embedding -------------------------------------------------------------------------------
SPARSE_EMBEDDING_ERROR = ("sparse=True asks for a sparse gradient of the embedding weight, and ember has no sparse "
                          "tensors; use sparse=False: the weight's gradient then has the same values, stored dense")


class _EmbeddingFn(Function):
    """Rows of ``weight`` picked by ``idx``, an int64 index already checked to lie in
    [0, num_embeddings) (so neither direction checks it again)."""

    _backward_name = "EmbeddingBackward0"

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq):
        ctx.save_for_backward(idx)
        ctx.num, ctx.padding_idx, ctx.scale_grad_by_freq = weight._data.shape[0], padding_idx, scale_grad_by_freq
        # on the backend's arrays (the rows of a flat index, then the index's shape): two kernels
        kt, n = weight._kt, idx.numel()
        rows = kt["index_select"](weight._data, 0, kt["reshape"](idx._data, (n,)))
        return weight._new(kt["reshape"](rows, tuple(idx._data.shape) + (weight._data.shape[1],)))

    @staticmethod
    def backward(ctx, grad):
        (idx,) = ctx.saved_tensors
        if not STATE.enabled and ctx.padding_idx is None and not ctx.scale_grad_by_freq:
            # without create_graph: the rows' gradients added into a zero table, on backend arrays
            kt, gd, n = grad._kt, grad._data, idx.numel()
            table = kt["full"]((ctx.num, gd.shape[-1]), 0, grad._dtype, grad._device.index)
            gw = kt["index_put"](table, kt["reshape"](idx._data, (n,)), kt["reshape"](gd, (n, gd.shape[-1])), True)
            return grad._new(gw), None, None, None
        flat = idx.reshape(-1)
        g = grad.reshape(-1, grad.shape[-1])
        if ctx.padding_idx is not None:
            g = g.masked_fill((flat == ctx.padding_idx).unsqueeze(1), 0.0)
        if ctx.scale_grad_by_freq:
            # PyTorch: each lookup's gradient divided by how often its index occurs in the batch
            ones = _c.ones(flat.shape[0], dtype=grad.dtype, device=grad.device)
            counts = IndexAdd.apply(_c.zeros(ctx.num, dtype=grad.dtype, device=grad.device), 0, flat, ones)
            g = g / IndexSelect.apply(counts, 0, flat).unsqueeze(1)
        gw = IndexAdd.apply(_c.zeros(ctx.num, grad.shape[-1], dtype=grad.dtype, device=grad.device), 0, flat, g)
        return gw, None, None, None


def _embedding_padding_idx(padding_idx: int | None, num: int) -> int | None:
    """padding_idx in [0, num), from PyTorch's accepted range [-num, num)."""
    if padding_idx is None:
        return None
    if not -num <= padding_idx < num:
        raise AssertionError("Padding_idx must be within num_embeddings")
    return padding_idx + num if padding_idx < 0 else padding_idx


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` picked by the integer ``input``; the padding_idx row gets no gradient."""
    if input.dtype not in (_dt.int64, _dt.int32):
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the following scalar types: "
                           f"Long, Int; but got {input.type()} instead (while checking arguments for embedding)")
    if weight.dim() != 2:
        raise RuntimeError("'weight' must be 2-D")
    if sparse:
        raise NotImplementedError(SPARSE_EMBEDDING_ERROR)
    padding_idx = _embedding_padding_idx(padding_idx, weight.shape[0])
    _same_device(weight, input)
    idx = input.long()
    _check_bounds(idx, 0, weight.shape[0], lambda v: IndexError("index out of range in self"))
    if max_norm is not None:
        with no_grad():
            flat = idx.reshape(-1)
            rows = IndexSelect.apply(weight, 0, flat)
            norms = rows.norm(norm_type, dim=1, keepdim=True)
            scale = _e.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
            weight.index_put_((flat,), rows * scale)
    return _EmbeddingFn.apply(weight, idx, padding_idx, scale_grad_by_freq)


# ---- activations -----------------------------------------------------------------------------
def _maybe_inplace(input: Tensor, out: Tensor, inplace: bool) -> Tensor:
    return _e.assign_inplace(input, out) if inplace else out


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, _e.relu(input), inplace)


def relu_(input: Tensor) -> Tensor:
    return relu(input, inplace=True)


def _float_kernel(kernel: str, input: Tensor, device_suffix: bool = True, complex_ok: bool = False) -> None:
    """PyTorch's error for an activation whose kernel has real floating instances only (``"elu_cpu"
    not implemented for 'Long'``): ember would otherwise compute it in float and hide the mistake."""
    if not (input._dtype.is_floating_point or (complex_ok and input._dtype.is_complex)):
        name = f"{kernel}_{input._device.type}" if device_suffix else kernel
        raise NotImplementedError(f'"{name}" not implemented for \'{type_word(input._dtype)}\'')


class _Activation(Function):
    """A pointwise activation: the value ``fn(x)``, the gradient ``deriv(x, g)`` written as PyTorch's
    backward formula, whose comparisons decide the kinks and NaN (where a composite's own derivative
    differs: clamp passes the gradient at its bounds and none at NaN). ``deriv`` is in ember ops, so
    ``create_graph`` differentiates it."""

    @staticmethod
    def forward(ctx, x, fn, deriv):
        ctx.save_for_backward(x)
        ctx.deriv = deriv
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return _e._zero_link(ctx.deriv(x, g), x), None, None


def _scalar_arg(value: Any, x: Tensor, opmath: bool = True) -> Any:
    """A Python number argument of an activation as PyTorch's kernel takes it: converted, checked,
    to ``x``'s dtype, or to its opmath dtype (float32 for float16/bfloat16) where the kernel computes
    in it (``leaky_relu(x, 1e39)`` raises the overflow error, an int8 threshold of 0.5 is 0)."""
    from ember._scalar_convert import checked_scalar

    dt = x._dtype
    if opmath and dt in (_dt.float16, _dt.bfloat16):
        dt = _dt.float32
    return checked_scalar(value, dt)


@grad_fn_name("LeakyReluBackward0")
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _float_kernel("leaky_relu", input)
    negative_slope = _scalar_arg(negative_slope, input)
    # one node with PyTorch's backward (x > 0 ? g : g * slope), so create_graph can differentiate it
    out = _Activation.apply(input, lambda x: _e.where(x > 0, x, x * negative_slope),
                            lambda x, g: _e.where(x > 0, g, g * negative_slope))
    return _maybe_inplace(input, out, inplace)


@grad_fn_name("EluBackward0")
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _float_kernel("elu", input)
    return _maybe_inplace(input, _elu_value(input, _scalar_arg(alpha, input)), inplace)


@_e.in_opmath  # (PyTorch's 16-bit kernel: one float32 computation, rounded once)
def _elu_value(x: Tensor, alpha: float) -> Tensor:
    # clamp first so the unused branch never overflows (its gradient would be 0 * inf)
    neg = x.clamp(max=0.0).expm1() * alpha
    # PyTorch's test is x <= 0, so NaN takes the linear branch (gradient 1, as PyTorch's). At exactly
    # 0 the value is alpha * x (+-0) with PyTorch's gradient alpha and its second derivative 0 (its
    # double backward masks x < 0)
    return _e.where(x < 0, neg, _e.where(x == 0, x * alpha, x))


@grad_fn_name("EluBackward0")
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _maybe_inplace(input, _selu_value(input), inplace)


@_e.in_opmath  # (PyTorch's 16-bit kernel: one float32 computation, rounded once)
def _selu_value(x: Tensor) -> Tensor:
    scale, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    return elu(x, alpha) * scale


@grad_fn_name("CeluBackward0")
def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _float_kernel("elu", input)
    alpha = _scalar_arg(alpha, input)
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _maybe_inplace(input, _celu_value(input, alpha), inplace)


@_e.in_opmath
def _celu_value(x: Tensor, alpha: float) -> Tensor:
    neg = (x.clamp(max=0.0) / alpha).expm1() * alpha
    return _e.where(x < 0, neg, x)  # NaN: linear, as elu; at 0: x, gradient 1, second derivative 0


def _gelu_composite(x: Tensor, approximate: str) -> Tensor:
    """GELU in ember ops, for a backend without the optional ``gelu`` kernel (PyTorch's order)."""
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    return x * 0.5 * ((x * math.sqrt(0.5)).erf() + 1.0)


def _gelu_derivative(x: Tensor, approximate: str) -> Tensor:
    """d gelu(x) / dx in ember ops (differentiable again: double backward)."""
    if approximate == "tanh":
        beta = math.sqrt(2.0 / math.pi)
        x_sq = x * x
        t = ((x + x_sq * x * 0.044715) * beta).tanh()
        return 0.5 * (t + 1.0) + (0.5 * x) * (1.0 - t * t) * (beta * (1.0 + 3 * 0.044715 * x_sq))
    cdf = 0.5 * ((x * math.sqrt(0.5)).erf() + 1.0)
    return cdf + x * ((x * x * -0.5).exp() * (1.0 / math.sqrt(2.0 * math.pi)))


class Gelu(Function):
    """One autograd node (PyTorch's ``GeluBackward0``) running the optional ``gelu`` /
    ``gelu_backward`` kernels where the device has them: a backend computes it in one pass, and in
    its opmath type for float16/bfloat16 (rounded once, as PyTorch)."""

    _backward_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        if x._kt.has("gelu"):
            return x._new(x._kt["gelu"](x._data, approximate))
        return _gelu_composite(x, approximate)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        kt = x._kt
        if not STATE.enabled and kt.has("gelu_backward") and g._dtype is x._dtype and g.shape == x.shape:
            return g._new(kt["gelu_backward"](g._data, x._data, ctx.approximate)), None
        return g * _gelu_derivative(x, ctx.approximate), None


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit, ``x * Phi(x)``; ``approximate="tanh"`` uses the tanh form.

    Example:
        >>> import ember
        >>> ember.nn.functional.gelu(ember.tensor([-1.0, 0.0, 1.0]))
        tensor([-0.1587,  0.0000,  0.8413])
    """
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    if not isinstance(input, Tensor):
        raise TypeError(f"gelu(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not input._dtype.is_floating_point:
        raise NotImplementedError(f'"GeluKernelImpl" not implemented for \'{type_word(input._dtype)}\'')
    return Gelu.apply(input, approximate)


@grad_fn_name("SiluBackward0")
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    _float_kernel("silu", input, complex_ok=True)
    return _maybe_inplace(input, _silu_value(input), inplace)


@_e.in_opmath  # (PyTorch's 16-bit kernels compute in float32 and round once)
def _silu_value(x: Tensor) -> Tensor:
    return x * x.sigmoid()


@grad_fn_name("MishBackward0")
def mish(input: Tensor, inplace: bool = False) -> Tensor:
    _float_kernel("mish", input)
    return _maybe_inplace(input, _mish_value(input), inplace)


@_e.in_opmath
def _mish_value(x: Tensor) -> Tensor:
    return x * softplus(x).tanh()


def sigmoid(input: Tensor) -> Tensor:
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


@grad_fn_name("SoftplusBackward0")
@_e.in_opmath
def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``log(1 + exp(beta x)) / beta``, linear where ``beta x > threshold``."""
    _float_kernel("softplus", input)
    beta, threshold = _scalar_arg(beta, input), _scalar_arg(threshold, input)

    def value(x: Tensor) -> Tensor:
        bx = x * beta
        return _e.where(bx > threshold, x, (bx.clamp(max=threshold).exp()).log1p() / beta)

    def deriv(x: Tensor, g: Tensor) -> Tensor:  # PyTorch's: z = exp(bx); bx > threshold ? g : g z / (z + 1)
        bx = x * beta
        z = bx.clamp(max=threshold).exp()  # (the clamp keeps the unused branch finite for double backward)
        return _e.where(bx > threshold, g, g * z / (z + 1.0))

    return _Activation.apply(input, value, deriv)


@grad_fn_name("HardtanhBackward0")
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    if min_val > max_val:  # (PyTorch's Python-level check, before any other)
        raise ValueError("min_val cannot be greater than max_val")
    if input._dtype is _dt.bool_:
        raise RuntimeError("Bool inputs not supported for hardtanh")
    if not (input._dtype.is_floating_point or input._dtype.is_complex):
        # PyTorch clamps an integer tensor in its own dtype, the limits truncated to int64 (checked:
        # 1e39 raises its int64_t overflow error) and then checked by the clamp in the tensor's dtype
        from ember._scalar_convert import checked_scalar

        min_val, max_val = checked_scalar(min_val, _dt.int64), checked_scalar(max_val, _dt.int64)
        if input._dtype is _dt.uint8 and (min_val < 0 or max_val < 0):
            raise RuntimeError("cannot do hardtanh on an unsigned type with negative limits")
        return _maybe_inplace(input, input.clamp(min_val, max_val), inplace)
    # PyTorch's backward passes the gradient only where min < x < max, and at NaN (not clamp's)
    out = _Activation.apply(input, lambda x: x.clamp(min_val, max_val),
                            lambda x, g: _e.where((x <= min_val) | (x >= max_val), 0.0, g))
    return _maybe_inplace(input, out, inplace)


@grad_fn_name("HardtanhBackward0")
def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    return hardtanh(input, 0.0, 6.0, inplace)


@grad_fn_name("HardsigmoidBackward0")
def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    _float_kernel("hardsigmoid", input)
    return _maybe_inplace(input, _hardsigmoid_value(input), inplace)


@_e.in_opmath
def _hardsigmoid_value(input: Tensor) -> Tensor:
    # PyTorch's backward: g * (1.0f / 6.0f) where -3 < x < 3, else 0 (the bounds and NaN included); its
    # constant is the float32 sixth (0.1666666716...), in float64 too
    return _Activation.apply(input, lambda x: (x / 6.0 + 0.5).clamp(0.0, 1.0),
                             lambda x, g: _e.where((x > -3.0) & (x < 3.0), g * 0.16666667163372040, 0.0))


@grad_fn_name("HardswishBackward0")
def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    _float_kernel("hardswish", input)
    return _maybe_inplace(input, _hardswish_value(input), inplace)


@_e.in_opmath
def _hardswish_value(input: Tensor) -> Tensor:
    # PyTorch's backward: x <= -3 -> 0, x < 3 -> g (x / 3 + 0.5), else (x >= 3 and NaN) g
    return _Activation.apply(input, lambda x: x * (x + 3.0).clamp(0.0, 6.0) / 6.0,
                             lambda x, g: _e.where(x <= -3.0, 0.0, _e.where(x < 3.0, g * (x / 3.0 + 0.5), g)))


def softsign(input: Tensor) -> Tensor:
    return input / (input.abs() + 1.0)


def tanhshrink(input: Tensor) -> Tensor:
    return input - input.tanh()


@grad_fn_name("ThresholdBackward0")
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    if input._dtype is _dt.bool_ or input._dtype.is_complex:
        raise NotImplementedError(f'"threshold_{input._device.type}" not implemented for '
                                  f"'{type_word(input._dtype)}'")
    # both converted, checked: ``value`` to input's dtype (an int8 value of 0.5 is 0, a float16 one of
    # 1e6 raises), ``threshold`` to its opmath dtype (a float16 threshold of 1e6 is fine)
    threshold, value = _scalar_arg(threshold, input), _scalar_arg(value, input, opmath=False)
    # PyTorch's test is x <= threshold: NaN is kept (with its gradient)
    if not (STATE.enabled and input.requires_grad):
        return _maybe_inplace(input, _e.where(input <= threshold, value, input), inplace)
    out = _Activation.apply(input, lambda x: _e.where(x <= threshold, value, x),
                            lambda x, g: _e.where(x <= threshold, 0.0, g))  # threshold_backward
    return _maybe_inplace(input, out, inplace)


@grad_fn_name("GluBackward0")
def glu(input: Tensor, dim: int = -1) -> Tensor:
    _float_kernel("glu", input)
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = _wrap_dim(dim, input.dim())
    if input.shape[d] % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {input.shape[d]}")
    a, b = input.chunk(2, dim)
    if input._dtype in (_dt.bfloat16, _dt.float16):  # PyTorch's kernel: a * sigmoid(b) in float32, rounded once
        return (a.float() * b.float().sigmoid()).to(input._dtype)
    return a * b.sigmoid()


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: _dt.dtype | None = None) -> Tensor:
    return _r.softmax(input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: _dt.dtype | None = None) -> Tensor:
    return _r.log_softmax(input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: _dt.dtype | None = None) -> Tensor:
    return _r.softmax(-input, dim, dtype)


class _LogSigmoid(Function):
    """One node (PyTorch's ``LogSigmoidBackward0``) whose gradient is ``sigmoid(-x)`` everywhere; the
    composite's ``abs`` gave 1 instead of 0.5 at exactly 0."""

    _backward_name = "LogSigmoidBackward0"

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return x.clamp(max=0.0) - (-x.abs()).exp().log1p()

    @staticmethod
    def backward(ctx, g: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return g * (-x).sigmoid()


@grad_fn_name("LogSigmoidBackward0")
def logsigmoid(input: Tensor) -> Tensor:
    """``-softplus(-x)`` computed stably: ``min(x, 0) - log1p(exp(-|x|))``."""
    _float_kernel("log_sigmoid", input)
    return _logsigmoid_node(input)


@_e.in_opmath  # (PyTorch's 16-bit log_sigmoid computes in float32, rounded once)
def _logsigmoid_node(input: Tensor) -> Tensor:
    return _LogSigmoid.apply(input)


@grad_fn_name("PreluKernelBackward0")
def prelu(input: Tensor, weight: Tensor) -> Tensor:
    if weight.dim() > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    if weight.numel() != 1 and input.dim() == 0:
        raise RuntimeError("Not allow zero-dim input tensor.")
    channels = input.shape[1] if input.dim() >= 2 else 1
    if weight.numel() != 1 and weight.numel() != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                           f"{weight.numel()} and channel size = {channels}.")
    w = weight.reshape(()) if weight.numel() == 1 else weight  # one slope: the input keeps its shape
    if weight.numel() > 1:
        w = weight.reshape((1, -1) + (1,) * (input.dim() - 2)) if input.dim() >= 2 else weight
    return _e.where(input > 0, input, input * w)  # PyTorch: x > 0 ? x : w x (the slope's gradient at 0)


# ---- losses ----------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _legacy_reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


def _check_same_size(input: Tensor, target: Tensor, name: str) -> None:
    if tuple(input.shape) != tuple(target.shape):
        import warnings

        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size ({input.shape}). "
                      "This will likely lead to incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", stacklevel=3)


def _refuse_grad(function: str, **args: Tensor | None) -> None:
    """PyTorch's refusal of an argument its backward formula does not cover (weights, the soft
    margin target): raised while grad mode is on, before the kernel's own checks."""
    if not STATE.enabled:
        return
    for name, t in args.items():
        if t is not None and t.requires_grad:
            raise RuntimeError(f"The function '{function}' is not differentiable with respect to argument "
                               f"'{name}'. This input cannot have requires_grad True.")


def _check_inplace_broadcast(shape: tuple, other: Tensor) -> None:
    """PyTorch multiplies some losses by a weight in place: a weight that would broadcast the
    loss to a larger shape is an error there, not a silently bigger loss."""
    full = tuple(_e.broadcast_shapes(shape, tuple(other.shape)))
    if full != tuple(shape):
        raise RuntimeError(f"output with shape [{', '.join(map(str, shape))}] doesn't match the broadcast shape "
                           f"[{', '.join(map(str, full))}]")


def _promote_pointwise(input: Tensor, target: Tensor, kernel: str) -> tuple[Tensor, Tensor]:
    """PyTorch's mse / smooth_l1 kernels run in the promoted dtype of both operands, so a bool (or
    integer) target is accepted next to a float input; without a float operand there is no kernel."""
    dtype = _dt.result_type(input, target)
    if not (dtype.is_floating_point or dtype.is_complex):
        raise NotImplementedError(f'"{kernel}_{input._device.type}" not implemented for \'{type_word(dtype)}\'')
    if input._dtype is _dt.bool_:
        input = input.to(dtype)
    if target._dtype is _dt.bool_:  # ember's subtraction refuses bool; the kernel converts it
        target = target.to(dtype)
    return input, target


class _RaiseInBackward(Function):
    """The identity, whose backward raises ``message``: PyTorch computes some losses forward and
    fails only when differentiating them (huber_loss with a target of another dtype)."""

    @staticmethod
    def forward(ctx, x, message):
        ctx.message = message
        return x

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError(ctx.message)


@grad_fn_name("MseLossBackward0")
def mse_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
             reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _check_same_size(input, target, "mse_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        d = input - target
        return _weighted_reduce(d.pow(2), input, weight, reduction, by_weight=True)
    input, target = _promote_pointwise(input, target, "mse")
    d = input - target
    return _reduce(d * d, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
            reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    _check_same_size(input, target, "l1_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        return _weighted_reduce((input - target).abs(), input, weight, reduction, by_weight=True)
    return _reduce((input - target).abs(), reduction)


def _weighted_reduce(loss: Tensor, input: Tensor, weight: Tensor, reduction: str, by_weight: bool) -> Tensor:
    """PyTorch's per-element ``weight=`` of mse_loss, l1_loss (whose mean divides by the weights'
    sum) and huber_loss (whose mean is the plain mean of the weighted losses)."""
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.sum() / weight.sum() if by_weight else loss.mean()
    raise ValueError(f"Invalid reduction mode: {reduction}. Expected one of 'none', 'mean', 'sum'.")


@grad_fn_name("SmoothL1LossBackward0")
def smooth_l1_loss(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None,
                   reduction: str = "mean", beta: float = 1.0) -> Tensor:
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:  # PyTorch calls l1_loss, a composite: its subtraction refuses a bool target
        loss = (input - target).abs()
    else:
        input, target = _promote_pointwise(input, target, "smooth_l1")
        d = (input - target).abs()
        loss = _e.where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, _legacy_reduction(size_average, reduce, reduction))


@grad_fn_name("HuberLossBackward0")
def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    _check_same_size(input, target, "huber_loss")
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if weight is not None:
        return _weighted_reduce(huber_loss(input, target, "none", delta), input, weight, reduction, by_weight=False)
    mixed = target._dtype is not input._dtype and input._dtype.is_floating_point
    tgt = target.to(input._dtype) if mixed else target
    if input._dtype is _dt.bfloat16 and tgt._dtype is _dt.bfloat16:
        # PyTorch 2.13's CPU kernel computes bfloat16 in bfloat16: delta rounded to it, every step rounded
        d = (input - tgt).abs()
        delta = _c.tensor(delta, dtype=input._dtype).item()
        loss = _reduce(_e.where(d < delta, (d * 0.5) * d, (d - 0.5 * delta) * delta), reduction)
    elif input._dtype is _dt.float16 and tgt._dtype is _dt.float16:
        # ...but float16 in float32 with the exact delta, rounded once
        d = (input.float() - tgt.float()).abs()
        loss = _reduce(_e.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta).to(input._dtype), reduction)
    else:
        d = (input - tgt).abs()
        loss = _reduce(_e.where(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta), reduction)
    if mixed and loss.requires_grad:  # PyTorch: the loss has the input's dtype; its backward refuses the pair
        names = _e._CAN_CAST_NAMES
        loss = _RaiseInBackward.apply(loss, f"Found dtype {names.get(target.dtype, target.dtype)} but expected "
                                            f"{names.get(input.dtype, input.dtype)}")
    return loss


def _class_last(x: Tensor) -> Tensor:
    """(N, C, d1, ...) -> (N*d1*..., C); (C,) -> (1, C)."""
    if x.dim() == 1:
        return x.unsqueeze(0)
    if x.dim() == 2:
        return x
    return x.movedim(1, -1).reshape(-1, x.shape[1])


def _nll_check_shapes(input: Tensor, target: Tensor, weight: Tensor | None = None) -> None:
    """PyTorch's checks of ``nll_loss_nd`` and its kernels, in their order (the first failing one is
    the error a user sees)."""
    for other in (target, weight):
        if other is not None and other._device is not input._device:
            raise _e._device_error(input, other)
    ndim = input.dim()
    if ndim < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {ndim})")
    if ndim == 1 and target.dim() == 1 and target.shape[0] != 1:
        raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: {target.shape[0]}")
    target_batch = target.shape[0] if target.dim() else 0  # (PyTorch reads a 0-d target's as 0)
    if ndim != 1 and target_batch != input.shape[0]:
        raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target batch_size ({target_batch}).")
    if ndim <= 2 and target.dim() > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    elif ndim == 4:
        if target.dim() != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got targets of "
                               f"dimension: {target.dim()}")
        if tuple(target.shape[1:]) != tuple(input.shape[2:]):  # (PyTorch's wording, spacing and all)
            raise RuntimeError(f"size mismatch (got input: {list(input.shape)} , target: {list(target.shape)}")
    elif tuple(target.shape[1:]) != tuple(input.shape[2:]):
        raise RuntimeError(f"Expected target size {[input.shape[0], *input.shape[2:]]}, got {list(target.shape)}")
    if weight is not None:
        n_classes = input.shape[1] if ndim >= 2 else input.shape[0]
        if tuple(weight.shape) != (n_classes,):
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes or no classes "
                               f"but got weight tensor of shape: {list(weight.shape)}")
    if target.dtype not in (_dt.int64, _dt.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_scalar_type(target.dtype)}")
    if weight is not None and weight.dtype is not input.dtype:  # PyTorch's kernel reads both as one type
        raise RuntimeError(f"expected scalar type {_scalar_type(input.dtype)} but found {_scalar_type(weight.dtype)}")


def _nll_terms(input: Tensor, target: Tensor, weight: Tensor | None, ignore_index: int) -> tuple:
    """(-w_t * logp[t] per element, w_t per element (0 where ignored), flat target, ignore mask)."""
    _nll_check_shapes(input, target, weight)
    n_classes = input.shape[1] if input.dim() >= 2 else input.shape[0]
    logp = _class_last(input)
    t = target.reshape(-1).long()
    ignore = t == ignore_index
    safe_t = t.masked_fill(ignore, 0)
    # one device->host transfer (none when the host knows the targets are in range, see
    # ember._value_range); ignored targets were set to 0, so the first bad one is PyTorch's
    if not _value_range.within(target, 0, n_classes, ignore_index):
        _check_bounds(safe_t, 0, n_classes, lambda v: IndexError(f"Target {v} is out of bounds."))
    picked = -Gather.apply(logp, 1, safe_t.unsqueeze(1)).squeeze(1)  # in range: checked above
    w = (~ignore).to(input.dtype)
    if weight is not None:
        w = w * IndexSelect.apply(weight, 0, safe_t)
    # an ignored row is 0 with no gradient, as PyTorch skips it: picked * 0 would be NaN at an infinite
    # logit, and its gradient NaN when 'mean' divides by a zero sum of weights
    return _e.where(ignore, 0.0, picked * w), w, logp, safe_t, ignore


def _target_out_of_bounds(targets: Any, ignore_index: int, n_classes: int) -> IndexError:
    """PyTorch's error for a class index outside [0, C), from the targets on the host: it names the
    first such target, sign included."""
    bad = next(v for v in targets.reshape(-1).tolist() if v != ignore_index and not 0 <= v < n_classes)
    return IndexError(f"Target {bad} is out of bounds.")


def _reduce_weighted(loss: Tensor, w: Tensor, reduction: str, out_shape: tuple) -> Tensor:
    if reduction == "none":
        return loss.reshape(out_shape)
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        if not loss.numel():  # an empty batch: PyTorch's kernel fills a (positive) NaN
            return loss.sum() + math.nan
        # divide before the final sum so the result comes from a reduction (see the report on 0-d ops)
        return (loss / w.sum()).sum()
    raise ValueError(f"{reduction} is not a valid value for reduction")


@grad_fn_name("NllLossBackward0")
def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
             ignore_index: int = -100, reduce: Any = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices; input (N, C), (C,) or (N, C, d1, ...)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if not input._dtype.is_floating_point:  # (after the shape checks, as PyTorch)
        _nll_check_shapes(input, target, weight)
        kernel = "nll_loss_out_frame" if input.dim() <= 2 else "nll_loss2d_forward_out_frame"
        raise NotImplementedError(f'"{kernel}" not implemented for \'{type_word(input._dtype)}\'')
    loss, w, _, _, ignore = _nll_terms(input, target, weight, ignore_index)
    out = _reduce_weighted(loss, w, reduction, tuple(target.shape))
    if (input._dtype in (_dt.bfloat16, _dt.float16) and input.dim() <= 2 and reduction != "none" and loss.numel()
            and input._device.type == "cpu"):
        # PyTorch's CPU kernel sums 16-bit losses in the 16-bit type, in a cascade (ember.nn._nll_lowp);
        # other devices keep their float32 sum (PyTorch's CUDA kernel accumulates in float too)
        out = _nll_lowp.with_value(out, _nll_lowp.cascade_value(loss, w, ignore, weight is not None, reduction))
    return out


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                  ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """log_softmax over the class dim, then NLL. As in PyTorch, a target shaped like the input holds
    class probabilities (and must be floating point); any other target holds class indices.

    >>> import ember, ember.nn.functional as F
    >>> F.cross_entropy(ember.zeros(2, 4), ember.tensor([0, 3]))
    tensor(1.3863)
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if tuple(target.shape) == tuple(input.shape):  # PyTorch decides by shape, not by dtype
        if not target.dtype.is_floating_point:
            raise RuntimeError("Expected floating point type for target with class probabilities, got "
                               f"{_scalar_type(target.dtype)}")
        if ignore_index >= 0:
            raise RuntimeError("ignore_index is not supported for floating point target")
        return _cross_entropy_probabilities(input, target, weight, reduction, label_smoothing, class_dim)
    if label_smoothing > 1.0:  # (a negative one is ignored, as PyTorch's kernel ignores it)
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    if not input._dtype.is_floating_point and input.dim() >= 1:  # PyTorch's log_softmax refuses it first
        _r.log_softmax(input, class_dim)
    if label_smoothing <= 0.0 and reduction in ("mean", "sum", "none") and input.dim() >= 1:
        # (0-d: log_softmax over dim 1 raises below)
        return _CrossEntropyIndices.apply(input, target, weight, ignore_index, reduction)
    logp = _r.log_softmax(input, class_dim)  # first: a 0-d input fails here, as in PyTorch
    n_classes = input.shape[class_dim]
    loss, w, flat, _, ignore = _nll_terms(logp, target, weight, ignore_index)
    nll = _reduce_weighted(loss, w, reduction, tuple(target.shape))
    if label_smoothing <= 0:
        return nll
    # PyTorch: (1 - eps) * nll + eps / C * sum_c(-w_c logp_c), each term reduced on its own ('mean':
    # each divided by the sum of w_t, so an NLL of 0 / 0 makes the loss NaN)
    smooth = -(flat * weight).sum(1) if weight is not None else -flat.sum(1)
    smooth = smooth.masked_fill(ignore, 0.0)
    if reduction == "mean":
        smooth = smooth.sum() / w.sum()
    else:
        smooth = _reduce_weighted(smooth, w, reduction, tuple(target.shape))
    # (the sum in this order: equal values, and where both terms are NaN, the NaN PyTorch returns)
    return smooth * (label_smoothing / n_classes) + nll * (1 - label_smoothing)


def _cross_entropy_probabilities(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                                 label_smoothing: float, class_dim: int) -> Tensor:
    """cross_entropy with class probabilities: ``-sum(log_softmax(x) * t * w)``, reduced over the
    whole product at once as PyTorch's kernel does (its rounding and its signed zeros)."""
    if input.dim() == 0:
        raise IndexError(f"Dimension specified as {class_dim} but tensor has no dimensions")
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all {n_classes} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    logp = _r.log_softmax(input, class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        prod = prod * (weight.reshape((n_classes,) + (1,) * (input.dim() - 2)) if input.dim() > 1 else weight)
    if reduction == "none":
        return -prod.sum(class_dim)
    total = -prod.sum()
    if reduction == "sum":
        return total
    if reduction != "mean":
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not input.numel():  # an empty batch: PyTorch fills NaN
        return total / 0.0
    return total / (input.numel() // n_classes)


class _CrossEntropyIndices(Function):
    """cross_entropy with class indices and no label smoothing as one node (PyTorch fuses
    log_softmax and nll_loss too).

    For (N, C) input on a backend with the ``cross_entropy`` kernel, the forward is that one kernel
    plus a one-number read of its count of out-of-range targets (to raise IndexError), and the
    backward is ``cross_entropy_backward``. With only ``log_softmax``, both directions run on
    backend arrays (about 15 kernel calls forward, 7 backward, no per-op tensor bookkeeping). The
    backward is ``w_t * (softmax(x) - onehot(t))`` scaled by the reduction; under
    ``create_graph=True`` it is written in ember ops on the saved input, so higher-order gradients
    stay correct. Other shapes run the same formulas in ember ops.
    """

    _backward_name = "NllLossBackward0"

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        # ctx keeps backend arrays: safe (flat in-range targets), w (per-row weights, 0 where
        # ignored), w_sum (for 'mean'); logp or the fused kernel's (target, lse) when the array
        # backward can use them.
        kt = input._kt
        ctx.save_for_backward(input)
        ctx.reduction, ctx.logp, ctx.fused = reduction, None, None
        rows = (input.dim() == 2 and target.dim() == 1 and target.dtype is _dt.int64
                and (weight is None or weight.dtype is input.dtype))
        # a 16-bit sum or mean needs the per-row terms (PyTorch's 16-bit cascade, ember.nn._nll_lowp)
        lowp = (input._dtype in (_dt.bfloat16, _dt.float16) and input.dim() <= 2 and reduction != "none"
                and input._device.type == "cpu")
        if rows and kt.has("cross_entropy") and input.numel() and not lowp:
            _nll_check_shapes(input, target, weight)
            c = input.shape[1]
            t = target._data
            loss, lse, w, w_sum, n_invalid = kt["cross_entropy"](input._data, t, None if weight is None else
                                                                 weight._data, ignore_index, reduction)
            # known in range on the host (ember._value_range): no device read
            if not _value_range.within(target, 0, c, ignore_index):
                _checks.check(kt, kt["ne"](n_invalid, 0), lambda host: _target_out_of_bounds(host, ignore_index, c), t)
            ctx.fused, ctx.ignore_index, ctx.w, ctx.w_sum = (t, lse), ignore_index, w, w_sum
            return input._new(loss)
        if rows and kt.has("log_softmax"):
            _nll_check_shapes(input, target, weight)
            x, t = input._data, target._data
            n, c = x.shape
            logp = kt["log_softmax"](x, 1)
            ignore = kt["eq"](t, ignore_index)
            safe = kt["where"](ignore, 0, t)
            if n and not _value_range.within(target, 0, c, ignore_index):
                _checks.check(kt, _checks.out_of_range(kt, safe, 0, c),
                              lambda host: _target_out_of_bounds(host, ignore_index, c), safe)
            w = kt["astype"](kt["logical_not"](ignore), input.dtype)
            if weight is not None:
                w = kt["mul"](w, kt["index_select"](weight._data, 0, safe))
            picked = kt["reshape"](kt["gather"](logp, 1, kt["reshape"](safe, (n, 1))), (n,))
            loss = input._new(kt["mul"](kt["neg"](picked), w))
            ctx.logp, ctx.safe, ctx.w, ctx.ignore = logp, safe, w, ignore
        else:
            loss, w_t, _, safe_t, ignore_t = _nll_terms(_r.log_softmax(input, 0 if input.dim() == 1 else 1), target,
                                                        weight, ignore_index)
            ctx.safe, ctx.w, ctx.ignore = safe_t._data, w_t._data, ignore_t._data
        if reduction == "none":
            return loss.reshape(tuple(target.shape))
        if reduction != "sum":
            ctx.w_sum = kt["sum"](ctx.w, (0,), False)
        if lowp and loss.numel():
            value = _nll_lowp.cascade_value(loss, input._new(ctx.w), input._new(ctx.ignore, _dt.bool_), weight is not None,
                                            reduction)
            return _c.full((), value, dtype=input._dtype, device=input.device)
        if reduction == "sum":
            return loss.sum()
        if not loss.numel():  # an empty batch: PyTorch's kernel fills a (positive) NaN
            return loss.sum() + math.nan
        return (loss / input._new(ctx.w_sum)).sum()  # divide before the final sum, as _reduce_weighted does

    @staticmethod
    def backward(ctx, g):
        if not ctx.needs_input_grad[0]:
            return None, None, None, None, None
        (input,) = ctx.saved_tensors
        kt = input._kt
        if ctx.fused is not None:
            t, lse = ctx.fused
            ctx.ignore = kt["eq"](t, ctx.ignore_index)
            if not STATE.enabled:
                gd = kt["div"](g._data, ctx.w_sum) if ctx.reduction == "mean" else g._data
                gd = kt["where"](ctx.ignore, 0, gd)  # per row, 0 where ignored (see below)
                grad = kt["cross_entropy_backward"](gd, input._data, t, lse, ctx.w, ctx.w_sum, "none")
                return input._new(grad), None, None, None, None
            ctx.safe = kt["where"](ctx.ignore, 0, t)
        elif ctx.logp is not None and not STATE.enabled:  # (N, C) without create_graph: on arrays
            gd, w = g._data, ctx.w
            if ctx.reduction == "mean":
                gd = kt["div"](gd, ctx.w_sum)
            coef = kt["reshape"](kt["where"](ctx.ignore, 0, kt["mul"](gd, w)), (w.shape[0], 1))  # see below
            col = kt["reshape"](ctx.safe, (w.shape[0], 1))
            grad = kt["mul"](kt["exp"](ctx.logp), coef)
            return input._new(kt["scatter_add"](grad, 1, col, kt["neg"](coef))), None, None, None, None
        # the same formula in ember ops, so create_graph differentiates it
        safe_t, w = input._new(ctx.safe, _dt.int64), input._new(ctx.w)
        gw = g.reshape(-1) if ctx.reduction == "none" else g
        if ctx.reduction == "mean":
            gw = gw / input._new(ctx.w_sum)
        # PyTorch skips an ignored row (gradient 0); w_t * g / sum(w_t) would be 0 * inf = NaN when every
        # row is ignored. A row of weight 0 that is not ignored keeps the NaN, as in PyTorch.
        coef = _e.where(input._new(ctx.ignore, _dt.bool_), 0.0, w * gw)
        grad = _r.softmax(_class_last(input), 1) * coef.unsqueeze(1)  # (M, C)
        grad = Scatter.apply(grad, 1, safe_t.unsqueeze(1), -coef.unsqueeze(1), True)  # targets checked in forward
        if input.dim() <= 2:
            grad = grad.reshape(tuple(input.shape))
        else:  # (N*d1*..., C) -> (N, C, d1, ...)
            grad = grad.reshape((input.shape[0],) + tuple(input.shape[2:]) + (input.shape[1],)).movedim(-1, 1)
        return grad, None, None, None, None


class _BinaryCrossEntropy(Function):
    """Elementwise BCE (each log clamped to >= -100, as PyTorch does) with PyTorch's backward:
    ``(x - t) / max(x (1 - x), 1e-12)`` stays finite at x = 0 or 1, where differentiating the
    clamped logs would give 0 * inf = NaN; the target's gradient is ``-logit(x)``."""

    _backward_name = "BinaryCrossEntropyBackward0"

    @staticmethod
    def forward(ctx, x, t):
        ctx.save_for_backward(x, t)
        # PyTorch's kernel, each step rounded in the input's dtype (16-bit too):
        # (t - 1) * max(log1p(-x), -100) - t * max(log(x), -100); log1p(-x) has no rounded 1 - x
        log_p = x.log().clamp(min=-100.0)
        log_1p = (-x).log1p().clamp(min=-100.0)
        return (t - 1.0) * log_1p - t * log_p

    @staticmethod
    def backward(ctx, g):
        x, t = ctx.saved_tensors
        gx = g * (x - t) / ((1.0 - x) * x).clamp(min=1e-12) if ctx.needs_input_grad[0] else None
        gt = g * ((1.0 - x).log() - x.log()) if ctx.needs_input_grad[1] else None
        return gx, gt


def _check_probabilities(input: Tensor, target: Tensor) -> None:
    """PyTorch's binary_cross_entropy checks: one dtype, and every input and target in [0, 1]
    (NaN included: it is not in the range). Without them a bad value gives a NaN loss, silently."""
    if target.dtype is not input.dtype:
        names = _e._CAN_CAST_NAMES
        raise RuntimeError(f"Found dtype {names.get(target.dtype, target.dtype)} but expected "
                           f"{names.get(input.dtype, input.dtype)}")
    for name, t in (("input", input), ("target", target)):  # one device sync per operand
        _checks.check(t._kt, (~((t >= 0) & (t <= 1))).any()._data,
                      lambda message=f"all elements of {name} should be between 0 and 1": RuntimeError(message))


@grad_fn_name("BinaryCrossEntropyBackward0")
def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average: Any = None,
                         reduce: Any = None, reduction: str = "mean") -> Tensor:
    """BCE on probabilities; each log is clamped to >= -100 as PyTorch does."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _refuse_grad("binary_cross_entropy", weight=weight)
    _float_kernel("binary_cross_entropy", input, device_suffix=False)
    _check_probabilities(input, target)
    loss = _BinaryCrossEntropy.apply(input, target)
    if weight is not None:  # the loss keeps the input's dtype, as in PyTorch
        loss = loss * (weight if weight.dtype is loss.dtype else weight.to(loss.dtype))
    return _reduce(loss, reduction)


class _BCEWithLogits(Function):
    """PyTorch's binary_cross_entropy_with_logits as one node: elementwise ``(1 - t) x - lw
    logsigmoid(x)``, ``lw = (pos_weight - 1) t + 1`` (stable at any |x|), times ``weight``, reduced;
    the loss has the target's dtype (PyTorch computes it in place into ``1 - target``). The backward
    is PyTorch's: ``lw sigmoid(x) - pos_weight t`` (``sigmoid(x) - t``) for the input, where
    differentiating the stable form's ``|x|`` would lose the gradient at a zero logit, and
    ``logsigmoid(-x) - pos_weight logsigmoid(x)`` (``-x``) for the target, each times the upstream
    gradient and ``weight`` and divided by the size for ``mean`` in its own dtype, as PyTorch does."""

    _backward_name = "BinaryCrossEntropyWithLogitsBackward0"

    @staticmethod
    def forward(ctx, x, t, weight, pos_weight, reduction):
        ctx.save_for_backward(x, t, weight, pos_weight)
        ctx.reduction = reduction
        log_sig = logsigmoid(x)
        if pos_weight is not None:
            log_sig = log_sig * ((pos_weight - 1.0) * t + 1.0)
        loss = (1.0 - t) * x - log_sig
        loss = loss if loss._dtype is t._dtype else loss.to(t._dtype)
        if weight is not None:
            loss = loss * (weight if weight._dtype is loss._dtype else weight.to(loss._dtype))
        return _reduce(loss, reduction)

    @staticmethod
    def backward(ctx, g):
        x, t, weight, pw = ctx.saved_tensors
        grads = []
        for i, inp in enumerate((x, t)):
            if not ctx.needs_input_grad[i]:
                grads.append(None)
                continue
            if i == 0:
                grad = x.sigmoid() - t if pw is None else (pw * t + 1.0 - t) * x.sigmoid() - pw * t
            else:
                grad = -x if pw is None else logsigmoid(-x) - logsigmoid(x) * pw
            grad = grad * g
            if weight is not None:
                grad = grad * weight
            if ctx.reduction == "mean":
                grad = grad / x.numel()
            grads.append(grad if grad._dtype is inp._dtype else grad.to(inp._dtype))
        return grads[0], grads[1], None, None, None


@grad_fn_name("BinaryCrossEntropyWithLogitsBackward0")
def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: Any = None, reduce: Any = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Sigmoid + BCE in one stable expression: (1-t) x + lw * (log1p(exp(-|x|)) + max(-x, 0))."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _refuse_grad("binary_cross_entropy_with_logits", weight=weight, pos_weight=pos_weight)
    _float_kernel("log_sigmoid", input)
    # PyTorch writes the loss into ``1 - target``: a bool target fails that subtraction, an integer
    # one cannot hold the float loss
    if target._dtype is _dt.bool_:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                           "`logical_xor()` operator instead.")
    if not (target._dtype.is_floating_point or target._dtype.is_complex):
        names = _e._CAN_CAST_NAMES
        raise RuntimeError(f"result type {names.get(input.dtype, input.dtype)} can't be cast to the desired output "
                           f"type {names.get(target.dtype, target.dtype)}")
    if pos_weight is not None:  # both multiply the loss in place: neither may broadcast it larger
        _check_inplace_broadcast(tuple(input.shape), pos_weight)
    if weight is not None:
        _check_inplace_broadcast(tuple(input.shape), weight)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return _BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: Any = None, reduce: Any = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Pointwise ``target * (log target - input)`` with input given as log-probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if input.dtype.is_complex or target.dtype.is_complex:
        raise RuntimeError("kl_div: Complex inputs not supported.")
    if not input.dtype.is_floating_point or not target.dtype.is_floating_point:
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if log_target:
        loss = target.exp() * (target - input)
    else:
        from ember.functions.special import xlogy

        # PyTorch's composite: xlogy is 0 only at target == 0; a negative target gives NaN, and the
        # target's gradient is xlogy's (NaN at 0)
        loss = xlogy(target, target) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction)


# ---- padding, resampling, misc ---------------------------------------------------------------
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad with PyTorch's order: ``(left_last, right_last, left_prev, right_prev, ...)``. A negative
    pad crops; in replicate/reflect/circular mode it crops before the edge values are chosen."""
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    k = len(pad) // 2
    if k > input.dim():
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but got "
                           f"padding length {len(pad)} and input of dimension {input.dim()}")
    pairs = [(0, 0)] * (input.dim() - k) + [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(k))]
    if mode == "constant":
        return _pad_constant(input, pairs, 0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if input.dim() not in (k + 1, k + 2) or not 1 <= k <= 3:
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {input.dim()}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")
    _check_pad_sizes(input, pairs, k, mode)
    out = input
    for d, (a, b) in enumerate(pairs):
        if a or b:
            src = _pad_source_index(out.shape[d], a, b, mode)
            out = out.index_select(d, _c.tensor(src, dtype=_dt.int64, device=input.device))
    return out


def _pad_constant(input: Tensor, pairs: list, value: float) -> Tensor:
    for (a, b), n in zip(pairs, input.shape):
        if max(0, -a) + max(0, -b) > n:
            raise RuntimeError("narrow(): length must be non-negative.")
    crops = [(max(0, -a), max(0, -b)) for a, b in pairs]
    if any(a or b for a, b in crops):
        input = input[tuple(slice(a, n - b) for (a, b), n in zip(crops, input.shape))]
    pos = tuple((max(0, a), max(0, b)) for a, b in pairs)
    if any(a or b for a, b in pos):
        input = _s.pad_constant(input, pos, value)
    return input


def _check_pad_sizes(input: Tensor, pairs: list, k: int, mode: str) -> None:
    """PyTorch's checks for replicate/reflect/circular padding of the last ``k`` dims."""
    shape, dims = list(input.shape), range(input.dim() - k, input.dim())
    for d in dims:
        (a, b), n = pairs[d], shape[d]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(f"Argument #{2 + 2 * k}: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {d} of input {shape}")
        if mode == "circular":
            if a > n or b > n:
                raise RuntimeError("Padding value causes wrapping around more than once.")
            if n + a + b < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            if max(a, 0) > n + min(a, 0) + min(b, 0) or max(b, 0) > n + min(a, 0) + min(b, 0):
                # PyTorch reads memory it never wrote here (its result is garbage): refuse instead.
                raise RuntimeError("Padding value causes wrapping around more than once (after the negative "
                                   "padding cropped the input).")
    if mode == "circular":
        return
    outs = [shape[d] + sum(pairs[d]) for d in dims]
    # PyTorch refuses only when every padded size is under 1 (a single empty dim is allowed).
    if all(o < 1 for o in outs):
        names = "DHW"[3 - k:]
        sizes = ", ".join(f"{c}: {shape[d]}" for c, d in zip(names, dims))
        calc = " ".join(f"{c}: {o}" for c, o in zip(names, outs))
        raise RuntimeError(f"input ({sizes}) is too small. Calculated output {calc}")
    if min(outs) < 0:
        out_shape = shape[:input.dim() - k] + outs
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(outs)}: {out_shape}")


def _pad_source_index(n: int, a: int, b: int, mode: str) -> list:
    """For each output position along one dim, the input position it copies (PyTorch's semantics:
    replicate clamps and reflect mirrors ``j - a`` over the whole input; circular first crops the
    negative pads, then wraps around what is left)."""
    if mode == "replicate":
        return [min(max(j - a, 0), n - 1) for j in range(n + a + b)]
    if mode == "reflect":
        period = 2 * (n - 1)

        def mirror(i: int) -> int:
            if period == 0:
                return 0
            i = abs(i) % period
            return i if i < n else period - i
        return [mirror(j - a) for j in range(n + a + b)]
    lo, m = max(-a, 0), n - max(-a, 0) - max(-b, 0)
    return [lo + (j - max(a, 0)) % m for j in range(m + max(a, 0) + max(b, 0))] if m else []


def _interp_scale(n: int, out_n: int, align_corners: bool, scale: float | None) -> float:
    """PyTorch's area_pixel_compute_scale: input pixels per output pixel along one axis."""
    if align_corners:
        return (n - 1) / (out_n - 1) if out_n > 1 else 0.0
    return (1.0 / scale) if scale is not None and scale > 0 else n / out_n


def _take(x: Tensor, dim: int, idx: list) -> Tensor:
    return x.index_select(dim, _c.tensor(idx, dtype=_dt.int64, device=x.device))


def _axis_weights(x: Tensor, dim: int, values: list, dtype: _dt.dtype | None = None) -> Tensor:
    """The weights along ``dim``, rounded to ``dtype`` (default x's) and given x's dtype."""
    shape = [1] * x.dim()
    shape[dim] = len(values)
    w = _c.tensor(values, dtype=dtype or x.dtype, device=x.device)
    return (w if w.dtype is x.dtype else w.to(x.dtype)).reshape(shape)


def _round_float32(v: float) -> float:
    return struct.unpack("f", struct.pack("f", v))[0]


def _round_half(v: float) -> float:
    return struct.unpack("e", struct.pack("e", v))[0]


def _round_bfloat16(v: float) -> float:
    bits = struct.unpack("I", struct.pack("f", v))[0]
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000  # to nearest, ties to even
    return struct.unpack("f", struct.pack("I", bits))[0]


def _cubic_coeffs(t: float, rnd: Any, fma: Any) -> list:
    """PyTorch's cubic-convolution weights (A = -0.75) of taps -1, 0, 1, 2 at fraction ``t``, in its
    operation order (and its x86 build's fused multiply-adds), each step rounded by ``rnd``."""
    a = -0.75

    def near(v: float) -> float:  # |v| <= 1: ((A + 2) v - (A + 3)) v v + 1
        return rnd(rnd(rnd(fma(a + 2, v, -(a + 3)) * v) * v) + 1)

    def far(v: float) -> float:  # 1 < |v| < 2: ((A v - 5A) v + 8A) v - 4A
        return rnd(rnd(fma(fma(a, v, -5 * a), v, 8 * a) * v) - 4 * a)
    x2 = rnd(1 - t)
    return [far(rnd(t + 1)), near(t), near(x2), far(rnd(x2 + 1))]


@functools.lru_cache(maxsize=256)
def _interp_taps(n: int, out_n: int, mode: str, align_corners: bool, scale: float | None, dtype: str) -> tuple:
    """PyTorch's source taps and weights along one axis (its CPU compute_indices_weights_linear /
    _cubic): ((indices, weights) per tap), computed in its opmath type (float64 for double, else
    float32) with the fused multiply-adds of its x86 build, so the weights are PyTorch's bit for bit.
    Linear's 1 - lambda is taken in the input's ``dtype`` (a float16 lambda gives a float16 one)."""
    stored = {"float16": _round_half, "bfloat16": _round_bfloat16}.get(dtype, float)
    if dtype == "float64":
        def rnd(v: float) -> float:
            return v

        def fma(x: float, y: float, z: float) -> float:
            return float(Fraction(x) * Fraction(y) + Fraction(z))
    else:
        rnd = _round_float32

        def fma(x: float, y: float, z: float) -> float:
            return _round_float32(x * y + z)  # float32 operands: the product is exact in a double
    if align_corners:
        s = rnd((n - 1) / (out_n - 1)) if out_n > 1 else 0.0
    else:
        s = rnd(1.0 / scale) if scale is not None and scale > 0 else rnd(n / out_n)
    cubic = mode == "bicubic"
    taps: list = [([], []) for _ in range(4 if cubic else 2)]
    for i in range(out_n):
        if not cubic and out_n == n:  # PyTorch copies: weights 1 and 0 on the same index
            i0, i1, lam = i, i, 0.0
        else:
            src = rnd(s * i) if align_corners else fma(s, i + 0.5, -0.5)
            if not cubic and src < 0:
                src = 0.0
            i0 = min(math.floor(src), n - 1)
            i1 = i0 + (1 if i0 < n - 1 else 0)
            lam = min(max(rnd(src - i0), 0.0), 1.0)
        if cubic:
            ws = _cubic_coeffs(lam, rnd, fma)
            idx = [min(max(i0 - 1 + k, 0), n - 1) for k in range(4)]
        else:
            lam = stored(lam)
            ws, idx = [rnd(stored(1 - lam)), lam], [i0, i1]
        for k, (tap_idx, tap_w) in enumerate(taps):
            tap_idx.append(idx[k])
            tap_w.append(ws[k])
    return tuple((tuple(i), tuple(w)) for i, w in taps)


def _aa_filter(mode: str, v: float) -> float:
    """PyTorch's antialiasing filters: a triangle (bilinear) or the a = -0.5 cubic (bicubic)."""
    v = abs(v)
    if mode == "bilinear":
        return max(0.0, 1.0 - v)
    a = -0.5
    if v < 1.0:
        return ((a + 2) * v - (a + 3)) * v * v + 1
    return (((v - 5) * v + 8) * v - 4) * a if v < 2.0 else 0.0


def _interp_axis_aa(x: Tensor, dim: int, out_n: int, mode: str, align_corners: bool, scale: float | None) -> Tensor:
    """One axis of antialiased resampling (PyTorch's _upsample_*_aa): each output is a normalised
    filter over the inputs, the filter widened by the scale when downsampling; applied as one
    matmul with the (out, in) weight matrix."""
    n = x.shape[dim]
    s = _interp_scale(n, out_n, align_corners, scale)
    support = (1.0 if mode == "bilinear" else 2.0) * max(s, 1.0)
    inv = 1.0 / s if s >= 1.0 else 1.0
    rows = []
    for i in range(out_n):
        center = s * (i + 0.5)
        lo = max(int(center - support + 0.5), 0)
        hi = min(int(center + support + 0.5), n)
        ws = [_aa_filter(mode, (j - center + 0.5) * inv) for j in range(lo, hi)]
        total = sum(ws)
        row = [0.0] * n
        for j, w in zip(range(lo, hi), ws):
            row[j] = w / total if total else w
        rows.append(row)
    weights = _c.tensor(rows, dtype=x.dtype, device=x.device)  # (out, in)
    return (x.movedim(dim, -1) @ weights.t()).movedim(-1, dim)


def _interp_axis(x: Tensor, dim: int, out_n: int, mode: str, align_corners: bool | None, scale: float | None,
                 weight_dtype: _dt.dtype | None = None) -> Tensor:
    """Resample one axis; the modes are separable, so N-d resampling is one pass per axis."""
    n = x.shape[dim]
    if mode in ("nearest", "nearest-exact"):
        s = _interp_scale(n, out_n, False, scale)
        off = 0.5 if mode == "nearest-exact" else 0.0
        return _take(x, dim, [min(int(math.floor((i + off) * s)), n - 1) for i in range(out_n)])
    # PyTorch's sum w0 x0 + w1 x1 (+ w2 x2 + w3 x3 for cubic), not x0 + (x1 - x0) w: next to an
    # infinity that gives inf (NaN only where an inf meets a zero weight), as PyTorch
    weight_dtype = x.dtype if weight_dtype is None else weight_dtype
    out = None
    for idx, ws in _interp_taps(n, out_n, "bicubic" if mode == "bicubic" else "linear", bool(align_corners), scale,
                                str(weight_dtype).rsplit(".", 1)[-1]):
        term = _take(x, dim, list(idx)) * _axis_weights(x, dim, list(ws), weight_dtype)
        out = term if out is None else out + term
    return out


def _uint8_linear_weights(n_in: int, n_out: int, align_corners: bool, scale: float | None) -> tuple:
    """PyTorch's uint8 linear resampling weights (as Pillow's): for every output position its two
    source indices and int16 fixed-point weights, and the number of fraction bits. PyTorch computes
    them in double, normalises them, and rounds them to ints of the largest precision under 2^15."""
    if align_corners:
        step = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
    else:
        step = 1.0 / scale if scale is not None and scale > 0 else n_in / n_out
    delta = 0.5 if align_corners else 0.0  # PyTorch's align_corners_delta of the uint8 path
    idx = [[0, 0] for _ in range(n_out)]
    wts = [[0.0, 0.0] for _ in range(n_out)]
    for i in range(n_out):
        center = step * (i + 0.5 - delta)
        lo = max(int(center - 1.0 + 0.5 + delta), 0)
        count = min(max(min(int(center + 1.0 + 0.5 + delta), n_in) - lo, 0), 2)
        ws = [max(0.0, 1.0 - abs(j + lo - center + 0.5 - delta)) for j in range(count)]
        total = sum(ws)
        for j in range(count):
            idx[i][j], wts[i][j] = lo + j, ws[j] / total if total else ws[j]
        for j in range(count, 2):
            idx[i][j] = min(lo, n_in - 1)
    w_max = max((w for row in wts for w in row), default=0.0)
    prec = 0
    while prec < 22 and int(0.5 + w_max * (1 << (prec + 1))) < (1 << 15):
        prec += 1
    fixed = [[int(w * (1 << prec) + (0.5 if w >= 0 else -0.5)) for w in row] for row in wts]
    return idx, fixed, prec


def _interp_axis_uint8(x: Tensor, dim: int, out_n: int, align_corners: bool, scale: float | None) -> Tensor:
    """One axis of uint8 bilinear resampling, bit for bit as PyTorch: fixed-point weights, the sum
    rounded half up and clamped to [0, 255] (not the float formula truncated to uint8)."""
    idx, fixed, prec = _uint8_linear_weights(x.shape[dim], out_n, align_corners, scale)
    dev, shape = x.device, [1] * x.dim()
    shape[dim] = out_n
    xi = x.to(_dt.int32)  # 255 * 2^15 * 2 fits
    acc = (1 << (prec - 1)) if prec else 0
    for j in range(2):
        pick = xi.index_select(dim, _c.tensor([r[j] for r in idx], dtype=_dt.int64, device=dev))
        acc = pick * _c.tensor([r[j] for r in fixed], dtype=_dt.int32, device=dev).reshape(shape) + acc
    return (acc // (1 << prec)).clamp(0, 255).to(_dt.uint8)


def _check_interp_dtype(input: Tensor, mode: str) -> None:
    # PyTorch resamples integers only as uint8 (area: not at all); ember's uint8 bicubic (PyTorch's
    # fixed-point filter) is not written yet, so it is refused rather than rounded differently.
    if input.dtype.is_floating_point or (input.dtype is _dt.uint8 and mode in ("nearest", "nearest-exact",
                                                                              "bilinear")):
        return
    if mode == "area":
        raise NotImplementedError(f'"adaptive_avg_pool{input.dim() - 2}d" not implemented for {input.dtype}')
    raise NotImplementedError(f'"upsample_{mode}" not implemented for {input.dtype}')


# the modes and the input rank each needs (None: any of 3D, 4D, 5D), as PyTorch dispatches them
_INTERP_RANK = {"nearest": None, "nearest-exact": None, "area": None, "linear": 3, "bilinear": 4, "bicubic": 4,
                "trilinear": 5}


def _check_interp_align(mode: str, align_corners: bool | None) -> None:
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")


def _check_interp_mode(input: Tensor, mode: str, antialias: bool) -> None:
    """PyTorch's checks of the mode against the input's rank (after the size checks), its wording."""
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    rank = _INTERP_RANK.get(mode, -1)
    if input.dim() in (3, 4, 5) and rank in (None, input.dim()):
        if antialias and mode not in ("bilinear", "bicubic"):  # lanczos
            raise NotImplementedError(f"interpolate(mode={mode!r}, antialias=True) is not supported by ember yet")
        return
    if input.dim() in (3, 4, 5) and rank in (3, 4, 5) and mode != "bicubic":
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {rank}D input")
    raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for the "
                              "modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                              f"nearest-exact (got {mode})")


# The node PyTorch's interpolate ends in, per mode ({} is the number of spatial dims).
_UPSAMPLE_NODES = {"nearest": "UpsampleNearest{}DBackward0", "nearest-exact": "UpsampleNearestExact{}DBackward0",
                   "linear": "UpsampleLinear1DBackward0", "bilinear": "UpsampleBilinear2DBackward0",
                   "bicubic": "UpsampleBicubic2DBackward0", "trilinear": "UpsampleTrilinear3DBackward0",
                   "area": "AdaptiveAvgPool{}DBackward0"}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize the spatial dims: modes nearest, nearest-exact, linear, bilinear, bicubic, trilinear
    (separable, one pass per axis), area (adaptive average pooling to the output size) and
    antialiased bilinear/bicubic (a normalised filter per output, one matmul per axis)."""
    out = _interpolate(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    node = "SqueezeBackward1" if mode == "area" and input.dim() == 3 else _UPSAMPLE_NODES.get(mode)  # 1-d area: 2-d
    if node is not None and not antialias:
        out = name_grad_fn(out, node.format(input.dim() - 2), input)
    return out


def _interpolate(input: Tensor, size: Any, scale_factor: Any, mode: str, align_corners: bool | None,
                 recompute_scale_factor: bool | None, antialias: bool) -> Tensor:
    if mode in ("bilinear", "area") and (input._dtype is _dt.float16 or input._dtype is _dt.bfloat16):
        # PyTorch's 16-bit bilinear and area (adaptive average) kernels work in float32 and round
        # once (its linear/trilinear/bicubic ones round per step, as the 16-bit composite does)
        return _interpolate_opmath(input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)
    nsp = input.dim() - 2
    _check_interp_align(mode, align_corners)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    spatial = list(input.shape[2:])
    if size is not None:
        if isinstance(size, (list, tuple)) and len(size) != nsp:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {spatial} and output size of {size}. Please provide input "
                             "tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) format.")
        sizes = [int(s) for s in size] if isinstance(size, (list, tuple)) else [int(size)] * nsp
        scales = [None] * nsp
    else:
        if isinstance(scale_factor, (list, tuple)) and len(scale_factor) != nsp:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {spatial} and scale_factor of shape {tuple(scale_factor)}. "
                             "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in "
                             "(s1, s2, ...,sK) format.")
        scales = list(scale_factor) if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nsp
        sizes = [int(math.floor(input.shape[2 + i] * scales[i])) for i in range(nsp)]
        if recompute_scale_factor:
            scales = [None] * nsp
    _check_interp_mode(input, mode, antialias)
    if min(spatial) <= 0 or min(sizes) <= 0:
        names = "DHW"[3 - nsp:] if nsp <= 3 else [f"d{i}" for i in range(nsp)]
        fmt = ", ".join
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input "
                           f"({fmt(f'{n}: {v}' for n, v in zip(names, spatial))}) output "
                           f"({fmt(f'{n}: {v}' for n, v in zip(names, sizes))})")
    _check_interp_dtype(input, mode)
    if mode == "area":  # PyTorch: adaptive average pooling to the output size
        return _adaptive_avg_nd(input, sizes)
    out = input
    if input.dtype is _dt.uint8 and antialias:
        raise NotImplementedError("interpolate(antialias=True) of a uint8 tensor is not supported by ember yet")
    if input.dtype is _dt.uint8 and mode == "bilinear":
        # PyTorch's order: the last (contiguous) axis first, each pass rounded back to uint8.
        for i in reversed(range(nsp)):
            if sizes[i] != out.shape[2 + i]:
                out = _interp_axis_uint8(out, 2 + i, sizes[i], bool(align_corners), scales[i])
        return out if out is not input else input.clone()
    if antialias and input.dtype is not _dt.uint8:
        for i in range(nsp):
            out = _interp_axis_aa(out, 2 + i, sizes[i], mode, bool(align_corners), scales[i])
        return out
    if mode in ("nearest", "nearest-exact"):
        for i in range(nsp):
            out = _interp_axis(out, 2 + i, sizes[i], mode, bool(align_corners), scales[i])
        return out
    # PyTorch's CPU kernel: the last axis first, nested, in float32 for float16/bfloat16 (weights
    # rounded to the input's dtype) and rounded once at the end
    low = input.dtype in (_dt.float16, _dt.bfloat16)
    out = input.float() if low else input
    for i in reversed(range(nsp)):
        out = _interp_axis(out, 2 + i, sizes[i], mode, bool(align_corners), scales[i], input.dtype)
    return out.to(input.dtype) if low else out



_interpolate_opmath = _e.in_opmath(_interpolate)

def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated PyTorch alias: ``interpolate(..., mode="nearest")``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated PyTorch alias: ``interpolate(..., mode="bilinear", align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(…,) int64 class indices -> (…, num_classes) int64."""
    if tensor.dtype is not _dt.int64:  # PyTorch accepts LongTensor only (int32 indices included)
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    if not tensor.numel() and num_classes <= 0:  # nothing to infer the class count from
        raise RuntimeError("Can not infer total number of classes from empty tensor.")
    if num_classes == -1:
        num_classes = int(tensor.amax().item()) + 1
    if tensor.numel() and not tensor.is_meta and (int(tensor.amin().item()) < 0 or int(tensor.amax().item()) >= num_classes):
        raise RuntimeError("Class values must be smaller than num_classes." if int(tensor.amin().item()) >= 0
                           else "Class values must be non-negative.")
    classes = _c.arange(num_classes, device=tensor.device)
    return (tensor.long().unsqueeze(-1) == classes).long()


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input / max(||input||_p over dim, eps)``; with ``out``, written there (PyTorch's ``torch.div(out=)``)."""
    denom = input.norm(p, dim=dim, keepdim=True).clamp(min=eps)
    if out is None:
        return input / denom
    return _e.div(input, denom, out=out)


@grad_fn_name("Im2ColBackward0")
def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """im2col: (N, C, H, W) -> (N, C*kh*kw, L)."""
    from ember.nn._convpool import _pad4, _taps, check_sliding_window, out_size

    k, d = pair(kernel_size, 2, "kernel_size", "im2col"), pair(dilation, 2, "dilation", "im2col")
    p, s = pair(padding, 2, "padding", "im2col"), pair(stride, 2, "stride", "im2col")
    check_sliding_window(k, d, p, s)
    if input.dim() not in (3, 4):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    n, c, h, w = input.shape
    ho, wo = out_size(h, k[0], s[0], p[0], d[0]), out_size(w, k[1], s[1], p[1], d[1])
    if ho < 1 or wo < 1:  # a kernel larger than the padded input
        raise RuntimeError(f"Given input with spatial size ({h}, {w}), kernel_size=({k[0]}, {k[1]}), "
                           f"dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), calculated shape of the array of "
                           f"sliding blocks as ({ho}, {wo}), but its components must be at least one.")
    cols = _taps(_pad4(input, *p), k[0], k[1], ho, wo, s, d).reshape(n, c * k[0] * k[1], ho * wo)
    return cols.squeeze(0) if unbatched else cols


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """col2im, the adjoint of ``unfold``: overlapping values are summed."""
    from ember.nn._convpool import _pad_or_crop, _scatter_strided, check_sliding_window, out_size

    k, d = pair(kernel_size, 2, "kernel_size", "col2im"), pair(dilation, 2, "dilation", "col2im")
    p, s = pair(padding, 2, "padding", "col2im"), pair(stride, 2, "stride", "col2im")
    oh, ow = pair(output_size, 2, "output_size", "col2im")
    check_sliding_window(k, d, p, s)
    if input.dim() not in (2, 3):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    unbatched = input.dim() == 2
    if unbatched:
        input = input.unsqueeze(0)
    n = input.shape[0]
    c = input.shape[1] // (k[0] * k[1])
    ho, wo = out_size(oh, k[0], s[0], p[0], d[0]), out_size(ow, k[1], s[1], p[1], d[1])
    _check_fold_blocks(input, (oh, ow), k, d, p, s, (ho, wo))
    cols = input.reshape(n, c, k[0] * k[1], ho, wo)
    hp, wp = oh + 2 * p[0], ow + 2 * p[1]
    total = None
    for i in range(k[0]):
        for j in range(k[1]):
            blk = cols[:, :, i * k[1] + j]
            blk = _scatter_strided(blk, s[0], s[1]) if s != (1, 1) else blk
            top, left = i * d[0], j * d[1]
            placed = _pad_or_crop(blk, [(top, hp - top - blk.shape[2]), (left, wp - left - blk.shape[3])])
            total = placed if total is None else total + placed
    out = total[:, :, p[0]:p[0] + oh, p[1]:p[1] + ow]
    return out.squeeze(0) if unbatched else out


def _check_fold_blocks(input: Tensor, out: tuple, k: tuple, d: tuple, p: tuple, s: tuple, blocks: tuple) -> None:
    """fold's input must hold C * kh * kw rows and exactly one column per sliding block (PyTorch's
    col2im check): otherwise the reshape below would fail with a backend's message."""
    if input.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={input.shape[1]} and kernel_size=({k[0]}, {k[1]}).")
    conf = (f"Given output_size=({out[0]}, {out[1]}), kernel_size=({k[0]}, {k[1]}), dilation=({d[0]}, {d[1]}), "
            f"padding=({p[0]}, {p[1]}), stride=({s[0]}, {s[1]}), ")
    ho, wo = blocks
    if input.shape[2] != ho * wo:
        raise RuntimeError(f"{conf}expected size of input's dimension 2 to match the calculated number of sliding "
                           f"blocks {ho} * {wo} = {ho * wo}, but got input.size(2)={input.shape[2]}.")
    if ho < 1 or wo < 1:
        raise RuntimeError(f"{conf}calculated shape of the array of sliding blocks as ({ho}, {wo}), which is too "
                           "small (non-positive).")


@numpy_names
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """PyTorch's Distance.cpp: integer inputs taken to the (floating) common dtype, both broadcast
    first (a norm along a broadcast dim counts the repeated values), each divided by its own norm
    clamped to ``eps`` (the clamp under no_grad: the gradient sees the unclamped norm), then summed."""
    common = _dt.result_type(x1, x2)
    if not common.is_floating_point:
        from ember.functions.binary import _dtype_name

        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is {_dtype_name(common)}")
    x1 = x1 if x1.dtype.is_floating_point else x1.to(common)
    x2 = x2 if x2.dtype.is_floating_point else x2.to(common)
    x1, x2 = _s.broadcast_tensors(x1, x2)

    def unit(x: Tensor) -> Tensor:
        n = x.norm(2, dim=dim, keepdim=True)
        return x / _e.where(n < eps, n + (eps - n).detach(), n)  # (an infinite norm stays inf)

    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    return (x1 - x2 + eps).norm(p, dim=-1, keepdim=keepdim)


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """softmax(Q K^T * scale + mask) V, as PyTorch computes it: a bool mask marks the positions allowed
    to attend, a float mask (float32 or the query's dtype) is added; ``is_causal`` also masks the upper
    triangle (top-left aligned) and combines with ``attn_mask`` where PyTorch's CPU flash kernel would
    run (its math path refuses the pair); a row with every position masked gives zeros (and zero gradients),
    not NaN; ``enable_gqa`` repeats the key/value heads to the query's."""
    from ember import backends

    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got query.dtype: "
                           f"{_sdpa_dtype_word(query.dtype)} key.dtype: {_sdpa_dtype_word(key.dtype)} and value.dtype: "
                           f"{_sdpa_dtype_word(value.dtype)} instead.")
    if min(query.dim(), key.dim(), value.dim()) < 2:
        raise RuntimeError(f"Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
                           f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if not backends.sdpa_viable(query.device.type):  # every backend switched off (sdpa_kernel / sdp_kernel)
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is likely due to "
                           "turning off both the math kernel and the fused kernels.")
    if enable_gqa and key.dim() >= 3 and key.shape[-3] != query.shape[-3]:
        if query.shape[-3] % key.shape[-3] or value.shape[-3] != key.shape[-3]:
            raise RuntimeError("Number of heads in key and value must divide the number of heads in query")
        groups = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(groups, -3), value.repeat_interleave(groups, -3)
    if attn_mask is not None and attn_mask.dtype not in (_dt.bool_, _dt.float32, query.dtype):
        # PyTorch's input check: an integer 0/1 mask is neither "allowed" (bool) nor a bias (float)
        raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match query dtype, but got "
                           f"attn_mask.dtype: {_sdpa_dtype_word(attn_mask.dtype)} and  query.dtype: "
                           f"{_sdpa_dtype_word(query.dtype)} instead.")
    if is_causal and attn_mask is not None and not _cpu_flash_viable(query, key, value, attn_mask, dropout_p,
                                                                     enable_gqa):
        # only PyTorch's CPU flash kernel combines the two; its math path (which every other call
        # takes) refuses the combination
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    scores = (query @ key.transpose(-2, -1)) * (scale if scale is not None else 1.0 / math.sqrt(query.shape[-1]))
    if is_causal:
        lq, lk = query.shape[-2], key.shape[-2]
        causal = _c.ones(lq, lk, dtype=_dt.bool_, device=query.device).tril()
        scores = scores.masked_fill(~causal, -math.inf)
    if attn_mask is not None:
        if attn_mask.dtype is _dt.bool_:
            scores = scores.masked_fill(~attn_mask, -math.inf)
        else:
            scores = scores + attn_mask
    # PyTorch's safe softmax: a fully masked row is 0, computed from finite scores so that its
    # gradient is 0 too (softmax of all -inf would be NaN, and NaN * 0 stays NaN in backward).
    if scores.shape[-1] == 0:  # no keys: nothing to normalise, and the output is zeros
        attn = scores
    else:
        dead = (scores == -math.inf).all(-1, keepdim=True)
        attn = _e.where(dead, 0.0, _r.softmax(_e.where(dead, 0.0, scores), -1))
    if dropout_p > 0.0:
        return dropout(attn, dropout_p, True) @ value
    return _like_query_layout(attn @ value, query)


def _canonical_mask(mask: Tensor | None, name: str, other: Tensor | None, other_name: str, target: Any) -> Any:
    """PyTorch's mask canonicalisation: bool (True = masked out) becomes a -inf/0 float bias of the
    query's dtype, a float mask stays as given, anything else is refused."""
    if mask is None:
        return None
    if mask.dtype is not _dt.bool_ and not mask.dtype.is_floating_point:
        raise AssertionError(f"only bool and floating types of {name} are supported")
    if other is not None and mask.dtype != other.dtype:
        warnings.warn(f"Support for mismatched {name} and {other_name} is deprecated. Use same type for both "
                      "instead.", stacklevel=3)
    if mask.dtype is _dt.bool_:
        return _c.zeros(*mask.shape, dtype=target, device=mask.device).masked_fill(mask, -math.inf)
    return mask


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the call is batched (3-D query) or not (2-D), checking the other inputs' ranks as PyTorch does."""
    def expect(ok: bool, message: str) -> None:
        if not ok:
            raise AssertionError(message)

    if query.dim() not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D "
                             "query tensor")
    batched = query.dim() == 3
    kind, want = ("batched (3-D)", 3) if batched else ("unbatched (2-D)", 2)
    expect(key.dim() == want and value.dim() == want,
           f"For {kind} `query`, expected `key` and `value` to be {want}-D but found {key.dim()}-D and "
           f"{value.dim()}-D tensors respectively")
    if key_padding_mask is not None:
        expect(key_padding_mask.dim() == want - 1,
               f"For {kind} `query`, expected `key_padding_mask` to be `None` or {want - 1}-D but found "
               f"{key_padding_mask.dim()}-D tensor instead")
    if attn_mask is not None:
        expect(attn_mask.dim() in (2, 3), f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but "
                                          f"found {attn_mask.dim()}-D tensor instead")
        if not batched and attn_mask.dim() == 3:
            shape = (num_heads, query.shape[0], key.shape[0])
            expect(tuple(attn_mask.shape) == shape, f"Expected `attn_mask` shape to be {shape} but got "
                                                    f"{attn_mask.shape}")
    return batched


def multi_head_attention_forward(query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int,
                                 num_heads: int, in_proj_weight: Tensor | None, in_proj_bias: Tensor | None,
                                 bias_k: Tensor | None, bias_v: Tensor | None, add_zero_attn: bool,
                                 dropout_p: float, out_proj_weight: Tensor, out_proj_bias: Tensor | None,
                                 training: bool = True, key_padding_mask: Tensor | None = None,
                                 need_weights: bool = True, attn_mask: Tensor | None = None,
                                 use_separate_proj_weight: bool = False, q_proj_weight: Tensor | None = None,
                                 k_proj_weight: Tensor | None = None, v_proj_weight: Tensor | None = None,
                                 static_k: Tensor | None = None, static_v: Tensor | None = None,
                                 average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    """PyTorch's multi-head attention on (L, N, E) inputs (or unbatched (L, E)): project q/k/v, append
    ``bias_k``/``bias_v`` and a zero key/value slot, merge the masks into one additive bias per
    (batch*head), then either compute the weights explicitly (``need_weights``) or hand the heads to
    scaled_dot_product_attention (where the ``is_causal`` hint replaces a mask that has no padding mask
    to merge)."""
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                           "method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # SDPA applies the causal hint itself
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype)
        if key_padding_mask is not None:
            is_causal = False  # the padding mask merges into attn_mask: the hint no longer describes it
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's "
                                 f"{value.shape[:2]}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")
    if use_separate_proj_weight:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        wq, wk, wv = q_proj_weight, k_proj_weight, v_proj_weight
    else:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        wq, wk, wv = in_proj_weight.chunk(3)
    bq = bk = bv = None
    if in_proj_bias is not None:
        bq, bk, bv = in_proj_bias.chunk(3)
    q, k, v = linear(query, wq, bq), linear(key, wk, bk), linear(value, wv, bv)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = _s.cat([k, bias_k.repeat(1, bsz, 1)])
        v = _s.cat([v, bias_v.repeat(1, bsz, 1)])
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    elif bias_k is not None or bias_v is not None:
        raise AssertionError
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    for name, static in (("static_k", static_k), ("static_v", static_v)):
        if static is not None:
            if static.shape[0] != bsz * num_heads:
                raise AssertionError(f"expecting {name}.size(0) of {bsz * num_heads}, but got {static.shape[0]}")
            if static.shape[2] != head_dim:
                raise AssertionError(f"expecting {name}.size(2) of {head_dim}, but got {static.shape[2]}")
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None else static_k
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None else static_v
    if add_zero_attn:
        k = _s.cat([k, _c.zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)], 1)
        v = _s.cat([v, _c.zeros(bsz * num_heads, 1, head_dim, dtype=v.dtype, device=v.device)], 1)
        attn_mask = pad(attn_mask, (0, 1)) if attn_mask is not None else None
        key_padding_mask = pad(key_padding_mask, (0, 1)) if key_padding_mask is not None else None
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if key_padding_mask.shape[0] != bsz:
            raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
        if key_padding_mask.shape[1] != src_len:
            raise AssertionError(f"Expected key_padded_mask.shape[1] to be {src_len}, but got "
                                 f"{key_padding_mask.shape[1]}")
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0
    if need_weights:
        q_scaled = q * math.sqrt(1.0 / float(head_dim))
        scores = q_scaled @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = attn_mask + scores  # baddbmm(attn_mask, q, k^T)
        weights = softmax(scores, -1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        if attn_mask.shape[0] == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


def _sdpa_dtype_word(dtype: Any) -> str:
    """A dtype as PyTorch's C++ messages print it (``long int``, ``c10::Half``)."""
    words = {_dt.int64: "long int", _dt.int32: "int", _dt.int16: "short int", _dt.int8: "signed char",
             _dt.uint8: "unsigned char", _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16",
             _dt.float32: "float", _dt.float64: "double", _dt.bool_: "bool"}
    return words.get(dtype, str(dtype).rsplit(".", 1)[-1])


def _cpu_flash_viable(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor, dropout_p: float,
                      enable_gqa: bool) -> bool:
    """Whether PyTorch's CPU backend selection picks its flash kernel (sdp_utils_cpp's checks): 4-D
    dense inputs with equal batch sizes, equal head counts (or GQA), equal head dims, unit last strides,
    no dropout and a 2-D or (1|B, 1|H, L|1, S|1) mask that takes no gradient."""
    from ember import backends

    if not backends._SDP["flash"] or dropout_p > 0.0 or attn_mask.requires_grad:
        return False
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        return False
    b, h, lq, d = query.shape
    if not (key.shape[0] == value.shape[0] == b) or key.shape[1] != value.shape[1]:
        return False
    if key.shape[1] != h and not (enable_gqa and h % key.shape[1] == 0):
        return False
    if key.shape[-1] != d or value.shape[-1] != d:
        return False
    if any(t.stride()[-1] != 1 for t in (query, key, value)):
        return False
    ms = attn_mask.shape
    if attn_mask.dim() not in (2, 4) or ms[-2] not in (lq, 1) or ms[-1] not in (key.shape[2], 1):
        return False
    return attn_mask.dim() == 2 or (ms[0] in (1, b) and ms[1] in (1, h))


def _like_query_layout(out: Tensor, query: Tensor) -> Tensor:
    """PyTorch's fused path (4-D, no dropout) allocates its output like the query: a query viewed as
    (B, H, L, D) from (B, L, H, D) memory gives an output whose ``transpose(1, 2)`` is contiguous,
    and programs ``.view`` it that way."""
    if query.dim() != 4 or out.shape != query.shape or query.is_contiguous():
        return out
    strides = query.stride()
    if strides[3] != 1 or 0 in strides:  # the fused path needs D innermost; broadcast queries: contiguous
        return out
    # empty_like's rule: the output's memory order is the query's (dims by decreasing stride),
    # dense even where the query has gaps (a chunk of a wider projection)
    order = sorted(range(4), key=lambda d: (-strides[d], d))
    if order == [0, 1, 2, 3]:
        return out
    inverse = [order.index(d) for d in range(4)]
    return out.permute(order).contiguous().permute(inverse)


# the rest of torch.nn.functional, kept in modules of their own (re-exported, listed in __all__)
from ember.nn._ctc import *  # noqa: E402, F403
from ember.nn._grid_sample import *  # noqa: E402, F403
from ember.nn._linear_cross_entropy import linear_cross_entropy  # noqa: E402
from ember.nn._margin_losses import *  # noqa: E402, F403
from ember.nn._more_layers import *  # noqa: E402, F403


class _NanGradWhereInfinite(Function):
    """The identity on per-sample CTC losses, whose gradient is NaN for each infinite one: PyTorch's
    CTC backward divides by the sample's likelihood, so an impossible alignment (zero_infinity
    off) gives NaN gradients on its frames; ember's guarded recursion would give finite ones."""

    _backward_name = "CtcLossBackward0"

    @staticmethod
    def forward(ctx, loss):
        ctx.save_for_backward(loss)
        return loss

    @staticmethod
    def backward(ctx, g):
        (loss,) = ctx.saved_tensors
        return _e.where(loss.detach() == math.inf, math.nan, g)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """See :func:`ember.nn._ctc.ctc_loss`; adds PyTorch's NaN gradients for an impossible sample."""
    if zero_infinity or reduction not in _REDUCTIONS or not (STATE.enabled and log_probs.requires_grad):
        return _ctc.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)
    loss = _NanGradWhereInfinite.apply(_ctc.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank,
                                                     "none", False))
    if reduction == "mean":  # as _ctc.ctc_loss: each sample over its target length, then the batch mean
        lengths = _ctc._lengths(target_lengths, "target_lengths")
        return (loss / _c.tensor(lengths, dtype=loss.dtype, device=loss.device).clamp(min=1)).mean()
    return loss.sum() if reduction == "sum" else loss

