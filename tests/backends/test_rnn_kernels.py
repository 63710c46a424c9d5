"""The cpu backend's whole-layer LSTM kernels (``ember_cpu_numpy.rnn_kernels``) on each of their
paths (the compiled loop that calls OpenBLAS's cblas_sgemm itself, compiled steps between NumPy
products, NumPy's cell kernels) against the conformance suite's float64 reference, the paths
against one another (the same arithmetic, so the same bits but for BLAS), and the per-step
kernels they replace."""

from __future__ import annotations

import numpy as np
import pytest
from ember_conformance import reference as R
from ember_cpu_numpy import blas, nn_kernels, numba_nn, rnn_kernels

SHAPES = [(6, 3, 2, 5), (4, 2, 1, 3), (1, 1, 2, 2), (3, 0, 2, 4)]  # (T, B, D, H): bidirectional, one
#                                          direction, one step and batch 1, an empty batch


def _inputs(shape, dtype, seed=0):
    t_len, batch, ndir, hs = shape
    rng = np.random.default_rng(seed)
    xproj = (rng.standard_normal((t_len, batch, ndir, 4 * hs)) * 2).astype(dtype)
    h0, c0 = (rng.standard_normal((ndir, batch, hs)).astype(dtype) for _ in range(2))
    w = (rng.standard_normal((ndir, 4 * hs, hs)) * 0.5).astype(dtype)
    bias = rng.standard_normal((ndir, 4 * hs)).astype(dtype)
    dout = rng.standard_normal((t_len, batch, ndir * hs)).astype(dtype)
    dh_n, dc_n = (rng.standard_normal((ndir, batch, hs)).astype(dtype) for _ in range(2))
    return (xproj, h0, c0, w, bias), (dout, dh_n, dc_n)


def _run(fwd_args, grads):
    fwd = rnn_kernels.lstm_layer(*fwd_args)
    out, h_n, c_n, acts, c_prev = fwd
    bwd = rnn_kernels.lstm_layer_backward(*grads, acts, c_prev, fwd_args[1], fwd_args[3])
    return fwd, bwd


@pytest.fixture(params=["sgemm-loop", "compiled-steps", "numpy-steps"])
def path(request, monkeypatch):
    if request.param == "sgemm-loop":
        if numba_nn.loops() is None or not blas.SGEMM_ILP64:
            pytest.skip("needs numba and NumPy's bundled ILP64 OpenBLAS")
    elif request.param == "compiled-steps":
        if numba_nn.loops() is None:
            pytest.skip("needs numba")
        monkeypatch.setattr(blas, "SGEMM_ILP64", 0)
    else:
        monkeypatch.setattr(rnn_kernels, "_loops", lambda dt: None)
    return request.param


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_matches_the_float64_reference(path, shape, dtype):
    fwd_args, grads = _inputs(shape, dtype)
    if shape[1] == 2:  # one sample without the bias
        fwd_args = fwd_args[:4] + (None,)
    fwd, bwd = _run(fwd_args, grads)
    want_fwd = R.lstm_layer(*(None if a is None else a.astype(np.float64) for a in fwd_args))
    want_bwd = R.lstm_layer_backward(*(g.astype(np.float64) for g in grads), want_fwd[3], want_fwd[4],
                                     fwd_args[1].astype(np.float64), fwd_args[3].astype(np.float64))
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    for i, (got, want) in enumerate(zip(fwd + bwd, want_fwd + want_bwd)):
        assert got.dtype == dtype and got.shape == want.shape, f"output {i}: {got.dtype}{got.shape}"
        np.testing.assert_allclose(got, want, err_msg=f"output {i}", **tol)


@pytest.mark.parametrize("which", ["dout", "dh_n", "dc_n", "all"])
def test_absent_gradients_count_as_zero(path, which):
    fwd_args, grads = _inputs((5, 2, 2, 3), np.float32, seed=1)
    names = ("dout", "dh_n", "dc_n")
    given = tuple(None if which in (n, "all") else g for n, g in zip(names, grads))
    zeros = tuple(np.zeros_like(g) if which in (n, "all") else g for n, g in zip(names, grads))
    fwd, got = _run(fwd_args, given)
    _, want = _run(fwd_args, zeros)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_paths_agree_and_inputs_are_left_alone(monkeypatch):
    """The three paths agree to float32 rounding (NumPy's exp and tanh are not the loops'); a
    non-contiguous output gradient and state read as their contiguous copies; no input written."""
    if numba_nn.loops() is None:
        pytest.skip("needs numba")
    fwd_args, grads = _inputs((7, 4, 2, 6), np.float32, seed=2)
    dout_strided = np.repeat(grads[0], 2, axis=-1)[..., ::2]
    h0_t = np.ascontiguousarray(np.swapaxes(fwd_args[1], 1, 2)).swapaxes(1, 2)  # same values, transposed layout
    copies = [a.copy() for a in fwd_args + grads]
    results = []
    for variant in ("sgemm-loop", "compiled-steps", "numpy-steps"):
        with monkeypatch.context() as m:
            if variant == "compiled-steps":
                m.setattr(blas, "SGEMM_ILP64", 0)
            elif variant == "numpy-steps":
                m.setattr(rnn_kernels, "_loops", lambda dt: None)
            args = (fwd_args[0], h0_t) + fwd_args[2:]
            results.append(_run(args, (dout_strided,) + grads[1:]))
    for a, b in zip(fwd_args + grads, copies):
        np.testing.assert_array_equal(a, b)
    flat = [list(f) + list(b) for f, b in results]
    for other in flat[1:]:
        for i, (x, y) in enumerate(zip(flat[0], other)):
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"output {i}")


def test_one_step_equals_the_cell_kernels():
    """A one-step layer is one product plus ``lstm_cell``; its backward is ``lstm_cell_backward``."""
    fwd_args, grads = _inputs((1, 3, 2, 4), np.float64, seed=3)
    xproj, h0, c0, w, bias = fwd_args
    (out, h_n, c_n, acts, _), (dx, dh0, dc0, _, dbias) = _run(fwd_args, grads)
    gates = h0 @ w.transpose(0, 2, 1) + xproj[0].transpose(1, 0, 2) + bias[:, None]  # (D, B, 4H)
    h_ref, c_ref, acts_ref = nn_kernels.lstm_cell(gates, c0)
    np.testing.assert_allclose(h_n, h_ref, rtol=1e-14)
    np.testing.assert_allclose(c_n, c_ref, rtol=1e-14)
    np.testing.assert_allclose(acts[0], acts_ref, rtol=1e-14)
    np.testing.assert_allclose(out[0], h_ref.transpose(1, 0, 2).reshape(3, 8), rtol=1e-14)
    dh = grads[0][0].reshape(3, 2, 4).transpose(1, 0, 2) + grads[1]
    dg_ref, dc_ref = nn_kernels.lstm_cell_backward(dh, grads[2], acts_ref, c0)
    np.testing.assert_allclose(dx[0].transpose(1, 0, 2), dg_ref, rtol=1e-13)
    np.testing.assert_allclose(dc0, dc_ref, rtol=1e-13)
    np.testing.assert_allclose(dh0, dg_ref @ w, rtol=1e-13)
    np.testing.assert_allclose(dbias, dg_ref.sum(axis=1), rtol=1e-13)


def test_one_thread_block_sets_and_restores_openblas_threads():
    """``blas.one_thread(mnk)``: one OpenBLAS thread inside the block for the sizes ``blas.matmul``
    runs on one thread, the caller's count back afterwards (also after an exception); other sizes
    leave the count alone."""
    if not blas.AVAILABLE:
        pytest.skip("NumPy's BLAS exports no thread-count functions")
    before = blas._get_threads()
    if before < 2:
        blas._set_threads(2)
    try:
        n = blas._get_threads()
        with blas.one_thread(32 * 64 * 256):
            assert blas._get_threads() == 1
        assert blas._get_threads() == n
        with pytest.raises(ValueError), blas.one_thread(32 * 64 * 256):
            raise ValueError
        assert blas._get_threads() == n
        for mnk in (1000, blas.SMALL_MNK * 2):  # OpenBLAS's own single-thread range; large products
            with blas.one_thread(mnk):
                assert blas._get_threads() == n
    finally:
        blas._set_threads(before)
