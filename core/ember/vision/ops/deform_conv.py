"""Deformable convolution (Dai et al. 2017, https://arxiv.org/abs/1703.06211) and its modulated form
(v2, Zhu et al. 2018, https://arxiv.org/abs/1811.11168).

Each kernel tap of each output position reads the input at its regular position plus a learned offset,
by bilinear interpolation (0 outside the map), optionally scaled by a mask; the samples then meet the
weights in one grouped matrix product, as an im2col convolution. Written with ember ops, so autograd
gives the gradients of the input, offset, mask, weight and bias, on every device.

Example:
    >>> import ember
    >>> x = ember.arange(16.0).view(1, 1, 4, 4)
    >>> w = ember.ones(1, 1, 1, 1)
    >>> deform_conv2d(x, ember.zeros(1, 2, 4, 4), w).equal(x)  # no offset: a plain 1x1 convolution
    True
"""

from __future__ import annotations

import math

import ember
from ember import nn
from ember.nn import init

from ._roi_utils import _pair

__all__ = ["deform_conv2d", "DeformConv2d"]


def deform_conv2d(
    input: ember.Tensor,
    offset: ember.Tensor,
    weight: ember.Tensor,
    bias: ember.Tensor | None = None,
    stride: int | tuple[int, int] = (1, 1),
    padding: int | tuple[int, int] = (0, 0),
    dilation: int | tuple[int, int] = (1, 1),
    mask: ember.Tensor | None = None,
) -> ember.Tensor:
    """Deformable convolution: ``[B, C_out, H_out, W_out]``.

    ``offset`` is ``[B, 2 * offset_groups * kh * kw, H_out, W_out]`` ((dy, dx) per tap, per group of input
    channels), ``weight`` is ``[C_out, C_in / groups, kh, kw]``, and ``mask`` (v2), if given,
    ``[B, offset_groups * kh * kw, H_out, W_out]``.

    Example:
        >>> import ember
        >>> x, w = ember.rand(2, 4, 6, 6), ember.rand(4, 2, 3, 3)
        >>> off, m = ember.rand(2, 2 * 2 * 9, 4, 4), ember.rand(2, 2 * 9, 4, 4)
        >>> tuple(deform_conv2d(x, off, w, mask=m).shape)
        (2, 4, 4, 4)
    """
    stride_h, stride_w = _pair(stride)
    pad_h, pad_w = _pair(padding)
    dil_h, dil_w = _pair(dilation)
    kh, kw = weight.shape[-2:]
    batch, c_in, height, width = input.shape
    n_offset_grps = offset.shape[1] // (2 * kh * kw)
    n_weight_grps = c_in // weight.shape[1]
    if n_offset_grps == 0:
        raise RuntimeError(
            "the shape of the offset tensor at dimension 1 is not valid. It should "
            "be a multiple of 2 * weight.size[2] * weight.size[3].\n"
            f"Got offset.shape[1]={offset.shape[1]}, while 2 * weight.size[2] * weight.size[3]={2 * kh * kw}"
        )
    out_h = (height + 2 * pad_h - (dil_h * (kh - 1) + 1)) // stride_h + 1
    out_w = (width + 2 * pad_w - (dil_w * (kw - 1) + 1)) // stride_w + 1
    if tuple(offset.shape[-2:]) != (out_h, out_w):
        raise RuntimeError(
            f"offset output dims: ({offset.shape[-2]}, {offset.shape[-1]}) - "
            f"computed output dims: ({out_h}, {out_w})"
        )
    if c_in % n_offset_grps != 0 or c_in % weight.shape[1] != 0:
        raise RuntimeError("input channels must be a multiple of the offset and weight groups")
    dev, dtype = input.device, input.dtype
    g, taps, cpg = n_offset_grps, kh * kw, c_in // n_offset_grps
    off = offset.reshape(batch, g, taps, 2, out_h, out_w)
    # each tap's regular position (integers, as the kernel adds them before the offset)
    row = ember.arange(out_h, device=dev) * stride_h - pad_h
    col = ember.arange(out_w, device=dev) * stride_w - pad_w
    tap_y = (ember.arange(kh, device=dev) * dil_h).repeat_interleave(kw)
    tap_x = (ember.arange(kw, device=dev) * dil_w).repeat(kh)
    y = (row.view(1, 1, 1, out_h, 1) + tap_y.view(1, 1, taps, 1, 1)).to(dtype) + off[:, :, :, 0]
    x = (col.view(1, 1, 1, 1, out_w) + tap_x.view(1, 1, taps, 1, 1)).to(dtype) + off[:, :, :, 1]
    inside = ((y > -1) & (y < height) & (x > -1) & (x < width)).to(dtype)
    y0, x0 = ember.floor(y), ember.floor(x)
    ly, lx = y - y0, x - x0  # offsets get their gradient through these fractions
    y0, x0 = y0.to(ember.int64), x0.to(ember.int64)
    # flat index of channel (group g, channel ci of the group) of image b, for the corners below
    chan = (ember.arange(batch, device=dev).view(batch, 1, 1) * c_in + ember.arange(c_in, device=dev).view(1, g, cpg))
    chan = chan.view(batch, g, cpg, 1, 1, 1) * (height * width)
    flat = input.reshape(-1)
    samples = None
    for dy, dx, wgt in ((0, 0, (1 - ly) * (1 - lx)), (0, 1, (1 - ly) * lx), (1, 0, ly * (1 - lx)), (1, 1, ly * lx)):
        yc, xc = y0 + dy, x0 + dx
        ok = (yc >= 0) & (yc < height) & (xc >= 0) & (xc < width)
        pos = ember.where(ok, yc * width + xc, ember.zeros_like(yc))  # [B, G, taps, H_out, W_out]
        term = flat[chan + pos.unsqueeze(2)] * (wgt * inside * ok.to(dtype)).unsqueeze(2)
        samples = term if samples is None else samples + term
    if mask is not None:
        samples = samples * mask.reshape(batch, g, 1, taps, out_h, out_w)
    # [B, C_in * taps, L] columns (channel-major, as the weight's [C_in / groups, kh, kw])
    columns = samples.reshape(batch, n_weight_grps, (c_in // n_weight_grps) * taps, out_h * out_w)
    c_out = weight.shape[0]
    w = weight.reshape(n_weight_grps, c_out // n_weight_grps, (c_in // n_weight_grps) * taps)
    out = ember.matmul(w, columns).reshape(batch, c_out, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, c_out, 1, 1)
    return out


class DeformConv2d(nn.Module):
    """See :func:`deform_conv2d`; the module holds the weight and bias (initialised as ``nn.Conv2d``'s),
    and ``forward(input, offset, mask=None)`` takes the offsets (and mask) computed elsewhere.

    Example:
        >>> DeformConv2d(4, 8, kernel_size=3, padding=1, groups=2)
        DeformConv2d(4, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), groups=2)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int], stride: int = 1,
                 padding: int = 0, dilation: int = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride)
        self.padding = _pair(padding)
        self.dilation = _pair(dilation)
        self.groups = groups
        self.weight = nn.Parameter(ember.empty(out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(ember.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.kernel_size[0] * self.kernel_size[1]
            bound = 1 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: ember.Tensor, offset: ember.Tensor, mask: ember.Tensor | None = None) -> ember.Tensor:
        return deform_conv2d(input, offset, self.weight, self.bias, stride=self.stride, padding=self.padding,
                             dilation=self.dilation, mask=mask)

    def __repr__(self) -> str:
        s = f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        s += f", padding={self.padding}" if self.padding != (0, 0) else ""
        s += f", dilation={self.dilation}" if self.dilation != (1, 1) else ""
        s += f", groups={self.groups}" if self.groups != 1 else ""
        s += ", bias=False" if self.bias is None else ""
        return s + ")"
