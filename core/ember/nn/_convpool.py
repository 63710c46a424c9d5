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

import functools
import math
from typing import Any

from ember import dtypes as _dt
from ember.autograd.function import Function
from ember.autograd.grad_mode import STATE, enable_grad, no_grad
from ember.functions.complex_ops import type_word
from ember.functions.elementwise import in_opmath
from ember.kernels import out_size
from ember.tensor import Tensor

__all__ = ["conv2d", "conv3d", "conv_transpose2d", "conv_transpose3d", "max_pool2d", "max_pool3d", "avg_pool2d",
           "avg_pool3d", "out_size", "pair"]


def pair(v: Any, n: int = 2, name: str = "value", op: str = "") -> tuple:
    """``3`` -> ``(3, 3)``; a sequence is checked for its length, with the error ``op`` raises in
    PyTorch (``op`` "conv" for the convolutions, else the pooling or im2col function's name)."""
    if isinstance(v, (list, tuple)):
        if len(v) == 1:
            return (_int(v[0], name, op),) * n
        if len(v) != n:
            raise _arity_error(op, name, n, v)
        return tuple(_int(e, name, op) for e in v)
    return (_int(v, name, op),) * n


def _int(e: Any, name: str, op: str) -> int:
    """One size, stride, padding or dilation: any integer (a NumPy one, a one-element integer
    tensor); a float is PyTorch's TypeError rather than truncated."""
    if e.__class__ is int:
        return e
    if isinstance(e, float) or not hasattr(e, "__index__"):
        raise TypeError(f"{op or 'function'}(): argument '{name}' must be tuple of ints, but found element of type "
                        f"{type(e).__name__}")
    return e.__index__()


_WORDS = {2: "two", 3: "three"}


def _arity_error(op: str, name: str, n: int, v: Any) -> Exception:
    """The error PyTorch raises for a ``name`` argument of the wrong length, per function family."""
    if op == "conv":
        return RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match the "
                            f"convolution dimensions, but got {name}={list(v)}")
    if op in ("max_pool2d", "max_pool3d", "avg_pool2d"):
        how = {"stride": "must either be omitted, a single int,", "dilation": "must be either a single int,"}
        return RuntimeError(f"{op}: {name} {how.get(name, 'must either be a single int,')} or a tuple of "
                            f"{_WORDS[n]} ints")
    if op == "avg_pool3d":
        how = {"stride": "must be omitted, a single int,"}
        return RuntimeError(f"{op}: {name} {how.get(name, 'must be a single int,')} or a tuple of three ints")
    if op == "max_pool1d":
        kinds = "an int, list of ints or tuple of ints" if name == "kernel_size" else "an int, list of ints, or tuple of ints"
        return RuntimeError(f"max_pool1d() {name} must be {kinds} of size 1 but got size {len(v)}")
    if op in ("avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d"):
        return RuntimeError(f"{op}() argument '{name}' should contain one int (got {len(v)})")
    if op in ("im2col", "col2im"):
        return RuntimeError(f"It is expected {name} equals to {n}, but got size {len(v)}")
    return ValueError(f"expected {name} to be a single integer value or a list of {n} values, got {tuple(v)}")


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
    for other in (w, bias):  # (a bias on another device reached the kernel: AttributeError on a NumPy array)
        if other is not None and x.device != other.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                               f"{x.device} and {other.device}!")
    if x.dtype is not w.dtype:
        raise RuntimeError(f"Input type ({x.dtype}) and weight type ({w.dtype}) should be the same")
    if bias is not None and bias.dtype is not x.dtype:  # (PyTorch's CPU convolution names the C++ types)
        raise RuntimeError(f"Input type ({_CPP_TYPES.get(x.dtype.name, x.dtype.name)}) and bias type "
                           f"({_CPP_TYPES.get(bias.dtype.name, bias.dtype.name)}) should be the same")


_CPP_TYPES = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
              "complex64": "c10::complex<float>", "complex128": "c10::complex<double>", "int64": "long int",
              "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}


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
    stride, dilation = pair(stride, 2, "stride", "conv"), pair(dilation, 2, "dilation", "conv")
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
            raise RuntimeError(f"Invalid padding string: {padding!r}")  # PyTorch's functional wording
    else:
        padding = pair(padding, 2, "padding", "conv")
    check_conv_geometry(tuple(input.shape[2:]), tuple(weight.shape[2:]), stride, padding, dilation)
    if input._kt.has("conv2d") and input._kt.has("conv2d_backward"):
        out = Conv2dKernel.apply(input, weight, bias, stride, padding, dilation, groups)
    else:
        out = conv2d_composite(input, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def _lowp_transpose(fn: Any) -> Any:
    """float16/bfloat16 ``conv_transpose{2,3}d`` rounded as PyTorch 2.13's CPU kernels: oneDNN
    (the backend PyTorch picks on a CPU with 16-bit support) accumulates in float32 and rounds once
    (``in_opmath``), but with an output_padding not below its stride PyTorch falls back to its slow
    kernel (``is_output_padding_big``), whose col2im adds each kernel tap's gemm result (rounded
    once) into the 16-bit output, rounding at every add, and then adds the bias (rounded again).
    Other dtypes call ``fn`` directly (one type check)."""
    opmath = in_opmath(fn)

    @functools.wraps(fn)
    def run(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
            output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
        dt = input._dtype if isinstance(input, Tensor) else None
        if dt is not _dt.float16 and dt is not _dt.bfloat16:
            return fn(input, weight, bias, stride, padding, output_padding, groups, dilation)
        out = opmath(input, weight, bias, stride, padding, output_padding, groups, dilation)
        nd = weight.dim() - 2 if isinstance(weight, Tensor) else 0
        if nd < 1 or weight._dtype is not dt or (bias is not None and bias._dtype is not dt):
            return out
        st, op = pair(stride, nd, "stride", "conv"), pair(output_padding, nd, "output_padding", "conv")
        if not any(o >= s for o, s in zip(op, st)):
            return out
        with no_grad():  # the slow kernel's values; autograd keeps the opmath composite's graph
            slow = _slow_transpose(input, weight, bias, st, pair(padding, nd, "padding", "conv"),
                                   pair(dilation, nd, "dilation", "conv"), groups, tuple(out.shape[-nd:]))
        out._data = slow.reshape(out.shape)._data
        return out

    return run


def _slow_transpose(x: Tensor, w: Tensor, bias: Tensor | None, stride: tuple, padding: tuple,
                    dilation: tuple, groups: int, outs: tuple) -> Tensor:
    """PyTorch's slow_conv_transpose{2,3}d in the 16-bit type: per group, each kernel tap's
    (C_out/g, spatial) gemm product summed in float32 and rounded once, then added into the output
    in tap order (col2im), every add rounded; the bias added last."""
    import itertools

    from ember.functions.creation import zeros
    from ember.functions.shape import cat

    dt, nd = x._dtype, len(stride)
    if x.dim() == nd + 1:
        x = x.unsqueeze(0)
    n, cin, sizes = x.shape[0], x.shape[1], tuple(x.shape[2:])
    cin_g, cout_g, ks = cin // groups, w.shape[1], tuple(w.shape[2:])
    full = tuple(max((s - 1) * st + d * (k - 1) + 1, o + p)
                 for s, st, d, k, o, p in zip(sizes, stride, dilation, ks, outs, padding))
    parts = []
    for g in range(groups):
        xg = x[:, g * cin_g:(g + 1) * cin_g].to(_dt.float32).reshape(n, cin_g, -1)
        buf = zeros((n, cout_g) + full, dtype=dt, device=x.device)
        for tap in itertools.product(*(range(k) for k in ks)):
            wt = w[(slice(g * cin_g, (g + 1) * cin_g), slice(None)) + tap].to(_dt.float32)  # Cin/g, Cout/g
            col = (wt.transpose(0, 1) @ xg).to(dt).reshape((n, cout_g) + sizes)  # one rounding per entry
            idx = (slice(None), slice(None)) + tuple(slice(t * d, t * d + (s - 1) * st + 1, st)
                                                     for t, d, s, st in zip(tap, dilation, sizes, stride))
            buf[idx] = buf[idx] + col
        parts.append(buf[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(padding, outs))])
    out = cat(parts, 1) if groups > 1 else parts[0]
    return out if bias is None else out + bias.reshape((1, -1) + (1,) * nd)


@_lowp_transpose
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
    stride, padding = pair(stride, 2, "stride", "conv"), pair(padding, 2, "padding", "conv")
    output_padding, dilation = pair(output_padding, 2, "output_padding", "conv"), pair(dilation, 2, "dilation", "conv")
    _check_conv_params(stride, padding, dilation, output_padding)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        text = " ".join(f"{what}_{n}: {v}" for what, vals in (("output_padding", output_padding), ("stride", stride),
                                                               ("dilation", dilation)) for n, v in zip(("height", "width"), vals))
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got {text}")
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
    if bias is not None and bias.dtype is not input.dtype and input.dtype is weight.dtype:
        bias = bias.to(input.dtype)  # PyTorch's 1-d/2-d transposed kernels add the bias in the input's dtype
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
    xp = _pad4(x, padding[0], padding[1], _lowest(x), extra_h, extra_w)
    taps = _taps(xp, kh, kw, ho, wo, stride, dilation)  # N C K Ho Wo
    out, k = _pool_max(taps, 2)
    from ember.functions.creation import arange

    ki, kj = k // kw, k % kw
    rows = arange(ho, device=x.device).reshape(ho, 1) * stride[0] - padding[0] + ki * dilation[0]
    cols = arange(wo, device=x.device) * stride[1] - padding[1] + kj * dilation[1]
    return out, rows * w + cols


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """2-D max pooling over (N, C, H, W) or (C, H, W); indices are flat h*W+w positions."""
    shown = list(input.shape)
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    if input.dim() != 4:
        raise RuntimeError(f"max_pool2d: Expected 3D or 4D tensor, but got input of size {list(input.shape)}")
    kernel = pair(kernel_size, 2, "kernel_size", "max_pool2d")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride, 2, "stride", "max_pool2d")
    padding, dilation = pair(padding, 2, "padding", "max_pool2d"), pair(dilation, 2, "dilation", "max_pool2d")
    _check_pool_args(kernel, stride, padding, dilation)
    _check_pool2d_dims(shown)
    outs = _pool_sizes(input, kernel, stride, padding, dilation, ceil_mode)
    _refuse_bool_pool(input, "max_pool2d")
    if input.shape[0] == 0:  # an empty batch (the kernels' backward take no empty array)
        out = _empty_pooled(input, tuple(outs))
        out, idx = out, out.detach().to(_dt.int64)
    elif input._kt.has("max_pool2d") and input._kt.has("max_pool2d_backward"):
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
    shown = list(input.shape)
    if input.dim() < 3:  # PyTorch reads input.size(-3) before any rank check
        n = max(input.dim(), 1)
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got -3)")
    if input.dim() > 4:
        raise RuntimeError(f"Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{shown}")
    unbatched = input.dim() == 3
    if unbatched:
        input = input.unsqueeze(0)
    kernel = pair(kernel_size, 2, "kernel_size", "avg_pool2d")
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) else pair(stride, 2, "stride", "avg_pool2d")
    padding = pair(padding, 2, "padding", "avg_pool2d")
    _check_pool_args(kernel, stride, padding, (1, 1))
    _check_pool2d_dims(shown)
    _pool_sizes(input, kernel, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    conf = (kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    if input._kt.has("avg_pool2d") and input._kt.has("avg_pool2d_backward"):
        out = AvgPool2dKernel.apply(input, *conf)
    else:
        out = avg_pool2d_composite(input, *conf)
    return out.squeeze(0) if unbatched else out


# ---- N-d windows (3-d pooling, adaptive max with indices) ----------------------------------
# Every spatial axis gets a table of source positions, one row of K taps per output position;
# one index_select per axis gathers all windows at once, so autograd (index_add) and every
# backend come for free. Rows may repeat their last tap (adaptive windows shorter than K):
# a repeat changes neither a max nor which tap is the first maximum.
def _gather_windows(x: Tensor, tables: list) -> Tensor:
    """(N, C, *S) -> (N, C, *O, K): the taps of every output position, K = prod of each axis's K."""
    from ember import dtypes as _dt
    from ember.functions.creation import tensor

    nsp = len(tables)
    out = x
    for a, tab in enumerate(tables):
        dim = 2 + 2 * a  # the axes before this one are already split into (O, K)
        flat = tensor([v for row in tab for v in row], dtype=_dt.int64, device=x.device)
        shp = list(out.shape)
        shp[dim:dim + 1] = [len(tab), len(tab[0])]
        out = out.index_select(dim, flat).reshape(shp)
    perm = [0, 1] + [2 + 2 * a for a in range(nsp)] + [3 + 2 * a for a in range(nsp)]
    out = out.permute(perm)
    return out.reshape(tuple(out.shape[:2 + nsp]) + (-1,))


def _flat_positions(tables: list, sizes: tuple, offsets: tuple, device: Any) -> Tensor:
    """(*O, K) int64: each tap's flat position in the unpadded input (PyTorch's pooling indices)."""
    from ember import dtypes as _dt
    from ember.functions.creation import tensor

    nsp, total = len(tables), None
    for a, tab in enumerate(tables):
        step = math.prod(sizes[a + 1:])
        shape = [1] * (2 * nsp)
        shape[a], shape[nsp + a] = len(tab), len(tab[0])
        t = tensor([[(v - offsets[a]) * step for v in row] for row in tab], dtype=_dt.int64, device=device)
        total = t.reshape(shape) if total is None else total + t.reshape(shape)
    return total.reshape(tuple(len(t) for t in tables) + (-1,))


def _pool_max(win: Tensor, dim: int) -> tuple:
    """(max, position) over ``dim`` of a stack of window taps by PyTorch's pooling rule: the first
    maximum, except that every NaN takes over, so a window with NaNs gives its *last* NaN
    (``Tensor.max(dim)`` gives the first). The value is gathered at the position, so its
    gradient goes there too."""
    val, k = win.max(dim)
    if not win.is_floating_point():
        return val, k
    from ember.functions.creation import arange

    shape = [1] * win.dim()
    shape[dim] = win.shape[dim]
    pos = arange(win.shape[dim], device=win.device).reshape(shape)
    last_nan = pos.masked_fill(~win.isnan(), -1).amax(dim)
    k = last_nan.where(last_nan >= 0, k)
    return win.gather(dim, k.unsqueeze(dim)).squeeze(dim), k


def _max_windows(x: Tensor, tables: list, offsets: tuple, sizes: tuple) -> tuple:
    """Max over each window and its flat input position (PyTorch's rule: see :func:`_pool_max`)."""
    win = _gather_windows(x, tables)
    val, k = _pool_max(win, -1)
    pos = _flat_positions(tables, sizes, offsets, x.device)
    idx = pos.expand(tuple(win.shape)).gather(-1, k.unsqueeze(-1)).squeeze(-1)
    return val, idx


def _sliding_tables(outs: tuple, kernel: tuple, stride: tuple, dilation: tuple) -> list:
    return [[[i * s + j * d for j in range(k)] for i in range(o)] for o, k, s, d in zip(outs, kernel, stride, dilation)]


def _pool_outs(x: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool) -> tuple:
    sizes = tuple(x.shape[2:])
    outs = tuple(out_size(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(sizes, kernel, stride, padding, dilation))
    if min(outs) <= 0:
        shown = "x".join(str(v) for v in (x.shape[1],) + sizes)
        shown_o = "x".join(str(v) for v in (x.shape[1],) + outs)
        raise RuntimeError(f"Given input size: ({shown}). Calculated output size: ({shown_o}). Output size is too small")
    # extra right padding so that ceil_mode's last window fits in the padded input
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (n + 2 * p))
                  for n, o, k, s, p, d in zip(sizes, outs, kernel, stride, padding, dilation))
    return outs, extra


def _check_pool2d_dims(shape: list) -> None:
    """PyTorch's pool2d_shape_check: only a 4-D input's batch dim may be empty."""
    if 0 in shape[len(shape) - 3:]:
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, but "
                           f"got:{shape}")


def _empty_pooled(x: Tensor, outs: tuple) -> Tensor:
    """The (0, C, *outs) result of pooling an empty batch, still attached to ``x``'s graph."""
    return x.flatten()[:0].reshape(0, x.shape[1], *outs)


def _refuse_bool_pool(x: Tensor, kernel: str) -> None:
    """PyTorch's max pooling kernels have no bool instance (its dispatch error, after the checks)."""
    if x.dtype is _dt.bool_:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def _lowest(x: Tensor) -> float | int:
    """The value max pooling pads with: -inf, or an integer dtype's minimum (as PyTorch's kernels
    start an integer window's max from ``numeric_limits::lowest``)."""
    if x.dtype.is_floating_point or x.dtype.is_complex:
        return -math.inf
    from ember.typeinfo import iinfo

    return iinfo(x.dtype).min


def _pad_spatial(x: Tensor, padding: tuple, extra: tuple, value: float) -> Tensor:
    if not any(padding) and not any(extra):
        return x
    from ember.functions.shape import pad_constant

    return pad_constant(x, ((0, 0), (0, 0)) + tuple((p, p + e) for p, e in zip(padding, extra)), value)


def _check_pool3d(input: Tensor, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple,
                  op: str = "max_pool3d_with_indices_out_cpu_template") -> None:
    """PyTorch's pool3d checks, in its order and words: an empty batch is allowed (the result is
    empty too), an empty non-batch dim is not (PyTorch's message names dim 0 whichever it is)."""
    if input.dim() not in (4, 5):
        raise RuntimeError("non-empty 4D or 5D (batch mode) tensor expected for input")
    if 0 in input.shape[input.dim() - 4:]:
        raise RuntimeError(f"{op}(): Expected input's non-batch dimensions to have positive length, but input has "
                           f"a shape of {list(input.shape)} and non-batch dimension 0 has length zero!")
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kT: {kernel[0]} kH: {kernel[1]} "
                           f"kW: {kernel[2]}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got dT: {stride[0]} dH: {stride[1]} "
                           f"dW: {stride[2]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationT: {dilation[0]} dilationH: "
                           f"{dilation[1]} dilationW: {dilation[2]}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(padding)}")
    _check_pool_padding(kernel, padding)


def _pool3d_args(kernel_size: Any, stride: Any, padding: Any, dilation: Any, op: str) -> tuple:
    kernel = pair(kernel_size, 3, "kernel_size", op)
    empty = stride is None or (isinstance(stride, (list, tuple)) and not stride)
    return (kernel, kernel if empty else pair(stride, 3, "stride", op), pair(padding, 3, "padding", op),
            pair(dilation, 3, "dilation", op))


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """3-D max pooling over (N, C, D, H, W) or (C, D, H, W); indices are flat d*H*W+h*W+w positions."""
    kernel, stride, padding, dilation = _pool3d_args(kernel_size, stride, padding, dilation, "max_pool3d")
    _check_pool3d(input, kernel, stride, padding, dilation)
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    outs, extra = _pool_outs(x, kernel, stride, padding, dilation, ceil_mode)
    _refuse_bool_pool(input, "max_pool3d")
    if x.shape[0] == 0:  # an empty batch: an empty result of the output's shape
        out = _empty_pooled(x, outs)
        return (out, out.detach().to(_dt.int64)) if return_indices else out
    xp = _pad_spatial(x, padding, extra, _lowest(x))
    out, idx = _max_windows(xp, _sliding_tables(outs, kernel, stride, dilation), padding, tuple(x.shape[2:]))
    if unbatched:
        out, idx = out.squeeze(0), idx.squeeze(0)
    return (out, idx) if return_indices else out


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """3-D average pooling over (N, C, D, H, W) or (C, D, H, W), PyTorch's divisor rules."""
    kernel, stride, padding, _ = _pool3d_args(kernel_size, stride, padding, 1, "avg_pool3d")
    _check_pool3d(input, kernel, stride, padding, (1, 1, 1), "avg_pool3d")
    unbatched = input.dim() == 4
    x = input.unsqueeze(0) if unbatched else input
    sizes = tuple(x.shape[2:])
    if any(n + 2 * p < k for n, k, p in zip(sizes, kernel, padding)):
        raise RuntimeError(f"input image (T: {sizes[0]} H: {sizes[1]} W: {sizes[2]}) smaller than kernel size "
                           f"(kT: {kernel[0]} kH: {kernel[1]} kW: {kernel[2]})")
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    outs, extra = _pool_outs(x, kernel, stride, padding, (1, 1, 1), ceil_mode)
    integral = not (x.dtype.is_floating_point or x.dtype.is_complex)
    if integral and x.dtype is not _dt.int64:  # PyTorch's kernel: floating types and int64 only
        from ember.functions.binary import _dtype_name

        raise NotImplementedError(f'"avg_pool3d_out_frame" not implemented for \'{_dtype_name(x.dtype)}\'')
    if x.shape[0] == 0:  # an empty batch: an empty result of the output's shape
        return _empty_pooled(x, outs)
    xp = _pad_spatial(x, padding, extra, 0.0)
    s = _gather_windows(xp, _sliding_tables(outs, kernel, stride, (1, 1, 1))).sum(-1)
    divisor = divisor_override or _divisors(x, outs, kernel, stride, padding, count_include_pad)
    if integral:  # int64: C++ integer division of the window sum (truncates toward zero)
        from ember.functions.elementwise import div

        divisor = divisor if isinstance(divisor, int) else divisor.to(_dt.int64)
        out = div(s, divisor, rounding_mode="trunc")
    else:
        out = s / divisor
    return out.squeeze(0) if unbatched else out


def _divisors(x: Tensor, outs: tuple, kernel: tuple, stride: tuple, padding: tuple, count_include_pad: bool) -> Tensor:
    """(*O) window sizes, the product of each axis's (PyTorch's avg_pool divisor)."""
    from ember.functions.creation import tensor

    nsp, total = len(outs), None
    for a, (n, k, s, p, o) in enumerate(zip(x.shape[2:], kernel, stride, padding, outs)):
        shape = [1] * nsp
        shape[a] = o
        t = tensor(_avg_divisor_list(n, k, s, p, o, count_include_pad), dtype=x.dtype, device=x.device).reshape(shape)
        total = t if total is None else total * t
    return total


def adaptive_max_with_indices(input: Tensor, outs: tuple) -> tuple:
    """Adaptive max pooling over the last ``len(outs)`` dims of an (N, C, *S) input, with indices."""
    sizes = tuple(input.shape[2:])
    tables = []
    for n, o in zip(sizes, outs):
        ranges = [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]
        k = max(b - a for a, b in ranges)
        tables.append([[min(a + j, b - 1) for j in range(k)] for a, b in ranges])
    return _max_windows(input, tables, (0,) * len(outs), sizes)


# ---- 3-d convolution -----------------------------------------------------------------------
@in_opmath  # (PyTorch's 16-bit CPU conv3d, oneDNN: float32 accumulation, rounded once)
def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation over (N, C, D, H, W) or (C, D, H, W) (``torch.nn.functional.conv3d``).

    Composite: for each depth tap, the depth-strided slice of the padded input, folded into the
    batch, runs one conv2d (its kernel where a backend has one) with that tap's 2-d weights;
    the taps' outputs are summed.
    """
    unbatched = input.dim() == 4
    if unbatched:
        input = input.unsqueeze(0)
    _check_conv(input, weight, bias, groups, 3)
    stride, dilation = pair(stride, 3, "stride", "conv"), pair(dilation, 3, "dilation", "conv")
    if isinstance(padding, str):
        input, padding = _string_padding(input, weight, padding, stride, dilation)
    else:
        padding = pair(padding, 3, "padding", "conv")
    check_conv_geometry(tuple(input.shape[2:]), tuple(weight.shape[2:]), stride, padding, dilation)
    n, _, d = input.shape[0], input.shape[1], input.shape[2]
    o, kd = weight.shape[0], weight.shape[2]
    do = out_size(d, kd, stride[0], padding[0], dilation[0])
    xp = _pad_spatial(input, (padding[0], 0, 0), (0, 0, 0), 0.0)
    out = None
    for k in range(kd):
        start = k * dilation[0]
        sl = xp[:, :, start:start + stride[0] * (do - 1) + 1:stride[0]]  # N C Do H W
        folded = sl.transpose(1, 2).reshape((n * do,) + tuple(sl.shape[1:2]) + tuple(sl.shape[3:]))
        y = conv2d(folded, weight[:, :, k], None, stride[1:], padding[1:], dilation[1:], groups)
        out = y if out is None else out + y
    out = out.reshape((n, do, o) + tuple(out.shape[2:])).transpose(1, 2)
    if bias is not None:
        out = out + bias.reshape(1, o, 1, 1, 1)
    return out.squeeze(0) if unbatched else out


def _string_padding(input: Tensor, weight: Tensor, padding: str, stride: tuple, dilation: tuple) -> tuple:
    """'valid' / 'same' padding of an N-d conv: the input (padded unevenly when needed) and the
    symmetric padding left for the conv itself."""
    nd = input.dim() - 2
    if padding == "valid":
        return input, (0,) * nd
    if padding != "same":
        raise RuntimeError(f"Invalid padding string: {padding!r}")
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    pads = _same_padding(tuple(weight.shape[2:]), dilation)
    if all(a == b for a, b in pads):
        return input, tuple(a for a, _ in pads)
    from ember.functions.shape import pad_constant

    return pad_constant(input, ((0, 0), (0, 0)) + tuple(pads)), (0,) * nd


def _dilate_nd(x: Tensor, stride: tuple) -> Tensor:
    """``x`` with s-1 zeros between its elements along each spatial axis (differentiably)."""
    from ember.functions.shape import pad_constant

    sizes = tuple(x.shape[2:])
    y = x.reshape(tuple(x.shape[:2]) + tuple(v for n in sizes for v in (n, 1)))
    y = pad_constant(y, ((0, 0), (0, 0)) + tuple(p for s in stride for p in ((0, 0), (0, s - 1))), 0.0)
    y = y.reshape(tuple(x.shape[:2]) + tuple(n * s for n, s in zip(sizes, stride)))
    return y[(slice(None), slice(None)) + tuple(slice(0, (n - 1) * s + 1) for n, s in zip(sizes, stride))]


def _pad_or_crop_nd(x: Tensor, pads: list) -> Tensor:
    crop = [(max(0, -a), max(0, -b)) for a, b in pads]
    if any(a or b for a, b in crop):
        x = x[(slice(None), slice(None)) + tuple(slice(a, n - b) for (a, b), n in zip(crop, x.shape[2:]))]
    pos = tuple((max(0, a), max(0, b)) for a, b in pads)
    if any(a or b for a, b in pos):
        from ember.functions.shape import pad_constant

        x = pad_constant(x, ((0, 0), (0, 0)) + pos, 0.0)
    return x


@_lowp_transpose
def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
                     output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed 3-D convolution (the input-gradient of conv3d); ``weight`` is (C_in, C_out/groups, kd, kh, kw).

    Composite as conv_transpose2d: dilate the input by ``stride``, pad by
    ``dilation*(k-1) - padding`` (+ output_padding on the far side; negative is a crop) and run a
    stride-1 conv3d with the flipped, group-transposed kernel.
    """
    unbatched = input.dim() == 4
    if unbatched:
        input = input.unsqueeze(0)
    stride, padding = pair(stride, 3, "stride", "conv"), pair(padding, 3, "padding", "conv")
    output_padding, dilation = pair(output_padding, 3, "output_padding", "conv"), pair(dilation, 3, "dilation", "conv")
    _check_conv_params(stride, padding, dilation, output_padding)
    if any(op >= max(s, d) for op, s, d in zip(output_padding, stride, dilation)):
        names = ("depth", "height", "width")
        text = " ".join(f"{what}_{n}: {v}" for what, vals in (("output_padding", output_padding), ("stride", stride),
                                                               ("dilation", dilation)) for n, v in zip(names, vals))
        raise RuntimeError(f"output padding must be smaller than either stride or dilation, but got {text}")
    if input.dim() != 5 or weight.dim() != 5:
        raise RuntimeError(f"Expected 4D (unbatched) or 5D (batched) input to conv_transpose3d and a 5D weight, "
                           f"but got input of size: {list(input.shape)} and weight of size {list(weight.shape)}")
    cin = input.shape[1]
    if weight.shape[0] != cin:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(input.shape)} "
                           f"to have {weight.shape[0]} channels, but got {cin} channels instead")
    cout_g, ks = weight.shape[1], tuple(weight.shape[2:])
    if bias is not None and (bias.dim() != 1 or bias.shape[0] != cout_g * groups):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be 1-dimensional "
                           f"with {cout_g * groups} elements, but got bias of size {list(bias.shape)} instead")
    if bias is not None and bias.dtype is not input.dtype and input.dtype is weight.dtype:
        # (unlike the 1-d/2-d kernels, PyTorch's 3-d one refuses it)
        raise RuntimeError(f"expected scalar type {type_word(input.dtype)} but found {type_word(bias.dtype)}")
    x = _dilate_nd(input, stride) if any(s > 1 for s in stride) else input
    x = _pad_or_crop_nd(x, [(d * (k - 1) - p, d * (k - 1) - p + op)
                             for k, d, p, op in zip(ks, dilation, padding, output_padding)])
    cin_g = cin // groups
    w = weight.reshape((groups, cin_g, cout_g) + ks).transpose(1, 2).reshape((groups * cout_g, cin_g) + ks)
    out = conv3d(x, w.flip((2, 3, 4)), None, 1, 0, dilation, groups)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1, 1)
    return out.squeeze(0) if unbatched else out
