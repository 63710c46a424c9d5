"""Optimizers, LR schedulers, nn.init and nn.utils that differed from PyTorch 2.13. Each case runs
the same program on real PyTorch and on ember and compares values, dtypes, state dicts, warnings
and exception types and messages.

Complex parameters step as their real view (``view_as_real``, with ``complex(v, v)`` fills of
Adagrad's and Rprop's buffers); NAdam's ``mu_product *= mu`` rounds ``mu`` to float32 first;
``capturable=True`` refuses cpu parameters; Tensor learning rates (1-element check, schedulers fill
them in place); ``fused`` with ``foreach``; SGD's NaN-accepting checks; named parameters
(``param_names``); step hooks see the optimizer in ``args``, global step hooks, state-dict hooks;
a duplicated parameter's state-dict index; ``clip_grad_norm_`` with 0-d gradients and empty
tensors; ``pad_sequence`` typed like its first sequence. Second round: malformed optimizer state
dicts fail at PyTorch's lookups; schedulers without ``verbose``, their ``load_state_dict`` keys and
the "optimizer.step() has been overridden" warning; float16/bfloat16 SGD, Adam(W), RMSprop and Adagrad
steps bit for bit (fused Adam rounding once); doubles reaching 16 bits through float32.
"""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().cpu().resolve_conj().numpy()
    return t.detach().cpu().numpy()


def assert_same(a, b, rtol=1e-5, atol=1e-6, path="out"):
    """``a`` from PyTorch, ``b`` from ember: same structure, dtypes, shapes and values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, ember.Tensor), (path, type(b))
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (path, a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape), (path, a.shape, b.shape)
        np.testing.assert_allclose(_np(b), _np(a), rtol=rtol, atol=atol, err_msg=path, equal_nan=True)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), list(b) if isinstance(b, dict) else b)
        for k in a:
            assert_same(a[k], b[k], rtol, atol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rtol, atol, f"{path}[{i}]")
    elif isinstance(a, float):
        assert isinstance(b, (float, int)), (path, a, b)
        assert (np.isnan(a) and np.isnan(b)) or np.isclose(a, b, rtol=rtol, atol=atol), (path, a, b)
    else:
        assert a == b, (path, a, b)


def both(fn, *args, **kwargs):
    """Run ``fn(lib, ...)`` on both; same outcome or the same exception (type and message)."""
    out = {}
    for lib in (torch, ember):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try:
                out[lib] = ("ok", fn(lib, *args, **kwargs), [str(x.message) for x in w])
            except Exception as e:  # noqa: BLE001 - compared below
                out[lib] = ("err", e, [str(x.message) for x in w])
    t, e = out[torch], out[ember]
    assert t[0] == e[0], (t, e)
    if t[0] == "err":
        assert type(t[1]) is type(e[1]) and str(t[1]) == str(e[1]), (t[1], e[1])
        return None
    assert t[2] == e[2], (t[2], e[2])
    return t[1], e[1]


# ---- optimizers: complex parameters step as their real view ------------------------------------
R = np.random.default_rng(7)
_INIT = [R.standard_normal((3, 4)) + 1j * R.standard_normal((3, 4)), R.standard_normal(5), R.standard_normal(())]

COMPLEX = [
    ("Adam", {"lr": 0.01}), ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01, "maximize": True}), ("Adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9, "centered": True}), ("Rprop", {"lr": 0.01}),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.5, "lr_decay": 0.1}), ("Adadelta", {"lr": 0.5}),
    ("ASGD", {"lr": 0.01, "t0": 2, "lambd": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
]


def _complex_run(lib, name, kw, dtype, steps=6):
    cdt = np.complex64 if dtype == "float32" else np.complex128
    ps = [lib.tensor(_INIT[0].astype(cdt)).requires_grad_()]
    ps += [lib.tensor(a, dtype=getattr(lib, dtype)).requires_grad_() for a in _INIT[1:]]
    opt = getattr(lib.optim, name)(ps, **kw)
    for k in range(steps):
        with lib.no_grad():
            ps[0].grad = (lib.sin(ps[0].real * 1.3 + k) + 1j * lib.cos(ps[0].imag + k)).to(ps[0].dtype)
            for i, p in enumerate(ps[1:]):
                p.grad = lib.sin(p * (i + 2.3) + k)
        opt.step()
    return [p.detach() for p in ps], opt.state_dict()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kw", COMPLEX, ids=[f"{n}{i}" for i, (n, _) in enumerate(COMPLEX)])
def test_complex_params_step_as_real(name, kw, dtype):
    t, e = both(_complex_run, name, kw, dtype)
    tol = {"rtol": 1e-4, "atol": 1e-5} if dtype == "float32" else {"rtol": 1e-9, "atol": 1e-10}
    assert_same(t, e, **tol)


def _nadam(lib):
    p = lib.tensor(np.linspace(-1, 1, 5), dtype=lib.float64).requires_grad_()
    opt = lib.optim.NAdam([p], lr=0.01, momentum_decay=0.01)
    for k in range(8):
        p.grad = lib.cos(p.detach() + k)
        opt.step()
    return p.detach(), opt.state_dict()["state"][0]["mu_product"]


def test_nadam_mu_product_rounds_like_pytorch():
    t, e = both(_nadam)
    assert_same(t[1], e[1], rtol=0, atol=0)  # bit for bit: mu is rounded to float32 before the product
    assert_same(t[0], e[0], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Rprop", "ASGD",
                                  "Adadelta"])
def test_capturable_refuses_cpu_params(name):
    def fn(lib):
        p = lib.zeros(2, requires_grad=True)
        p.grad = lib.ones(2)
        opt = getattr(lib.optim, name)([p], capturable=True)
        opt.step()
        return p

    assert both(fn) is None  # both raise the same AssertionError


# ---- constructor checks -------------------------------------------------------------------------
CTOR = [
    ("SGD", {"lr": float("nan")}),  # PyTorch's SGD tests lr < 0: NaN passes
    ("SGD", {"lr": "0.1"}),
    ("SGD", {"lr": 0.1, "foreach": True, "fused": True}),
    ("Adam", {"foreach": True, "fused": True}),
    ("Adagrad", {"foreach": True, "fused": True}),
    ("Adam", {"lr": float("nan")}),
    ("Adam", {"betas": "mixed"}),
    ("Adam", {"betas": "tensors"}),
    ("Adam", {"lr": "tensor", "foreach": True}),
    ("SGD", {"lr": "tensor2"}), ("Adam", {"lr": "tensor2"}), ("RMSprop", {"lr": "tensor2"}),
    ("LBFGS", {"lr": "tensor2"}), ("SparseAdam", {"lr": "tensor2"}), ("Rprop", {"lr": "tensor2"}),
]


@pytest.mark.parametrize("name,kw", CTOR, ids=range(len(CTOR)))
def test_constructor_checks(name, kw):
    def fn(lib):
        k = dict(kw)
        if k.get("lr") == "tensor":
            k["lr"] = lib.tensor(0.1)
        if k.get("lr") == "tensor2":
            k["lr"] = lib.tensor([0.1, 0.2])
        if k.get("betas") == "mixed":
            k["betas"] = (lib.tensor(0.9), 0.99)
        if k.get("betas") == "tensors":
            k["betas"] = (lib.tensor([0.9]), lib.tensor(0.99))
        opt = getattr(lib.optim, name)([lib.zeros(3, requires_grad=True)], **k)
        return sorted((key, str(v)) for key, v in opt.param_groups[0].items() if key not in ("params", "betas"))

    r = both(fn)
    if r is not None:
        assert r[0] == r[1]


def test_add_param_group_type_error():
    def fn(lib):
        lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1).add_param_group([lib.zeros(2)])

    assert both(fn) is None


# ---- named parameters, duplicate parameters -----------------------------------------------------
def _named(lib):
    a, b = lib.zeros(3, requires_grad=True), lib.ones(2, requires_grad=True)
    opt = lib.optim.Adam([("a", a), ("b", b)], lr=0.1)
    a.grad, b.grad = lib.ones(3), lib.full((2,), 0.5)
    opt.step()
    sd = opt.state_dict()
    opt2 = lib.optim.Adam([lib.zeros(3, requires_grad=True), lib.ones(2, requires_grad=True)], lr=0.1)
    opt2.load_state_dict(sd)
    return sd, opt2.state_dict()


def test_named_parameters_state_dict():
    t, e = both(_named)
    assert_same(t, e)


@pytest.mark.parametrize("case", ["some names", "mixed groups"])
def test_named_parameters_errors(case):
    def fn(lib):
        a, b = lib.zeros(3, requires_grad=True), lib.zeros(2, requires_grad=True)
        if case == "some names":
            lib.optim.SGD([("a", a), b], lr=0.1)
        else:
            lib.optim.SGD([{"params": [("a", a)]}], lr=0.1).add_param_group({"params": [b]})

    assert both(fn) is None


def test_duplicate_parameter_state_dict_index():
    def fn(lib):
        p = lib.zeros(3, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            opt = lib.optim.Adam([p, p], lr=0.1)
        p.grad = lib.ones(3)
        opt.step()
        return opt.state_dict()

    t, e = both(fn)
    assert_same(t, e)


def test_load_state_dict_casts_to_param_dtype():
    def fn(lib):
        p = lib.zeros(3, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1, momentum=0.9)
        opt.load_state_dict({"state": {0: {"momentum_buffer": lib.tensor([1, 2, 3])}},
                             "param_groups": [dict(opt.state_dict()["param_groups"][0])]})
        p.grad = lib.ones(3)
        opt.step()
        return p.detach(), opt.state_dict()

    t, e = both(fn)
    assert_same(t, e)


# ---- hooks ----------------------------------------------------------------------------------------
def _hooks(lib):
    log = []
    p = lib.zeros(3, requires_grad=True)
    opt = lib.optim.SGD([p], lr=0.1)
    mod = __import__(lib.__name__ + ".optim.optimizer", fromlist=["optimizer"])
    h1 = opt.register_step_pre_hook(lambda o, a, k: log.append(("pre", len(a), a[0] is o, sorted(k))))
    opt.register_step_post_hook(lambda o, a, k: log.append(("post", len(a), sorted(k))))
    g1 = mod.register_optimizer_step_pre_hook(lambda o, a, k: log.append("global pre"))
    g2 = mod.register_optimizer_step_post_hook(lambda o, a, k: log.append("global post"))
    try:
        p.grad = lib.ones(3)
        opt.step()
        h1.remove()
        opt.step(closure=None)
    finally:
        g1.remove()
        g2.remove()
    opt.step()
    opt.register_state_dict_pre_hook(lambda o: log.append("sd pre"))
    opt.register_state_dict_post_hook(lambda o, sd: log.append(("sd post", sorted(sd))))
    opt.register_state_dict_post_hook(lambda o, sd: {"replaced": True})
    replaced = opt.state_dict()
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append(("load pre", sorted(sd))))
    opt.register_load_state_dict_post_hook(lambda o: log.append("load post"))
    opt.register_load_state_dict_pre_hook(lambda o, sd: log.append("first"), prepend=True)
    group = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    opt.load_state_dict({"state": {}, "param_groups": [{**group, "lr": 0.5, "params": [0]}]})
    return log, replaced, opt.param_groups[0]["lr"]


def test_optimizer_hooks():
    t, e = both(_hooks)
    assert t == e


def test_step_pre_hook_may_replace_args():
    def fn(lib):
        p = lib.zeros(3, requires_grad=True)
        opt = lib.optim.SGD([p], lr=0.1)
        calls = []

        def closure():
            calls.append(1)
            return lib.tensor(2.0)

        opt.register_step_pre_hook(lambda o, a, k: ((o,), {"closure": closure}))
        p.grad = lib.ones(3)
        return opt.step(), len(calls), p.detach()

    t, e = both(fn)
    assert_same(t, e)


# ---- LR schedulers with a Tensor learning rate --------------------------------------------------
SCHED = {
    "StepLR": lambda L, o: L.StepLR(o, step_size=3, gamma=0.5),
    "ExponentialLR": lambda L, o: L.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda L, o: L.CosineAnnealingLR(o, T_max=5, eta_min=0.001),
    "LinearLR": lambda L, o: L.LinearLR(o, start_factor=0.1, total_iters=4),
    "CyclicLR": lambda L, o: L.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3),
    "OneCycleLR": lambda L, o: L.OneCycleLR(o, max_lr=0.1, total_steps=13),
    "CosineAnnealingWarmRestarts": lambda L, o: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
    "ChainedScheduler": lambda L, o: L.ChainedScheduler([L.ConstantLR(o, factor=0.5, total_iters=3),
                                                         L.ExponentialLR(o, gamma=0.9)]),
    "SequentialLR": lambda L, o: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.1, total_iters=3),
                                                    L.StepLR(o, 2, 0.5)], milestones=[3]),
    "ReduceLROnPlateau": lambda L, o: L.ReduceLROnPlateau(o, patience=1),
}


@pytest.mark.parametrize("name", list(SCHED))
def test_scheduler_tensor_lr(name):
    def fn(lib):
        ps = [lib.zeros(2, requires_grad=True), lib.zeros(3, requires_grad=True)]
        lrs = [lib.tensor(0.1), lib.tensor(0.02)]
        opt = lib.optim.Adam([{"params": [ps[0]], "lr": lrs[0]}, {"params": [ps[1]], "lr": lrs[1]}])
        sched = SCHED[name](lib.optim.lr_scheduler, opt)
        out = [list(sched.get_last_lr())]
        for _ in range(12):
            opt.step()
            sched.step(1.0) if name == "ReduceLROnPlateau" else sched.step()
            # the group keeps its tensor, filled in place; get_last_lr holds copies
            out.append([opt.param_groups[0]["lr"] is lrs[0], lrs[0].clone(), *sched.get_last_lr()])
        return out, [g.get("initial_lr") for g in opt.param_groups]

    t, e = both(fn)
    assert_same(t, e, rtol=1e-6, atol=1e-9)


def test_plateau_state_dict_keys():
    def fn(lib):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        s = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", cooldown=2)
        s.step(1.0)
        return s.state_dict()

    t, e = both(fn)
    assert_same(t, e)


def test_scheduler_resume_without_initial_lr():
    def fn(lib):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        lib.optim.lr_scheduler.StepLR(opt, 3, last_epoch=4)

    assert both(fn) is None


# ---- nn.utils.clip_grad ----------------------------------------------------------------------------
def _params(lib, device, nonfinite=None):
    ps = []
    for i, shape in enumerate([(3,), (2, 2), (), (0,)]):
        dev = {} if lib is torch else {"device": device}
        p = lib.zeros(shape, requires_grad=True, **dev)
        p.grad = lib.tensor(np.sin(np.arange(int(np.prod(shape))) + i).reshape(shape), dtype=lib.float32, **dev)
        ps.append(p)
    if nonfinite is not None:
        ps[1].grad[0, 0] = nonfinite
    return ps


@pytest.mark.parametrize("norm_type", [2.0, 1, 0, 3.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("foreach", [None, False])
def test_clip_grad_norm_with_0d_and_empty_grads(device, norm_type, foreach):
    def fn(lib):
        ps = _params(lib, device)
        total = lib.nn.utils.clip_grad_norm_(ps, 0.5, norm_type=norm_type, foreach=foreach)
        return total, [p.grad for p in ps]

    r = both(fn)  # the inf norms of an empty gradient raise, worded per path
    if r is not None:
        assert_same(*r)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("error_if_nonfinite", [False, True])
def test_clip_grad_norm_nonfinite(device, value, error_if_nonfinite):
    def fn(lib):
        ps = _params(lib, device, nonfinite=value)[:3]
        total = lib.nn.utils.clip_grad_norm_(ps, 1.0, error_if_nonfinite=error_if_nonfinite)
        return total, [p.grad for p in ps]

    # (not compared: the cpu backend's NumPy warns "invalid value encountered in multiply" at inf * 0)
    with np.errstate(invalid="ignore"):
        r = both(fn)
    if r is not None:
        assert_same(*r)


def test_clip_grad_norm_generators(device):
    def fn(lib):
        ps = _params(lib, device)[:3]
        total = lib.nn.utils.clip_grad_norm_((p for p in ps), 1.0)
        empty = lib.nn.utils.clip_grad_norm_((p for p in []), 1.0)
        tn = lib.nn.utils.get_total_norm([p.grad for p in ps], norm_type=3.0)
        lib.nn.utils.clip_grads_with_norm_(ps, 0.7, tn)
        return total, empty, tn, [p.grad for p in ps]

    t, e = both(fn)
    assert_same(t, e)


# ---- nn.utils.rnn.pad_sequence ------------------------------------------------------------------
PAD = {
    "mixed dtypes": lambda lib: [lib.ones(2, 3, dtype=lib.float64), lib.ones(4, 3), lib.ones(1, 3, dtype=lib.int64)],
    "broadcast trailing 1": lambda lib: [lib.ones(2, 3), lib.ones(4, 1) * 2],
    "int first": lambda lib: [lib.tensor([[1], [2]]), lib.full((3, 1), 2.7)],
}


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("case", list(PAD))
def test_pad_sequence_typed_like_first(device, case, side, batch_first):
    def fn(lib):
        seqs = PAD[case](lib)
        if lib is ember:
            seqs = [s.to(device) for s in seqs]
        return lib.nn.utils.rnn.pad_sequence(seqs, batch_first=batch_first, padding_value=-1.0, padding_side=side)

    t, e = both(fn)
    assert_same(t, e)


def test_pad_sequence_grad():
    def fn(lib):
        a, b = lib.ones(2, 3, requires_grad=True), lib.ones(4, 3, requires_grad=True)
        out = lib.nn.utils.rnn.pad_sequence([a, b], batch_first=True, padding_side="left")
        (out * lib.arange(float(out.numel())).reshape(out.shape)).sum().backward()
        return out.detach(), a.grad, b.grad

    t, e = both(fn)
    assert_same(t, e)


def test_pad_sequence_bad_side():
    assert both(lambda lib: lib.nn.utils.rnn.pad_sequence([lib.ones(2)], padding_side="middle")) is None


# ---- nn.init ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", ["kaiming_uniform_", "kaiming_normal_"])
def test_init_bad_mode_message(fn):
    assert both(lambda lib: getattr(lib.nn.init, fn)(lib.empty(3, 4), mode="fan_avg")) is None


# ---- second probe round: state-dict loading, scheduler signatures and warnings, 16-bit steps ------
LOAD_BAD = {
    "no param_groups": lambda lib: {"state": {}},
    "no state": lambda lib: {"param_groups": [{"lr": 0.1, "momentum": 0, "dampening": 0, "weight_decay": 0,
                                                 "nesterov": False, "maximize": False, "foreach": None,
                                                 "differentiable": False, "fused": None, "params": [0]}]},
    "a list": lambda lib: [1, 2],
}


@pytest.mark.parametrize("case", list(LOAD_BAD))
def test_load_state_dict_malformed(case):
    """A malformed dict fails where PyTorch's lookup does (KeyError, TypeError), not up front."""
    def fn(lib):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        opt.load_state_dict(LOAD_BAD[case](lib))
        return opt.param_groups[0]["lr"]

    both(fn)


def _sched_sd(lib, make, drop):
    opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
    sched = make(lib.optim.lr_scheduler, opt)
    opt.step()
    sched.step()
    sd = sched.state_dict()
    del sd[drop]
    sched.load_state_dict(sd)


@pytest.mark.parametrize("name", ["LambdaLR", "CyclicLR"])
def test_scheduler_load_without_its_functions(name):
    make = {"LambdaLR": lambda L, o: L.LambdaLR(o, lambda e: 0.9 ** e),
            "CyclicLR": lambda L, o: L.CyclicLR(o, 0.01, 0.1, step_size_up=3)}[name]
    drop = {"LambdaLR": "lr_lambdas", "CyclicLR": "_scale_fn_custom"}[name]
    assert both(_sched_sd, make, drop) is None  # KeyError in both


def test_cyclic_load_state_dict_pops_the_callers_key():
    def fn(lib):
        L = lib.optim.lr_scheduler
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        sched = L.CyclicLR(opt, 0.01, 0.1, step_size_up=3)
        for _ in range(4):
            opt.step()
            sched.step()
        sd = sched.state_dict()
        opt2 = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        s2 = L.CyclicLR(opt2, 0.01, 0.1, step_size_up=3)
        s2.load_state_dict(sd)
        return sorted(sd), s2.get_last_lr(), s2.last_epoch

    t, e = both(fn)
    assert_same(t, e)


VERBOSE = {
    "StepLR": lambda L, o, **k: L.StepLR(o, 2, **k),
    "MultiStepLR": lambda L, o, **k: L.MultiStepLR(o, [2], **k),
    "ExponentialLR": lambda L, o, **k: L.ExponentialLR(o, 0.9, **k),
    "CosineAnnealingLR": lambda L, o, **k: L.CosineAnnealingLR(o, 5, **k),
    "LambdaLR": lambda L, o, **k: L.LambdaLR(o, lambda e: 1.0, **k),
    "MultiplicativeLR": lambda L, o, **k: L.MultiplicativeLR(o, lambda e: 1.0, **k),
    "ConstantLR": lambda L, o, **k: L.ConstantLR(o, **k),
    "LinearLR": lambda L, o, **k: L.LinearLR(o, **k),
    "PolynomialLR": lambda L, o, **k: L.PolynomialLR(o, **k),
    "CyclicLR": lambda L, o, **k: L.CyclicLR(o, 0.01, 0.1, **k),
    "OneCycleLR": lambda L, o, **k: L.OneCycleLR(o, 0.1, total_steps=10, **k),
    "CosineAnnealingWarmRestarts": lambda L, o, **k: L.CosineAnnealingWarmRestarts(o, 3, **k),
    "ReduceLROnPlateau": lambda L, o, **k: L.ReduceLROnPlateau(o, **k),
    "SequentialLR": lambda L, o, **k: L.SequentialLR(o, [L.StepLR(o, 2)], milestones=[], **k),
}


@pytest.mark.parametrize("name", list(VERBOSE))
@pytest.mark.parametrize("value", [True, False])
def test_schedulers_take_no_verbose(name, value):
    """PyTorch 2.13 removed the deprecated ``verbose`` argument: TypeError, same message."""
    def fn(lib):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1, momentum=0.9)
        VERBOSE[name](lib.optim.lr_scheduler, opt, verbose=value)

    assert both(fn) is None


def test_scheduler_base_takes_no_verbose_positionally():
    def fn(lib):
        L = lib.optim.lr_scheduler

        class Warm(L.LRScheduler):
            def __init__(self, opt, last_epoch=-1, verbose=False):
                super().__init__(opt, last_epoch, verbose)

            def get_lr(self):
                return list(self.base_lrs)

        Warm(lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1))

    assert both(fn) is None


@pytest.mark.parametrize("when", ["after", "never", "bound before", "lambda before"])
def test_scheduler_warns_when_optimizer_step_is_replaced(when):
    """A ``step`` set on the optimizer after the scheduler is made is not seen: the first
    ``scheduler.step()`` warns that it was overridden (PyTorch's wording)."""
    def fn(lib):
        opt = lib.optim.SGD([lib.zeros(2, requires_grad=True)], lr=0.1)
        calls = []
        if when == "bound before":
            class Wrap:
                def step(self, closure=None):  # PyTorch rebinds this function to the optimizer
                    calls.append(type(self).__name__)

            opt.step = Wrap().step
        if when == "lambda before":  # PyTorch's patch reads ``step.__func__``: AttributeError
            opt.step = lambda closure=None: None
        sched = lib.optim.lr_scheduler.StepLR(opt, 2)
        if when == "after":
            opt.step = lambda closure=None: calls.append("lambda")
        opt.step()
        sched.step()
        sched.step()
        return calls, sched.get_last_lr()

    r = both(fn)
    if r is not None:
        assert r[0] == r[1]


# 16-bit parameters: PyTorch's single-tensor SGD and Adam compute each op in float32 and round its
# result (``add(..., alpha=a)`` rounds ``a`` to 16 bits first); ``fused=True`` Adam rounds once per
# tensor. 256 elements: PyTorch's vectorized loops cover all of them (a loop tail of a few elements
# computes ``alpha * b`` in 16 bits on its own, which depends on the CPU's vector width).
LOWP = [
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "maximize": True}),
    ("SGD", {"lr": 0.05}),
    ("Adam", {"lr": 0.01, "eps": 1e-3}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "eps": 1e-3}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-3}),
    ("Adam", {"lr": 0.01, "fused": True}),
    ("AdamW", {"lr": 0.01, "fused": True, "amsgrad": True, "weight_decay": 0.3}),
    ("Adam", {"lr": 0.01, "fused": True, "maximize": True, "weight_decay": 0.3}),
    ("RMSprop", {"eps": 1e-3}),
    ("RMSprop", {"centered": True, "momentum": 0.9, "eps": 1e-3, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "weight_decay": 0.1, "lr_decay": 0.01, "maximize": True}),
]
_A256 = np.random.default_rng(1).standard_normal(256)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("name,kw", LOWP, ids=[f"{n}{i}" for i, (n, _) in enumerate(LOWP)])
def test_16bit_steps_bit_for_bit(name, kw, dtype):
    def fn(lib):
        p = lib.tensor(_A256, dtype=getattr(lib, dtype)).requires_grad_()
        opt = getattr(lib.optim, name)([p], **kw)
        for s in range(6):
            # the gradient from NumPy: the same bits in both
            g = np.sin(p.detach().float().cpu().numpy().astype(np.float64) * 1.3 + s)
            p.grad = lib.tensor(g, dtype=getattr(lib, dtype))
            opt.step()
        return [p.detach().float()] + [v.float() for k, v in opt.state[p].items() if k != "step"]

    t, e = both(fn)
    assert_same(t, e, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
@pytest.mark.parametrize("how", ["tensor(ndarray, dtype)", "tensor(list, dtype)", ".to(dtype)", "int64 .to"])
def test_doubles_reach_16_bits_through_float32(how, dtype):
    """PyTorch converts a double to float16/bfloat16 through float (c10::Half/BFloat16 are built from
    a float): two roundings, which differ from NumPy's direct cast in about 1 value in 20,000."""
    x = np.random.default_rng(0).standard_normal(200_000)

    def fn(lib):
        dt = getattr(lib, dtype)
        if how == "tensor(ndarray, dtype)":
            return lib.tensor(x, dtype=dt)
        if how == "tensor(list, dtype)":
            return lib.tensor(x[:20_000].tolist(), dtype=dt)
        if how == ".to(dtype)":
            return lib.tensor(x).to(dt)
        return lib.tensor((x * 1e7).astype(np.int64)).to(dt)

    t, e = both(fn)
    assert_same(t.float(), e.float(), rtol=0, atol=0)
