"""Mechanisms that real torchvision programs (pytorch/examples imagenet/main.py, the transfer
learning tutorial, torchvision's classification references) need, against PyTorch/torchvision.

Running those programs on ember with their random draws replayed from PyTorch's run found: a 0-d
int64 ``random_()`` (PyTorch's DataLoader/RandomSampler seed draw) overflowed; ember's sampler drew
its seed with another call (so programs replaying or counting the global stream's draws saw other
calls); ``torch._sample_dirichlet`` (the references' mixup/cutmix) and
``torchvision.ops._utils.split_normalization_params`` (``--norm-weight-decay``) were missing.
"""

from __future__ import annotations

import ember
import ember.vision.ops
import numpy as np
import pytest
from reference_torchvision import import_torchvision

torch = pytest.importorskip("torch")
tv = import_torchvision()


@pytest.mark.parametrize("name", ["int64", "int32", "int16", "uint8", "float32", "float64", "bool"])
def test_random_no_args_bounds_and_dtype(name):
    """``random_()``: [0, top] with top the dtype's largest integer (2**mantissa+1 for floats)."""
    t = torch.empty(4000, dtype=getattr(torch, name)).random_()
    e = ember.empty(4000, dtype=getattr(ember, name)).random_()
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    tn, en = t.numpy().astype(np.float64), e.numpy().astype(np.float64)
    assert en.min() >= 0 and en.max() <= {"int64": 2.0**63, "int32": 2.0**31 - 1, "int16": 2.0**15 - 1,
                                          "uint8": 255, "float32": 2.0**24, "float64": 2.0**53, "bool": 1}[name]
    # both spread over the whole range: the top decile is reached on both sides
    assert (tn > 0.9 * tn.max()).any() and (en > 0.9 * tn.max()).any()


def test_random_zero_dim_int64_and_from_none():
    """PyTorch's DataLoader seed draw, ``empty((), int64).random_()``, and ``random_(from, None)``."""
    t, e = torch.empty((), dtype=torch.int64).random_(), ember.empty((), dtype=ember.int64).random_()
    assert e.shape == t.shape and 0 <= int(e.item()) < 2**63
    e2 = ember.empty(50, dtype=ember.int64).random_(-3, None)
    assert int(e2.min().item()) >= -3 and float(e2.max().item()) > 2.0**60
    with pytest.raises(TypeError):
        torch.empty((), dtype=torch.int64).random_(generator=3)
    with pytest.raises(TypeError):
        ember.empty((), dtype=ember.int64).random_(generator=3)


def _random_calls(lib, make_loader):
    """The (shape, dtype) of every ``Tensor.random_`` call while one epoch of a loader is drawn."""
    calls, orig = [], lib.Tensor.random_

    def spy(self, *a, **k):
        calls.append((tuple(self.shape), str(self.dtype).split(".")[-1], a))
        return orig(self, *a, **k)

    lib.Tensor.random_ = spy
    try:
        list(make_loader(lib))
    finally:
        lib.Tensor.random_ = orig
    return calls


@pytest.mark.parametrize("kind", ["loader_shuffle", "random_sampler", "loader_sequential"])
def test_loader_seed_draws_as_pytorch(kind):
    """The DataLoader and RandomSampler take their seeds from the global stream with PyTorch's own
    call (one 0-d int64 ``random_()`` each), so a program's other draws keep their order."""
    def make(lib):
        if kind == "random_sampler":
            return lib.utils.data.RandomSampler(range(5))
        return lib.utils.data.DataLoader(list(range(6)), batch_size=2, shuffle=kind == "loader_shuffle")

    assert _random_calls(ember, make) == _random_calls(torch, make)


def test_sample_dirichlet():
    """``torch._sample_dirichlet``: rows on the simplex, dtype kept, PyTorch's mean, its error."""
    alpha = np.array([[0.2, 0.2], [1.0, 3.0], [5.0, 0.5]])
    for dt in ("float32", "float64"):
        ember.manual_seed(0)
        e = ember._sample_dirichlet(ember.tensor(alpha, dtype=getattr(ember, dt)))
        t = torch._sample_dirichlet(torch.tensor(alpha, dtype=getattr(torch, dt)))
        assert e.shape == t.shape and str(e.dtype) == str(t.dtype).replace("torch", "ember")
        np.testing.assert_allclose(e.numpy().sum(-1), 1.0, rtol=1e-6)
        assert (e.numpy() > 0).all()
    big = np.repeat(alpha, 4000, axis=0)
    ember.manual_seed(1)
    em = ember._sample_dirichlet(ember.tensor(big)).numpy().reshape(3, 4000, 2).mean(1)
    tm = torch._sample_dirichlet(torch.tensor(big)).numpy().reshape(3, 4000, 2).mean(1)
    np.testing.assert_allclose(em, alpha / alpha.sum(-1, keepdims=True), atol=0.03)
    np.testing.assert_allclose(em, tm, atol=0.04)
    with pytest.raises(NotImplementedError) as te:
        torch._sample_dirichlet(torch.tensor([1, 2]))
    with pytest.raises(NotImplementedError) as ee:
        ember._sample_dirichlet(ember.tensor([1, 2]))
    assert str(ee.value) == str(te.value)


def test_standard_gamma_mean_and_grad():
    a = np.array([0.3, 1.0, 4.0])
    ember.manual_seed(0)
    x = ember.tensor(np.repeat(a, 6000), requires_grad=True)
    s = ember._standard_gamma(x)
    t = torch._standard_gamma(torch.tensor(np.repeat(a, 6000)))
    np.testing.assert_allclose(s.detach().numpy().reshape(3, -1).mean(1), a, rtol=0.06)
    np.testing.assert_allclose(s.detach().numpy().reshape(3, -1).mean(1), t.numpy().reshape(3, -1).mean(1), rtol=0.08)
    s.sum().backward()
    # d x / d alpha of Gamma(alpha, 1) averages d E[x] / d alpha = 1
    np.testing.assert_allclose(x.grad.numpy().reshape(3, -1).mean(1), 1.0, rtol=0.08)


def _norm_split_model(lib):
    nn = lib.nn
    m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.Conv2d(4, 4, 1), nn.GroupNorm(2, 4)),
                      nn.InstanceNorm2d(4, affine=True), nn.Flatten(), nn.LayerNorm(4), nn.Linear(4, 2))
    m[2][0].weight.requires_grad_(False)
    return m


@pytest.mark.parametrize("build", ["mixed", "mobilenet_v2", "resnet18"])
def test_split_normalization_params(build):
    """``torchvision.ops._utils.split_normalization_params``: same parameters (by shape, in order)."""
    if build == "mixed":
        tm, em = _norm_split_model(torch), _norm_split_model(ember)
    else:
        tm, em = getattr(tv.models, build)(num_classes=3), getattr(ember.vision.models, build)(num_classes=3)
    tn, to = tv.ops._utils.split_normalization_params(tm)
    en, eo = ember.vision.ops._utils.split_normalization_params(em)
    assert [tuple(p.shape) for p in en] == [tuple(p.shape) for p in tn]
    assert [tuple(p.shape) for p in eo] == [tuple(p.shape) for p in to]
    tn, _ = tv.ops._utils.split_normalization_params(tm, [torch.nn.Linear])
    en, _ = ember.vision.ops._utils.split_normalization_params(em, [ember.nn.Linear])
    assert [tuple(p.shape) for p in en] == [tuple(p.shape) for p in tn]
    with pytest.raises(ValueError) as te:
        tv.ops._utils.split_normalization_params(tm, [int])
    with pytest.raises(ValueError) as ee:
        ember.vision.ops._utils.split_normalization_params(em, [int])
    assert str(ee.value) == str(te.value)
