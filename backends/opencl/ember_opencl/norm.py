"""Layer norm forward and backward as single kernels (the ``nn`` family's ``layer_norm``).

* ``ln_fwd``: one work-item per row: the mean, then the biased variance around it (two passes, no
  cancellation; both sums compensated, so long rows keep float32 accuracy), then the normalised row
  times weight plus bias, and the row's mean and rstd;
* ``ln_bwd_x``: one work-item per row: the row's means of ``dy = grad * weight`` and of
  ``dy * xhat``, then ``rstd * (dy - mean(dy) - xhat * mean(dy * xhat))``;
* ``ln_bwd_wb``: one work-item per column of the normalised dims, summing ``grad * xhat`` and
  ``grad`` over the rows in order (deterministic, no atomics).

Rows are independent, so no barriers: PoCL vectorises across work-items as for ``softmax``. float32
accumulates in float, float64 in double, float16 (on devices with cl_khr_fp16) in float. Operands
are made contiguous first (a transposed input is copied once).

Example:
    >>> import numpy as np
    >>> from ember_opencl.creation import from_host, to_host
    >>> out, mean, rstd = layer_norm(from_host(np.array([[1.0, 3.0]], np.float32), 0), 1, None, None, 0.0)
    >>> to_host(out).tolist(), to_host(mean).tolist()
    ([[-1.0, 1.0]], [[2.0]])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import acc_type, header, run_1d
from ember_opencl.creation import contiguous
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "layer_norm", "layer_norm_backward"]


def _fwd_source(t: str) -> str:
    a = acc_type(t)
    return header(t, a) + f"""
__kernel void ln_fwd(__global {t}* out, __global {t}* mean, __global {t}* rstd,
    __global const {t}* x, long xo, __global const {t}* w, long wo, __global const {t}* b, long bo,
    int has_w, int has_b, long rows, long n, {a} eps) {{
  const long r = get_global_id(0); if (r >= rows) return;
  __global const {t}* xr = x + xo + r * n;
  // compensated (Kahan) sums: a plain running float sum over a long row (LayerNorm over
  // 56*56*56 features) drifts by ~1e-4, where PyTorch's cascaded sums stay at float32 rounding
  {a} s = 0, cs = 0;
  for (long j = 0; j < n; j++) {{ const {a} y = ({a})xr[j] - cs, t2 = s + y; cs = (t2 - s) - y; s = t2; }}
  const {a} m = s / ({a})n;
  {a} v = 0, cv = 0;
  for (long j = 0; j < n; j++) {{
    const {a} d = ({a})xr[j] - m, y = d * d - cv, t2 = v + y; cv = (t2 - v) - y; v = t2;
  }}
  const {a} rs = 1 / sqrt(v / ({a})n + eps);
  __global {t}* o = out + r * n;
  for (long j = 0; j < n; j++) {{
    {a} y = (({a})xr[j] - m) * rs;
    if (has_w) y *= ({a})w[wo + j];
    if (has_b) y += ({a})b[bo + j];
    o[j] = ({t})y;
  }}
  mean[r] = ({t})m; rstd[r] = ({t})rs;
}}
"""


def _bwd_source(t: str) -> str:
    a = acc_type(t)
    return header(t, a) + f"""
__kernel void ln_bwd_x(__global {t}* gx, __global const {t}* g, long go, __global const {t}* x, long xo,
    __global const {t}* mean, long mo, __global const {t}* rstd, long ro, __global const {t}* w, long wo,
    int has_w, long rows, long n) {{
  const long r = get_global_id(0); if (r >= rows) return;
  __global const {t}* gr = g + go + r * n;
  __global const {t}* xr = x + xo + r * n;
  const {a} m = ({a})mean[mo + r], rs = ({a})rstd[ro + r];
  {a} s1 = 0, s2 = 0, c1 = 0, c2 = 0;  // compensated, as in ln_fwd
  for (long j = 0; j < n; j++) {{
    const {a} dy = has_w ? ({a})gr[j] * ({a})w[wo + j] : ({a})gr[j];
    const {a} y1 = dy - c1, t1 = s1 + y1; c1 = (t1 - s1) - y1; s1 = t1;
    const {a} y2 = dy * ((({a})xr[j] - m) * rs) - c2, t2 = s2 + y2; c2 = (t2 - s2) - y2; s2 = t2;
  }}
  s1 /= ({a})n; s2 /= ({a})n;
  __global {t}* o = gx + r * n;
  for (long j = 0; j < n; j++) {{
    const {a} dy = has_w ? ({a})gr[j] * ({a})w[wo + j] : ({a})gr[j];
    o[j] = ({t})(rs * (dy - s1 - ((({a})xr[j] - m) * rs) * s2));
  }}
}}

__kernel void ln_bwd_wb(__global {t}* gw, __global {t}* gb, __global const {t}* g, long go,
    __global const {t}* x, long xo, __global const {t}* mean, long mo, __global const {t}* rstd, long ro,
    int need_w, int need_b, long rows, long n) {{
  const long j = get_global_id(0); if (j >= n) return;
  {a} sw = 0, sb = 0;
  for (long r = 0; r < rows; r++) {{
    const {a} gg = ({a})g[go + r * n + j];
    sw += gg * ((({a})x[xo + r * n + j] - ({a})mean[mo + r]) * ({a})rstd[ro + r]);
    sb += gg;
  }}
  if (need_w) gw[j] = ({t})sw;
  if (need_b) gb[j] = ({t})sb;
}}
"""


def layer_norm(x: CLArray, ndim: int, weight: CLArray | None, bias: CLArray | None,
               eps: float) -> tuple[CLArray, CLArray, CLArray]:
    """``(out, mean, rstd)`` over the last ``ndim`` dims (the contract's ``layer_norm``)."""
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    n = math.prod(x.shape[x.ndim - ndim:])
    rows = math.prod(x.shape[:x.ndim - ndim])
    stats = x.shape[:x.ndim - ndim] + (1,) * ndim
    out, mean, rstd = empty(x.shape, x.dtype, x.device), empty(stats, x.dtype, x.device), empty(stats, x.dtype, x.device)
    if not rows:
        return out, mean, rstd
    xc = contiguous(x)
    w = contiguous(weight) if weight is not None else xc  # any buffer of the type: has_w = 0 never reads it
    b = contiguous(bias) if bias is not None else xc
    acc_t = np.float64 if t == "double" else np.float32
    k = dev.kernel(("ln_fwd", t), lambda: _fwd_source(t), "ln_fwd",
                   [None, None, None, None, np.int64, None, np.int64, None, np.int64, np.int32, np.int32,
                    np.int64, np.int64, acc_t])
    run_1d(k, dev, rows, [out.base_buffer, mean.base_buffer, rstd.base_buffer, xc.base_buffer, xc.offset,
                          w.base_buffer, w.offset, b.base_buffer, b.offset, int(weight is not None),
                          int(bias is not None), rows, n, acc_t(eps)])
    return out, mean, rstd


def layer_norm_backward(grad: CLArray, x: CLArray, mean: CLArray, rstd: CLArray, weight: CLArray | None,
                        ndim: int, needs: tuple) -> tuple[CLArray | None, CLArray | None, CLArray | None]:
    """``(gx, gw, gb)`` of :func:`layer_norm` from its saved ``mean`` and ``rstd``."""
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    inner = x.shape[x.ndim - ndim:]
    n = math.prod(inner)
    rows = math.prod(x.shape[:x.ndim - ndim])
    g, xc, m, r = (contiguous(a) for a in (grad, x, mean, rstd))
    gx = empty(x.shape, x.dtype, x.device) if needs[0] else None
    gw = empty(inner, x.dtype, x.device) if needs[1] else None
    gb = empty(inner, x.dtype, x.device) if needs[2] else None
    k_x, k_wb = (dev.kernel((name, t), lambda: _bwd_source(t), name, types) for name, types in (
        ("ln_bwd_x", [None, None, np.int64, None, np.int64, None, np.int64, None, np.int64, None, np.int64,
                      np.int32, np.int64, np.int64]),
        ("ln_bwd_wb", [None, None, None, np.int64, None, np.int64, None, np.int64, None, np.int64,
                       np.int32, np.int32, np.int64, np.int64])))
    if gx is not None and rows:
        w = contiguous(weight) if weight is not None else xc
        run_1d(k_x, dev, rows, [gx.base_buffer, g.base_buffer, g.offset, xc.base_buffer, xc.offset, m.base_buffer,
                                m.offset, r.base_buffer, r.offset, w.base_buffer, w.offset, int(weight is not None),
                                rows, n])
    if gw is not None or gb is not None:
        sink = gw if gw is not None else gb  # a slot the kernel never writes (need_* = 0)
        run_1d(k_wb, dev, n, [(sink if gw is None else gw).base_buffer, (sink if gb is None else gb).base_buffer,
                              g.base_buffer, g.offset,
                              xc.base_buffer, xc.offset, m.base_buffer, m.offset, r.base_buffer, r.offset,
                              int(gw is not None), int(gb is not None), rows, n])
    return gx, gw, gb


KERNELS: dict[str, Callable[..., Any]] = {"layer_norm": layer_norm, "layer_norm_backward": layer_norm_backward}
