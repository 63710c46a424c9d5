"""A whole LSTM layer's time loop as one kernel each way (``lstm_layer``, ``lstm_layer_backward``).

The frontend's layer (``ember.nn._rnn``) runs its steps through the kernel table when a backend
lacks these: per step a product, an add of the input projection and a cell, then whole-sequence
copies to stack the steps, split the directions and flip the reverse one back in time. Here the
loop runs in the backend on preallocated arrays: per step one product of the hidden state (on
one BLAS thread: it is small, see ``blas.py``) and one compiled loop (numba, float32) that adds
the input projection and the bias, runs the cell and writes h straight into its place in the
output; the backward writes the gates' gradient straight into the input projection's and adds it
to the bias's gradient while it is in cache. No pass over a whole sequence is made besides the
products of ``weight_hh``'s gradient. With NumPy's bundled OpenBLAS (ILP64) the whole loop of a
direction is one compiled call that calls ``cblas_sgemm`` itself: no Python per step.

The cell arithmetic is ``lstm_cell``'s, in its order. The bias is added to the gates here, where
the per-step path adds it to the projection first, so the two paths differ in the last bits.

Why the two directions of a bidirectional layer do not run on two threads: they would only take
turns with OpenBLAS's own worker, which keeps spinning on the second core for about 0.1 s after
every threaded product (the input projections are threaded), so the whole step measured slower
that way (docs/performance.md).

float64 (and float32 without numba) runs the same loop with NumPy's cell kernels per direction;
float16/bfloat16 arrive widened to float32 (``lowp``) and their results are rounded once.

Example:
    >>> import numpy as np
    >>> x = np.zeros((5, 2, 1, 8), np.float32)  # (T, B, directions, 4H)
    >>> h0 = c0 = np.zeros((1, 2, 2), np.float32)
    >>> out, h, c, acts, c_prev = lstm_layer(x, h0, c0, np.zeros((1, 8, 2), np.float32))
    >>> out.shape, h.shape, acts.shape
    ((5, 2, 2), (1, 2, 2), (5, 1, 2, 10))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember_cpu_numpy import blas, nn_kernels, numba_nn

__all__ = ["lstm_layer", "lstm_layer_backward", "RNN_KERNELS"]

_F32 = np.dtype(np.float32)


def _loops(dt: np.dtype) -> Any:
    return numba_nn.loops() if dt == _F32 else None


def lstm_layer(xproj: Any, h0: Any, c0: Any, w_hh: Any, bias: Any = None) -> tuple:
    """(out (T, B, D*H), h_n, c_n, acts (T, D, B, 5H), c_prev (T, D, B, H)) of ``kernels.lstm_layer``."""
    t_len, batch, ndir, g4 = xproj.shape
    hs = g4 // 4
    dt = xproj.dtype
    h = np.array(h0, dt, order="C")  # the running state: updated in place, returned as h_n / c_n
    c = np.array(c0, dt, order="C")
    w_t = np.ascontiguousarray(np.swapaxes(w_hh, 1, 2), dt)  # (D, H, 4H): a transposed operand costs 2x per step
    out = np.empty((t_len, batch, ndir * hs), dt)
    acts = np.empty((t_len, ndir, batch, 5 * hs), dt)
    c_prev = np.empty((t_len, ndir, batch, hs), dt)
    mm = np.empty((ndir, batch, g4), dt)
    b = np.empty((0, 0), dt) if bias is None else np.ascontiguousarray(bias, dt)
    lp = _loops(dt)
    with blas.one_thread(batch * hs * g4):
        if lp is not None and blas.SGEMM_ILP64:
            for d in range(ndir):
                lp.lstm_layer_direction(blas.SGEMM_ILP64, xproj, b, bias is not None, d, h, c, w_t, mm, acts, c_prev,
                                        out)
        else:
            step = lp.lstm_layer_step if lp is not None else _step
            for s in range(t_len):
                np.matmul(h, w_t, out=mm)
                step(mm, xproj, b, bias is not None, s, 0, ndir, h, c, acts[s], c_prev[s], out)
    return out, h, c, acts, c_prev


def lstm_layer_backward(dout: Any, dh_n: Any, dc_n: Any, acts: Any, c_prev: Any, h0: Any, w_hh: Any) -> tuple:
    """(dxproj (T, B, D, 4H), dh0, dc0, dw_hh (D, 4H, H), dbias (D, 4H)) of ``kernels.lstm_layer_backward``."""
    t_len, ndir, batch, h5 = acts.shape
    hs = h5 // 5
    dt = acts.dtype
    dh = np.zeros((ndir, batch, hs), dt) if dh_n is None else np.array(dh_n, dt, order="C")
    dc = np.zeros((ndir, batch, hs), dt) if dc_n is None else np.array(dc_n, dt, order="C")
    dy = np.empty((0, 0, 0), dt) if dout is None else dout
    dxproj = np.empty((t_len, batch, ndir, 4 * hs), dt)
    dg = np.empty((ndir, batch, 4 * hs), dt)
    db = np.zeros((ndir, 4 * hs))  # float64: the sum of every step's and row's gates' gradient
    lp = _loops(dt)
    with blas.one_thread(batch * hs * 4 * hs):
        if lp is not None and blas.SGEMM_ILP64:
            w = np.ascontiguousarray(w_hh)
            for d in range(ndir):
                lp.lstm_layer_direction_backward(blas.SGEMM_ILP64, dy, dout is not None, d, dh, dc, acts, c_prev, dg,
                                                 dxproj, db, w)
        else:
            step = lp.lstm_layer_step_backward if lp is not None else _step_backward
            for s in range(t_len - 1, -1, -1):
                step(dy, dout is not None, s, 0, ndir, dh, dc, acts[s], c_prev[s], dg, dxproj, db)
                np.matmul(dg, w_hh, out=dh)  # the gradient reaching the previous step's h
    return dxproj, dh, dc, _weight_grad(dxproj, acts, h0), db.astype(dt)


def _weight_grad(dxproj: Any, acts: Any, h0: Any) -> Any:
    """dW_hh[d] = sum over steps of dgates^T @ h entering the step: h0 for the first step, else
    o * tanh(c) of the step before, from ``acts`` (the same bits as the forward's h; the layer's
    output may have been changed in place since). h is laid out by time, as dxproj is, so each
    direction's sum is one product (plus h0's)."""
    t_len, batch, ndir, g4 = dxproj.shape
    hs = g4 // 4
    dw = np.zeros((ndir, g4, hs), dxproj.dtype)
    if t_len == 0:
        return dw
    h = np.empty((ndir, t_len, batch, hs), dxproj.dtype)  # h[d, t]: direction d's h at time t
    for d in range(ndir):
        steps = slice(None) if d == 0 else slice(None, None, -1)  # direction 1's steps run back in time
        np.multiply(acts[steps, d, :, 3 * hs:4 * hs], acts[steps, d, :, 4 * hs:], out=h[d])
        dg_d = dxproj[:, :, d]  # (T, B, 4H) in time order
        # direction 0 enters step t with h[t-1], direction 1 (reversed) with h[t+1]
        later, earlier, first = (slice(1, None), slice(None, -1), 0) if d == 0 else \
            (slice(None, -1), slice(1, None), t_len - 1)
        dw[d] = dg_d[first].T @ h0[d]
        if t_len > 1:
            dw[d] += dg_d[later].reshape(-1, g4).T @ h[d, earlier].reshape(-1, hs)
    return dw


# ---- NumPy steps (float64, or no numba): the same arithmetic through nn_kernels' cell kernels -------
def _step(mm, xproj, bias, has_bias, s, d0, d1, h, c, acts_s, c_prev_s, out):
    t_len, hs = xproj.shape[0], c.shape[2]
    for d in range(d0, d1):
        t = s if d == 0 else t_len - 1 - s
        c_prev_s[d] = c[d]
        gates = mm[d] + xproj[t, :, d]
        if has_bias:
            gates += bias[d]
        h_new, c_new, a = nn_kernels.lstm_cell(gates, c_prev_s[d])
        h[d], c[d], acts_s[d] = h_new, c_new, a
        out[t, :, d * hs:(d + 1) * hs] = h_new


def _step_backward(dout, has_dout, s, d0, d1, dh, dc, acts_s, c_prev_s, dg_s, dxproj, dbias):
    t_len, hs = dxproj.shape[0], dc.shape[2]
    for d in range(d0, d1):
        t = s if d == 0 else t_len - 1 - s
        if has_dout:
            dh[d] = dout[t, :, d * hs:(d + 1) * hs] + dh[d]
        dg_s[d], dc[d] = nn_kernels.lstm_cell_backward(dh[d], dc[d], acts_s[d], c_prev_s[d])
        dxproj[t, :, d] = dg_s[d]
        dbias[d] += dg_s[d].sum(axis=0, dtype=np.float64)


RNN_KERNELS: dict = {"lstm_layer": lstm_layer, "lstm_layer_backward": lstm_layer_backward}
