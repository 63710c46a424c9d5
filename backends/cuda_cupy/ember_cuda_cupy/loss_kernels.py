"""Cross-entropy with class indices and relu's backward as single CUDA kernels (the ``nn`` family).

An MLP training step is bound by launches, not by arithmetic: each CuPy call costs 10-25 us of
host time while the GPU finishes the work in a few. The frontend's composite cross-entropy is
about 25 launches and two host syncs; here it is three launches and one 8-byte read:

* ``ember_ce_rows``: one warp per row computes the row's max, log-sum-exp, picked logit, weight
  and loss (shuffle reductions, no shared memory);
* ``ember_ce_finish``: one block sums the row losses and weights in a fixed order (the result is
  the same on every run, unlike float atomics) and counts out-of-range targets;
* ``ember_ce_backward``: one thread per logit writes ``(softmax - onehot) * w * g``.

float32 and float64 run these kernels; float16 (and NumPy, when the tests run this code without a
GPU) take the array-operation path below, which accumulates half in float as PyTorch does.

Example (on NumPy, as the tests do):
    >>> import numpy
    >>> from ember_cuda_cupy import arraymod as am
    >>> old = am.use(numpy)
    >>> x = numpy.zeros((2, 4), numpy.float32); t = numpy.array([1, 3])
    >>> float(LOSS_KERNELS["cross_entropy"](x, t, None, -100, "mean")[0])  # log(4)
    1.3862943649291992
    >>> _ = am.use(old)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_cuda_cupy import arraymod as am

__all__ = ["LOSS_KERNELS"]

_WARPS_PER_BLOCK = 8
_FINISH_THREADS = 512
_MODES = {"none": 0, "sum": 1, "mean": 2}

# T is the element type, A the accumulation type (float for float32, double for float64).
_SOURCE = r"""
extern "C" __global__ void ember_ce_rows(const T* x, const long long* t, const T* weight, int has_weight,
                                         long long n, long long c, long long ignore,
                                         T* loss, T* lse, T* w) {
    const long long row = (long long)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x & 31;
    if (row >= n) return;  // the whole warp leaves together
    const T* xr = x + row * c;
    A m = (A)__longlong_as_double(0xfff0000000000000ULL);  // -inf (NVRTC has no math.h macros)
    // fmax skips NaN, but a NaN logit still makes the row NaN through exp(NaN - m) below
    for (long long j = lane; j < c; j += 32) m = fmax(m, (A)xr[j]);
    for (int o = 16; o > 0; o >>= 1) m = fmax(m, __shfl_xor_sync(0xffffffffu, m, o));
    A s = 0;
    for (long long j = lane; j < c; j += 32) s += exp((A)xr[j] - m);
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if (lane == 0) {
        const A l = m + log(s);
        const long long ti = t[row];
        const bool valid = ti != ignore && ti >= 0 && ti < c;
        const A wi = valid ? (has_weight ? (A)weight[ti] : (A)1) : (A)0;
        lse[row] = (T)l;
        w[row] = (T)wi;
        loss[row] = valid ? (T)(-(wi * (((A)xr[ti] - m) - log(s)))) : (T)0;  // as log_softmax: not x - l
    }
}

extern "C" __global__ void ember_ce_finish(const T* loss, const T* w, const long long* t, long long n,
                                           long long c, long long ignore, int mode,
                                           T* out, T* w_sum, long long* n_invalid) {
    __shared__ A s_loss[FINISH_THREADS];
    __shared__ A s_w[FINISH_THREADS];
    __shared__ long long s_bad[FINISH_THREADS];
    const int tid = threadIdx.x;
    A al = 0, aw = 0;
    long long bad = 0;
    for (long long i = tid; i < n; i += blockDim.x) {
        al += (A)loss[i];
        aw += (A)w[i];
        const long long ti = t[i];
        bad += (ti != ignore && (ti < 0 || ti >= c)) ? 1 : 0;
    }
    s_loss[tid] = al; s_w[tid] = aw; s_bad[tid] = bad;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (tid < k) { s_loss[tid] += s_loss[tid + k]; s_w[tid] += s_w[tid + k]; s_bad[tid] += s_bad[tid + k]; }
        __syncthreads();
    }
    if (tid == 0) {
        *w_sum = (T)s_w[0];
        *n_invalid = s_bad[0];
        if (mode == 1) *out = (T)s_loss[0];
        if (mode == 2) *out = (T)(s_loss[0] / s_w[0]);
    }
}

extern "C" __global__ void ember_ce_backward(const T* g, int g_per_row, const T* x, const long long* t,
                                             const T* lse, const T* w, const T* w_sum, int mean,
                                             long long n, long long c, T* out) {
    const long long total = n * c;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        const long long row = i / c;
        const long long col = i - row * c;
        A coef = (A)w[row] * (A)g[g_per_row ? row : 0];
        if (mean) coef /= (A)w_sum[0];
        const A p = exp((A)x[i] - (A)lse[row]);
        out[i] = (T)((p - (col == t[row] ? (A)1 : (A)0)) * coef);
    }
}
"""

def _function(dtype, name: str):
    return am.raw_kernel(_SOURCE, name, dtype, f"#define FINISH_THREADS {_FINISH_THREADS}")


def _on_cuda(x) -> bool:
    return am.is_cupy and x.dtype in (np.float32, np.float64)


def _contiguous(a):
    return a if a.flags.c_contiguous else am.xp.ascontiguousarray(a)


# ---- cross-entropy ---------------------------------------------------------------------------------
def cross_entropy(x, target, weight, ignore_index, reduction):
    if not _on_cuda(x):
        return _cross_entropy_arrays(x, target, weight, ignore_index, reduction)
    xp = am.xp
    x, target = _contiguous(x), _contiguous(target)
    n, c = x.shape
    lse, w = xp.empty(n, x.dtype), xp.empty(n, x.dtype)
    rows = xp.empty(n, x.dtype)
    has_weight = weight is not None
    weight = _contiguous(weight) if has_weight else x  # any pointer of type T when there is none
    ignore = np.int64(ignore_index)
    blocks = (n + _WARPS_PER_BLOCK - 1) // _WARPS_PER_BLOCK
    _function(x.dtype, "ember_ce_rows")((blocks,), (32 * _WARPS_PER_BLOCK,),
                                        (x, target, weight, np.int32(has_weight), np.int64(n), np.int64(c), ignore,
                                         rows, lse, w))
    mode = _MODES[reduction]
    out = rows if mode == 0 else xp.empty((), x.dtype)
    w_sum, n_invalid = xp.empty((), x.dtype), xp.empty((), np.int64)
    _function(x.dtype, "ember_ce_finish")((1,), (_FINISH_THREADS,),
                                          (rows, w, target, np.int64(n), np.int64(c), ignore, np.int32(mode), out,
                                           w_sum, n_invalid))
    return out, lse, w, w_sum, n_invalid


def cross_entropy_backward(grad, x, target, lse, w, w_sum, reduction):
    if not _on_cuda(x):
        return _cross_entropy_backward_arrays(grad, x, target, lse, w, w_sum, reduction)
    xp = am.xp
    x, target, grad = _contiguous(x), _contiguous(target), _contiguous(grad)  # grad may be an expanded view
    n, c = x.shape
    out = xp.empty((n, c), x.dtype)
    blocks = min((n * c + 255) // 256, 65536)
    _function(x.dtype, "ember_ce_backward")((blocks,), (256,),
                                            (grad, np.int32(grad.ndim == 1), x, target, _contiguous(lse),
                                             _contiguous(w), w_sum, np.int32(reduction == "mean"), np.int64(n),
                                             np.int64(c), out))
    return out


def _cross_entropy_arrays(x, target, weight, ignore_index, reduction):
    """The same results in array operations: float16 on CuPy, and NumPy under test."""
    xp = am.xp
    n, c = x.shape
    acc = x.astype(np.float32) if x.dtype == np.float16 else x
    ignored = target == ignore_index
    valid = ~ignored & (target >= 0) & (target < c)
    n_invalid = (n - ignored.sum() - valid.sum()).astype(np.int64)
    safe = xp.where(valid, target, 0)
    with am.quiet():
        m = acc.max(axis=1)
        log_s = xp.log(xp.exp(acc - m[:, None]).sum(axis=1))
        lse = m + log_s
        w = valid.astype(acc.dtype)
        if weight is not None:
            w = w * weight.astype(acc.dtype)[safe]
        picked = acc[xp.arange(n), safe]
        loss = xp.where(valid, -w * ((picked - m) - log_s), 0).astype(acc.dtype, copy=False)  # as log_softmax
        w_sum = w.sum()
        out = loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.sum() / w_sum
    dt = x.dtype
    return (xp.asarray(out).astype(dt), lse.astype(dt), w.astype(dt), xp.asarray(w_sum).astype(dt),
            xp.asarray(n_invalid, dtype=np.int64))


def _cross_entropy_backward_arrays(grad, x, target, lse, w, w_sum, reduction):
    xp = am.xp
    n, c = x.shape
    acc_t = np.float32 if x.dtype == np.float16 else x.dtype
    with am.quiet():
        coef = w.astype(acc_t) * grad.astype(acc_t)
        if reduction == "mean":
            coef = coef / w_sum.astype(acc_t)
        xa = x.astype(acc_t)  # softmax from x itself, as the NumPy backend (exp(x - lse) carries lse's rounding)
        p = xp.exp(xa - xa.max(axis=1, keepdims=True))
        p = p / p.sum(axis=1, keepdims=True)
        onehot = xp.arange(c)[None, :] == target[:, None]  # no column matches an out-of-range target
        out = (p - onehot.astype(acc_t)) * coef[:, None]
    return out.astype(x.dtype, copy=False)


# ---- relu backward ---------------------------------------------------------------------------------
_relu_backward_kernel: list = []


def relu_backward(grad, out):
    if not am.is_cupy:
        return am.shared["relu_backward"](grad, out)  # ember_cpu_numpy.xp_kernels (shared with the cpu backend)
    if not _relu_backward_kernel:
        # `out <= 0` is false for NaN, so a NaN output passes its gradient (PyTorch's threshold_backward)
        _relu_backward_kernel.append(am.xp.ElementwiseKernel("T g, T y", "T z", "z = y <= (T)0 ? (T)0 : g",
                                                             "ember_relu_backward"))
    return _relu_backward_kernel[0](grad, out)


relu_backward.shared_kernel = "relu_backward"  # type: ignore[attr-defined]


LOSS_KERNELS: dict[str, Callable[..., Any]] = {
    "cross_entropy": cross_entropy, "cross_entropy_backward": cross_entropy_backward,
    "relu_backward": relu_backward,
}
