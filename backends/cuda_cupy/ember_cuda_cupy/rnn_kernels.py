"""The fused LSTM cell (``lstm_cell``, ``lstm_cell_backward`` in ``ember.kernels``): one CUDA kernel each.

A cell's four gate activations, the new cell state and its tanh are one elementwise pass over
(..., H): each thread reads its four pre-activations from ``gates`` (..., 4H) and writes
``h``, ``c_new`` and the five saved activations. The backward is the same shape of pass. Under
NumPy (the tests without a GPU) the same formulas run as array operations.

Example:
    >>> import numpy as np
    >>> from ember_cuda_cupy import arraymod as am
    >>> old = am.use(np)
    >>> h, c_new, acts = RNN_KERNELS["lstm_cell"](np.zeros((1, 4), np.float32), np.ones((1, 1), np.float32))
    >>> float(c_new[0, 0]), acts.shape
    (0.5, (1, 5))
    >>> _ = am.use(old)
"""

from __future__ import annotations

from ember_cuda_cupy import arraymod as am

__all__ = ["RNN_KERNELS"]

_PREAMBLE = """
typedef {c} C;
__device__ C ember_sig(C v) {{ C e = exp(-fabs(v)); return v >= 0 ? (C)1 / ((C)1 + e) : e / ((C)1 + e); }}
"""

# i runs over (..., H); gates rows are 4H wide and acts rows 5H wide, both C-contiguous.
_CELL = """
long long row = i / H, col = i - row * H;
long long gb = row * 4 * H + col, ab = row * 5 * H + col;
C ig = ember_sig((C)gates[gb]), fg = ember_sig((C)gates[gb + H]);
C gg = tanh((C)gates[gb + 2 * H]), og = ember_sig((C)gates[gb + 3 * H]);
C cn = fg * (C)c + ig * gg;
C tc = tanh(cn);
acts[ab] = (T)ig; acts[ab + H] = (T)fg; acts[ab + 2 * H] = (T)gg; acts[ab + 3 * H] = (T)og;
acts[ab + 4 * H] = (T)tc;
c_new = (T)cn;
h = (T)(og * tc);
"""

_CELL_BACKWARD = """
long long row = i / H, col = i - row * H;
long long gb = row * 4 * H + col, ab = row * 5 * H + col;
C ig = (C)acts[ab], fg = (C)acts[ab + H], gg = (C)acts[ab + 2 * H], og = (C)acts[ab + 3 * H];
C tc = (C)acts[ab + 4 * H];
C dhv = (C)dh;
C dct = (C)dc + dhv * og * ((C)1 - tc * tc);
dgates[gb] = (T)(dct * gg * ig * ((C)1 - ig));
dgates[gb + H] = (T)(dct * (C)c * fg * ((C)1 - fg));
dgates[gb + 2 * H] = (T)(dct * ig * ((C)1 - gg * gg));
dgates[gb + 3 * H] = (T)(dhv * tc * og * ((C)1 - og));
dc_prev = (T)(dct * fg);
"""

_built: dict = {}


def _kernel(name: str, in_params: str, out_params: str, body: str, dtype):
    c_type = "double" if dtype.name == "float64" else "float"
    kernel = _built.get((name, c_type))
    if kernel is None:
        kernel = am.xp.ElementwiseKernel(in_params, out_params, body, f"ember_{name}_{c_type}",
                                         preamble=_PREAMBLE.format(c=c_type))
        _built[(name, c_type)] = kernel
    return kernel


def lstm_cell(gates, c):
    xp = am.xp
    hs = gates.shape[-1] // 4
    lead = tuple(gates.shape[:-1])
    c = xp.broadcast_to(c, lead + (hs,))
    acts = xp.empty(lead + (5 * hs,), dtype=gates.dtype)
    if not am.is_cupy:
        i, f, g, o = (gates[..., k * hs:(k + 1) * hs] for k in range(4))
        sig = am.shared["sigmoid"]  # ember_cpu_numpy.xp_kernels (shared with the cpu backend)
        acts[..., :hs], acts[..., hs:2 * hs], acts[..., 3 * hs:4 * hs] = sig(i), sig(f), sig(o)
        acts[..., 2 * hs:3 * hs] = xp.tanh(g)
        c_new = acts[..., hs:2 * hs] * c + acts[..., :hs] * acts[..., 2 * hs:3 * hs]
        acts[..., 4 * hs:] = xp.tanh(c_new)
        return acts[..., 3 * hs:4 * hs] * acts[..., 4 * hs:], c_new, acts
    h, c_new = xp.empty_like(c, order="C"), xp.empty_like(c, order="C")
    kernel = _kernel("lstm_cell", "raw T gates, T c, int64 H", "T h, T c_new, raw T acts", _CELL, gates.dtype)
    kernel(xp.ascontiguousarray(gates), c, hs, h, c_new, acts)
    return h, c_new, acts


def lstm_cell_backward(dh, dc, acts, c):
    xp = am.xp
    hs = acts.shape[-1] // 5
    lead = tuple(acts.shape[:-1])
    dh, dc, c = (xp.broadcast_to(a, lead + (hs,)) for a in (dh, dc, c))
    if not am.is_cupy:
        i, f, g, o, tc = (acts[..., k * hs:(k + 1) * hs] for k in range(5))
        dct = dc + dh * o * (1 - tc * tc)
        dgates = xp.concatenate([dct * g * i * (1 - i), dct * c * f * (1 - f), dct * i * (1 - g * g),
                                 dh * tc * o * (1 - o)], axis=-1)
        return dgates, dct * f
    dgates = xp.empty(lead + (4 * hs,), dtype=acts.dtype)
    dc_prev = xp.empty(lead + (hs,), dtype=acts.dtype)
    kernel = _kernel("lstm_cell_backward", "T dh, T dc, raw T acts, T c, int64 H", "T dc_prev, raw T dgates",
                     _CELL_BACKWARD, acts.dtype)
    kernel(dh, dc, xp.ascontiguousarray(acts), c, hs, dc_prev, dgates)
    return dgates, dc_prev


RNN_KERNELS = {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward}
