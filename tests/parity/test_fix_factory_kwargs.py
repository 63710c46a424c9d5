"""Factories take PyTorch's keyword arguments: ``size=``, ``out=``, ``pin_memory``, ``layout``,
``memory_format``, and refuse unknown ones. Before, they were swallowed: ``empty(size=(2, 3))``
(PyTorch's GAT example writes it) gave a 0-d tensor, and ``zeros(2, out=t)`` left ``t`` alone."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

SIZED = ["empty", "zeros", "ones", "rand", "randn"]


def _both(fn, *args, **kwargs):
    """(torch result or exception, ember result or exception) of the same call."""
    out = []
    for lib in (torch, ember):
        try:
            out.append(fn(lib, *args, **kwargs))
        except Exception as exc:  # compared below
            out.append(exc)
    return out


def _same_error(theirs, ours):
    assert isinstance(theirs, Exception) and type(ours) is type(theirs), (theirs, ours)


@pytest.mark.parametrize("name", SIZED)
@pytest.mark.parametrize("size", [(2, 3), [4], (), (0, 2)])
def test_size_keyword(name, size, device):
    t = getattr(torch, name)(size=size)
    e = getattr(ember, name)(size=size, device=device)
    assert tuple(e.shape) == tuple(t.shape) and e.dtype.name == str(t.dtype).split(".")[1]


@pytest.mark.parametrize("name", SIZED)
def test_size_given_twice_and_unknown_keywords_are_type_errors(name):
    theirs, ours = _both(lambda lib: getattr(lib, name)(2, size=(3,)))
    _same_error(theirs, ours)
    if name in ("empty", "zeros", "ones"):  # rand/randn: PyTorch lists its overloads instead
        assert str(ours) == str(theirs)
    theirs, ours = _both(lambda lib: getattr(lib, name)(2, bogus=1))
    _same_error(theirs, ours)
    assert "bogus" in str(ours)


_OUT_CALLS = {
    "empty": lambda lib, out: lib.empty(2, 3, out=out),
    "zeros": lambda lib, out: lib.zeros(2, 3, out=out),
    "ones": lambda lib, out: lib.ones(size=(2, 3), out=out),
    "full": lambda lib, out: lib.full((2, 3), 7, out=out),
    "arange": lambda lib, out: lib.arange(6, out=out),
    "linspace": lambda lib, out: lib.linspace(0, 1, 5, out=out),
    "logspace": lambda lib, out: lib.logspace(0, 2, 3, out=out),
    "eye": lambda lib, out: lib.eye(2, 3, out=out),
    "rand": lambda lib, out: lib.rand(2, 3, out=out),
    "randn": lambda lib, out: lib.randn(2, 3, out=out),
    "randint": lambda lib, out: lib.randint(0, 5, (2, 3), out=out),
    "randperm": lambda lib, out: lib.randperm(5, out=out),
    "normal": lambda lib, out: lib.normal(0.0, 1.0, (2, 3), out=out),
}
_DETERMINISTIC = {"zeros", "ones", "full", "arange", "linspace", "logspace", "eye"}


@pytest.mark.parametrize("name", sorted(_OUT_CALLS))
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("out_shape", [(2, 3), (0,), (7,)])
def test_out_is_written_with_its_dtype_and_resized(name, dtype, out_shape, device):
    call = _OUT_CALLS[name]
    tout = torch.zeros(out_shape, dtype=getattr(torch, dtype))
    eout = ember.zeros(out_shape, dtype=getattr(ember, dtype), device=device)
    theirs, ours = _both(lambda lib: call(lib, tout if lib is torch else eout))
    if isinstance(theirs, Exception):
        _same_error(theirs, ours)
        return
    assert ours is eout and theirs is tout
    assert tuple(eout.shape) == tuple(tout.shape) and eout.dtype.name == dtype
    if name in _DETERMINISTIC:
        np.testing.assert_allclose(eout.cpu().numpy(), tout.numpy(), rtol=1e-6)
    elif name == "randperm":
        assert sorted(eout.tolist()) == sorted(tout.tolist())


def test_out_with_another_dtype_or_device_or_grad_is_refused_as_torch():
    theirs, ours = _both(lambda lib: lib.zeros(2, dtype=lib.float32, out=lib.empty(2, dtype=lib.int64)))
    _same_error(theirs, ours)
    assert str(ours) == str(theirs)
    theirs, ours = _both(lambda lib: lib.ones(2, out=lib.empty(2, requires_grad=True)))
    _same_error(theirs, ours)
    assert str(ours) == str(theirs)
    with ember.no_grad():  # as in PyTorch: fine without grad mode
        leaf = ember.empty(2, requires_grad=True)
        assert ember.ones(2, out=leaf) is leaf


def test_pin_memory_and_layout_and_memory_format():
    for name in ("empty", "zeros", "ones", "rand", "randn"):
        assert tuple(getattr(ember, name)(2, pin_memory=False, layout=ember.strided).shape) == (2,)
        theirs, ours = _both(lambda lib, name=name: getattr(lib, name)(2, pin_memory=True))
        _same_error(theirs, ours)
        assert str(ours) == str(theirs)
    assert tuple(ember.empty(1, 2, 3, 4, memory_format=ember.channels_last).shape) == (1, 2, 3, 4)
    theirs, ours = _both(lambda lib: lib.empty(2, 3, memory_format=lib.channels_last))
    _same_error(theirs, ours)
    assert str(ours) == str(theirs)
    theirs, ours = _both(lambda lib: lib.zeros(2, memory_format=lib.contiguous_format))
    _same_error(theirs, ours)


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "rand_like", "randn_like"])
def test_like_factories_refuse_unknown_keywords(name):
    theirs, ours = _both(lambda lib: getattr(lib, name)(lib.ones(2), bogus=1))
    _same_error(theirs, ours)
    assert tuple(getattr(ember, name)(ember.ones(2), layout=ember.strided, pin_memory=False).shape) == (2,)


@pytest.mark.parametrize("name", ["rand_like", "randn_like"])
def test_like_random_factories_use_the_generator(name):
    g = ember.Generator().manual_seed(5)
    a = getattr(ember, name)(ember.ones(4), generator=g)
    g.manual_seed(5)
    b = getattr(ember, name)(ember.ones(4), generator=g)
    assert a.tolist() == b.tolist()


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_factories_take_size_keyword(name):
    t, e = torch.ones(2, dtype=torch.float64), ember.ones(2, dtype=ember.float64)
    tt, ee = getattr(t, name)(size=(3, 2)), getattr(e, name)(size=(3, 2))
    assert tuple(ee.shape) == tuple(tt.shape) and ee.dtype is ember.float64
    theirs, ours = _both(lambda lib: getattr(lib.ones(2), name)(2, bogus=1))
    _same_error(theirs, ours)


def test_the_gat_example_parameters_have_their_shape():
    """PyTorch's examples/gat: ``nn.Parameter(torch.empty(size=(in, out)))`` then xavier init."""
    w = ember.nn.Parameter(ember.empty(size=(5, 8)))
    a = ember.nn.Parameter(ember.empty(size=(2, 16, 1)))
    ember.nn.init.xavier_normal_(w)
    ember.nn.init.xavier_normal_(a)
    assert tuple(w.shape) == (5, 8) and tuple(a.shape) == (2, 16, 1)


def test_new_empty_strided_refuses_unknown_keywords():
    theirs, ours = _both(lambda lib: lib.ones(2).new_empty_strided((2,), (1,), bogus=1))
    _same_error(theirs, ours)
