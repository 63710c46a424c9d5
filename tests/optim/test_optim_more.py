"""The optimizers, schedulers and swa_utils added for issue 14, against real PyTorch.

Every optimizer trains the same small problem in ember (on each device) and in PyTorch from the
same initial weights; parameters must match after every step, state dicts must carry PyTorch's
keys and load in both directions, and bad hyper-parameters must raise what PyTorch raises.
"""

from __future__ import annotations

import copy
import math
import re

import ember
import numpy as np
import pytest
from ember import optim

torch = pytest.importorskip("torch")

STEPS = 8
SHAPES = [(3, 4), (5,)]


# ---- helpers ---------------------------------------------------------------------------------------
def _init(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _targets() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def _loss(params, targets, sin):
    """A smooth non-quadratic objective: sum (p - t)^2 + 0.3 sum sin(3 p)."""
    total = None
    for p, t in zip(params, targets):
        term = ((p - t) ** 2).sum() + 0.3 * sin(3 * p).sum()
        total = term if total is None else total + term
    return total


def _to_np(t) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().cpu().numpy()


def _ember_from_torch(value, device):
    """A PyTorch state-dict value with each tensor made an ember tensor (0-d ``step`` etc. stay on CPU)."""
    if isinstance(value, torch.Tensor):
        dev = device if value.dim() > 0 else "cpu"
        return ember.tensor(value.detach().numpy(), device=dev)
    if isinstance(value, dict):
        return {k: _ember_from_torch(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_ember_from_torch(v, device) for v in value)
    return value


class _Pair:
    """The same problem in ember (on ``device``) and PyTorch."""

    def __init__(self, device: str, seed: int = 0) -> None:
        init = _init(seed)
        self.device = device
        self.ep = [ember.tensor(a, device=device, requires_grad=True) for a in init]
        self.tp = [torch.tensor(a, requires_grad=True) for a in init]
        self.et = [ember.tensor(a, device=device) for a in _targets()]
        self.tt = [torch.tensor(a) for a in _targets()]

    def ember_closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = _loss(self.ep, self.et, ember.sin)
            loss.backward()
            return loss
        return closure

    def torch_closure(self, opt):
        def closure():
            opt.zero_grad()
            loss = _loss(self.tp, self.tt, torch.sin)
            loss.backward()
            return loss
        return closure

    def assert_close(self, rtol: float = 2e-4, atol: float = 2e-5, what: str = "") -> None:
        for e, t in zip(self.ep, self.tp):
            np.testing.assert_allclose(_to_np(e), _to_np(t), rtol=rtol, atol=atol, err_msg=what)


OPTIMIZERS = [
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.05, "betas": (0.8, 0.95), "weight_decay": 0.05}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9)}),  # rho_t > 5 from step 6: both branches run
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.05, "betas": (0.9, 0.9), "weight_decay": 0.1, "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lr": 0.05, "lambd": 0.01, "alpha": 0.5, "t0": 3, "weight_decay": 0.1}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.05, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
]


def _ids(cases):
    return [f"{name}-{i}" for i, (name, _) in enumerate(cases)]


# ---- optimizers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=_ids(OPTIMIZERS))
def test_optimizer_matches_torch_every_step(device, name, kwargs):
    pair = _Pair(device)
    eo = getattr(optim, name)(pair.ep, **kwargs)
    to = getattr(torch.optim, name)(pair.tp, **kwargs)
    for step in range(STEPS):
        eo.step(pair.ember_closure(eo))
        to.step(pair.torch_closure(to))
        pair.assert_close(what=f"{name} step {step + 1}")


@pytest.mark.parametrize("name,kwargs", OPTIMIZERS, ids=_ids(OPTIMIZERS))
def test_optimizer_state_dict_interchanges(device, name, kwargs):
    pair = _Pair(device)
    eo = getattr(optim, name)(pair.ep, **kwargs)
    to = getattr(torch.optim, name)(pair.tp, **kwargs)
    for _ in range(3):
        eo.step(pair.ember_closure(eo))
        to.step(pair.torch_closure(to))
    esd, tsd = eo.state_dict(), to.state_dict()
    assert esd["param_groups"] == tsd["param_groups"]
    assert set(esd["state"]) == set(tsd["state"])
    for idx, tstate in tsd["state"].items():
        assert set(esd["state"][idx]) == set(tstate)
        for key, tval in tstate.items():
            np.testing.assert_allclose(_to_np(esd["state"][idx][key]), _to_np(tval), rtol=2e-4, atol=2e-5,
                                       err_msg=f"state[{idx}][{key!r}]")
            assert str(esd["state"][idx][key].dtype).rsplit(".")[-1] == str(tval.dtype).rsplit(".")[-1]

    # ember -> ember: a fresh optimizer loaded from the state dict continues identically
    clone = _Pair(device)
    for e_src, e_dst in zip(pair.ep, clone.ep):
        e_dst.detach().copy_(e_src.detach())
    eo2 = getattr(optim, name)(clone.ep, **kwargs)
    eo2.load_state_dict(copy.deepcopy(esd))
    # torch -> ember: the same, from PyTorch's state dict and PyTorch's parameters
    from_torch = _Pair(device)
    for t_src, e_dst in zip(pair.tp, from_torch.ep):
        e_dst.detach().copy_(ember.tensor(_to_np(t_src), device=device))
    eo3 = getattr(optim, name)(from_torch.ep, **kwargs)
    eo3.load_state_dict(_ember_from_torch(tsd, device))
    for _ in range(2):
        eo.step(pair.ember_closure(eo))
        to.step(pair.torch_closure(to))
        eo2.step(clone.ember_closure(eo2))
        eo3.step(from_torch.ember_closure(eo3))
    pair.assert_close()
    for other in (clone, from_torch):
        for e, t in zip(other.ep, pair.tp):
            np.testing.assert_allclose(_to_np(e), _to_np(t), rtol=2e-4, atol=2e-5)


BAD_HPARAMS = [
    ("Adadelta", {"lr": -1.0}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"eps": -1.0}),
    ("Adadelta", {"weight_decay": -1.0}),
    ("Adamax", {"lr": -1.0}), ("Adamax", {"eps": -1.0}), ("Adamax", {"betas": (1.0, 0.9)}),
    ("Adamax", {"betas": (0.9, -0.1)}), ("Adamax", {"weight_decay": -1.0}),
    ("NAdam", {"lr": -1.0}), ("NAdam", {"betas": (0.9, 1.0)}), ("NAdam", {"momentum_decay": -1.0}),
    ("NAdam", {"weight_decay": -0.5}), ("NAdam", {"eps": -1e-8}),
    ("RAdam", {"lr": -1.0}), ("RAdam", {"betas": (-0.1, 0.9)}), ("RAdam", {"weight_decay": -1.0}),
    ("ASGD", {"lr": -1.0}), ("ASGD", {"weight_decay": -1.0}),
    ("Rprop", {"lr": -1.0}), ("Rprop", {"etas": (1.0, 1.2)}), ("Rprop", {"etas": (0.5, 1.0)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("SparseAdam", {"lr": 0.0}), ("SparseAdam", {"eps": 0.0}), ("SparseAdam", {"betas": (1.0, 0.9)}),
    ("SparseAdam", {"betas": (0.9, 1.0)}),
    ("LBFGS", {"lr": -1.0}),
]


@pytest.mark.parametrize("name,kwargs", BAD_HPARAMS, ids=[f"{n}-{list(k)[0]}-{i}" for i, (n, k) in
                                                            enumerate(BAD_HPARAMS)])
def test_bad_hyperparameters_raise_like_torch(name, kwargs):
    with pytest.raises(Exception) as texc:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(texc.value)) as eexc:
        getattr(optim, name)([ember.zeros(2, requires_grad=True)], **kwargs)
    assert str(eexc.value) == str(texc.value)


def test_lbfgs_refuses_param_groups():
    groups = lambda mod: [{"params": [mod.zeros(2, requires_grad=True)]},  # noqa: E731
                          {"params": [mod.zeros(2, requires_grad=True)]}]
    with pytest.raises(ValueError) as texc:
        torch.optim.LBFGS(groups(torch))
    with pytest.raises(ValueError, match=re.escape(str(texc.value))):
        optim.LBFGS(groups(ember))


def test_defaults_match_torch():
    for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "SparseAdam", "LBFGS"):
        e = getattr(optim, name)([ember.zeros(2, requires_grad=True)])
        t = getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)])
        assert e.defaults == t.defaults, name


# ---- SparseAdam ----------------------------------------------------------------------------------------
def test_sparse_adam_refuses_dense_gradients_like_torch(device):
    tw = torch.ones(3, requires_grad=True)
    tw.sum().backward()
    topt = torch.optim.SparseAdam([tw])
    with pytest.raises(RuntimeError) as texc:
        topt.step()
    ew = ember.ones(3, device=device, requires_grad=True)
    eopt = optim.SparseAdam([ew])
    eopt.step()  # no gradient yet: nothing to do
    ew.sum().backward()
    with pytest.raises(RuntimeError, match=re.escape(str(texc.value))):
        eopt.step()


# ---- LBFGS ---------------------------------------------------------------------------------------------
def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_rosenbrock_matches_torch(device, line_search_fn):
    lr = 1.0 if line_search_fn else 0.2  # a fixed step needs a smaller lr on Rosenbrock
    ex = ember.tensor([-1.5, 2.0], device=device, requires_grad=True)
    tx = torch.tensor([-1.5, 2.0], requires_grad=True)
    eo = optim.LBFGS([ex], lr=lr, history_size=10, max_iter=20, line_search_fn=line_search_fn)
    to = torch.optim.LBFGS([tx], lr=lr, history_size=10, max_iter=20, line_search_fn=line_search_fn)

    def closure(opt, x):
        def run():
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss
        return run

    for i in range(4):  # the early iterates are compared tightly, before rounding differences grow
        el = eo.step(closure(eo, ex))
        tl = to.step(closure(to, tx))
        if i == 0:
            assert float(el) == pytest.approx(float(tl.detach()), rel=1e-5)
            np.testing.assert_allclose(_to_np(ex), _to_np(tx), rtol=1e-3, atol=1e-4)
    for _ in range(26):
        eo.step(closure(eo, ex))
        to.step(closure(to, tx))
    np.testing.assert_allclose(_to_np(tx), [1.0, 1.0], atol=2e-2)
    np.testing.assert_allclose(_to_np(ex), _to_np(tx), atol=2e-2)
    es, ts = eo.state_dict()["state"][0], to.state_dict()["state"][0]
    assert set(es) == set(ts)
    assert eo.state_dict()["param_groups"] == to.state_dict()["param_groups"]


@pytest.mark.parametrize("kwargs", [{"max_iter": 5}, {"max_iter": 7, "max_eval": 4}, {"max_iter": 6, "history_size": 2},
                                    {"tolerance_grad": 1e-2}, {"tolerance_change": 1e-3}])
@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_options_match_torch(device, kwargs, line_search_fn):
    pair = _Pair(device)
    eo = optim.LBFGS(pair.ep, line_search_fn=line_search_fn, **kwargs)
    to = torch.optim.LBFGS(pair.tp, line_search_fn=line_search_fn, **kwargs)
    for step in range(2):
        eo.step(pair.ember_closure(eo))
        to.step(pair.torch_closure(to))
        pair.assert_close(rtol=2e-3, atol=2e-4, what=f"step {step + 1}")
        es, ts = eo.state[pair.ep[0]], to.state[pair.tp[0]]
        assert set(es) == set(ts)
        if "max_iter" in kwargs and step == 0:
            # iteration budgets end the first step at the same point; near convergence float32
            # rounding may end a step one iteration apart (then only the parameters are compared)
            assert (es["func_evals"], es["n_iter"]) == (ts["func_evals"], ts["n_iter"])
            assert len(es["old_dirs"]) == len(ts["old_dirs"])


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_interchanges(device, line_search_fn):
    pair = _Pair(device)
    kwargs = {"max_iter": 3, "history_size": 4, "line_search_fn": line_search_fn}
    eo, to = optim.LBFGS(pair.ep, **kwargs), torch.optim.LBFGS(pair.tp, **kwargs)
    for _ in range(2):
        eo.step(pair.ember_closure(eo))
        to.step(pair.torch_closure(to))
    esd, tsd = eo.state_dict(), to.state_dict()
    assert set(esd["state"][0]) == set(tsd["state"][0])
    assert esd["param_groups"] == tsd["param_groups"]
    clone, from_torch = _Pair(device), _Pair(device)
    for e_src, t_src, e_dst, e_dst2 in zip(pair.ep, pair.tp, clone.ep, from_torch.ep):
        e_dst.detach().copy_(e_src.detach())
        e_dst2.detach().copy_(ember.tensor(_to_np(t_src), device=device))
    eo2, eo3 = optim.LBFGS(clone.ep, **kwargs), optim.LBFGS(from_torch.ep, **kwargs)
    eo2.load_state_dict(copy.deepcopy(esd))
    eo3.load_state_dict(_ember_from_torch(tsd, device))
    eo.step(pair.ember_closure(eo))
    to.step(pair.torch_closure(to))
    eo2.step(clone.ember_closure(eo2))
    eo3.step(from_torch.ember_closure(eo3))
    pair.assert_close(rtol=2e-3, atol=2e-4)
    for other in (clone, from_torch):
        for e, t in zip(other.ep, pair.tp):
            np.testing.assert_allclose(_to_np(e), _to_np(t), rtol=2e-3, atol=2e-4)


def test_lbfgs_needs_closure():
    w = ember.zeros(2, requires_grad=True)
    with pytest.raises(TypeError):
        optim.LBFGS([w]).step()


# ---- schedulers ----------------------------------------------------------------------------------------
def _sched_pair(make, opt_name="SGD", opt_kwargs=None):
    opt_kwargs = {"lr": 0.1, "momentum": 0.9} if opt_kwargs is None else opt_kwargs
    groups = lambda mod: [{"params": [mod.zeros(2, requires_grad=True)]},  # noqa: E731
                          {"params": [mod.zeros(2, requires_grad=True)], "lr": 0.5}]
    eo = getattr(optim, opt_name)(groups(ember), **opt_kwargs)
    to = getattr(torch.optim, opt_name)(groups(torch), **opt_kwargs)
    return eo, to, make(optim.lr_scheduler, eo), make(torch.optim.lr_scheduler, to)


def _state_keys(sched) -> set:
    # PyTorch-internal flags of its get_lr warning machinery; not part of the schedule
    return set(sched.state_dict()) - {"_get_lr_called_within_step", "_is_initial"}


SCHEDULERS = {
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=10),
    "LinearLR-default": lambda m, o: m.LinearLR(o),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=7),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lr_lambda=lambda e: 0.95 if e % 3 else 1.01),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0),
    "PolynomialLR-linear": lambda m, o: m.PolynomialLR(o, total_iters=8),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingLR(o, T_max=6)], milestones=[5, 15]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.5, total_iters=4), m.ExponentialLR(o, gamma=0.9), m.StepLR(o, 7, 0.5)]),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2], step_size_up=4, step_size_down=6),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=3, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, mode="exp_range", gamma=0.97,
                                                  base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, scale_fn=lambda x: 0.9 ** x,
                                                 scale_mode="iterations", cycle_momentum=False),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=5, eta_min=0.001),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_lrs_match_torch(name):
    eo, to, es, ts = _sched_pair(SCHEDULERS[name])
    assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    for epoch in range(30):
        eo.step()
        to.step()
        es.step()
        ts.step()
        assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12), f"epoch {epoch}"
        for eg, tg in zip(eo.param_groups, to.param_groups):
            assert eg["lr"] == pytest.approx(tg["lr"], rel=1e-12)
            assert eg["momentum"] == pytest.approx(tg["momentum"], rel=1e-12)
    assert _state_keys(es) == _state_keys(ts)


def test_cyclic_lr_cycles_adam_beta1():
    make = lambda m, o: m.CyclicLR(o, 0.001, 0.01, step_size_up=3)  # noqa: E731
    eo, to, es, ts = _sched_pair(make, "Adam", {"lr": 0.1})
    for _ in range(10):
        eo.step()
        to.step()
        es.step()
        ts.step()
        assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
        for eg, tg in zip(eo.param_groups, to.param_groups):
            assert eg["betas"] == pytest.approx(tg["betas"], rel=1e-12)


@pytest.mark.parametrize("T_mult", [1, 2])
def test_cosine_warm_restarts_fractional_epochs(T_mult):
    make = lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=T_mult, eta_min=0.01)  # noqa: E731
    eo, to, es, ts = _sched_pair(make)
    iters = 5
    for epoch in range(12):
        for i in range(iters):
            eo.step()
            to.step()
            es.step(epoch + i / iters)
            ts.step(epoch + i / iters)
            assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
            assert (es.T_cur, es.T_i, es.last_epoch) == pytest.approx((ts.T_cur, ts.T_i, ts.last_epoch))
    with pytest.raises(ValueError) as texc:
        ts.step(-1)
    with pytest.raises(ValueError, match=re.escape(str(texc.value))):
        es.step(-1)


@pytest.mark.parametrize("name", ["LinearLR", "ConstantLR", "PolynomialLR"])
def test_scheduler_closed_form_step_epoch(name):
    import warnings

    eo, to, es, ts = _sched_pair(SCHEDULERS[name])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (3, 1, 9, 25, 0):
            es.step(epoch)
            ts.step(epoch)
            assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)


@pytest.mark.parametrize("name", ["SequentialLR", "ChainedScheduler"])
def test_composite_scheduler_state_dict_round_trip(name):
    make = SCHEDULERS[name]
    eo, _, es, _ = _sched_pair(make)
    for _ in range(7):
        eo.step()
        es.step()
    saved = es.state_dict()
    assert isinstance(saved["_schedulers"], list) and isinstance(saved["_schedulers"][0], dict)
    eo2, _, es2, _ = _sched_pair(make)
    es2.load_state_dict(saved)
    for g2, g in zip(eo2.param_groups, eo.param_groups):
        g2["lr"] = g["lr"]
    for _ in range(10):
        eo.step()
        eo2.step()
        es.step()
        es2.step()
        assert es2.get_last_lr() == es.get_last_lr()


SCHED_ERRORS = [
    lambda m, o: m.LinearLR(o, start_factor=0.0),
    lambda m, o: m.LinearLR(o, end_factor=1.5),
    lambda m, o: m.ConstantLR(o, factor=1.5),
    lambda m, o: m.MultiplicativeLR(o, lr_lambda=[lambda e: 1.0]),
    lambda m, o: m.MultiplicativeLR(o, lr_lambda=0.5),
    lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, 0.9)], milestones=[3]),
    lambda m, o: m.SequentialLR(o, [], milestones=[]),
    lambda m, o: m.ChainedScheduler([]),
    lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="bogus"),
    lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3]),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
    lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="x"),
]


@pytest.mark.parametrize("idx", range(len(SCHED_ERRORS)))
def test_scheduler_errors_match_torch(idx):
    make = SCHED_ERRORS[idx]
    with pytest.raises(Exception) as texc:
        _sched_pair(lambda m, o: make(m, o) if m is torch.optim.lr_scheduler else None)
    with pytest.raises(type(texc.value)) as eexc:
        _sched_pair(lambda m, o: make(m, o) if m is optim.lr_scheduler else None)
    assert str(eexc.value) == str(texc.value)


def test_cyclic_lr_needs_momentum():
    make = lambda m, o: m.CyclicLR(o, 0.01, 0.1)  # noqa: E731
    with pytest.raises(ValueError) as texc:
        _sched_pair(lambda m, o: make(m, o) if m is torch.optim.lr_scheduler else None, "Adagrad", {})
    with pytest.raises(ValueError, match=re.escape(str(texc.value))):
        _sched_pair(lambda m, o: make(m, o) if m is optim.lr_scheduler else None, "Adagrad", {})


def test_lr_scheduler_exports_match_torch():
    missing = [n for n in torch.optim.lr_scheduler.__all__ if not hasattr(optim.lr_scheduler, n)]
    assert missing == []
    for name in ("Adadelta", "NAdam", "RAdam", "Adamax", "ASGD", "Rprop", "LBFGS", "SparseAdam", "swa_utils"):
        assert name in optim.__all__ and hasattr(optim, name)
    assert set(optim.swa_utils.__all__) == set(torch.optim.swa_utils.__all__)


# ---- swa_utils ----------------------------------------------------------------------------------------
def _models(device):
    """The same Linear -> BatchNorm1d -> Linear model in ember (on ``device``) and PyTorch."""
    ember.manual_seed(0)
    em = ember.nn.Sequential(ember.nn.Linear(4, 6), ember.nn.BatchNorm1d(6), ember.nn.ReLU(), ember.nn.Linear(6, 2))
    tm = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 2))
    tm.load_state_dict({k: torch.tensor(_to_np(v)) for k, v in em.state_dict().items()})
    return em.to(device), tm


def _batches(n=6):
    rng = np.random.default_rng(3)
    return [(rng.standard_normal((8, 4)).astype(np.float32), rng.standard_normal((8, 2)).astype(np.float32))
            for _ in range(n)]


def _train_and_average(device, **avg_kwargs):
    em, tm = _models(device)
    e_avg_kwargs = {k: v[0] for k, v in avg_kwargs.items()}
    t_avg_kwargs = {k: v[1] for k, v in avg_kwargs.items()}
    eswa = optim.swa_utils.AveragedModel(em, **e_avg_kwargs)
    tswa = torch.optim.swa_utils.AveragedModel(tm, **t_avg_kwargs)
    eo = optim.SGD(em.parameters(), lr=0.1)
    to = torch.optim.SGD(tm.parameters(), lr=0.1)
    for x, y in _batches():
        for model, opt, mod, dev in ((em, eo, ember, device), (tm, to, torch, "cpu")):
            opt.zero_grad()
            loss = ((model(mod.tensor(x, device=dev)) - mod.tensor(y, device=dev)) ** 2).mean()
            loss.backward()
            opt.step()
        eswa.update_parameters(em)
        tswa.update_parameters(tm)
    return eswa, tswa


def _assert_state_dicts_close(esd, tsd):
    assert list(esd) == list(tsd)
    for k, tv in tsd.items():
        np.testing.assert_allclose(_to_np(esd[k]), _to_np(tv), rtol=1e-4, atol=1e-5, err_msg=k)


@pytest.mark.parametrize("kind", ["swa", "ema_multi", "ema_avg", "swa_multi", "use_buffers"])
def test_averaged_model_matches_torch(device, kind):
    e, t = optim.swa_utils, torch.optim.swa_utils
    kwargs = {
        "swa": {},
        "ema_multi": {"multi_avg_fn": (e.get_ema_multi_avg_fn(0.9), t.get_ema_multi_avg_fn(0.9))},
        "ema_avg": {"avg_fn": (e.get_ema_avg_fn(0.8), t.get_ema_avg_fn(0.8))},
        "swa_multi": {"multi_avg_fn": (e.get_swa_multi_avg_fn(), t.get_swa_multi_avg_fn())},
        "use_buffers": {"use_buffers": (True, True),
                        "multi_avg_fn": (e.get_ema_multi_avg_fn(0.9), t.get_ema_multi_avg_fn(0.9))},
    }[kind]
    eswa, tswa = _train_and_average(device, **kwargs)
    _assert_state_dicts_close(eswa.state_dict(), tswa.state_dict())
    x = _batches(1)[0][0]
    eswa.eval()
    tswa.eval()
    np.testing.assert_allclose(_to_np(eswa(ember.tensor(x, device=device))), _to_np(tswa(torch.tensor(x))),
                               rtol=1e-4, atol=1e-5)


def test_update_bn_matches_torch(device):
    eswa, tswa = _train_and_average(device)
    loader_e = [(ember.tensor(x, device=device), ember.tensor(y, device=device)) for x, y in _batches(4)]
    loader_t = [(torch.tensor(x), torch.tensor(y)) for x, y in _batches(4)]
    eswa.eval()
    tswa.eval()
    optim.swa_utils.update_bn(loader_e, eswa)
    torch.optim.swa_utils.update_bn(loader_t, tswa)
    assert eswa.training is tswa.training is False
    _assert_state_dicts_close(eswa.state_dict(), tswa.state_dict())
    bn = eswa.module[1]
    assert bn.momentum == tswa.module[1].momentum


def test_averaged_model_argument_errors_and_decay_checks():
    m = ember.nn.Linear(2, 2)
    fn = optim.swa_utils.get_ema_avg_fn()
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn should be provided"):
        optim.swa_utils.AveragedModel(m, avg_fn=fn, multi_avg_fn=optim.swa_utils.get_ema_multi_avg_fn())
    for factory in ("get_ema_avg_fn", "get_ema_multi_avg_fn"):
        with pytest.raises(ValueError) as texc:
            getattr(torch.optim.swa_utils, factory)(1.5)
        with pytest.raises(ValueError, match=re.escape(str(texc.value))):
            getattr(optim.swa_utils, factory)(1.5)


@pytest.mark.parametrize("anneal_strategy,anneal_epochs", [("cos", 5), ("linear", 3), ("cos", 0)])
def test_swalr_matches_torch(anneal_strategy, anneal_epochs):
    def make(m, o):
        swa = optim.swa_utils if m is optim.lr_scheduler else torch.optim.swa_utils
        return swa.SWALR(o, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs, anneal_strategy=anneal_strategy)

    eo, to, es, ts = _sched_pair(make)
    assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    for _ in range(12):
        eo.step()
        to.step()
        es.step()
        ts.step()
        assert es.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-12)
    assert _state_keys(es) == _state_keys(ts)
    with pytest.raises(ValueError) as texc:
        torch.optim.swa_utils.SWALR(to, swa_lr=0.1, anneal_strategy="bogus")
    with pytest.raises(ValueError, match=re.escape(str(texc.value))):
        optim.swa_utils.SWALR(eo, swa_lr=0.1, anneal_strategy="bogus")


def test_swa_loop_end_to_end_math():
    """SWA's default average is the plain mean of the models seen (checked against NumPy)."""
    w = ember.zeros(3, requires_grad=True)
    holder = ember.nn.Module()
    holder.w = ember.nn.Parameter(w.detach())
    swa = optim.swa_utils.AveragedModel(holder)
    seen = []
    for k in range(5):
        with ember.no_grad():
            holder.w.copy_(ember.tensor([k, 2.0 * k, math.sin(k)]))
        seen.append(_to_np(holder.w).copy())
        swa.update_parameters(holder)
    np.testing.assert_allclose(_to_np(swa.module.w), np.mean(seen, axis=0), rtol=1e-6, atol=1e-6)
