"""The compiled loops behind ``ember_cpu_numpy.numba_nn`` (imported only when numba is installed).

Every loop computes in float32, as PyTorch's CPU kernels do (sums in float64). exp, tanh and GELU's
normal CDF (``erf.py``'s float32 pieces of erf) are written here as branch-free float32 arithmetic
(range reduction, polynomials, a bit-built power of two) that LLVM vectorises with fused
multiply-adds (``fastmath`` allows only contraction: no reassociation, no ignoring NaN or inf).
Calling libm instead (``math.exp`` in numba) costs 4-20 ns per element on this CPU, more than
NumPy's vectorised float32 ``exp``; these cost under a nanosecond, and one loop replaces many
NumPy passes.

Accuracy (``tests/backends/test_numba_nn.py`` checks it against float64 references): exp within
an ulp, tanh within two, the normal CDF within four plus the rounding of v / sqrt(2), so a GELU or
a softmax is as close to the exact value as PyTorch's own float32 kernels.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from ember_cpu_numpy import erf as _erf_pieces

_JIT = {"nogil": True, "error_model": "numpy", "cache": True, "fastmath": {"contract"}}
_INLINE = {"inline": "always", "error_model": "numpy", "cache": True, "fastmath": {"contract"}}


@intrinsic
def _bits_to_f32(typingctx, x):  # noqa: ARG001 - numba's intrinsic signature
    """The float32 whose bit pattern is the int32 ``x`` (LLVM's bitcast: vectorisable, unlike ldexp)."""
    def codegen(context, builder, signature, args):  # noqa: ARG001
        return builder.bitcast(args[0], context.get_value_type(types.float32))
    return types.float32(types.int32), codegen


@intrinsic
def _f32_to_bits(typingctx, x):  # noqa: ARG001
    def codegen(context, builder, signature, args):  # noqa: ARG001
        return builder.bitcast(args[0], context.get_value_type(types.int32))
    return types.int32(types.float32), codegen


@intrinsic
def _fma(typingctx, a, b, c):  # noqa: ARG001
    """a * b + c rounded once (LLVM's fma): with c = -(a * b) rounded, it gives that product's
    rounding error exactly."""
    def codegen(context, builder, signature, args):  # noqa: ARG001
        return builder.fma(*args)
    return types.float32(types.float32, types.float32, types.float32), codegen


# Every constant is a float32 scalar: numba computes float32 * (Python float) in float64.
_F = np.float32
_ZERO, _HALF, _ONE, _TWO, _INF = _F(0), _F(0.5), _F(1), _F(2), _F(np.inf)
_LOG2E = _F(1.44269504)
_LN2_HI = _F(0.693359375)  # ln 2 = _LN2_HI + _LN2_LO, n * _LN2_HI exact for the n that occur
_LN2_LO = _F(-2.12194440e-4)
_ROUND = _F(12582912.0)  # 1.5 * 2^23: adding it rounds to an integer held in the low bits
_EXP_LO, _EXP_HI = _F(-104.0), _F(89.0)  # e^x rounds to 0 below, to inf above
_E3, _E4, _E5, _E6, _E7 = (_F(1 / math.factorial(k)) for k in range(3, 8))


@njit(**_INLINE)
def exp(x):
    """e^x for float32 ``x`` (Cody-Waite reduction to |r| <= ln(2)/2, Taylor to degree 7, a
    bit-built power of two applied in two halves so that subnormal results come out): within an
    ulp of the correctly rounded value; -inf gives 0, inf gives inf, NaN stays NaN."""
    # Outside (-104, 89) (and NaN) compute e^0 and select the answer after: clamping -inf to -104
    # would compute a subnormal, and a subnormal result costs a microcode assist (~100 cycles per
    # vector), which a masked attention's -inf logits would hit half the time.
    y = x if x > _EXP_LO and x < _EXP_HI else _ZERO
    t = y * _LOG2E + _ROUND
    n = t - _ROUND
    r = y - n * _LN2_HI - n * _LN2_LO
    p = _ONE + r * (_ONE + r * (_HALF + r * (_E3 + r * (_E4 + r * (_E5 + r * (_E6 + r * _E7))))))
    k = _f32_to_bits(t) - _f32_to_bits(_ROUND)
    k1 = k >> 1
    v = p * _bits_to_f32((k1 + 127) << 23) * _bits_to_f32((k - k1 + 127) << 23)
    v = _ZERO if x <= _EXP_LO else v
    v = _INF if x >= _EXP_HI else v
    return v if x == x else x


# Cephes' tanhf: below |x| = 0.625 an odd polynomial, above it 1 - 2 / (e^{2|x|} + 1)
_T0, _T1, _T2, _T3, _T4 = (_F(c) for c in (-3.33332819422e-1, 1.33314422036e-1, -5.37397155531e-2,
                                           2.06390887954e-2, -5.70498872745e-3))
_TANH_SPLIT = _F(0.625)


@njit(**_INLINE)
def tanh(x):
    """tanh of a float32 within two ulp; +-inf give +-1, NaN gives NaN, -0 stays -0."""
    a = abs(x)
    z = x * x
    small = x + x * z * (_T0 + z * (_T1 + z * (_T2 + z * (_T3 + z * _T4))))
    big = _ONE - _TWO / (exp(_TWO * a) + _ONE)
    big = big if x > _ZERO else -big
    v = small if a < _TANH_SPLIT else big
    return v if x == x and x != _ZERO else x  # NaN and +-0 are their own tanh


# erf.py's float32 pieces (its fitted coefficients, read from there): |x| < 1: x p((x^2 - 0.5) / 0.5);
# 1 <= |x| < 4: 1 - e^{-x^2} q((x - 2.5) / 1.5); |x| >= 4: 1 (to float32's precision)
_ODD, _TAIL = _erf_pieces._FITTED["float32"]
if _ODD[:5] != ("odd", 0.0, 1.0, 0.5, 0.5) or _TAIL[:5] != ("tail", 1.0, 4.0, 2.5, 1.5):
    raise ImportError("erf.py's float32 pieces changed their intervals: update the loops' erf")  # numba_nn falls back
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = (_F(c) for c in _ODD[5])
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7, _Q8, _Q9, _Q10 = (_F(c) for c in _TAIL[5])
_FOUR, _TAIL_C, _TAIL_INV_H = _F(4), _F(2.5), _F(1 / 1.5)


@njit(**_INLINE)
def exp_minus_square(a, scale):
    """e^(-scale * a^2) for scale 1 or 1/2: a^2 is split into its rounded value and the rounding
    error (an fma), so the result keeps float32's precision where e^(-fl(a^2)) would be off by
    a^2 ulp (16 ulp at a = 4)."""
    hi = a * a
    lo = _fma(a, a, -hi)
    lo = lo if hi < _INF else _ZERO  # a^2 overflowed: e^-inf is 0 whatever its error
    return exp(-(scale * hi)) * (_ONE - scale * lo)


@njit(**_INLINE)
def _erf_near(z):
    """erf(z) for |z| < 1: z p((z^2 - 0.5) / 0.5), odd (keeps -0)."""
    s = (z * z - _HALF) * _TWO
    return z * (_P0 + s * (_P1 + s * (_P2 + s * (_P3 + s * (_P4 + s * (_P5 + s * _P6))))))


@njit(**_INLINE)
def _erfc_far(a):
    """erfc(a) for a >= 1: e^{-a^2} q((a - 2.5) / 1.5) below 4, 0 from 4 on (where float32's erf is 1)."""
    b = a if a < _FOUR else _FOUR
    u = (b - _TAIL_C) * _TAIL_INV_H
    q = _Q0 + u * (_Q1 + u * (_Q2 + u * (_Q3 + u * (_Q4 + u * (_Q5 + u * (_Q6 + u * (
        _Q7 + u * (_Q8 + u * (_Q9 + u * _Q10)))))))))
    v = exp_minus_square(b, _ONE) * q
    return _ZERO if a >= _FOUR else v


@njit(**_INLINE)
def normal_cdf(v):
    """Phi(v) = (1 + erf(v / sqrt 2)) / 2 from ``erf.py``'s float32 pieces, without cancellation on
    the left: past |z| = 1, 1 - |erf(z)| is the tail piece's erfc itself, not 1 minus a rounded
    erf. NaN stays NaN, -inf gives 0, inf 1."""
    z = v * _SQRT1_2
    a = abs(z)
    near = _HALF + _HALF * _erf_near(z)
    half_erfc = _HALF * _erfc_far(a)
    far = half_erfc if z < _ZERO else _ONE - half_erfc
    c = near if a < _ONE else far
    return c if v == v else v


# ---- GELU: PyTorch's formulas (GeluKernelImpl, GeluBackwardKernelImpl) ------------------------------
_SQRT1_2 = _F(math.sqrt(0.5))
_ALPHA = _F(2 / math.sqrt(math.pi) * math.sqrt(0.5) * 0.5)  # 1 / sqrt(2 pi)
_BETA = _F(math.sqrt(2) * 2 / math.sqrt(math.pi) * 0.5)  # sqrt(2 / pi)
_KAPPA = _F(0.044715)
_KAPPA3 = _F(3 * 0.044715)


@njit(**_JIT)
def gelu_erf(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = v * normal_cdf(v)


@njit(**_JIT)
def gelu_tanh(x, out):
    for i in range(x.size):
        v = x[i]
        out[i] = _HALF * v * (_ONE + tanh(_BETA * (v + _KAPPA * (v * v * v))))


@njit(**_JIT)
def gelu_erf_backward(g, x, out):
    for i in range(x.size):
        v = x[i]
        pdf = _ALPHA * exp_minus_square(v, _HALF)
        out[i] = g[i] * (normal_cdf(v) + v * pdf)


@njit(**_JIT)
def gelu_tanh_backward(g, x, out):
    for i in range(x.size):
        v = x[i]
        sq = v * v
        t = tanh(_BETA * (v + _KAPPA * (sq * v)))
        left = _HALF * v * (_ONE - t * t) * (_BETA * (_ONE + _KAPPA3 * sq))
        out[i] = g[i] * (_HALF * (_ONE + t) + left)


# ---- rows: softmax, log_softmax, layer norm, cross-entropy ----------------------------------------
# Each row is a few separate loops: one with a reduction in it cannot be vectorised (LLVM keeps a
# floating-point sum in order), so the exp loop has none and the sums run on their own, in float64.
@njit(**_INLINE)
def _max(xr):
    """The row's maximum, or -inf. A NaN in the row needs no special case: every x - max that follows
    is NaN, or the sum of the exps is, as with NumPy's NaN-propagating max. Four running maxima
    (then one) so that the compare-and-selects do not wait on one another."""
    m0 = m1 = m2 = m3 = np.float32(-np.inf)
    n = xr.size
    j = 0
    while j + 4 <= n:
        v0, v1, v2, v3 = xr[j], xr[j + 1], xr[j + 2], xr[j + 3]
        m0 = v0 if v0 > m0 else m0
        m1 = v1 if v1 > m1 else m1
        m2 = v2 if v2 > m2 else m2
        m3 = v3 if v3 > m3 else m3
        j += 4
    while j < n:
        v0 = xr[j]
        m0 = v0 if v0 > m0 else m0
        j += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    return m2 if m2 > m0 else m0


@njit(**_INLINE)
def _exp_shifted(xr, m, er):
    for j in range(xr.size):
        er[j] = exp(xr[j] - m)


# The float64 sums below may be reassociated (``reassoc``: only here, they are not inlined at numba's
# level, so the flag stays on their own instructions): LLVM then vectorises them with several vector
# accumulators instead of adding one element after the other (a (256, 64) layer norm 23 -> 13 us).
# The order is still fixed by the compiled code, so results do not change from run to run.
_REDUCE = {"nogil": True, "error_model": "numpy", "cache": True, "fastmath": {"contract", "reassoc"}}


@njit(**_REDUCE)
def _sum(er):
    """The float64 sum of a row."""
    s = 0.0
    for j in range(er.size):
        s += np.float64(er[j])
    return s


@njit(**_REDUCE)
def _dot(a, b, shift):
    """sum((a - shift) * b) in float64."""
    s = 0.0
    for j in range(a.size):
        s += (np.float64(a[j]) - shift) * np.float64(b[j])
    return s


@njit(**_REDUCE)
def _sq_dev(a, mean):
    """sum((a - mean)^2) in float64."""
    s = 0.0
    for j in range(a.size):
        d = np.float64(a[j]) - mean
        s += d * d
    return s


@njit(**_JIT)
def softmax(x, out):
    for r in range(x.shape[0]):
        xr, orow = x[r], out[r]
        _exp_shifted(xr, _max(xr), orow)
        inv = np.float32(1.0 / _sum(orow))
        for j in range(orow.size):
            orow[j] = orow[j] * inv


@njit(**_JIT)
def softmax_backward(g, y, out):
    """Per row: y * (g - sum(g * y)) in float32, PyTorch's formula, the sum in float64."""
    for r in range(y.shape[0]):
        gr, yr, orow = g[r], y[r], out[r]
        dot = np.float32(_dot(gr, yr, 0.0))
        for j in range(yr.size):
            orow[j] = yr[j] * (gr[j] - dot)


@njit(**_JIT)
def log_softmax_backward(g, y, out):
    """Per row: g - exp(y) * sum(g) in float32, PyTorch's formula, the sum in float64."""
    for r in range(y.shape[0]):
        gr, yr, orow = g[r], y[r], out[r]
        total = np.float32(_sum(gr))
        for j in range(yr.size):
            orow[j] = gr[j] - exp(yr[j]) * total


@njit(**_JIT)
def log_softmax(x, out):
    for r in range(x.shape[0]):
        xr, orow = x[r], out[r]
        m = _max(xr)
        _exp_shifted(xr, m, orow)
        # (x - max) - log(sum) in float32, PyTorch's order: the row's maximum comes out exactly 0
        # when the others are too small to move a float32 sum, as in PyTorch
        log_s = np.float32(math.log(np.float32(_sum(orow))))
        for j in range(orow.size):
            orow[j] = (xr[j] - m) - log_s


@njit(**_JIT)
def row_logsumexp(x, m_out, log_s_out):
    """Per row: the maximum and log(sum(exp(x - max))) (cross-entropy's forward)."""
    er = np.empty(x.shape[1], np.float32)
    for r in range(x.shape[0]):
        xr = x[r]
        m = _max(xr)
        _exp_shifted(xr, m, er)
        m_out[r] = m
        log_s_out[r] = math.log(np.float32(_sum(er)))  # of the float32 sum, as the NumPy kernel's


@njit(**_JIT)
def cross_entropy_rows(x, target, weight, has_weight, ignore_index, lse_out, loss_out, w_out):
    """Cross-entropy's forward per row, in the NumPy kernel's float32 arithmetic (the same bits):
    lse = max + log(sum(exp(x - max))), w = weight[target] (1 without weight; 0 for an ignored or
    invalid target), loss = -w * ((x[target] - max) - log(sum)); returns how many targets are
    neither ignore_index nor a class."""
    n_cls = x.shape[1]
    er = np.empty(n_cls, np.float32)
    invalid = 0
    for r in range(x.shape[0]):
        xr = x[r]
        m = _max(xr)
        _exp_shifted(xr, m, er)
        log_s = np.float32(math.log(np.float32(_sum(er))))
        lse_out[r] = m + log_s
        t = target[r]
        if t != ignore_index and 0 <= t < n_cls:
            w = weight[t] if has_weight else _ONE
            w_out[r] = w
            loss_out[r] = -w * ((xr[t] - m) - log_s)
        else:
            invalid += t != ignore_index
            w_out[r] = _ZERO
            loss_out[r] = _ZERO
    return invalid


@njit(**_JIT)
def softmax_scaled(x, coef, target, out):
    """out[r] = coef[r] * (softmax(x[r]) - onehot(target[r])): cross-entropy's input gradient
    (a target outside [0, n) subtracts nothing)."""
    n = x.shape[1]
    for r in range(x.shape[0]):
        xr, orow = x[r], out[r]
        _exp_shifted(xr, _max(xr), orow)
        c = coef[r]
        k = np.float32(c / _sum(orow))
        for j in range(n):
            orow[j] = orow[j] * k
        t = target[r]
        if 0 <= t < n:
            orow[t] = orow[t] - np.float32(c)


@njit(**_JIT)
def layer_norm(x, w, b, eps, out, mean_out, rstd_out):
    """Per row: the mean and 1/sqrt(var + eps) in float64 (two passes, no cancellation), then the
    normalised row times ``w`` plus ``b`` (an empty ``w``/``b``: none)."""
    n = x.shape[1]
    has_w, has_b = w.size > 0, b.size > 0
    for r in range(x.shape[0]):
        xr, orow = x[r], out[r]
        mean = _sum(xr) / n
        rstd = 1.0 / math.sqrt(_sq_dev(xr, mean) / n + eps)
        for j in range(n):  # (x - mean) * rstd in float64: a float32 mean is off by up to ulp(mean) / 2
            orow[j] = (np.float64(xr[j]) - mean) * rstd
        if has_w and has_b:
            for j in range(n):
                orow[j] = orow[j] * w[j] + b[j]
        elif has_w:
            for j in range(n):
                orow[j] = orow[j] * w[j]
        elif has_b:
            for j in range(n):
                orow[j] = orow[j] + b[j]
        mean_out[r] = mean
        rstd_out[r] = rstd


@njit(**_JIT)
def layer_norm_backward(g, x, mean, rstd, w, gx, gw, gb, need_x, need_w, need_b):
    """The three gradients of layer_norm; ``gw``/``gb`` are float64 column sums."""
    rows, n = x.shape
    has_w = w.size > 0
    xhat = np.empty(n, np.float32)
    dy = np.empty(n, np.float32)
    for r in range(rows):
        gr, xr = g[r], x[r]
        mu, rs = mean[r], rstd[r]
        for j in range(n):
            xhat[j] = (np.float64(xr[j]) - np.float64(mu)) * np.float64(rs)
        if need_w:
            for j in range(n):
                gw[j] += np.float64(gr[j]) * np.float64(xhat[j])
        if need_b:
            for j in range(n):
                gb[j] += np.float64(gr[j])
        if need_x:
            if has_w:
                for j in range(n):
                    dy[j] = gr[j] * w[j]
            else:
                for j in range(n):
                    dy[j] = gr[j]
            a = np.float32(_sum(dy) / n)
            c32 = np.float32(_dot(dy, xhat, 0.0) / n)
            gxr = gx[r]
            for j in range(n):
                gxr[j] = (dy[j] - a - xhat[j] * c32) * rs


# ---- ReLU and its backward -------------------------------------------------------------------------
@njit(**_JIT)
def relu(x, zero, out):
    """out = max(x, 0) with x kept where it is not below 0: NaN and -0.0 pass (PyTorch's relu)."""
    for i in range(x.size):
        v = x[i]
        out[i] = zero if v < zero else v


@njit(**_JIT)
def relu_backward(g, y, zero, out):
    """out = 0 where y <= 0, else g (a NaN y passes g): one pass that LLVM turns into vector
    compares and blends (NumPy's branch-free version takes three)."""
    for i in range(g.size):
        out[i] = g[i] if not y[i] <= zero else zero


# ---- LSTM cell ------------------------------------------------------------------------------------
@njit(**_INLINE)
def _sigmoid_into(x, out):
    for j in range(x.size):
        out[j] = _ONE / (_ONE + exp(-x[j]))


@njit(**_INLINE)
def _tanh_into(x, out):
    for j in range(x.size):
        out[j] = tanh(x[j])


@njit(**_INLINE)
def _cell_row(gr, cr, cor, hr, ar, hs):
    """One row of lstm_cell: acts (ar, 5H), the new state (cor, H) and h (hr, H) from the gates
    (gr, 4H) and the state that entered (cr, H)."""
    _sigmoid_into(gr[:2 * hs], ar[:2 * hs])
    _tanh_into(gr[2 * hs:3 * hs], ar[2 * hs:3 * hs])
    _sigmoid_into(gr[3 * hs:], ar[3 * hs:4 * hs])
    i, f, g, o, tc = ar[:hs], ar[hs:2 * hs], ar[2 * hs:3 * hs], ar[3 * hs:4 * hs], ar[4 * hs:]
    for j in range(hs):
        cor[j] = f[j] * cr[j] + i[j] * g[j]
    _tanh_into(cor, tc)
    for j in range(hs):
        hr[j] = o[j] * tc[j]


@njit(**_JIT)
def lstm_cell(gates, c, h_out, c_out, acts):
    """gates (rows, 4H) in PyTorch's i, f, g, o order; acts (rows, 5H) keeps i, f, g, o, tanh(c').
    Each step is its own loop over a row's slice: one loop indexing several blocks of one array
    at offsets was not vectorised (4x slower)."""
    hs = c.shape[1]
    for r in range(c.shape[0]):
        _cell_row(gates[r], c[r], c_out[r], h_out[r], acts[r], hs)


@njit(**_INLINE)
def _cell_backward_row(ar, hr, dcr, cr, dg, dp, hs):
    """One row of lstm_cell's backward: dg (4H) and dp (H, may be dcr itself) from the gradients
    of h (hr) and c' (dcr), the row's acts (ar) and the state that entered (cr)."""
    for j in range(hs):
        i, f, gg, o, tc = ar[j], ar[hs + j], ar[2 * hs + j], ar[3 * hs + j], ar[4 * hs + j]
        h = hr[j]
        dct = dcr[j] + h * o * (_ONE - tc * tc)
        dg[j] = dct * gg * (i * (_ONE - i))
        dg[hs + j] = dct * cr[j] * (f * (_ONE - f))
        dg[2 * hs + j] = dct * i * (_ONE - gg * gg)
        dg[3 * hs + j] = h * tc * (o * (_ONE - o))
        dp[j] = dct * f


@njit(**_JIT)
def lstm_cell_backward(dh, dc, acts, c, dgates, dc_prev):
    hs = c.shape[1]
    for r in range(c.shape[0]):
        _cell_backward_row(acts[r], dh[r], dc[r], c[r], dgates[r], dc_prev[r], hs)


@njit(**_JIT)
def lstm_layer_step(mm, xproj, bias, has_bias, s, d0, d1, h, c, acts_s, c_prev_s, out):
    """Step ``s`` of directions d0..d1-1 of an LSTM layer (``rnn_kernels.lstm_layer``), in place:
    gates = mm[d] + xproj[t, :, d] (+ bias[d]) into mm (a scratch array), t = s forward and T-1-s
    for direction 1, then ``lstm_cell``'s arithmetic; c_prev_s keeps the state entering the step,
    h and c (D, B, H) become the new state, and h is also written to out[t, :, d*H:(d+1)*H]."""
    t_len = xproj.shape[0]
    hs = c.shape[2]
    for d in range(d0, d1):
        t = s if d == 0 else t_len - 1 - s
        for r in range(c.shape[1]):
            ar, mr, xr = acts_s[d, r], mm[d, r], xproj[t, r, d]
            if has_bias:
                br = bias[d]
                for j in range(4 * hs):
                    mr[j] = (mr[j] + xr[j]) + br[j]
            else:
                for j in range(4 * hs):
                    mr[j] += xr[j]
            cr, cp, hr = c[d, r], c_prev_s[d, r], h[d, r]
            for j in range(hs):
                cp[j] = cr[j]
            _cell_row(mr, cp, cr, hr, ar, hs)
            outr = out[t, r, d * hs:(d + 1) * hs]
            for j in range(hs):
                outr[j] = hr[j]


@njit(**_JIT)
def lstm_layer_step_backward(dout, has_dout, s, d0, d1, dh, dc, acts_s, c_prev_s, dg_s, dxproj, dbias):
    """Step ``s`` of directions d0..d1-1 of ``rnn_kernels.lstm_layer_backward``, in place: dh
    (D, B, H) holds the gradient reaching h from step s+1 and gains dout[t, :, d*H:(d+1)*H]; dc
    becomes the gradient of the state entering the step; the gates' gradient goes to dg_s
    (D, B, 4H) and dxproj[t, :, d], and is added to dbias (D, 4H, float64) while in cache.
    ``lstm_cell_backward``'s arithmetic, in its order."""
    t_len = dxproj.shape[0]
    hs = dc.shape[2]
    for d in range(d0, d1):
        t = s if d == 0 else t_len - 1 - s
        for r in range(dc.shape[1]):
            ar, hr, dcr, cr, dg, dx = acts_s[d, r], dh[d, r], dc[d, r], c_prev_s[d, r], dg_s[d, r], dxproj[t, r, d]
            if has_dout:
                dor = dout[t, r, d * hs:(d + 1) * hs]
                for j in range(hs):
                    hr[j] = dor[j] + hr[j]
            _cell_backward_row(ar, hr, dcr, cr, dg, dcr, hs)  # dc becomes the gradient entering the step
            db = dbias[d]
            for j in range(4 * hs):
                dx[j] = dg[j]
                db[j] += np.float64(dg[j])


# ---- a whole LSTM direction in one call: the products through OpenBLAS's cblas_sgemm --------------
@intrinsic
def _sgemm_ilp64(typingctx, fn, m, n, k, a, lda, b, ldb, c, ldc):  # noqa: ARG001
    """C (m, n) = A (m, k) @ B (k, n), row-major float32, through the ``cblas_sgemm`` of an ILP64
    OpenBLAS whose address is ``fn`` (a run-time argument: the compiled code holds no address, so
    numba's on-disk cache stays valid across processes). a, b, c are data addresses."""
    def codegen(context, builder, signature, args):  # noqa: ARG001
        from llvmlite import ir

        i32, i64, f32, vp = ir.IntType(32), ir.IntType(64), ir.FloatType(), ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, f32, vp, i64, vp, i64, f32, vp, i64])
        f, m_, n_, k_, a_, lda_, b_, ldb_, c_, ldc_ = args
        row_major, no_trans = ir.Constant(i32, 101), ir.Constant(i32, 111)
        builder.call(builder.inttoptr(f, fnty.as_pointer()),
                     [row_major, no_trans, no_trans, m_, n_, k_, ir.Constant(f32, 1.0), builder.inttoptr(a_, vp),
                      lda_, builder.inttoptr(b_, vp), ldb_, ir.Constant(f32, 0.0), builder.inttoptr(c_, vp), ldc_])
        return context.get_dummy_value()
    i64, u64 = types.int64, types.uint64
    return types.void(u64, i64, i64, i64, u64, i64, u64, i64, u64, i64), codegen


@njit(**_JIT)
def lstm_layer_direction(sgemm, xproj, bias, has_bias, d, h, c, w_t, mm, acts, c_prev, out):
    """Every step of direction d of ``rnn_kernels.lstm_layer`` (float32, C-contiguous h, c, w_t,
    mm): mm[d] = h[d] @ w_t[d] by ``sgemm`` (an ILP64 cblas_sgemm's address), then
    :func:`lstm_layer_step`. No Python per step, and the GIL is free all along (nogil)."""
    batch, hs = h.shape[1], h.shape[2]
    for s in range(xproj.shape[0]):
        _sgemm_ilp64(sgemm, batch, 4 * hs, hs, h[d].ctypes.data, hs, w_t[d].ctypes.data, 4 * hs,
                     mm[d].ctypes.data, 4 * hs)
        lstm_layer_step(mm, xproj, bias, has_bias, s, d, d + 1, h, c, acts[s], c_prev[s], out)


@njit(**_JIT)
def lstm_layer_direction_backward(sgemm, dout, has_dout, d, dh, dc, acts, c_prev, dg, dxproj, dbias, w_hh):
    """Every step of direction d of ``rnn_kernels.lstm_layer_backward`` in reverse:
    :func:`lstm_layer_step_backward`, then dh[d] = dg[d] @ w_hh[d] by ``sgemm`` (C-contiguous
    dh, dg, w_hh)."""
    batch, hs = dh.shape[1], dh.shape[2]
    for s in range(acts.shape[0] - 1, -1, -1):
        lstm_layer_step_backward(dout, has_dout, s, d, d + 1, dh, dc, acts[s], c_prev[s], dg, dxproj, dbias)
        _sgemm_ilp64(sgemm, batch, hs, 4 * hs, dg[d].ctypes.data, 4 * hs, w_hh[d].ctypes.data, hs,
                     dh[d].ctypes.data, hs)


# ---- stride-1 convolution on the "wide" layout (``nn_kernels._wide_geometry``) --------------------
# xf (N, C, flat) holds each zero-padded input plane flattened (row length Wp); tap k of the kernel
# reads the contiguous run xf[n, c, offs[k]:offs[k] + span] for the span = Ho * Wp wide output
# pixels (columns past Wo are garbage that the caller crops, or zero gradients). Every inner loop
# is one long contiguous run, so LLVM vectorises it; the arrays are sliced before the loop because
# an index computed as ``off + t`` would need numba's negative-index check on every element.
@njit(**_INLINE)
def _four_runs(plane, offs, k, span):
    """The runs of taps k..k+3 in a flattened padded plane."""
    return (plane[offs[k]:offs[k] + span], plane[offs[k + 1]:offs[k + 1] + span],
            plane[offs[k + 2]:offs[k + 2] + span], plane[offs[k + 3]:offs[k + 3] + span])


@njit(**_INLINE)
def _forward_rows4(plane, w, c, o, offs, span, ra, rb, rc, rd):
    """Four output rows (channels o..o+3) gain channel c's taps, four taps per pass: each input
    run is loaded once for the four rows, and each row is loaded and stored once per four taps.
    The adds stay in tap order, so the result is bitwise the one-tap-at-a-time loop's."""
    kk = offs.size
    k = 0
    while k + 4 <= kk:
        s0, s1, s2, s3 = _four_runs(plane, offs, k, span)
        a0, a1, a2, a3 = w[o, c, k], w[o, c, k + 1], w[o, c, k + 2], w[o, c, k + 3]
        b0, b1, b2, b3 = w[o + 1, c, k], w[o + 1, c, k + 1], w[o + 1, c, k + 2], w[o + 1, c, k + 3]
        c0, c1, c2, c3 = w[o + 2, c, k], w[o + 2, c, k + 1], w[o + 2, c, k + 2], w[o + 2, c, k + 3]
        d0, d1, d2, d3 = w[o + 3, c, k], w[o + 3, c, k + 1], w[o + 3, c, k + 2], w[o + 3, c, k + 3]
        for t in range(span):
            x0, x1, x2, x3 = s0[t], s1[t], s2[t], s3[t]
            ra[t] = (((ra[t] + a0 * x0) + a1 * x1) + a2 * x2) + a3 * x3
            rb[t] = (((rb[t] + b0 * x0) + b1 * x1) + b2 * x2) + b3 * x3
            rc[t] = (((rc[t] + c0 * x0) + c1 * x1) + c2 * x2) + c3 * x3
            rd[t] = (((rd[t] + d0 * x0) + d1 * x1) + d2 * x2) + d3 * x3
        k += 4
    while k < kk:
        src = plane[offs[k]:offs[k] + span]
        a0, b0, c0, d0 = w[o, c, k], w[o + 1, c, k], w[o + 2, c, k], w[o + 3, c, k]
        for t in range(span):
            x0 = src[t]
            ra[t] += a0 * x0
            rb[t] += b0 * x0
            rc[t] += c0 * x0
            rd[t] += d0 * x0
        k += 1


@njit(**_INLINE)
def _forward_row(plane, w, c, o, offs, span, row):
    """One output row gains channel c's taps, four taps per pass (same order as above)."""
    kk = offs.size
    k = 0
    while k + 4 <= kk:
        s0, s1, s2, s3 = _four_runs(plane, offs, k, span)
        a0, a1, a2, a3 = w[o, c, k], w[o, c, k + 1], w[o, c, k + 2], w[o, c, k + 3]
        for t in range(span):
            row[t] = (((row[t] + a0 * s0[t]) + a1 * s1[t]) + a2 * s2[t]) + a3 * s3[t]
        k += 4
    while k < kk:
        src = plane[offs[k]:offs[k] + span]
        a0 = w[o, c, k]
        for t in range(span):
            row[t] += a0 * src[t]
        k += 1


@njit(**_JIT)
def conv_wide_forward(xf, w, b, offs, span, wp, res):
    """res[n, o, y, x] = b[o] + sum over c, k of w[o, c, k] * xf[n, c, offs[k] + y * wp + x], summed
    in float32 in (c, k) order (PyTorch's own float32 kernels sum in their order; both round in
    float32). Output rows of the wide layout (``span`` = Ho * wp values, the last wp - Wo of each
    image row garbage) are computed four channels at a time while the taps stream past them
    (registers and L1), then their valid columns are copied out while still in L1: the products
    never go through memory as columns, nor the wide rows as a whole output."""
    n_out = w.shape[0]
    ho, wo = res.shape[2], res.shape[3]
    out = np.empty((4, span), res.dtype)
    for n in range(xf.shape[0]):
        o = 0
        while o < n_out:
            rows = out[:min(4, n_out - o)]
            for r in range(rows.shape[0]):
                bo = b[o + r]
                row = rows[r]
                for t in range(span):
                    row[t] = bo
            for c in range(xf.shape[1]):
                if rows.shape[0] == 4:
                    _forward_rows4(xf[n, c], w, c, o, offs, span, rows[0], rows[1], rows[2], rows[3])
                else:
                    for r in range(rows.shape[0]):
                        _forward_row(xf[n, c], w, c, o + r, offs, span, rows[r])
            for r in range(rows.shape[0]):
                row, dst = rows[r], res[n, o + r]
                for y in range(ho):
                    for x in range(wo):
                        dst[y, x] = row[y * wp + x]
            o += 4


@njit(nogil=True, error_model="numpy", cache=True, fastmath={"contract", "reassoc"})
def conv_wide_weight_grad(xf, grad, offs, span, wp, gw):
    """gw[o, c, k] += sum over n, t of g[n, o, t] * xf[n, c, offs[k] + t] (gw float64, zeroed by the
    caller), four taps per pass over the gradient row, where g[n, o] is grad[n, o] (N, O, Ho, Wo)
    laid out wide (rows of ``wp``, the garbage columns zero: :func:`_wide_rows`). One image's dot
    products are float32 sums that LLVM may reorder to vectorise them (``reassoc``, as a BLAS
    product orders its sums its own way; no other fast-math flag: NaN and inf propagate); the
    images add up in float64."""
    kk = offs.size
    g = np.zeros((grad.shape[1], span), grad.dtype)
    for n in range(xf.shape[0]):
        _wide_rows(grad[n], wp, g)
        for o in range(g.shape[0]):
            grow = g[o]
            for c in range(xf.shape[1]):
                plane = xf[n, c]
                k = 0
                while k + 4 <= kk:
                    s0, s1, s2, s3 = _four_runs(plane, offs, k, span)
                    a0 = a1 = a2 = a3 = np.float32(0.0)
                    for t in range(span):
                        gt = grow[t]
                        a0 += gt * s0[t]
                        a1 += gt * s1[t]
                        a2 += gt * s2[t]
                        a3 += gt * s3[t]
                    gw[o, c, k] += a0
                    gw[o, c, k + 1] += a1
                    gw[o, c, k + 2] += a2
                    gw[o, c, k + 3] += a3
                    k += 4
                while k < kk:
                    src = plane[offs[k]:offs[k] + span]
                    a0 = np.float32(0.0)
                    for t in range(span):
                        a0 += grow[t] * src[t]
                    gw[o, c, k] += a0
                    k += 1


@njit(**_INLINE)
def _wide_rows(img, wp, g):
    """g[o] = the (Ho, Wo) plane img[o] in rows of ``wp`` values, the columns past Wo zero (they must
    contribute nothing); one image at a time, so that the rows are built where they are used (L1)
    instead of as a whole wide copy of the gradient."""
    ho, wo = img.shape[1], img.shape[2]
    for o in range(img.shape[0]):
        src, dst = img[o], g[o]
        for y in range(ho):
            for x in range(wo):
                dst[y * wp + x] = src[y, x]
            for x in range(wo, wp):
                dst[y * wp + x] = 0


@njit(**_JIT)
def conv_wide_input_grad(grad, w, offs, span, wp, gxf):
    """gxf[n, c, offs[k] + t] += w[o, c, k] * g[n, o, t]: the transpose of ``conv_wide_forward``
    (gxf zeroed by the caller), g[n] being grad[n] (N, O, Ho, Wo) laid out wide (:func:`_wide_rows`).
    Each (n, c) plane stays in L1; each of its tap runs is loaded and stored once per four output
    channels."""
    n_out = grad.shape[1]
    gi = np.zeros((n_out, span), grad.dtype)
    for n in range(grad.shape[0]):
        _wide_rows(grad[n], wp, gi)
        for c in range(gxf.shape[1]):
            plane = gxf[n, c]
            for k in range(offs.size):
                dst = plane[offs[k]:offs[k] + span]
                o = 0
                while o + 4 <= n_out:
                    g0, g1, g2, g3 = gi[o], gi[o + 1], gi[o + 2], gi[o + 3]
                    w0, w1, w2, w3 = w[o, c, k], w[o + 1, c, k], w[o + 2, c, k], w[o + 3, c, k]
                    for t in range(span):
                        dst[t] = (((dst[t] + w0 * g0[t]) + w1 * g1[t]) + w2 * g2[t]) + w3 * g3[t]
                    o += 4
                while o < n_out:
                    g0, w0 = gi[o], w[o, c, k]
                    for t in range(span):
                        dst[t] += w0 * g0[t]
                    o += 1


@njit(**_JIT)
def col2im_wide(dcols, offs, span, gxf):
    """gxf[c, n, offs[k] + t] += dcols[c, k, n, t] (gxf zeroed by the caller): the input gradient
    from the columns' gradient, each (c, n) plane staying in L1 while its K taps add into it
    (NumPy's one add per tap moved the whole gradient through memory K times)."""
    for c in range(dcols.shape[0]):
        for n in range(dcols.shape[2]):
            plane = gxf[c, n]
            for k in range(offs.size):
                src = dcols[c, k, n]
                dst = plane[offs[k]:offs[k] + span]
                for t in range(span):
                    dst[t] += src[t]


# ---- index_put with accumulate over rows (an embedding's gradient) --------------------------------
@njit(nogil=True, error_model="numpy", cache=True)
def add_rows(out, index, values):
    """out[index[i]] += values[i] for each i in order: numpy.add.at's result (each row sums its values
    in index order), in one pass instead of add.at's per-element walk."""
    for i in range(index.size):
        orow, vrow = out[index[i]], values[i]
        for j in range(orow.size):
            orow[j] += vrow[j]


# ---- max pooling over 2x2 tiles ----------------------------------------------------------------------
@njit(nogil=True, error_model="numpy", cache=True)
def max_pool_2x2(x, out, idx):
    """out, idx (P, Ho, Wo) of planes x (P, H, W) pooled over 2x2 windows with stride 2: each
    window's taps in PyTorch's order (a, b on the first row, c, d on the second), a tap taking over
    when it is larger or NaN, so the result is the first maximum or the last NaN. The four taps are
    written out: a loop over a window's taps (with its bounds) ran 4x slower."""
    W = x.shape[2]
    for p in range(x.shape[0]):
        for oy in range(out.shape[1]):
            r0, r1 = x[p, 2 * oy], x[p, 2 * oy + 1]
            o, ix = out[p, oy], idx[p, oy]
            base = 2 * oy * W
            for ox in range(out.shape[2]):
                a, b, c, d = r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]
                best, k = a, 0
                if b > best or b != b:
                    best, k = b, 1
                if c > best or c != c:
                    best, k = c, W
                if d > best or d != d:
                    best, k = d, W + 1
                o[ox] = best
                ix[ox] = base + 2 * ox + k


# ---- max pooling's backward --------------------------------------------------------------------------
@njit(nogil=True, error_model="numpy", cache=True)
def max_pool2d_backward(grad, idx, out):
    """out (planes, H*W) zeroed; each output's gradient added at its window's index, in order."""
    for p in range(grad.shape[0]):
        gp, ip, op = grad[p], idx[p], out[p]
        for k in range(gp.size):
            op[ip[k]] += gp[k]


# ---- bfloat16 <-> float32 (ml_dtypes' conversions, one pass each) -------------------------------
@njit(nogil=True, error_model="numpy", cache=True)
def bf16_bits_to_f32_bits(src, out):
    """A bfloat16 is the upper half of the float32 with the same value: exact."""
    for i in range(src.size):
        out[i] = np.uint32(src[i]) << np.uint32(16)


@njit(nogil=True, error_model="numpy", cache=True)
def f32_bits_to_bf16_bits(src, out):
    """Round to nearest, ties to even, on the bit pattern (overflow rounds to inf); a NaN becomes
    the quiet NaN 0x7fc0 with its sign, as ml_dtypes' ``astype`` gives."""
    for i in range(src.size):
        u = np.int64(src[i])
        rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
        nan = (u & 0x7FFFFFFF) > 0x7F800000
        out[i] = np.uint16(((u >> 16) & 0x8000) | 0x7FC0) if nan else np.uint16(rounded & 0xFFFF)
