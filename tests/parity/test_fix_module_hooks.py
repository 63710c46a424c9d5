"""Module backward hooks, state_dict post-hooks and ``Sequential * n``, against PyTorch.

The full backward hook used to fire once per output tensor with ``grad_input == (None,)`` and read
its return value as a new ``grad_output``; PyTorch calls it once per backward through the module
with the arguments' gradients, and a returned tuple replaces ``grad_input``. Each scenario runs the
same program on PyTorch and on ember (every device) and compares what the hooks saw (structure,
shapes, values) and the resulting gradients."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

import ember  # noqa: E402
import torch  # noqa: E402

R = np.random.default_rng(5)
W = R.standard_normal((3, 4)).astype(np.float32)
B = R.standard_normal(3).astype(np.float32)
XA = R.standard_normal((2, 4)).astype(np.float32)


def _np(v):
    if v is None:
        return None
    if isinstance(v, tuple):
        return tuple(_np(x) for x in v)
    return v.detach().cpu().numpy()


class _Two:
    """A module with two tensor arguments, one non-tensor argument and two outputs."""

    @staticmethod
    def build(L, dev):
        class Two(L.nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = L.nn.Linear(4, 3)

            def forward(self, a, scale, b):
                h = self.lin(a) * scale
                return h, h.sum(1) + b

        m = Two()
        with L.no_grad():
            m.lin.weight.copy_(L.tensor(W))
            m.lin.bias.copy_(L.tensor(B))
        return m.to(dev)


def _run(L, dev, scenario):
    log = []
    m = _Two.build(L, dev)
    a = L.tensor(XA, device=dev, requires_grad=scenario != "no-input-grad")
    b = L.tensor(np.ones(2, np.float32), device=dev, requires_grad=scenario == "both-inputs")

    def full(mod, gi, go):
        log.append(("full", _np(gi), _np(go)))
        if scenario == "replace-input":
            return tuple(None if g is None else g * 3 for g in gi)
        return None

    def pre(mod, go):
        log.append(("pre", _np(go)))
        if scenario == "replace-output":
            return tuple(None if g is None else g * -2 for g in go)
        return None

    m.register_full_backward_hook(full)
    m.register_full_backward_pre_hook(pre)
    h, s = m(a, 0.5, b)
    (h.sum() * 2 + (s * s).sum()).backward()
    grads = [_np(a.grad), _np(b.grad), _np(m.lin.weight.grad)]
    return log, grads


def _same(x, y):
    if isinstance(x, tuple):
        assert isinstance(y, tuple) and len(x) == len(y), (x, y)
        for u, v in zip(x, y):
            _same(u, v)
    elif isinstance(x, list):
        assert isinstance(y, list) and len(x) == len(y), (x, y)
        for u, v in zip(x, y):
            _same(u, v)
    elif isinstance(x, np.ndarray):
        assert isinstance(y, np.ndarray) and x.shape == y.shape, (x, y)
        np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-5)
    else:
        assert x == y, (x, y)


@pytest.mark.parametrize("scenario", ["plain", "both-inputs", "replace-input", "replace-output", "no-input-grad"])
def test_full_backward_hooks_see_and_change_what_torch_hooks_do(scenario, device):
    expected = _run(torch, "cpu", scenario)
    got = _run(ember, device, scenario)
    _same(expected, got)


def test_hooks_fire_once_per_backward_in_nested_modules_in_torch_order(device):
    def run(L, dev):
        order = []
        net = L.nn.Sequential(L.nn.Linear(4, 3), L.nn.Tanh(), L.nn.Linear(3, 2)).to(dev)
        for i, mod in enumerate(net):
            mod.register_full_backward_hook(lambda m, gi, go, i=i: order.append(("full", i, len(gi), len(go))))
            mod.register_full_backward_pre_hook(lambda m, go, i=i: order.append(("pre", i)))
        net.register_full_backward_hook(lambda m, gi, go: order.append(("net", gi[0] is None)))
        net(L.tensor(XA, device=dev)).sum().backward()
        return order

    assert run(ember, device) == run(torch, "cpu")


def test_wrong_hook_returns_raise_as_torch(device):
    def run(L, dev, which):
        lin = L.nn.Linear(4, 3).to(dev)
        if which == "count":
            lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
            x = L.tensor(XA, device=dev, requires_grad=True)
        elif which == "pre-count":
            lin.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
            x = L.tensor(XA, device=dev)
        else:  # a value for an input that takes no gradient
            lin.register_full_backward_hook(lambda m, gi, go: (L.ones(2, 4),))
            x = L.tensor(XA, device=dev)
        try:
            lin(x).sum().backward()
        except RuntimeError as e:
            return str(e)
        return "no error"

    for which in ("count", "pre-count", "no-input-grad"):
        assert run(ember, device, which) == run(torch, "cpu", which)


def test_state_dict_post_hook_may_not_return_a_value_as_torch():
    for L in (torch, ember):
        lin = L.nn.Linear(1, 1)
        lin.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "bias"))
        with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
            lin.state_dict()
        ok = L.nn.Linear(1, 1)
        ok.register_state_dict_post_hook(lambda m, sd, prefix, meta: sd.pop(prefix + "bias") and None)
        assert list(ok.state_dict()) == ["weight"]


def test_sequential_repeats_with_mul_as_torch():
    for L in (torch, ember):
        relu, tanh = L.nn.ReLU(), L.nn.Tanh()
        seq = L.nn.Sequential(relu, tanh)
        assert [type(m).__name__ for m in seq * 2] == ["ReLU", "Tanh", "ReLU", "Tanh"]
        assert (3 * seq)[4] is relu and len(seq) == 2
        seq *= 2
        assert len(seq) == 4 and seq[3] is tanh
        for bad, exc in ((0, ValueError), (1.5, TypeError)):
            with pytest.raises(exc):
                seq * bad
        with pytest.raises(ValueError, match="supports only objects of Sequential"):
            seq + L.nn.ModuleList([relu])


def test_compiled_module_with_backward_hooks_runs_them_every_backward(device):
    """A replayed graph runs kernels only: a module with backward hooks is a counted graph break, so
    its hooks fire once per backward in every call, with the gradients of an eager run."""
    net = ember.nn.Sequential(ember.nn.Linear(4, 3), ember.nn.Tanh(), ember.nn.Linear(3, 2)).to(device)
    seen = []
    net[0].register_full_backward_hook(lambda m, gi, go: seen.append(("full", _np(gi[0]))))
    net[2].register_full_backward_pre_hook(lambda m, go: seen.append(("pre", _np(go[0]))))
    compiled = ember.compile(net)
    for _ in range(4):
        seen.clear()
        x = ember.tensor(XA, device=device, requires_grad=True)
        compiled(x).sum().backward()
        assert [k for k, _ in seen] == ["pre", "full"]
        np.testing.assert_allclose(seen[1][1], x.grad.cpu().numpy(), rtol=1e-6)
    assert compiled.stats.graph_breaks and compiled.stats.replays == 0
