"""Optimizers against NumPy re-implementations of PyTorch's documented update rules."""

from __future__ import annotations

import copy

import ember
import numpy as np
import pytest
from ember import dispatch, optim

STEPS = 5


def _grads(shape, n=STEPS, seed=1):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


# ---- NumPy references (PyTorch docs pseudo-code), float64 ------------------------------------
def ref_sgd(p, grads, lr, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False):
    p = p.astype(np.float64)
    b = None
    for g in grads:
        g = g.astype(np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        if momentum:
            b = g.copy() if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g
    return p


def ref_adam(p, grads, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, maximize=False,
             decoupled=False):
    b1, b2 = betas
    p = p.astype(np.float64)
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    vmax = np.zeros_like(p)
    for t, g in enumerate(grads, 1):
        g = g.astype(np.float64)
        if maximize:
            g = -g
        if weight_decay and decoupled:
            p = p * (1 - lr * weight_decay)
        elif weight_decay:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mhat = m / (1 - b1 ** t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            vhat = vmax / (1 - b2 ** t)
        else:
            vhat = v / (1 - b2 ** t)
        p = p - lr * mhat / (np.sqrt(vhat) + eps)
    return p


def ref_rmsprop(p, grads, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
                maximize=False):
    p = p.astype(np.float64)
    v = np.zeros_like(p)
    gavg = np.zeros_like(p)
    b = np.zeros_like(p)
    for g in grads:
        g = g.astype(np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            vt = v - gavg * gavg
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            p = p - lr * b
        else:
            p = p - lr * g / (np.sqrt(vt) + eps)
    return p


def ref_adagrad(p, grads, lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
                maximize=False):
    p = p.astype(np.float64)
    s = np.full_like(p, initial_accumulator_value)
    for t, g in enumerate(grads, 1):
        g = g.astype(np.float64)
        if maximize:
            g = -g
        if weight_decay:
            g = g + weight_decay * p
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        p = p - clr * g / (np.sqrt(s) + eps)
    return p


CASES = [
    (optim.SGD, ref_sgd, dict(lr=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.1, momentum=0.9)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
    (optim.SGD, ref_sgd, dict(lr=0.05, momentum=0.5, maximize=True)),
    (optim.Adam, ref_adam, dict(lr=0.01)),
    (optim.Adam, ref_adam, dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    (optim.Adam, ref_adam, dict(lr=0.01, amsgrad=True, eps=1e-6)),
    (optim.Adam, ref_adam, dict(lr=0.01, maximize=True, weight_decay=0.05)),
    (optim.AdamW, lambda p, g, **kw: ref_adam(p, g, decoupled=True, weight_decay=1e-2, **kw), dict(lr=0.01)),
    (optim.AdamW, lambda p, g, **kw: ref_adam(p, g, decoupled=True, **kw), dict(lr=0.01, weight_decay=0.3,
                                                                                 amsgrad=True)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, momentum=0.9, weight_decay=0.1)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, alpha=0.9)),
    (optim.RMSprop, ref_rmsprop, dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, initial_accumulator_value=0.5)),
    (optim.Adagrad, ref_adagrad, dict(lr=0.1, maximize=True, eps=1e-6)),
]


def _ids(case):
    cls, _, kw = case
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kw.items())


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_matches_reference(case, device):
    cls, ref, kw = case
    rng = np.random.default_rng(0)
    p0 = [rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(5).astype(np.float32)]
    grads = [_grads(a.shape, seed=i + 10) for i, a in enumerate(p0)]
    params = [ember.tensor(a, device=device, requires_grad=True) for a in p0]
    opt = cls(params, **kw)
    for step in range(STEPS):
        for p, gs in zip(params, grads):
            p.grad = ember.tensor(gs[step], device=device)
        opt.step()
    for p, a, gs in zip(params, p0, grads):
        expected = ref(a, gs, **kw)
        assert p.device.type == ember.device(device).type and p.dtype == ember.float32 and p.requires_grad
        np.testing.assert_allclose(p.detach().cpu().numpy(), expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("case", CASES[1::2], ids=[_ids(c) for c in CASES[1::2]])
def test_state_dict_round_trip_continues_identically(case, device):
    cls, _, kw = case
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal((4, 2)).astype(np.float32)
    grads = _grads(p0.shape, n=6, seed=4)

    a = ember.tensor(p0, device=device, requires_grad=True)
    opt_a = cls([a], **kw)
    for g in grads[:3]:
        a.grad = ember.tensor(g, device=device)
        opt_a.step()
    saved = copy.deepcopy(opt_a.state_dict())

    b = ember.tensor(a.detach().cpu().numpy(), device=device, requires_grad=True)
    opt_b = cls([b], **kw)
    opt_b.load_state_dict(saved)
    for g in grads[3:]:
        for p, o in ((a, opt_a), (b, opt_b)):
            p.grad = ember.tensor(g, device=device)
            o.step()
    np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


def test_adam_state_layout():
    p = ember.zeros(3, requires_grad=True)
    opt = optim.Adam([p], amsgrad=True)
    p.grad = ember.ones(3)
    opt.step()
    opt.step()
    state = opt.state[p]
    assert set(state) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert isinstance(state["step"], ember.Tensor) and state["step"].dtype == ember.float32
    assert state["step"].dim() == 0 and state["step"].item() == 2.0
    sd = opt.state_dict()
    assert list(sd["state"]) == [0]
    assert sd["param_groups"][0]["params"] == [0]
    assert sd["param_groups"][0]["lr"] == 1e-3 and sd["param_groups"][0]["betas"] == (0.9, 0.999)


def test_param_groups_and_state_dict_ids():
    a, b, c = (ember.zeros(2, requires_grad=True) for _ in range(3))
    opt = optim.SGD([{"params": [a, b]}, {"params": c, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["momentum"] == 0.9
    for p in (a, b, c):
        p.grad = ember.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sorted(sd["state"]) == [0, 1, 2]
    assert set(sd["state"][2]) == {"momentum_buffer"}
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [a]})
    d = ember.zeros(1, requires_grad=True)
    opt.add_param_group({"params": [d], "lr": 1.0})
    assert opt.param_groups[2]["momentum"] == 0.9


def test_load_state_dict_validation():
    a, b = ember.zeros(2, requires_grad=True), ember.zeros(2, requires_grad=True)
    opt = optim.Adam([a, b])
    other = optim.Adam([a])
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict(other.state_dict())
    two = optim.Adam([{"params": [a]}, {"params": [b]}])
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict(two.state_dict())


def test_load_state_dict_casts_to_param_dtype_but_keeps_step():
    p = ember.zeros(2, dtype=ember.float64, requires_grad=True)
    opt = optim.Adam([p])
    src = ember.zeros(2, requires_grad=True)
    opt_src = optim.Adam([src])
    src.grad = ember.ones(2)
    opt_src.step()
    opt.load_state_dict(opt_src.state_dict())
    st = opt.state[p]
    assert st["exp_avg"].dtype == ember.float64
    assert st["step"].dtype == ember.float32


def test_constructor_errors():
    p = ember.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="Invalid learning rate: -1"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="should be an iterable of Tensors or dicts"):
        optim.Adam(p)
    with pytest.raises(TypeError, match="optimizer can only optimize Tensors"):
        optim.Adam([1.0])
    with pytest.raises(ValueError, match="can't optimize a non-leaf Tensor"):
        optim.Adam([p * 2])
    with pytest.raises(ValueError, match="Invalid alpha value"):
        optim.RMSprop([p], alpha=-0.5)
    with pytest.raises(ValueError, match="Invalid lr_decay value"):
        optim.Adagrad([p], lr_decay=-1)


def test_zero_grad_and_repr():
    p = ember.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = ember.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and p.grad.tolist() == [0.0, 0.0]
    opt.zero_grad()
    assert p.grad is None
    text = repr(opt)
    assert text.startswith("SGD (\nParameter Group 0\n    dampening: 0\n")
    assert "    lr: 0.1\n" in text and text.endswith(")")


def test_step_in_place_keeps_identity_and_skips_missing_grads():
    p = ember.ones(3, requires_grad=True)
    q = ember.ones(3, requires_grad=True)
    view = p.detach()
    opt = optim.Adam([p, q], lr=0.1)
    p.grad = ember.ones(3)
    before = p._version_count
    opt.step()
    assert p._version_count > before
    assert view.tolist() == p.tolist() != [1.0, 1.0, 1.0]
    assert q.tolist() == [1.0, 1.0, 1.0] and len(opt.state[q]) == 0
    assert p.grad_fn is None and p.is_leaf


def test_closure_and_hooks():
    w = ember.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)
    calls = []
    h = opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 9.0 and w.item() == pytest.approx(1.5)
    assert calls == ["post"]
    h.remove()
    opt.step(closure)
    assert calls == ["post"]


def test_trains_quadratic_with_autograd(device):
    target = ember.tensor([1.0, -2.0, 3.0], device=device)
    w = ember.zeros(3, device=device, requires_grad=True)
    opt = optim.Adam([w], lr=0.1)
    for _ in range(300):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
    np.testing.assert_allclose(w.detach().cpu().numpy(), [1.0, -2.0, 3.0], atol=1e-2)


FUSED = {"adam_step", "sgd_step"}


@pytest.mark.parametrize("case", CASES[:11], ids=[_ids(c) for c in CASES[:11]])
def test_composite_path_matches_reference(case, hide_kernels):
    """With the backend's fused ``adam_step``/``sgd_step`` hidden, the frontend's composite of
    required kernels (what backends without them run) gives the same updates."""
    hide_kernels(FUSED)
    cls, ref, kw = case
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = _grads(p0.shape, seed=11)
    p = ember.tensor(p0, requires_grad=True)
    opt = cls([p], **kw)
    for g in grads:
        p.grad = ember.tensor(g)
        opt.step()
    np.testing.assert_allclose(p.detach().numpy(), ref(p0, grads, **kw), rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
@pytest.mark.parametrize("decoupled,wd", [(False, 0.0), (False, 0.1), (True, 0.2)])
@pytest.mark.parametrize("beta1", [0.9, 0.3])  # torch's lerp takes its other branch for weights >= 0.5
def test_fused_adam_kernel_against_numpy_formula(amsgrad, maximize, decoupled, wd, beta1):
    """The cpu ``adam_step`` kernel, float64, state carried over 6 steps, against PyTorch's formula."""
    kt = dispatch.table("cpu")
    rng = np.random.default_rng(4)
    lr, beta2, eps = 0.05, 0.99, 1e-3  # a large eps so its placement matters
    p = rng.standard_normal(7)
    m, v, vmax = np.zeros(7), np.zeros(7), np.zeros(7)
    rp, rm, rv, rvmax = p.copy(), m.copy(), v.copy(), vmax.copy()
    for step in range(1, 7):
        g = rng.standard_normal(7) * 10.0 ** rng.integers(-4, 1)
        g_before = g.copy()
        kt["adam_step"](p, g, m, v, vmax if amsgrad else None, float(step), lr, beta1, beta2, eps, wd, amsgrad,
                        maximize, decoupled)
        np.testing.assert_array_equal(g, g_before)  # the gradient is not modified
        d = -g if maximize else g
        if wd and decoupled:
            rp = rp * (1 - lr * wd)
        elif wd:
            d = d + wd * rp
        rm = beta1 * rm + (1 - beta1) * d
        rv = beta2 * rv + (1 - beta2) * d * d
        rvmax = np.maximum(rvmax, rv)
        vhat = (rvmax if amsgrad else rv) / (1 - beta2 ** step)
        rp = rp - lr * (rm / (1 - beta1 ** step)) / (np.sqrt(vhat) + eps)
        np.testing.assert_allclose(p, rp, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(m, rm, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(v, rv, rtol=1e-12, atol=1e-14)


def test_fused_adam_updates_in_place_and_bumps_versions():
    w = ember.ones(4, requires_grad=True)
    data_before = w._data
    opt = optim.Adam([w], lr=0.1, amsgrad=True)
    w.grad = ember.ones(4)
    v0 = w._version[0]
    opt.step()
    st = opt.state[w]
    assert w._data is data_before and w._version[0] == v0 + 1
    assert all(st[k]._version[0] == 1 for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"))
    np.testing.assert_allclose(w.detach().numpy(), 0.9, rtol=1e-6)
