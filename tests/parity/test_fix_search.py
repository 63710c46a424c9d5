"""Sets, search, counting, scatter_reduce and the matrix helpers (issue #14 sections 3 and 4):
what the parity table cannot express.

Larger random inputs (the binary search over every boundary count, long runs of duplicates
into one scatter target), gradients where PyTorch's own backward fails on a valid call (checked
against an equivalent PyTorch expression instead), double backward, warnings and messages.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")


def _arg(array: np.ndarray, grad: bool = True) -> Arg:
    return Arg(array, grad=grad)


def _to_np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if hasattr(t, "detach") else np.asarray(t)


# ---- search over many sizes -------------------------------------------------------------------
@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_every_boundary_count(device: str, right: bool) -> None:
    """The binary search runs m.bit_length() halvings: check every m from 0 to 70, with ties."""
    rng = np.random.default_rng(0)
    for m in range(71):
        b = np.sort(rng.integers(-20, 20, m)).astype(np.float64)
        v = rng.integers(-22, 22, 40).astype(np.float64)
        check(lambda lib, b, v: lib.searchsorted(b, v, right=right), [_arg(b, False), _arg(v, False)], {}, device)


def test_searchsorted_batched_large(device: str) -> None:
    rng = np.random.default_rng(1)
    b = np.sort(rng.standard_normal((4, 300)), axis=-1).astype(np.float32)
    v = rng.standard_normal((4, 500)).astype(np.float32)
    check(lambda lib, b, v: lib.searchsorted(b, v), [_arg(b, False), _arg(v, False)], {}, device)
    check(lambda lib, b, v: lib.bucketize(v, b[0], right=True), [_arg(b, False), _arg(v, False)], {}, device)


def test_unique_large(device: str) -> None:
    rng = np.random.default_rng(2)
    x = rng.integers(0, 50, 3000)
    check(lambda lib, x: lib.unique(x, return_inverse=True, return_counts=True), [_arg(x, False)], {}, device)
    rows = rng.integers(0, 3, (200, 4))
    check(lambda lib, x: lib.unique(x, dim=0, return_inverse=True, return_counts=True), [_arg(rows, False)], {}, device)
    check(lambda lib, x: lib.unique_consecutive(x.sort().values, return_counts=True), [_arg(x, False)], {}, device)


def test_bincount_and_histc_large(device: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 100, 5000)
    w = rng.standard_normal(5000)
    check(lambda lib, x: lib.bincount(x), [_arg(x, False)], {}, device)
    check(lambda lib, x, w: lib.bincount(x, w), [_arg(x, False), _arg(w, False)], {}, device)
    y = rng.standard_normal(5000).astype(np.float32)
    check(lambda lib, y: lib.histc(y, bins=37, min=-2, max=2), [_arg(y, False)], {}, device)
    check(lambda lib, y: lib.histc(y, bins=64), [_arg(y, False)], {}, device)


# ---- scatter_reduce ------------------------------------------------------------------------------
REDUCES = ("sum", "prod", "mean", "amax", "amin")


@pytest.mark.parametrize("reduce", REDUCES)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_long_runs(device: str, reduce: str, include_self: bool) -> None:
    """Many sources into few targets: the segmented scan crosses many halving steps."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.5, 1.5, (5, 3))
    src = rng.uniform(0.9, 1.1, (300, 3))
    index = rng.integers(0, 5, (300, 3))
    index[:150, 0] = 2  # one target with a long run
    check(lambda lib, x, i, s: x.scatter_reduce(0, i, s, reduce, include_self=include_self),
          [_arg(x), _arg(index, False), _arg(src)], {}, device, tol=4)


@pytest.mark.parametrize("reduce", REDUCES)
def test_scatter_reduce_gradient_src_larger_than_index(device: str, reduce: str) -> None:
    """PyTorch's backward raises when src is larger than index (it returns a gradient of index's
    shape); ember gives src's unread part a zero gradient. Checked against PyTorch run on the part
    of src that is read."""
    rng = np.random.default_rng(5)
    x = rng.uniform(0.5, 1.5, (4, 3))
    src = rng.uniform(0.5, 1.5, (6, 3))
    index = rng.integers(0, 4, (2, 2))
    upstream = rng.standard_normal((4, 3))

    xt, st = torch.tensor(x, requires_grad=True), torch.tensor(src, requires_grad=True)
    part = st[:2, :2].detach().clone().requires_grad_()
    out_t = xt.scatter_reduce(0, torch.tensor(index), part, reduce)
    out_t.backward(torch.tensor(upstream))
    want_src = np.zeros_like(src)
    want_src[:2, :2] = part.grad.numpy()

    xe = ember.tensor(x, requires_grad=True, device=device)
    se = ember.tensor(src, requires_grad=True, device=device)
    out_e = xe.scatter_reduce(0, ember.tensor(index, device=device), se, reduce)
    out_e.backward(ember.tensor(upstream, device=device))
    np.testing.assert_allclose(_to_np(out_e), out_t.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_to_np(xe.grad), xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(_to_np(se.grad), want_src, rtol=1e-10)


@pytest.mark.parametrize("reduce", ("sum", "mean", "amax", "prod"))
def test_scatter_reduce_double_backward(device: str, reduce: str) -> None:
    """The backward is written in ember ops, so gradients of gradients match PyTorch's."""
    rng = np.random.default_rng(6)
    x = rng.uniform(0.5, 1.5, (4, 3))
    src = rng.uniform(0.5, 1.5, (5, 3))
    index = rng.integers(0, 4, (5, 3))
    up = rng.standard_normal((4, 3))

    def run(lib, **dev):
        a = lib.tensor(x, requires_grad=True, **dev)
        s = lib.tensor(src, requires_grad=True, **dev)
        out = a.scatter_reduce(0, lib.tensor(index, **dev), s, reduce)
        ga, gs = lib.autograd.grad((out * lib.tensor(up, **dev)).sum(), (a, s), create_graph=True)
        (ga.pow(2) * a).sum().add((gs.pow(2) * s).sum()).backward()
        return [_to_np(t) for t in (ga, gs, a.grad, s.grad)]

    for got, want in zip(run(ember, device=device), run(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_scatter_reduce_inplace_on_a_view(device: str) -> None:
    x = np.arange(12.0).reshape(3, 4)
    index = np.array([[0, 0], [1, 0]])
    src = np.array([[5.0, -1.0], [2.0, 7.0]])

    def fn(lib, x, i, s):
        y = x * 1
        y[1:].scatter_reduce_(1, i, s, "amax", include_self=False)
        return y

    check(fn, [_arg(x), _arg(index, False), _arg(src)], {}, device)


def test_scatter_reduce_messages(device: str) -> None:
    x = ember.zeros(3, device=device)
    with pytest.raises(RuntimeError, match="reduce argument must be either sum, prod, mean, amax or amin, got foo"):
        x.scatter_reduce(0, ember.tensor([0], device=device), ember.ones(1, device=device), "foo")
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.scatter_reduce(0, ember.tensor([5], device=device), ember.ones(1, device=device), "sum")
    with pytest.raises(RuntimeError, match="reduce argument must be either add or multiply."):
        x.scatter(0, ember.tensor([0], device=device), 1.0, reduce="mean")


def test_scatter_reduce_tensor_src_warns_as_pytorch(device: str) -> None:
    x = ember.zeros(3, device=device)
    with pytest.warns(UserWarning, match="The reduce argument of torch.scatter with Tensor src is deprecated"):
        x.scatter(0, ember.tensor([0], device=device), ember.ones(1, device=device), reduce="multiply")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.scatter(0, ember.tensor([0], device=device), 2.0, reduce="add")  # a value: no warning


def test_index_reduce_long_runs(device: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.uniform(0.5, 1.5, (3, 4))
    src = rng.uniform(0.9, 1.1, (3, 80))
    index = rng.integers(0, 4, 80)
    for reduce in ("prod", "mean", "amax", "amin"):
        check(lambda lib, x, i, s, reduce=reduce: x.index_reduce(1, i, s, reduce, include_self=False),
              [_arg(x), _arg(index, False), _arg(src)], {}, device, tol=4)


# ---- matrix helpers ------------------------------------------------------------------------------
def test_vander_gradient(device: str) -> None:
    """PyTorch's vander backward raises (its cumprod runs in place); the same matrix as powers
    differentiates, and ember's vander must agree with it."""
    x = np.array([0.5, -1.5, 0.0, 2.0, 1.25])
    n = 4
    xt = torch.tensor(x, requires_grad=True)
    want = xt.unsqueeze(1) ** torch.arange(n - 1, -1, -1, dtype=torch.float64)
    up = np.random.default_rng(8).standard_normal((5, n))
    want.backward(torch.tensor(up))
    xe = ember.tensor(x, requires_grad=True, device=device)
    got = ember.vander(xe, N=n)
    got.backward(ember.tensor(up, device=device))
    np.testing.assert_allclose(_to_np(got), want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_to_np(xe.grad), xt.grad.numpy(), rtol=1e-10)


def test_kron_non_contiguous(device: str) -> None:
    """PyTorch's kron raises on a transposed input (it views); ember takes it, with the values
    and gradients PyTorch gives for the same tensors made contiguous."""
    a = np.arange(6.0).reshape(2, 3) - 2
    b = np.arange(4.0).reshape(2, 2) * 0.5

    def fn(lib, a, b):
        at = a.t()
        return lib.kron(at if lib is ember else at.contiguous(), b)

    check(fn, [_arg(a), _arg(b)], {}, device)


def test_block_diag_of_nothing() -> None:
    out = ember.block_diag()
    want = torch.block_diag()
    assert tuple(out.shape) == tuple(want.shape) and str(out.dtype) == str(want.dtype).replace("torch", "ember")


def test_cross_default_dim_warns(device: str) -> None:
    a = ember.ones(3, 4, device=device)
    with pytest.warns(UserWarning, match="Using torch.cross without specifying the dim arg is deprecated"):
        ember.cross(a, a)


def test_cdist_large_and_gradients(device: str) -> None:
    """Many rows (PyTorch switches to its matmul form past 25) and every p, with gradients."""
    rng = np.random.default_rng(9)
    a = rng.standard_normal((2, 40, 5))
    b = rng.standard_normal((2, 33, 5))
    for p in (0.0, 1.0, 2.0, 3.0, float("inf")):
        check(lambda lib, a, b, p=p: lib.cdist(a, b, p=p), [_arg(a), _arg(b)], {}, device, tol=10)


def test_tensordot_out(device: str) -> None:
    a = np.arange(6.0).reshape(2, 3)
    b = np.arange(6.0).reshape(3, 2)

    def fn(lib, a, b):
        out = lib.zeros(2, 2, dtype=a.dtype, device=a.device)
        lib.tensordot(a, b, dims=1, out=out)
        return out

    check(fn, [_arg(a, False), _arg(b, False)], {}, device)


@pytest.mark.parametrize("p", [2.0, 3.0])
def test_cdist_double_backward(device: str, p: float) -> None:
    """PyTorch raises for a second derivative of cdist; ember's backward is written in ember ops and
    gives the one PyTorch computes for the same distances written out."""
    rng = np.random.default_rng(10)
    a, b = rng.standard_normal((4, 3)), rng.standard_normal((5, 3))

    def second(lib, dist, **dev):
        x = lib.tensor(a, requires_grad=True, **dev)
        y = lib.tensor(b, **dev)
        (g,) = lib.autograd.grad(dist(lib, x, y).sum(), x, create_graph=True)
        (g ** 2).sum().backward()
        return _to_np(x.grad)

    def written_out(lib, x, y):
        return ((x.unsqueeze(1) - y.unsqueeze(0)).abs() ** p).sum(-1) ** (1 / p)

    got = second(ember, lambda lib, x, y: lib.cdist(x, y, p=p), device=device)
    np.testing.assert_allclose(got, second(torch, written_out), rtol=1e-9, atol=1e-12)


def test_out_forms(device: str) -> None:
    """searchsorted, bucketize and histc take ``out=`` as PyTorch's do (resized when empty)."""
    b = np.array([1.0, 2.0, 2.0, 5.0])
    v = np.array([[0.0, 2.0], [3.0, 9.0]])

    def fn(lib, b, v):
        o1 = lib.zeros(0, dtype=lib.int64, device=v.device)
        lib.searchsorted(b, v, out=o1)
        o2 = lib.zeros(2, 2, dtype=lib.int64, device=v.device)
        lib.bucketize(v, b, right=True, out=o2)
        o3 = lib.zeros(3, dtype=v.dtype, device=v.device)
        lib.histc(v, bins=3, min=0, max=9, out=o3)
        return o1, o2, o3

    check(fn, [_arg(b, False), _arg(v, False)], {}, device)
