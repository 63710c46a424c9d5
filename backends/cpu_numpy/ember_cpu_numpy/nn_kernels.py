"""Optional fast kernels for nn layers on NumPy (the ``nn`` family of ``ember.kernels``).

Convolution is im2col through a strided view plus one BLAS matmul per call (per group); the
input gradient is col2im, a loop over the kernel's taps (k_h * k_w strided adds), never over
pixels or the batch. Pooling uses the same windowed views.

Example:
    >>> import numpy as np
    >>> x = np.ones((1, 1, 4, 4), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> NN_KERNELS["conv2d"](x, w, None, (1, 1), (0, 0), (1, 1), 1)[0, 0]
    array([[9., 9.],
           [9., 9.]], dtype=float32)
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

__all__ = ["NN_KERNELS"]


def _out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    span = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + p:  # the last window must start inside the input or left padding
            o -= 1
        return o
    return span // s + 1


def _windows(xp: np.ndarray, kh: int, kw: int, ho: int, wo: int, stride, dilation) -> np.ndarray:
    """A (N, C, Ho, Wo, kh, kw) read-only view of the windows of padded ``xp``."""
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, shape=(xp.shape[0], xp.shape[1], ho, wo, kh, kw),
                      strides=(sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]),
                      writeable=False)


def _pad(x: np.ndarray, ph: int, pw: int, value: float = 0.0, extra_h: int = 0, extra_w: int = 0) -> np.ndarray:
    if not (ph or pw or extra_h or extra_w):
        return x
    return np.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)), constant_values=value)


def _cols(x, kh, kw, stride, padding, dilation):
    """im2col: (N, Ho, Wo, C, kh, kw) contiguous columns plus (Ho, Wo)."""
    n, c, h, w = x.shape
    ho = _out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = _out_size(w, kw, stride[1], padding[1], dilation[1])
    xp = _pad(x, padding[0], padding[1])
    win = _windows(xp, kh, kw, ho, wo, stride, dilation)  # N C Ho Wo kh kw
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)), ho, wo


def conv2d(x, w, bias, stride, padding, dilation, groups):
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    cols, ho, wo = _cols(x, kh, kw, stride, padding, dilation)
    rows = n * ho * wo
    if groups == 1:
        out = cols.reshape(rows, c * kh * kw) @ w.reshape(o, -1).T
    else:
        og = o // groups
        cols = cols.reshape(rows, groups, cg * kh * kw)
        out = np.empty((rows, o), dtype=np.result_type(x, w))
        for g in range(groups):  # a loop over groups only; each is one matmul
            out[:, g * og:(g + 1) * og] = cols[:, g] @ w[g * og:(g + 1) * og].reshape(og, -1).T
    if bias is not None:
        out += bias
    return np.ascontiguousarray(out.reshape(n, ho, wo, o).transpose(0, 3, 1, 2))


def conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = grad.shape[2], grad.shape[3]
    rows = n * ho * wo
    gmat = grad.transpose(0, 2, 3, 1).reshape(rows, o)
    og = o // groups
    gx = gw = gb = None
    if needs[1]:
        cols, _, _ = _cols(x, kh, kw, stride, padding, dilation)
        if groups == 1:
            gw = (gmat.T @ cols.reshape(rows, -1)).reshape(w.shape)
        else:
            cols = cols.reshape(rows, groups, cg * kh * kw)
            gw = np.empty(w.shape, dtype=w.dtype)
            for g in range(groups):
                gw[g * og:(g + 1) * og] = (gmat[:, g * og:(g + 1) * og].T @ cols[:, g]).reshape(og, cg, kh, kw)
        gw = gw.astype(w.dtype, copy=False)
    if needs[0]:
        if groups == 1:
            dcols = gmat @ w.reshape(o, -1)
        else:
            dcols = np.empty((rows, groups, cg * kh * kw), dtype=np.result_type(grad, w))
            for g in range(groups):
                dcols[:, g] = gmat[:, g * og:(g + 1) * og] @ w[g * og:(g + 1) * og].reshape(og, -1)
        # one copy to (kh, kw, N, C, Ho, Wo) so every tap's add below reads contiguous memory
        dcols = np.ascontiguousarray(dcols.reshape(n, ho, wo, c, kh, kw).transpose(4, 5, 0, 3, 1, 2))
        ph, pw = padding
        sh, sw = stride
        dh, dw = dilation
        gxp = np.zeros((n, c, h + 2 * ph, wd + 2 * pw), dtype=x.dtype)
        for i in range(kh):  # col2im: one strided add per kernel tap
            for j in range(kw):
                gxp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw] += dcols[i, j]
        gx = np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + wd])
    if needs[2]:
        gb = grad.sum(axis=(0, 2, 3)).astype(grad.dtype, copy=False)
    return gx, gw, gb


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    n, c, h, w = x.shape
    kh, kw = kernel
    ho = _out_size(h, kh, stride[0], padding[0], dilation[0], ceil_mode)
    wo = _out_size(w, kw, stride[1], padding[1], dilation[1], ceil_mode)
    need_h = (ho - 1) * stride[0] + dilation[0] * (kh - 1) + 1
    need_w = (wo - 1) * stride[1] + dilation[1] * (kw - 1) + 1
    extra_h = max(0, need_h - (h + 2 * padding[0]))
    extra_w = max(0, need_w - (w + 2 * padding[1]))
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x, padding[0], padding[1], fill, extra_h, extra_w)
    win = _windows(xp, kh, kw, ho, wo, stride, dilation).reshape(n, c, ho, wo, kh * kw)
    k = win.argmax(axis=-1)
    out = np.take_along_axis(win, k[..., None], axis=-1)[..., 0]
    ki, kj = np.divmod(k, kw)
    rows = np.arange(ho).reshape(ho, 1) * stride[0] - padding[0] + ki * dilation[0]
    cols = np.arange(wo) * stride[1] - padding[1] + kj * dilation[1]
    idx = (rows * w + cols).astype(np.int64)
    return np.ascontiguousarray(out), idx


def max_pool2d_backward(grad, idx, input_shape):
    n, c, h, w = input_shape
    plane = h * w
    flat = (idx.reshape(n * c, -1) + (np.arange(n * c) * plane)[:, None]).ravel()
    out = np.bincount(flat, weights=grad.reshape(-1).astype(np.float64), minlength=n * c * plane)
    return out.astype(grad.dtype).reshape(input_shape)


def _avg_divisor(size, k, s, p, o, count_include_pad):
    start = np.arange(o) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    kh, kw = kernel
    ho = _out_size(h, kh, stride[0], padding[0], 1, ceil_mode)
    wo = _out_size(w, kw, stride[1], padding[1], 1, ceil_mode)
    extra_h = max(0, (ho - 1) * stride[0] + kh - (h + 2 * padding[0]))
    extra_w = max(0, (wo - 1) * stride[1] + kw - (w + 2 * padding[1]))
    xp = _pad(x, padding[0], padding[1], 0.0, extra_h, extra_w)
    s = _windows(xp, kh, kw, ho, wo, stride, (1, 1)).sum(axis=(4, 5))
    if divisor_override:
        return (s / divisor_override).astype(x.dtype)
    div = np.outer(_avg_divisor(h, kh, stride[0], padding[0], ho, count_include_pad),
                   _avg_divisor(w, kw, stride[1], padding[1], wo, count_include_pad))
    return (s / div).astype(x.dtype)


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    n, c, h, w = input_shape
    kh, kw = kernel
    ho, wo = grad.shape[2], grad.shape[3]
    if divisor_override:
        g = grad / divisor_override
    else:
        div = np.outer(_avg_divisor(h, kh, stride[0], padding[0], ho, count_include_pad),
                       _avg_divisor(w, kw, stride[1], padding[1], wo, count_include_pad))
        g = grad / div
    ph, pw = padding
    sh, sw = stride
    hp = max(h + 2 * ph, (ho - 1) * sh + kh)
    wp = max(w + 2 * pw, (wo - 1) * sw + kw)
    gxp = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    for i in range(kh):  # one strided add per kernel tap
        for j in range(kw):
            gxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += g
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w]).astype(grad.dtype, copy=False)


def softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x, dim):
    shifted = x - x.max(axis=dim, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))


NN_KERNELS: dict = {
    "conv2d": conv2d,
    "conv2d_backward": conv2d_backward,
    "max_pool2d": max_pool2d,
    "max_pool2d_backward": max_pool2d_backward,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d_backward": avg_pool2d_backward,
    "softmax": softmax,
    "log_softmax": log_softmax,
}
