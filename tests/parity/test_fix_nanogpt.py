"""What running karpathy/nanoGPT against ember needed: ``Adam(decoupled_weight_decay=...)`` and the
``decoupled_weight_decay`` entry PyTorch (>= 2.6) keeps in every Adam/AdamW param group (nanoGPT's
``configure_optimizers`` builds AdamW and its checkpoints carry ``optimizer.state_dict()``), compared
with real PyTorch: signatures, param-group keys, updates (fused kernel and composite), per-group
flags, state_dict loading both ways, errors."""

from __future__ import annotations

import inspect

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), ()]


def _params(device, seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.uniform(-1, 1, s).astype(np.float32) for s in SHAPES]
    return ([torch.tensor(a, requires_grad=True) for a in arrs],
            [ember.tensor(a, device=device, requires_grad=True) for a in arrs])


def _set_grads(tp, ep, seed):
    rng = np.random.default_rng(100 + seed)
    for t, e in zip(tp, ep):
        g = rng.uniform(-1, 1, tuple(t.shape)).astype(np.float32)
        t.grad = torch.tensor(g)
        e.grad = ember.tensor(g, device=e.device)


def _close(tp, ep, rtol=1e-5, atol=1e-6):
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


def _run(make_t, make_e, device, steps=3):
    tp, ep = _params(device)
    ot, oe = make_t(tp), make_e(ep)
    for i in range(steps):
        _set_grads(tp, ep, i)
        ot.step()
        oe.step()
    _close(tp, ep)
    return ot, oe


def _groups_without_params(opt):
    return [{k: v for k, v in g.items() if k != "params"} for g in opt.state_dict()["param_groups"]]


@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_signature_defaults_and_group_keys(name):
    t_cls, e_cls = getattr(torch.optim, name), getattr(ember.optim, name)
    assert list(inspect.signature(e_cls).parameters) == list(inspect.signature(t_cls).parameters)
    # nanoGPT: fused_available = 'fused' in inspect.signature(torch.optim.AdamW).parameters
    assert "fused" in inspect.signature(e_cls).parameters
    ot = t_cls([torch.zeros(2, requires_grad=True)])
    oe = e_cls([ember.zeros(2, requires_grad=True)])
    assert list(oe.param_groups[0]) == list(ot.param_groups[0])
    assert oe.defaults == ot.defaults
    assert _groups_without_params(oe) == _groups_without_params(ot)


@pytest.mark.parametrize("composite", [False, True], ids=["kernel", "composite"])
@pytest.mark.parametrize("amsgrad,maximize", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize("wd", [0.0, 0.1])
def test_adam_decoupled_matches_torch(device, hide_kernels, composite, amsgrad, maximize, wd):
    if composite:
        hide_kernels(["adam_step"])
    kw = dict(lr=0.05, weight_decay=wd, amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
    _run(lambda p: torch.optim.Adam(p, **kw), lambda p: ember.optim.Adam(p, **kw), device)


@pytest.mark.parametrize("composite", [False, True], ids=["kernel", "composite"])
@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_decoupled_flag_is_read_per_group(device, hide_kernels, composite, cls):
    if composite:
        hide_kernels(["adam_step"])

    def groups(p):
        return [{"params": p[:1], "decoupled_weight_decay": True}, {"params": p[1:], "weight_decay": 0.3}]

    ot, oe = _run(lambda p: getattr(torch.optim, cls)(groups(p), lr=0.05, weight_decay=0.2),
                  lambda p: getattr(ember.optim, cls)(groups(p), lr=0.05, weight_decay=0.2), device)
    assert [g["decoupled_weight_decay"] for g in oe.param_groups] == \
        [g["decoupled_weight_decay"] for g in ot.param_groups]


def test_adamw_equals_adam_decoupled(device):
    # AdamW is Adam(decoupled_weight_decay=True): same parameters after the same steps
    ta, ea = _params(device)
    tb, eb = _params(device)
    oa = ember.optim.AdamW(ea, lr=0.05, weight_decay=0.1)
    ob = ember.optim.Adam(eb, lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)
    for i in range(3):
        _set_grads(ta, ea, i)
        _set_grads(tb, eb, i)
        oa.step()
        ob.step()
    for a, b in zip(ea, eb):
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())


@pytest.mark.parametrize("src,dst", [("AdamW", "AdamW"), ("Adam", "AdamW"), ("AdamW", "Adam"), ("Adam", "Adam")])
@pytest.mark.parametrize("drop_key", [False, True], ids=["saved", "older-save"])
def test_load_torch_state_dict(device, src, dst, drop_key):
    """A PyTorch optimizer's state_dict (as in a nanoGPT ckpt.pt) loads into ember's like into PyTorch's,
    an older save without the key included; the steps after it match."""
    tp, ep = _params(device)
    src_t = getattr(torch.optim, src)(tp, lr=0.05, weight_decay=0.1)
    _set_grads(tp, ep, 0)
    src_t.step()
    sd = src_t.state_dict()
    if drop_key:
        for g in sd["param_groups"]:
            del g["decoupled_weight_decay"]
    with torch.no_grad():
        for t, e in zip(tp, ep):
            e.data = ember.tensor(t.detach().numpy(), device=device)
    dst_t = getattr(torch.optim, dst)(tp, lr=0.05)
    dst_e = getattr(ember.optim, dst)(ep, lr=0.05)
    dst_t.load_state_dict(sd)
    e_sd = {"state": {k: {kk: ember.tensor(vv.numpy()) for kk, vv in v.items()} for k, v in sd["state"].items()},
            "param_groups": sd["param_groups"]}
    dst_e.load_state_dict(e_sd)
    assert _groups_without_params(dst_e) == _groups_without_params(dst_t)
    for i in range(1, 3):
        _set_grads(tp, ep, i)
        dst_t.step()
        dst_e.step()
    _close(tp, ep)


def test_ember_state_dict_loads_into_torch():
    tp, ep = _params("cpu")
    oe = ember.optim.AdamW(ep, lr=0.05)
    _set_grads(tp, ep, 0)
    oe.step()
    sd = oe.state_dict()
    t_sd = {"state": {k: {kk: torch.tensor(vv.numpy()) for kk, vv in v.items()} for k, v in sd["state"].items()},
            "param_groups": sd["param_groups"]}
    ot = torch.optim.AdamW(tp, lr=0.05)
    ot.load_state_dict(t_sd)
    assert _groups_without_params(ot) == _groups_without_params(oe)


def test_adamw_rejects_decoupled_keyword():
    for mod in (torch, ember):
        with pytest.raises(TypeError, match="decoupled_weight_decay"):
            mod.optim.AdamW([mod.zeros(2, requires_grad=True)], decoupled_weight_decay=False)


# ---- torch.cuda.is_bf16_supported: nanoGPT's first line picks its dtype with it ---------------------
def test_cuda_is_bf16_supported_without_a_device():
    # on a machine without CUDA both answer False (no error), with either argument
    for kw in ({}, {"including_emulation": False}, {"including_emulation": True}):
        assert ember.cuda.is_bf16_supported(**kw) is (torch.cuda.is_available() and torch.cuda.is_bf16_supported(**kw))
    assert list(inspect.signature(ember.cuda.is_bf16_supported).parameters) == \
        list(inspect.signature(torch.cuda.is_bf16_supported).parameters)


def test_is_bf16_supported_matches_what_the_device_holds(device):
    """PyTorch's definition (``_check_bf16_tensor_supported``): a bfloat16 tensor can be made there;
    without emulation it must also be computed in bfloat16."""
    mod = getattr(ember, device.split(":")[0])
    try:
        ember.ones(2, dtype=ember.bfloat16, device=device) + 1
        holds = True
    except Exception:
        holds = False
    assert mod.is_bf16_supported() is holds
    be = ember.plugins.backend(device.split(":")[0])
    native = holds and ember.bfloat16 not in be.emulated_dtypes(0)
    assert mod.is_bf16_supported(including_emulation=False) is native
    assert mod.is_bf16_supported(False) is native


def test_cuda_backend_without_bfloat16_answers_false(monkeypatch):
    """ember's CuPy backend has no bfloat16, so nanoGPT picks float16 (+ GradScaler) there instead of
    failing at its first line; checked with the backend's own dtype declaration."""
    be = ember.plugins.backend("cuda")
    if be is None:
        pytest.skip("the cuda backend is not installed")
    monkeypatch.setattr(type(be), "is_available", lambda self: True)
    assert ember.cuda.is_available()
    assert ember.cuda.is_bf16_supported() is False
    assert ember.cuda.is_bf16_supported(including_emulation=False) is False


# ---- Tensor.pin_memory: nanoGPT's get_batch does x.pin_memory().to(device, non_blocking=True) on CUDA ---
needs_accelerator = pytest.mark.skipif(not ember.accelerator.is_available(), reason="no accelerator: pin_memory raises")


def _torch_error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return info.value


@pytest.mark.parametrize("shape", [(3, 4), (5,), (), (0, 2)])
@needs_accelerator
def test_pin_memory_copies_and_marks(device, shape):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(shape).astype(np.float32)
    x = ember.tensor(a)
    p = x.pin_memory()
    assert p is not x and p.is_pinned() and not x.is_pinned()
    assert p.device.type == "cpu" and p.dtype == x.dtype and tuple(p.shape) == shape
    np.testing.assert_array_equal(p.numpy(), a)
    assert p.pin_memory() is p  # pinned already: itself, as PyTorch
    if p.dim() and p.numel():
        assert p[0].is_pinned() and p.view(-1).is_pinned()  # views share the pinned storage
    moved = p.to(device, non_blocking=True)
    np.testing.assert_array_equal(moved.cpu().numpy(), a)
    assert moved.is_pinned() is (moved.device.type == "cpu")


@needs_accelerator
def test_pin_memory_autograd_and_dtypes():
    x = ember.ones(2, 3, requires_grad=True)
    p = x.pin_memory()
    assert p.grad_fn.name() == "PinMemoryBackward0"  # PyTorch's node (derivatives.yaml: self: grad)
    (p * ember.arange(3.0)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.tile(np.arange(3.0, dtype=np.float32), (2, 1)))
    for dt in (ember.int64, ember.bool, ember.float64, ember.bfloat16, ember.uint8):
        t = ember.zeros(3, dtype=dt).pin_memory()
        assert t.is_pinned() and t.dtype == dt


@needs_accelerator
def test_pin_memory_of_a_device_tensor_is_pytorchs_error():
    dev = ember.accelerator.current_accelerator().type
    with pytest.raises(RuntimeError, match=r"^cannot pin 'ember\.\w+\.FloatTensor' only dense CPU tensors can be pinned$"):
        ember.ones(2, device=dev).pin_memory()
    assert ember.ones(2, device=dev).is_pinned() is False


def test_pin_memory_errors_and_warnings_match_torch(monkeypatch):
    # the device argument: PyTorch's DeprecationWarning, and 'cpu' is no accelerator (checked before
    # whether one exists, so CPU-only PyTorch shows the same)
    for lib in (torch, ember):
        with pytest.warns(DeprecationWarning, match=r"The argument 'device' of Tensor.is_pinned\(\) is deprecated"):
            assert lib.ones(2).is_pinned("cpu") is False
    with pytest.warns(DeprecationWarning) as warned_t:
        theirs = _torch_error(lambda: torch.ones(2).pin_memory("cpu"))
    with pytest.warns(DeprecationWarning) as warned_e:
        ours = _torch_error(lambda: ember.ones(2).pin_memory("cpu"))
    assert [str(w.message) for w in warned_e] == [str(w.message).split(" (Triggered")[0] for w in warned_t]
    assert type(ours) is type(theirs) and str(ours) == str(theirs).split(" (Triggered")[0]
    # without an accelerator: PyTorch's (CPU-only build) error, for every dtype
    monkeypatch.setattr(ember.accelerator, "is_available", lambda: False)
    for dt_t, dt_e in ((torch.float32, ember.float32), (torch.int64, ember.int64)):
        theirs = _torch_error(lambda dt_t=dt_t: torch.zeros(2, dtype=dt_t).pin_memory())
        ours = _torch_error(lambda dt_e=dt_e: ember.zeros(2, dtype=dt_e).pin_memory())
        assert type(ours) is type(theirs) and str(ours) == str(theirs)
