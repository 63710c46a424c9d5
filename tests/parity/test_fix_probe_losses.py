"""Losses and LR schedulers that differed from PyTorch 2.13. Each case runs on real PyTorch and on
ember (every device) and compares values, dtypes, exception types and gradients.

``binary_cross_entropy_with_logits``'s gradient at a zero logit (PyTorch's ``sigmoid(x) - t``), its
target gradient, dtype and argument checks; the strict hinge (``z > 0``) of multi_margin_loss and
multilabel_margin_loss (the composite hinge losses pass the gradient at 0, as PyTorch's clamp);
CTC's NaN gradients for an impossible alignment; weights / targets PyTorch refuses to differentiate;
bool targets of mse / smooth_l1 / huber; the result dtype of mixed-dtype losses; schedulers resumed
with ``last_epoch=k`` keeping the lr at construction.
"""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32, F64, F16 = np.float32, np.float64, np.float16
R = np.random.default_rng(29)


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def T(values, dtype=F32) -> Arg:
    """A target (or weight) that does not require grad."""
    return A(values, dtype, grad=False)


def F(lib):
    return lib.nn.functional


# ---- binary_cross_entropy_with_logits ----------------------------------------------------------
ZEROS, HALF = [0.0, 0.0, 0.0], [0.5, 0.0, 1.0]
BIG = [0.0, -100.0, 100.0, -1e4, 1e4, 30.0]
BIG_T = [0.3, 1.0, 0.0, 0.5, 0.5, 1.0]
BCEL = [
    ((A(ZEROS), T(HALF)), {"reduction": "sum"}),  # a zero-initialised output layer
    ((A(ZEROS), T(HALF)), {"reduction": "mean"}),
    ((A(ZEROS), T(HALF)), {"reduction": "none"}),
    ((A(ZEROS), T(HALF)), {"reduction": "sum", "pos_weight": T([2.0, 3.0, 0.5])}),
    ((A(ZEROS), T(HALF)), {"reduction": "sum", "weight": T([2.0, 3.0, 0.5])}),
    ((A(ZEROS), T(HALF)), {"reduction": "none", "weight": T([2.0, 3.0, 0.5]), "pos_weight": T([1.5, 0.0, 4.0])}),
    ((A([[0.0, 1.0, -2.0], [0.0, 0.0, 3.0]]), T([[1.0, 0.0, 1.0], [0.5, 1.0, 0.0]])), {"pos_weight": T([2.0, 1.0, 3.0])}),
    ((A(BIG), T(BIG_T)), {"reduction": "none"}),  # stable at large |x|
    ((A(BIG, F64), T(BIG_T, F64)), {"reduction": "none", "pos_weight": T([2.0] * 6, F64)}),
    ((A(ZEROS), A(HALF)), {"reduction": "sum"}),  # the target's gradient: -x
    ((A([0.0, 1.5, -2.0]), A(HALF)), {"pos_weight": T([2.0, 3.0, 0.5])}),  # logsigmoid(-x) - pw logsigmoid(x)
    ((A([0.0, 1.5, -2.0], F64), A(HALF)), {"reduction": "none"}),  # the loss has the target's dtype
    ((A([0.0, 1.5, -2.0]), A(HALF, F64)), {"reduction": "none"}),
    ((A([0.0, 1.5, -2.0], F64), A(HALF, F16)), {}),
    ((A([0.0, 1.5, -2.0]), T(HALF)), {"weight": T([1.0, 2.0, 3.0], F64)}),
    ((A([0.0, 1.5, -2.0]), T([1, 0, 1], np.int64)), {}),  # an integer target cannot hold the loss
    ((A([0.0, 1.5, -2.0]), T([True, False, True], np.bool_)), {}),
    ((A([0.0, 1.5, -2.0]), T(HALF)), {"weight": A([1.0, 2.0, 3.0])}),  # not differentiable there
    ((A([0.0, 1.5, -2.0]), T(HALF)), {"pos_weight": A([1.0, 2.0, 3.0])}),
    ((A([0.0, 1.5]), T([1.0, 0.0])), {"weight": T([[1.0], [2.0]]), "reduction": "none"}),  # in place: no broadcast
    ((A([0.0, 1.5]), T([1.0, 0.0])), {"pos_weight": T([[1.0], [2.0]]), "reduction": "none"}),
]


@pytest.mark.parametrize("args,kwargs", BCEL, ids=range(len(BCEL)))
def test_bce_with_logits(device, args, kwargs):
    check(lambda L, x, t, **kw: F(L).binary_cross_entropy_with_logits(x, t, **kw), args, kwargs, device)


def test_bce_with_logits_double_backward(device):
    def fn(L, x, t, pw):
        loss = F(L).binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="sum")
        return L.autograd.grad(loss, (x, t), create_graph=True)

    check(fn, (A([0.0, 1.5, -2.0], F64), A(HALF, F64), T([2.0, 1.0, 0.5], F64)), {}, device)


def test_bce_with_logits_weight_grad_allowed_without_grad_mode(device):
    check(lambda L, x, t, w: _no_grad(L, lambda: F(L).binary_cross_entropy_with_logits(x, t, weight=w)),
          (A([0.0, 1.5]), T([1.0, 0.0]), A([1.0, 2.0])), {}, device)


def _no_grad(L, fn):
    with L.no_grad():
        return fn()


# ---- binary_cross_entropy / soft_margin_loss: what PyTorch refuses to differentiate ------------
PROBS = [0.2, 0.7, 0.5]
REFUSED = [
    (lambda L, x, t, w: F(L).binary_cross_entropy(x, t, weight=w), (A(PROBS), T(HALF), A([1.0, 2.0, 3.0]))),
    (lambda L, x, t, w: F(L).binary_cross_entropy(x, t, weight=w), (A(PROBS), A(HALF), T([1.0, 2.0, 3.0]))),
    (lambda L, x, t: F(L).soft_margin_loss(x, t), (A(PROBS), A([1.0, -1.0, 1.0]))),
    (lambda L, x, t: F(L).soft_margin_loss(x, t), (T(PROBS), A([1.0, -1.0, 1.0]))),
    (lambda L, x, t: _no_grad(L, lambda: F(L).soft_margin_loss(x, t)), (A(PROBS), A([1.0, -1.0, 1.0]))),
]


@pytest.mark.parametrize("i", range(len(REFUSED)))
def test_refused_gradients(device, i):
    fn, args = REFUSED[i]
    check(fn, args, {}, device)


# ---- soft_margin_loss: dtype and targets -------------------------------------------------------
SOFT = [
    ((A(PROBS), T([1.0, -1.0, 1.0], F64)), {}),  # the loss keeps the input's dtype
    ((A(PROBS, F64), T([1.0, -1.0, 1.0])), {"reduction": "none"}),
    ((A(PROBS, F16), T([1.0, -1.0, 1.0])), {"reduction": "none"}),
    ((A(PROBS), T([1, -1, 1], np.int64)), {}),
    ((A(PROBS), T([True, False, True], np.bool_)), {}),  # forward only: PyTorch's backward negates the target
    ((T(PROBS), T([True, False, True], np.bool_)), {}),
    ((T([1, 2, 3], np.int64), T([1.0, -1.0, 1.0])), {}),
    ((T([True, False, True], np.bool_), T([1.0, -1.0, 1.0])), {}),
    ((A([0.0, 40.0, -40.0]), T([1.0, -1.0, 1.0])), {"reduction": "sum"}),
]


@pytest.mark.parametrize("args,kwargs", SOFT, ids=range(len(SOFT)))
def test_soft_margin_loss(device, args, kwargs):
    check(lambda L, x, t, **kw: F(L).soft_margin_loss(x, t, **kw), args, kwargs, device)


def test_soft_margin_double_backward(device):
    def fn(L, x, t):
        return L.autograd.grad(F(L).soft_margin_loss(x, t, reduction="sum"), x, create_graph=True)[0]

    check(fn, (A([0.0, 1.5, -2.0], F64), T([1.0, -1.0, 1.0], F64)), {}, device)


# ---- hinge boundary (margin - x[y] + x[i] == 0) ------------------------------------------------
BOUNDARY = [
    (lambda L, x, t: F(L).multi_margin_loss(x, t), (A([[1.0, 0.0, 0.5]]), T([0], np.int64))),
    (lambda L, x, t: F(L).multi_margin_loss(x, t, p=2), (A([[1.0, 0.0, 0.5]]), T([0], np.int64))),
    (lambda L, x, t, w: F(L).multi_margin_loss(x, t, weight=w, margin=2.0, reduction="none"),
     (A([[2.0, 0.0, 0.5], [1.0, 3.0, 1.0]]), T([0, 1], np.int64), T([1.0, 2.0, 3.0]))),
    (lambda L, x, t: F(L).multi_margin_loss(x, t), (A([[1.0, math.nan, 0.5]]), T([0], np.int64))),
    (lambda L, x, t: F(L).multilabel_margin_loss(x, t), (A([[1.0, 0.0, 0.5]]), T([[0, -1, 0]], np.int64))),
    (lambda L, x, t: F(L).multilabel_margin_loss(x, t, reduction="none"),
     (A([[1.0, 0.0, 0.5, 2.0], [0.0, 1.0, 1.0, 0.0]]), T([[0, 3, -1, 0], [1, -1, 2, 0]], np.int64))),
    # the composite hinges clamp, and PyTorch's clamp passes the gradient at the bound
    (lambda L, x, t: F(L).hinge_embedding_loss(x, t, margin=1.0), (A([1.0, 0.5, 1.0]), T([-1.0, -1.0, 1.0]))),
    (lambda L, a, b, t: F(L).margin_ranking_loss(a, b, t, margin=1.0), (A([1.0, 2.0]), A([2.0, 0.0]), T([1.0, -1.0]))),
    (lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=1.0, eps=0.0),
     (A([[0.0, 0.0]]), A([[1.0, 0.0]]), A([[2.0, 0.0]]))),
    (lambda L, a, b, t: F(L).cosine_embedding_loss(a, b, t), (A([[1.0, 0.0]]), A([[0.0, 1.0]]), T([-1.0]))),
    (lambda L, x, t: F(L).soft_margin_loss(x, t), (A([0.0, 0.0]), T([1.0, -1.0]))),
    (lambda L, x, t: F(L).multilabel_soft_margin_loss(x, t), (A([[0.0, 0.0]]), T([[1.0, 0.0]]))),
]


@pytest.mark.parametrize("i", range(len(BOUNDARY)))
def test_hinge_boundary(device, i):
    fn, args = BOUNDARY[i]
    check(fn, args, {}, device)


# ---- triplet margins ---------------------------------------------------------------------------
TRIPLET = [
    (lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=0.0)),
    (lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=-1.0)),
    (lambda L, a, p, n: F(L).triplet_margin_loss(a, p, n, margin=0.5)),
    (lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(a, p, n, margin=0.0)),
    (lambda L, a, p, n: F(L).triplet_margin_with_distance_loss(a, p, n, margin=-2)),
    (lambda L, a, p, n: L.nn.TripletMarginLoss(margin=0.0)(a, p, n)),
]


@pytest.mark.parametrize("i", range(len(TRIPLET)))
def test_triplet_margin(device, i):
    check(TRIPLET[i], (Arg(R.standard_normal((2, 3)).astype(F32)),) * 3, {}, device)


# ---- mse / smooth_l1 / huber: bool targets and mixed dtypes ------------------------------------
X2 = [0.2, 0.7, -1.5]
POINTWISE = [
    ("mse_loss", (A(X2), T([True, False, True], np.bool_)), {}),
    ("mse_loss", (A(X2, F64), T([True, False, True], np.bool_)), {"reduction": "none"}),
    ("mse_loss", (T([True, False, True], np.bool_), A(X2)), {}),
    ("mse_loss", (A(X2), T([1, 0, 2], np.int64)), {}),
    ("mse_loss", (T([1, 2, 3], np.int64), T([3, 0, 2], np.int64)), {}),  # no integer kernel
    ("mse_loss", (T([True, False, True], np.bool_), T([True, True, False], np.bool_)), {}),
    ("mse_loss", (A(X2), A([1.0, 2.0, 0.0], F64)), {}),
    ("smooth_l1_loss", (A(X2), T([True, False, True], np.bool_)), {}),
    ("smooth_l1_loss", (A(X2), T([True, False, True], np.bool_)), {"beta": 0.0}),  # l1_loss: refuses bool
    ("smooth_l1_loss", (A(X2), T([1, 0, 2], np.int64)), {"reduction": "none"}),
    ("smooth_l1_loss", (T([1, 2, 3], np.int64), T([3, 0, 2], np.int64)), {}),
    ("smooth_l1_loss", (A(X2), A([1.0, 2.0, 0.0], F64)), {}),
    ("huber_loss", (T(X2), T([1.0, 2.0, 0.0], F64)), {}),  # the input's dtype
    ("huber_loss", (T(X2, F64), T([1.0, 2.0, 0.0])), {"reduction": "none"}),
    ("huber_loss", (T(X2), T([True, False, True], np.bool_)), {}),
    ("huber_loss", (T(X2), T([1, 0, 2], np.int64)), {"delta": 0.5}),
    ("huber_loss", (A(X2), T([1.0, 2.0, 0.0], F64)), {}),  # PyTorch's backward refuses the pair
    ("huber_loss", (A(X2, F64), A([1.0, 2.0, 0.0])), {"reduction": "none"}),
    ("huber_loss", (A(X2), T([1.0, 2.0, 0.0], F16)), {"reduction": "sum"}),
    ("huber_loss", (A(X2), T([True, False, True], np.bool_)), {}),
    ("huber_loss", (A(X2), T([1.0, 2.0, 0.0])), {}),
]


@pytest.mark.parametrize("name,args,kwargs", POINTWISE, ids=range(len(POINTWISE)))
def test_pointwise_loss_dtypes(device, name, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(lambda L, x, t, **kw: getattr(F(L), name)(x, t, **kw), args, kwargs, device)


# ---- CTC: an impossible alignment --------------------------------------------------------------
CTC_LOGITS = R.standard_normal((6, 3, 5)).astype(F32)


@pytest.mark.parametrize("zero_infinity", [False, True])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_ctc_impossible_alignment(device, reduction, zero_infinity):
    def fn(L, x, targets):
        return F(L).ctc_loss(x.log_softmax(2), targets, [2, 5, 6], [3, 1, 2], reduction=reduction,
                             zero_infinity=zero_infinity)

    check(fn, (Arg(CTC_LOGITS), T([[1, 2, 3], [1, 1, 1], [2, 3, 3]], np.int64)), {}, device)


def test_ctc_possible_alignment_unchanged(device):
    def fn(L, x, targets):
        return F(L).ctc_loss(x.log_softmax(1), targets, [6], [2])

    check(fn, (Arg(CTC_LOGITS[:, 0]), T([1, 3], np.int64)), {}, device)


# ---- LR schedulers resumed with last_epoch=k ---------------------------------------------------
SCHEDULERS = {
    "LambdaLR": lambda S, o, k: S.LambdaLR(o, lambda e: 0.9 ** e, last_epoch=k),
    "MultiplicativeLR": lambda S, o, k: S.MultiplicativeLR(o, lambda e: 0.9, last_epoch=k),
    "StepLR": lambda S, o, k: S.StepLR(o, 2, 0.5, last_epoch=k),
    "MultiStepLR": lambda S, o, k: S.MultiStepLR(o, [3, 5], 0.5, last_epoch=k),
    "ConstantLR": lambda S, o, k: S.ConstantLR(o, 0.5, 4, last_epoch=k),
    "LinearLR": lambda S, o, k: S.LinearLR(o, 0.5, 1.0, 4, last_epoch=k),
    "ExponentialLR": lambda S, o, k: S.ExponentialLR(o, 0.9, last_epoch=k),
    "PolynomialLR": lambda S, o, k: S.PolynomialLR(o, 6, 2.0, last_epoch=k),
    "CosineAnnealingLR": lambda S, o, k: S.CosineAnnealingLR(o, 6, 0.01, last_epoch=k),
    "CosineAnnealingWarmRestarts": lambda S, o, k: S.CosineAnnealingWarmRestarts(o, 3, 2, 0.01, last_epoch=k),
    "CyclicLR": lambda S, o, k: S.CyclicLR(o, 0.01, 0.1, 2, cycle_momentum=False, last_epoch=k),
    "OneCycleLR": lambda S, o, k: S.OneCycleLR(o, 0.5, total_steps=12, cycle_momentum=False, last_epoch=k),
}


def _lr_trace(lib, make, k):
    """The lr at construction and after each of 5 steps, with ``initial_lr`` (and OneCycleLR's
    ``max_lr``/``min_lr``) set as a checkpoint would leave them; the exception type if it refuses."""
    p = lib.nn.Parameter(lib.zeros(1))
    o = lib.optim.SGD([p], lr=0.1)
    if k != -1:
        for g in o.param_groups:
            g.update(initial_lr=0.2, max_lr=0.5, min_lr=0.5 / 25 / 1e4)
    try:
        s = make(lib.optim.lr_scheduler, o, k)
    except Exception as exc:  # noqa: BLE001 - compared against PyTorch's
        return type(exc).__mro__[-2]
    lrs = [s.get_last_lr()[0]]
    for _ in range(5):
        o.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
    return lrs, s.last_epoch, s._step_count, s._is_initial


@pytest.mark.parametrize("k", [-1, 0, 2, 4])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_scheduler_resumed_with_last_epoch(name, k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want, got = _lr_trace(torch, SCHEDULERS[name], k), _lr_trace(ember, SCHEDULERS[name], k)
    if isinstance(want, type):
        assert isinstance(got, type) and issubclass(got, want), (got, want)
        return
    assert not isinstance(got, type), got
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    assert got[1:] == want[1:]


def test_exponential_and_cosine_keep_the_checkpoint_lr():
    for lib in (torch, ember):
        o = lib.optim.SGD([lib.nn.Parameter(lib.zeros(1))], lr=0.1)
        o.param_groups[0]["initial_lr"] = 0.2
        assert lib.optim.lr_scheduler.ExponentialLR(o, 0.9, last_epoch=2).get_last_lr() == [0.1]
        assert lib.optim.lr_scheduler.CosineAnnealingLR(o, 6, 0.01, last_epoch=4).get_last_lr() == [0.1]
