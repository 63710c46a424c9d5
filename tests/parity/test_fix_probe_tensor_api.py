"""Probe of the tensor API against PyTorch: ``tensor()`` of tensors and arrays, views made in no_grad
mode, ``.data`` and the version counter, inference tensors, checkpoint's errors, setitem's
refusals and ``backward`` with a list as gradient. Each case runs the same function on real PyTorch
and on ember and compares what a user sees (values, dtype names, exception types and messages)."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _observe(lib, fn, device):
    """fn(lib, dev)'s result with dtypes as names and tensors as (values, dtype), or the exception
    type and message."""
    dev = "cpu" if lib is torch else device
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = fn(lib, dev)
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        return type(e), str(e)
    return _plain(out)


def _plain(v):
    if isinstance(v, (torch.Tensor, ember.Tensor)):
        return "tensor", v.detach().cpu().tolist(), str(v.dtype).split(".")[-1], tuple(v.shape)
    if isinstance(v, (torch.dtype, ember.dtype)):
        return str(v).split(".")[-1]
    if isinstance(v, (tuple, list)):
        return type(v)(_plain(e) for e in v)
    return v


def _same(fn, device, message=True):
    ref, mine = _observe(torch, fn, device), _observe(ember, fn, device)
    if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], type):
        assert isinstance(mine, tuple) and mine[0] is ref[0], (mine, ref)
        if message:
            assert mine[1].replace("ember", "torch") == ref[1], (mine, ref)
        return
    _close(mine, ref)


def _close(mine, ref):
    """Equal, floats within float32's rounding (sin/exp differ in the last bit across libraries)."""
    if isinstance(ref, float):
        assert mine == pytest.approx(ref, rel=1e-6, abs=1e-6)
    elif isinstance(ref, (tuple, list)):
        assert type(mine) is type(ref) and len(mine) == len(ref), (mine, ref)
        for m, r in zip(mine, ref):
            _close(m, r)
    else:
        assert mine == ref


# ---- 1: tensor() of 0-d / one-element tensors and of NumPy arrays ------------------------------
def _t(lib, dt, v=1):
    return lib.tensor(v, dtype=getattr(lib, dt))


TENSOR_OF = {
    "f64": lambda L, d: L.tensor([_t(L, "float64"), _t(L, "float64", 2)], device=d),
    "i32": lambda L, d: L.tensor([_t(L, "int32"), _t(L, "int32", 2)], device=d),
    "f16": lambda L, d: L.tensor([_t(L, "float16"), _t(L, "float16", 2)], device=d),
    "bool": lambda L, d: L.tensor([_t(L, "bool", True), _t(L, "bool", False)], device=d),
    "i32_f64": lambda L, d: L.tensor([_t(L, "int32"), _t(L, "float64", 2.5)], device=d),
    "i32_i64": lambda L, d: L.tensor([_t(L, "int32"), _t(L, "int64", 2)], device=d),
    "f16_f32": lambda L, d: L.tensor([_t(L, "float16"), _t(L, "float32", 2)], device=d),
    "i32_float": lambda L, d: L.tensor([_t(L, "int32"), 2.5], device=d),
    "int_i32": lambda L, d: L.tensor([2, _t(L, "int32")], device=d),
    "bool_i32": lambda L, d: L.tensor([_t(L, "bool", True), _t(L, "int32", 3)], device=d),
    "nested": lambda L, d: L.tensor([[_t(L, "int32")], [_t(L, "int32", 2)]], device=d),
    "one_elem_1d": lambda L, d: L.tensor([L.tensor([1.0], dtype=L.float64), L.tensor([2.0], dtype=L.float64)]),
    "one_elem_2d": lambda L, d: L.tensor([L.tensor([[1.0]])], device=d),
    "requires_grad": lambda L, d: L.tensor([L.tensor(1.0, dtype=L.float64, requires_grad=True)], device=d),
    "explicit_dtype": lambda L, d: L.tensor([_t(L, "int32")], dtype=L.float32, device=d),
    "two_elem": lambda L, d: L.tensor([L.tensor([1.0, 2.0]), L.tensor([3.0, 4.0])], device=d),
    "np_i32": lambda L, d: L.tensor([np.ones(2, np.int32)], device=d),
    "np_i32_f64": lambda L, d: L.tensor([np.ones(2, np.int32), np.ones(2, np.float64)], device=d),
    "np_f64_rows": lambda L, d: L.tensor([np.array([1.0, 2.0]), np.array([3.0, 4.0])], device=d),
    "np_0d": lambda L, d: L.tensor([np.array(1.0), np.array(2.0)], device=d),
}


@pytest.mark.parametrize("case", list(TENSOR_OF))
def test_tensor_of_tensors_and_arrays(device, case):
    fn = TENSOR_OF[case]
    _same(fn, device, message=case != "np_0d")


# ---- 2: views made in no_grad mode -------------------------------------------------------------
def _nograd_view(L, leaf):
    x = L.ones(3, requires_grad=True)
    y = x if leaf else x * 2
    with L.no_grad():
        v = y.view(3)
    return x, y, v


@pytest.mark.parametrize("leaf", [True, False])
def test_no_grad_view_requires_grad(device, leaf):
    def fn(L, d):
        _, _, v = _nograd_view(L, leaf)
        w = v.view(3)
        return v.requires_grad, v.is_leaf, v.grad_fn is None, w.requires_grad, (v * 2).requires_grad

    _same(fn, device)


@pytest.mark.parametrize("leaf", [True, False])
def test_no_grad_view_inplace_in_grad_mode_raises(device, leaf):
    def fn(L, d):
        _nograd_view(L, leaf)[2].mul_(2)

    _same(fn, device)


def test_view_of_no_grad_view_inplace_raises(device):
    _same(lambda L, d: _nograd_view(L, False)[2].view(3).mul_(2), device)


def test_no_grad_view_after_base_inplace_raises_on_use(device):
    def fn(L, d):
        _, y, v = _nograd_view(L, False)
        y.mul_(2)
        return v * 2

    _same(fn, device)


def test_no_grad_view_inplace_allowed(device):
    def inside(L, d):
        _, y, v = _nograd_view(L, False)
        with L.no_grad():
            v.mul_(2)
        return y

    def no_requires_grad(L, d):
        y = L.ones(3) * 2
        with L.no_grad():
            v = y.view(3)
        v.mul_(2)
        return y

    _same(inside, device)
    _same(no_requires_grad, device)


# ---- 3: .data has a version counter of its own --------------------------------------------------
def test_data_inplace_before_backward(device):
    def fn(L, d):
        x = L.ones(3, requires_grad=True, device=d)
        y = x.exp()
        y.data.add_(1)
        y.sum().backward()
        return x.grad, int(y._version[0] if isinstance(y._version, list) else y._version)

    _same(fn, device)


def test_data_version_counters(device):
    def v(t):
        return t._version[0] if isinstance(t._version, list) else t._version

    def fn(L, d):
        x = L.ones(3, device=d)
        a = x.data
        a.add_(1)
        x.add_(1)
        b = x.detach()
        b.add_(1)
        return v(x), v(a), v(b), v(x.data), x

    _same(fn, device)


def test_copy_from_own_data_is_a_no_op(device):
    def fn(L, d):
        x = L.arange(4.0, device=d)
        x.copy_(x.data)
        return x

    _same(fn, device)


# ---- 4: inference tensors -----------------------------------------------------------------------
def _inference_ones(L, d):
    with L.inference_mode():
        return L.ones(3, device=d)


INFERENCE = {
    "saved_for_backward": lambda L, d: _inference_ones(L, d) * L.ones(3, requires_grad=True, device=d),
    "not_saved": lambda L, d: (_inference_ones(L, d) + L.ones(3, requires_grad=True, device=d)).requires_grad,
    "no_grad_use": lambda L, d: ((_inference_ones(L, d) * 2).requires_grad, _inference_ones(L, d) * 2),
    "inplace_outside": lambda L, d: _inference_ones(L, d).add_(1),
    "setitem_outside": lambda L, d: _inference_ones(L, d).__setitem__(0, 2.0),
    "requires_grad_": lambda L, d: _inference_ones(L, d).requires_grad_(),
    "requires_grad_false": lambda L, d: _inference_ones(L, d).requires_grad_(False).requires_grad,
    "view_inplace_outside": lambda L, d: _inference_ones(L, d).view(3).add_(1),
    "clone_inplace": lambda L, d: _inference_ones(L, d).clone().add_(1),
    "data_inplace": lambda L, d: _inference_ones(L, d).data.add_(1),
}


@pytest.mark.parametrize("case", list(INFERENCE))
def test_inference_tensor(device, case):
    _same(INFERENCE[case], device)


def test_inference_mode_inplace_and_requires_grad_inside(device):
    def fn(L, d):
        with L.inference_mode():
            x = L.ones(3, device=d)
            x.add_(1)
            x.requires_grad_()
            r = x.requires_grad
        y = L.ones(3, device=d)
        with L.inference_mode():
            y.add_(1)  # a normal tensor written inside inference mode
        return r, x, y

    _same(fn, device)


def test_enable_grad_inside_inference_mode_records_nothing(device):
    def fn(L, d):
        x = L.ones(3, requires_grad=True, device=d)
        with L.inference_mode():
            with L.enable_grad():
                z = x * 2
                enabled = L.is_grad_enabled()
        return z.requires_grad, z.grad_fn is None, enabled

    _same(fn, device)


def test_is_inference(device):
    @ember.inference_mode()
    def f(a):
        return a * 2

    x = _inference_ones(ember, device)
    assert x.is_inference() and f(ember.ones(2, device=device)).is_inference()
    assert not ember.ones(2, device=device).is_inference()


# ---- 5: checkpoint's errors ---------------------------------------------------------------------
def _ckpt(L, d, reentrant):
    from importlib import import_module

    checkpoint = import_module(f"{L.__name__}.utils.checkpoint").checkpoint
    x = L.ones(3, requires_grad=True, device=d)
    return x, checkpoint(lambda t: (t.sin() * 2).sum(), x, use_reentrant=reentrant)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_second_backward_raises(device, reentrant):
    def fn(L, d):
        _, y = _ckpt(L, d, reentrant)
        y.backward()
        y.backward()

    def retained(L, d):
        x, y = _ckpt(L, d, reentrant)
        y.backward(retain_graph=True)
        y.backward()
        return x.grad

    _same(fn, device)
    _same(retained, device)


def test_reentrant_checkpoint_refuses_grad_and_inputs(device):
    def grad(L, d):
        x, y = _ckpt(L, d, True)
        return L.autograd.grad(y, x)

    def inputs(L, d):
        x, y = _ckpt(L, d, True)
        y.backward(inputs=[x])

    def non_reentrant_grad(L, d):
        x, y = _ckpt(L, d, False)
        return L.autograd.grad(y, x)

    _same(grad, device)
    _same(inputs, device)
    _same(non_reentrant_grad, device)


# ---- 6: setitem's refusals, backward with a list ------------------------------------------------
SETITEM = {
    "list": lambda x: x.__setitem__(0, [1.0, 2.0, 3.0]),
    "tuple": lambda x: x.__setitem__(0, (1.0, 2.0, 3.0)),
    "ndarray": lambda x: x.__setitem__(0, np.array([1.0, 2.0, 3.0])),
    "ndarray_0d": lambda x: x.__setitem__(0, np.array(2.0)),
    "np_scalar": lambda x: x.__setitem__(0, np.float64(2.0)),
    "overlap_shift": lambda x: x.view(-1).__setitem__(slice(1, None), x.view(-1)[:-1]),
    "overlap_partial": lambda x: x.view(-1).__setitem__(slice(1, 3), x.view(-1)[2:4]),
    "same_elements": lambda x: x.__setitem__(slice(None), x),
    "disjoint": lambda x: x.__setitem__(0, x[1]),
    "interleaved": lambda x: x.view(-1).__setitem__(slice(None, None, 2), x.view(-1)[1::2]),
    "advanced_overlap": lambda x: x.__setitem__([0], x[1]),
    "advanced_self": lambda x: x.view(-1).__setitem__([0, 1, 2, 3, 4, 5], x.view(-1)),
}


@pytest.mark.parametrize("case", list(SETITEM))
def test_setitem_values(device, case):
    def fn(L, d):
        x = L.arange(6.0, device=d).reshape(2, 3)
        SETITEM[case](x)
        return x

    _same(fn, device, message=case not in ("list", "tuple", "ndarray", "ndarray_0d"))
    if case in ("list", "ndarray"):  # the message names ember's tensor type where PyTorch names its own
        with pytest.raises(TypeError, match=r"can't assign a (list|numpy.ndarray) to a ember\.(opencl\.)?FloatTensor"):
            fn(ember, device)


@pytest.mark.parametrize("grad", [[1.0, 2.0, 3.0], [[1.0, 2.0, 3.0]], 1.0, "ones_list"])
def test_backward_gradient_types(device, grad):
    def fn(L, d):
        x = L.ones(3, requires_grad=True, device=d)
        g = [L.ones(3, device=d)] if grad == "ones_list" else grad
        (x * 2).backward(g)
        return x.grad

    _same(fn, device, message=grad != 1.0)  # PyTorch's "'float' object is not iterable" there
