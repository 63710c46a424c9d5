"""LR schedulers against closed forms and values recorded from PyTorch 2.13."""

from __future__ import annotations

import math
import warnings

import ember
import pytest
from ember import optim
from ember.optim import lr_scheduler as sch


def _opt(lr=1.0, cls=optim.SGD, **kw):
    return cls([ember.zeros(1, requires_grad=True)], lr=lr, **kw)


def _run(opt, sched, n, metric=None):
    """The lr used by each of n optimizer steps (scheduler stepped after each)."""
    lrs = []
    for _ in range(n):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_step_lr_closed_form():
    opt = _opt(0.5)
    s = sch.StepLR(opt, step_size=3, gamma=0.1)
    assert _run(opt, s, 10) == pytest.approx([0.5 * 0.1 ** (e // 3) for e in range(10)])
    assert s.get_last_lr() == pytest.approx([0.5 * 0.1 ** (10 // 3)])


def test_multistep_exponential_lambda():
    opt = _opt(1.0)
    s = sch.MultiStepLR(opt, milestones=[2, 5, 5], gamma=0.5)
    expected = [0.5 ** (int(e >= 2) + 2 * int(e >= 5)) for e in range(8)]
    assert _run(opt, s, 8) == pytest.approx(expected)

    opt = _opt(2.0)
    s = sch.ExponentialLR(opt, gamma=0.9)
    assert _run(opt, s, 6) == pytest.approx([2.0 * 0.9 ** e for e in range(6)])

    opt = _opt(0.1)
    s = sch.LambdaLR(opt, lambda e: 1.0 / (e + 1))
    assert _run(opt, s, 5) == pytest.approx([0.1 / (e + 1) for e in range(5)])


def test_cosine_annealing_closed_form_and_torch_values():
    t_max, eta_min = 10, 0.01
    opt = _opt(0.5)
    s = sch.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)
    got = _run(opt, s, 2 * t_max + 1)
    closed = [eta_min + (0.5 - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2 for e in range(2 * t_max + 1)]
    assert got == pytest.approx(closed, rel=1e-9, abs=1e-12)
    # Recorded from torch 2.13 (T_max=4, eta_min=0.1, lr=1): the recursive form past T_max.
    opt = _opt(1.0)
    s = sch.CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    torch_values = [1.0, 0.8681980515339464, 0.55, 0.23180194846605368, 0.1, 0.2318019484660536, 0.55,
                    0.8681980515339467, 1.0000000000000004, 0.8681980515339468, 0.5500000000000004,
                    0.2318019484660541]
    assert _run(opt, s, 12) == pytest.approx(torch_values, rel=1e-12)


def test_one_cycle_torch_values():
    opt = _opt(0.1, momentum=0.9)
    s = sch.OneCycleLR(opt, max_lr=1.0, total_steps=10)
    got = []
    for i in range(10):
        got.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
        opt.step()
        if i < 9:
            s.step()
    expected = [(0.040000000000000036, 0.95), (0.52, 0.8999999999999999), (1.0, 0.85),
                (0.9504846320134737, 0.854951556604879), (0.8117456539497631, 0.8688255099070633),
                (0.6112620219362893, 0.8888739533021842), (0.38874197806371075, 0.9111260466978157),
                (0.18825834605023697, 0.9311744900929366), (0.049519367986526286, 0.945048443395121),
                (4e-06, 0.95)]
    for (lr, m), (elr, em) in zip(got, expected):
        assert lr == pytest.approx(elr, rel=1e-12) and m == pytest.approx(em, rel=1e-12)
    with pytest.raises(ValueError, match="Tried to step 11 times"):
        s.step()
        s.step()


def test_one_cycle_three_phase_linear_adam_betas():
    opt = _opt(0.1, cls=optim.Adam)
    s = sch.OneCycleLR(opt, max_lr=0.5, epochs=2, steps_per_epoch=4, anneal_strategy="linear", three_phase=True,
                       pct_start=0.25)
    expected = [(0.02, 0.95), (0.5, 0.85), (0.020000000000000018, 0.95), (0.016000399999999998, 0.95),
                (0.012000799999999999, 0.95), (0.0080012, 0.95), (0.0040015999999999975, 0.95),
                (1.9999999999985307e-06, 0.95)]
    for i, (elr, eb1) in enumerate(expected):
        assert opt.param_groups[0]["lr"] == pytest.approx(elr, rel=1e-9)
        assert opt.param_groups[0]["betas"] == pytest.approx((eb1, 0.999))
        opt.step()
        if i < 7:
            s.step()


def test_one_cycle_errors():
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        sch.OneCycleLR(_opt(), max_lr=1.0)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):
        sch.OneCycleLR(_opt(cls=optim.Adagrad), max_lr=1.0, total_steps=5)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        sch.OneCycleLR(_opt(), max_lr=1.0, total_steps=5, anneal_strategy="exp")


def test_reduce_on_plateau_torch_values():
    opt = _opt(1.0)
    s = sch.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    got = []
    for m in [5, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3]:
        opt.step()
        s.step(m)
        got.append(opt.param_groups[0]["lr"])
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert s.get_last_lr() == [0.25]
    s.step(ember.tensor(100.0))  # a one-element tensor works as the metric
    with pytest.raises(ValueError, match="Factor should be < 1.0."):
        sch.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode sideways is unknown!"):
        sch.ReduceLROnPlateau(opt, mode="sideways")


def test_reduce_on_plateau_max_mode_abs_threshold():
    opt = _opt(1.0)
    s = sch.ReduceLROnPlateau(opt, mode="max", threshold=0.5, threshold_mode="abs", patience=0)
    s.step(1.0)  # best = 1.0
    s.step(1.4)  # not better by 0.5 -> reduce
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
    s.step(2.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


def test_state_dict_round_trip_and_resume():
    opt = _opt(1.0)
    s = sch.StepLR(opt, step_size=2, gamma=0.5)
    _run(opt, s, 3)
    state = s.state_dict()
    assert "optimizer" not in state and state["last_epoch"] == 3
    opt2 = _opt(1.0)
    s2 = sch.StepLR(opt2, step_size=2, gamma=0.5)
    s2.load_state_dict(state)
    opt2.param_groups[0]["lr"] = opt.param_groups[0]["lr"]
    assert _run(opt2, s2, 3) == _run(opt, s, 3)

    with pytest.raises(KeyError, match="param 'initial_lr' is not specified"):
        sch.StepLR(_opt(), step_size=1, last_epoch=4)


def test_warns_when_scheduler_steps_before_optimizer():
    opt = _opt(1.0)
    s = sch.StepLR(opt, step_size=1)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"):
        s.step()
    opt = _opt(1.0)
    s = sch.StepLR(opt, step_size=1)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s.step()


def test_multiple_groups_and_chaining():
    a, b = ember.zeros(1, requires_grad=True), ember.zeros(1, requires_grad=True)
    opt = optim.SGD([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 0.1}], lr=0.5)
    s1 = sch.ExponentialLR(opt, gamma=0.5)
    s2 = sch.MultiStepLR(opt, milestones=[2], gamma=0.1)
    for _ in range(3):
        opt.step()
        s1.step()
        s2.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.5 ** 3 * 0.1, 0.1 * 0.5 ** 3 * 0.1])
    with pytest.raises(ValueError, match="Expected 2 lr_lambdas, but got 1"):
        sch.LambdaLR(opt, [lambda e: 1.0])
