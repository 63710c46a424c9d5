"""ember.vision.ops' model layers against torchvision.ops itself: Conv2dNormActivation, Conv3dNormActivation,
SqueezeExcitation, MLP, Permute, FrozenBatchNorm2d, stochastic_depth / StochasticDepth.

Each layer is built with the same arguments on both sides; the module tree (child names and types, hence
the state_dict), the attributes torchvision sets, the outputs and the gradients (float64, torchvision's
weights copied over) are compared. The random layer (stochastic depth) is checked by its structure and
statistics, since ember's random stream is not PyTorch's.
"""

from __future__ import annotations

import warnings
from functools import partial

import ember
import numpy as np
import pytest
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()
tops = tv.ops

from ember.vision import ops as eops  # noqa: E402


def _lib(which):
    return (torch, tops) if which == "t" else (ember, eops)


def _tree(m):
    return [(n, type(c).__name__) for n, c in m.named_modules()]


def _copy(tm, em):
    assert list(em.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert tuple(em.state_dict()[k].shape) == tuple(v.shape), k
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for v in tm.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape, generator=gen, dtype=v.dtype) + 0.5)
    em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in tm.state_dict().items()})


def _run(tm, em, shape, train=False):
    tm.double().train(train)
    em.double().train(train)
    x = np.random.default_rng(0).standard_normal(shape)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    to, eo = tm(tx), em(ex)
    np.testing.assert_allclose(eo.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    to.pow(2).sum().backward()
    eo.pow(2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    for (k, tp), (_, ep) in zip(tm.named_parameters(), em.named_parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=k)


CONV2D = [
    {}, {"kernel_size": 1}, {"stride": 2, "groups": 2}, {"kernel_size": (3, 5), "dilation": (2, 1)},
    {"kernel_size": 5, "dilation": 2}, {"padding": 0, "bias": True}, {"norm_layer": None},
    {"activation_layer": None}, {"activation_layer": lambda lib: lib.nn.Hardswish, "inplace": None},
    {"norm_layer": lambda lib: partial(lib.nn.BatchNorm2d, eps=1e-3, momentum=0.01),
     "activation_layer": lambda lib: lib.nn.SiLU},
    {"norm_layer": lambda lib: partial(lib.nn.GroupNorm, 2), "padding": "same"},
]


def _args(kw, lib):
    return {k: (v(lib) if callable(v) and k in ("norm_layer", "activation_layer") else v) for k, v in kw.items()}


@pytest.mark.parametrize("kw", CONV2D, ids=[str(i) for i in range(len(CONV2D))])
@pytest.mark.parametrize("train", [False, True], ids=["eval", "train"])
def test_conv2d_norm_activation(kw, train):
    tm = tops.Conv2dNormActivation(4, 6, **_args(kw, torch))
    em = eops.Conv2dNormActivation(4, 6, **_args(kw, ember))
    assert _tree(em) == _tree(tm)
    assert em.out_channels == tm.out_channels
    c_t, c_e = tm[0], em[0]
    assert (c_e.kernel_size, c_e.stride, c_e.padding, c_e.dilation, c_e.groups, c_e.bias is None) == \
        (c_t.kernel_size, c_t.stride, c_t.padding, c_t.dilation, c_t.groups, c_t.bias is None)
    if len(tm) > 2 and hasattr(tm[2], "inplace"):
        assert em[2].inplace == tm[2].inplace
    _copy(tm, em)
    _run(tm, em, (2, 4, 9, 8), train=train)


def test_conv3d_norm_activation():
    tm = tops.Conv3dNormActivation(3, 4, kernel_size=(1, 3, 3), stride=(1, 2, 2))
    em = eops.Conv3dNormActivation(3, 4, kernel_size=(1, 3, 3), stride=(1, 2, 2))
    assert _tree(em) == _tree(tm)
    assert em[0].padding == tm[0].padding and type(em[1]).__name__ == "BatchNorm3d"
    _copy(tm, em)
    _run(tm, em, (2, 3, 2, 6, 6))


def test_conv_norm_activation_direct_use_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tops.misc.ConvNormActivation(2, 2)
        eops.misc.ConvNormActivation(2, 2)
    assert [str(w.message) for w in caught][0] == [str(w.message) for w in caught][1]
    assert [w.category for w in caught] == [UserWarning, UserWarning]


@pytest.mark.parametrize("kw", [{}, {"activation": "SiLU", "scale_activation": "Hardsigmoid"}])
def test_squeeze_excitation(kw):
    tk = {k: getattr(torch.nn, v) for k, v in kw.items()}
    ek = {k: getattr(ember.nn, v) for k, v in kw.items()}
    tm, em = tops.SqueezeExcitation(6, 3, **tk), eops.SqueezeExcitation(6, 3, **ek)
    assert _tree(em) == _tree(tm)
    _copy(tm, em)
    _run(tm, em, (2, 6, 5, 4))


@pytest.mark.parametrize("kw", [
    {}, {"norm_layer": "LayerNorm"}, {"activation_layer": "GELU", "inplace": None, "dropout": 0.3},
    {"bias": False, "inplace": False}, {"dropout": 0.5, "inplace": True},
])
def test_mlp(kw):
    tk = {k: (getattr(torch.nn, v) if k.endswith("layer") else v) for k, v in kw.items()}
    ek = {k: (getattr(ember.nn, v) if k.endswith("layer") else v) for k, v in kw.items()}
    tm, em = tops.MLP(5, [7, 6, 3], **tk), eops.MLP(5, [7, 6, 3], **ek)
    assert _tree(em) == _tree(tm)
    for t, e in zip(tm, em):
        for attr in ("p", "inplace", "normalized_shape"):
            assert getattr(e, attr, None) == getattr(t, attr, None)
    _copy(tm, em)
    _run(tm, em, (4, 5))  # eval mode: dropout off


def test_permute():
    x = np.arange(24.0).reshape(1, 2, 3, 4)
    t = tops.Permute([0, 2, 3, 1])(torch.tensor(x))
    e = eops.Permute([0, 2, 3, 1])(ember.tensor(x))
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.stride() == t.stride()  # a view, as torch.permute


def test_frozen_batch_norm():
    tm, em = tops.FrozenBatchNorm2d(5, eps=1e-3), eops.FrozenBatchNorm2d(5, eps=1e-3)
    assert repr(em) == repr(tm) and list(em.state_dict()) == list(tm.state_dict())
    assert list(em.parameters()) == [] and len(list(em.buffers())) == 4
    # a BatchNorm2d checkpoint (with num_batches_tracked) loads into it
    bn = torch.nn.BatchNorm2d(5)
    with torch.no_grad():
        for v in bn.state_dict().values():
            if v.is_floating_point():
                v.copy_(torch.rand(v.shape) + 0.5)
    sd = bn.state_dict()
    assert tm.load_state_dict(dict(sd)).missing_keys == []
    assert em.load_state_dict({k: ember.tensor(v.numpy()) for k, v in sd.items()}).missing_keys == []
    x = np.random.default_rng(0).standard_normal((2, 5, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(em(ember.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-7)


# ---- stochastic depth -----------------------------------------------------------------------------------
@pytest.mark.parametrize("args", [(-0.1, "row"), (1.5, "batch"), (0.5, "rows"), (0.5, "")])
def test_stochastic_depth_errors(args):
    x = np.ones((2, 3))
    with pytest.raises(ValueError) as t:
        tops.stochastic_depth(torch.tensor(x), *args)
    with pytest.raises(ValueError) as e:
        eops.stochastic_depth(ember.tensor(x), *args)
    assert str(e.value) == str(t.value)


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_identity_cases(mode):
    x = np.random.default_rng(0).standard_normal((4, 3, 2))
    for p, training in [(0.5, False), (0.0, True)]:
        t = tops.stochastic_depth(torch.tensor(x), p, mode, training)
        e = eops.stochastic_depth(ember.tensor(x), p, mode, training)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    e = eops.stochastic_depth(ember.tensor(x), 1.0, mode)  # everything dropped, nothing rescaled
    np.testing.assert_array_equal(e.numpy(), tops.stochastic_depth(torch.tensor(x), 1.0, mode).numpy())


@pytest.mark.parametrize("mode", ["row", "batch"])
def test_stochastic_depth_structure_and_rate(mode):
    ember.manual_seed(0)
    p, n = 0.3, 2000
    x = np.random.default_rng(0).standard_normal((n, 3)) + 5.0
    outs = [eops.stochastic_depth(ember.tensor(x), p, mode).numpy() for _ in range(1 if mode == "row" else 200)]
    kept = []
    for out in outs:
        ratio = out / x
        rows = [np.unique(np.round(r, 12)) for r in ratio]
        assert all(len(u) == 1 and u[0] in (0.0, round(1 / (1 - p), 12)) for u in rows)  # whole rows
        if mode == "batch":
            assert len({u[0] for u in rows}) == 1  # one draw for the whole input
        kept += [u[0] != 0 for u in rows] if mode == "row" else [rows[0][0] != 0]
    assert abs(np.mean(kept) - (1 - p)) < 4 * np.sqrt(p * (1 - p) / len(kept))


def test_stochastic_depth_module_and_grad():
    tm, em = tops.StochasticDepth(0.25, "row"), eops.StochasticDepth(0.25, "row")
    assert repr(em) == repr(tm) == "StochasticDepth(p=0.25, mode=row)"
    ember.manual_seed(1)
    x = ember.ones(64, 2, requires_grad=True)
    out = em(x)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.detach().numpy())  # the gradient is the mask
    assert em.eval()(x) is x
