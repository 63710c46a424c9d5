"""NumPy reference implementations (explicit loops on tiny inputs) for the nn tests."""

from __future__ import annotations

import math

import numpy as np


def conv2d(x, w, b=None, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    ho = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for ni in range(n):
        for oc in range(o):
            g = oc // og
            for i in range(ho):
                for j in range(wo):
                    s = 0.0
                    for ci in range(cg):
                        for a in range(kh):
                            for bb in range(kw):
                                s += xp[ni, g * cg + ci, i * stride[0] + a * dilation[0],
                                        j * stride[1] + bb * dilation[1]] * w[oc, ci, a, bb]
                    out[ni, oc, i, j] = s + (0 if b is None else b[oc])
    return out


def conv_transpose2d(x, w, b=None, stride=(1, 1), padding=(0, 0), output_padding=(0, 0), groups=1, dilation=(1, 1)):
    """Scatter definition: every input pixel adds w * x into the output."""
    n, cin, h, wd = x.shape
    _, cog, kh, kw = w.shape
    ho = (h - 1) * stride[0] - 2 * padding[0] + dilation[0] * (kh - 1) + output_padding[0] + 1
    wo = (wd - 1) * stride[1] - 2 * padding[1] + dilation[1] * (kw - 1) + output_padding[1] + 1
    full = np.zeros((n, cog * groups, ho + 2 * padding[0] + kh * dilation[0], wo + 2 * padding[1] + kw * dilation[1]))
    cig = cin // groups
    for ni in range(n):
        for ci in range(cin):
            g = ci // cig
            for i in range(h):
                for j in range(wd):
                    for co in range(cog):
                        for a in range(kh):
                            for bb in range(kw):
                                full[ni, g * cog + co, i * stride[0] + a * dilation[0],
                                     j * stride[1] + bb * dilation[1]] += x[ni, ci, i, j] * w[ci, co, a, bb]
    out = full[:, :, padding[0]:padding[0] + ho, padding[1]:padding[1] + wo]
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return out


def _pool_out(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        o = math.ceil(span / s) + 1
        if (o - 1) * s >= n + p:
            o -= 1
        return o
    return span // s + 1


def max_pool2d(x, k, s, p=(0, 0), d=(1, 1), ceil_mode=False):
    n, c, h, w = x.shape
    ho, wo = _pool_out(h, k[0], s[0], p[0], d[0], ceil_mode), _pool_out(w, k[1], s[1], p[1], d[1], ceil_mode)
    out = np.full((n, c, ho, wo), -np.inf)
    idx = np.zeros((n, c, ho, wo), np.int64)
    for ni in range(n):
        for ci in range(c):
            for i in range(ho):
                for j in range(wo):
                    for a in range(k[0]):
                        for b in range(k[1]):
                            r, q = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                            if 0 <= r < h and 0 <= q < w and x[ni, ci, r, q] > out[ni, ci, i, j]:
                                out[ni, ci, i, j] = x[ni, ci, r, q]
                                idx[ni, ci, i, j] = r * w + q
    return out, idx


def avg_pool2d(x, k, s, p=(0, 0), ceil_mode=False, count_include_pad=True, divisor_override=None):
    n, c, h, w = x.shape
    ho, wo = _pool_out(h, k[0], s[0], p[0], 1, ceil_mode), _pool_out(w, k[1], s[1], p[1], 1, ceil_mode)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
            pool = (he - hs) * (we - ws)
            hs2, ws2, he2, we2 = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            tot = x[:, :, hs2:he2, ws2:we2].sum(axis=(2, 3))
            if divisor_override:
                div = divisor_override
            elif count_include_pad:
                div = pool
            else:
                div = (he2 - hs2) * (we2 - ws2)
            out[:, :, i, j] = tot / div
    return out


def log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- recurrences (PyTorch's documented equations) ----------------------------------------------
def rnn_step(mode, x, h, c, p):
    """One time step of RNN/GRU/LSTM; ``p`` = (w_ih, w_hh, b_ih, b_hh, w_hr or None)."""
    w_ih, w_hh, b_ih, b_hh, w_hr = p
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
        return (h if w_hr is None else h @ w_hr.T), c
    if mode == "GRU":
        ir, iz, inn = np.split(gi, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = sigmoid(ir + hr), sigmoid(iz + hz)
        n = np.tanh(inn + r * hn)
        return (1 - z) * n + z * h, None
    return np.tanh(gi + gh), None


def rnn_params(mod, layer, d):
    """Layer ``layer``, direction ``d`` of an ember RNN module as NumPy arrays (see rnn_step)."""
    sfx = f"l{layer}" + ("_reverse" if d else "")
    p = [getattr(mod, f"{k}_{sfx}").detach().cpu().numpy() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    p.append(getattr(mod, f"weight_hr_{sfx}").detach().cpu().numpy() if getattr(mod, "proj_size", 0) else None)
    return p


def rnn(mod, mode, x, h0, c0):
    """x (L, ..., in) time-major, batched or not, through every layer and direction of ``mod``:
    (out (L, ..., D*H), h_n, c_n (None unless LSTM))."""
    nd = 2 if mod.bidirectional else 1
    inp, hn, cn = x, [], []
    for layer in range(mod.num_layers):
        outs = []
        for d in range(nd):
            p = rnn_params(mod, layer, d)
            h, c = h0[layer * nd + d], (None if c0 is None else c0[layer * nd + d])
            seq = [None] * len(inp)
            for t in (range(len(inp) - 1, -1, -1) if d else range(len(inp))):
                h, c = rnn_step(mode, inp[t], h, c, p)
                seq[t] = h
            outs.append(np.stack(seq))
            hn.append(h)
            cn.append(c)
        inp = np.concatenate(outs, -1)
    return inp, np.stack(hn), (np.stack(cn) if mode == "LSTM" else None)


# ---- finite differences ------------------------------------------------------------------------
def check_param_grads(module, loss, eps=1e-6, rtol=1e-5, atol=1e-7):
    """After ``loss().backward()``, every parameter's ``.grad`` must equal the central difference
    of ``loss`` (float64 parameters; the parameter is restored after each probe)."""
    import ember

    loss().backward()
    for name, p in module.named_parameters():
        base = p.detach().cpu().numpy().copy()
        num = np.zeros_like(base)
        for idx in np.ndindex(*base.shape):
            for sign in (1, -1):
                v = base.copy()
                v[idx] += sign * eps
                with ember.no_grad():
                    p.copy_(ember.tensor(v, device=p.device))
                    num[idx] += sign * float(loss()) / (2 * eps)
        with ember.no_grad():
            p.copy_(ember.tensor(base, device=p.device))
        np.testing.assert_allclose(p.grad.cpu().numpy(), num, rtol=rtol, atol=atol, err_msg=name)

