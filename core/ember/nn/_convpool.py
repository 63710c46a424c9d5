"""Convolution and pooling: fast-kernel ``Function``s with composites written in ember ops.

When a device has the optional kernel (``x._kt.has("conv2d")``...) the op runs it, wrapped in a
``Function`` whose backward calls the backward kernel. Otherwise the composite runs: im2col by
padding + strided slicing + stack + one matmul, so autograd comes for free on every backend.

Double backward: when ``create_graph=True`` the kernel Functions' backward recomputes the
forward through the composite and differentiates that (``_composite_vjp``), so grad-of-grad
is always available, at composite speed.

Example:
    >>> import ember
    >>> from ember.nn._convpool import conv2d
    >>> conv2d(ember.ones(1, 1, 3, 3), ember.ones(1, 1, 2, 2)).shape
    ember.Size([1, 1, 2, 2])
"""

from __future__ import annotations

import math
from typing import Any

from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE, enable_grad
from ember.kernels import out_size
from ember.tensor import Tensor

__all__ = ["conv2d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "out_size", "pair"]


def pair(v: Any, n: int = 2, name: str = "value") -> tuple:
    """``3`` -> ``(3, 3)``; a sequence is checked for its length."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return tuple(int(v[0]) for _ in range(n))
        if len(v) != n:
            raise ValueError(f"expected {name} to be a single integer value or a list of {n} values, got {tuple(v)}")
        return tuple(int(e) for e in v)
    return tuple(int(v) for _ in range(n))


def _composite_vjp(composite, inputs: tuple, grad: Tensor) -> list:
    """Gradients of ``composite(*inputs)`` w.r.t. those inputs that require grad, recorded for
    double backward (the kernel path's create_graph fallback)."""
    from ember.autograd.engine import grad as autograd_grad

    with enable_grad():
        out = composite(*inputs)
        wanted = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
        gs = autograd_grad(out, wanted, grad, create_graph=True, allow_unused=True)
    it = iter(gs)
    return [next(it) if isinstance(t, Tensor) and t.requires_grad else None for t in inputs]


# ---- convolution ---------------------------------------------------------------------------
def _taps(xp: Tensor, kh: int, kw: int, ho: int, wo: int, stride: tuple, dilation: tuple) -> Tensor:
    """(N, C, kh*kw, Ho, Wo): every kernel tap's strided view of the padded input, stacked."""
    sh, sw = stride
    dh, dw = dilation
    views = [xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
             for i in range(kh) for j in range(kw)]
    from ember.functions.shape import stack

    return stack(views, 2)


def _pad4(x: Tensor, ph: int, pw: int, value: float = 0.0, extra_h: int = 0, extra_w: int = 0) -> Tensor:
    if not (ph or pw or extra_h or extra_w):
        return x
    from ember.functions.shape import pad_constant

    return pad_constant(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), value)


def conv2d_composite(x: Tensor, w: Tensor, bias: Tensor | None, stride: tuple, padding: tuple,
                     dilation: tuple, groups: int) -> Tensor:
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho = out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = out_size(wd, kw, stride[1], padding[1], dilation[1])
    cols = _taps(_pad4(x, *padding), kh, kw, ho, wo, stride, dilation)  # N C K Ho Wo
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    out = w.reshape(groups, o // groups, cg * kh * kw) @ cols  # N g Og L
    out = out.reshape(n, o, ho, wo)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1)
    return out


class Conv2dKernel(Function):
    _backward_name = "ConvolutionBackward0"

    @staticmethod
    def forward(ctx, x, w, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(x, w, bias)
        ctx.conf = (stride, padding, dilation, groups)
        b = None if bias is None else bias._data
        return x._new(x._kt["conv2d"](x._data, w._data, b, stride, padding, dilation, groups))

    @staticmethod
    def backward(ctx, grad):
        x, w, bias = ctx.saved_tensors
        stride, padding, dilation, groups = ctx.conf
        if STATE.enabled:  # create_graph: differentiate the composite so grad-of-grad works
            gx, gw, gb = _composite_vjp(
                lambda a, b, c: conv2d_composite(a, b, c, stride, padding, dilation, groups), (x, w, bias), grad)
            return gx, gw, gb, None, None, None, None
        needs = (ctx.needs_input_grad[0], ctx.needs_input_grad[1], bias is not None and ctx.needs_input_grad[2])
        gx, gw, gb = x._kt["conv2d_backward"](grad._data, x._data, w._data, stride, padding, dilation, groups, needs)
        return (None if gx is None else x._new(gx), None if gw is None else w._new(gw),
                None if gb is None else bias._new(gb), None, None, None, None)


def _check_conv(x: Tensor, w: Tensor, bias: Tensor | None, groups: int, nd: int) -> None:
    if x.dim() != nd + 2:
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to conv{nd}d, "
                           f"but got input of size: {list(x.shape)}")
    if w.dim() != nd + 2:
        raise RuntimeError(f"weight should have {nd + 2} dimensions, got {w.dim()}")
    if x.shape[1] != w.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(w.shape)}, expected input{list(x.shape)} "
                           f"to have {w.shape[1] * groups} channels, but got {x.shape[1]} channels instead")
    if w.shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(w.shape)} instead")
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != w.shape[0]):
        raise RuntimeError(f"Given weight of size {list(w.shape)}, expected bias to be 1-dimensional with "
                           f"{w.shape[0]} elements, but got bias of size {list(bias.shape)} instead")
    if x.device != w.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{x.device} and {w.device}!")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({w.dtype}) should be the same")


def _check_conv_params(stride: tuple, padding: tuple, dilation: tuple, output_padding: tuple = ()) -> None:
    """PyTorch's checks on the numbers, before any kernel divides by a stride or sizes a buffer."""
    if any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got {list(dilation)}")


def check_conv_geometry(sizes: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> None:
    """Raise PyTorch's error when a (dilated) kernel is larger than the padded input along any axis.

    ``sizes`` are the input's spatial sizes; checked here, in the frontend, because a kernel given
    such a shape returns an empty tensor (OpenCL), a NumPy message or silently wrong values (cpu).
    """
    _check_conv_params(stride, padding, dilation)
    padded = [n + 2 * p for n, p in zip(sizes, padding)]
    span = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    if any(n < k for n, k in zip(padded, span)):
        raise RuntimeError(f"Calculated padded input size per channel: ({' x '.join(map(str, padded))}). "
                           f"Kernel size: ({' x '.join(map(str, span))}). "
                           "Kernel size can't be greater than actual input size")


def check_sliding_window(kernel: tuple, dilation: tuple, padding: tuple, stride: tuple) -> None:
    """unfold/fold's parameter checks (PyTorch's im2col/col2im shape checks and wording)."""
    checks = (("kernel size should be greater than zero", "kernel", kernel, 1),
              ("dilation should be greater than zero", "dilation", dilation, 1),
              ("padding should be non-negative", "pad", padding, 0),
              ("stride should be greater than zero", "stride", stride, 1))
    for text, name, (vh, vw), low in checks:
        if vh < low or vw < low:
            raise RuntimeError(f"{text}, but got {name}_height: {vh} {name}_width: {vw}")


def _same_padding(k: tuple, dilation: tuple) -> tuple:
    """('same') total padding per axis split (left, right); PyTorch pads the extra on the right."""
    out = []
    for kk, d in zip(k, dilation):
        total = d * (kk - 1)
        out.append((total // 2, total - total // 2))
    return tuple(out)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation over an (N, C, H, W) or (C, H, W) input (``torch.nn.functional.conv2d``)."""
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    _check_conv(input, weight, bias, groups, 2)
    stride, dilation = pair(stride, 2, "stride"), pair(dilation, 2, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            pads = _same_padding(weight.shape[2:], dilation)
            if any(a != b for a, b in pads):
                from ember.functions.shape import pad_constant

                input = pad_constant(input, ((0, 0), (0, 0), pads[0], pads[1]))
                padding = (0, 0)
            else:
                padding = (pads[0][0], pads[1][0])
        else:
            raise ValueError(f"Invalid padding string {padding!r}, should be one of {{'valid', 'same'}}")
    else:
        padding = pair(padding, 2, "padding")
    check_conv_geometry(tuple(input.shape[2:]), tuple(weight.shape[2:]), stride, padding, dilation)
    if input._kt.has("conv2d") and input._kt.has("conv2d_backward"):
        out = Conv2dKernel.apply(input, weight, bias, stride, padding, dilation, groups)
    else:
        out = conv2d_composite(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 2-D convolution: the input-gradient of conv2d. ``weight`` is (C_in, C_out/groups, kh, kw).

    Composite: dilate the input by ``stride`` (zeros between pixels), pad by
    ``dilation*(k-1) - padding`` (+ output_padding on the far side), and run a stride-1 conv2d
    with the flipped, group-transposed kernel. Negative padding is a crop.
    """
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    stride, padding = pair(stride, 2, "stride"), pair(padding, 2, "padding")
    output_padding, dilation = pair(output_padding, 2, "output_padding"), pair(dilation, 2, "dilation")
    _check_conv_params(stride, padding, dilation, output_padding)
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= max(s, d):
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding: {output_padding}, stride: {stride}, dilation: {dilation}")
    if input.dim() != 4 or weight.dim() != 4:  # checked before unpacking the shapes below
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv_transpose2d and a 4D weight, "
                           f"but got input of size: {list(input.shape)} and weight of size {list(weight.shape)}")
    n, cin, h, wd = input.shape
    if weight.shape[0] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
                           f"to have {weight.shape[0]} channels, but got {cin} channels instead")
    cout_g, kh, kw = weight.shape[1], weight.shape[2], weight.shape[3]
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != cout_g * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {cout_g * groups} elements, but got bias of size {list(bias.shape)} instead")
    x = input
    sh, sw = stride
    if sh > 1 or sw > 1:
        x = _scatter_strided(x, sh, sw)
    pads = []
    for k, d, p, op in zip((kh, kw), dilation, padding, output_padding):
        pads.append((d * (k - 1) - p, d * (k - 1) - p + op))
    x = _pad_or_crop(x, pads)
    # (Cin, Cout/g, kh, kw) -> (Cout, Cin/g, kh, kw), flipped spatially
    cin_g = cin // groups
    w = weight.reshape(groups, cin_g, cout_g, kh, kw).transpose(1, 2).reshape(groups * cout_g, cin_g, kh, kw)
    w = w.flip((2, 3))
    out = conv2d(x, w, None, 1, 0, dilation, groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _scatter_strided(x: Tensor, sh: int, sw: int) -> Tensor:
    """``x`` with sh-1 / sw-1 zeros between its pixels (the stride dilation), differentiably."""
    n, c, h, w = x.shape
    from ember.functions.shape import pad_constant

    # interleave zeros: (N,C,H,1,W,1) padded to (N,C,H,sh,W,sw) then reshaped and cropped
    y = x.reshape(n, c, h, 1, w, 1)
    y = pad_constant(y, ((0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)), 0.0)
    y = y.reshape(n, c, h * sh, w * sw)
    return y[:, :, :(h - 1) * sh + 1, :(w - 1) * sw + 1]


def _pad_or_crop(x: Tensor, pads: list) -> Tensor:
    crop = [(max(0, -a), max(0, -b)) for a, b in pads]
    pos = [(max(0, a), max(0, b)) for a, b in pads]
    if any(a or b for a, b in crop):
        h, w = x.shape[2], x.shape[3]
        x = x[:, :, crop[0][0]:h - crop[0][1], crop[1][0]:w - crop[1][1]]
    if any(a or b for a, b in pos):
        from ember.functions.shape import pad_constant

        x = pad_constant(x, ((0, 0), (0, 0), pos[0], pos[1]), 0.0)
    return x


# ---- pooling -------------------------------------------------------------------------------
def _pool_sizes(x: Tensor, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    h, w = x.shape[2], x.shape[3]
    ho = out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    wo = out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    if ho <= 0 or wo <= 0:
        raise RuntimeError(f"Given input size: ({x.shape[1]}x{h}x{w}). Calculated output size: "
                           f"({x.shape[1]}x{ho}x{wo}). Output size is too small")
    return ho, wo


def _check_pool_args(kernel: tuple, stride: tuple, padding: tuple, dilation: tuple) -> None:
    """PyTorch's pooling checks, in its order (a zero stride would divide by zero in the sizes)."""
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    for p in padding:
        if p < 0:
            raise RuntimeError(f"pad must be non-negative, but got pad: {p}")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kernel[0]} kW: {kernel[1]}")
    _check_pool_padding(kernel, padding)
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} dW: {stride[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dilation[0]} "
                           f"dilationW: {dilation[1]}")


def _check_pool_padding(kernel, padding) -> None:
    for k, p in zip(kernel, padding):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={p}, "
                               f"kernel_size={k} and dilation=1")


class MaxPool2dKernel(Function):
    _backward_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation, ceil_mode):
        out, idx = x._kt["max_pool2d"](x._data, kernel, stride, padding, dilation, ceil_mode)
        from ember import dtypes as _dt

        idx_t = x._new(idx, _dt.int64)
        ctx.mark_non_differentiable(idx_t)
        ctx.save_for_backward(x, idx_t)
        ctx.conf = (kernel, stride, padding, dilation, ceil_mode)
        return x._new(out), idx_t

    @staticmethod
    def backward(ctx, grad, _gidx):
        x, idx = ctx.saved_tensors
        if STATE.enabled:
            # d out / d x is a gather at idx: its vjp is a scatter-add, itself linear in grad
            n, c, h, w = x.shape
            flat = grad.new_zeros(n, c, h * w).scatter_add(2, idx.reshape(n, c, -1), grad.reshape(n, c, -1))
            return flat.reshape(x.shape), None, None, None, None, None
        return x._new(x._kt["max_pool2d_backward"](grad._data, idx._data, tuple(x.shape))), None, None, None, None, None


def max_pool2d_composite(x: Tensor, kernel, stride, padding, dilation, ceil_mode) -> tuple:
    n, c, h, w = x.shape
    ho, wo = _pool_sizes(x, kernel, stride, padding, dilation, ceil_mode)
    kh, kw = kernel
    extra_h = max(0, (ho - 1) * stride[0] + dilation[0] * (kh - 1) + 1 - (h + 2 * padding[0]))
    extra_w = max(0, (wo - 1) * stride[1] + dilation[1] * (kw - 1) + 1 - (w + 2 * padding[1]))
    xp = _pad4(x, padding[0], padding[1], -math.inf, extra_h, extra_w)
    taps = _taps(xp, kh, kw, ho, wo, stride, dilation)  # N C K Ho Wo
    out, k = taps.max(2)
    from ember.functions.creation import arange

    ki, kj = k // kw, k % kw
    rows = arange(ho, device=x.device).reshape(ho, 1) * stride[0] - padding[0] + ki * dilation[0]
    cols = arange(wo, device=x.device) * stride[1] - padding[1] + kj * dilation[1]
    return out, rows * w + cols


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling over (N, C, H, W) or (C, H, W); indices are flat h*W+w positions."""
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D tensor, but got input of size {list(input.shape)}")
    kernel = pair(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride, 2, "stride")
    padding, dilation = pair(padding, 2, "padding"), pair(dilation, 2, "dilation")
    _check_pool_args(kernel, stride, padding, dilation)
    _pool_sizes(input, kernel, stride, padding, dilation, ceil_mode)
    if input._kt.has("max_pool2d") and input._kt.has("max_pool2d_backward"):
        out, idx = MaxPool2dKernel.apply(input, kernel, stride, padding, dilation, ceil_mode)
    else:
        out, idx = max_pool2d_composite(input, kernel, stride, padding, dilation, ceil_mode)
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def _avg_divisor_list(size: int, k: int, s: int, p: int, o: int, count_include_pad: bool) -> list:
    res = []
    for i in range(o):
        start = i * s - p
        end = min(start + k, size + p)
        res.append(end - start if count_include_pad else min(end, size) - max(start, 0))
    return res


class AvgPool2dKernel(Function):
    _backward_name = "AvgPool2DBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
        ctx.conf = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
        ctx.shape = tuple(x.shape)
        return x._new(x._kt["avg_pool2d"](x._data, *ctx.conf))

    @staticmethod
    def backward(ctx, grad):
        if STATE.enabled:  # linear op: the composite's vjp is exact and differentiable
            from ember.functions.creation import zeros

            probe = zeros(*ctx.shape, dtype=grad.dtype, device=grad.device).requires_grad_()
            (gx,) = _composite_vjp(lambda t: avg_pool2d_composite(t, *ctx.conf), (probe,), grad)
            return gx, None, None, None, None, None, None
        return grad._new(grad._kt["avg_pool2d_backward"](grad._data, ctx.shape, *ctx.conf)), None, None, None, None, None, None


def avg_pool2d_composite(x: Tensor, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) -> Tensor:
    n, c, h, w = x.shape
    ho, wo = _pool_sizes(x, kernel, stride, padding, (1, 1), ceil_mode)
    kh, kw = kernel
    extra_h = max(0, (ho - 1) * stride[0] + kh - (h + 2 * padding[0]))
    extra_w = max(0, (wo - 1) * stride[1] + kw - (w + 2 * padding[1]))
    xp = _pad4(x, padding[0], padding[1], 0.0, extra_h, extra_w)
    s = _taps(xp, kh, kw, ho, wo, stride, (1, 1)).sum(2)
    if divisor_override:
        return s / divisor_override
    dh = _avg_divisor_list(h, kh, stride[0], padding[0], ho, count_include_pad)
    dw = _avg_divisor_list(w, kw, stride[1], padding[1], wo, count_include_pad)
    from ember.functions.creation import tensor

    div = tensor([[a * b for b in dw] for a in dh], dtype=x.dtype, device=x.device)
    return s / div


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """2-D average pooling over (N, C, H, W) or (C, H, W), PyTorch's divisor rules."""
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"avg_pool2d: Expected 3D or 4D tensor, but got input of size {list(input.shape)}")
    kernel = pair(kernel_size, 2, "kernel_size")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride, 2, "stride")
    padding = pair(padding, 2, "padding")
    _check_pool_args(kernel, stride, padding, (1, 1))
    _pool_sizes(input, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    conf = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    if input._kt.has("avg_pool2d") and input._kt.has("avg_pool2d_backward"):
        out = AvgPool2dKernel.apply(input, *conf)
    else:
        out = avg_pool2d_composite(input, *conf)
    return out.squeeze(0) if unbatched else out
