"""Autograd: every differentiable op vs finite differences, engine semantics, hooks, grad modes, Functions."""

from __future__ import annotations

import ember
import numpy as np
import pytest
from ember.autograd import Function, gradcheck

RNG = np.random.default_rng(4)
D = ember.float64


def _r(*shape, positive=False, device="cpu"):
    a = RNG.standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    return ember.tensor(a, dtype=D, device=device, requires_grad=True)


def _dev_dtype(device):
    be = ember.plugins.backend(device)
    return D if D in be.supported_dtypes(0) else None


# (name, fn, input shapes, positive inputs)
_OPS = [
    ("add_bcast", lambda a, b: a + b, [(3, 4), (4,)], False),
    ("sub_bcast", lambda a, b: a - b, [(3, 1), (1, 4)], False),
    ("mul_bcast", lambda a, b: a * b, [(2, 3, 4), (3, 1)], False),
    ("div", lambda a, b: a / b, [(3, 4), (3, 4)], True),
    ("pow_tt", lambda a, b: a ** b, [(5,), (5,)], True),
    ("pow_ts", lambda a: a ** 3, [(5,)], False),
    ("rpow", lambda a: 2 ** a, [(5,)], False),
    ("rsub_rdiv", lambda a: 2 - 3 / a, [(5,)], True),
    ("neg_abs", lambda a: (-a).abs(), [(6,)], False),
    ("exp_log", lambda a: a.exp() + a.log(), [(6,)], True),
    ("log1p_expm1", lambda a: a.log1p() + a.expm1(), [(6,)], True),
    ("sqrt_rsqrt", lambda a: a.sqrt() * a.rsqrt() + a.sqrt(), [(6,)], True),
    ("trig", lambda a: a.sin() * a.cos() + a.tanh(), [(6,)], False),
    ("sigmoid_relu", lambda a: a.sigmoid() + a.relu(), [(6,)], False),
    ("erf", lambda a: ember.erf(a), [(6,)], False),
    ("clamp", lambda a: a.clamp(-0.5, 0.5), [(6,)], False),
    ("maximum_minimum", lambda a, b: ember.maximum(a, b) + 2 * ember.minimum(a, b), [(6,), (6,)], False),
    ("where", lambda a, b: ember.where(a > 0, a, b * 2), [(6,), (6,)], False),
    ("lerp", lambda a, b, w: ember.lerp(a, b, w), [(4,), (4,), (4,)], False),
    ("sum_mean", lambda a: a.sum(0) + a.mean(1, keepdim=True), [(3, 3)], False),
    ("var_std", lambda a: a.var(1).sum() + a.std(0, correction=0), [(3, 4)], False),
    ("prod", lambda a: a.prod(1), [(3, 4)], True),
    ("amax_amin", lambda a: a.amax(1).sum() + a.amin(0), [(3, 4)], False),
    ("max_dim", lambda a: a.max(1).values + a.min(0)[0].sum(), [(3, 4)], False),
    ("norm", lambda a: a.norm() + a.norm(p=1, dim=1).sum(), [(3, 4)], False),
    ("logsumexp", lambda a: a.logsumexp(1), [(3, 4)], False),
    ("cumsum_cumprod", lambda a: a.cumsum(1) + a.cumprod(0), [(3, 4)], True),
    ("shape_ops", lambda a: a.view(4, 3).t().reshape(2, 6).unsqueeze(0).permute(2, 0, 1).squeeze().flatten(),
     [(3, 4)], False),
    ("expand_repeat", lambda a: a.expand(2, 3, 4).sum(0) + a.repeat(1, 4), [(3, 1)], False),
    ("cat_stack", lambda a, b: ember.cat([a, b], 1).sum(1) + ember.stack([a, b]).prod(0).sum(1), [(2, 3), (2, 3)],
     False),
    ("chunk_split", lambda a: a.chunk(2, 1)[1] * a.split([1, 3], 1)[1][:, :2], [(3, 4)], False),
    ("flip_tril_narrow", lambda a: a.flip(0).tril() + a.triu(1) + a.narrow(1, 0, 3).sum(), [(3, 3)], False),
    ("index", lambda a: a[1:, ::2] * a[[0, 2], 1:3] + a[a > 0].sum(), [(3, 4)], False),
    ("gather_scatter", lambda a, b: a.gather(1, ember.tensor([[0, 2], [1, 1]])).sum()
     + ember.zeros(2, 3, dtype=D).scatter(1, ember.tensor([[0, 2], [1, 0]]), b).sum()
     + ember.zeros(3, dtype=D).scatter_add(0, ember.tensor([0, 0, 2, 1]), b.reshape(4)), [(2, 3), (2, 2)], False),
    ("index_select_masked", lambda a: a.index_select(0, ember.tensor([2, 0, 2])).masked_fill(
        ember.tensor([True, False, False, True]), 0.0), [(3, 4)], False),
    ("matmul", lambda a, b: a @ b, [(2, 3, 4), (4, 5)], False),
    ("matmul_vec", lambda a, b: (a @ b) + (b @ a.transpose(-1, -2)).sum(), [(3, 4), (4,)], False),
    ("mm_bmm_mv_dot", lambda a, b, v: ember.mm(a, b).sum() + ember.bmm(a.unsqueeze(0), b.unsqueeze(0)).sum()
     + ember.mv(a, v).sum() + ember.dot(v, v) + ember.outer(v, v).sum(), [(2, 3), (3, 2), (3,)], False),
    ("einsum", lambda a, b: ember.einsum("bij,jk->bik", a, b) + ember.einsum("bii->b", a)[:, None, None],
     [(2, 3, 3), (3, 3)], False),
]


@pytest.mark.parametrize("name, fn, shapes, positive", _OPS, ids=[o[0] for o in _OPS])
def test_gradcheck_ops(device, name, fn, shapes, positive):
    if _dev_dtype(device) is None:
        pytest.skip(f"{device} has no float64")
    inputs = tuple(_r(*s, positive=positive, device=device) for s in shapes)
    if device != "cpu" and name in ("gather_scatter", "index_select_masked"):
        pytest.skip("index tensors are built on the CPU in this case")
    assert gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def _central_diff(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


@pytest.mark.parametrize("ember_fn, np_fn", [
    (lambda t: (t.sin() * t.exp()).sum(), lambda a: (np.sin(a) * np.exp(a)).sum()),
    (lambda t: (t @ t.t()).tanh().sum(), lambda a: np.tanh(a @ a.T).sum()),
    (lambda t: t.softmax(1)[:, 0].log().sum(), lambda a: np.log(np.exp(a[:, 0]) / np.exp(a).sum(1)).sum()),
    (lambda t: (t.var(0) * t.max(1).values.sum()).sum(), lambda a: (a.var(0, ddof=1) * a.max(1).sum()).sum()),
])
def test_backward_vs_numpy_central_difference(ember_fn, np_fn):
    a = RNG.standard_normal((3, 4))
    t = ember.tensor(a, requires_grad=True)
    ember_fn(t).backward()
    np.testing.assert_allclose(t.grad.numpy(), _central_diff(np_fn, a), rtol=1e-5, atol=1e-7)


def test_gradcheck_catches_wrong_backward():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 * x

    x = _r(4)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        gradcheck(BadSquare.apply, (x,))
    assert gradcheck(BadSquare.apply, (x,), raise_exception=False) is False


def test_broadcast_backward_and_accumulation(device):
    a = ember.ones(3, 1, requires_grad=True, device=device)
    b = ember.ones(4, requires_grad=True, device=device)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and a.grad.tolist() == [[4.0]] * 3
    assert b.grad.tolist() == [3.0] * 4
    (a * b).sum().backward()
    assert a.grad.tolist() == [[8.0]] * 3      # accumulates across backward calls
    a.grad = None
    (a * 2).sum().backward()
    assert a.grad.tolist() == [[2.0]] * 3


def test_backward_gradient_arg_and_errors(device):
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    y = x * x
    y.backward(gradient=ember.tensor([1.0, 0.1, 0.01], device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 0.4, 0.06], rtol=1e-6)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (x * 2).backward()
    z = (x ** 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 0.4, 0.06] + 4 * np.array([1, 2, 3]), rtol=1e-6)
    w = (x.exp()).sum()
    w.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        w.backward()
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        ember.ones(2).sum().backward()


def test_autograd_grad_higher_order():
    x = ember.tensor([0.5, 1.0, 2.0], dtype=D, requires_grad=True)
    (g,) = ember.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.detach().numpy(), 3 * np.array([0.5, 1, 2]) ** 2)
    (g2,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * np.array([0.5, 1, 2]))
    (s1,) = ember.autograd.grad(x.sin().sum(), x, create_graph=True)
    (s2,) = ember.autograd.grad(s1.sum(), x, create_graph=True)
    (s3,) = ember.autograd.grad(s2.sum(), x)
    np.testing.assert_allclose(s2.detach().numpy(), -np.sin([0.5, 1, 2]))
    np.testing.assert_allclose(s3.numpy(), -np.cos([0.5, 1, 2]))
    assert x.grad is None                         # autograd.grad does not touch .grad
    y = ember.ones(3, dtype=D, requires_grad=True)
    with pytest.raises(RuntimeError, match="appears to not have been used"):
        ember.autograd.grad((x * 2).sum(), [x, y])
    gx, gy = ember.autograd.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and gx.tolist() == [2.0, 2.0, 2.0]
    assert ember.autograd.gradgradcheck(lambda t: (t ** 3).sum(), (x,))


def test_hooks_and_retain_grad(device):
    x = ember.tensor([1.0, 2.0], requires_grad=True, device=device)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()))
    y = x * 3
    y.register_hook(lambda g: g * 10)             # modifies the gradient flowing back
    y.retain_grad()
    z = y * y
    z.sum().backward()
    assert y.grad.tolist() == [60.0, 120.0]       # retain_grad runs after the tensor's other hooks
    assert x.grad.tolist() == [180.0, 360.0]
    assert seen == [[180.0, 360.0]]
    h.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert seen == [[180.0, 360.0]] and x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
        ember.ones(1).register_hook(lambda g: g)


def test_grad_modes():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        assert not (x * 2).requires_grad
        assert not ember.is_grad_enabled()
        with ember.enable_grad():
            assert (x * 2).requires_grad
    with ember.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert ember.is_grad_enabled()
    ember.set_grad_enabled(False)
    assert not ember.is_grad_enabled()
    ember.set_grad_enabled(True)

    @ember.no_grad()
    def f(t):
        return t * 2

    @ember.enable_grad()
    def g(t):
        return t * 2

    @ember.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not h(x).requires_grad
    with ember.no_grad():
        assert g(x).requires_grad
    with ember.inference_mode():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ember.inference_mode()
    def k(t):
        return t * 2

    assert not k(x).requires_grad


def test_detach_and_requires_grad():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5                                       # shares storage
    assert y[0].item() == 5
    y.detach_()
    assert y.grad_fn is None and not y.requires_grad
    z = ember.zeros(2).requires_grad_()
    assert z.requires_grad and z.is_leaf
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        ember.zeros(2, dtype=ember.int64).requires_grad_()  # (PyTorch's wording for requires_grad_)
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables"):
        (x * 2).requires_grad_(False)


def test_version_counter_error():
    x = ember.ones(3, requires_grad=True)
    y = x * 1
    z = y.exp()              # saves its output
    y2 = y * y               # saves y
    y.add_(1)
    with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation has been modified "
                                           "by an inplace operation"):
        y2.sum().backward()
    del z
    a = ember.ones(3, requires_grad=True)
    b = a.sigmoid()
    b.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()
    # in-place on a tensor nobody saved is fine and differentiable
    c = a * 2
    c.add_(1)
    c.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0, 2.0]


def test_custom_function():
    class MulSplit(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            ctx.save_for_backward(x, y)
            ctx.k = k
            idx = (x > 0).long()
            ctx.mark_non_differentiable(idx)
            return x * y * k, idx

        @staticmethod
        def backward(ctx, g, g_idx):
            x, y = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False, False)
            return g * y * ctx.k, None, None

    x = ember.tensor([1.0, -2.0], requires_grad=True)
    y = ember.tensor([3.0, 4.0])
    out, idx = MulSplit.apply(x, y, 2.0)
    assert not idx.requires_grad and out.requires_grad
    assert type(out.grad_fn).__name__ in ("MulSplitBackward", "BackwardNode") or "MulSplit" in out.grad_fn.name()
    out.sum().backward()
    assert x.grad.tolist() == [6.0, 8.0]


def test_legacy_names():
    v = ember.autograd.Variable(ember.ones(2), requires_grad=True)
    assert isinstance(v, ember.Tensor) and v.requires_grad
    f = ember.FloatTensor([1, 2])
    assert f.dtype is ember.float32 and f.tolist() == [1.0, 2.0]
    assert isinstance(f, ember.FloatTensor) and not isinstance(f, ember.LongTensor)
    assert ember.LongTensor([1, 2]).dtype is ember.int64
    assert ember.FloatTensor(2, 3).shape == (2, 3)
    assert ember.Tensor([1, 2]).dtype is ember.float32
