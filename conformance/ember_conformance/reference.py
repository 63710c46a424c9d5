"""NumPy references written from the definitions (never calling ember), for the op table.

Example:
    >>> import numpy as np
    >>> from ember_conformance.reference import softmax
    >>> softmax(np.zeros((1, 4)), 1).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["erf", "sigmoid", "softmax", "log_softmax", "cross_entropy", "cross_entropy_backward", "conv2d", "conv2d_backward", "max_pool2d",
           "max_pool2d_backward", "avg_pool2d", "avg_pool2d_backward", "mix64", "random_bits",
           "rand_uniform", "rand_normal", "rand_int", "gelu", "gelu_backward", "layer_norm",
           "layer_norm_backward", "lstm_cell", "lstm_cell_backward", "lstm_layer", "lstm_layer_backward",
           "softmax_backward", "log_softmax_backward"]

_MASK = (1 << 64) - 1


def erf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.array([math.erf(v) for v in x.ravel()], dtype=np.float64).reshape(x.shape)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def layer_norm(x: np.ndarray, ndim: int, weight: np.ndarray | None, bias: np.ndarray | None,
               eps: float) -> tuple:
    """(out, mean, rstd) from the definition, in float64."""
    axes = tuple(range(x.ndim - ndim, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)
    out = (x - mean) * rstd
    out = out * weight if weight is not None else out
    return (out + bias if bias is not None else out), mean, rstd


def layer_norm_backward(grad: np.ndarray, x: np.ndarray, mean: np.ndarray, rstd: np.ndarray,
                        weight: np.ndarray | None, ndim: int, needs: tuple) -> tuple:
    """(gx, gw, gb) by differentiating :func:`layer_norm` by hand (mean and rstd recomputed from x)."""
    axes = tuple(range(x.ndim - ndim, x.ndim))
    lead = tuple(range(x.ndim - ndim))
    _, mean, rstd = layer_norm(x, ndim, None, None, 1e-5)
    xhat = (x - mean) * rstd
    dy = grad * weight if weight is not None else grad
    gx = rstd * (dy - dy.mean(axis=axes, keepdims=True) - xhat * (dy * xhat).mean(axis=axes, keepdims=True))
    return (gx if needs[0] else None, (grad * xhat).sum(axis=lead) if needs[1] else None,
            grad.sum(axis=lead) if needs[2] else None)


def gelu_backward(grad: np.ndarray, x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """grad * gelu'(x), differentiated by hand from :func:`gelu`."""
    if approximate == "tanh":
        k = math.sqrt(2.0 / math.pi)
        t = np.tanh(k * (x + 0.044715 * x ** 3))
        return grad * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3 * 0.044715 * x * x))
    return grad * (0.5 * (1.0 + erf(x / math.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi))


def lstm_cell(gates: np.ndarray, c: np.ndarray) -> tuple:
    """PyTorch's LSTM cell equations (gate order i, f, g, o); acts = [i, f, g, o, tanh(c_new)]."""
    i, f, g, o = np.split(gates, 4, axis=-1)
    i, f, g, o = sigmoid(i), sigmoid(f), np.tanh(g), sigmoid(o)
    c_new = f * c + i * g
    h = o * np.tanh(c_new)
    return h, c_new, np.concatenate([i, f, g, o, np.tanh(c_new)], axis=-1)


def lstm_cell_backward(dh: np.ndarray, dc: np.ndarray, acts: np.ndarray, c: np.ndarray) -> tuple:
    """The chain rule through :func:`lstm_cell`, written out term by term."""
    i, f, g, o, tc = np.split(acts, 5, axis=-1)
    dc_total = dc + dh * o * (1 - tc ** 2)
    d_i = dc_total * g * i * (1 - i)
    d_f = dc_total * c * f * (1 - f)
    d_g = dc_total * i * (1 - g ** 2)
    d_o = dh * tc * o * (1 - o)
    return np.concatenate([d_i, d_f, d_g, d_o], axis=-1), dc_total * f


def softmax_backward(grad: np.ndarray, out: np.ndarray, dim: int) -> np.ndarray:
    """d softmax: the Jacobian diag(y) - y y^T applied to grad along ``dim``."""
    return out * (grad - (grad * out).sum(axis=dim, keepdims=True))


def log_softmax_backward(grad: np.ndarray, out: np.ndarray, dim: int) -> np.ndarray:
    """d log_softmax: grad minus softmax times the sum of grad along ``dim``."""
    return grad - np.exp(out) * grad.sum(axis=dim, keepdims=True)


def _lstm_time(d: int, s: int, t_len: int) -> int:
    return s if d == 0 else t_len - 1 - s  # direction 1 runs backwards in time


def lstm_layer(xproj: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_hh: np.ndarray, bias=None) -> tuple:
    """A whole layer from :func:`lstm_cell`, one direction and one step at a time:
    (out (T, B, D*H), h_n, c_n, acts (T, D, B, 5H), c_prev (T, D, B, H))."""
    t_len, batch, ndir, g4 = xproj.shape
    hs = g4 // 4
    out = np.zeros((t_len, batch, ndir * hs))
    acts, c_prev = np.zeros((t_len, ndir, batch, 5 * hs)), np.zeros((t_len, ndir, batch, hs))
    h_n, c_n = np.zeros(h0.shape), np.zeros(c0.shape)
    for d in range(ndir):
        h, c = h0[d], c0[d]
        for s in range(t_len):
            t = _lstm_time(d, s, t_len)
            c_prev[s, d] = c
            gates = xproj[t, :, d] + h @ w_hh[d].T + (0.0 if bias is None else bias[d])
            h, c, acts[s, d] = lstm_cell(gates, c)
            out[t, :, d * hs:(d + 1) * hs] = h
        h_n[d], c_n[d] = h, c
    return out, h_n, c_n, acts, c_prev


def lstm_layer_backward(dout, dh_n, dc_n, acts, c_prev, h0, w_hh) -> tuple:
    """The chain rule through :func:`lstm_layer`, step by step in reverse:
    (dxproj (T, B, D, 4H), dh0, dc0, dw_hh, dbias (D, 4H))."""
    t_len, ndir, batch, h5 = acts.shape
    hs = h5 // 5
    dxproj = np.zeros((t_len, batch, ndir, 4 * hs))
    dh0, dc0, dw = np.zeros(h0.shape), np.zeros(h0.shape), np.zeros(w_hh.shape)
    for d in range(ndir):
        dh = np.zeros((batch, hs)) if dh_n is None else dh_n[d]
        dc = np.zeros((batch, hs)) if dc_n is None else dc_n[d]
        for s in range(t_len - 1, -1, -1):
            t = _lstm_time(d, s, t_len)
            if dout is not None:
                dh = dh + dout[t, :, d * hs:(d + 1) * hs]
            dg, dc = lstm_cell_backward(dh, dc, acts[s, d], c_prev[s, d])
            dxproj[t, :, d] = dg
            h_in = h0[d] if s == 0 else acts[s - 1, d, :, 3 * hs:4 * hs] * acts[s - 1, d, :, 4 * hs:]  # o * tanh(c)
            dw[d] += dg.T @ h_in
            dh = dg @ w_hh[d]
        dh0[d], dc0[d] = dh, dc
    return dxproj, dh0, dc0, dw, dxproj.sum(axis=(0, 1))


def softmax(x: np.ndarray, dim: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def log_softmax(x: np.ndarray, dim: int) -> np.ndarray:
    s = x - x.max(axis=dim, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=dim, keepdims=True))


def cross_entropy(x: np.ndarray, target: np.ndarray, weight: np.ndarray | None, ignore_index: int,
                  reduction: str) -> tuple:
    """(loss, lse, w, w_sum) of log_softmax + NLL with class indices, row by row from the definitions."""
    n, c = x.shape
    lse, w, loss = np.zeros(n), np.zeros(n), np.zeros(n)
    for i in range(n):
        m = x[i].max()
        lse[i] = m + math.log(np.exp(x[i] - m).sum())
        if target[i] != ignore_index:
            w[i] = 1.0 if weight is None else weight[target[i]]
            loss[i] = -w[i] * (x[i, target[i]] - lse[i])
    with np.errstate(divide="ignore", invalid="ignore"):  # every row ignored: 'mean' is 0/0 = NaN, as in PyTorch
        total = {"none": loss, "sum": loss.sum(), "mean": loss.sum() / w.sum()}[reduction]
    return total, lse, w, w.sum()


def cross_entropy_backward(grad: np.ndarray, x: np.ndarray, target: np.ndarray, w: np.ndarray,
                           w_sum: float, reduction: str) -> np.ndarray:
    """d loss / d x: w_i g_i (softmax(x_i) - onehot(t_i)), g_i the incoming gradient of row i."""
    n, c = x.shape
    with np.errstate(divide="ignore", invalid="ignore"):  # w_sum = 0 under 'mean': NaN, as the forward
        g = np.broadcast_to(grad, (n,)) / (w_sum if reduction == "mean" else 1.0)
        out = softmax(x, 1)
        for i in range(n):
            if 0 <= target[i] < c:
                out[i, target[i]] -= 1.0
            out[i] *= w[i] * g[i]
    return out


# ---- convolution through explicit patches ---------------------------------------------------
def _out_size(size: int, k: int, s: int, p: int, d: int, ceil: bool = False) -> int:
    span = size + 2 * p - d * (k - 1) - 1
    if ceil:
        out = -(-span // s) + 1
        if (out - 1) * s >= size + p:  # PyTorch: the last window must start inside the input
            out -= 1
        return out
    return span // s + 1


def _patch_index(h, w, kh, kw, stride, padding, dilation):
    oh = _out_size(h, kh, stride[0], padding[0], dilation[0])
    ow = _out_size(w, kw, stride[1], padding[1], dilation[1])
    rows = (np.arange(oh)[:, None] * stride[0] + np.arange(kh)[None, :] * dilation[0])  # (oh, kh)
    cols = (np.arange(ow)[:, None] * stride[1] + np.arange(kw)[None, :] * dilation[1])  # (ow, kw)
    return oh, ow, rows, cols


def conv2d(x, w, bias, stride, padding, dilation, groups):
    """NCHW cross-correlation, computed as a sum over kernel taps (float64)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh, ow, rows, cols = _patch_index(h, wd, kh, kw, stride, padding, dilation)
    # patches[n, c, oh, ow, kh, kw]
    patches = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    fg = f // groups
    out = np.zeros((n, f, oh, ow))
    for g in range(groups):
        pg = patches[:, g * cg:(g + 1) * cg]
        wg = w[g * fg:(g + 1) * fg]
        out[:, g * fg:(g + 1) * fg] = np.einsum("ncijkl,fckl->nfij", pg, wg)
    if bias is not None:
        out += bias[None, :, None, None]
    return out


def conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs):
    """Exact gradients of :func:`conv2d` (it is linear in x and in w)."""
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    oh, ow, rows, cols = _patch_index(h, wd, kh, kw, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    patches = xp[:, :, rows[:, None, :, None], cols[None, :, None, :]]
    fg = f // groups
    gx = gw = gb = None
    if needs[0]:
        gpatch = np.zeros(patches.shape)
        for g in range(groups):
            gpatch[:, g * cg:(g + 1) * cg] = np.einsum("nfij,fckl->ncijkl", grad[:, g * fg:(g + 1) * fg],
                                                      w[g * fg:(g + 1) * fg])
        gxp = np.zeros(xp.shape)
        np.add.at(gxp, (slice(None), slice(None), rows[:, None, :, None], cols[None, :, None, :]), gpatch)
        gx = gxp[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]
    if needs[1]:
        gw = np.zeros(w.shape)
        for g in range(groups):
            gw[g * fg:(g + 1) * fg] = np.einsum("nfij,ncijkl->fckl", grad[:, g * fg:(g + 1) * fg],
                                               patches[:, g * cg:(g + 1) * cg])
    if needs[2]:
        gb = grad.sum(axis=(0, 2, 3))
    return gx, gw, gb


def _pool_windows(h, w, kernel, stride, padding, dilation, ceil_mode):
    oh = _out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    for i in range(oh):
        for j in range(ow):
            r = [i * stride[0] - padding[0] + a * dilation[0] for a in range(kernel[0])]
            c = [j * stride[1] - padding[1] + b * dilation[1] for b in range(kernel[1])]
            yield i, j, r, c
    return oh, ow


def max_pool2d(x, kernel, stride, padding, dilation, ceil_mode):
    n, c, h, w = x.shape
    oh = _out_size(h, kernel[0], stride[0], padding[0], dilation[0], ceil_mode)
    ow = _out_size(w, kernel[1], stride[1], padding[1], dilation[1], ceil_mode)
    out = np.full((n, c, oh, ow), -np.inf)
    idx = np.zeros((n, c, oh, ow), dtype=np.int64)
    for i, j, rs, cs in _pool_windows(h, w, kernel, stride, padding, dilation, ceil_mode):
        for r in rs:
            for q in cs:
                if 0 <= r < h and 0 <= q < w:
                    v = x[:, :, r, q]
                    # the first maximum wins, but every NaN takes over (a window's last NaN: PyTorch's rule)
                    better = (v > out[:, :, i, j]) | np.isnan(v)
                    out[:, :, i, j] = np.where(better, v, out[:, :, i, j])
                    idx[:, :, i, j] = np.where(better, r * w + q, idx[:, :, i, j])
    return out, idx


def max_pool2d_backward(grad, idx, input_shape):
    n, c, h, w = input_shape
    out = np.zeros((n, c, h * w))
    g = grad.reshape(n, c, -1)
    i = idx.reshape(n, c, -1)
    for a in range(n):
        for b in range(c):
            np.add.at(out[a, b], i[a, b], g[a, b])
    return out.reshape(input_shape)


def _avg_divisors(h, w, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """Per output position: the list of input (r, c) inside the input, and the divisor."""
    res = {}
    for i, j, rs, cs in _pool_windows(h, w, kernel, stride, padding, (1, 1), ceil_mode):
        inside = [(r, q) for r in rs for q in cs if 0 <= r < h and 0 <= q < w]
        if divisor_override:
            div = divisor_override
        elif count_include_pad:
            # The window clipped to the padded input (PyTorch's rule).
            r0, c0 = rs[0], cs[0]
            r1 = min(rs[-1] + 1, h + padding[0])
            c1 = min(cs[-1] + 1, w + padding[1])
            div = (r1 - r0) * (c1 - c0)
        else:
            div = len(inside)
        res[(i, j)] = (inside, div)
    return res


def avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    n, c, h, w = x.shape
    oh = _out_size(h, kernel[0], stride[0], padding[0], 1, ceil_mode)
    ow = _out_size(w, kernel[1], stride[1], padding[1], 1, ceil_mode)
    out = np.zeros((n, c, oh, ow))
    for (i, j), (inside, div) in _avg_divisors(h, w, kernel, stride, padding, ceil_mode, count_include_pad,
                                               divisor_override).items():
        for r, q in inside:
            out[:, :, i, j] += x[:, :, r, q]
        out[:, :, i, j] /= div
    return out


def avg_pool2d_backward(grad, input_shape, kernel, stride, padding, ceil_mode, count_include_pad,
                        divisor_override):
    n, c, h, w = input_shape
    out = np.zeros(input_shape)
    for (i, j), (inside, div) in _avg_divisors(h, w, kernel, stride, padding, ceil_mode, count_include_pad,
                                               divisor_override).items():
        for r, q in inside:
            out[:, :, r, q] += grad[:, :, i, j] / div
    return out


# ---- the counter-based random numbers (written from the contract text) ----------------------
def mix64(z: int) -> int:
    z &= _MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return z


def random_bits(key: int, offset: int, n: int) -> list[int]:
    return [mix64((key + (offset + i + 1) * 0x9E3779B97F4A7C15) & _MASK) for i in range(n)]


def rand_uniform(shape, key, offset, dtype: str) -> np.ndarray:
    n = math.prod(shape)
    bits = random_bits(key, offset, n)
    if dtype == "float64":
        vals = [(b >> 11) * 2.0**-53 for b in bits]
    else:
        vals = [(b >> 40) * 2.0**-24 for b in bits]
    return np.array(vals, dtype=np.float64).reshape(shape).astype(dtype)


def rand_normal(shape, key, offset, dtype: str) -> np.ndarray:
    n = math.prod(shape)
    bits = random_bits(key, offset, 2 * n)
    out = []
    for i in range(n):
        u1 = ((bits[2 * i] >> 11) + 1) * 2.0**-53
        u2 = (bits[2 * i + 1] >> 11) * 2.0**-53
        out.append(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2))
    return np.array(out, dtype=np.float64).reshape(shape).astype(dtype)


def rand_int(shape, low, high, key, offset, dtype: str) -> np.ndarray:
    n = math.prod(shape)
    bits = random_bits(key, offset, n)
    return np.array([low + b % (high - low) for b in bits], dtype=np.int64).reshape(shape).astype(dtype)
