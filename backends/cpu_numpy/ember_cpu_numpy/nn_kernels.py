"""Optional fast kernels for nn layers on NumPy (the ``nn`` family of ``ember.kernels``).

Convolution is im2col plus ONE BLAS matmul per pass (batched over groups only, never a Python
loop over the batch or the groups): columns are laid out (C, kh, kw, N, pixels), so the forward,
the weight gradient and the input gradient are each a single (O, C*kh*kw) x (C*kh*kw, N*pixels)
product. Stride-1 convolutions (the common case) use a "wide" im2col: every kernel tap is a
*contiguous* slice of the flattened padded input plane, so building the columns and the col2im of
the input gradient (one add per tap) move long runs of memory; the output is computed on the padded
width and cropped. Other strides use (C, kh, kw, N, Ho, Wo) columns and a col2im that adds each tap
straight into the unpadded input gradient. The weight gradient is computed as (columns @ grad^T)^T,
the faster operand order for OpenBLAS. With numba installed, stride-1 convolutions with at most 8
output channels skip the columns (a compiled loop per pass, see ``_DIRECT_MAX_O``) and the
wide col2im is one compiled loop. Max pooling is a running maximum over the kernel's taps,
first copied in one strided pass into a contiguous (kh*kw, N, C, Ho, Wo) buffer so that the
ufuncs of the running maximum see contiguous operands. Temporaries above 256 KiB come from a small
per-thread buffer cache. The LSTM cell kernels fuse a cell's activations and their gradients.
softmax, log_softmax and relu's backward are ``ember_cpu_numpy.xp_kernels``' (shared with the
cuda backend; relu's backward runs its branch-free NumPy form here).

Example:
    >>> import numpy as np
    >>> x = np.ones((1, 1, 4, 4), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> NN_KERNELS["conv2d"](x, w, None, (1, 1), (0, 0), (1, 1), 1)[0, 0]
    array([[9., 9.],
           [9., 9.]], dtype=float32)
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
from ember.kernels import out_size
from numpy.lib.stride_tricks import as_strided

from ember_cpu_numpy import conv_blocks, lowp, numba_nn, xp_kernels
from ember_cpu_numpy.blas import matmul as _matmul

__all__ = ["NN_KERNELS"]


# ---- kernel-internal scratch buffers -----------------------------------------------------------
_SCRATCH = threading.local()
_SCRATCH_MIN = 256 << 10  # smaller temporaries come from malloc's free lists anyway
_SCRATCH_MAX = 64 << 20  # never keep a single buffer larger than this
_SCRATCH_TOTAL = 128 << 20  # nor more than this per thread (least recently used goes first)


def _scratch(tag: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised buffer for a temporary that never leaves the kernel that asked for it.

    A fresh large array costs a page fault per 4 KiB when first written whenever malloc has
    returned that memory to the kernel (see ``ember_cpu_numpy.malloc``); reusing the buffer of
    the previous call with the same (tag, shape, dtype) avoids that for the largest temporaries
    (im2col columns) whatever the malloc settings.
    """
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes < _SCRATCH_MIN or nbytes > _SCRATCH_MAX:
        return np.empty(shape, dtype)
    cache = getattr(_SCRATCH, "bufs", None)
    if cache is None:
        cache = _SCRATCH.bufs = {}
    key = (tag, shape, dtype.str)
    buf = cache.pop(key, None)
    if buf is None:
        total = sum(b.nbytes for b in cache.values())
        while cache and total + nbytes > _SCRATCH_TOTAL:
            total -= cache.pop(next(iter(cache))).nbytes
        buf = np.empty(shape, dtype)
    cache[key] = buf  # (re)inserted last: the dict's order is least recently used first
    return buf


def _cols_buffer(x, geometry: tuple, shape: tuple, reuse: bool):
    """The scratch buffer for ``x``'s im2col columns and whether it already holds them.

    The forward of a convolution records a copy of its input beside the columns it built; the
    backward (``reuse=True``) skips rebuilding them when its input has the same geometry and
    exactly the same contents (one compare of the input, ~20x smaller than the columns).
    """
    cols = _scratch("cols", shape, x.dtype)
    memo = getattr(_SCRATCH, "cols_of", None)
    if memo is None:
        memo = _SCRATCH.cols_of = {}
    key = (shape, x.dtype.str)
    seen = memo.get(key)
    if (reuse and seen is not None and seen[0] is cols and seen[1] == (x.shape, geometry)
            and np.array_equal(seen[2], x)):
        return cols, True
    snap = np.array(x, copy=True)
    memo[key] = (cols, (x.shape, geometry), snap)
    return cols, False


# ---- shapes ------------------------------------------------------------------------------------
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


def _tap_range(i: int, d: int, s: int, p: int, n: int, o: int) -> tuple:
    """For kernel tap ``i`` along one axis: the output positions [lo, hi) whose input position
    ``o_idx * s + i * d - p`` lies inside [0, n), and the input position of ``lo``."""
    off = i * d - p
    lo = -(off // s) if off < 0 else 0  # ceil(-off / s)
    hi = min(o, (n - 1 - off) // s + 1) if n - 1 - off >= 0 else 0
    hi = max(lo, hi)
    return lo, hi, lo * s + off


# ---- convolution -------------------------------------------------------------------------------
# Columns are laid out (C, kh, kw, N, pixels) so each pass is ONE matmul of the (O, C*kh*kw)
# weight with a (C*kh*kw, N*pixels) matrix (batched over groups only): one BLAS call per kernel
# instead of one per image keeps OpenBLAS's threads busy instead of synchronising N times.
#
# Stride 1 ("wide" layout): with the padded plane flattened (row length Wp), output pixel
# (r, s) of tap (i, j) reads flat position r*Wp + s + i*dh*Wp + j*dw: for a fixed tap that is a
# contiguous run over t = r*Wp + s in [0, Ho*Wp). Columns s >= Wo of that run are garbage; the
# forward crops them off and the backward multiplies them by zero gradients.
#
# With few output channels (LeNet's first layer: 6 of them, 25 taps) the product does only O
# multiply-adds per column element it reads, so it runs at memory speed over the (C*kh*kw, N*pixels)
# columns (5.7 MB there). Such convolutions build the columns a few images at a time (about
# _CHUNK_BYTES each) and multiply each part while it is still in cache (LeNet's first layer:
# 1.6-2.0 -> 1.0-1.3 ms on one core); the parts are small enough for ember_cpu_numpy.blas to keep
# them on one BLAS thread, which also spares a loaded machine the 2-thread product's stalls. The
# whole columns are still written, for the backward to reuse. More output channels make the product compute-bound: there
# the chunks cost more than they save.
_CHUNKED_GEMM_MAX_O = 8
_CHUNK_BYTES = 384 << 10


def _wide_geometry(x_shape, kh, kw, padding, dilation):
    n, c, h, w = x_shape
    hp, wp = h + 2 * padding[0], w + 2 * padding[1]
    ho, wo = hp - dilation[0] * (kh - 1), wp - dilation[1] * (kw - 1)
    flat = hp * wp + (kw - 1) * dilation[1]  # slack so the last tap's garbage run stays in bounds
    return hp, wp, ho, wo, flat


def _wide_padded(x, kh, kw, padding, dilation):
    """(N, C, flat) scratch: each plane of ``x`` zero-padded and flattened, zeros after it (the
    last tap's garbage run reads up to ``flat``)."""
    n, c, h, w = x.shape
    ph, pw = padding
    hp, wp, _, _, flat = _wide_geometry(x.shape, kh, kw, padding, dilation)
    xf = _scratch("xpad", (n, c, flat), x.dtype)
    xf[:, :, hp * wp:] = 0
    plane = xf[:, :, :hp * wp].reshape(n, c, hp, wp)
    if ph or pw:
        plane[:, :, :ph] = 0
        plane[:, :, ph + h:] = 0
        plane[:, :, ph:ph + h, :pw] = 0
        plane[:, :, ph:ph + h, pw + w:] = 0
    plane[:, :, ph:ph + h, pw:pw + w] = x
    return xf


def _wide_offsets(kh, kw, wp, dilation):
    """Where each kernel tap's run starts in a flattened padded plane, taps in (i, j) order."""
    dh, dw = dilation
    return np.array([i * dh * wp + j * dw for i in range(kh) for j in range(kw)], np.int64)


def _wide_cols(x, kh, kw, padding, dilation, reuse=False, each_chunk=None, chunk=0):
    """(C, kh, kw, N, Ho*Wp) columns (a scratch buffer) of the zero-padded, flattened input.

    With ``each_chunk``, the columns are written ``chunk`` images at a time and
    ``each_chunk(part, n0, n1)`` runs on each part (a (C*kh*kw, (n1-n0)*Ho*Wp) view) while it is
    still in cache.
    """
    n, c, h, w = x.shape
    hp, wp, ho, wo, flat = _wide_geometry(x.shape, kh, kw, padding, dilation)
    cols, ready = _cols_buffer(x, ("wide", kh, kw, padding, dilation), (c, kh, kw, n, ho * wp), reuse)
    if ready:
        return cols
    xf = _wide_padded(x, kh, kw, padding, dilation)
    span = ho * wp
    s0, s1, s2 = xf.strides
    win = as_strided(xf, shape=(c, kh, kw, n, span),
                     strides=(s1, dilation[0] * wp * s2, dilation[1] * s2, s0, s2), writeable=False)
    if each_chunk is None:
        np.copyto(cols, win)
        return cols
    for n0 in range(0, n, chunk):
        n1 = min(n, n0 + chunk)
        np.copyto(cols[:, :, :, n0:n1], win[:, :, :, n0:n1])
        each_chunk(cols[:, :, :, n0:n1].reshape(c * kh * kw, (n1 - n0) * span), n0, n1)
    return cols


def _conv2d_wide(x, w, bias, padding, dilation, groups):
    n, c = x.shape[:2]
    o, cg, kh, kw = w.shape
    if groups == 1 and o <= _DIRECT_MAX_O:
        out = _conv2d_wide_direct(x, w, bias, padding, dilation)
        if out is not None:
            return out
    hp, wp, ho, wo, _ = _wide_geometry(x.shape, kh, kw, padding, dilation)
    span = ho * wp
    dtype = np.result_type(x, w)
    out = _scratch("out", (groups, o // groups, n * span), dtype)
    ck = cg * kh * kw
    if groups == 1 and o <= _CHUNKED_GEMM_MAX_O and n > 1:
        w2, out2 = w.reshape(o, ck), out.reshape(o, n * span)

        def gemm(part, n0, n1):
            _matmul(w2, part, out=out2[:, n0 * span:n1 * span])

        chunk = max(1, _CHUNK_BYTES // (ck * span * x.itemsize))
        _wide_cols(x, kh, kw, padding, dilation, each_chunk=gemm, chunk=chunk)
    else:
        cols = _wide_cols(x, kh, kw, padding, dilation)
        _matmul(w.reshape(groups, o // groups, ck), cols.reshape(groups, ck, n * span), out=out)
    return _with_bias(out.reshape(o, n, ho, wp)[:, :, :, :wo].transpose(1, 0, 2, 3), bias, dtype)


# With numba (``numba_nn.conv_loops``), convolutions with few output channels skip the columns
# altogether: a compiled loop adds each tap's contiguous run of the padded plane into an output
# row that stays in L1 (``_numba_nn_loops.conv_wide_*``), and the backward does the same for the
# input's and the weight's gradients. Such a product does only O multiply-adds per column element,
# so the columns' trip through memory (write, then read by the GEMM) cost more than the
# arithmetic; past ~8 output channels the GEMM's arithmetic wins. The loops keep four output rows
# (or four taps) in registers per pass. LeNet's first layer (1 -> 6 channels, 5x5, batch 64) on
# the 2-core VM, forward and weight gradient: 1.00 + 1.18 ms -> 0.52 + 0.57 ms, single-threaded.
# With 16 output channels (LeNet's second layer) the direct forward still wins (1.31 -> 0.82 ms)
# but its backward loses more (weight gradient 0.67 -> 1.16 ms, input gradient 0.95 -> 1.14), so
# the whole layer stays on the GEMM; measured with 3-32 input channels and 1x1 to 5x5 kernels, a
# forward plus both gradients is faster direct at every O <= 8. From 9 to 32 output channels the
# forward and the weight gradient run as register blocks instead (``conv_blocks``), the input
# gradient on the GEMM path.
_DIRECT_MAX_O = 8


def _conv2d_wide_direct(x, w, bias, padding, dilation):
    lp = numba_nn.conv_loops(x, w, *(() if bias is None else (bias,)))
    if lp is None:
        return None
    n, c = x.shape[:2]
    o, _, kh, kw = w.shape
    _, wp, ho, wo, _ = _wide_geometry(x.shape, kh, kw, padding, dilation)
    b = np.zeros(o, x.dtype) if bias is None else np.ascontiguousarray(bias)
    res = np.empty((n, o, ho, wo), x.dtype)
    lp.conv_wide_forward(_wide_padded(x, kh, kw, padding, dilation), np.ascontiguousarray(w).reshape(o, c, kh * kw),
                         b, _wide_offsets(kh, kw, wp, dilation), ho * wp, wp, res)
    return res


def _conv2d_backward_wide_direct(grad, x, w, padding, dilation, needs):
    lp = numba_nn.conv_loops(grad, x, w)
    if lp is None:
        return None
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    hp, wp, ho, wo, flat = _wide_geometry(x.shape, kh, kw, padding, dilation)
    span, offs = ho * wp, _wide_offsets(kh, kw, wp, dilation)
    g = np.ascontiguousarray(grad)  # the loops lay each image's rows out wide themselves
    gx = gw = None
    if needs[1]:
        acc = np.zeros((o, c, kh * kw))
        lp.conv_wide_weight_grad(_wide_padded(x, kh, kw, padding, dilation), g, offs, span, wp, acc)
        gw = acc.astype(w.dtype).reshape(w.shape)
    if needs[0]:
        gxf = _scratch("gxpad-direct", (n, c, flat), x.dtype)
        gxf.fill(0)
        lp.conv_wide_input_grad(g, np.ascontiguousarray(w).reshape(o, c, kh * kw), offs, span, wp, gxf)
        ph, pw = padding
        gx = np.empty(x.shape, x.dtype)
        np.copyto(gx, gxf[:, :, :hp * wp].reshape(n, c, hp, wp)[:, :, ph:ph + h, pw:pw + wd])
    return gx, gw


def _conv2d_backward_wide(grad, x, w, padding, dilation, groups, needs):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    if groups == 1 and o <= _DIRECT_MAX_O:
        grads = _conv2d_backward_wide_direct(grad, x, w, padding, dilation, needs)
        if grads is not None:
            return grads
    hp, wp, ho, wo, flat = _wide_geometry(x.shape, kh, kw, padding, dilation)
    span = ho * wp
    og, ck = o // groups, cg * kh * kw
    gwide = _scratch("gwide", (o, n, ho, wp), grad.dtype)
    gwide[:, :, :, wo:] = 0  # the garbage columns must contribute nothing
    gwide[:, :, :, :wo] = grad.transpose(1, 0, 2, 3)
    g = gwide.reshape(groups, og, n * span)
    gx = gw = None
    if needs[1]:
        cols = _wide_cols(x, kh, kw, padding, dilation, reuse=True).reshape(groups, ck, n * span)
        gw = _weight_grad(g, cols, w)
    if needs[0]:
        dcols = _scratch("dcols", (groups, ck, n * span), np.result_type(grad, w))
        _matmul(w.reshape(groups, og, ck).transpose(0, 2, 1), g, out=dcols)
        gxf = _scratch("gxpad", (c, n, flat), x.dtype)
        gxf.fill(0)
        lp = numba_nn.conv_loops(dcols, gxf)
        if lp is not None:  # col2im as one loop, each (c, n) plane in L1 while its taps add in
            lp.col2im_wide(dcols.reshape(c, kh * kw, n, span), _wide_offsets(kh, kw, wp, dilation), span, gxf)
        else:
            dcols = dcols.reshape(c, kh, kw, n, span)
            dh, dw = dilation
            for i in range(kh):  # col2im: one add of contiguous runs per kernel tap
                for j in range(kw):
                    off = i * dh * wp + j * dw
                    gxf[:, :, off:off + span] += dcols[:, i, j]
        ph, pw = padding
        plane = gxf[:, :, :hp * wp].reshape(c, n, hp, wp)[:, :, ph:ph + h, pw:pw + wd]
        gx = np.empty(x.shape, x.dtype)
        np.copyto(gx, plane.transpose(1, 0, 2, 3))
    return gx, gw


# Any stride: (C, kh, kw, N, Ho, Wo) columns; col2im adds each tap into the unpadded gradient.
def _strided_cols(x, kh, kw, ho, wo, stride, padding, dilation, reuse=False):
    cols, ready = _cols_buffer(x, ("strided", kh, kw, stride, padding, dilation),
                               (x.shape[1], kh, kw, x.shape[0], ho, wo), reuse)
    if ready:
        return cols
    xp = _pad(x, padding[0], padding[1])
    sn, sc, sh, sw = xp.strides
    win = as_strided(xp, shape=(x.shape[1], kh, kw, x.shape[0], ho, wo),
                     strides=(sc, sh * dilation[0], sw * dilation[1], sn, sh * stride[0], sw * stride[1]),
                     writeable=False)
    np.copyto(cols, win)
    return cols


def _conv2d_strided(x, w, bias, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho = out_size(h, kh, stride[0], padding[0], dilation[0])
    wo = out_size(wd, kw, stride[1], padding[1], dilation[1])
    cols = _strided_cols(x, kh, kw, ho, wo, stride, padding, dilation)
    dtype = np.result_type(x, w)
    out = _scratch("out", (groups, o // groups, n * ho * wo), dtype)
    _matmul(w.reshape(groups, o // groups, cg * kh * kw), cols.reshape(groups, cg * kh * kw, n * ho * wo), out=out)
    return _with_bias(out.reshape(o, n, ho, wo).transpose(1, 0, 2, 3), bias, dtype)


def _weight_grad(g, cols, w):
    """The weight gradient ``g @ cols^T`` per group, computed as ``(cols @ g^T)^T``: OpenBLAS runs the
    (C*kh*kw, pixels) x (pixels, O) product 1.5-2x faster than the (O, pixels) x (pixels, C*kh*kw)
    one for LeNet's shapes (the same dot products; the (O, C*kh*kw) result is tiny to transpose)."""
    return np.ascontiguousarray(_matmul(cols, g.transpose(0, 2, 1)).transpose(0, 2, 1), w.dtype).reshape(w.shape)


def _with_bias(out, bias, dtype):
    """A fresh C-contiguous (N, O, H, W) copy of the GEMM's (scratch) output, plus the bias."""
    res = np.empty(out.shape, dtype)
    if bias is not None:
        np.add(out, bias.reshape(-1, 1, 1), out=res)
    else:
        np.copyto(res, out)
    return res


def _conv2d_backward_strided(grad, x, w, stride, padding, dilation, groups, needs):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    ho, wo = grad.shape[2], grad.shape[3]
    og, ck = o // groups, cg * kh * kw
    gt = _scratch("gwide", (o, n, ho, wo), grad.dtype)
    np.copyto(gt, grad.transpose(1, 0, 2, 3))
    g = gt.reshape(groups, og, n * ho * wo)
    gx = gw = None
    if needs[1]:
        cols = _strided_cols(x, kh, kw, ho, wo, stride, padding, dilation, reuse=True).reshape(groups, ck,
                                                                                               n * ho * wo)
        gw = _weight_grad(g, cols, w)
    if needs[0]:
        dcols = _scratch("dcols", (groups, ck, n * ho * wo), np.result_type(grad, w))
        _matmul(w.reshape(groups, og, ck).transpose(0, 2, 1), g, out=dcols)
        dcols = dcols.reshape(c, kh, kw, n, ho, wo)
        gx = np.zeros(x.shape, dtype=x.dtype)
        (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
        for i in range(kh):  # col2im: one strided add per kernel tap, clipped to the input
            r0, r1, xr = _tap_range(i, dh, sh, ph, h, ho)
            if r1 == r0:
                continue
            for j in range(kw):
                c0, c1, xc = _tap_range(j, dw, sw, pw, wd, wo)
                if c1 == c0:
                    continue
                gx[:, :, xr:xr + sh * (r1 - r0 - 1) + 1:sh, xc:xc + sw * (c1 - c0 - 1) + 1:sw] += \
                    dcols[:, i, j, :, r0:r1, c0:c1].transpose(1, 0, 2, 3)
    return gx, gw


def conv2d(x, w, bias, stride, padding, dilation, groups):
    if conv_blocks.applies(x, w, stride, padding, dilation, groups):  # 9-32 channels: register blocks
        return conv_blocks.conv2d(x, w, bias, padding)
    if tuple(stride) == (1, 1):
        return _conv2d_wide(x, w, bias, padding, dilation, groups)
    return _conv2d_strided(x, w, bias, stride, padding, dilation, groups)


def conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs):
    gx = gw = gb = None
    if needs[1] and conv_blocks.applies(x, w, stride, padding, dilation, groups):
        # the weight's gradient from register blocks; the input's (if needed) from the GEMM path,
        # which needs no columns of x for it
        gw = conv_blocks.weight_grad(grad, x, w, padding)
    gemm_needs = (needs[0], needs[1] and gw is None, needs[2])
    if gemm_needs[0] or gemm_needs[1]:
        if tuple(stride) == (1, 1):
            gx, gemm_gw = _conv2d_backward_wide(grad, x, w, padding, dilation, groups, gemm_needs)
        else:
            gx, gemm_gw = _conv2d_backward_strided(grad, x, w, stride, padding, dilation, groups, gemm_needs)
        gw = gemm_gw if gemm_needs[1] else gw
    if needs[2]:
        # the images' planes added first (contiguous whole-plane adds), then each channel's plane:
        # half the time of one reduction over axes (0, 2, 3), and fewer roundings per sum
        n, o, h, w_ = grad.shape
        gb = grad.sum(axis=0).reshape(o, h * w_).sum(axis=1).astype(grad.dtype, copy=False)
    return gx, gw, gb


# ---- pooling -----------------------------------------------------------------------------------
def _pool_taps(xp, kh, kw, ho, wo, stride, dilation):
    """The (Ho, Wo) views of padded ``xp`` at each kernel tap, copied into one contiguous
    (kh*kw, N, C, Ho, Wo) scratch buffer when that is at most 64 MiB: the copy is one strided pass,
    and the running maximum's 3 ufuncs per tap then run on contiguous operands (SIMD, ~0.1 ns an
    element instead of ~1 ns on a stride-2 view)."""
    (sh, sw), (dh, dw) = stride, dilation
    n, c = xp.shape[:2]
    shape = (kh, kw, n, c, ho, wo)
    if math.prod(shape) * xp.itemsize > _SCRATCH_MAX:
        return [xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                for i in range(kh) for j in range(kw)]
    sn, sc, s0, s1 = xp.strides
    buf = _scratch("pooltaps", shape, xp.dtype)
    np.copyto(buf, as_strided(xp, shape=shape, strides=(s0 * dh, s1 * dw, sn, sc, s0 * sh, s1 * sw), writeable=False))
    return buf.reshape((kh * kw,) + shape[2:])


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    n, c, h, w = x.shape
    kh, kw = kernel
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    ho = out_size(h, kh, sh, ph, dh, ceil_mode)
    wo = out_size(w, kw, sw, pw, dw, ceil_mode)
    extra_h = max(0, (ho - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (wo - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
    fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xp = _pad(x, ph, pw, fill, extra_h, extra_w)
    taps = _pool_taps(xp, kh, kw, ho, wo, stride, dilation)
    # Running maximum; k = the last tap that raised it strictly = the first maximal tap (argmax).
    out = taps[0].copy()
    k = np.zeros(out.shape, np.uint8 if len(taps) < 256 else np.int64)
    up = np.empty(out.shape, np.bool_)
    upk = up.view(np.uint8) if k.dtype == np.uint8 else up
    for t in range(1, len(taps)):
        np.greater(taps[t], out, out=up)
        np.maximum(out, taps[t], out=out)  # NaN propagates into out (not into up)
        np.maximum(k, upk * k.dtype.type(t), out=k)
    if x.dtype.kind == "f":
        nan = np.isnan(out)
        if nan.any():  # a window with NaNs: its last NaN is the maximum (PyTorch's pooling rule)
            for t in range(len(taps)):
                np.copyto(k, t, where=nan & np.isnan(taps[t]), casting="unsafe")
    offs = np.array([i * dh * w + j * dw for i in range(kh) for j in range(kw)], np.int64)
    rows0 = np.arange(ho, dtype=np.int64) * sh - ph  # each window's first row and column (maybe padding)
    cols0 = np.arange(wo, dtype=np.int64) * sw - pw
    idx = np.take(offs, k)
    idx += rows0[:, None] * w + cols0
    if ph or pw or extra_h or extra_w:
        _first_real_tap(idx, k, rows0, cols0, kw, dh, dw, h, w)
    return out, idx


def _first_real_tap(idx, k, rows0, cols0, kw, dh, dw, h, w):
    """A window whose real values all equal the padding value (-inf, or the integer minimum) ties
    with its padding, and the first maximal tap may then be a padding position: an index outside
    the input, whose gradient would land on another element. PyTorch never picks padding: such a
    window's index is its first real position. Fix those indices in place."""
    ki, kj = np.divmod(k, kw)
    r = rows0[:, None] + ki.astype(np.int64) * dh
    c = cols0[None, :] + kj.astype(np.int64) * dw
    bad = (r < 0) | (r >= h) | (c < 0) | (c >= w)
    if bad.any():
        first_r = np.where(rows0 < 0, rows0 + (-rows0 + dh - 1) // dh * dh, rows0)
        first_c = np.where(cols0 < 0, cols0 + (-cols0 + dw - 1) // dw * dw, cols0)
        np.copyto(idx, np.broadcast_to(first_r[:, None] * w + first_c, idx.shape), where=bad)


def max_pool2d_backward(grad, idx, input_shape):
    n, c, h, w = input_shape
    plane = h * w
    flat = idx.reshape(n * c, -1) + (np.arange(n * c, dtype=np.int64) * plane)[:, None]
    out = np.zeros(n * c * plane, dtype=grad.dtype)
    np.add.at(out, flat.ravel(), np.ascontiguousarray(grad).ravel())  # overlapping windows accumulate
    return out.reshape(input_shape)


def _avg_divisor(size, k, s, p, o, count_include_pad):
    start = np.arange(o) * s - p
    end = np.minimum(start + k, size + p)
    if count_include_pad:
        return end - start
    return np.minimum(end, size) - np.maximum(start, 0)


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    kh, kw = kernel
    ho = out_size(h, kh, stride[0], padding[0], 1, ceil_mode)
    wo = out_size(w, kw, stride[1], padding[1], 1, ceil_mode)
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
    if (sh, sw) == (kh, kw) and (ph, pw) == (0, 0) and (ho * kh, wo * kw) == (h, w):
        # windows that tile the input (pooling over a whole axis, say): each input element is in
        # exactly one window, so one broadcast pass instead of kh * kw strided adds (+ 0.0 makes
        # -0.0 the +0.0 that the adds into zeros give)
        gx = np.empty((n, c, ho, kh, wo, kw), grad.dtype)
        g = g.astype(grad.dtype, copy=False)  # rounded once, as the adds below round it
        np.add(g[:, :, :, None, :, None], grad.dtype.type(0), out=gx)
        return gx.reshape(n, c, h, w)
    hp = max(h + 2 * ph, (ho - 1) * sh + kh)
    wp = max(w + 2 * pw, (wo - 1) * sw + kw)
    gxp = np.zeros((n, c, hp, wp), dtype=grad.dtype)
    for i in range(kh):  # one strided add per kernel tap
        for j in range(kw):
            gxp[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw] += g
    return np.ascontiguousarray(gxp[:, :, ph:ph + h, pw:pw + w]).astype(grad.dtype, copy=False)


# ---- cross-entropy with class indices (log_softmax + NLL in one pass) ---------------------------
def cross_entropy(x, target, weight, ignore_index, reduction):
    n, c = x.shape
    acc = x.astype(np.float32) if x.dtype == np.float16 else x  # half accumulates in float, as PyTorch
    rows = np.arange(n)
    ignored = target == ignore_index
    valid = ~ignored & (target >= 0) & (target < c)
    n_invalid = n - int(np.count_nonzero(ignored)) - int(np.count_nonzero(valid))
    safe = np.where(valid, target, 0)
    parts = numba_nn.row_logsumexp(acc)  # one compiled loop over the rows, when it applies
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):  # inf/NaN logits give NaN, as in PyTorch
        if parts is None:
            m = acc.max(axis=1)
            log_s = np.log(np.exp(acc - m[:, None]).sum(axis=1))
        else:
            m, log_s = (p.astype(acc.dtype) for p in parts)
        lse = m + log_s
        w = valid.astype(acc.dtype) if weight is None else np.where(valid, weight.astype(acc.dtype)[safe], 0)
        # (x_t - m) - log_s, as PyTorch's log_softmax: x_t - lse rounds lse to the logits' scale first,
        # which loses a small loss next to large logits (1e-4 relative at logits ~400 in float32)
        loss = np.where(valid, -w * ((acc[rows, safe] - m) - log_s), 0).astype(acc.dtype, copy=False)
        w_sum = w.sum(dtype=acc.dtype)
        if reduction == "none":
            out = loss
        elif reduction == "sum":
            out = loss.sum(dtype=acc.dtype)
        else:
            out = loss.sum(dtype=acc.dtype) / w_sum
    dt = x.dtype
    return (np.asarray(out).astype(dt), lse.astype(dt), w.astype(dt), np.asarray(w_sum).astype(dt),
            np.asarray(n_invalid, dtype=np.int64))


def cross_entropy_backward(grad, x, target, lse, w, w_sum, reduction):
    n, c = x.shape
    acc_t = np.float32 if x.dtype == np.float16 else x.dtype
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        coef = w.astype(acc_t) * grad.astype(acc_t)  # grad is (N,) for 'none', else 0-d
        if reduction == "mean":
            coef = coef / w_sum.astype(acc_t)
        # softmax from x itself, as PyTorch: exp(x - lse) carries lse's rounding at the logits' scale
        # (1e-5 relative at logits ~400 in float32); the saved lse only serves backends that need it
        xa = x.astype(acc_t)
        g = numba_nn.softmax_minus_target(xa, target, np.broadcast_to(coef, (n,)))
        if g is None:
            g = np.exp(xa - xa.max(axis=1, keepdims=True))
            g /= g.sum(axis=1, keepdims=True)
            hit = (target >= 0) & (target < c)  # rows whose target is a class (ignored rows have w = 0)
            g[np.arange(n)[hit], target[hit]] -= 1
            g *= coef[:, None]
    return g.astype(x.dtype, copy=False)


# ---- softmax's and log_softmax's gradients -----------------------------------------------------------
# (float16/bfloat16 arrive widened to float32: ``lowp``)
def softmax_backward(grad, out, dim):
    res = grad - (grad * out).sum(axis=dim, keepdims=True)
    res *= out
    return res


def log_softmax_backward(grad, out, dim):
    with np.errstate(over="ignore"):
        return grad - np.exp(out) * grad.sum(axis=dim, keepdims=True)


# ---- LSTM cell --------------------------------------------------------------------------------
def _sigmoid_into(x, out):
    """out = 1 / (1 + exp(-x)) in place (exp overflows to inf for x << 0, giving exactly 0)."""
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)
    return out


def _rows(x, width: int):
    """``x`` as a 2-D array of rows (a view when it can be): NumPy loops over 2-D arrays and over
    whole contiguous arrays cost less per call than over stacks of strided blocks."""
    return x.reshape(-1, width)


def lstm_cell(gates, c):
    lead = gates.shape[:-1]
    h4 = gates.shape[-1]
    hs = h4 // 4
    g2 = _rows(gates, h4)
    # all four blocks' sigmoid into one contiguous array (the g block's is replaced by its tanh):
    # one pass over whole arrays is half the time of two passes over strided views
    s = _sigmoid_into(g2, np.empty(g2.shape, g2.dtype))
    np.tanh(g2[:, 2 * hs:3 * hs], out=s[:, 2 * hs:3 * hs])
    acts = np.empty((g2.shape[0], 5 * hs), dtype=gates.dtype)
    acts[:, :h4] = s
    i, f, g, o = (s[:, k * hs:(k + 1) * hs] for k in range(4))
    c_new = np.multiply(f, _rows(c, hs))
    c_new += i * g
    tc = np.tanh(c_new, out=acts[:, h4:])
    return (np.multiply(o, tc).reshape(lead + (hs,)), c_new.reshape(lead + (hs,)),
            acts.reshape(lead + (5 * hs,)))


def lstm_cell_backward(dh, dc, acts, c):
    lead = acts.shape[:-1]
    hs = acts.shape[-1] // 5
    a2 = _rows(acts, 5 * hs)
    dh, dc, c = _rows(dh, hs), _rows(dc, hs), _rows(c, hs)
    # the five blocks as one (5, rows, H) copy: every pass below then runs over whole contiguous
    # arrays, twice as fast as over H-wide strided views of acts
    blocks = np.ascontiguousarray(a2.reshape(a2.shape[0], 5, hs).transpose(1, 0, 2))
    i, f, g, o, tc = blocks
    dct = np.multiply(tc, tc)  # dc + dh * o * (1 - tanh(c_new)^2)
    np.subtract(1, dct, out=dct)
    dct *= o
    dct *= dh
    dct += dc
    d = np.subtract(1, blocks[:4])  # s(1 - s) for every block; the g block's is replaced by 1 - g^2
    d *= blocks[:4]
    di, df, dg, do = d
    np.multiply(g, g, out=dg)
    np.subtract(1, dg, out=dg)
    di *= g  # dct * g * i(1-i)
    df *= c  # dct * c * f(1-f)
    dg *= i  # dct * i * (1 - g^2)
    d[:3] *= dct
    do *= tc  # dh * tanh(c_new) * o * (1 - o)
    do *= dh
    dgates = d.transpose(1, 0, 2).reshape(lead + (4 * hs,))
    return dgates, np.multiply(dct, f, out=dct).reshape(lead + (hs,))


NN_KERNELS: dict = numba_nn.prefer_loops({
    "conv2d": conv2d,
    "conv2d_backward": conv2d_backward,
    "max_pool2d": max_pool2d,
    "max_pool2d_backward": max_pool2d_backward,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d_backward": avg_pool2d_backward,
    # softmax, log_softmax, relu_backward (shared with the cuda backend; relu_backward branch-free here)
    **xp_kernels.nn_kernels(np, branchless_where=True),
    "cross_entropy": cross_entropy,
    "cross_entropy_backward": cross_entropy_backward,
    "lstm_cell": lstm_cell,
    "lstm_cell_backward": lstm_cell_backward,
    "softmax_backward": softmax_backward,
    "log_softmax_backward": log_softmax_backward,
})


def _lowp_log_softmax(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with PyTorch 2.13's 16-bit rounding: float32 math rounded once, except over the last
    dimension, where its kernel (``vec_log_softmax_lastdim``) stores each row's exp-sum and then
    that sum's log in the 16-bit type before rounding ``x - max - log(sum)``."""
    in_f32 = lowp.in_float32(fn)

    @functools.wraps(fn)  # (``__wrapped__``: the table still leads to the shared kernel)
    def log_softmax(x: Any, dim: int) -> Any:
        dt = x.dtype
        if dt.itemsize != 2:  # one test on the float32/float64 path (only float16/bfloat16 have 2 bytes here)
            return fn(x, dim)
        if not x.ndim or not x.size or dim % x.ndim != x.ndim - 1:
            return in_f32(x, dim)
        acc = x.astype(np.float32)
        shifted = acc - acc.max(axis=-1, keepdims=True)
        total = np.exp(shifted).sum(axis=-1, keepdims=True, dtype=np.float32).astype(dt).astype(np.float32)
        shifted -= np.log(total).astype(dt).astype(np.float32)
        return shifted.astype(dt)

    return lowp.handles_low_precision(log_softmax)


NN_KERNELS["log_softmax"] = _lowp_log_softmax(NN_KERNELS["log_softmax"])
