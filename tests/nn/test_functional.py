"""Activations, losses and misc functional ops against NumPy formulas and published values."""

from __future__ import annotations

import math

import ember
import ember.nn.functional as F
import nn_np_ref as ref
import numpy as np
import pytest
from ember import nn


def _t(a, device="cpu", grad=False, dtype=ember.float64):
    return ember.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=grad)


def _np(t):
    return t.detach().cpu().numpy()


X = np.array([-30.0, -3.0, -1.0, -0.5, -1e-3, 0.25, 0.7, 1.5, 4.0, 30.0])
_erf = np.vectorize(math.erf)

ACTIVATIONS = [
    ("relu", lambda x: F.relu(x), lambda x: np.maximum(x, 0)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("elu", lambda x: F.elu(x, 1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(np.minimum(x, 0)))),
    ("gelu", lambda x: F.gelu(x), lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2)))),
    ("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    ("silu", lambda x: F.silu(x), lambda x: x * ref.sigmoid(x)),
    ("mish", lambda x: F.mish(x), lambda x: x * np.tanh(np.logaddexp(0, x))),
    ("sigmoid", lambda x: F.sigmoid(x), ref.sigmoid),
    ("tanh", lambda x: F.tanh(x), np.tanh),
    ("softplus", lambda x: F.softplus(x, beta=2.0, threshold=5.0),
     lambda x: np.where(2 * x > 5, x, np.log1p(np.exp(np.minimum(2 * x, 5))) / 2)),
    ("hardtanh", lambda x: F.hardtanh(x, -0.5, 2.0), lambda x: np.clip(x, -0.5, 2.0)),
    ("relu6", lambda x: F.relu6(x), lambda x: np.clip(x, 0, 6)),
    ("logsigmoid", lambda x: F.logsigmoid(x), lambda x: -np.logaddexp(0, -x)),
    ("selu", lambda x: F.selu(x), lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))),
]


@pytest.mark.parametrize("name,fn,npfn", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_values_and_grad(name, fn, npfn, device):
    x = _t(X, device, True, ember.float32)
    y = fn(x)
    np.testing.assert_allclose(_np(y), npfn(X), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    assert np.isfinite(_np(x.grad)).all()
    if device == "cpu":
        xs = _t(X[1:-1] + 0.013, "cpu", True)  # avoid kinks at exactly 0
        assert ember.autograd.gradcheck(lambda a: fn(a), (xs,))


def test_activation_modules():
    x = _t(X)
    assert np.allclose(_np(nn.ReLU()(x)), np.maximum(X, 0))
    assert np.allclose(_np(nn.GELU("tanh")(x)), _np(F.gelu(x, approximate="tanh")))
    assert np.allclose(_np(nn.Softplus(beta=2, threshold=5)(x)), _np(F.softplus(x, 2, 5)))
    p = nn.PReLU(3, init=0.1)
    xi = _t(np.array([[-1.0, 2.0, -3.0]]))
    assert np.allclose(_np(p(xi)), [[-0.1, 2.0, -0.3]])
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim, device):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4)) * 5
    xt = _t(x, device)
    ls = ref.log_softmax(x, dim)
    np.testing.assert_allclose(_np(F.log_softmax(xt, dim)), ls, rtol=1e-10)
    np.testing.assert_allclose(_np(F.softmax(xt, dim)), np.exp(ls), rtol=1e-10)
    np.testing.assert_allclose(_np(F.softmin(xt, dim)), np.exp(ref.log_softmax(-x, dim)), rtol=1e-10)
    np.testing.assert_allclose(_np(nn.LogSoftmax(dim)(xt)), ls, rtol=1e-10)


def _ce_ref(logits, target, weight=None, ignore_index=-100, reduction="mean", ls=0.0):
    """Cross-entropy with class indices as PyTorch defines it (N, C) only."""
    n, c = logits.shape
    logp = ref.log_softmax(logits, 1)
    w = np.ones(c) if weight is None else weight
    losses, wts, smooth = [], [], []
    for i in range(n):
        t = target[i]
        if t == ignore_index:
            losses.append(0.0)
            wts.append(0.0)
            smooth.append(0.0)
            continue
        losses.append(-w[t] * logp[i, t])
        wts.append(w[t])
        smooth.append(-(w * logp[i]).sum())
    losses, wts, smooth = map(np.array, (losses, wts, smooth))
    if reduction == "none":
        return (1 - ls) * losses + ls / c * smooth
    if reduction == "sum":
        return (1 - ls) * losses.sum() + ls / c * smooth.sum()
    return (1 - ls) * losses.sum() / wts.sum() + ls / c * smooth.sum() / wts.sum()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_cross_entropy_indices(reduction, weighted, ls, device):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 4))
    target = np.array([0, 3, -100, 1, 3])
    weight = np.array([0.5, 1.0, 2.0, 1.5]) if weighted else None
    out = F.cross_entropy(_t(logits, device), ember.tensor(target, device=device),
                          weight=None if weight is None else _t(weight, device), reduction=reduction,
                          label_smoothing=ls)
    np.testing.assert_allclose(_np(out), _ce_ref(logits, target, weight, -100, reduction, ls), rtol=1e-10)


def test_cross_entropy_published_value_and_grad():
    # -log(softmax([1, 2, 3])[2]) = log(e + e^2 + e^3) - 3 = 0.40760596444...
    out = F.cross_entropy(ember.tensor([[1.0, 2.0, 3.0]], dtype=ember.float64), ember.tensor([2]))
    assert abs(out.item() - 0.4076059644443806) < 1e-12
    x = ember.randn(3, 4, dtype=ember.float64, requires_grad=True)
    t = ember.tensor([1, 0, 3])
    assert ember.autograd.gradcheck(lambda a: F.cross_entropy(a, t, label_smoothing=0.1), (x,))
    probs = ember.softmax(ember.randn(3, 4, dtype=ember.float64), 1)
    assert ember.autograd.gradcheck(lambda a: F.cross_entropy(a, probs), (x,))


def test_cross_entropy_kdim_and_probabilities(device):
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, 3, 4, 2))  # (N, C, d1, d2)
    target = rng.integers(0, 3, (2, 4, 2))
    out = F.cross_entropy(_t(logits, device), ember.tensor(target, device=device), reduction="none")
    flat_logits = np.moveaxis(logits, 1, -1).reshape(-1, 3)
    expect = _ce_ref(flat_logits, target.reshape(-1), reduction="none").reshape(2, 4, 2)
    np.testing.assert_allclose(_np(out), expect, rtol=1e-10)
    probs = rng.dirichlet(np.ones(3), size=5)
    lg = rng.standard_normal((5, 3))
    out = F.cross_entropy(_t(lg, device), _t(probs, device), label_smoothing=0.3)
    sm = probs * 0.7 + 0.1
    np.testing.assert_allclose(out.item(), -(sm * ref.log_softmax(lg, 1)).sum(1).mean(), rtol=1e-10)
    assert nn.CrossEntropyLoss(ignore_index=1)(_t(lg), ember.tensor([1, 1, 0, 2, 1])).item() == pytest.approx(
        _ce_ref(lg, np.array([-100, -100, 0, 2, -100])))


def test_nll_loss(device):
    rng = np.random.default_rng(3)
    logp = ref.log_softmax(rng.standard_normal((4, 3)), 1)
    t = np.array([2, 0, 1, 2])
    w = np.array([1.0, 2.0, 3.0])
    out = F.nll_loss(_t(logp, device), ember.tensor(t, device=device), weight=_t(w, device))
    expect = sum(-w[t[i]] * logp[i, t[i]] for i in range(4)) / w[t].sum()
    assert out.item() == pytest.approx(expect)
    assert nn.NLLLoss(reduction="sum")(_t(logp, device), ember.tensor(t, device=device)).item() == pytest.approx(
        -logp[np.arange(4), t].sum())
    with pytest.raises(IndexError):
        F.nll_loss(_t(logp), ember.tensor([0, 1, 5, 0]))


REGRESSION = [
    ("mse", lambda a, b, r: F.mse_loss(a, b, reduction=r), lambda d: d ** 2),
    ("l1", lambda a, b, r: F.l1_loss(a, b, reduction=r), np.abs),
    ("smooth_l1", lambda a, b, r: F.smooth_l1_loss(a, b, reduction=r, beta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d ** 2 / 0.5, np.abs(d) - 0.25)),
    ("huber", lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=0.5),
     lambda d: np.where(np.abs(d) < 0.5, 0.5 * d ** 2, 0.5 * (np.abs(d) - 0.25))),
]


@pytest.mark.parametrize("name,fn,npfn", REGRESSION, ids=[r[0] for r in REGRESSION])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regression_losses(name, fn, npfn, reduction, device):
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    expect = npfn(a - b)
    expect = {"mean": expect.mean(), "sum": expect.sum(), "none": expect}[reduction]
    np.testing.assert_allclose(_np(fn(_t(a, device), _t(b, device), reduction)), expect, rtol=1e-10)
    if device == "cpu" and reduction == "mean":
        at = _t(a, grad=True)
        assert ember.autograd.gradcheck(lambda x: fn(x, _t(b), "mean"), (at,))


def test_loss_modules_match_functional():
    a, b = ember.randn(3, 4), ember.randn(3, 4)
    assert nn.MSELoss()(a, b).item() == pytest.approx(F.mse_loss(a, b).item())
    assert nn.L1Loss(reduction="sum")(a, b).item() == pytest.approx(F.l1_loss(a, b, reduction="sum").item())
    assert nn.SmoothL1Loss(beta=0.3)(a, b).item() == pytest.approx(F.smooth_l1_loss(a, b, beta=0.3).item())
    assert nn.HuberLoss(delta=2.0)(a, b).item() == pytest.approx(F.huber_loss(a, b, delta=2.0).item())


def test_bce_losses(device):
    rng = np.random.default_rng(5)
    p = rng.uniform(0.05, 0.95, (4, 3))
    t = rng.integers(0, 2, (4, 3)).astype(np.float64)
    w = rng.uniform(0.5, 2, (4, 3))
    expect = -(w * (t * np.log(p) + (1 - t) * np.log(1 - p)))
    np.testing.assert_allclose(_np(F.binary_cross_entropy(_t(p, device), _t(t, device), _t(w, device), reduction="none")),
                               expect, rtol=1e-10)
    # log clamped at -100 as in PyTorch
    assert F.binary_cross_entropy(_t([0.0, 1.0], device), _t([1.0, 0.0], device)).item() == pytest.approx(100.0)
    x = rng.standard_normal((4, 3)) * 10
    pw = np.array([1.0, 2.0, 0.5])
    sig = ref.sigmoid(x)
    expect = -(pw * t * np.log(sig) + (1 - t) * np.log(1 - sig))
    out = F.binary_cross_entropy_with_logits(_t(x, device), _t(t, device), pos_weight=_t(pw, device), reduction="none")
    np.testing.assert_allclose(_np(out), expect, rtol=1e-8)
    big = F.binary_cross_entropy_with_logits(_t([1000.0, -1000.0], device), _t([0.0, 1.0], device), reduction="sum")
    assert big.item() == pytest.approx(2000.0)  # stable: no inf/nan
    assert nn.BCELoss()(_t(p), _t(t)).item() == pytest.approx(-(t * np.log(p) + (1 - t) * np.log(1 - p)).mean())
    xg = _t(x, grad=True)
    assert ember.autograd.gradcheck(lambda a: F.binary_cross_entropy_with_logits(a, _t(t), _t(w), pos_weight=_t(pw)),
                                    (xg,))


def test_kl_div(device):
    rng = np.random.default_rng(6)
    inp = ref.log_softmax(rng.standard_normal((3, 4)), 1)
    tgt = np.exp(ref.log_softmax(rng.standard_normal((3, 4)), 1))
    tgt[0, 0] = 0.0
    pointwise = np.where(tgt > 0, tgt * np.log(np.where(tgt > 0, tgt, 1)), 0) - tgt * inp
    out = F.kl_div(_t(inp, device), _t(tgt, device), reduction="batchmean")
    assert out.item() == pytest.approx(pointwise.sum() / 3)
    out = nn.KLDivLoss(reduction="sum", log_target=True)(_t(inp, device), _t(np.log(tgt + 1e-3), device))
    lt = np.log(tgt + 1e-3)
    assert out.item() == pytest.approx((np.exp(lt) * (lt - inp)).sum())


def test_pad_modes(device):
    x = np.arange(12, dtype=np.float64).reshape(1, 1, 3, 4)
    xt = _t(x, device)
    np.testing.assert_array_equal(_np(F.pad(xt, (1, 2))), np.pad(x, ((0, 0), (0, 0), (0, 0), (1, 2))))
    np.testing.assert_array_equal(_np(F.pad(xt, (1, 0, 0, 2), value=-1.0)),
                                  np.pad(x, ((0, 0), (0, 0), (0, 2), (1, 0)), constant_values=-1))
    np.testing.assert_array_equal(_np(F.pad(xt, (2, 1, 1, 2), mode="reflect")),
                                  np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="reflect"))
    np.testing.assert_array_equal(_np(F.pad(xt, (2, 1, 1, 2), mode="replicate")),
                                  np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="edge"))
    np.testing.assert_array_equal(_np(F.pad(xt, (2, 1, 1, 2), mode="circular")),
                                  np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="wrap"))
    np.testing.assert_array_equal(_np(F.pad(xt, (-1, -1))), x[..., 1:-1])


def test_interpolate(device):
    x = np.arange(6, dtype=np.float64).reshape(1, 1, 2, 3)
    out = F.interpolate(_t(x, device), scale_factor=2, mode="nearest")
    np.testing.assert_array_equal(_np(out), x.repeat(2, 2).repeat(2, 3))
    # PyTorch: F.interpolate(torch.arange(4.).view(1,1,2,2), size=(3,3), mode='bilinear', align_corners=True)
    x2 = _t(np.arange(4.0).reshape(1, 1, 2, 2), device)
    np.testing.assert_allclose(_np(F.interpolate(x2, size=(3, 3), mode="bilinear", align_corners=True))[0, 0],
                               [[0, 0.5, 1], [1, 1.5, 2], [2, 2.5, 3]])
    # align_corners=False, scale 2: PyTorch gives [[0, .25, .75, 1], [.5, .75, 1.25, 1.5], ...]
    out = _np(F.interpolate(x2, scale_factor=2, mode="bilinear", align_corners=False))[0, 0]
    np.testing.assert_allclose(out[0], [0.0, 0.25, 0.75, 1.0])
    np.testing.assert_allclose(out[1], [0.5, 0.75, 1.25, 1.5])
    np.testing.assert_allclose(out[3], [2.0, 2.25, 2.75, 3.0])


def test_one_hot_normalize_misc(device):
    oh = F.one_hot(ember.tensor([0, 2, 1], device=device))
    assert oh.dtype == ember.int64 and oh.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert F.one_hot(ember.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(_np(F.normalize(_t(x, device), dim=1)), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(_np(F.normalize(_t(x, device), p=1, dim=1)), [[3 / 7, 4 / 7], [0, 0]])
    a, b = np.array([[1.0, 0.0], [1.0, 1.0]]), np.array([[0.0, 1.0], [2.0, 2.0]])
    np.testing.assert_allclose(_np(F.cosine_similarity(_t(a, device), _t(b, device))), [0.0, 1.0], atol=1e-12)


def test_dropout(device):
    x = ember.ones(200, 50, device=device)
    y = F.dropout(x, 0.3, training=True)
    vals = np.unique(_np(y))
    assert len(vals) == 2 and vals[0] == 0.0 and abs(vals[1] - 1 / 0.7) < 1e-5
    frac = float((_np(y) == 0).mean())
    assert 0.25 < frac < 0.35
    assert F.dropout(x, 0.3, training=False) is x
    y2 = F.dropout2d(ember.ones(20, 30, 2, 2, device=device), 0.5)
    per_channel = _np(y2).reshape(20, 30, 4)
    assert (per_channel.min(-1) == per_channel.max(-1)).all()  # whole channels zeroed
    d = nn.Dropout(0.5)
    d.eval()
    assert _np(d(x)).min() == 1.0
    with pytest.raises(ValueError):
        nn.Dropout(1.5)


def test_scaled_dot_product_attention():
    rng = np.random.default_rng(7)
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 4))
    s = q @ k.transpose(0, 2, 1) / 2.0
    expect = np.exp(ref.log_softmax(s, -1)) @ v
    np.testing.assert_allclose(_np(F.scaled_dot_product_attention(_t(q), _t(k), _t(v))), expect, rtol=1e-10)
