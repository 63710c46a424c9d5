"""``ember.nn.utils.prune`` against ``torch.nn.utils.prune``: masks of the deterministic methods
(l1, ln, custom, global, iterative combinations), amounts of the random ones, the
``<name>_orig``/``<name>_mask`` re-parametrisation (hooks, state_dict, gradients, remove) and the
errors, on every device."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember import nn as enn
from ember.nn.utils import prune as eprune

torch = pytest.importorskip("torch")
from torch import nn as tnn  # noqa: E402
from torch.nn.utils import prune as tprune  # noqa: E402


def _distinct(shape: tuple, seed: int = 0) -> np.ndarray:
    """Values of distinct magnitudes (no ties for topk), random order and signs."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    mags = rng.permutation(np.arange(1, n + 1)) / n
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape).astype(np.float32)


def _pair(kind: str, device: str, seed: int = 0) -> tuple:
    """The same layer in both frameworks, with distinct-magnitude weights."""
    if kind == "linear":
        t, e = tnn.Linear(6, 5), enn.Linear(6, 5)
    else:
        t, e = tnn.Conv2d(3, 4, 2), enn.Conv2d(3, 4, 2)
    e = e.to(device)
    for i, name in enumerate(("weight", "bias")):
        values = _distinct(tuple(getattr(t, name).shape), seed + i)
        with torch.no_grad():
            getattr(t, name).copy_(torch.from_numpy(values))
        with ember.no_grad():
            getattr(e, name).copy_(ember.tensor(values, device=device))
    return t, e


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x.detach().cpu().numpy()


def _same_mask(t_mod, e_mod, name: str = "weight") -> None:
    tm, em = getattr(t_mod, name + "_mask"), getattr(e_mod, name + "_mask")
    assert str(em.dtype).split(".")[-1] == str(tm.dtype).split(".")[-1]
    np.testing.assert_array_equal(_np(em), _np(tm))
    np.testing.assert_allclose(_np(getattr(e_mod, name)), _np(getattr(t_mod, name)), rtol=1e-6)


# ---- deterministic methods: the same masks ------------------------------------------------------
@pytest.mark.parametrize("amount", [0, 1, 7, 0.0, 0.3, 0.5, 1.0, 30])
@pytest.mark.parametrize("kind", ["linear", "conv"])
def test_l1_unstructured_mask(device, kind, amount) -> None:
    t, e = _pair(kind, device)
    tprune.l1_unstructured(t, "weight", amount=amount)
    eprune.l1_unstructured(e, "weight", amount=amount)
    _same_mask(t, e)


@pytest.mark.parametrize("n", [1, 2, 3, math.inf, -math.inf])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("amount", [1, 0.5, 0])
def test_ln_structured_mask(device, n, dim, amount) -> None:
    t, e = _pair("conv", device)
    tprune.ln_structured(t, "weight", amount=amount, n=n, dim=dim)
    eprune.ln_structured(e, "weight", amount=amount, n=n, dim=dim)
    _same_mask(t, e)


def test_importance_scores(device) -> None:
    t, e = _pair("linear", device)
    scores = _distinct((5, 6), seed=7)
    tprune.l1_unstructured(t, "weight", amount=0.4, importance_scores=torch.from_numpy(scores))
    eprune.l1_unstructured(e, "weight", amount=0.4, importance_scores=ember.tensor(scores, device=device))
    _same_mask(t, e)
    sc = _distinct((5, 6), seed=8)
    tprune.ln_structured(t, "weight", amount=2, n=1, dim=0, importance_scores=torch.from_numpy(sc))
    eprune.ln_structured(e, "weight", amount=2, n=1, dim=0, importance_scores=ember.tensor(sc, device=device))
    _same_mask(t, e)


def test_iterative_pruning_combines_masks(device) -> None:
    t, e = _pair("conv", device)
    steps = [("l1_unstructured", {"amount": 0.2}), ("ln_structured", {"amount": 1, "n": 2, "dim": 0}),
             ("l1_unstructured", {"amount": 5}), ("ln_structured", {"amount": 0.5, "n": 1, "dim": 1}),
             ("identity", {})]
    for fn, kw in steps:
        getattr(tprune, fn)(t, "weight", **kw)
        getattr(eprune, fn)(e, "weight", **kw)
        _same_mask(t, e)
    (hook,) = [h for h in e._forward_pre_hooks.values()]
    assert isinstance(hook, eprune.PruningContainer) and len(hook) == len(steps)
    assert [type(m).__name__ for m in hook] == [type(m).__name__ for m in list(t._forward_pre_hooks.values())[0]]
    assert isinstance(hook[0], eprune.L1Unstructured)


def test_custom_from_mask_and_identity(device) -> None:
    t, e = _pair("linear", device)
    mask = (np.arange(5) % 2).astype(np.float32)
    tprune.custom_from_mask(t, "bias", torch.from_numpy(mask))
    eprune.custom_from_mask(e, "bias", ember.tensor(mask, device=device))
    _same_mask(t, e, "bias")
    tprune.l1_unstructured(t, "bias", amount=1)
    eprune.l1_unstructured(e, "bias", amount=1)
    _same_mask(t, e, "bias")
    tprune.identity(t, "weight")
    eprune.identity(e, "weight")
    _same_mask(t, e)


@pytest.mark.parametrize("amount", [0.2, 13, 0.75])
def test_global_unstructured(device, amount) -> None:
    (t1, e1), (t2, e2) = _pair("linear", device, 0), _pair("conv", device, 5)
    tprune.l1_unstructured(t1, "weight", amount=3)  # global pruning starts from the existing masks
    eprune.l1_unstructured(e1, "weight", amount=3)
    scores = _distinct((4,), seed=9)
    tprune.global_unstructured([(t1, "weight"), (t2, "weight"), (t2, "bias")], tprune.L1Unstructured,
                               importance_scores={(t2, "bias"): torch.from_numpy(scores)}, amount=amount)
    eprune.global_unstructured(((m, n) for m, n in [(e1, "weight"), (e2, "weight"), (e2, "bias")]),
                               eprune.L1Unstructured, importance_scores={(e2, "bias"): ember.tensor(scores, device=device)},
                               amount=amount)
    _same_mask(t1, e1)
    _same_mask(t2, e2)
    _same_mask(t2, e2, "bias")


def test_prune_method_on_a_tensor(device) -> None:
    x = _distinct((4, 3))
    tm, em = tprune.L1Unstructured(amount=0.5), eprune.L1Unstructured(amount=0.5)
    np.testing.assert_array_equal(_np(em.prune(ember.tensor(x, device=device))), _np(tm.prune(torch.from_numpy(x))))
    s = _distinct((4, 3), seed=3)
    tl, el = tprune.LnStructured(1, n=2, dim=0), eprune.LnStructured(1, n=2, dim=0)
    np.testing.assert_array_equal(
        _np(el.prune(ember.tensor(x, device=device), importance_scores=ember.tensor(s, device=device))),
        _np(tl.prune(torch.from_numpy(x), importance_scores=torch.from_numpy(s))))


def test_ties_prune_the_right_count(device) -> None:
    """All-equal magnitudes: which entries go may differ from PyTorch (topk's tie order), how many may not."""
    e = enn.Linear(4, 4).to(device)
    with ember.no_grad():
        e.weight.fill_(0.5)
    eprune.l1_unstructured(e, "weight", amount=6)
    assert int((e.weight_mask == 0).sum()) == 6


# ---- random methods: the amounts ------------------------------------------------------------------
@pytest.mark.parametrize("amount", [0, 3, 0.3, 1.0])
def test_random_unstructured_amount(device, amount) -> None:
    t, e = _pair("conv", device)
    tprune.random_unstructured(t, "weight", amount=amount)
    eprune.random_unstructured(e, "weight", amount=amount)
    assert int((e.weight_mask == 0).sum()) == int((t.weight_mask == 0).sum())
    assert e.weight_mask.dtype == ember.float32


@pytest.mark.parametrize(("amount", "dim"), [(1, 0), (0.5, 1), (2, -1), (0, 0)])
def test_random_structured_amount(device, amount, dim) -> None:
    t, e = _pair("conv", device)
    tprune.random_structured(t, "weight", amount=amount, dim=dim)
    eprune.random_structured(e, "weight", amount=amount, dim=dim)
    other = tuple(d for d in range(4) if d != dim % 4)
    t_dead = int((t.weight_mask.sum(dim=other) == 0).sum())
    e_dead = int((e.weight_mask.sum(dim=other) == 0).sum())
    assert e_dead == t_dead
    assert int((e.weight_mask == 0).sum()) == int((t.weight_mask == 0).sum())


def test_random_then_structured_keeps_earlier_mask(device) -> None:
    e = _pair("conv", device)[1]
    eprune.random_unstructured(e, "weight", amount=10)
    before = _np(e.weight_mask).copy()
    eprune.random_structured(e, "weight", amount=1, dim=0)
    after = _np(e.weight_mask)
    assert (after <= before).all()
    assert ((after.reshape(4, -1) == 0).all(1)).sum() >= 1
    eprune.random_unstructured(e, "weight", amount=4)  # 4 more among the still unpruned entries
    assert (_np(e.weight_mask) == 0).sum() == (after == 0).sum() + 4


# ---- the re-parametrisation ---------------------------------------------------------------------
def test_parameters_buffers_hooks_state_dict(device) -> None:
    t, e = _pair("conv", device)
    for mod, pr in ((t, tprune), (e, eprune)):
        pr.l1_unstructured(mod, "weight", amount=0.5)
        pr.l1_unstructured(mod, "bias", amount=2)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert [type(h).__name__ for h in e._forward_pre_hooks.values()] == \
        [type(h).__name__ for h in t._forward_pre_hooks.values()]
    assert "weight" not in e._parameters and isinstance(e.weight, ember.Tensor)
    assert not isinstance(e.weight, enn.Parameter)
    assert eprune.is_pruned(enn.Sequential(e)) and not eprune.is_pruned(enn.Sequential(enn.Linear(2, 2)))
    # a fresh module loads the pruned state once it is pruned the same way
    fresh = eprune.identity(eprune.identity(enn.Conv2d(3, 4, 2).to(device), "weight"), "bias")
    fresh.load_state_dict(e.state_dict())
    np.testing.assert_array_equal(_np(fresh.weight_mask), _np(e.weight_mask))


def test_forward_hook_recomputes_and_gradients(device) -> None:
    t, e = _pair("conv", device)
    tprune.ln_structured(t, "weight", amount=1, n=2, dim=0)
    eprune.ln_structured(e, "weight", amount=1, n=2, dim=0)
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 5)).astype(np.float32)
    with torch.no_grad():
        t.weight_orig.add_(1.0)  # the hook recomputes weight before the next forward
    with ember.no_grad():
        e.weight_orig.add_(1.0)
    tout, eout = t(torch.from_numpy(x)), e(ember.tensor(x, device=device))
    np.testing.assert_allclose(_np(eout), _np(tout), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(e.weight), _np(t.weight), rtol=1e-6)
    (tout ** 2).sum().backward()
    (eout ** 2).sum().backward()
    np.testing.assert_allclose(_np(e.weight_orig.grad), _np(t.weight_orig.grad), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(_np(e.bias.grad), _np(t.bias.grad), rtol=1e-4, atol=1e-4)
    assert e.weight_mask.grad is None and not e.weight_mask.requires_grad
    assert e.weight.grad_fn.name() == t.weight.grad_fn.name()


def test_remove_makes_pruning_permanent(device) -> None:
    t, e = _pair("linear", device)
    for mod, pr in ((t, tprune), (e, eprune)):
        pr.l1_unstructured(mod, "weight", amount=0.5)
        pr.l1_unstructured(mod, "weight", amount=3)
        pr.random_unstructured(mod, "bias", amount=1)
        pr.remove(mod, "weight")
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert isinstance(e.weight, enn.Parameter) and e.weight.requires_grad
    np.testing.assert_array_equal(_np(e.weight), _np(t.weight))
    assert len(e._forward_pre_hooks) == len(t._forward_pre_hooks) == 1
    eprune.remove(e, "bias")
    assert not eprune.is_pruned(e)


# ---- errors ---------------------------------------------------------------------------------------
def _raises_same(tcall, ecall) -> None:
    with pytest.raises(Exception) as te:
        tcall()
    with pytest.raises(Exception) as ee:
        ecall()
    assert type(ee.value) is type(te.value)
    assert str(ee.value).replace("ember", "torch") == str(te.value), (str(ee.value), str(te.value))


@pytest.mark.parametrize(("fn", "kw"), [
    ("l1_unstructured", {"amount": -1}), ("l1_unstructured", {"amount": 1.5}), ("l1_unstructured", {"amount": -0.1}),
    ("l1_unstructured", {"amount": "a"}), ("l1_unstructured", {"amount": 31}), ("random_unstructured", {"amount": 31}),
    ("random_unstructured", {"amount": None}), ("ln_structured", {"amount": 6, "n": 2, "dim": 0}),
    ("ln_structured", {"amount": 1, "n": 2, "dim": 2}), ("random_structured", {"amount": 1, "dim": 5}),
    ("random_structured", {"amount": 2.0, "dim": 0}),
])
def test_amount_and_dim_errors(device, fn, kw) -> None:
    t, e = _pair("linear", device)
    _raises_same(lambda: getattr(tprune, fn)(t, "weight", **kw), lambda: getattr(eprune, fn)(e, "weight", **kw))
    # a failed first pruning leaves the module as it was (the parameter re-registered last, as in PyTorch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert sorted(e._parameters) == ["bias", "weight"] and not e._buffers and not e._forward_pre_hooks


def test_other_errors(device) -> None:
    t, e = _pair("linear", device)
    _raises_same(lambda: tprune.ln_structured(t, "bias", amount=1, n=2, dim=0),
                 lambda: eprune.ln_structured(e, "bias", amount=1, n=2, dim=0))
    _raises_same(lambda: tprune.remove(t, "weight"), lambda: eprune.remove(e, "weight"))
    _raises_same(lambda: tprune.global_unstructured(5, tprune.L1Unstructured, amount=1),
                 lambda: eprune.global_unstructured(5, eprune.L1Unstructured, amount=1))
    _raises_same(lambda: tprune.global_unstructured([(t, "weight")], tprune.L1Unstructured, importance_scores=[1],
                                                    amount=1),
                 lambda: eprune.global_unstructured([(e, "weight")], eprune.L1Unstructured, importance_scores=[1],
                                                    amount=1))
    _raises_same(lambda: tprune.global_unstructured([(t, "weight")], tprune.RandomStructured, amount=1),
                 lambda: eprune.global_unstructured([(e, "weight")], eprune.RandomStructured, amount=1))
    with pytest.raises(AssertionError, match="importance_scores should have the same shape"):
        eprune.l1_unstructured(e, "weight", amount=1, importance_scores=ember.ones(3, device=device))
    container = eprune.PruningContainer(eprune.Identity.apply(enn.Linear(2, 2), "weight"))
    with pytest.raises(TypeError, match="is not a BasePruningMethod subclass"):
        container.add_pruning_method(3)
    other = eprune.L1Unstructured(1)
    other._tensor_name = "bias"
    with pytest.raises(ValueError, match="Can only add pruning methods acting on the parameter named 'weight'"):
        container.add_pruning_method(other)


def test_custom_method_subclass(device) -> None:
    """The tutorial's FooBarPruningMethod: every other entry of what is left unpruned."""

    def make(pr):
        class FooBar(pr.BasePruningMethod):
            PRUNING_TYPE = "unstructured"

            def compute_mask(self, t, default_mask):
                mask = default_mask.clone()
                mask.view(-1)[::2] = 0
                return mask

        return FooBar

    t, e = _pair("linear", device)
    for mod, pr in ((t, tprune), (e, eprune)):
        make(pr).apply(mod, "bias")
        make(pr).apply(mod, "bias")
    _same_mask(t, e, "bias")
