"""einops on ember tensors (``ember._einops``) against einops on torch tensors: values, shapes,
dtypes and gradients of rearrange/repeat/reduce/einsum/pack/unpack/parse_shape, the ember layers
(Rearrange, Reduce, EinMix) against ``einops.layers.torch``, and how the backend gets registered
(``import ember`` must not import einops).
"""

from __future__ import annotations

import subprocess
import sys

import ember
import ember._einops
import numpy as np
import pytest

torch = pytest.importorskip("torch")
einops = pytest.importorskip("einops")
from einops import einsum, pack, parse_shape, rearrange, reduce, repeat, unpack  # noqa: E402

ember._einops.install()
R = np.random.default_rng(3)
X = R.standard_normal((2, 3, 4, 6)).astype(np.float32)

CASES = [
    (rearrange, ("b c h w -> b h w c",), {}),
    (rearrange, ("b c h (w1 w2) -> (b w1) c h w2",), {"w1": 2}),
    (rearrange, ("b ... w -> b (...) w",), {}),
    (rearrange, ("b c (h1 h2) w -> b (c h1) h2 w",), {"h2": 2}),
    (repeat, ("b c h w -> b c h w k",), {"k": 3}),
    (repeat, ("b c h w -> (r b) c h (w t)",), {"r": 2, "t": 2}),
    (reduce, ("b c h w -> b c", "mean"), {}),
    (reduce, ("b c h w -> b", "sum"), {}),
    (reduce, ("b c (h h2) (w w2) -> b c h w", "max"), {"h2": 2, "w2": 2}),
    (reduce, ("b c h w -> c w", "min"), {}),
    (reduce, ("b c h w -> b h", "prod"), {}),
    (reduce, ("b c h w -> b c () ()", "mean"), {}),
]


def _pair(device):
    return torch.tensor(X, requires_grad=True), ember.tensor(X, device=device, requires_grad=True)


@pytest.mark.parametrize("op,args,kwargs", CASES, ids=[c[1][0] + "|" + "|".join(c[1][1:]) for c in CASES])
def test_ops_values_and_gradients(op, args, kwargs, device):
    t, e = _pair(device)
    t_out, e_out = op(t, *args, **kwargs), op(e, *args, **kwargs)
    assert tuple(e_out.shape) == tuple(t_out.shape) and str(e_out.dtype) == str(t_out.dtype).replace("torch", "ember")
    assert e_out.device == e.device
    np.testing.assert_allclose(e_out.detach().cpu().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    w = R.standard_normal(tuple(t_out.shape)).astype(np.float32)
    (t_out * torch.tensor(w)).sum().backward()
    (e_out * ember.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_list_input_and_int_reduce(device):
    parts = [X[0], X[1]]
    t_out = rearrange([torch.tensor(p) for p in parts], "n c h w -> h (n c) w")
    e_out = rearrange([ember.tensor(p, device=device) for p in parts], "n c h w -> h (n c) w")
    np.testing.assert_array_equal(e_out.cpu().numpy(), t_out.numpy())
    ints = np.arange(24).reshape(2, 3, 4)
    t_sum = reduce(torch.tensor(ints), "a b c -> a", "sum")
    e_sum = reduce(ember.tensor(ints, device=device), "a b c -> a", "sum")
    np.testing.assert_array_equal(e_sum.cpu().numpy(), t_sum.numpy())
    assert str(e_sum.dtype) == str(t_sum.dtype).replace("torch", "ember")


def test_einsum_values_and_gradients(device):
    a = R.standard_normal((2, 3, 4)).astype(np.float32)
    b = R.standard_normal((2, 4, 5)).astype(np.float32)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ea, eb = (ember.tensor(v, device=device, requires_grad=True) for v in (a, b))
    t_out = einsum(ta, tb, "batch i j, batch j k -> batch i k")
    e_out = einsum(ea, eb, "batch i j, batch j k -> batch i k")
    np.testing.assert_allclose(e_out.detach().cpu().numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-5)
    t_out.sum().backward()
    e_out.sum().backward()
    np.testing.assert_allclose(ea.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(eb.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_pack_unpack(device):
    a = R.standard_normal((2, 3, 5)).astype(np.float32)
    b = R.standard_normal((2, 5)).astype(np.float32)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    ea, eb = (ember.tensor(v, device=device, requires_grad=True) for v in (a, b))
    t_packed, t_ps = pack([ta, tb], "b * c")
    e_packed, e_ps = pack([ea, eb], "b * c")
    assert e_ps == t_ps
    np.testing.assert_allclose(e_packed.detach().cpu().numpy(), t_packed.detach().numpy())
    t_back = unpack(t_packed * 2, t_ps, "b * c")
    e_back = unpack(e_packed * 2, e_ps, "b * c")
    assert [tuple(x.shape) for x in e_back] == [tuple(x.shape) for x in t_back]
    (t_back[0].sum() + (t_back[1] ** 2).sum()).backward()
    (e_back[0].sum() + (e_back[1] ** 2).sum()).backward()
    np.testing.assert_allclose(ea.grad.cpu().numpy(), ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(eb.grad.cpu().numpy(), tb.grad.numpy(), rtol=1e-5)


def test_parse_shape_asnumpy_and_errors():
    t, e = torch.tensor(X), ember.tensor(X)
    assert parse_shape(e, "b c _ w") == parse_shape(t, "b c _ w")
    np.testing.assert_array_equal(einops.asnumpy(e), einops.asnumpy(t))
    for bad in (lambda x: rearrange(x, "b c h w -> b c h"), lambda x: rearrange(x, "b c (h h2) w -> b c h w", h2=5),
                lambda x: reduce(x, "b c h w -> b", "median")):
        with pytest.raises(einops.EinopsError) as t_err:
            bad(t)
        with pytest.raises(einops.EinopsError) as e_err:
            bad(e)
        assert str(e_err.value) == str(t_err.value).replace("torch.Size", "ember.Size")


def test_backend_is_found_and_layers():
    from einops._backends import get_backend

    backend = get_backend(ember.ones(1))
    assert backend.framework_name == "ember" and backend.layers() is ember._einops
    assert backend.is_float_type(ember.ones(1)) and not backend.is_float_type(ember.ones(1, dtype=ember.int64))


def test_layers_match_einops_layers_torch():
    layers_torch = pytest.importorskip("einops.layers.torch")
    t, e = torch.tensor(X), ember.tensor(X)
    for name, args, kwargs in (("Rearrange", ("b c h w -> b (c h w)",), {}),
                               ("Reduce", ("b c (h h2) w -> b c h", "max"), {"h2": 2})):
        t_layer, e_layer = getattr(layers_torch, name)(*args, **kwargs), getattr(ember._einops, name)(*args, **kwargs)
        assert repr(e_layer) == repr(t_layer) and isinstance(e_layer, ember.nn.Module)
        np.testing.assert_allclose(e_layer(e).numpy(), t_layer(t).numpy(), rtol=1e-6)
        seq = ember.nn.Sequential(e_layer, ember.nn.Identity())
        assert tuple(seq(e).shape) == tuple(t_layer(t).shape)
    spec = ("b c h w -> b c h k", "w k", "k")
    t_mix = layers_torch.EinMix(*spec, w=6, k=5)
    e_mix = ember._einops.EinMix(*spec, w=6, k=5)
    assert sorted(n for n, _ in e_mix.named_parameters()) == sorted(n for n, _ in t_mix.named_parameters())
    e_mix.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in t_mix.state_dict().items()})
    np.testing.assert_allclose(e_mix(e).detach().numpy(), t_mix(t).detach().numpy(), rtol=1e-5, atol=1e-5)
    bound = t_mix.weight.abs().max().item() * 1.5
    assert float(ember._einops.EinMix(*spec, w=6, k=5).weight.abs().max()) <= bound


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_registration_paths_and_import_isolation():
    # the hook: ember first, einops imported later; import ember alone never imports einops
    out = _run("import sys, ember, ember._einops as E; E.install(); print('einops' in sys.modules); "
               "from einops import rearrange; print(tuple(rearrange(ember.ones(2, 3), 'a b -> b a').shape))")
    assert out.splitlines() == ["False", "(3, 2)"]
    # einops first: install registers at once
    out = _run("import einops, ember, ember._einops as E; E.install(); "
               "print(tuple(einops.repeat(ember.ones(2), 'a -> a k', k=4).shape))")
    assert out == "(2, 4)"
