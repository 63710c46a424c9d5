"""Fused optimizer steps: one launch per parameter for Adam/AdamW and for SGD (the ``optim`` family),
and Adam with the step count on the device (``adam_step_device``, what ``ember.compile`` replays).

The frontend's composite runs ~10 kernels per parameter for an Adam step and 2-4 for SGD, each a
launch on this device; these kernels update the parameter and its state in place in one pass,
one work-item per element, in the operation order of PyTorch's single-tensor Adam and SGD (the
same order as the cpu backend's ``adam_step``/``sgd_step``), with ``FP_CONTRACT OFF`` so no
multiply-add is fused into a different rounding. The hyper-parameters arrive as the element type,
rounded once from the Python numbers the frontend computes, as NumPy rounds a Python scalar.

A non-contiguous parameter or state (rare: a view handed to the optimizer) is updated through
contiguous copies, written back afterwards. bfloat16 (and float16 without ``cl_khr_fp16``) is
updated in float32 and rounded back once per step.

Example:
    >>> import numpy as np
    >>> from ember_opencl.creation import from_host, to_host
    >>> p, g = from_host(np.ones(3, np.float32), 0), from_host(np.full(3, 2.0, np.float32), 0)
    >>> sgd_step(p, g, None, 0.5, 0.0, 0.0, 0.0, False, False, True)
    >>> to_host(p).tolist()
    [0.0, 0.0, 0.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import lowp, runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import acc_type, header, run_1d
from ember_opencl.creation import clone, copy_
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "adam_step", "adam_step_device", "sgd_step"]


def _adam_source(t: str, device_count: bool = False) -> str:
    """Adam's kernel; with ``device_count`` its two step-dependent factors are read from a small
    device array that :func:`_count_source`'s kernel filled, instead of arriving as arguments."""
    a = acc_type(t)
    if device_count:
        given = f"__global const {a}* bc"
        corrections = f"  const {a} bc2_sqrt = bc[0], neg_step = bc[1];\n"
    else:
        given, corrections = f"{a} bc2_sqrt, {a} neg_step", ""
    return header(t, a) + f"""#pragma OPENCL FP_CONTRACT OFF
__kernel void adam(__global {t}* p, long po, __global const {t}* gr, long go, __global {t}* m, long mo,
    __global {t}* v, long vo, __global {t}* mx, long xo, long n, int maximize, int wd_mode, int amsgrad, int lerp_low, {a} wd, {a} keep, {a} w, {a} one_minus_w,
    {a} beta2, {a} one_minus_beta2, {a} eps, {given}) {{
  const long i = get_global_id(0); if (i >= n) return;
{corrections}  p += po; gr += go; m += mo; v += vo; mx += xo;
  {a} g = ({a})gr[i];
  if (maximize) g = -g;
  {a} pv = ({a})p[i];
  if (wd_mode == 1) pv = pv * keep;          /* AdamW: param *= 1 - lr * weight_decay */
  else if (wd_mode == 2) g = pv * wd + g;    /* Adam: grad + weight_decay * param */
  {a} mv = ({a})m[i];
  const {a} d = g - mv;                      /* exp_avg.lerp_(g, 1 - beta1) */
  mv = lerp_low ? mv + d * w : g - d * one_minus_w;
  {a} vv = ({a})v[i] * beta2 + (g * one_minus_beta2) * g;
  {a} second = vv;
  if (amsgrad) {{
    const {a} old = ({a})mx[i];
    second = (old != old || old > vv) ? old : vv;  /* maximum, NaN from either side */
    mx[i] = ({t})second;
  }}
  const {a} denom = sqrt(second) / bc2_sqrt + eps;
  p[i] = ({t})(pv + (mv / denom) * neg_step);
  m[i] = ({t})mv; v[i] = ({t})vv;
}}
"""


def _count_source(a: str) -> str:
    """One work-item: add 1 to the float32 count and write Adam's two step-dependent factors for
    the new count into ``bc``: ``sqrt(1 - beta2**s)`` and ``-lr / (1 - beta1**s)``. Each ``1 - beta**s``
    is ``-expm1(s * log(beta))`` with ``log(beta)`` from the host in float64, which keeps a few ulp of
    relative error where ``beta**s`` in float32 subtracted from 1 loses about five digits for
    ``beta = 0.999`` (float32 cannot hold 0.999). Once per step, not per element."""
    return header(a, a) + f"""#pragma OPENCL FP_CONTRACT OFF
__kernel void count(__global float* st, long so, __global {a}* bc, {a} log_beta1, {a} log_beta2, {a} lr) {{
  if (get_global_id(0) != 0) return;
  const {a} s = ({a})st[so] + 1;
  st[so] = (float)s;
  bc[0] = sqrt(-expm1(s * log_beta2));
  bc[1] = -(lr / -expm1(s * log_beta1));
}}
"""


def _sgd_source(t: str) -> str:
    a = acc_type(t)
    return header(t, a) + f"""#pragma OPENCL FP_CONTRACT OFF
__kernel void sgd(__global {t}* p, long po, __global const {t}* gr, long go, __global {t}* buf, long bo, long n, int maximize, int has_wd,
    int has_momentum, int first, int nesterov, int damp, {a} wd, {a} momentum, {a} one_minus_damp, {a} neg_lr) {{
  const long i = get_global_id(0); if (i >= n) return;
  p += po; gr += go; buf += bo;
  {a} d = ({a})gr[i];
  if (maximize) d = -d;
  const {a} pv = ({a})p[i];
  if (has_wd) d = pv * wd + d;
  if (has_momentum) {{
    {a} b;
    if (first) b = d;
    else b = ({a})buf[i] * momentum + (damp ? d * one_minus_damp : d);
    buf[i] = ({t})b;
    d = nesterov ? b * momentum + d : b;
  }}
  p[i] = ({t})(pv + d * neg_lr);
}}
"""


def _contiguous_views(arrays: list[CLArray | None]) -> tuple[list[CLArray | None], list[tuple[CLArray, CLArray]]]:
    """Each array, or a contiguous copy of it; and the (original, copy) pairs to write back."""
    out, back = [], []
    for x in arrays:
        if x is not None and not x.is_contiguous():
            c = clone(x)
            out.append(c)
            back.append((x, c))
        else:
            out.append(x)
    return out, back


def _store_all(targets: tuple, values: tuple) -> None:
    """Round each float32 value to its 16-bit target's dtype and write it into the target's storage."""
    for dst, value in zip(targets, values):
        if dst is not None:
            copy_(lowp.retype(dst, np.uint16), lowp.retype(lowp.narrow(value, dst.dtype), np.uint16))


def adam_step(param: CLArray, grad: CLArray, exp_avg: CLArray, exp_avg_sq: CLArray, max_exp_avg_sq: CLArray | None,
              step: int, lr: float, beta1: float, beta2: float, eps: float, weight_decay: float, amsgrad: bool,
              maximize: bool, decoupled: bool) -> None:
    """One Adam/AdamW update of ``param`` and its state, in place (the contract's ``adam_step``)."""
    _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, None, lr, beta1, beta2, eps, weight_decay,
          amsgrad, maximize, decoupled)


def adam_step_device(param: CLArray, grad: CLArray, exp_avg: CLArray, exp_avg_sq: CLArray,
                     max_exp_avg_sq: CLArray | None, step: CLArray, lr: float, beta1: float, beta2: float, eps: float,
                     weight_decay: float, amsgrad: bool, maximize: bool, decoupled: bool) -> None:
    """``adam_step`` with the count in ``step``, a 0-d float32 array of this device (the contract's
    ``adam_step_device``): a one-item kernel increments the count and computes the step's bias
    corrections on the device, then the update reads them. Two launches instead of the composite's
    ~18, and no host read, so a compiled training step replays it."""
    if step.dtype != np.float32 or step.shape != () or step.device != param.device:
        raise TypeError(f"adam_step_device: step must be a 0-d float32 array on opencl:{param.device}, got "
                        f"shape {step.shape}, {step.dtype} on opencl:{step.device}")
    dev = runtime.device(param.device)
    wide = np.dtype(np.float64) if param.dtype == np.float64 else np.dtype(np.float32)
    a = ctype(wide)
    bc = empty((2,), wide, param.device)
    run_1d(dev.kernel(("adam_count", a), lambda: _count_source(a), "count", [None, np.int64, None] + [wide.type] * 3),
           dev, 1, [step.base_buffer, step.offset, bc.base_buffer, wide.type(_log(beta1)), wide.type(_log(beta2)),
                    wide.type(lr)])
    _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, None, bc, lr, beta1, beta2, eps, weight_decay,
          amsgrad, maximize, decoupled)


def _adam(param: CLArray, grad: CLArray, exp_avg: CLArray, exp_avg_sq: CLArray, max_exp_avg_sq: CLArray | None,
          step: int | None, count: CLArray | None, lr: float, beta1: float, beta2: float, eps: float,
          weight_decay: float, amsgrad: bool, maximize: bool, decoupled: bool) -> None:
    """The update, with the count on the host (``step``, already incremented) or its bias
    corrections on the device (``count``: see :func:`_count_source`)."""
    n = param.size
    if n == 0:
        return
    if lowp.emulated(param.dtype, param.device):
        wide = [None if a is None else lowp.widen(a) for a in (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq)]
        _adam(*wide, step, count, lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)
        _store_all((param, exp_avg, exp_avg_sq, max_exp_avg_sq), (wide[0], wide[2], wide[3], wide[4]))
        return
    dev = runtime.device(param.device)
    t = ctype(param.dtype)
    acc = np.float64 if t == "double" else np.float32
    (p, g, m, v, mx), back = _contiguous_views([param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq])
    w = 1 - beta1
    wd_mode = 0 if weight_decay == 0 else (1 if decoupled else 2)
    on_device = count is not None
    k = dev.kernel(("adam_step", t, on_device), lambda: _adam_source(t, on_device), "adam",
                   [None, np.int64] * 5 + [np.int64] + [np.int32] * 4 + [acc] * 7
                   + ([None] if on_device else [acc] * 2))
    x = mx if mx is not None else v  # any buffer of the type: amsgrad = 0 never touches it
    args = [p.base_buffer, p.offset, g.base_buffer, g.offset, m.base_buffer, m.offset, v.base_buffer, v.offset,
            x.base_buffer, x.offset, n, int(maximize), wd_mode, int(bool(amsgrad)), int(w < 0.5), acc(weight_decay),
            acc(1 - lr * weight_decay), acc(w), acc(1 - w), acc(beta2), acc(1 - beta2), acc(eps)]
    if on_device:
        args.append(count.base_buffer)
    else:
        args += [acc((1 - beta2 ** step) ** 0.5), acc(-(lr / (1 - beta1 ** step)))]
    run_1d(k, dev, n, args)
    for orig, copy in back:
        copy_(orig, copy)


def _log(beta: float) -> float:
    """log(beta) in float64; -inf for 0 (then 1 - beta**s is 1, as 0**s is 0 for every step s >= 1)."""
    return math.log(beta) if beta > 0 else -math.inf


def sgd_step(param: CLArray, grad: CLArray, momentum_buffer: CLArray | None, lr: float, momentum: float,
             dampening: float, weight_decay: float, nesterov: bool, maximize: bool, first: bool) -> None:
    """One SGD update of ``param`` (and its momentum buffer), in place (the contract's ``sgd_step``)."""
    n = param.size
    if n == 0:
        return
    if lowp.emulated(param.dtype, param.device):
        wide = [None if a is None else lowp.widen(a) for a in (param, grad, momentum_buffer)]
        sgd_step(*wide, lr, momentum, dampening, weight_decay, nesterov, maximize, first)
        _store_all((param, momentum_buffer), (wide[0], wide[2]))
        return
    dev = runtime.device(param.device)
    t = ctype(param.dtype)
    acc = np.float64 if t == "double" else np.float32
    (p, g, buf), back = _contiguous_views([param, grad, momentum_buffer])
    k = dev.kernel(("sgd_step", t), lambda: _sgd_source(t), "sgd",
                   [None, np.int64] * 3 + [np.int64] + [np.int32] * 6 + [acc] * 4)
    b = buf if buf is not None else p  # without momentum the kernel never touches it
    run_1d(k, dev, n, [p.base_buffer, p.offset, g.base_buffer, g.offset, b.base_buffer, b.offset, n, int(maximize),
                       int(weight_decay != 0), int(momentum != 0), int(bool(first)), int(bool(nesterov)),
                       int(dampening != 0), acc(weight_decay), acc(momentum), acc(1 - dampening), acc(-lr)])
    for orig, copy in back:
        copy_(orig, copy)


KERNELS: dict[str, Callable[..., Any]] = {"adam_step": adam_step, "adam_step_device": adam_step_device,
                                          "sgd_step": sgd_step}
