"""``ember._foreach_*`` against ``torch._foreach_*``: every name PyTorch has, values, the in-place
forms' identity and aliasing, operand forms (number, list of numbers, tensors, one tensor), errors."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

NAMES = sorted(n for n in dir(torch) if n.startswith("_foreach_"))
SHAPES = [(3,), (2, 2), ()]


def _lists(device, positive=False, seed=0):
    rng = np.random.default_rng(seed)
    arrs = [rng.uniform(0.2, 0.9, s) if positive else rng.uniform(-0.9, 0.9, s) for s in SHAPES]
    arrs = [a.astype(np.float32) for a in arrs]
    return [torch.from_numpy(a.copy()) for a in arrs], [ember.tensor(a, device=device) for a in arrs]


def _check(theirs, ours):
    assert type(ours) is type(theirs) and len(ours) == len(theirs)
    for t, e in zip(theirs, ours):
        assert tuple(e.shape) == tuple(t.shape)
        np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_every_torch_foreach_name_exists():
    assert [n for n in NAMES if not hasattr(ember, n)] == []


_UNARY = [n for n in NAMES if n.endswith("_") is False and f"{n}_" in NAMES and n[9:] not in
          ("add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow", "addcmul", "addcdiv",
           "lerp")]


@pytest.mark.parametrize("name", _UNARY)
def test_unary_forms(name, device):
    positive = name[9:] in ("log", "log10", "log2", "log1p", "sqrt", "rsqrt", "acos", "asin", "lgamma", "reciprocal")
    tl, el = _lists(device, positive)
    _check(getattr(torch, name)(tl), getattr(ember, name)(el))
    ret_t, ret_e = getattr(torch, name + "_")(tl), getattr(ember, name + "_")(el)
    assert ret_e is el and ret_t is tl
    _check(tl, el)


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "maximum", "minimum", "clamp_min", "clamp_max", "pow"])
@pytest.mark.parametrize("form", ["number", "numbers", "tensors", "tensor"])
def test_binary_forms(op, form, device):
    tl, el = _lists(device, positive=True)
    to, eo = _lists(device, positive=True, seed=1)
    other = {"number": (0.5, 0.5), "numbers": ([0.5, 2.0, 1.5],) * 2, "tensors": (to, eo),
             "tensor": (torch.tensor(0.75), ember.tensor(0.75, device=device))}[form]
    try:
        theirs = getattr(torch, f"_foreach_{op}")(tl, other[0])
    except (RuntimeError, TypeError) as exc:
        with pytest.raises(type(exc)):
            getattr(ember, f"_foreach_{op}")(el, other[1])
        return
    _check(theirs, getattr(ember, f"_foreach_{op}")(el, other[1]))
    getattr(torch, f"_foreach_{op}_")(tl, other[0])
    assert getattr(ember, f"_foreach_{op}_")(el, other[1]) is el
    _check(tl, el)


def test_alpha_lerp_addcmul_addcdiv_norm_and_friends(device):
    tl, el = _lists(device, positive=True)
    t2, e2 = _lists(device, positive=True, seed=1)
    t3, e3 = _lists(device, positive=True, seed=2)
    _check(torch._foreach_add(tl, t2, alpha=-3), ember._foreach_add(el, e2, alpha=-3))
    _check(torch._foreach_sub(tl, t2, alpha=2), ember._foreach_sub(el, e2, alpha=2))
    _check(torch._foreach_lerp(tl, t2, 0.3), ember._foreach_lerp(el, e2, 0.3))
    _check(torch._foreach_lerp(tl, t2, [0.1, 0.5, 0.9]), ember._foreach_lerp(el, e2, [0.1, 0.5, 0.9]))
    for op in ("addcmul", "addcdiv"):
        for value in (1, -0.5, [1.0, 2.0, 3.0]):
            _check(getattr(torch, f"_foreach_{op}")(tl, t2, t3, value), getattr(ember, f"_foreach_{op}")(el, e2, e3, value))
        _check(getattr(torch, f"_foreach_{op}")(tl, t2, t3, torch.tensor([1.0, 2.0, 3.0])),
               getattr(ember, f"_foreach_{op}")(el, e2, e3, ember.tensor([1.0, 2.0, 3.0])))
    for ord in (2, 1, float("inf")):
        _check(torch._foreach_norm(tl, ord), ember._foreach_norm(el, ord))
    _check(torch._foreach_powsum(tl, 3), ember._foreach_powsum(el, 3))
    _check(torch._foreach_max(tl), ember._foreach_max(el))
    _check(torch._foreach_pow(2.0, tl), ember._foreach_pow(2.0, el))
    _check(torch._foreach_clone(tl), ember._foreach_clone(el))
    _check(torch._foreach_mm([torch.ones(2, 3)], [torch.ones(3, 2)]),
           ember._foreach_mm([ember.ones(2, 3, device=device)], [ember.ones(3, 2, device=device)]))
    assert ember._foreach_copy_(el, e2) is el
    torch._foreach_copy_(tl, t2)
    _check(tl, el)
    assert ember._foreach_zero_(el) is el and all(float(t.abs().sum()) == 0 for t in el)


def test_an_ema_update_as_timm_writes_it(device):
    """ModelEmaV3-style: ``_foreach_lerp_(ema_params, model_params, 1 - decay)``."""
    tl, el = _lists(device)
    t2, e2 = _lists(device, seed=3)
    for _ in range(3):
        torch._foreach_lerp_(tl, t2, 1 - 0.9)
        ember._foreach_lerp_(el, e2, 1 - 0.9)
    _check(tl, el)


def test_errors_match_torch():
    for call in (lambda lib: lib._foreach_add([lib.ones(2)], [1.0, 2.0]),
                 lambda lib: lib._foreach_add([], 1.0),
                 lambda lib: lib._foreach_mul_([lib.ones(2, requires_grad=True)], 2.0)):
        with pytest.raises(Exception) as theirs:
            call(torch)
        with pytest.raises(Exception) as ours:
            call(ember)
        assert type(ours.value) is type(theirs.value)


def test_out_of_place_forms_are_differentiable():
    x = ember.ones(2, requires_grad=True)
    tx = torch.ones(2, requires_grad=True)
    ember._foreach_mul([x], 3.0)[0].sum().backward()
    torch._foreach_mul([tx], 3.0)[0].sum().backward()
    assert x.grad.tolist() == tx.grad.tolist()
