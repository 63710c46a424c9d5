"""Fixes found while adding issue #14's ops: shape ops on 0-d tensors raise PyTorch's errors (or work
where PyTorch's do), ``Tensor.tile`` takes varargs, ``where``/``masked_fill`` give the untaken
branch an exact zero gradient even when the incoming gradient is inf or NaN, and cumprod's
gradient is exact with zeros in the input (it divided by them: NaN).

Every case runs on PyTorch and ember, every device (values, errors, gradients).
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

SCALAR_CASES = {
    "narrow": lambda L, x: x.narrow(0, 0, 1),
    "chunk": lambda L, x: x.chunk(2),
    "split": lambda L, x: x.split(1),
    "transpose_bad": lambda L, x: x.transpose(1, 0),
    "transpose_ok": lambda L, x: x.transpose(0, -1),
    "movedim": lambda L, x: x.movedim(0, 0),
    "moveaxis": lambda L, x: x.moveaxis(0, -1),
    "movedim_bad": lambda L, x: x.movedim(1, 0),
    "unflatten": lambda L, x: x.unflatten(0, (1,)),
    "swapaxes": lambda L, x: x.swapaxes(0, 0),
}


@pytest.mark.parametrize("name", list(SCALAR_CASES))
def test_shape_ops_on_0d(device, name):
    check(SCALAR_CASES[name], (Arg(np.array(1.5, dtype=np.float32)),), {}, device)


@pytest.mark.parametrize("dims", [(2,), (2, 1), ((2, 1),), ((1, 2, 1),)], ids=str)
def test_tile_method_forms(device, dims):
    check(lambda L, x: x.tile(*dims), (Arg(np.arange(6, dtype=np.float32).reshape(2, 3)),), {}, device)


def test_tile_function_refuses_an_int(device):
    check(lambda L, x: L.tile(x, 2), (Arg(np.ones(3, dtype=np.float32)),), {}, device)


@pytest.mark.parametrize("upstream", [np.inf, -np.inf, np.nan])
def test_where_untaken_branch_gets_exact_zero(device, upstream):
    cond = np.array([True, False, True, False])
    grads = {}
    for L in (torch, ember):
        kw = {"device": device} if L is ember else {}
        a = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, **kw)
        b = L.tensor([5.0, 6.0, 7.0, 8.0], requires_grad=True, **kw)
        c = L.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, **kw)
        g = L.full((4,), upstream, **kw)
        L.where(L.tensor(cond, **kw), a, b).backward(g)
        c.masked_fill(L.tensor(cond, **kw), 0.0).backward(g)
        grads[L.__name__] = [np.asarray(t.grad.cpu().numpy() if L is ember else t.grad.numpy()) for t in (a, b, c)]
    for got, want in zip(grads["ember"], grads["torch"], strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("values", [[0.0, 2.0], [1.5, 0.0, 2.0, 0.0, 3.0], [[2.0, 0.0, 3.0], [0.0, 0.0, 1.0],
                                                                              [1.0, 2.0, 3.0]], [[0.0]]], ids=str)
def test_cumprod_gradient_with_zeros(device, values):
    x = np.array(values, dtype=np.float64)
    for d in range(x.ndim):
        check(lambda L, t, d=d: t.cumprod(d), (Arg(x),), {}, device)
        check(lambda L, t, d=d: t.cumprod(d).sum().pow(2), (Arg(x),), {}, device)  # double use of the grad path


@pytest.mark.parametrize("expr", ["x.pow(e)", "e ** x", "x * e", "x / e", "(x - e).pow(e)"])
def test_cpu_scalar_tensor_with_device_tensor(device, expr):
    """A 0-d CPU tensor meets a device tensor as a number would (PyTorch's rule): forward and backward
    run (pow's backward used to mix devices), and the 0-d tensor's gradient lands on the CPU."""
    x_np = np.array([0.5, 1.5, 2.5], dtype=np.float32)
    grads = {}
    for L, dev in ((torch, "cpu"), (ember, device)):
        x = L.tensor(x_np, device=dev, requires_grad=True)
        e = L.tensor(1.7, requires_grad=True)
        out = eval(expr, {"x": x, "e": e})
        out.sum().backward()
        assert str(e.grad.device) == "cpu"
        grads[L.__name__] = (out.detach().cpu().numpy(), x.grad.cpu().numpy(), e.grad.numpy() if L is torch
                             else e.grad.cpu().numpy())
    for got, want in zip(grads["ember"], grads["torch"], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


DIAGONALS = {
    "square": (lambda L: L.zeros(3, 3), (0,)),
    "wide_offset": (lambda L: L.zeros(3, 5), (2,)),
    "tall_negative": (lambda L: L.zeros(5, 3), (-2,)),
    "transposed": (lambda L: L.zeros(4, 3).t(), (1,)),
    "batched_last_dims": (lambda L: L.zeros(2, 3, 3), (0, -2, -1)),
    "batched_first_dims": (lambda L: L.zeros(3, 3, 2), (0, 0, 1)),
    "stepped": (lambda L: L.zeros(3, 6)[:, ::2], (0,)),
    "empty": (lambda L: L.zeros(2, 3), (5,)),
}


@pytest.mark.parametrize("name", list(DIAGONALS))
def test_diagonal_is_a_view(device, name):
    """``x.diagonal()`` shares x's storage: an in-place write through it reaches x (it was a copy)."""
    make, args = DIAGONALS[name]
    result = {}
    for L in (torch, ember):
        z = make(L) if L is torch else make(ember).to(device)
        d = z.diagonal(*args)
        d.fill_(7.0)
        d.mul_(2.0)
        result[L.__name__] = z.cpu().numpy() if L is ember else z.numpy()
    np.testing.assert_array_equal(result["ember"], result["torch"])


def test_diagonal_view_gradients(device):
    """Autograd through an in-place write into a diagonal view of a non-leaf, as PyTorch."""
    def run(L, x, v):
        y = x * 1.0
        y.diagonal().add_(v)
        return (y * y).sum()
    check(run, (Arg(np.random.default_rng(3).standard_normal((3, 3)).astype(np.float32)),
                Arg(np.array([1.0, 2.0, 3.0], dtype=np.float32))), {}, device)


def test_normalize_writes_out(device):
    def run(L, x):
        out = L.empty(3, 4, device=x.device)
        r = L.nn.functional.normalize(x, out=out)
        assert r is out
        return out
    check(run, (Arg(np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32), grad=False),), {}, device)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sign_of_nan_is_zero(device, dtype):
    """PyTorch's sign(NaN) is 0 on every path (NumPy's and OpenCL's kernels gave NaN)."""
    values = np.array([np.nan, -0.0, 0.0, 2.5, -3.0, np.inf, -np.inf] * 5, dtype=dtype)
    check(lambda L, x: L.sign(x), (Arg(values),), {}, device)
    check(lambda L, x: x.sign_() * 1, (Arg(values, grad=False),), {}, device)
