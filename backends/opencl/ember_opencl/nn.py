"""Optional fast NN kernels: conv2d (im2col + GEMM), pooling, softmax/log_softmax.

Backward passes gather instead of scatter (each input pixel sums the outputs it fed), so no
atomics are needed and results are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ember.kernels import out_size

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import header, run_1d
from ember_opencl.creation import contiguous, copy_
from ember_opencl.elementwise import make_kernels
from ember_opencl.gemm import gemm
from ember_opencl.movement import permute, reshape
from ember_opencl.reduction import reduce
from ember_opencl.runtime import ctype
from ember_opencl.scan import _rows

__all__ = ["KERNELS"]

_add = make_kernels()["add"]


def _conv_out(n: int, k: int, s: int, p: int, d: int) -> int:
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def _im2col(x: CLArray, kh: int, kw: int, stride: Any, padding: Any, dilation: Any,
            oh: int, ow: int) -> CLArray:
    """cols[n, c*kh*kw + i*kw + j, oy*ow + ox] = x[n, c, oy*sh - ph + i*dh, ox*sw - pw + j*dw]."""
    N, C, H, W = x.shape
    cols = empty((N, C * kh * kw, oh * ow), x.dtype, x.device)
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    # One work-item per output row (n, c, i, j, oy): the index arithmetic (divisions, which PoCL
    # cannot vectorise) happens once per row instead of once per element, and the row is zeros
    # around a plain copy (contiguous for stride 1, which the compiler vectorises): a LeNet
    # convolution's columns took 14-18 ms on PoCL one element per work-item, 1-2.5 ms so.
    src = header(t) + f"""
__kernel void im2col(__global {t}* o, __global const {t}* x, long xo, long s0, long s1, long s2,
    long s3, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
    int OH, int OW, long rows) {{
  long g = get_global_id(0); if (g >= rows) return;
  long r = g; int oy = r % OH; r /= OH;
  int j = r % kw; r /= kw; int i = r % kh; r /= kh; int c = r % C; long n = r / C;
  int iy = oy * sh - ph + i * dh;
  __global {t}* out = o + g * OW;
  if (iy < 0 || iy >= H) {{ for (int ox = 0; ox < OW; ox++) out[ox] = 0; return; }}
  __global const {t}* xr = x + xo + n * s0 + c * s1 + iy * s2;
  /* the outputs whose column ix = ox * sw + base lands inside the row: [lo, hi) */
  const int base = j * dw - pw;
  int lo = base >= 0 ? 0 : (-base + sw - 1) / sw;
  int hi = W - 1 - base >= 0 ? (W - 1 - base) / sw + 1 : 0;
  if (hi > OW) hi = OW;
  if (lo > hi) lo = hi;
  for (int ox = 0; ox < lo; ox++) out[ox] = 0;
  if (sw == 1 && s3 == 1) {{
    __global const {t}* src = xr + base;
    for (int ox = lo; ox < hi; ox++) out[ox] = src[ox];
  }} else {{
    for (int ox = lo; ox < hi; ox++) out[ox] = xr[(ox * sw + base) * s3];
  }}
  for (int ox = hi; ox < OW; ox++) out[ox] = 0;
}}
"""
    rows = cols.size // ow if ow else 0
    k = dev.kernel(("im2col_rows", t), lambda: src, "im2col",
                   [None, None] + [np.int64] * 5 + [np.int32] * 13 + [np.int64])
    run_1d(k, dev, rows, [cols.base_buffer, x.base_buffer, x.offset, *x.strides, C, H, W,
                          kh, kw, stride[0], stride[1], padding[0], padding[1], dilation[0],
                          dilation[1], oh, ow, rows])
    return cols


def _col2im(dcols: CLArray, shape: tuple[int, ...], kh: int, kw: int, stride: Any,
            padding: Any, dilation: Any, oh: int, ow: int) -> CLArray:
    """Gradient of im2col: every input pixel sums the column entries it was copied to."""
    N, C, H, W = shape
    out = empty(shape, dcols.dtype, dcols.device)
    dev = runtime.device(dcols.device)
    t = ctype(dcols.dtype)
    # One work-item per input row (n, c, iy), as im2col: the taps that reach the row are found once
    # per row, and each column entry is read for the whole row in order.
    src = header(t) + f"""
__kernel void col2im(__global {t}* o, __global const {t}* d, int C, int H, int W, int kh,
    int kw, int sh, int sw, int ph, int pw, int dh, int dw, int OH, int OW, long rows) {{
  long g = get_global_id(0); if (g >= rows) return;
  long r = g; int iy = r % H; long nc = r / H;
  __global {t}* out = o + g * W;
  for (int ix = 0; ix < W; ix++) out[ix] = 0;
  const long L = (long)OH * OW;
  for (int i = 0; i < kh; i++) {{
    int ty = iy + ph - i * dh; if (ty < 0 || ty % sh) continue; int oy = ty / sh; if (oy >= OH) continue;
    for (int j = 0; j < kw; j++) {{
      __global const {t}* dr = d + (nc * kh * kw + i * kw + j) * L + (long)oy * OW;
      for (int ix = 0; ix < W; ix++) {{
        int tx = ix + pw - j * dw; if (tx < 0 || tx % sw) continue; int ox = tx / sw;
        if (ox < OW) out[ix] += dr[ox];
      }}
    }}
  }}
}}
"""
    rows = out.size // W if W else 0
    k = dev.kernel(("col2im_rows", t), lambda: src, "col2im", [None, None] + [np.int32] * 13 + [np.int64])
    run_1d(k, dev, rows, [out.base_buffer, dcols.base_buffer, C, H, W, kh, kw, stride[0],
                          stride[1], padding[0], padding[1], dilation[0], dilation[1], oh, ow,
                          rows])
    return out


def conv2d(x: CLArray, w: CLArray, bias: CLArray | None, stride: Any, padding: Any,
           dilation: Any, groups: int) -> CLArray:
    """NCHW cross-correlation as im2col + batched GEMM over groups."""
    N, C, H, W = x.shape
    F, Cg, kh, kw = w.shape
    G = groups
    oh = _conv_out(H, kh, stride[0], padding[0], dilation[0])
    ow = _conv_out(W, kw, stride[1], padding[1], dilation[1])
    if N == 0 or oh <= 0 or ow <= 0:
        return empty((N, F, max(oh, 0), max(ow, 0)), x.dtype, x.device)
    cols = _im2col(x, kh, kw, stride, padding, dilation, oh, ow)
    kc = Cg * kh * kw
    wm = reshape(contiguous(w), (1, G, F // G, kc))
    y = gemm(wm, reshape(cols, (N, G, kc, oh * ow)))
    y = reshape(y, (N, F, oh, ow))
    if bias is not None:
        y = _add(y, reshape(bias, (1, F, 1, 1)))
    return y


def conv2d_backward(grad: CLArray, x: CLArray, w: CLArray, stride: Any, padding: Any,
                    dilation: Any, groups: int, needs: Any) -> tuple[Any, Any, Any]:
    """(grad_x, grad_w, grad_bias), each None unless requested."""
    N, C, H, W = x.shape
    F, Cg, kh, kw = w.shape
    G = groups
    oh, ow = grad.shape[2], grad.shape[3]
    kc = Cg * kh * kw
    g4 = reshape(contiguous(grad), (N, G, F // G, oh * ow))
    gx = gw = gb = None
    if needs[0]:
        wt = permute(reshape(contiguous(w), (1, G, F // G, kc)), (0, 1, 3, 2))
        dcols = gemm(wt, g4)  # (N, G, kc, L)
        gx = _col2im(dcols, x.shape, kh, kw, stride, padding, dilation, oh, ow)
    if needs[1]:
        cols = reshape(_im2col(x, kh, kw, stride, padding, dilation, oh, ow), (N, G, kc, oh * ow))
        per_n = gemm(g4, permute(cols, (0, 1, 3, 2)))  # (N, G, F//G, kc)
        gw = reshape(reduce(per_n, (0,), False, "sum"), w.shape)
    if needs[2]:
        gb = reduce(grad, (0, 2, 3), False, "sum")
    return gx, gw, gb


def max_pool2d(x: CLArray, kernel: Any, stride: Any, padding: Any, dilation: Any,
               ceil_mode: bool) -> tuple[CLArray, CLArray]:
    N, C, H, W = x.shape
    oh = out_size(H, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = out_size(W, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    out = empty((N, C, oh, ow), x.dtype, x.device)
    idx = empty((N, C, oh, ow), np.int64, x.device)
    if out.size == 0:
        return out, idx
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    isf = x.dtype.kind == "f"
    # PyTorch's rule: the first maximum, but every NaN takes over (a window's last NaN wins)
    better = "(v > best || isnan(v))" if isf else "(v > best)"
    if (tuple(kernel) == (2, 2) and tuple(stride) == (2, 2) and tuple(padding) == (0, 0)
            and tuple(dilation) == (1, 1) and 2 * oh <= H and 2 * ow <= W):
        _max_pool_2x2(dev, x, out, idx, t, isf)
        return out, idx
    # one work-item per output row (n, c, oy), as im2col: the index arithmetic once per row
    src = header(t) + f"""
__kernel void maxpool(__global {t}* o, __global long* oi, __global const {t}* x, long xo,
    long s0, long s1, long s2, long s3, int C, int H, int W, int kh, int kw, int sh, int sw,
    int ph, int pw, int dh, int dw, int OH, int OW, long rows) {{
  long g = get_global_id(0); if (g >= rows) return;
  long r = g; int oy = r % OH; r /= OH; int c = r % C; long n = r / C;
  __global const {t}* xp = x + xo + n * s0 + c * s1;
  for (int ox = 0; ox < OW; ox++) {{
    {t} best = 0; long bi = -1;
    for (int i = 0; i < kh; i++) {{
      int iy = oy * sh - ph + i * dh; if (iy < 0 || iy >= H) continue;
      for (int j = 0; j < kw; j++) {{
        int ix = ox * sw - pw + j * dw; if (ix < 0 || ix >= W) continue;
        {t} v = xp[iy * s2 + ix * s3];
        if (bi < 0 || {better}) {{ best = v; bi = iy * W + ix; }}
      }}
    }}
    o[g * OW + ox] = best; oi[g * OW + ox] = bi;
  }}
}}
"""
    rows = out.size // ow
    k = dev.kernel(("maxpool_rows", t), lambda: src, "maxpool",
                   [None, None, None] + [np.int64] * 5 + [np.int32] * 13 + [np.int64])
    run_1d(k, dev, rows, [out.base_buffer, idx.base_buffer, x.base_buffer, x.offset,
                          *x.strides, C, H, W, kernel[0], kernel[1], stride[0], stride[1],
                          padding[0], padding[1], dilation[0], dilation[1], oh, ow, rows])
    return out, idx


def _max_pool_2x2(dev: Any, x: CLArray, out: CLArray, idx: CLArray, t: str, isf: bool) -> None:
    """2x2 windows with stride 2 (most CNNs' pooling): the general kernel with its four taps written
    out, no bounds or padding tests (LeNet's (64, 6, 28, 28) pool on PoCL: ~1.3 -> ~0.75 ms)."""
    N, C, H, W = x.shape
    OH, OW = out.shape[2], out.shape[3]
    takes = "(v > best || isnan(v))" if isf else "(v > best)"
    taps = "\n    ".join(f"v = {src}; if ({takes}) {{ best = v; k = {k}; }}"
                          for src, k in (("r0[(2 * ox + 1) * s3]", "1"), ("r1[(2 * ox) * s3]", "W"),
                                         ("r1[(2 * ox + 1) * s3]", "W + 1")))
    src = header(t) + f"""
__kernel void maxpool2x2(__global {t}* o, __global long* oi, __global const {t}* x, long xo,
    long s0, long s1, long s2, long s3, int C, int W, int OH, int OW, long rows) {{
  long g = get_global_id(0); if (g >= rows) return;
  long r = g; int oy = r % OH; r /= OH; int c = r % C; long n = r / C;
  __global const {t}* r0 = x + xo + n * s0 + c * s1 + (long)(2 * oy) * s2;
  __global const {t}* r1 = r0 + s2;
  long base = (long)(2 * oy) * W;
  for (int ox = 0; ox < OW; ox++) {{
    {t} best = r0[(2 * ox) * s3], v; int k = 0;
    {taps}
    o[g * OW + ox] = best; oi[g * OW + ox] = base + 2 * ox + k;
  }}
}}
"""
    rows = N * C * OH
    k = dev.kernel(("maxpool_2x2", t), lambda: src, "maxpool2x2",
                   [None, None, None] + [np.int64] * 5 + [np.int32] * 4 + [np.int64])
    run_1d(k, dev, rows, [out.base_buffer, idx.base_buffer, x.base_buffer, x.offset, *x.strides, C, W, OH, OW,
                          rows])


def max_pool2d_backward(grad: CLArray, idx: CLArray, input_shape: tuple[int, ...]) -> CLArray:
    """One work-item per (n, c) plane adds its gradients in order: no write conflicts."""
    N, C, H, W = input_shape
    out = empty(tuple(input_shape), grad.dtype, grad.device)
    copy_(out, 0)
    grad, idx = contiguous(grad), contiguous(idx)
    planes = N * C
    L = grad.shape[2] * grad.shape[3]
    if planes == 0 or L == 0:
        return out
    dev = runtime.device(grad.device)
    t = ctype(grad.dtype)
    src = header(t) + f"""
__kernel void mpb(__global {t}* o, __global const {t}* g, long go, __global const long* ix,
                  long io, long planes, long L, long HW) {{
  long p = get_global_id(0); if (p >= planes) return;
  for (long i = 0; i < L; i++) {{ long k = ix[io + p * L + i]; if (k >= 0 && k < HW) o[p * HW + k] += g[go + p * L + i]; }}
}}
"""
    k = dev.kernel(("mpb", t), lambda: src, "mpb", [None, None, np.int64, None] + [np.int64] * 4)
    run_1d(k, dev, planes, [out.base_buffer, grad.base_buffer, grad.offset, idx.base_buffer,
                            idx.offset, planes, L, H * W])
    return out


_AVG_WINDOW = """
inline float avg_div(int oy, int ox, int H, int W, int kh, int kw, int sh, int sw, int ph,
                     int pw, int cip, int dov) {
  int hs = oy * sh - ph, ws = ox * sw - pw;
  int he = min(hs + kh, H + ph), we = min(ws + kw, W + pw);
  int pool = (he - hs) * (we - ws);
  hs = max(hs, 0); ws = max(ws, 0); he = min(he, H); we = min(we, W);
  if (dov != 0) return (float)dov;  // PyTorch takes any non-zero divisor, negative ones too
  return (float)(cip ? pool : (he - hs) * (we - ws));
}
"""


def avg_pool2d(x: CLArray, kernel: Any, stride: Any, padding: Any, ceil_mode: bool,
               count_include_pad: bool, divisor_override: Any) -> CLArray:
    N, C, H, W = x.shape
    oh = out_size(H, kernel[0], stride[0], padding[0], 1, ceil_mode)
    ow = out_size(W, kernel[1], stride[1], padding[1], 1, ceil_mode)
    out = empty((N, C, oh, ow), x.dtype, x.device)
    if out.size == 0:
        return out
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    src = header(t) + _AVG_WINDOW + f"""
__kernel void avgpool(__global {t}* o, __global const {t}* x, long xo, long s0, long s1, long s2,
    long s3, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int cip,
    int dov, int OH, int OW, long total) {{
  long g = get_global_id(0); if (g >= total) return;
  long r = g; int ox = r % OW; r /= OW; int oy = r % OH; r /= OH; int c = r % C; long n = r / C;
  int hs = oy * sh - ph, ws = ox * sw - pw;
  {t} acc = 0;
  for (int iy = max(hs, 0); iy < min(hs + kh, H); iy++)
    for (int ix = max(ws, 0); ix < min(ws + kw, W); ix++)
      acc += x[xo + n * s0 + c * s1 + iy * s2 + ix * s3];
  o[g] = acc / ({t})avg_div(oy, ox, H, W, kh, kw, sh, sw, ph, pw, cip, dov);
}}
"""
    k = dev.kernel(("avgpool", t), lambda: src, "avgpool",
                   [None, None] + [np.int64] * 5 + [np.int32] * 13 + [np.int64])
    run_1d(k, dev, out.size, [out.base_buffer, x.base_buffer, x.offset, *x.strides, C, H, W,
                              kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
                              int(count_include_pad), int(divisor_override or 0), oh, ow,
                              out.size])
    return out


def avg_pool2d_backward(grad: CLArray, input_shape: tuple[int, ...], kernel: Any, stride: Any,
                        padding: Any, ceil_mode: bool, count_include_pad: bool,
                        divisor_override: Any) -> CLArray:
    """Each input pixel gathers grad/divisor from the windows that cover it."""
    N, C, H, W = input_shape
    oh, ow = grad.shape[2], grad.shape[3]
    out = empty(tuple(input_shape), grad.dtype, grad.device)
    if out.size == 0:
        return out
    dev = runtime.device(grad.device)
    t = ctype(grad.dtype)
    src = header(t) + _AVG_WINDOW + f"""
__kernel void avgb(__global {t}* o, __global const {t}* g, long go, long s0, long s1, long s2,
    long s3, int C, int H, int W, int kh, int kw, int sh, int sw, int ph, int pw, int cip,
    int dov, int OH, int OW, long total) {{
  long q = get_global_id(0); if (q >= total) return;
  long r = q; int ix = r % W; r /= W; int iy = r % H; r /= H; int c = r % C; long n = r / C;
  {t} acc = 0;
  int oy0 = max(0, (iy + ph - kh) / sh), oy1 = min(OH - 1, (iy + ph) / sh);
  int ox0 = max(0, (ix + pw - kw) / sw), ox1 = min(OW - 1, (ix + pw) / sw);
  for (int oy = oy0; oy <= oy1; oy++) {{
    int hs = oy * sh - ph; if (iy < hs || iy >= hs + kh) continue;
    for (int ox = ox0; ox <= ox1; ox++) {{
      int ws = ox * sw - pw; if (ix < ws || ix >= ws + kw) continue;
      acc += g[go + n * s0 + c * s1 + oy * s2 + ox * s3]
             / ({t})avg_div(oy, ox, H, W, kh, kw, sh, sw, ph, pw, cip, dov);
    }}
  }}
  o[q] = acc;
}}
"""
    k = dev.kernel(("avgb", t), lambda: src, "avgb",
                   [None, None] + [np.int64] * 5 + [np.int32] * 13 + [np.int64])
    run_1d(k, dev, out.size, [out.base_buffer, grad.base_buffer, grad.offset, *grad.strides, C,
                              H, W, kernel[0], kernel[1], stride[0], stride[1], padding[0],
                              padding[1], int(count_include_pad), int(divisor_override or 0),
                              oh, ow, out.size])
    return out


def _softmax(x: CLArray, dim: int, log: bool) -> CLArray:
    """One work-item per row: max, sum of exp, then write (stable)."""
    if x.ndim == 0:
        x1 = x.view((1,), (0,), x.offset)
        r = _softmax(x1, 0, log)
        return r.view((), (), r.offset)
    dim %= x.ndim
    out = empty(x.shape, x.dtype, x.device)
    L = x.shape[dim]
    nrows = x.size // L if L else 0
    if nrows == 0:
        return out
    dev = runtime.device(x.device)
    nd, shape, (xs, os) = _rows(x, out, dim)
    t = ctype(x.dtype)
    res = "(v - m) - log(s)" if log else "exp(v - m) / s"
    src = header(t) + f"""
__kernel void smax(__global {t}* o, __global const {t}* x, long x_off,
  {', '.join(f'long x_s{d}' for d in range(nd))}, {', '.join(f'long o_s{d}' for d in range(nd))},
  {', '.join(f'long n{d}' for d in range(nd))}, long nrows, long L, long xd, long od) {{
  long gid = get_global_id(0); if (gid >= nrows) return;
  long o_off = 0;
  {_idx(nd)}
  {t} m = -INFINITY, s = 0;
  for (long j = 0; j < L; j++) m = fmax(m, x[i_x + j * xd]);
  for (long j = 0; j < L; j++) s += exp(x[i_x + j * xd] - m);
  for (long j = 0; j < L; j++) {{ {t} v = x[i_x + j * xd]; o[i_o + j * od] = {res}; }}
}}
"""
    k = dev.kernel(("smax", t, nd, log), lambda: src, "smax",
                   [None, None] + [np.int64] * (1 + 3 * nd + 4))
    run_1d(k, dev, nrows, [out.base_buffer, x.base_buffer, x.offset] + xs + os + shape
           + [nrows, L, x.strides[dim], out.strides[dim]])
    return out


def _idx(nd: int) -> str:
    from ember_opencl.codegen import index_code
    return index_code(nd, ["x", "o"], "n", "gid")


def softmax(x: CLArray, dim: int) -> CLArray:
    return _softmax(x, dim, False)


def log_softmax(x: CLArray, dim: int) -> CLArray:
    return _softmax(x, dim, True)


KERNELS: dict[str, Callable[..., Any]] = {
    "conv2d": conv2d, "conv2d_backward": conv2d_backward, "max_pool2d": max_pool2d,
    "max_pool2d_backward": max_pool2d_backward, "avg_pool2d": avg_pool2d,
    "avg_pool2d_backward": avg_pool2d_backward, "softmax": softmax, "log_softmax": log_softmax}

