"""The LSTM cell forward and backward as single kernels (the contract's ``lstm_cell`` pair).

Without them the frontend runs the cell as ember ops: ~10 launches per time step forward and ~20
backward, plus the slices and the ``cat`` of the gate gradients, each a launch on PoCL. Here each
is one launch per step: one work-item per row of the batch (and direction), looping over the
hidden units, in the same operation order as the cpu backend's kernels (``FP_CONTRACT OFF``).
``tanh`` saturates (:func:`ember_opencl.codegen.tanh_sat_source`).

Example:
    >>> import numpy as np
    >>> from ember_opencl.creation import from_host, to_host
    >>> h, c, acts = lstm_cell(from_host(np.zeros((1, 4), np.float32), 0), from_host(np.ones((1, 1), np.float32), 0))
    >>> to_host(c).tolist()  # f * c + i * g = 0.5 * 1 + 0.5 * 0
    [[0.5]]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import acc_type, header, run_1d, tanh_sat_source
from ember_opencl.creation import contiguous
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "lstm_cell", "lstm_cell_backward"]


def _helpers(t: str) -> tuple[str, str]:
    a = acc_type(t)
    return a, f"""#pragma OPENCL FP_CONTRACT OFF
static {a} sig({a} v) {{ return 1 / (1 + exp(-v)); }}
""" + tanh_sat_source(a)


def _fwd_source(t: str) -> str:
    a, helpers = _helpers(t)
    return header(t, a) + helpers + f"""
__kernel void lstm_fwd(__global {t}* h_out, __global {t}* c_out, __global {t}* acts,
    __global const {t}* g, long go, __global const {t}* c, long co, long rows, long H) {{
  const long r = get_global_id(0); if (r >= rows) return;
  __global const {t}* gr = g + go + r * 4 * H;
  __global const {t}* cr = c + co + r * H;
  __global {t}* ar = acts + r * 5 * H;
  for (long k = 0; k < H; k++) {{
    const {a} i = sig(({a})gr[k]), f = sig(({a})gr[H + k]), gg = tanh_sat(({a})gr[2 * H + k]);
    const {a} o = sig(({a})gr[3 * H + k]);
    const {a} cn = f * ({a})cr[k] + i * gg;
    const {a} tc = tanh_sat(cn);
    h_out[r * H + k] = ({t})(o * tc); c_out[r * H + k] = ({t})cn;
    ar[k] = ({t})i; ar[H + k] = ({t})f; ar[2 * H + k] = ({t})gg; ar[3 * H + k] = ({t})o; ar[4 * H + k] = ({t})tc;
  }}
}}
"""


def _bwd_source(t: str) -> str:
    a, helpers = _helpers(t)
    return header(t, a) + helpers + f"""
__kernel void lstm_bwd(__global {t}* dg, __global {t}* dc_prev, __global const {t}* dh, long dho,
    __global const {t}* dc, long dco, __global const {t}* acts, long ao, __global const {t}* c, long co,
    long rows, long H) {{
  const long r = get_global_id(0); if (r >= rows) return;
  __global const {t}* ar = acts + ao + r * 5 * H;
  __global {t}* out = dg + r * 4 * H;
  for (long k = 0; k < H; k++) {{
    const {a} i = ar[k], f = ar[H + k], gg = ar[2 * H + k], o = ar[3 * H + k], tc = ar[4 * H + k];
    const {a} h_grad = dh[dho + r * H + k];
    const {a} dct = ((1 - tc * tc) * o) * h_grad + ({a})dc[dco + r * H + k];
    out[k] = ({t})((((1 - i) * i) * gg) * dct);
    out[H + k] = ({t})((((1 - f) * f) * ({a})c[co + r * H + k]) * dct);
    out[2 * H + k] = ({t})(((1 - gg * gg) * i) * dct);
    out[3 * H + k] = ({t})((((1 - o) * o) * tc) * h_grad);
    dc_prev[r * H + k] = ({t})(dct * f);
  }}
}}
"""


def lstm_cell(gates: CLArray, c: CLArray) -> tuple[CLArray, CLArray, CLArray]:
    """``(h, c_new, acts)`` of one LSTM step (the contract's ``lstm_cell``)."""
    lead, h4 = gates.shape[:-1], gates.shape[-1]
    H = h4 // 4
    rows = math.prod(lead)
    h, cn, acts = (empty(lead + (n,), gates.dtype, gates.device) for n in (H, H, 5 * H))
    if rows == 0 or H == 0:
        return h, cn, acts
    g, cc = contiguous(gates), contiguous(c)
    dev = runtime.device(gates.device)
    t = ctype(gates.dtype)
    k = dev.kernel(("lstm_fwd", t), lambda: _fwd_source(t), "lstm_fwd",
                   [None, None, None, None, np.int64, None, np.int64, np.int64, np.int64])
    run_1d(k, dev, rows, [h.base_buffer, cn.base_buffer, acts.base_buffer, g.base_buffer, g.offset,
                          cc.base_buffer, cc.offset, rows, H])
    return h, cn, acts


def lstm_cell_backward(dh: CLArray, dc: CLArray, acts: CLArray, c: CLArray) -> tuple[CLArray, CLArray]:
    """``(dgates, dc_prev)`` of :func:`lstm_cell` (the contract's ``lstm_cell_backward``)."""
    lead = acts.shape[:-1]
    H = acts.shape[-1] // 5
    rows = math.prod(lead)
    dg = empty(lead + (4 * H,), acts.dtype, acts.device)
    dcp = empty(lead + (H,), acts.dtype, acts.device)
    if rows == 0 or H == 0:
        return dg, dcp
    dh, dc, acts, c = (contiguous(x) for x in (dh, dc, acts, c))
    dev = runtime.device(acts.device)
    t = ctype(acts.dtype)
    k = dev.kernel(("lstm_bwd", t), lambda: _bwd_source(t), "lstm_bwd",
                   [None, None, None, np.int64, None, np.int64, None, np.int64, None, np.int64, np.int64, np.int64])
    run_1d(k, dev, rows, [dg.base_buffer, dcp.base_buffer, dh.base_buffer, dh.offset, dc.base_buffer, dc.offset,
                          acts.base_buffer, acts.offset, c.base_buffer, c.offset, rows, H])
    return dg, dcp


KERNELS: dict[str, Callable[..., Any]] = {"lstm_cell": lstm_cell, "lstm_cell_backward": lstm_cell_backward}
