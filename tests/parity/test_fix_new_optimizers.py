"""The optimizers PyTorch added after 2.4, against PyTorch 2.13: ``Adafactor``, ``Muon`` and the
``swap_in_optimizer_params_and_state`` context manager.

Each case runs the same program on real PyTorch and on ember (on every device under test) and
compares the parameters after several steps (float32 and float64), the ``state_dict()`` (state keys,
shapes, dtypes, ``step`` counts, param_groups keys and values), constructor and step errors (types
and messages), ``load_state_dict`` of PyTorch's and of ember's own state dicts, LR schedulers driving
the optimizers' ``lr`` (and Muon's ``momentum``), and the swap-in context manager's effects.
"""

from __future__ import annotations

import copy
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember.optim  # noqa: E402  (the optimizers tested: registered in ember.optim)


def _np(t):
    return t.detach().cpu().numpy()


def _edtype(tdt):
    return getattr(ember, str(tdt).split(".")[-1])


def assert_same(a, b, rtol=1e-5, atol=1e-6, path="out"):
    """``a`` from PyTorch, ``b`` from ember: same structure, types, dtypes, shapes and values."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, ember.Tensor), (path, type(b))
        assert str(a.dtype).split(".")[-1] == str(b.dtype).split(".")[-1], (path, a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape), (path, a.shape, b.shape)
        if a.dtype == torch.bfloat16:  # (NumPy has no bfloat16: compared as float32, exactly representable)
            a, b = a.float(), b.float()
        np.testing.assert_allclose(_np(b), _np(a), rtol=rtol, atol=atol, err_msg=path)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b), (path, list(a), b)
        for k in a:
            assert_same(a[k], b[k], rtol, atol, f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), (path, a, b)
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, rtol, atol, f"{path}[{i}]")
    elif isinstance(a, float):
        assert isinstance(b, float) and np.isclose(a, b, rtol=rtol, atol=0), (path, a, b)
    else:
        assert type(a) is type(b) and a == b, (path, a, b)


def _tol(dtype):
    # several steps of float32 arithmetic in another order (reductions, rsqrt); float64 to rounding
    return {"rtol": 2e-5, "atol": 2e-6} if dtype == torch.float32 else {"rtol": 1e-11, "atol": 1e-12}


class Pair:
    """The same parameters and optimizer in PyTorch and in ember (on ``device``)."""

    def __init__(self, name, shapes, dtype, device, kwargs, groups=False, seed=0):
        rng = np.random.default_rng(seed)
        init = [rng.standard_normal(s) for s in shapes]
        self.device, self.dtype = device, dtype
        self.tp = [torch.tensor(x, dtype=dtype, requires_grad=True) for x in init]
        self.ep = [ember.tensor(x, dtype=_edtype(dtype), device=device).requires_grad_(True) for x in init]
        tkw = {k: (torch.tensor(v) if isinstance(v, _TensorArg) else v) for k, v in kwargs.items()}
        ekw = {k: (ember.tensor(v) if isinstance(v, _TensorArg) else v) for k, v in kwargs.items()}
        self.topt = getattr(torch.optim, name)(self._groups(self.tp, groups), **tkw)
        self.eopt = getattr(ember.optim, name)(self._groups(self.ep, groups), **ekw)
        self.rng = np.random.default_rng(seed + 100)

    @staticmethod
    def _groups(ps, groups):
        return [{"params": ps[:1]}, {"params": ps[1:], "lr": 0.005}] if groups else ps

    def grads(self, skip=None):
        for i, (t, e) in enumerate(zip(self.tp, self.ep)):
            g = None if i == skip else self.rng.standard_normal(tuple(t.shape))
            t.grad = None if g is None else torch.tensor(g, dtype=self.dtype)
            e.grad = None if g is None else ember.tensor(g, dtype=_edtype(self.dtype), device=self.device)

    def step(self, skip=None):
        self.grads(skip)
        self.topt.step()
        self.eopt.step()

    def check(self, state=True):
        tol = _tol(self.dtype)
        for i, (t, e) in enumerate(zip(self.tp, self.ep)):
            assert_same(t.detach(), e.detach(), path=f"param {i}", **tol)
        if state:
            assert_same(self.topt.state_dict(), self.eopt.state_dict(), path="state_dict", **tol)


class _TensorArg(float):
    """A hyper-parameter given as a 0-d Tensor (built per library by ``Pair``)."""


# ---- Adafactor ------------------------------------------------------------------------------------
#: a 0-d, a vector, a matrix (factored), a batch of matrices (factored over the last two dims), a tall one
ADA_SHAPES = [(), (5,), (4, 6), (2, 3, 4), (7, 2)]
ADA_CONFIGS = [
    {},
    {"lr": 0.05, "weight_decay": 0.1},
    {"weight_decay": 0.1, "maximize": True},
    {"beta2_decay": -1.0, "d": 1.5},
    {"eps": (1e-3, 1e-2)},  # an explicit eps1 (clamps the variance estimate)
    {"eps": (None, 10.0)},  # eps2 above the parameters' RMS: the step is scaled by eps2
    {"lr": 0.5},  # rho_t = 1/sqrt(t) while lr is above it
    {"lr": _TensorArg(0.02), "weight_decay": 0.1},  # float32 scalar arithmetic, as PyTorch's
    {"foreach": True, "weight_decay": 0.1},  # PyTorch's multi-tensor path: the same update
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kwargs", ADA_CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_adafactor_steps_match_pytorch(device, dtype, kwargs):
    pair = Pair("Adafactor", ADA_SHAPES, dtype, device, kwargs, groups=True)
    pair.check()  # the fresh state dict: param_groups keys and defaults
    for step in range(6):
        pair.step(skip=1 if step == 2 else None)  # one parameter without a gradient: not stepped
        pair.check()
    sd = pair.eopt.state_dict()
    assert sd["state"][0]["step"].dtype is ember.float32 and sd["state"][0]["step"].device.type == "cpu"
    assert sd["state"][1]["step"].item() == 5.0  # skipped once


def test_adafactor_state_layout_matches_pytorch():
    pair = Pair("Adafactor", [(3, 4), (2, 5, 6), (4,)], torch.float64, "cpu", {})
    pair.step()
    t, e = pair.topt.state_dict()["state"], pair.eopt.state_dict()["state"]
    assert [list(s) for s in e.values()] == [list(s) for s in t.values()]
    assert [tuple(v.shape) for s in e.values() for v in s.values()] == \
           [tuple(v.shape) for s in t.values() for v in s.values()]
    assert list(pair.eopt.param_groups[0]) == list(pair.topt.param_groups[0])


def test_adafactor_eps1_follows_the_first_parameter_dtype():
    """``eps1=None``: PyTorch's loop takes the machine epsilon of the group's first stepped parameter
    and keeps it for the rest of the group (a float64 parameter after a float32 one gets float32's)."""
    vals = [np.full((2, 3), 1e-5), np.full((4,), 1e-5)]
    out = {}
    for lib in (torch, ember):
        ps = [lib.tensor(vals[0], dtype=lib.float32, requires_grad=True),
              lib.tensor(vals[1], dtype=lib.float64, requires_grad=True)]
        opt = lib.optim.Adafactor(ps, lr=0.5)
        for p in ps:
            p.grad = lib.full(tuple(p.shape), 1e-12, dtype=p.dtype)  # g*g below eps1**2 of float64
        opt.step()
        out[lib] = [p.detach() for p in ps]
    for t, e in zip(out[torch], out[ember]):
        assert_same(t, e, rtol=1e-6)


def test_adafactor_tensor_lr_squeezed_and_scheduled():
    """A one-element (1-d) Tensor lr is accepted and used as a scalar; schedulers write into it."""
    for lib in (torch, ember):
        p = lib.ones(3, 2, requires_grad=True)
        opt = lib.optim.Adafactor([p], lr=lib.tensor([0.01]))
        p.grad = lib.ones(3, 2)
        opt.step()
        assert abs(p[0, 0].item() - 0.99) < 1e-6


# ---- Muon -------------------------------------------------------------------------------------------
MUON_SHAPES = [(4, 4), (3, 8), (9, 5)]  # square, wide, tall (orthogonalized transposed)
MUON_CONFIGS = [
    {},
    {"lr": 0.02, "momentum": 0.8},
    {"nesterov": False, "weight_decay": 0.0},
    {"adjust_lr_fn": "match_rms_adamw", "lr": 0.01},
    {"adjust_lr_fn": "original", "ns_steps": 3, "eps": 1e-3},
    {"ns_coefficients": (3.4, -4.7, 2.0)},
    {"lr": _TensorArg(0.01), "weight_decay": 0.2},
]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("kwargs", MUON_CONFIGS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_muon_steps_match_pytorch(device, dtype, kwargs):
    pair = Pair("Muon", MUON_SHAPES, dtype, device, kwargs, groups=True)
    pair.check()
    for step in range(5):
        pair.step(skip=0 if step == 1 else None)
        pair.check()


def test_muon_bfloat16_parameters_match_pytorch():
    """bfloat16 parameters: the orthogonalization runs on the update itself (``.bfloat16()`` is a no-op),
    so without Nesterov PyTorch scales the momentum buffer in place; ember must do the same."""
    for nesterov in (False, True):
        pair = Pair("Muon", [(3, 5)], torch.bfloat16, "cpu", {"nesterov": nesterov, "lr": 0.05})
        for _ in range(3):
            pair.step()
        assert_same(pair.tp[0].detach(), pair.ep[0].detach(), rtol=1e-2, atol=1e-2)
        assert_same(pair.topt.state_dict(), pair.eopt.state_dict(), rtol=1e-2, atol=1e-2)


# ---- errors (types and messages) --------------------------------------------------------------------
def _err(fn):
    out = []
    for lib in (torch, ember):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(lib)
        except Exception as exc:  # noqa: BLE001 - compared below
            out.append((type(exc).__name__, str(exc).replace("torch.", "LIB.").replace("ember.", "LIB.")))
        else:
            out.append(None)
    assert out[0] is not None, "PyTorch accepted it"
    assert out[1] == out[0]


CTOR_ERRORS = [
    ("Adafactor", {"lr": -1.0}), ("Adafactor", {"lr": float("nan")}), ("Adafactor", {"beta2_decay": 0.5}),
    ("Adafactor", {"eps": (-1e-30, 1e-3)}), ("Adafactor", {"eps": (None, -1.0)}), ("Adafactor", {"d": 0.5}),
    ("Adafactor", {"weight_decay": -0.1}), ("Adafactor", {"lr": "T2"}),
    ("Muon", {"lr": -1.0}), ("Muon", {"momentum": -0.5}), ("Muon", {"weight_decay": -1.0}),
    ("Muon", {"adjust_lr_fn": "arbitrary"}), ("Muon", {"lr": "T2"}),
]


@pytest.mark.parametrize(("name", "kwargs"), CTOR_ERRORS, ids=lambda x: str(x))
def test_constructor_errors_match_pytorch(name, kwargs):
    def build(lib):
        kw = {k: (lib.tensor([0.1, 0.2]) if v == "T2" else v) for k, v in kwargs.items()}
        getattr(lib.optim, name)([lib.ones(2, 2, requires_grad=True)], **kw)

    _err(build)


def test_muon_refuses_non_matrices_and_bad_iterations():
    _err(lambda lib: lib.optim.Muon([lib.ones(2, 2, requires_grad=True), lib.ones(2, 3, 4, requires_grad=True)]))
    _err(lambda lib: lib.optim.Muon([lib.ones(3, requires_grad=True)]))

    def stepped(lib, **kw):
        p = lib.ones(2, 3, requires_grad=True)
        opt = lib.optim.Muon([p], **kw)
        p.grad = lib.ones(2, 3)
        opt.step()

    _err(lambda lib: stepped(lib, ns_steps=100))
    _err(lambda lib: stepped(lib, ns_coefficients=(1.0, 2.0)))

    def added_later(lib):  # add_param_group does not check the shape: the step does
        opt = lib.optim.Muon([lib.ones(2, 2, requires_grad=True)])
        v = lib.ones(3, requires_grad=True)
        opt.add_param_group({"params": [v]})
        v.grad = lib.ones(3)
        opt.step()

    _err(added_later)


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_complex_and_sparse_refused_at_step(name):
    """A complex parameter (or a sparse gradient) anywhere in a group fails the step before any
    parameter of the group moves."""
    for kind in ("complex", "sparse"):
        after = {}

        def run(lib, kind=kind, after=after):
            real = lib.ones(2, 3, requires_grad=True)
            if kind == "complex":
                other = lib.ones(2, 3, dtype=lib.complex64, requires_grad=True)
                other.grad = lib.ones(2, 3, dtype=lib.complex64)
            else:
                other = lib.ones(2, 3, requires_grad=True)
                other.grad = lib.ones(2, 3).to_sparse()
            opt = getattr(lib.optim, name)([real, other])
            real.grad = lib.ones(2, 3)
            after[lib] = (real, opt)
            opt.step()

        _err(run)
        for lib, (real, _) in after.items():
            assert real.detach().tolist() == [[1.0] * 3] * 2, (lib.__name__, kind)
        assert len(after[ember][1].state) == len(after[torch][1].state)


# ---- state dicts ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kwargs", "shapes"), [
    ("Adafactor", {"weight_decay": 0.1}, ADA_SHAPES), ("Muon", {"lr": 0.02}, MUON_SHAPES)])
def test_load_pytorch_state_dict_and_round_trip(device, name, kwargs, shapes):
    """Half way, PyTorch's state dict goes into a fresh PyTorch optimizer and (converted) a fresh ember
    one, ember's own state dict into a third; all go on and must agree."""
    pair = Pair(name, shapes, torch.float32, device, kwargs, groups=True)
    for _ in range(3):
        pair.step()
    saved = copy.deepcopy(pair.topt.state_dict())
    twin = Pair(name, shapes, torch.float32, device, kwargs, groups=True, seed=0)
    with torch.no_grad(), ember.no_grad():
        for t, e, t0, e0 in zip(twin.tp, twin.ep, pair.tp, pair.ep):
            t.copy_(t0)
            e.copy_(e0)
    twin.topt.load_state_dict(saved)

    def conv(v):
        if isinstance(v, torch.Tensor):
            return ember.tensor(v.numpy())
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v

    twin.eopt.load_state_dict(conv(saved))
    twin.check()
    # ember -> ember: its own state dict, through a deep copy
    third = getattr(ember.optim, name)(Pair._groups([e.detach().clone().requires_grad_(True) for e in pair.ep],
                                                    True), **kwargs)
    third.load_state_dict(copy.deepcopy(pair.eopt.state_dict()))
    assert_same(pair.topt.state_dict(), third.state_dict(), **_tol(torch.float32))
    for _ in range(3):
        twin.step()
        twin.check()
    for step_state in twin.eopt.state.values():
        if "step" in step_state:
            assert step_state["step"].device.type == "cpu"  # (not capturable: saved where it was)


def test_adafactor_old_state_dict_without_foreach_and_with_number_steps():
    """A state dict from before ``foreach`` existed, with ``step`` stored as a number: loading fills
    ``foreach=None`` and makes ``step`` a float32 tensor (PyTorch's ``__setstate__``)."""
    sds = {}
    for lib in (torch, ember):
        p = lib.ones(2, 3, requires_grad=True)
        opt = lib.optim.Adafactor([p])
        p.grad = lib.ones(2, 3)
        opt.step()
        sd = copy.deepcopy(opt.state_dict())
        del sd["param_groups"][0]["foreach"]
        sd["state"][0]["step"] = 1.0
        fresh = lib.optim.Adafactor([lib.ones(2, 3, requires_grad=True)])
        fresh.load_state_dict(sd)
        sds[lib] = fresh.state_dict()
    assert_same(sds[torch], sds[ember])


# ---- LR schedulers -----------------------------------------------------------------------------------
def _sched_run(lib, name, okw, build, epochs=8):
    rng = np.random.default_rng(3)
    p = lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float64, requires_grad=True)
    opt = getattr(lib.optim, name)([p], **okw)
    sched = build(lib, opt)
    trace = []
    for _ in range(epochs):
        p.grad = lib.tensor(rng.standard_normal((3, 4)), dtype=lib.float64)
        opt.step()
        sched.step()
        trace.append(({k: v for k, v in opt.param_groups[0].items() if k != "params"},
                      [float(x) for x in sched.get_last_lr()]))
    return p.detach(), trace, sched.state_dict()


SCHEDULERS = [
    ("Adafactor", {"lr": 0.05}, lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.3)),
    ("Adafactor", {"lr": 0.5}, lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)),
    ("Adafactor", {"lr": 0.05}, lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10,
                                                                                  cycle_momentum=False)),
    ("Muon", {"lr": 0.02}, lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=0.05, total_steps=10)),
    ("Muon", {"lr": 0.02}, lambda lib, o: lib.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4)),
]


@pytest.mark.parametrize(("name", "okw", "build"), SCHEDULERS, ids=lambda x: x if isinstance(x, str) else "")
def test_schedulers_drive_new_optimizers(name, okw, build):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tp, ttrace, tsd = _sched_run(torch, name, okw, build)
        ep, etrace, esd = _sched_run(ember, name, okw, build)
    assert_same(tp, ep, rtol=1e-10, atol=1e-12)
    assert_same(ttrace, etrace, rtol=1e-12)
    assert_same({k: v for k, v in tsd.items() if not callable(v)}, {k: v for k, v in esd.items() if not callable(v)})


def test_onecycle_with_momentum_on_adafactor_refused_like_pytorch():
    # Adafactor has neither ``momentum`` nor ``betas``: cycling momentum is refused
    _err(lambda lib: lib.optim.lr_scheduler.OneCycleLR(lib.optim.Adafactor([lib.ones(2, requires_grad=True)]),
                                                      max_lr=0.1, total_steps=10))


# ---- swap_in_optimizer_params_and_state --------------------------------------------------------------
def _swap_run(lib, name="Adam", okw=None):
    rng = np.random.default_rng(5)
    okw = {"lr": 0.1} if okw is None else okw
    live = [lib.tensor(rng.standard_normal((2, 3)), dtype=lib.float32, requires_grad=True),
            lib.tensor(rng.standard_normal(3), dtype=lib.float32, requires_grad=True)]
    opt = getattr(lib.optim, name)([{"params": live[:1]}, {"params": live[1:], "lr": 0.05}], **okw)
    for p in live:
        p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32)
    opt.step()
    params_lists = [g["params"] for g in opt.param_groups]
    live_state = opt.state
    swap = {n: lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32, requires_grad=True)
            for n, p in zip("ab", live)}
    for p in swap.values():
        p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=lib.float32)
    osd = copy.deepcopy(opt.state_dict())
    osd["param_groups"][0]["lr"] = 0.2
    osd_tensors = [v for s in osd["state"].values() for v in s.values()]
    live_before = [p.detach().clone() for p in live]
    with lib.optim.swap_in_optimizer_params_and_state(opt, swap, osd):
        assert opt.param_groups[0]["params"][0] is swap["a"] and opt.param_groups[0]["lr"] == 0.2
        opt.step()
        opt.step()
    assert [g["params"] for g in opt.param_groups] == params_lists
    assert all(g["params"] is p for g, p in zip(opt.param_groups, params_lists))
    assert opt.state is live_state and opt.param_groups[0]["lr"] == 0.1
    assert all((a.detach() == b).all() for a, b in zip(live, live_before))
    # the state tensors the caller passed hold the two steps (in-place edits reach them)
    return [p.detach() for p in swap.values()], osd_tensors, osd


@pytest.mark.parametrize(("name", "okw"), [("Adam", {"lr": 0.1}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
                                           ("Adafactor", {"lr": 0.1})])
def test_swap_in_steps_the_given_params_and_state(name, okw):
    t_params, t_state, t_osd = _swap_run(torch, name, okw)
    e_params, e_state, e_osd = _swap_run(ember, name, okw)
    assert_same(t_params, e_params)
    assert_same(t_state, e_state)
    assert_same(t_osd, e_osd)


def _swap_error(lib, case):
    p = lib.ones(2, requires_grad=True)
    opt = lib.optim.Adam([p], lr=0.1)
    if case != "empty state":
        p.grad = lib.ones(2)
        opt.step()
    sd = copy.deepcopy(opt.state_dict())
    params = {"p": lib.zeros(2, requires_grad=True)}
    if case == "not a dict":
        sd = [sd]
    elif case == "state not a dict":
        sd["state"] = []
    elif case == "state entry not a dict":
        sd["state"][0] = 1.0
    elif case == "groups not a list":
        sd["param_groups"] = tuple(sd["param_groups"])
    elif case == "group count":
        sd["param_groups"] = sd["param_groups"] * 2
    elif case == "group size":
        sd["param_groups"][0]["params"] = [0, 1]
    elif case == "group keys":
        sd["param_groups"][0]["extra"] = 1
        del sd["param_groups"][0]["amsgrad"]
    elif case == "too few params":
        params = {}
    elif case == "extra state key":
        sd["state"][5] = {}
    with lib.optim.swap_in_optimizer_params_and_state(opt, params, sd):
        pass


@pytest.mark.parametrize("case", ["empty state", "not a dict", "state not a dict", "state entry not a dict",
                                  "groups not a list", "group count", "group size", "group keys",
                                  "too few params", "extra state key"])
def test_swap_in_errors_match_pytorch(case):
    _err(lambda lib: _swap_error(lib, case))


def test_exports_match_pytorch():
    for name in ("Adafactor", "Muon", "swap_in_optimizer_params_and_state"):
        assert name in torch.optim.__all__ and name in ember.optim.__all__
    import inspect

    for name in ("Adafactor", "Muon"):
        tsig = inspect.signature(getattr(torch.optim, name).__init__)
        esig = inspect.signature(getattr(ember.optim, name).__init__)
        assert [(p.name, p.kind, p.default) for p in tsig.parameters.values()] == \
               [(p.name, p.kind, p.default) for p in esig.parameters.values()]
