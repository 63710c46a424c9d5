"""Fused optimizer steps (the ``optim`` family of ``ember.kernels``): one CUDA kernel per parameter.

On CuPy each step is a single ``ElementwiseKernel`` that reads the gradient and the state and
writes the parameter and the state in place; the variant (amsgrad, momentum, nesterov...) is
chosen when the kernel is built, so the generated code has no branches on those flags. It
computes in float for float16/float32 and in double for float64, in PyTorch's order of operations.

Under NumPy (the tests without a GPU) the cpu backend's array operations run instead
(``ember_cpu_numpy.xp_kernels.optim_kernels``, the same formulas in PyTorch's order).

Example:
    >>> import numpy as np
    >>> from ember_cuda_cupy import arraymod as am
    >>> old = am.use(np)
    >>> p, g = np.ones(2, np.float32), np.ones(2, np.float32)
    >>> OPTIM_KERNELS["sgd_step"](p, g, None, 0.5, 0.0, 0.0, 0.0, False, False, False)
    >>> p
    array([0.5, 0.5], dtype=float32)
    >>> _ = am.use(old)
"""

from __future__ import annotations

import math

import numpy as np

from ember_cuda_cupy import arraymod as am

__all__ = ["OPTIM_KERNELS"]

_built: dict = {}


def _kernel(key: tuple, in_params: str, out_params: str, body: str, c_type: str):
    kernel = _built.get(key)
    if kernel is None:
        name = "ember_" + "_".join(str(k).lower() for k in key if not isinstance(k, bool)) + "_" + \
               "".join("1" if k else "0" for k in key if isinstance(k, bool))
        kernel = am.xp.ElementwiseKernel(in_params, out_params, body, name, preamble=f"typedef {c_type} C;")
        _built[key] = kernel
    return kernel


def _c_type(x) -> str:
    return "double" if x.dtype.name == "float64" else "float"


# ---- Adam / AdamW ------------------------------------------------------------------------------
def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
              amsgrad, maximize, decoupled):
    if not am.is_cupy:  # the array operations of ember_cpu_numpy.xp_kernels (shared with the cpu backend)
        am.shared["adam_step"](param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
                               weight_decay, amsgrad, maximize, decoupled)
        return
    bias_correction1 = 1 - beta1 ** step
    bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
    c_type = _c_type(param)
    wd = weight_decay != 0
    body = ["C g = (C)grad;"]
    if maximize:
        body.append("g = -g;")
    body.append("C p = (C)param;")
    if wd and decoupled:
        body.append("p *= (C)1 - (C)lr * (C)wd;")
    elif wd:
        body.append("g += (C)wd * p;")
    body += [
        "C m = (C)exp_avg; m += ((C)1 - (C)beta1) * (g - m);",  # exp_avg.lerp_(g, 1 - beta1)
        "C v = (C)beta2 * (C)exp_avg_sq + ((C)1 - (C)beta2) * g * g;",
        "exp_avg = (T)m; exp_avg_sq = (T)v;",
    ]
    if amsgrad:
        body.append("C s = max((C)max_sq, (C)exp_avg_sq); max_sq = (T)s;")
        second = "(C)max_sq"
    else:
        second = "(C)exp_avg_sq"
    body += [
        f"C denom = sqrt({second}) / (C)bc2 + (C)eps;",
        "param = (T)(p - ((C)lr / (C)bc1) * (C)exp_avg / denom);",
    ]
    outs = "T param, T exp_avg, T exp_avg_sq" + (", T max_sq" if amsgrad else "")
    kernel = _kernel(("adam", c_type, amsgrad, maximize, wd, decoupled),
                     "T grad, float64 lr, float64 beta1, float64 beta2, float64 eps, float64 wd, float64 bc1, "
                     "float64 bc2", outs, "\n".join(body), c_type)
    args = [grad, lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2_sqrt,
            param, exp_avg, exp_avg_sq]
    if amsgrad:
        args.append(max_exp_avg_sq)
    kernel(*args)


# ---- SGD -----------------------------------------------------------------------------------------
# The same update as the ElementwiseKernel below, as a RawKernel over contiguous float32/float64
# arrays: CuPy launches it in ~10 us of host time, the ElementwiseKernel with its four scalar
# arguments in ~40 (an MLP step runs one per parameter). The variant flags are #defines.
_SGD_SOURCE = r"""
extern "C" __global__ void ember_sgd(T* param, const T* grad, T* buf, long long n, double lr, double momentum,
                                     double dampening, double wd) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        A g = (A)grad[i];
        if (MAXIMIZE) g = -g;
        const A p = (A)param[i];
        if (WD) g += (A)wd * p;
        if (MOMENTUM) {
            const A b = FIRST ? g : (A)momentum * (A)buf[i] + ((A)1 - (A)dampening) * g;
            buf[i] = (T)b;
            g = NESTEROV ? g + (A)momentum * b : b;
        }
        param[i] = (T)(p - (A)lr * g);
    }
}
"""


def _sgd_raw(param, grad, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first) -> bool:
    """Run the RawKernel when every array is contiguous float32/float64; False when it can't."""
    if param.dtype.char not in "fd" or not (param.flags.c_contiguous and grad.flags.c_contiguous
                                            and (buf is None or buf.flags.c_contiguous)):
        return False
    has_momentum = momentum != 0
    flags = {"MAXIMIZE": maximize, "WD": weight_decay != 0, "MOMENTUM": has_momentum,
             "FIRST": has_momentum and first, "NESTEROV": has_momentum and nesterov}
    defines = "\n".join(f"#define {k} {int(bool(v))}" for k, v in flags.items())
    n = param.size
    kernel = am.raw_kernel(_SGD_SOURCE, "ember_sgd", param.dtype, defines)
    kernel((min((n + 255) // 256, 65535),), (256,),
           (param, grad, param if buf is None else buf, np.int64(n), np.float64(lr), np.float64(momentum),
            np.float64(dampening), np.float64(weight_decay)))
    return True


def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    if not am.is_cupy:  # the array operations of ember_cpu_numpy.xp_kernels (shared with the cpu backend)
        am.shared["sgd_step"](param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize,
                              first)
        return
    if param.size and _sgd_raw(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                               maximize, first):
        return
    c_type = _c_type(param)
    wd, has_momentum = weight_decay != 0, momentum != 0
    body = ["C g = (C)grad;"]
    if maximize:
        body.append("g = -g;")
    body.append("C p = (C)param;")
    if wd:
        body.append("g += (C)wd * p;")
    if has_momentum:
        body.append("C b = g;" if first else "C b = (C)momentum * (C)buf + ((C)1 - (C)dampening) * g;")
        body.append("buf = (T)b;")
        body.append("g = g + (C)momentum * b;" if nesterov else "g = b;")
    body.append("param = (T)(p - (C)lr * g);")
    outs = "T param" + (", T buf" if has_momentum else "")
    kernel = _kernel(("sgd", c_type, maximize, wd, has_momentum, has_momentum and first, has_momentum and nesterov),
                     "T grad, float64 lr, float64 momentum, float64 dampening, float64 wd", outs, "\n".join(body),
                     c_type)
    args = [grad, lr, momentum, dampening, weight_decay, param]
    if has_momentum:
        args.append(momentum_buffer)
    kernel(*args)


# on CuPy each step is one generated kernel; the shared array operations run on the NumPy stand-in
adam_step.shared_kernel = "adam_step"  # type: ignore[attr-defined]
sgd_step.shared_kernel = "sgd_step"  # type: ignore[attr-defined]
OPTIM_KERNELS = {"adam_step": adam_step, "sgd_step": sgd_step}
