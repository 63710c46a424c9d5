"""The fused paths added for speed, against independent references.

* the LSTM layer node (``ember.nn._rnn``): gradients against finite differences, with the
  backend's whole-layer ``lstm_layer`` kernels, its ``lstm_cell`` kernels and the composite of
  required kernels, and double backward;
* the NumPy backend's conv/pool kernels on LeNet-sized inputs, called repeatedly (their scratch
  buffers are reused) against the float64 explicit-patch references of the conformance suite;
* max pooling's index rules (first maximum, NaN) against a loop over the windows;
* small matrix products on one BLAS thread against float64 products.
"""

from __future__ import annotations

import ember
import nn_np_ref as ref
import numpy as np
import pytest
from ember import nn
from ember_conformance import reference as R

LSTM_LAYER_KERNELS = {"lstm_layer", "lstm_layer_backward"}
LSTM_KERNELS = {"lstm_cell", "lstm_cell_backward"} | LSTM_LAYER_KERNELS


@pytest.fixture(params=["layer", "cell", "composite"])
def lstm_path(request, hide_kernels):
    """The backend's whole-layer kernels, its per-step cell kernels, or neither."""
    if request.param == "cell":
        hide_kernels(LSTM_LAYER_KERNELS)
    elif request.param == "composite":
        hide_kernels(LSTM_KERNELS)
    return request.param


def test_lstm_gradients_match_finite_differences(lstm_path, device):
    """d(out, h_n, c_n) / d(input, h0, c0) of a 2-layer bidirectional LSTM against finite differences."""
    ember.manual_seed(3)
    lstm = nn.LSTM(3, 2, num_layers=2, bidirectional=True).double().to(device)
    x = ember.randn(4, 2, 3, dtype=ember.float64, device=device, requires_grad=True)
    h0 = ember.randn(4, 2, 2, dtype=ember.float64, device=device, requires_grad=True)
    c0 = ember.randn(4, 2, 2, dtype=ember.float64, device=device, requires_grad=True)

    def fn(x, h0, c0):
        out, (h, c) = lstm(x, (h0, c0))
        return out, h, c

    assert ember.autograd.gradcheck(fn, (x, h0, c0))


def test_lstm_parameter_gradients_by_finite_differences(lstm_path, device):
    """.grad of every weight after backward() equals the central difference of the loss."""
    ember.manual_seed(4)
    lstm = nn.LSTM(2, 3, num_layers=1, bidirectional=True, batch_first=True).double().to(device)
    rng = np.random.default_rng(0)
    x = ember.tensor(rng.standard_normal((2, 5, 2)), device=device)
    wout = rng.standard_normal((2, 5, 6))

    def loss():
        out, (h, c) = lstm(x)
        return (out * ember.tensor(wout, device=device)).sum() + h.sum() * 0.5 - (c * c).sum()

    ref.check_param_grads(lstm, loss)


def test_lstm_double_backward(lstm_path):
    ember.manual_seed(5)
    lstm = nn.LSTM(2, 2, bidirectional=True).double()
    x = ember.randn(3, 1, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a: lstm(a)[0], (x,))


# ---- NumPy conv/pool kernels on realistic shapes -----------------------------------------------
CPU_CONV_CASES = [  # (x shape, w shape, stride, padding, dilation, groups)
    ((16, 1, 28, 28), (6, 1, 5, 5), (1, 1), (2, 2), (1, 1), 1),  # LeNet conv1
    ((16, 6, 14, 14), (16, 6, 5, 5), (1, 1), (0, 0), (1, 1), 1),  # LeNet conv2
    ((3, 4, 11, 9), (6, 2, 3, 3), (1, 1), (1, 2), (2, 1), 2),  # wide path: dilation, groups
    ((3, 4, 11, 9), (4, 4, 3, 2), (2, 3), (1, 0), (1, 2), 1),  # strided path
    ((2, 6, 7, 7), (6, 2, 1, 3), (2, 2), (0, 1), (1, 1), 3),
    # few output channels (the compiled direct loops): 4-channel blocks and the rows left over,
    # tap counts that leave 0-3 taps after the 4-tap passes, one image, dilation
    ((5, 3, 9, 11), (7, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
    ((1, 2, 8, 8), (1, 2, 2, 3), (1, 1), (0, 1), (1, 1), 1),
    ((4, 5, 10, 9), (3, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ((3, 2, 12, 10), (8, 2, 3, 2), (1, 1), (2, 1), (2, 3), 1),
    ((2, 9, 6, 7), (5, 9, 2, 2), (1, 1), (1, 0), (1, 1), 1),
]


@pytest.fixture(params=["loops", "numpy"])
def conv_path(request, monkeypatch):
    """loops: the cpu backend's compiled direct convolution and col2im loops, when numba is
    installed; numpy: the GEMM path and NumPy's col2im, as a backend without numba runs them."""
    from ember_cpu_numpy import numba_nn

    if request.param == "numpy":
        monkeypatch.setattr(numba_nn, "conv_loops", lambda *arrays: None)
    elif numba_nn.loops() is None:
        pytest.skip("numba is not installed")
    return request.param


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("case", CPU_CONV_CASES, ids=lambda c: f"x{c[0]}-w{c[1]}-s{c[2]}-p{c[3]}-d{c[4]}-g{c[5]}")
def test_cpu_conv_kernels_against_patch_reference(case, conv_path, dtype, bias):
    from ember_cpu_numpy.nn_kernels import NN_KERNELS as K

    xs, ws, st, pad, dil, g = case
    rng = np.random.default_rng(7)
    tol = {"rtol": 1e-4, "atol": 2e-3} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-10}
    for _ in range(2):  # the second call reuses the first one's scratch buffers
        x = rng.standard_normal(xs).astype(dtype)
        w = rng.standard_normal(ws).astype(dtype)
        b = rng.standard_normal(ws[0]).astype(dtype) if bias else None
        want = R.conv2d(x.astype(np.float64), w.astype(np.float64), None if b is None else b.astype(np.float64),
                        st, pad, dil, g)
        got = K["conv2d"](x, w, b, st, pad, dil, g)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, want, **tol)
        grad = rng.standard_normal(want.shape).astype(dtype)
        wx, ww, wb = R.conv2d_backward(grad.astype(np.float64), x.astype(np.float64), w.astype(np.float64), st, pad,
                                       dil, g, (True, True, True))
        gx, gw, gb = K["conv2d_backward"](grad, x, w, st, pad, dil, g, (True, True, True))
        for a, e in ((gx, wx), (gw, ww), (gb, wb)):
            assert a.dtype == dtype and a.shape == e.shape
            np.testing.assert_allclose(a, e, **tol)
        only_w = K["conv2d_backward"](grad, x, w, st, pad, dil, g, (False, True, False))
        assert only_w[0] is None and only_w[2] is None
        np.testing.assert_allclose(only_w[1], ww, **tol)
        only_x = K["conv2d_backward"](grad, x, w, st, pad, dil, g, (True, False, False))
        assert only_x[1] is None and only_x[2] is None
        np.testing.assert_allclose(only_x[0], wx, **tol)


def test_cpu_conv_col2im_loop_is_bitwise_numpys(monkeypatch):
    """Past 8 output channels the input gradient is a GEMM plus col2im; the compiled col2im adds
    each tap in NumPy's order, so the two agree bit for bit."""
    from ember_cpu_numpy import numba_nn
    from ember_cpu_numpy.nn_kernels import NN_KERNELS as K

    if numba_nn.loops() is None:
        pytest.skip("numba is not installed")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((6, 4, 9, 8)).astype(np.float32)
    w = rng.standard_normal((12, 4, 3, 3)).astype(np.float32)
    grad = rng.standard_normal((6, 12, 9, 8)).astype(np.float32)
    looped = K["conv2d_backward"](grad, x, w, (1, 1), (1, 1), (1, 1), 1, (True, False, False))[0]
    monkeypatch.setattr(numba_nn, "conv_loops", lambda *arrays: None)
    np.testing.assert_array_equal(looped, K["conv2d_backward"](grad, x, w, (1, 1), (1, 1), (1, 1), 1,
                                                               (True, False, False))[0])


def _loop_max_pool(x, k, s, p, d, ceil):
    """Window by window, as PyTorch's pooling loop: the first position holding the maximum, but
    every NaN takes over (a window with NaNs gives its last NaN)."""
    n, c, h, w = x.shape
    ho = R._out_size(h, k[0], s[0], p[0], d[0], ceil)
    wo = R._out_size(w, k[1], s[1], p[1], d[1], ceil)
    out = np.empty((n, c, ho, wo), x.dtype)
    idx = np.empty((n, c, ho, wo), np.int64)
    for a, b, i, j in np.ndindex(n, c, ho, wo):
        best, pos = None, None
        for u in range(k[0]):
            for v in range(k[1]):
                r, q = i * s[0] - p[0] + u * d[0], j * s[1] - p[1] + v * d[1]
                if not (0 <= r < h and 0 <= q < w):
                    continue
                val = x[a, b, r, q]
                if best is None or np.isnan(val) or val > best:
                    best, pos = val, r * w + q
        out[a, b, i, j], idx[a, b, i, j] = best, pos
    return out, idx


@pytest.mark.parametrize("k,s,p,d,ceil", [((2, 2), (2, 2), (0, 0), (1, 1), False),
                                          ((3, 3), (2, 2), (1, 1), (1, 1), False),
                                          ((3, 2), (1, 2), (1, 0), (1, 2), True)])
def test_cpu_max_pool_ties_and_nan(k, s, p, d, ceil):
    from ember_cpu_numpy.nn_kernels import NN_KERNELS as K

    rng = np.random.default_rng(1)
    x = rng.integers(-2, 3, (2, 3, 7, 8)).astype(np.float32)  # many ties
    x[0, 0, 2, 3] = x[1, 2, 4, 4] = x[1, 2, 4, 5] = np.nan
    out, idx = K["max_pool2d"](x, k, s, p, d, ceil)
    want, widx = _loop_max_pool(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(out, want)
    np.testing.assert_array_equal(idx, widx)
    grad = rng.standard_normal(out.shape).astype(np.float32)
    gx = K["max_pool2d_backward"](grad, idx, x.shape)
    expect = np.zeros((2, 3, 7 * 8))
    for a, b, i, j in np.ndindex(*grad.shape):
        expect[a, b, idx[a, b, i, j]] += grad[a, b, i, j]
    np.testing.assert_allclose(gx, expect.reshape(x.shape), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape", [((3, 4), (4, 5)), ((32, 64), (64, 256)), ((2, 32, 64), (2, 64, 256)),
                                   ((64, 784), (784, 512))])
def test_cpu_matmul_small_products_on_one_thread(shape):
    from ember_cpu_numpy import blas

    rng = np.random.default_rng(2)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shape)
    before = blas._get_threads() if blas.AVAILABLE else None
    got = ember.tensor(a) @ ember.tensor(b)
    np.testing.assert_allclose(got.numpy(), a.astype(np.float64) @ b.astype(np.float64), rtol=1e-4, atol=1e-4)
    if blas.AVAILABLE:
        assert blas._get_threads() == before  # the thread count is restored


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int8", "uint8", "bool"])
def test_cpu_where_large_arrays_select_exact_bits(dtype):
    """The cpu where kernel selects branch-free above 4096 elements: same values (and bits) as np.where."""
    from ember_cpu_numpy.kernels import KERNELS

    rng = np.random.default_rng(3)
    dt = np.dtype(dtype)

    def arr(shape):
        a = (rng.standard_normal(shape) * 50).astype(dt) if dt.kind != "u" else rng.integers(0, 255, shape).astype(dt)
        if dt.kind == "f":
            a.flat[:3] = [np.nan, -0.0, np.inf]
        return a

    for cshape, ashape, bshape in [((80, 90), (80, 90), (80, 90)), ((80, 1), (80, 90), (1, 90)), ((80, 90), (), (80, 90)),
                                   ((80, 90), (80, 90), ())]:
        cond = rng.random(cshape) > 0.5
        a = arr(ashape) if ashape else (True if dt.kind == "b" else dt.type(7).item())
        b = arr(bshape) if bshape else (False if dt.kind == "b" else dt.type(3).item())
        got = KERNELS["where"](cond, a, b)
        want = np.where(cond, a, b).astype(dt)
        assert got.dtype == dt and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint8), np.ascontiguousarray(want).view(np.uint8))
    view = arr((90, 80)).T  # a transposed operand
    cond = rng.random((80, 90)) > 0.5
    np.testing.assert_array_equal(KERNELS["where"](cond, view, arr((80, 90)))[cond], view[cond])


@pytest.mark.parametrize("stride", [(1, 1), (2, 1)])
def test_cpu_conv_backward_after_input_changed_in_place(stride):
    """conv2d_backward reuses the forward's im2col columns only for an identical input."""
    from ember_cpu_numpy.nn_kernels import NN_KERNELS as K

    rng = np.random.default_rng(8)
    x = rng.standard_normal((16, 3, 20, 20)).astype(np.float32)
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    out = K["conv2d"](x, w, None, stride, (1, 1), (1, 1), 1)
    grad = rng.standard_normal(out.shape).astype(np.float32)
    x[3, 1, 5, 7] += 10.0  # the same array object, different contents
    _, gw, _ = K["conv2d_backward"](grad, x, w, stride, (1, 1), (1, 1), 1, (False, True, False))
    want = R.conv2d_backward(grad.astype(np.float64), x.astype(np.float64), w.astype(np.float64), stride, (1, 1),
                             (1, 1), 1, (False, True, False))[1]
    np.testing.assert_allclose(gw, want, rtol=1e-4, atol=2e-3)


# ---- cross-entropy and relu backward: the fused kernels and the composite paths ----------------------
CE_KERNELS = {"cross_entropy", "cross_entropy_backward", "relu_backward"}


@pytest.fixture(params=["fused", "log_softmax", "composite"])
def ce_path(request, hide_kernels):
    """fused: the backend's cross_entropy kernels; log_softmax: the array path over log_softmax;
    composite: ember ops only."""
    if request.param == "log_softmax":
        hide_kernels(CE_KERNELS)
    elif request.param == "composite":
        hide_kernels(CE_KERNELS | {"log_softmax", "softmax"})
    return request.param


def _ce_numpy(x, t, w, ignore, reduction):
    """The loss and the gradient of its sum, from the conformance suite's row-by-row references."""
    loss, _, w_rows, w_sum = R.cross_entropy(x, t, w, ignore, reduction)
    return loss, R.cross_entropy_backward(np.ones(()), x, t, w_rows, w_sum, reduction)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_paths_match_definition(ce_path, reduction, weighted, device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((7, 5)) * 3
    t = np.array([4, 0, 2, 2, 1, 2, 3])  # ignore_index=2 is a class index: those rows drop out
    w = rng.uniform(0.2, 2.0, 5) if weighted else None
    xt = ember.tensor(x, device=device, requires_grad=True)
    out = ember.nn.functional.cross_entropy(xt, ember.tensor(t, device=device), ignore_index=2,
                                            weight=None if w is None else ember.tensor(w, device=device),
                                            reduction=reduction)
    want, want_grad = _ce_numpy(x, t, w, 2, reduction)
    np.testing.assert_allclose(out.detach().cpu().numpy(), want, rtol=1e-12, atol=1e-12)
    out.sum().backward()  # for 'none' the incoming gradient is an expanded (N,) view of a 0-d one
    np.testing.assert_allclose(xt.grad.cpu().numpy(), want_grad, rtol=1e-10, atol=1e-12)


def test_cross_entropy_float32_and_large_logits(ce_path, device):
    rng = np.random.default_rng(6)
    x = (rng.standard_normal((33, 70)) * 40).astype(np.float32)  # exp would overflow without the shift
    t = rng.integers(0, 70, 33)
    xt = ember.tensor(x, device=device, requires_grad=True)
    out = ember.nn.functional.cross_entropy(xt, ember.tensor(t, device=device))
    out.backward()
    want, want_grad = _ce_numpy(x.astype(np.float64), t, None, -100, "mean")
    assert out.dtype == ember.float32 and xt.grad.dtype == ember.float32
    np.testing.assert_allclose(out.item(), want, rtol=1e-5)
    np.testing.assert_allclose(xt.grad.cpu().numpy(), want_grad, rtol=1e-4, atol=1e-7)


def test_cross_entropy_gradient_weighting_by_finite_differences(ce_path, device):
    """A non-uniform incoming gradient (reduction 'none') and second-order use under create_graph."""
    rng = np.random.default_rng(7)
    x = ember.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    t = ember.tensor([2, -100, 0, 1], device=device)
    w = ember.tensor([1.0, 0.5, 2.0], dtype=ember.float64, device=device)  # the input's dtype, as PyTorch requires
    g = ember.tensor(rng.standard_normal(4), device=device)
    F = ember.nn.functional
    assert ember.autograd.gradcheck(lambda a: (F.cross_entropy(a, t, w, reduction="none") * g).sum(), (x,))
    assert ember.autograd.gradgradcheck(lambda a: F.cross_entropy(a, t, w), (x,))


def test_cross_entropy_bad_targets_and_weights(ce_path, device):
    F = ember.nn.functional
    x = ember.zeros(3, 4, device=device)
    with pytest.raises(IndexError, match="Target 7 is out of bounds."):
        F.cross_entropy(x, ember.tensor([1, 7, 0], device=device))
    with pytest.raises(IndexError, match="Target -1 is out of bounds."):  # the sign kept, as PyTorch
        F.cross_entropy(x, ember.tensor([-1, 0, -100], device=device))
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.cross_entropy(x, ember.tensor([1, 0], device=device))
    with pytest.raises(RuntimeError, match=r"weight tensor should be defined either for all 4 classes or no "
                                           r"classes but got weight tensor of shape: \[3\]"):
        F.cross_entropy(x, ember.tensor([1, 2, 0], device=device), weight=ember.ones(3, device=device))
    if device != "cpu":  # the target or the weight left on the CPU
        with pytest.raises(RuntimeError, match=f"found at least two devices, {x.device} and cpu!"):
            F.cross_entropy(x, ember.tensor([1, 2, 0]))
        with pytest.raises(RuntimeError, match=f"found at least two devices, {x.device} and cpu!"):
            F.nll_loss(x, ember.tensor([1, 2, 0], device=device), weight=ember.ones(4))


def test_relu_backward_paths(ce_path, device):
    x = ember.tensor([[-2.0, -0.0, 0.0, 1e-30], [3.0, float("nan"), -1e-30, 5.0]], device=device,
                     requires_grad=True)
    g = np.arange(1.0, 9.0).reshape(2, 4)
    ember.relu(x).backward(ember.tensor(g, device=device))
    want = np.where(np.array([[0, 0, 0, 1], [1, 1, 0, 1]]) == 1, g, 0.0)  # NaN passes, as in PyTorch
    np.testing.assert_array_equal(x.grad.cpu().numpy(), want)


@pytest.mark.parametrize("shape,kernel", [((1, 4, 10, 6), (10, 1)), ((2, 3, 8, 6), (2, 3)), ((2, 3, 4, 4), (1, 1))])
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_avg_pool_backward_over_tiling_windows_matches_torch(shape, kernel, count_include_pad):
    """Windows that tile the input (stride = kernel, no padding: an average over a whole axis)
    take a one-pass broadcast in the cpu kernel; its gradient is PyTorch's bit for bit, -0.0
    gradients included (PyTorch's adds into zeros turn them into +0.0)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal(shape).astype(np.float32)
    out_shape = (shape[0], shape[1], shape[2] // kernel[0], shape[3] // kernel[1])
    g = rng.standard_normal(out_shape).astype(np.float32)
    g.reshape(-1)[0] = -0.0
    tx = torch.tensor(x, requires_grad=True)
    torch.nn.functional.avg_pool2d(tx, kernel, count_include_pad=count_include_pad).backward(torch.tensor(g))
    ex = ember.tensor(x, requires_grad=True)
    nn.functional.avg_pool2d(ex, kernel, count_include_pad=count_include_pad).backward(ember.tensor(g))
    np.testing.assert_array_equal(ex.grad.numpy().view(np.uint32), tx.grad.numpy().view(np.uint32))
