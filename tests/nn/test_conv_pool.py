"""Convolution and pooling against explicit-loop NumPy references, on both kernel paths."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import nn_np_ref as ref
import numpy as np
import pytest
from ember.nn import _convpool

NN_OPTIONAL = {"conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "avg_pool2d",
               "avg_pool2d_backward", "softmax", "log_softmax"}


@pytest.fixture(params=["fast", "composite"])
def path(request, hide_kernels):
    """Run with the backend's fast nn kernels, then with them hidden (the composite path)."""
    if request.param == "composite":
        hide_kernels(NN_OPTIONAL)
    return request.param


def _t(a, device, grad=False, dtype=ember.float64):
    return ember.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=grad)


def _np(t):
    return t.detach().cpu().numpy()


CONV_CASES = [
    dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 1), padding=(1, 2), dilation=(1, 1), groups=1),
    dict(stride=(1, 2), padding=(2, 1), dilation=(2, 1), groups=1),
    dict(stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=2),
]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_forward_backward(case, path, device):
    rng = np.random.default_rng(0)
    g = case["groups"]
    x = rng.standard_normal((2, 2 * g, 6, 7))
    w = rng.standard_normal((2 * g, 2, 3, 2))
    b = rng.standard_normal(2 * g)
    xt, wt, bt = _t(x, device, True, ember.float32), _t(w, device, True, ember.float32), _t(b, device, True, ember.float32)
    out = F.conv2d(xt, wt, bt, **case)
    expect = ref.conv2d(x, w, b, **case)
    np.testing.assert_allclose(_np(out), expect, rtol=1e-4, atol=1e-4)
    # backward against the adjoint identity: <conv(x), G> is linear in x and w
    gout = rng.standard_normal(expect.shape)
    (out * _t(gout, device, dtype=ember.float32)).sum().backward()
    eps = 1e-6
    # d/dw via finite differences on the (exact, linear) NumPy reference
    gw = np.zeros_like(w)
    for idx in np.ndindex(*w.shape):
        w2 = w.copy()
        w2[idx] += eps
        gw[idx] = ((ref.conv2d(x, w2, b, **case) - expect) * gout).sum() / eps
    np.testing.assert_allclose(_np(wt.grad), gw, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(_np(bt.grad), gout.sum(axis=(0, 2, 3)), rtol=1e-4, atol=1e-4)
    assert xt.grad.shape == xt.shape


def test_conv2d_gradcheck(path):
    x = ember.randn(1, 2, 5, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(4, 1, 2, 3, dtype=ember.float64, requires_grad=True)
    b = ember.randn(4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, c, d: F.conv2d(a, c, d, stride=(2, 1), padding=1, dilation=(1, 2),
                                                            groups=2), (x, w, b))


def test_conv2d_double_backward(path):
    x = ember.randn(1, 1, 4, 4, dtype=ember.float64, requires_grad=True)
    w = ember.randn(2, 1, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a, c: F.conv2d(a, c, padding=1), (x, w))


def test_conv2d_same_padding_and_1d(device):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 5))
    w = rng.standard_normal((3, 2, 4, 3))
    out = F.conv2d(_t(x, device), _t(w, device), padding="same")
    assert out.shape == (1, 3, 7, 5)
    # PyTorch puts the odd extra padding on the right/bottom
    xp = np.pad(x, ((0, 0), (0, 0), (1, 2), (1, 1)))
    np.testing.assert_allclose(_np(out), ref.conv2d(xp, w), rtol=1e-10)
    x1 = rng.standard_normal((2, 2, 9))
    w1 = rng.standard_normal((4, 2, 3))
    out1 = F.conv1d(_t(x1, device), _t(w1, device), stride=2, padding=1, dilation=2)
    expect = ref.conv2d(x1[:, :, None], w1[:, :, None], stride=(1, 2), padding=(0, 1), dilation=(1, 2))[:, :, 0]
    np.testing.assert_allclose(_np(out1), expect, rtol=1e-10)


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation", [
    ((1, 1), (0, 0), (0, 0), 1, (1, 1)),
    ((2, 2), (1, 0), (1, 0), 1, (1, 1)),
    ((2, 3), (0, 1), (1, 2), 2, (1, 1)),
    ((1, 2), (1, 1), (0, 1), 1, (2, 1)),
])
def test_conv_transpose2d(stride, padding, output_padding, groups, dilation, device):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 2 * groups, 3, 4))
    w = rng.standard_normal((2 * groups, 3, 3, 2))
    b = rng.standard_normal(3 * groups)
    out = F.conv_transpose2d(_t(x, device), _t(w, device), _t(b, device), stride, padding, output_padding, groups,
                             dilation)
    expect = ref.conv_transpose2d(x, w, b, stride, padding, output_padding, groups, dilation)
    np.testing.assert_allclose(_np(out), expect, rtol=1e-10, atol=1e-10)


def test_conv_transpose2d_gradcheck():
    x = ember.randn(1, 2, 3, 3, dtype=ember.float64, requires_grad=True)
    w = ember.randn(2, 2, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a, c: F.conv_transpose2d(a, c, stride=2, padding=1, output_padding=1),
                                    (x, w))


@pytest.mark.parametrize("k,s,p,d,ceil", [((2, 2), (2, 2), (0, 0), (1, 1), False),
                                          ((3, 2), (2, 1), (1, 1), (1, 1), True),
                                          ((2, 3), (1, 2), (0, 1), (2, 1), False),
                                          ((3, 3), (2, 2), (1, 1), (1, 1), True)])
def test_max_pool2d(k, s, p, d, ceil, path, device):
    rng = np.random.default_rng(3)
    x = rng.permutation(2 * 2 * 7 * 6).reshape(2, 2, 7, 6).astype(np.float64)  # distinct values: unique argmax
    xt = _t(x, device, True)
    out, idx = F.max_pool2d(xt, k, s, p, d, ceil_mode=ceil, return_indices=True)
    eo, ei = ref.max_pool2d(x, k, s, p, d, ceil)
    np.testing.assert_array_equal(_np(out), eo)
    np.testing.assert_array_equal(idx.cpu().numpy(), ei)
    out.sum().backward()
    gx = np.zeros(x.size)
    for n in range(2):
        for c in range(2):
            np.add.at(gx, (n * 2 + c) * 42 + ei[n, c].ravel(), 1.0)
    np.testing.assert_array_equal(_np(xt.grad), gx.reshape(x.shape))


@pytest.mark.parametrize("k,s,p,ceil,cip,div", [((2, 2), (2, 2), (0, 0), False, True, None),
                                                ((3, 3), (2, 2), (1, 1), True, True, None),
                                                ((3, 2), (2, 1), (1, 1), True, False, None),
                                                ((2, 2), (1, 1), (1, 0), False, True, 3)])
def test_avg_pool2d(k, s, p, ceil, cip, div, path, device):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 5, 6))
    xt = _t(x, device, True)
    out = F.avg_pool2d(xt, k, s, p, ceil, cip, div)
    np.testing.assert_allclose(_np(out), ref.avg_pool2d(x, k, s, p, ceil, cip, div), rtol=1e-10)
    if device == "cpu":
        x64 = ember.randn(1, 1, 5, 4, dtype=ember.float64, requires_grad=True)
        assert ember.autograd.gradcheck(lambda a: F.avg_pool2d(a, k, s, p, ceil, cip, div), (x64,))


def test_pool_gradcheck_and_1d(path):
    x = ember.randn(1, 2, 5, 5, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: F.max_pool2d(a, 3, 2, 1), (x,))
    x1 = ember.tensor([[[1.0, 3.0, 2.0, 5.0, 4.0]]], requires_grad=True)
    out, idx = F.max_pool1d(x1, 2, return_indices=True)
    assert out.tolist() == [[[3.0, 5.0]]] and idx.tolist() == [[[1, 3]]]
    assert F.avg_pool1d(x1, 2, 1).tolist() == [[[2.0, 2.5, 3.5, 4.5]]]


def test_avg_pool2d_on_3d_input(device):
    """The LSTM tutorial pools the (batch, seq, features) output as a (C, H, W) image."""
    x = np.arange(2 * 4 * 6, dtype=np.float64).reshape(2, 4, 6)
    out = F.avg_pool2d(_t(x, device), (4, 1))
    assert out.shape == (2, 1, 6)
    np.testing.assert_allclose(_np(out)[:, 0], x.mean(axis=1))


def test_adaptive_pools(device):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 7, 5))
    out = F.adaptive_avg_pool2d(_t(x, device), (3, 2))
    expect = np.zeros((2, 3, 3, 2))
    for i in range(3):
        for j in range(2):
            h0, h1 = (i * 7) // 3, -(-(i + 1) * 7 // 3)
            w0, w1 = (j * 5) // 2, -(-(j + 1) * 5 // 2)
            expect[:, :, i, j] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    np.testing.assert_allclose(_np(out), expect, rtol=1e-10)
    np.testing.assert_allclose(_np(F.adaptive_avg_pool2d(_t(x, device), 1)), x.mean(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(_np(F.adaptive_max_pool2d(_t(x, device), 1)), x.max(axis=(2, 3), keepdims=True))
    np.testing.assert_allclose(_np(F.adaptive_avg_pool1d(_t(x[:, :, 0], device), 2)),
                               np.stack([x[:, :, 0, :3].mean(-1), x[:, :, 0, 2:].mean(-1)], -1))


def test_unfold_fold():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((1, 2, 4, 5))
    cols = F.unfold(_t(x, "cpu"), (2, 3), padding=1, stride=(2, 1))
    # unfold . conv weight == conv
    w = rng.standard_normal((3, 2, 2, 3))
    conv = (ember.tensor(w.reshape(3, -1)) @ cols).reshape(1, 3, 3, 5)
    np.testing.assert_allclose(conv.numpy(), ref.conv2d(x, w, padding=(1, 1), stride=(2, 1)), rtol=1e-10)
    # fold is the adjoint of unfold: <unfold(x), y> == <x, fold(y)>
    y = ember.randn(*cols.shape, dtype=ember.float64)
    lhs = (cols * y).sum().item()
    rhs = (ember.tensor(x) * F.fold(y, (4, 5), (2, 3), padding=1, stride=(2, 1))).sum().item()
    assert abs(lhs - rhs) < 1e-9


def test_kernel_shapes_errors():
    with pytest.raises(RuntimeError, match="channels"):
        F.conv2d(ember.zeros(1, 3, 5, 5), ember.zeros(2, 2, 3, 3))
    with pytest.raises(RuntimeError, match="too small"):
        F.max_pool2d(ember.zeros(1, 1, 2, 2), 3)
    assert _convpool.out_size(5, 2, 2, 0, 1, True) == 3
