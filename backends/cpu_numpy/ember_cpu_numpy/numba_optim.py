"""The optimizer steps as one compiled loop each, when numba is installed.

NumPy runs SGD with momentum as four passes over each parameter (and Adam as about twelve), each
pass reading and writing whole arrays; on a training step of a small model those passes cost
about as much as its matrix products. With numba (``pip install 'ember-cpu-numpy[fusion]'``, part
of ``ember[dev]``) each step is one vectorised loop over the elements instead. The arithmetic is the
NumPy kernels', operation for operation and in the parameter's dtype, and numba is not asked for
fast-math, so the results are bitwise those of ``ember_cpu_numpy.xp_kernels.optim_kernels``
(tests/backends check it over every option).

One thread on purpose: numba's ``parallel=True`` halved Adam's time again on two cores, but its
OpenMP threads spin after each loop and slowed the BLAS products that follow (LeNet's step went
from 10.5 to 14 ms), and its workqueue layer gained nothing over one vectorised thread. numba's
``error_model="numpy"`` matters: the default checks every division for zero, which keeps LLVM from
vectorising (Adam: 2.4 ms on one thread with it, 0.6 ms without).

Only C-contiguous float32/float64 operands of one dtype take this path; anything else, a missing
numba, or ``EMBER_CPU_NUMBA=0`` runs the NumPy kernels. Each loop is compiled once per process
(about 0.3 s per combination of options).

Example:
    >>> import numpy as np
    >>> from ember_cpu_numpy import numba_optim
    >>> p, g, buf = np.ones(4, np.float32), np.ones(4, np.float32), np.zeros(4, np.float32)
    >>> ok = numba_optim.sgd_step(p, g, buf, 0.5, 0.9, 0.0, 0.0, False, False, True)
    >>> bool(ok is False or np.allclose(p, 0.5))
    True
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from ember_cpu_numpy.fusion import _numba

__all__ = ["sgd_step", "adam_step", "enabled"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_LOOPS: dict = {}


def enabled() -> bool:
    return os.environ.get("EMBER_CPU_NUMBA", "1") != "0" and _numba() is not None


def _fits(*arrays: Any) -> bool:
    dt = arrays[0].dtype
    return dt in _FLOATS and all(a.dtype == dt and a.flags.c_contiguous for a in arrays)


def _loop(name: str, flags: tuple) -> Any:
    """The loop for one combination of the step's options, compiled on first use. The options are
    written into the source as constants (not tested per element), so each loop is branch-free and
    LLVM vectorises it."""
    key = (name, flags)
    fn = _LOOPS.get(key)
    if fn is None:
        env = {"math": math}
        exec(compile(_SOURCES[name](*flags), f"<ember_cpu_numpy.numba_optim.{name}>", "exec"), env)  # noqa: S102
        fn = _LOOPS[key] = _numba().njit(nogil=True, error_model="numpy")(env[name])
    return fn


def _sgd_source(has_wd: bool, has_momentum: bool, first: bool, damped: bool, nesterov: bool, maximize: bool) -> str:
    body = ["d = -g[i]" if maximize else "d = g[i]"]
    if has_wd:
        body.append("d = p[i] * wd + d")  # grad.add(param, alpha=weight_decay)
    if has_momentum:
        body.append("b = d" if first else ("b = buf[i] * momentum + d * keep" if damped else "b = buf[i] * momentum + d"))
        body.append("buf[i] = b")
        body.append("d = b * momentum + d" if nesterov else "d = b")
    body.append("p[i] = p[i] + d * neg_lr")
    return ("def sgd(p, g, buf, neg_lr, momentum, keep, wd):\n    for i in range(p.size):\n"
            + "".join(f"        {line}\n" for line in body))


def _adam_source(has_wd: bool, decoupled: bool, amsgrad: bool, maximize: bool, small_w: bool) -> str:
    body = ["gi = -g[i]" if maximize else "gi = g[i]"]
    if has_wd:
        body.append("p[i] = p[i] * decay" if decoupled else "gi = p[i] * wd + gi")
    body.append("t = gi - m[i]")  # exp_avg.lerp_(grad, 1 - beta1), PyTorch's two-sided formula
    body.append("mi = m[i] + t * w" if small_w else "mi = gi - t * one_minus_w")
    body += ["m[i] = mi", "vi = v[i] * b2 + (gi * one_minus_b2) * gi", "v[i] = vi"]
    if amsgrad:  # maximum(max_exp_avg_sq, exp_avg_sq): NaN wins
        body += ["top = vmax[i]", "if not top > vi and top == top:", "    top = vi", "vmax[i] = top", "vi = top"]
    body.append("p[i] = p[i] + (mi / (math.sqrt(vi) / bc2_sqrt + eps)) * step_scale")
    return ("def adam(p, g, m, v, vmax, w, one_minus_w, one_minus_b2, b2, bc2_sqrt, eps, step_scale, wd, decay):\n"
            "    for i in range(p.size):\n" + "".join(f"        {line}\n" for line in body))


_SOURCES = {"sgd": _sgd_source, "adam": _adam_source}


def sgd_step(param: Any, grad: Any, momentum_buffer: Any, lr: float, momentum: float, dampening: float,
             weight_decay: float, nesterov: bool, maximize: bool, first: bool) -> bool:
    """One SGD step in place, as ``xp_kernels``'s ``sgd_step``; False (nothing done) off this path."""
    buf = momentum_buffer if momentum_buffer is not None else param
    if not enabled() or not _fits(param, grad, buf):
        return False
    c = param.dtype.type
    flags = (weight_decay != 0, momentum != 0, bool(first), dampening != 0, bool(nesterov), bool(maximize))
    loop = _loop("sgd", flags)
    loop(param.reshape(-1), grad.reshape(-1), buf.reshape(-1), c(-lr), c(momentum), c(1 - dampening), c(weight_decay))
    return True


def adam_step(param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, max_exp_avg_sq: Any, step: int, lr: float,
              beta1: float, beta2: float, eps: float, weight_decay: float, amsgrad: bool, maximize: bool,
              decoupled: bool) -> bool:
    """One Adam/AdamW step in place, as ``xp_kernels``'s ``adam_step``; False off this path."""
    vmax = max_exp_avg_sq if amsgrad else exp_avg_sq
    if not enabled() or not _fits(param, grad, exp_avg, exp_avg_sq, vmax):
        return False
    c = param.dtype.type
    w = 1 - beta1
    flags = (weight_decay != 0, bool(decoupled), bool(amsgrad), bool(maximize), w < 0.5)
    loop = _loop("adam", flags)
    loop(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1), vmax.reshape(-1),
         c(w), c(1 - w), c(1 - beta2), c(beta2), c(math.sqrt(1 - beta2 ** step)), c(eps),
         c(-(lr / (1 - beta1 ** step))), c(weight_decay), c(1 - lr * weight_decay))
    return True
