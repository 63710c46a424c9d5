"""Every ``nn`` module takes PyTorch's constructor arguments (names, defaults, order) and prints as
PyTorch's does; fixes found by running PyTorch's official examples on ember (the ``bias`` argument
of GroupNorm and the lazy norms, LayerNorm's repr, ``RNNCellBase``, Hardtanh's deprecated names)."""

from __future__ import annotations

import inspect
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

# Modules whose PyTorch constructor takes *args/**kwargs or whose default is a function object:
# their arguments are compared by behaviour elsewhere (the RNN and transformer tests).
_BY_BEHAVIOUR = {"LSTM", "GRU", "RNN", "Transformer", "TransformerEncoderLayer", "TransformerDecoderLayer",
                 "NLLLoss2d", "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d",
                 "LazyConvTranspose2d", "LazyConvTranspose3d"}
# Not in ember (deprecated or distributed-only); each is named in docs/pytorch-coverage.md.
_ABSENT = {"Container", "CrossMapLRN2d", "LinearCrossEntropyLoss", "SyncBatchNorm"}


def _torch_modules():
    for name in sorted(dir(torch.nn)):
        cls = getattr(torch.nn, name)
        if isinstance(cls, type) and issubclass(cls, torch.nn.Module) and name not in _ABSENT:
            yield name


def _params(cls):
    sig = inspect.signature(cls.__init__)
    return [(p.name, p.default, p.kind == p.KEYWORD_ONLY) for p in sig.parameters.values()
            if p.name not in ("self", "args", "kwargs")]


@pytest.mark.parametrize("name", [n for n in _torch_modules() if n not in _BY_BEHAVIOUR])
def test_constructor_arguments_match_torch(name):
    ours = getattr(ember.nn, name, None)
    assert ours is not None, f"ember.nn.{name} is missing"
    theirs = [(n, repr(d), kw) for n, d, kw in _params(getattr(torch.nn, name))]
    mine = [(n, repr(d), kw) for n, d, kw in _params(ours)]
    assert mine == theirs


_REPR_CASES = {
    "LayerNorm": [((4,), {}), ((4,), {"bias": False}), ((4,), {"elementwise_affine": False})],
    "GroupNorm": [((2, 4), {}), ((2, 4), {"bias": False}), ((2, 4), {"affine": False})],
    "RMSNorm": [((4,), {})],
    "BatchNorm2d": [((4,), {"bias": False})],
    "TransformerEncoderLayer": [((8, 2), {})],
    "LSTMCell": [((3, 4), {"bias": False})],
    "Hardtanh": [((-2.0, 2.0), {})],
}


@pytest.mark.parametrize("name,args,kwargs", [(n, a, k) for n, cases in _REPR_CASES.items() for a, k in cases])
def test_repr_and_parameter_names_match_torch(name, args, kwargs):
    theirs, ours = getattr(torch.nn, name)(*args, **kwargs), getattr(ember.nn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]


def test_group_norm_without_bias_matches_torch(device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    tm = torch.nn.GroupNorm(2, 4, bias=False)
    em = ember.nn.GroupNorm(2, 4, bias=False).to(device)
    w = rng.standard_normal(4).astype(np.float32)
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(w))
    with ember.no_grad():
        em.weight.copy_(ember.tensor(w, device=device))
    tx, ex = torch.from_numpy(x).requires_grad_(), ember.tensor(x, device=device, requires_grad=True)
    ty, ey = tm(tx), em(ex)
    np.testing.assert_allclose(ey.detach().cpu().numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    (ty * ty).sum().backward()
    (ey * ey).sum().backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(em.weight.grad.cpu().numpy(), tm.weight.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["LazyBatchNorm1d", "LazyInstanceNorm1d"])
def test_lazy_norm_without_bias_matches_torch(name):
    theirs, ours = getattr(torch.nn, name)(bias=False), getattr(ember.nn, name)(bias=False)
    assert repr(ours) == repr(theirs)
    theirs(torch.ones(2, 3, 4))
    ours(ember.ones(2, 3, 4))
    assert repr(ours) == repr(theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()] == ["weight"]


def test_rnn_cell_base_is_the_cells_base():
    for name in ("RNNCell", "LSTMCell", "GRUCell"):
        assert issubclass(getattr(ember.nn, name), ember.nn.RNNCellBase)
    theirs, ours = torch.nn.RNNCellBase(3, 4, True, 2), ember.nn.RNNCellBase(3, 4, True, 2)
    assert repr(ours) == repr(theirs)
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.reset_parameters()
    assert all(float(p.abs().max()) <= 0.5 for p in ours.parameters())  # U(-1/sqrt(4), 1/sqrt(4))


def test_hardtanh_deprecated_argument_names_warn_and_work():
    x = np.linspace(-3, 3, 7).astype(np.float32)
    with warnings.catch_warnings(record=True) as mine:
        warnings.simplefilter("always")
        ours = ember.nn.Hardtanh(min_value=-2.0, max_value=0.5)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        ref = torch.nn.Hardtanh(min_value=-2.0, max_value=0.5)
    assert [(w.category, str(w.message)) for w in mine] == [(w.category, str(w.message)) for w in theirs]
    assert repr(ours) == repr(ref)
    np.testing.assert_array_equal(ours(ember.tensor(x)).numpy(), ref(torch.from_numpy(x)).numpy())


@pytest.mark.parametrize("name", ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"])
def test_adaptive_avg_pools_take_no_return_indices(name):
    with pytest.raises(TypeError):
        getattr(torch.nn, name)(1, return_indices=True)
    with pytest.raises(TypeError):
        getattr(ember.nn, name)(1, return_indices=True)
