"""Issue #14 section 4: ``ember.utils.checkpoint`` (checkpoint, checkpoint_sequential) against
``torch.utils.checkpoint``, and ``set_num_threads``/``get_num_threads`` and the inter-op pair.

The same model (PyTorch's weights loaded into ember) runs checkpointed in both frameworks and
without checkpointing in ember: outputs and gradients (input and parameters) must agree. Dropout
inside a checkpoint must see the same mask in the rerun (compared with ember's own run without
checkpointing, since the generators differ), and the forward must really run again in backward.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

R = np.random.default_rng(41)


def make(lib, device):
    net = lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.Tanh(), lib.nn.Linear(8, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))
    return net if lib is torch else net.to(device)


def pair(device):
    t_net, e_net = make(torch, device), make(ember, device)
    e_net.load_state_dict({k: ember.tensor(v.detach().numpy(), device=device) for k, v in t_net.state_dict().items()})
    return t_net, e_net


def npy(t):
    return t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else t.detach().numpy()


def close(e, t, tol=1e-5):
    np.testing.assert_allclose(npy(e), npy(t), rtol=tol, atol=tol)


def grads(lib, net, x):
    return [x.grad] + [p.grad for p in net.parameters()]


def run(lib, net, x_np, device, how, use_reentrant=True):
    x = torch.tensor(x_np, requires_grad=True) if lib is torch else ember.tensor(x_np, device=device,
                                                                                 requires_grad=True)
    ck = lib.utils.checkpoint
    if how == "plain":
        out = net(x)
    elif how == "checkpoint":
        out = ck.checkpoint(lambda t: net[2:](net[:2](t)), x, use_reentrant=use_reentrant)
    else:
        out = ck.checkpoint_sequential(net, 2, x, use_reentrant=use_reentrant)
    (out * out).sum().backward()
    return out, grads(lib, net, x)


@pytest.mark.parametrize("use_reentrant", [True, False])
@pytest.mark.parametrize("how", ["checkpoint", "sequential"])
def test_gradients_match_plain_and_torch(device, how, use_reentrant):
    x = R.standard_normal((5, 4)).astype(np.float32)
    t_net, e_net = pair(device)
    t_out, t_grads = run(torch, t_net, x, device, how, use_reentrant)
    e_out, e_grads = run(ember, e_net, x, device, how, use_reentrant)
    close(e_out, t_out)
    for e, t in zip(e_grads, t_grads):
        close(e, t)
    assert e_out.grad_fn is not None and e_out.requires_grad
    plain_net = make(ember, device)
    plain_net.load_state_dict({k: ember.tensor(v.detach().numpy(), device=device) for k, v in t_net.state_dict().items()})
    _, plain = run(ember, plain_net, x, device, "plain")
    for e, p in zip(e_grads, plain):
        close(e, p, 1e-6)


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_forward_reruns_in_backward(device, use_reentrant):
    calls = []
    lin = ember.nn.Linear(3, 3).to(device)

    def segment(t):
        calls.append(1)
        return lin(t).sin()

    x = ember.randn(2, 3, device=device, requires_grad=True)
    out = ember.utils.checkpoint.checkpoint(segment, x, use_reentrant=use_reentrant)
    assert len(calls) == 1
    out.sum().backward()
    assert len(calls) == 2
    # PyTorch counts the same
    t_calls = []
    t_lin = torch.nn.Linear(3, 3)

    def t_segment(t):
        t_calls.append(1)
        return t_lin(t).sin()

    torch.utils.checkpoint.checkpoint(t_segment, torch.randn(2, 3, requires_grad=True),
                                      use_reentrant=use_reentrant).sum().backward()
    assert len(t_calls) == 2


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_dropout_mask_replayed(device, use_reentrant):
    lin = ember.nn.Linear(50, 50).to(device)
    x_np = R.standard_normal((8, 50)).astype(np.float32)

    def segment(t):
        return ember.nn.functional.dropout(lin(t), p=0.5, training=True).tanh()

    def grads_of(checkpointed, preserve=True):
        lin.zero_grad()
        x = ember.tensor(x_np, device=device, requires_grad=True)
        ember.manual_seed(3)
        out = ember.utils.checkpoint.checkpoint(segment, x, use_reentrant=use_reentrant,
                                                preserve_rng_state=preserve) if checkpointed else segment(x)
        ember.randn(10, device=device)  # the generator moves on between forward and backward
        out.sum().backward()
        return out, x.grad, lin.weight.grad.clone()

    ref = grads_of(False)
    got = grads_of(True)
    for e, r in zip(got, ref):
        np.testing.assert_array_equal(npy(e), npy(r))
    # without preserve_rng_state the rerun draws another mask: the gradients differ
    other = grads_of(True, preserve=False)
    assert not np.array_equal(npy(other[1]), npy(ref[1]))


def test_no_input_requires_grad(device):
    """Reentrant: the output does not require grad (PyTorch warns); non-reentrant: parameters still
    get their gradients."""
    x = R.standard_normal((2, 4)).astype(np.float32)
    t_net, e_net = pair(device)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        t_out = torch.utils.checkpoint.checkpoint(t_net, torch.tensor(x), use_reentrant=True)
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        e_out = ember.utils.checkpoint.checkpoint(e_net, ember.tensor(x, device=device), use_reentrant=True)
    assert e_out.requires_grad == t_out.requires_grad is False
    t_out = torch.utils.checkpoint.checkpoint(t_net, torch.tensor(x), use_reentrant=False)
    e_out = ember.utils.checkpoint.checkpoint(e_net, ember.tensor(x, device=device), use_reentrant=False)
    assert e_out.requires_grad and t_out.requires_grad
    t_out.sum().backward()
    e_out.sum().backward()
    for e, t in zip(e_net.parameters(), t_net.parameters()):
        close(e.grad, t.grad)


def test_non_reentrant_autograd_grad_and_kwargs(device):
    x_np = R.standard_normal((3, 4)).astype(np.float32)
    t_net, e_net = pair(device)
    results = []
    for lib, net in ((torch, t_net), (ember, e_net)):
        x = torch.tensor(x_np, requires_grad=True) if lib is torch else ember.tensor(x_np, device=device,
                                                                                     requires_grad=True)
        out = lib.utils.checkpoint.checkpoint(lambda t, scale, m=net: m(t) * scale, x, use_reentrant=False, scale=2.0)
        (gx, gw) = lib.autograd.grad(out.pow(2).sum(), (x, net[0].weight), create_graph=True)
        (ggx,) = lib.autograd.grad(gx.sum(), x)
        results.append((out, gx, gw, ggx))
    for t, e in zip(*results):
        close(e, t, 1e-4)


def test_non_reentrant_pytree_output(device):
    x_np = R.standard_normal((3, 4)).astype(np.float32)
    t_net, e_net = pair(device)
    results = []
    for lib, net in ((torch, t_net), (ember, e_net)):
        x = torch.tensor(x_np, requires_grad=True) if lib is torch else ember.tensor(x_np, device=device,
                                                                                     requires_grad=True)
        out = lib.utils.checkpoint.checkpoint(lambda t, m=net: {"y": m(t), "rest": (t.sin(), 7)}, x,
                                              use_reentrant=False)
        assert out["rest"][1] == 7
        (out["y"].pow(2).sum() + out["rest"][0].sum()).backward()
        results.append((out["y"], out["rest"][0], x.grad, net[0].weight.grad))
    for t, e in zip(*results):
        close(e, t)


def test_warnings_and_errors(device):
    x = ember.randn(2, requires_grad=True, device=device)
    tx = torch.randn(2, requires_grad=True)
    with pytest.warns(UserWarning) as t_rec:
        torch.utils.checkpoint.checkpoint(torch.sin, tx)
    with pytest.warns(UserWarning) as e_rec:
        ember.utils.checkpoint.checkpoint(ember.sin, x)
    assert str(e_rec[0].message) == str(t_rec[0].message)
    with pytest.warns(UserWarning) as t_rec:
        torch.utils.checkpoint.checkpoint_sequential([torch.nn.Tanh()], 1, tx)
    with pytest.warns(UserWarning) as e_rec:
        ember.utils.checkpoint.checkpoint_sequential([ember.nn.Tanh()], 1, x)
    assert str(e_rec[0].message) == str(t_rec[0].message)
    for lib, t in ((torch, tx), (ember, x)):
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            lib.utils.checkpoint.checkpoint(lambda a, foo=1: a, t, use_reentrant=True, foo=1)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: foo"):
            lib.utils.checkpoint.checkpoint_sequential([lib.nn.Tanh()], 1, t, use_reentrant=False, foo=1)
        with pytest.raises(ValueError, match="only supported when use_reentrant=False"):
            lib.utils.checkpoint.checkpoint(lambda a: a, t, use_reentrant=True, debug=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ember.utils.checkpoint.checkpoint(ember.sin, x, use_reentrant=False)


# ---- threads ------------------------------------------------------------------------------------------
def test_num_threads_roundtrip():
    before = ember.get_num_threads()
    assert before >= 1 and ember.get_num_interop_threads() >= 1
    try:
        ember.set_num_threads(3)
        assert ember.get_num_threads() == 3
        ember.set_num_threads(1)
        assert ember.get_num_threads() == 1
        ember.randn(1 << 21)  # the CPU random kernels run with the cap
    finally:
        ember.set_num_threads(before)


@pytest.mark.parametrize("value", [0, -1, 2.5, "a", True, None])
def test_num_threads_bad_values(value):
    for name in ("set_num_threads", "set_num_interop_threads"):
        with pytest.raises(Exception) as t_err:
            getattr(torch, name)(value)
        with pytest.raises(Exception) as e_err:
            getattr(ember, name)(value)
        assert type(e_err.value) is type(t_err.value)
        assert str(e_err.value) == str(t_err.value)


def test_interop_threads_set_once(monkeypatch):
    from ember import threads

    monkeypatch.setitem(threads._STATE, "interop_set", False)
    monkeypatch.setitem(threads._STATE, "interop", threads._STATE["interop"])
    ember.set_num_interop_threads(2)
    assert ember.get_num_interop_threads() == 2
    with pytest.raises(RuntimeError, match="cannot set number of interop threads after parallel work has started"):
        ember.set_num_interop_threads(3)
