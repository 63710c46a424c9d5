"""In-place ops through views rewrite the base's history (PyTorch's CopySlices), against PyTorch.

Every case runs the same program on PyTorch and on ember (every device): make a non-leaf base
from a leaf, take a view of it, modify the view in place (possibly with another tensor that
requires grad), then backpropagate a random upstream gradient through the base. Values and the
gradients of every leaf must match; where PyTorch raises, ember raises the same exception type.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

# (name, view of a (4, 3) base): every view op, and views of views
VIEWS = {
    "slice_rows": lambda y: y[1:],
    "step_slice": lambda y: y[::2],
    "narrow_cols": lambda y: y.narrow(1, 1, 2),
    "select_col": lambda y: y[:, 0],
    "select_row": lambda y: y.select(0, 2),
    "int_index": lambda y: y[3],
    "transpose_row": lambda y: y.t()[1],
    "nested_slices": lambda y: y[1:][:, 1:],
    "view_then_slice": lambda y: y.view(12)[3:7],
    "reshape_row": lambda y: y.reshape(2, 6)[1],
    "unsqueeze_index": lambda y: y.unsqueeze(0)[0, 1],
    "permute_3d": lambda y: y.view(2, 2, 3).permute(2, 0, 1)[1],
    "flatten_all": lambda y: y.view(-1),
    "whole_view": lambda y: y.view(4, 3),
}

# (name, in-place op on view v with a same-shaped tensor w that requires grad)
OPS = {
    "mul_scalar": lambda v, w, m: v.mul_(2.5),
    "add_tensor": lambda v, w, m: v.add_(w),
    "mul_tensor": lambda v, w, m: v.mul_(w),
    "sub_alpha": lambda v, w, m: v.sub_(w, alpha=2),
    "div_tensor": lambda v, w, m: v.div_(w),
    "pow_scalar": lambda v, w, m: v.pow_(2),
    "exp_": lambda v, w, m: v.exp_(),
    "sigmoid_": lambda v, w, m: v.sigmoid_(),
    "clamp_": lambda v, w, m: v.clamp_(min=-0.2, max=0.4),
    "zero_": lambda v, w, m: v.zero_(),
    "fill_": lambda v, w, m: v.fill_(3.0),
    "copy_": lambda v, w, m: v.copy_(w),
    "copy_expr": lambda v, w, m: v.copy_(w * 2),
    "masked_fill_": lambda v, w, m: v.masked_fill_(m, 0.0),
    "setitem_all": lambda v, w, m: v.__setitem__(..., w),
    "iadd": lambda v, w, m: v.__iadd__(w),
    "addcmul_": lambda v, w, m: v.addcmul_(w, w, value=0.5),
    "lerp_": lambda v, w, m: v.lerp_(w, 0.25),
}


def _leaves(lib, dev, view):
    rng = np.random.default_rng(7)
    x_np = rng.standard_normal((4, 3)).astype(np.float32)
    vshape = _view_shape(view)
    w_np = (rng.random(vshape) + 0.5).astype(np.float32)
    m_np = rng.random(vshape) > 0.5
    g_np = rng.standard_normal((4, 3)).astype(np.float32)
    kw = {} if lib is torch else {"device": dev}
    x = lib.tensor(x_np, requires_grad=True, **kw)
    w = lib.tensor(w_np, requires_grad=True, **kw)
    return x, w, lib.tensor(m_np, **kw), lib.tensor(g_np, **kw)


def _view_shape(view) -> tuple:
    return tuple(view(torch.zeros(4, 3)).shape)


def _run(lib, dev, view, op):
    x, w, m, g = _leaves(lib, dev, view)
    y = x * 1.5
    op(view(y), w, m)
    (y * g).sum().backward()
    return y.detach(), x.grad, w.grad


def _np(t):
    return t.detach().cpu().numpy()


def _assert_same(mine, ref):
    for a, b in zip(mine, ref):
        if b is None:
            assert a is None or not np.asarray(_np(a)).any()
            continue
        assert a is not None, "ember left a gradient None where PyTorch computed one"
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op_name", sorted(OPS))
@pytest.mark.parametrize("view_name", sorted(VIEWS))
def test_inplace_on_view_matches_pytorch(device, view_name, op_name):
    view, op = VIEWS[view_name], OPS[op_name]
    ref = _run(torch, None, view, op)
    _assert_same(_run(ember, device, view, op), ref)


def _pair(device, fn):
    """Run ``fn(lib, kw)`` on both; return (ember outcome, torch outcome) as values or exception types."""
    out = []
    for lib, kw in ((ember, {"device": device}), (torch, {})):
        try:
            out.append(fn(lib, kw))
        except Exception as e:  # noqa: BLE001 - the exception type is what is compared
            out.append(type(e))
    return out


def test_view_of_leaf_inplace_raises(device):
    def fn(lib, kw):
        w = lib.ones(3, requires_grad=True, **kw)
        w[:2].add_(1)
        return w.detach().cpu().numpy()

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


def test_view_of_leaf_inplace_under_no_grad_is_allowed(device):
    def fn(lib, kw):
        w = lib.ones(3, requires_grad=True, **kw)
        with lib.no_grad():
            w[:2].add_(1)
            w[2:].zero_()
        return w.detach().cpu().numpy()

    mine, ref = _pair(device, fn)
    np.testing.assert_array_equal(mine, ref)


def test_multi_output_view_inplace_raises(device):
    def fn(lib, kw):
        x = lib.ones(4, requires_grad=True, **kw)
        x.mul(2).split(2)[0].mul_(2)

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


def test_write_into_expanded_view_raises(device):
    def fn(lib, kw):
        lib.zeros(1, 3, **kw).expand(4, 3).add_(1)

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


@pytest.mark.parametrize("when", ["view_before", "view_after"])
def test_other_views_see_the_new_history(device, when):
    """A view taken before (or after) an in-place op on the base or a sibling view backpropagates
    through the new values, as PyTorch regenerates its grad_fn."""

    def fn(lib, kw):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, **kw)
        w = lib.tensor([5.0, 6.0], requires_grad=True, **kw)
        y = x * 1
        a = y[1:3] if when == "view_before" else None
        y[2:].mul_(w)
        y.mul_(2)
        a = y[1:3] if a is None else a
        (a * lib.tensor([1.0, 10.0], **kw)).sum().backward()
        return x.grad.cpu().numpy(), w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b)


def test_base_without_grad_gets_history_from_view_write(device):
    """``zeros(...)[i:j] = w`` makes the base require grad; earlier views of it follow."""

    def fn(lib, kw):
        w = lib.tensor([2.0, 3.0], requires_grad=True, **kw)
        y = lib.zeros(4, **kw)
        early = y[:2]
        y[1:3] = w
        assert y.requires_grad
        (early.sum() * 3 + y.sum()).backward()
        return w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    np.testing.assert_allclose(mine, ref)


def test_copy_from_leaf_keeps_leaf_a_leaf(device):
    def fn(lib, kw):
        w = lib.tensor([2.0, 3.0], requires_grad=True, **kw)
        y = lib.zeros(2, **kw)
        y.copy_(w)
        (y * y).sum().backward()
        return y.is_leaf, w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    assert mine[0] == ref[0]
    np.testing.assert_allclose(mine[1], ref[1])


def test_inplace_needing_old_value_of_non_leaf(device):
    """``y.mul_(w)`` needs y's value before the write for w's gradient (PyTorch saves it)."""

    def fn(lib, kw):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True, **kw)
        w = lib.tensor([4.0, 5.0, 6.0], requires_grad=True, **kw)
        y = x * 2
        y.mul_(w).pow_(2)
        y.sum().backward()
        return x.grad.cpu().numpy(), w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_saved_value_changed_before_still_raises(device):
    """A value saved by an earlier op and then overwritten still makes backward raise."""

    def fn(lib, kw):
        x = lib.tensor([1.0, 2.0], requires_grad=True, **kw)
        y = x * 2
        z = y * y
        y[0:1].mul_(3)
        z.sum().backward()

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


def test_double_backward_through_view_write(device):
    def fn(lib, kw):
        x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True, **kw)
        y = x * x
        y[1:].mul_(x[1:])
        (gx,) = lib.autograd.grad(y.sum(), x, create_graph=True)
        gx.sum().backward()
        return gx.detach().cpu().numpy(), x.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_parameters_are_freed_without_the_cyclic_gc():
    """A parameter used in a backward is freed by reference counting, as in PyTorch."""
    import gc
    import weakref

    was = gc.isenabled()
    gc.disable()
    try:
        p = ember.nn.Parameter(ember.randn(8))
        (p * 2).sum().backward()
        ref = weakref.ref(p)
        del p
        assert ref() is None
    finally:
        if was:
            gc.enable()


def test_leaf_hook_outlives_the_graph():
    x = ember.ones(3, requires_grad=True)
    seen = []
    handle = x.register_hook(lambda g: seen.append(1) or g * 2)
    (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert len(seen) == 2 and x.grad.tolist() == [4.0, 4.0, 4.0]
    handle.remove()
    (x * 1).sum().backward()
    assert len(seen) == 2 and x.grad.tolist() == [5.0, 5.0, 5.0]


@pytest.mark.parametrize("src", ["leaf", "exp"])
def test_copy_broadcast_source_gets_summed_gradient(device, src):
    """``y.copy_(w)`` with ``w`` broadcast into ``y``: w's gradient has w's shape (summed)."""

    def fn(lib, kw):
        w = lib.tensor([2.0], requires_grad=True, **kw)
        y = lib.zeros(2, 3, **kw)
        y.copy_(w if src == "leaf" else w.exp())
        (y * y).sum().backward()
        return w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    np.testing.assert_allclose(mine, ref, rtol=1e-5)


@pytest.mark.parametrize("use", ["reshape_same", "copy_", "setitem", "index_put_", "requires_grad"])
def test_view_of_base_that_gained_grad_requires_grad(device, use):
    """A view taken before an in-place op made its base require grad requires grad too, on every path."""

    def fn(lib, kw):
        w = lib.tensor([1.0, 2.0, 3.0], requires_grad=True, **kw)
        base = lib.zeros(3, **kw)
        v = base[:2]
        base.copy_(w * 2)
        if use == "requires_grad":
            return v.requires_grad, v.grad_fn is None
        out = lib.zeros(2, **kw)
        if use == "reshape_same":
            out = v.reshape(2)
        elif use == "copy_":
            out.copy_(v)
        elif use == "setitem":
            out[:] = v
        else:
            out.index_put_((lib.tensor([1, 0], **kw),), v)
        (out * lib.tensor([1.0, 10.0], **kw)).sum().backward()
        return w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    if use == "requires_grad":
        assert mine == ref
    else:
        np.testing.assert_allclose(mine, ref)


def test_op_on_stale_view_of_detached_base_does_not_record(device):
    def fn(lib, kw):
        x = lib.ones(3, requires_grad=True, **kw)
        y = x * 1
        with lib.no_grad():
            v = y[1:]
        y.detach_()
        z = v * 2
        return z.requires_grad, z.grad_fn is None

    mine, ref = _pair(device, fn)
    assert mine == ref


def test_fill_with_tensor_that_requires_grad(device):
    def fn(lib, kw):
        w = lib.tensor(2.0, requires_grad=True, **kw)
        y = lib.zeros(2, 3, **kw)
        y[0].fill_(w)
        (y * y).sum().backward()
        return w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    np.testing.assert_allclose(mine, ref)


def test_in_place_through_a_deep_chain_of_views(device):
    """A view taken through 1500 view ops: redoing it must not nest Python calls (RecursionError)."""

    def fn(lib, kw):
        x = lib.ones(3000, requires_grad=True, **kw)
        y = x * 1
        v = y
        for _ in range(1500):
            v = v[1:]
        v.mul_(2)
        y.sum().backward()
        return x.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    np.testing.assert_allclose(mine, ref)


@pytest.mark.parametrize("where", ["self", "view_of_self", "stale_view"])
def test_retain_grad_follows_the_in_place_op(device, where):
    """``.grad`` of a tensor that retains it is the gradient of its value after an in-place op."""

    def fn(lib, kw):
        x = lib.tensor([1.0, -2.0, 3.0], requires_grad=True, **kw)
        y = x * 1
        kept = y if where != "stale_view" else y[1:]
        kept.retain_grad()
        if where == "self":
            y.mul_(2)
        elif where == "view_of_self":
            y[1:].mul_(2)
        else:
            y.mul_(2)
        (kept * kept).sum().backward()
        return x.grad.cpu().numpy(), kept.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    for a, b in zip(mine, ref):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("make", ["split_then_index", "unbind_then_view"])
def test_view_of_multi_output_view_inplace_raises(device, make):
    def fn(lib, kw):
        y = lib.ones(2, 2, requires_grad=True, **kw) * 1
        v = y.split(1)[1][0] if make == "split_then_index" else y.unbind(0)[1].view(2)
        v.add_(1)
        return y.detach().cpu().numpy()

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


@pytest.mark.parametrize("op", ["t_", "squeeze_", "unsqueeze_", "t_on_view"])
def test_in_place_view_ops_keep_history(device, op):
    """``t_``/``squeeze_``/``unsqueeze_`` on a non-leaf: the gradient follows the new layout."""

    def fn(lib, kw):
        x = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True, **kw)
        y = x * 1
        if op == "t_":
            y.t_()
        elif op == "squeeze_":
            y = y[:1]
            y.squeeze_(0)
        elif op == "unsqueeze_":
            y.unsqueeze_(1)
        else:  # a view whose layout changes, then written through: the base's gradient follows
            v = y[:, 1:]
            v.t_()
            v.mul_(lib.tensor([[1.0], [10.0]], **kw))
        g = lib.arange(y.numel(), dtype=lib.float32, **kw).reshape(tuple(y.shape))
        (y * g).sum().backward()
        return x.grad.cpu().numpy(), tuple(y.shape)

    mine, ref = _pair(device, fn)
    np.testing.assert_allclose(mine[0], ref[0])
    assert mine[1] == ref[1]


def test_in_place_view_op_on_leaf_raises(device):
    def fn(lib, kw):
        lib.ones(1, 3, requires_grad=True, **kw).squeeze_(0)

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError


def test_out_argument_resized_bumps_the_version(device):
    """``out=`` of another shape is resized: a node that saved it must raise, not use the new values."""

    def fn(lib, kw):
        w = lib.tensor([1.0, 2.0], requires_grad=True, **kw)
        o = lib.ones(2, **kw)
        z = w * o
        lib.add(lib.ones(2, 2, **kw), 1, out=o)
        z.sum().backward()
        return w.grad.cpu().numpy()

    mine, ref = _pair(device, fn)
    assert ref is RuntimeError and mine is RuntimeError
