"""Cross-entropy with class indices, relu's backward and GELU as single kernels (the ``nn`` family).

The frontend's composite cross-entropy is about 15 launches forward and 7 backward; here it is
two launches forward (plus the frontend's one-number read of ``n_invalid``) and one backward:

* ``ce_rows``: one work-item per row computes the row's max, log-sum-exp, picked logit, weight
  and loss (like ``softmax`` in nn.py: rows are independent, so no barriers, and PoCL
  vectorises across work-items);
* ``ce_finish``: one work-group sums the row losses and weights in a fixed order (a strided
  pass per work-item, then a tree in local memory), so the result is the same on every run,
  unlike float atomics, and counts the targets that are neither ignored nor a class;
* ``ce_backward``: one work-item per logit writes ``(softmax - onehot) * w * g``.

``relu_backward`` is one strided map (codegen.launch_map) with a select; ``gelu`` and
``gelu_backward`` are one map each, PyTorch's formulas in float (double for float64).

Every operand is read through its own offset and strides, so transposed, sliced or expanded
inputs (a broadcast ``grad``) need no copy, and a 0-d ``grad`` is a vector of stride 0.
float32 accumulates in float, float64 in double and float16 (on devices with cl_khr_fp16) in
float, as PyTorch does.

Example:
    >>> import numpy as np
    >>> from ember_opencl.creation import from_host, to_host
    >>> x = from_host(np.zeros((2, 4), np.float32), 0)
    >>> t = from_host(np.array([1, 3]), 0)
    >>> round(float(to_host(cross_entropy(x, t, None, -100, "mean")[0])), 6)  # log(4)
    1.386294
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import LOCAL, acc_type, header, launch_map, run_1d, tanh_sat_source
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "relu_backward", "gelu", "gelu_backward", "cross_entropy", "cross_entropy_backward"]

_MODES = {"none": 0, "sum": 1, "mean": 2}


def _vec(name: str, t: str, writable: bool = False) -> str:
    """Kernel parameters of a strided 1-D (or 0-d) operand: pointer, offset, stride.

    Read ``name[name_o + i * name_s]``; a 0-d or expanded operand has stride 0.
    """
    const = "" if writable else "const "
    return f"__global {const}{t}* {name}, long {name}_o, long {name}_s"


def _vec_args(a: CLArray) -> list[Any]:
    """The values for ``_vec``'s parameters."""
    return [a.base_buffer, a.offset, a.strides[0] if a.ndim else 0]


_VEC_TYPES = [None, np.int64, np.int64]


# ---- relu backward --------------------------------------------------------------------------
def relu_backward(grad: CLArray, out: CLArray) -> CLArray:
    """0 where out <= 0, else grad; ``out <= 0`` is false for NaN, so a NaN output passes its
    gradient (PyTorch's threshold_backward)."""
    return launch_map(empty(grad.shape, grad.dtype, grad.device), [grad, out], "(v1 <= 0 ? 0 : v0)")


# ---- gelu ------------------------------------------------------------------------------------
def _gelu_preamble(t: str) -> str:
    """``gelu_{none,tanh}`` and ``gelu_bwd_{none,tanh}`` on type ``t``'s compute type, PyTorch's
    operation order (``tanh`` saturating: :func:`codegen.tanh_sat_source`)."""
    c = acc_type(t)
    f = "" if c == "double" else "f"
    return tanh_sat_source(c) + f"""static {c} gelu_inner({c} x) {{ return 0.7978845608028654{f} * (x + 0.044715{f} * (x * x * x)); }}
static {c} gelu_none({c} x) {{ return (x * 0.5{f}) * (1 + erf(x * 0.7071067811865476{f})); }}
static {c} gelu_tanh({c} x) {{ return (0.5{f} * x) * (1 + tanh_sat(gelu_inner(x))); }}
static {c} gelu_bwd_none({c} g, {c} x) {{
  {c} cdf = 0.5{f} * (1 + erf(x * 0.7071067811865476{f}));
  {c} pdf = 0.3989422804014327{f} * exp(x * x * -0.5{f});
  return g * (cdf + x * pdf);
}}
static {c} gelu_bwd_tanh({c} g, {c} x) {{
  {c} t = tanh_sat(gelu_inner(x));
  {c} inner_d = 0.7978845608028654{f} * (1 + 0.134145{f} * (x * x));
  return g * (0.5{f} * (1 + t) + (0.5{f} * x) * (1 - t * t) * inner_d);
}}
"""


def _gelu_mode(approximate: str) -> str:
    # the frontend checked the argument (PyTorch's error); anything but "tanh" is the erf form
    return "tanh" if approximate == "tanh" else "none"


def gelu(x: CLArray, approximate: str) -> CLArray:
    """GELU of a floating array (same shape and dtype)."""
    mode = _gelu_mode(approximate)
    return launch_map(empty(x.shape, x.dtype, x.device), [x], f"gelu_{mode}(v0)", _gelu_preamble(ctype(x.dtype)))


def gelu_backward(grad: CLArray, x: CLArray, approximate: str) -> CLArray:
    """``grad * gelu'(x)`` (grad and x of one shape and dtype)."""
    mode = _gelu_mode(approximate)
    return launch_map(empty(grad.shape, grad.dtype, grad.device), [grad, x], f"gelu_bwd_{mode}(v0, v1)",
                      _gelu_preamble(ctype(x.dtype)))


# ---- cross-entropy forward ------------------------------------------------------------------
def _rows_source(t: str) -> str:
    a = acc_type(t)
    return header(t, a) + f"""
__kernel void ce_rows(__global {t}* loss, __global {t}* lse, __global {t}* w,
    __global const {t}* x, long xo, long xs0, long xs1, {_vec("tg", "long")}, {_vec("wt", t)},
    int has_w, long n, long c, long ignore) {{
  long i = get_global_id(0); if (i >= n) return;
  __global const {t}* xr = x + xo + i * xs0;
  /* fmax skips NaN, but a NaN logit still makes the row NaN through exp(NaN - m) below */
  {a} m = -INFINITY;
  for (long j = 0; j < c; j++) m = fmax(m, ({a})xr[j * xs1]);
  {a} s = 0;
  for (long j = 0; j < c; j++) s += exp(({a})xr[j * xs1] - m);
  const {a} l = m + log(s);
  const long ti = tg[tg_o + i * tg_s];
  const int valid = ti != ignore && ti >= 0 && ti < c;
  const {a} wi = valid ? (has_w ? ({a})wt[wt_o + ti * wt_s] : ({a})1) : ({a})0;
  lse[i] = ({t})l;
  w[i] = ({t})wi;
  /* (x_t - m) - log(s), as PyTorch's log_softmax: x_t - l would round l to the logits' scale first */
  loss[i] = valid ? ({t})(-(wi * ((({a})xr[ti * xs1] - m) - log(s)))) : ({t})0;
}}
"""


def _finish_size(dev: runtime.DeviceState) -> int:
    """The finish work-group's size: a power of two (the tree halves it) the device allows."""
    size = 1
    while size * 2 <= min(LOCAL, dev.max_wg):
        size *= 2
    return size


def _finish_source(t: str, size: int) -> str:
    a = acc_type(t)
    return header(t, a) + f"""
#define FINISH {size}
__kernel void ce_finish(__global {t}* out, __global {t}* w_sum, __global long* n_invalid,
    __global const {t}* loss, __global const {t}* w, {_vec("tg", "long")}, long n, long c,
    long ignore, int mode) {{
  __local {a} s_loss[FINISH];
  __local {a} s_w[FINISH];
  __local long s_bad[FINISH];
  const int k = get_local_id(0);
  {a} al = 0, aw = 0;
  long bad = 0;
  for (long i = k; i < n; i += FINISH) {{
    al += ({a})loss[i];
    aw += ({a})w[i];
    const long ti = tg[tg_o + i * tg_s];
    bad += (ti != ignore && (ti < 0 || ti >= c)) ? 1 : 0;
  }}
  s_loss[k] = al; s_w[k] = aw; s_bad[k] = bad;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int h = FINISH / 2; h > 0; h >>= 1) {{
    if (k < h) {{ s_loss[k] += s_loss[k + h]; s_w[k] += s_w[k + h]; s_bad[k] += s_bad[k + h]; }}
    barrier(CLK_LOCAL_MEM_FENCE);
  }}
  if (k == 0) {{
    *w_sum = ({t})s_w[0];
    *n_invalid = s_bad[0];
    if (mode == 1) *out = ({t})s_loss[0];
    if (mode == 2) *out = ({t})(s_loss[0] / s_w[0]);
  }}
}}
"""


def _ce_rows(dev: runtime.DeviceState, x: CLArray, target: CLArray, weight: CLArray | None,
             ignore_index: int) -> tuple[CLArray, CLArray, CLArray]:
    """(per-row loss, lse, w), each (N,) in x's dtype."""
    n, c = x.shape
    t = ctype(x.dtype)
    loss, lse, w = (empty((n,), x.dtype, x.device) for _ in range(3))
    k = dev.kernel(("ce_rows", t), lambda: _rows_source(t), "ce_rows",
                   [None] * 4 + [np.int64] * 3 + _VEC_TYPES * 2 + [np.int32] + [np.int64] * 3)
    # without a weight any buffer of the right type fills the slot: has_w = 0 never reads it
    wargs = _vec_args(weight) if weight is not None else [x.base_buffer, 0, 0]
    run_1d(k, dev, n, [loss.base_buffer, lse.base_buffer, w.base_buffer, x.base_buffer, x.offset,
                       *x.strides, *_vec_args(target), *wargs, int(weight is not None), n, c,
                       ignore_index])
    return loss, lse, w


def _ce_finish(dev: runtime.DeviceState, rows: CLArray, w: CLArray, target: CLArray, c: int,
               ignore_index: int, reduction: str) -> tuple[CLArray, CLArray, CLArray]:
    """(loss, w_sum, n_invalid): the reduced loss (the rows themselves for 'none')."""
    n = rows.shape[0]
    t = ctype(rows.dtype)
    mode = _MODES[reduction]
    out = rows if mode == 0 else empty((), rows.dtype, rows.device)
    w_sum, n_invalid = empty((), rows.dtype, rows.device), empty((), np.int64, rows.device)
    size = _finish_size(dev)
    k = dev.kernel(("ce_finish", t, size), lambda: _finish_source(t, size), "ce_finish",
                   [None] * 5 + _VEC_TYPES + [np.int64] * 3 + [np.int32])
    # exactly one work-group: its fixed summation order is what makes the result reproducible
    dev.launch(k, (size,), (size,), (out.base_buffer, w_sum.base_buffer, n_invalid.base_buffer,
               rows.base_buffer, w.base_buffer, *_vec_args(target), n, c, ignore_index, mode))
    return out, w_sum, n_invalid


def cross_entropy(x: CLArray, target: CLArray, weight: CLArray | None, ignore_index: int,
                  reduction: str) -> tuple[CLArray, CLArray, CLArray, CLArray, CLArray]:
    """(loss, lse, w, w_sum, n_invalid) of log_softmax + NLL over the rows of (N, C) ``x``."""
    dev = runtime.device(x.device)
    rows, lse, w = _ce_rows(dev, x, target, weight, int(ignore_index))
    loss, w_sum, n_invalid = _ce_finish(dev, rows, w, target, x.shape[1], int(ignore_index),
                                        reduction)
    return loss, lse, w, w_sum, n_invalid


# ---- cross-entropy backward -----------------------------------------------------------------
def _backward_source(t: str) -> str:
    a = acc_type(t)
    return header(t, a) + f"""
__kernel void ce_backward(__global {t}* o, {_vec("g", t)}, __global const {t}* x, long xo,
    long xs0, long xs1, {_vec("tg", "long")}, {_vec("lse", t)}, {_vec("w", t)}, {_vec("ws", t)},
    int mean, long n, long c) {{
  const long q = get_global_id(0); if (q >= n * c) return;
  const long i = q / c, j = q - i * c;
  {a} coef = ({a})w[w_o + i * w_s] * ({a})g[g_o + i * g_s];
  if (mean) coef /= ({a})ws[ws_o];
  const {a} p = exp(({a})x[xo + i * xs0 + j * xs1] - ({a})lse[lse_o + i * lse_s]);
  /* an out-of-range target matches no column (its row's outputs are unspecified anyway) */
  o[q] = ({t})((p - (tg[tg_o + i * tg_s] == j ? ({a})1 : ({a})0)) * coef);
}}
"""


def cross_entropy_backward(grad: CLArray, x: CLArray, target: CLArray, lse: CLArray, w: CLArray,
                           w_sum: CLArray, reduction: str) -> CLArray:
    """d loss / d x, (N, C) in x's dtype; ``grad`` is (N,) for 'none', else 0-d."""
    n, c = x.shape
    out = empty((n, c), x.dtype, x.device)
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    k = dev.kernel(("ce_backward", t), lambda: _backward_source(t), "ce_backward",
                   [None] + _VEC_TYPES + [None] + [np.int64] * 3 + _VEC_TYPES * 4
                   + [np.int32] + [np.int64] * 2)
    run_1d(k, dev, n * c, [out.base_buffer, *_vec_args(grad), x.base_buffer, x.offset, *x.strides,
                           *_vec_args(target), *_vec_args(lse), *_vec_args(w), *_vec_args(w_sum),
                           int(reduction == "mean"), n, c])
    return out


KERNELS: dict[str, Callable[..., Any]] = {
    "relu_backward": relu_backward, "gelu": gelu, "gelu_backward": gelu_backward, "cross_entropy": cross_entropy,
    "cross_entropy_backward": cross_entropy_backward,
}
