"""Optional fast kernels for nn layers: im2col + cuBLAS convolution, pooling, softmax.

Convolution gathers every kernel tap through one strided view of the padded input (no Python
loop over output pixels), copies it once into a column matrix, and multiplies on cuBLAS as a
batched GEMM. Its input gradient is one GEMM and one col2im kernel in which each thread sums
the taps that read its input pixel (no atomics). Max-pool's backward uses atomic scatter-add because windows may overlap.

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> from ember_cuda_cupy.nn_kernels import NN_KERNELS
    >>> old = am.use(numpy)
    >>> x = numpy.arange(16, dtype=numpy.float32).reshape(1, 1, 4, 4)
    >>> NN_KERNELS["max_pool2d"](x, (2, 2), (2, 2), (0, 0), (1, 1), False)[0].tolist()
    [[[[5.0, 7.0], [13.0, 15.0]]]]
    >>> _ = am.use(old)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from ember.kernels import out_size

from ember_cuda_cupy import arraymod as am
from ember_cuda_cupy.blas import matmul

__all__ = ["NN_KERNELS"]


def _pad_hw(x, ph: int, pw: int, value: Any = 0, extra_h: int = 0, extra_w: int = 0):
    """Constant-pad the two spatial axes (the far side gets `extra` more for ceil mode)."""
    if not (ph or pw or extra_h or extra_w):
        return am.xp.ascontiguousarray(x)
    return am.xp.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), mode="constant",
                     constant_values=value)


def _taps(xpad, kh: int, kw: int, oh: int, ow: int, stride: tuple, dilation: tuple, taps_last: bool):
    """A zero-copy (N, C, kh, kw, OH, OW) view of every window (or (N, C, OH, OW, kh, kw))."""
    n, c = xpad.shape[:2]
    s_n, s_c, s_h, s_w = xpad.strides
    tap = (kh, kw), (s_h * dilation[0], s_w * dilation[1])
    pos = (oh, ow), (s_h * stride[0], s_w * stride[1])
    first, second = (pos, tap) if taps_last else (tap, pos)
    shape = (n, c) + first[0] + second[0]
    strides = (s_n, s_c) + first[1] + second[1]
    return am.xp.lib.stride_tricks.as_strided(xpad, shape=shape, strides=strides)


# ---- convolution -----------------------------------------------------------------------------
def conv2d(x, w, bias, stride, padding, dilation, groups):
    xp = am.xp
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh = out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = out_size(wd, kw, stride[1], padding[1], dilation[1])
    k = cg * kh * kw
    # im2col: one copy of the strided window view into (N, g, Cg*kh*kw, OH*OW)
    cols = _taps(_pad_hw(x, *padding), kh, kw, oh, ow, stride, dilation, False).reshape(n, groups, k, oh * ow)
    if groups == 1:  # (O, K) against every (K, L): one strided-batched GEMM, the weight at batch stride 0
        out = matmul(w.reshape(o, k), cols.reshape(n, k, oh * ow))
    else:
        out = xp.matmul(w.reshape(groups, o // groups, k), cols)  # batched GEMM -> (N, g, O/g, L)
    out = out.reshape(n, o, oh, ow)
    if bias is not None:
        out += bias.reshape(1, o, 1, 1)
    return out


def conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs):
    xp = am.xp
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = grad.shape[2], grad.shape[3]
    og, k, l_ = o // groups, cg * kh * kw, oh * ow
    need_x, need_w, need_b = needs
    g4 = grad.reshape(n, groups, og, l_)
    gx = gw = gb = None
    if need_b:
        gb = grad.sum(axis=(0, 2, 3), dtype=grad.dtype)
    if need_w:
        # Fold the batch into the GEMM's contraction: (g, Og, N*L) @ (g, N*L, K) -> (g, Og, K).
        cols = _taps(_pad_hw(x, *padding), kh, kw, oh, ow, stride, dilation, False).reshape(n, groups, k, l_)
        cols = cols.transpose(1, 0, 3, 2).reshape(groups, n * l_, k)
        gmat = g4.transpose(1, 2, 0, 3).reshape(groups, og, n * l_)
        gw = matmul(gmat, cols).reshape(w.shape)
    if need_x:
        if groups == 1:  # (K, O) against every (O, L), the transposed weight at batch stride 0
            dcols = matmul(w.reshape(o, k).T, grad.reshape(n, o, l_))
        else:
            dcols = xp.matmul(w.reshape(groups, og, k).transpose(0, 2, 1), g4)  # (g, K, Og) @ (N, g, Og, L)
        dcols = dcols.reshape(n, c, kh, kw, oh, ow)  # (N, K, L) -> per-tap columns
        gx = _col2im(dcols, (n, c, h, wd), padding, stride, dilation)
    return gx, gw, gb


_COL2IM = """
long long t = i / W, xw = i - t * W;
long long yh = t % H; t /= H;  // t = n * C + c
C acc = 0;
for (int ki = 0; ki < KH; ++ki) {
    long long py = yh + PH - ki * DH;
    if (py < 0 || py % SH != 0 || py / SH >= OH) continue;
    for (int kj = 0; kj < KW; ++kj) {
        long long px = xw + PW - kj * DW;
        if (px < 0 || px % SW != 0 || px / SW >= OW) continue;
        acc += (C)cols[(((t * KH + ki) * KW + kj) * OH + py / SH) * OW + px / SW];
    }
}
gx = (T)acc;
"""
_col2im_kernels: dict = {}


def _col2im(dcols, x_shape, padding, stride, dilation):
    """Sum the (N, C, kh, kw, OH, OW) column gradients back onto the (N, C, H, W) input."""
    xp = am.xp
    n, c, h, wd = x_shape
    kh, kw, oh, ow = dcols.shape[2:]
    ph, pw = padding
    sh, sw = stride
    dh, dw = dilation
    if am.is_cupy:
        # one thread per input pixel gathers its taps: no atomics, no launch per tap
        c_type = "double" if dcols.dtype.name == "float64" else "float"
        kernel = _col2im_kernels.get(c_type)
        if kernel is None:
            kernel = xp.ElementwiseKernel(
                "raw T cols, int64 H, int64 W, int64 KH, int64 KW, int64 OH, int64 OW, int64 PH, int64 PW, "
                "int64 SH, int64 SW, int64 DH, int64 DW", "T gx", _COL2IM, f"ember_col2im_{c_type}",
                preamble=f"typedef {c_type} C;")
            _col2im_kernels[c_type] = kernel
        gx = xp.empty(x_shape, dtype=dcols.dtype)
        kernel(xp.ascontiguousarray(dcols), h, wd, kh, kw, oh, ow, ph, pw, sh, sw, dh, dw, gx)
        return gx
    gxp = xp.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            gxp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw] += dcols[:, :, i, j]
    return xp.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + wd])


# ---- pooling ---------------------------------------------------------------------------------
def _lowest(dtype):
    if dtype.kind == "f":
        return -np.inf
    if dtype.kind == "b":
        return False
    return np.iinfo(dtype).min


_MAX_POOL = """
long long ox = i % OW, t = i / OW;
long long oy = t % OH; t /= OH;  // t = n * C + c, the plane
long long base = t * H * W, best_at = -1;
C best = 0;
for (int ki = 0; ki < KH; ++ki) {
    long long y = oy * SH - PH + ki * DH;
    if (y < 0 || y >= H) continue;
    for (int kj = 0; kj < KW; ++kj) {
        long long xx = ox * SW - PW + kj * DW;
        if (xx < 0 || xx >= W) continue;
        C v = (C)x[base + y * W + xx];
        // the first maximum, but every NaN takes over: a window's last NaN wins (PyTorch's rule)
        if (best_at < 0 || v > best || v != v) { best = v; best_at = y * W + xx; }
    }
}
out = (T)best;
idx = best_at;
"""
_MAX_POOL_BACKWARD = "atomicAdd(&gx[(i / L) * HW + idx], grad);"
_pool_kernels: dict = {}


def _max_pool_kernel(x, kh, kw, oh, ow, stride, padding, dilation):
    """One thread per output pixel scans its window: values and first-argmax positions in one launch."""
    xp = am.xp
    c_type = "double" if x.dtype.name == "float64" else "float"
    kernel = _pool_kernels.get(("max", c_type))
    if kernel is None:
        kernel = xp.ElementwiseKernel(
            "raw T x, int64 H, int64 W, int64 KH, int64 KW, int64 OH, int64 OW, int64 SH, int64 SW, int64 PH, "
            "int64 PW, int64 DH, int64 DW", "T out, int64 idx", _MAX_POOL, f"ember_max_pool2d_{c_type}",
            preamble=f"typedef {c_type} C;")
        _pool_kernels[("max", c_type)] = kernel
    n, c, h, w = x.shape
    out = xp.empty((n, c, oh, ow), dtype=x.dtype)
    idx = xp.empty((n, c, oh, ow), dtype=xp.int64)
    kernel(xp.ascontiguousarray(x), h, w, kh, kw, oh, ow, stride[0], stride[1], padding[0], padding[1],
           dilation[0], dilation[1], out, idx)
    return out, idx


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    xp = am.xp
    n, c, h, w = x.shape
    kh, kw = kernel
    oh = out_size(h, kh, stride[0], padding[0], dilation[0], ceil_mode)
    ow = out_size(w, kw, stride[1], padding[1], dilation[1], ceil_mode)
    if am.is_cupy and x.dtype.kind == "f" and x.size:
        return _max_pool_kernel(x, kh, kw, oh, ow, stride, padding, dilation)
    extra_h = max(0, (oh - 1) * stride[0] + dilation[0] * (kh - 1) + 1 - (h + 2 * padding[0]))
    extra_w = max(0, (ow - 1) * stride[1] + dilation[1] * (kw - 1) + 1 - (w + 2 * padding[1]))
    xpad = _pad_hw(x, padding[0], padding[1], _lowest(x.dtype), extra_h, extra_w)
    win = _taps(xpad, kh, kw, oh, ow, stride, dilation, True).reshape(n, c, oh, ow, kh * kw)
    k = xp.argmax(win, axis=-1)  # the first maximum (argmax takes a window's first NaN)
    if win.dtype.kind == "f":  # PyTorch's pooling takes a window's last NaN
        nan = xp.isnan(win)
        k = xp.where(nan.any(-1), kh * kw - 1 - xp.argmax(nan[..., ::-1], axis=-1), k)
    out = xp.take_along_axis(win, k[..., None], -1)[..., 0]
    rows = (xp.arange(oh, dtype=xp.int64) * stride[0] - padding[0])[:, None] + (k // kw) * dilation[0]
    cols = (xp.arange(ow, dtype=xp.int64) * stride[1] - padding[1]) + (k % kw) * dilation[1]
    return out, (rows * w + cols).astype(np.int64, copy=False)


def max_pool2d_backward(grad, idx, input_shape):
    xp = am.xp
    n, c, h, w = input_shape
    if am.is_cupy and grad.dtype.name in ("float32", "float64") and grad.size:
        # one atomicAdd per output pixel into its plane (overlapping windows may pick one pixel twice)
        kernel = _pool_kernels.get("max_backward")
        if kernel is None:
            kernel = xp.ElementwiseKernel("T grad, int64 idx, int64 L, int64 HW", "raw T gx", _MAX_POOL_BACKWARD,
                                          "ember_max_pool2d_backward")
            _pool_kernels["max_backward"] = kernel
        gx = xp.zeros(input_shape, dtype=grad.dtype)
        kernel(grad, idx, grad.shape[2] * grad.shape[3], h * w, gx)
        return gx
    planes = n * c
    flat = idx.reshape(planes, -1) + (xp.arange(planes, dtype=xp.int64) * (h * w))[:, None]
    gx = xp.zeros(planes * h * w, dtype=grad.dtype)
    # overlapping windows may pick the same input pixel: atomics add every contribution
    am.add_at(gx, flat.reshape(-1), grad.reshape(-1))
    return gx.reshape(input_shape)


def _avg_divisor(size: int, k: int, s: int, p: int, o: int, count_include_pad: bool) -> np.ndarray:
    start = np.arange(o) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def _avg_geometry(shape, kernel, stride, padding, ceil_mode):
    h, w = shape[2], shape[3]
    kh, kw = kernel
    oh = out_size(h, kh, stride[0], padding[0], 1, ceil_mode)
    ow = out_size(w, kw, stride[1], padding[1], 1, ceil_mode)
    extra_h = max(0, (oh - 1) * stride[0] + kh - (h + 2 * padding[0]))
    extra_w = max(0, (ow - 1) * stride[1] + kw - (w + 2 * padding[1]))
    return oh, ow, extra_h, extra_w


def _avg_scale(shape, kernel, stride, padding, oh, ow, count_include_pad, divisor_override, dtype):
    """The divisor of every output pixel (PyTorch's rules), as a device array or a number."""
    if divisor_override:
        return divisor_override
    dh = _avg_divisor(shape[2], kernel[0], stride[0], padding[0], oh, count_include_pad)
    dw = _avg_divisor(shape[3], kernel[1], stride[1], padding[1], ow, count_include_pad)
    return am.xp.asarray((dh[:, None] * dw[None, :]).astype(dtype))


def _acc_dtype(dtype):
    return np.dtype(np.float32) if dtype == np.float16 else dtype


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    oh, ow, extra_h, extra_w = _avg_geometry(x.shape, kernel, stride, padding, ceil_mode)
    xpad = _pad_hw(x, padding[0], padding[1], 0, extra_h, extra_w)
    acc = _acc_dtype(x.dtype)
    s = _taps(xpad, kernel[0], kernel[1], oh, ow, stride, (1, 1), True).sum(axis=(4, 5), dtype=acc)
    div = _avg_scale(x.shape, kernel, stride, padding, oh, ow, count_include_pad, divisor_override, acc)
    return (s / div).astype(x.dtype, copy=False)


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    xp = am.xp
    n, c, h, w = input_shape
    oh, ow, extra_h, extra_w = _avg_geometry(input_shape, kernel, stride, padding, ceil_mode)
    div = _avg_scale(input_shape, kernel, stride, padding, oh, ow, count_include_pad, divisor_override,
                     grad.dtype)
    g = grad / div
    ph, pw = padding
    sh, sw = stride
    gxp = xp.zeros((n, c, h + 2 * ph + extra_h, w + 2 * pw + extra_w), dtype=grad.dtype)
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            gxp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw] += g
    return xp.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w])


# softmax, log_softmax, gelu, layer_norm and their backwards: ember_cpu_numpy.xp_kernels.nn_kernels (shared with the
# cpu backend; on CuPy each step of gelu is its own launch, with cupyx's erf)
NN_KERNELS: dict[str, Callable[..., Any]] = {
    "conv2d": conv2d, "conv2d_backward": conv2d_backward,
    "max_pool2d": max_pool2d, "max_pool2d_backward": max_pool2d_backward,
    "avg_pool2d": avg_pool2d, "avg_pool2d_backward": avg_pool2d_backward,
    "softmax": am.shared_kernel("softmax"), "log_softmax": am.shared_kernel("log_softmax"),
    "gelu": am.shared_kernel("gelu"), "gelu_backward": am.shared_kernel("gelu_backward"),
    "layer_norm": am.shared_kernel("layer_norm"), "layer_norm_backward": am.shared_kernel("layer_norm_backward"),
}
