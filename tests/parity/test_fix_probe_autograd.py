"""Gradient buffers and NumPy views as PyTorch keeps them (found by probing).

One backward can hand the same gradient tensor to several leaves (``a + b``: both get it) or to a
leaf the caller's own ``gradient`` tensor; each ``.grad`` must still be a buffer of its own, or the
next accumulation (or ``clip_grad_norm_``, which scales every ``.grad`` in place) changes the
others too. An LSTM's two bias vectors were such a pair whenever its per-step path ran (OpenCL,
``proj_size``, packed sequences). And ``np.array(t)`` must copy while ``np.asarray(t)`` shares.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _both(fn, device):
    return fn(torch, "cpu"), fn(ember, device)


def _close(got, want, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64), rtol=rtol, atol=atol)


def test_leaves_fed_one_gradient_accumulate_separately(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, requires_grad=True, device=dev)
        for _ in range(2):
            ((a + b) * 2).sum().backward()
        first = (a.grad.cpu().tolist(), b.grad.cpu().tolist())
        a.grad = b.grad = None
        ((a + b) * 2).sum().backward()
        L.nn.utils.clip_grad_norm_([a, b], 1.0)  # scales each .grad in place: once each
        return first, a.grad.cpu().tolist(), b.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e[0] == t[0]
    _close(e[1], t[1])
    _close(e[2], t[2])


def test_a_callers_gradient_is_not_taken_as_the_grad(device):
    def run(L, dev):
        x = L.ones(3, requires_grad=True, device=dev)
        g = L.full((3,), 2.0, device=dev)
        x.backward(g)
        x.backward(g)  # accumulates into x.grad, not into g
        y = L.ones(3, requires_grad=True, device=dev)
        (y * 1).backward(g)
        y.grad.add_(1)
        return g.cpu().tolist(), x.grad.cpu().tolist(), y.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


def test_backward_with_inputs_gives_each_its_own_buffer(device):
    def run(L, dev):
        a = L.ones(3, requires_grad=True, device=dev)
        b = L.ones(3, requires_grad=True, device=dev)
        L.autograd.backward([(a + b).sum()], inputs=[a, b])
        a.grad.add_(1)
        return a.grad.cpu().tolist(), b.grad.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


@pytest.mark.parametrize("variant", ["plain", "proj", "packed"])
def test_lstm_bias_gradients_survive_clipping(device, variant):
    """The bias_ih/bias_hh gradients after clip_grad_norm_ equal PyTorch's (they were one buffer
    on the per-step path, so the clip factor hit them twice)."""
    kw = {"proj_size": 2} if variant == "proj" else {}
    tl = torch.nn.LSTM(3, 4, **kw)
    el = ember.nn.LSTM(3, 4, **kw).to(device)
    el.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tl.state_dict().items()})
    x = np.random.default_rng(3).standard_normal((5, 2, 3)).astype(np.float32)

    def run(L, lstm, dev):
        inp = L.tensor(x, device=dev)
        if variant == "packed":
            inp = L.nn.utils.rnn.pack_padded_sequence(inp, [5, 3])
        out, _ = lstm(inp)
        if variant == "packed":
            out = L.nn.utils.rnn.pad_packed_sequence(out)[0]
        out.sum().backward()
        L.nn.utils.clip_grad_norm_(list(lstm.parameters()), 0.1)
        return {k: p.grad.cpu().numpy() for k, p in lstm.named_parameters()}
    want, got = run(torch, tl, "cpu"), run(ember, el, device)
    for k in want:
        _close(got[k], want[k], rtol=1e-4, atol=1e-6)


def test_numpy_array_copies_and_asarray_shares():
    def run(L):
        t = L.zeros(3)
        np.array(t)[0] = 9  # a copy
        np.asarray(t)[1] = 7  # the same memory
        return t.tolist(), np.array(t, dtype=np.float64).dtype
    assert run(ember) == run(torch)
    with pytest.raises(RuntimeError, match="requires grad"):
        np.array(ember.ones(2, requires_grad=True))
    with pytest.raises(RuntimeError, match="requires grad"):
        np.array(torch.ones(2, requires_grad=True))


def test_materialize_grads_refuses_allow_unused_false():
    for L in (torch, ember):
        x = L.ones(2, requires_grad=True)
        y = L.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match="Expected allow_unused to be True"):
            L.autograd.grad((x * 2).sum(), [x, y], allow_unused=False, materialize_grads=True)


def test_relu_gradient_is_differentiable_with_zero_second_derivative(device):
    def run(L, dev):
        x = L.tensor([-1.0, 2.0, 0.5, 0.0], requires_grad=True, device=dev)
        g, = L.autograd.grad((x.relu() * 3).sum(), x, create_graph=True)
        gg, = L.autograd.grad(g.sum(), x)
        return g.requires_grad, g.detach().cpu().tolist(), gg.cpu().tolist()
    t, e = _both(run, device)
    assert e == t


def test_select_is_one_view_node(device):
    """x[i] and select: one SelectBackward0 node, a view sharing storage, PyTorch's gradient (also
    through an in-place write into the view)."""
    def run(L, dev):
        x = L.arange(12.0, device=dev).reshape(3, 4).requires_grad_()
        y = x * 1
        v = y[1]
        w = y.select(1, -1)
        assert type(v.grad_fn).__name__ == "SelectBackward0" and v._base is y
        v.mul_(3)
        (y.sum() + (w * w).sum()).backward()
        return x.grad.cpu().tolist(), y.detach().cpu().tolist()
    t, e = _both(run, device)
    assert e == t
