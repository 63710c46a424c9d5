"""Layer norm as one autograd node (``NativeLayerNormBackward0``) with the optional ``layer_norm`` /
``layer_norm_backward`` kernels, and PyTorch's argument checks (normalized_shape, weight/bias
shapes, dtypes, mixed precision). Each case runs on PyTorch and on ember, values and gradients, on
the kernel path and with the kernels hidden (the ember-op composite)."""

from __future__ import annotations

import ember
import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(11)


def _ln(shape, affine=(True, True), eps=1e-5):
    def fn(L, x, *params):
        w = params[0] if affine[0] else None
        b = params[-1] if affine[1] else None
        return L.nn.functional.layer_norm(x, shape, w, b, eps)
    return fn


def _args(x_shape, norm_shape, affine, dtype, layout="contiguous"):
    x = (R.standard_normal(x_shape) * 3 + 1).astype(dtype)
    args = [Arg(x, layout=layout, shape=x.T.shape if layout == "T" else None)]
    args += [Arg((R.standard_normal(norm_shape) + 1).astype(dtype)) for flag in affine if flag]
    return args


CASES = {  # name: (x shape, normalized shape, (weight, bias), layout)
    "rows-affine": ((5, 8), (8,), (True, True), "contiguous"),
    "3d-weight-only": ((2, 3, 6), (6,), (True, False), "contiguous"),
    "two-dims-bias-only": ((2, 3, 4), (3, 4), (False, True), "contiguous"),
    "plain": ((4, 7), (7,), (False, False), "contiguous"),
    "transposed": ((6, 5), (6,), (True, True), "T"),
    "empty-batch": ((0, 4), (4,), (True, True), "contiguous"),
    # (x - mean is exactly 0 here; PyTorch's x * rstd - mean * rstd leaves ~1e-5 of rounding, which a
    # weight's gradient would compare)
    "one-element-rows": ((3, 1), (1,), (False, True), "contiguous"),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("composite", [False, True], ids=["kernel", "composite"])
def test_layer_norm_values_and_gradients(device, name, dtype, composite, hide_kernels):
    if composite:
        hide_kernels(["layer_norm", "layer_norm_backward"])
    x_shape, norm_shape, affine, layout = CASES[name]
    if layout == "T":
        x_shape = x_shape[::-1]
    check(_ln(norm_shape, affine), _args(x_shape, norm_shape, affine, dtype, layout), {}, device)


def test_layer_norm_constant_rows_and_large_offsets(device):
    """Zero variance gives rstd = 1/sqrt(eps) (outputs exactly 0); a large common offset must not
    cancel (the variance is taken around the mean). Compared with PyTorch in float64: PyTorch's
    float32 gradient is itself 2.6e-5 off there (it forms x * rstd - mean * rstd), ember's 1e-8."""
    x = np.array([[2.0, 2.0, 2.0, 2.0], [1e4 + 1, 1e4 - 1, 1e4 + 2, 1e4 - 2]], np.float32)
    up = R.standard_normal((2, 4))
    for eps in (1e-5, 0.5):
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        want = torch.nn.functional.layer_norm(t, (4,), eps=eps)
        (want * torch.tensor(up)).sum().backward()
        e = ember.tensor(x, device=device, requires_grad=True)
        got = ember.nn.functional.layer_norm(e, (4,), eps=eps)
        (got * ember.tensor(up.astype(np.float32), device=device)).sum().backward()
        np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_layer_norm_half_precision(device, low):
    x = (R.standard_normal((4, 8)) * 2).astype(np.float32)
    conv = (lambda a: a.astype(ml_dtypes.bfloat16)) if low == "bfloat16" else (lambda a: a.astype(np.float16))
    w, b = (R.standard_normal(8) + 1).astype(np.float32), R.standard_normal(8).astype(np.float32)
    check(_ln((8,)), (Arg(conv(x)), Arg(conv(w)), Arg(conv(b))), {}, device, tol=2)


@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_layer_norm_mixed_precision_parameters(device, low):
    """A 16-bit input with float32 weight and bias (autocast's layout) is normalised in float32 and
    rounded once. PyTorch rounds the parameters' gradients through the 16-bit type as well, ember
    keeps them in float32, so every result is compared at the 16-bit type's precision."""
    x = (R.standard_normal((4, 8)) * 2).astype(np.float32)
    w, b = (R.standard_normal(8) + 1).astype(np.float32), R.standard_normal(8).astype(np.float32)
    up = R.standard_normal((4, 8)).astype(np.float32)
    got, want = [], []
    for lib, dev, out in ((ember, device, got), (torch, "cpu", want)):
        xt = lib.tensor(x).to(getattr(lib, low)).to(dev).requires_grad_()
        wt, bt = (lib.tensor(a).to(dev).requires_grad_() for a in (w, b))
        y = lib.nn.functional.layer_norm(xt, (8,), wt, bt)
        (y.float() * lib.tensor(up).to(dev)).sum().backward()
        assert y.dtype == getattr(lib, low) and wt.grad.dtype == lib.float32
        out += [t.detach().float().cpu().numpy() for t in (y, xt.grad, wt.grad, bt.grad)]
    rtol = 2 ** -7 if low == "bfloat16" else 2 ** -10
    for g, t in zip(got, want):
        np.testing.assert_allclose(g, t, rtol=rtol, atol=rtol * np.abs(t).max())


def test_layer_norm_double_backward(device):
    def second(L, x, w):
        y = L.nn.functional.layer_norm(x, (5,), w, None)
        (gx,) = L.autograd.grad((y * y.detach().cos()).sum(), x, create_graph=True)
        return gx

    check(second, (Arg(R.standard_normal((3, 5))), Arg(R.standard_normal(5) + 1)), {}, device)


def test_native_layer_norm_statistics(device):
    x = (R.standard_normal((2, 3, 4)) * 2).astype(np.float32)

    def fn(L, t):
        return L.native_layer_norm(t, (3, 4), None, None, 1e-5)

    check(fn, (Arg(x),), {}, device)
    out = ember.native_layer_norm(ember.tensor(x, device=device, requires_grad=True), (3, 4), None, None, 1e-5)
    assert out[0].grad_fn.name() == "NativeLayerNormBackward0"
    assert tuple(out[1].shape) == tuple(out[2].shape) == (2, 1, 1) and not out[1].requires_grad


ERRORS = {
    "normalized_shape": lambda L: L.nn.functional.layer_norm(L.ones(2, 3), (4,)),
    "weight shape": lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), L.ones(1)),
    "bias shape": lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), None, L.ones(3)),
    "integer input": lambda L: L.nn.functional.layer_norm(L.ones(2, 4, dtype=L.int64), (4,)),
    "complex input": lambda L: L.nn.functional.layer_norm(L.ones(2, 4, dtype=L.complex64), (4,)),
    "float64 weight": lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), L.ones(4, dtype=L.float64)),
    "bfloat16 weight": lambda L: L.nn.functional.layer_norm(L.ones(2, 4), (4,), L.ones(4, dtype=L.bfloat16)),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_layer_norm_errors_as_pytorch(name):
    with pytest.raises(Exception) as want:
        ERRORS[name](torch)
    with pytest.raises(type(want.value)) as got:
        ERRORS[name](ember)
    assert str(got.value) == str(want.value)
