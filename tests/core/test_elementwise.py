"""Arithmetic, comparison, logical and math ops against NumPy, with broadcasting and in-place forms."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

RNG = np.random.default_rng(0)


def _t(a, device):
    return ember.tensor(a, device=device)


def _np(t):
    return t.detach().cpu().numpy()


A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((4,)).astype(np.float32)
C = RNG.standard_normal((3, 1)).astype(np.float32)


@pytest.mark.parametrize("op, ref", [
    (lambda a, b: a + b, np.add), (lambda a, b: a - b, np.subtract), (lambda a, b: a * b, np.multiply),
    (lambda a, b: a / b, np.divide), (lambda a, b: ember.maximum(a, b), np.maximum),
    (lambda a, b: ember.minimum(a, b), np.minimum), (lambda a, b: a == b, np.equal),
    (lambda a, b: a < b, np.less), (lambda a, b: a >= b, np.greater_equal), (lambda a, b: a != b, np.not_equal),
])
@pytest.mark.parametrize("shapes", [(A, B), (A, C), (C, B), (B, A)])
def test_binary_broadcast(device, op, ref, shapes):
    a, b = shapes
    got = op(_t(a, device), _t(b, device))
    exp = ref(a, b)
    assert tuple(got.shape) == exp.shape
    np.testing.assert_allclose(_np(got), exp, rtol=1e-6)


def test_pow_and_reflected(device):
    x = np.array([0.5, 1.0, 2.0, 3.0], dtype=np.float32)
    t = _t(x, device)
    np.testing.assert_allclose(_np(2 - t), 2 - x)
    np.testing.assert_allclose(_np(2 / t), 2 / x, rtol=1e-6)
    np.testing.assert_allclose(_np(2 ** t), 2 ** x, rtol=1e-6)
    np.testing.assert_allclose(_np(t ** 2), x ** 2, rtol=1e-6)
    np.testing.assert_allclose(_np(t ** t), x ** x, rtol=1e-6)
    np.testing.assert_allclose(_np(3 * t + 1), 3 * x + 1, rtol=1e-6)
    np.testing.assert_allclose(_np(-t), -x)
    i = _t([-7, -3, 3, 7], device)
    assert (i // 2).tolist() == [-4, -2, 1, 3]           # floor division
    assert (i % 3).tolist() == [2, 0, 0, 1]              # sign of the divisor
    assert (7 // _t([2, -2], device)).tolist() == [3, -4]
    assert (2 ** _t([0, 3], device)).tolist() == [1, 8]
    assert (i ** 2).dtype is ember.int64


def test_logical_and_bitwise(device):
    a = _t([True, False, True, False], device)
    b = _t([True, True, False, False], device)
    assert (a & b).tolist() == [True, False, False, False]
    assert (a | b).tolist() == [True, True, True, False]
    assert (a ^ b).tolist() == [False, True, True, False]
    assert (~a).tolist() == [False, True, False, True]
    assert ember.logical_not(_t([0.0, 2.0], device)).tolist() == [True, False]
    assert ember.logical_and(_t([1, 0], device), _t([2, 2], device)).tolist() == [True, False]
    x = _t([12, 10], device)
    assert (x & 6).tolist() == [4, 2] and (x | 1).tolist() == [13, 11] and (x ^ 15).tolist() == [3, 5]
    assert (~_t([0, 5], device)).tolist() == [-1, -6]


# ---- in-place --------------------------------------------------------------------------------


def test_inplace_forms(device):
    x = np.array([[1.0, -2.0], [3.0, 4.5]], dtype=np.float32)
    t = _t(x, device)
    t.add_(1)
    t.mul_(_t([2.0, 3.0], device))
    t.sub_(0.5)
    t.div_(2)
    exp = ((x + 1) * [2.0, 3.0] - 0.5) / 2
    np.testing.assert_allclose(_np(t), exp, rtol=1e-6)
    t += 1
    t -= _t([[1.0], [2.0]], device)
    np.testing.assert_allclose(_np(t), exp + 1 - [[1.0], [2.0]], rtol=1e-6)
    t.clamp_(-0.5, 1.0)
    np.testing.assert_allclose(_np(t), np.clip(exp + 1 - [[1.0], [2.0]], -0.5, 1.0), rtol=1e-6)
    t.fill_(3)
    assert _np(t).tolist() == [[3, 3], [3, 3]]
    t.zero_()
    assert _np(t).sum() == 0
    t.copy_(_t([5, 6], device))   # broadcasting, int source cast to float
    assert t.tolist() == [[5.0, 6.0], [5.0, 6.0]] and t.dtype is ember.float32
    u = t
    t *= 2
    assert t is u and t.tolist() == [[10.0, 12.0], [10.0, 12.0]]


def test_inplace_on_view_writes_base(device):
    t = ember.zeros(3, 3, device=device)
    t[1].add_(2)
    t[:, 0].fill_(7)
    assert t.tolist() == [[7, 0, 0], [7, 2, 2], [7, 0, 0]]


def test_inplace_errors(device):
    w = ember.ones(2, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        w += 1
    with ember.no_grad():
        w.add_(1)                         # allowed without grad tracking
    assert w.tolist() == [2.0, 2.0]
    i = _t([1, 2], device)
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i += 1.5
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        i.mul_(_t([1.0, 2.0], device))
    i += 2                                # int stays int
    assert i.tolist() == [3, 4]
    f = ember.zeros(2, device=device)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        f.add_(ember.ones(2, 2, device=device))


def test_out_argument(device):
    a, b = _t([1.0, 2.0], device), _t([3.0, 4.0], device)
    out = ember.empty(2, device=device)
    r = ember.add(a, b, out=out)
    assert r is out and out.tolist() == [4.0, 6.0]
    ember.mul(a, b, out=out)
    assert out.tolist() == [3.0, 8.0]
    ember.clamp(a, max=1.5, out=out)
    assert out.tolist() == [1.0, 1.5]
    ember.add(a, 1, alpha=1, out=out)
    assert out.tolist() == [2.0, 3.0]
    assert ember.add(a, b, alpha=2).tolist() == [7.0, 10.0]
    assert ember.sub(a, b, alpha=2).tolist() == [-5.0, -6.0]


# ---- math ----------------------------------------------------------------------------------

X = np.array([-2.5, -1.5, -0.5, -0.2, 0.0, 0.3, 0.5, 1.5, 2.5, 3.7], dtype=np.float32)
P = np.array([0.1, 0.5, 1.0, 2.0, 7.5], dtype=np.float32)
_erf = np.vectorize(math.erf)


@pytest.mark.parametrize("name, ref, data", [
    ("abs", np.abs, X), ("neg", np.negative, X), ("exp", np.exp, X), ("log", np.log, P),
    ("log1p", np.log1p, P), ("expm1", np.expm1, X), ("sqrt", np.sqrt, P), ("rsqrt", lambda v: 1 / np.sqrt(v), P),
    ("sin", np.sin, X), ("cos", np.cos, X), ("tanh", np.tanh, X), ("sigmoid", lambda v: 1 / (1 + np.exp(-v)), X),
    ("relu", lambda v: np.maximum(v, 0), X), ("erf", _erf, X), ("floor", np.floor, X), ("ceil", np.ceil, X),
    ("round", np.round, X), ("sign", np.sign, X), ("trunc", np.trunc, X), ("reciprocal", lambda v: 1 / v, P),
    ("square", np.square, X), ("log2", np.log2, P), ("log10", np.log10, P), ("tan", np.tan, X),
])
def test_unary_math(device, name, ref, data):
    got = getattr(ember, name)(_t(data, device))
    assert got.dtype is ember.float32
    np.testing.assert_allclose(_np(got), ref(data.astype(np.float64)), rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(_np(getattr(_t(data, device), name)()), _np(got))


def test_round_half_to_even_and_int_unary(device):
    assert ember.round(_t([0.5, 1.5, 2.5, -0.5, -1.5], device)).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    assert ember.round(_t([1.2345, 2.5], device), decimals=2).tolist() == pytest.approx([1.23, 2.5])
    i = _t([-3, 0, 4], device)
    assert ember.abs(i).tolist() == [3, 0, 4] and ember.abs(i).dtype is ember.int64
    assert ember.sign(i).tolist() == [-1, 0, 1]
    assert ember.relu(i).tolist() == [0, 0, 4]
    assert ember.sqrt(_t([4, 9], device)).dtype is ember.float32   # int inputs to float ops -> float
    assert ember.exp(_t([0], device)).tolist() == [1.0]
    with pytest.raises(RuntimeError, match="bool tensor is not supported"):
        -_t([True], device)


def test_clamp_where_lerp_pow(device):
    x = _t(X, device)
    np.testing.assert_allclose(_np(ember.clamp(x, -1, 1)), np.clip(X, -1, 1))
    np.testing.assert_allclose(_np(x.clamp(min=0.2)), np.maximum(X, 0.2))
    np.testing.assert_allclose(_np(x.clamp(max=0.2)), np.minimum(X, 0.2))
    np.testing.assert_allclose(_np(ember.clamp(x, _t(np.full(10, -1.0, np.float32), device),
                                               _t(np.full(10, 0.5, np.float32), device))), np.clip(X, -1, 0.5))
    cond = X > 0
    np.testing.assert_allclose(_np(ember.where(_t(cond, device), x, -x)), np.where(cond, X, -X))
    np.testing.assert_allclose(_np(ember.where(_t(cond, device), x, 0.0)), np.where(cond, X, 0))
    assert ember.where(_t(cond, device), 1.0, 0.0).dtype is ember.float32
    assert ember.where(_t([True, False], device), _t([1, 2], device), _t([1.5, 2.5], device)).dtype is ember.float32
    e = np.ones(10, np.float32)
    np.testing.assert_allclose(_np(ember.lerp(x, _t(e, device), 0.3)), X + 0.3 * (e - X), rtol=1e-6)
    # PyTorch's two-sided formula: from the end for weights >= 0.5 (so lerp(a, b, 1) is exactly b)
    two_sided = e.astype(np.float64) - (e.astype(np.float64) - X) * (1 - np.float64(np.float32(0.7)))
    np.testing.assert_allclose(_np(ember.lerp(x, _t(e, device), _t(np.full(10, 0.7, np.float32), device))),
                               two_sided.astype(np.float32), rtol=1e-6)
    np.testing.assert_allclose(_np(ember.pow(_t(P, device), 0.5)), np.sqrt(P), rtol=1e-6)
    np.testing.assert_allclose(_np(ember.pow(2.0, _t(P, device))), 2.0 ** P, rtol=1e-6)
    nan = ember.maximum(_t([float("nan"), 1.0], device), _t([0.0, float("nan")], device))
    assert np.isnan(_np(nan)).all()


def test_isclose_equal_allclose(device):
    a = _t([1.0, 2.0, float("nan")], device)
    assert ember.isclose(a, a + 1e-7).tolist() == [True, True, False]
    assert ember.isclose(a, a, equal_nan=True).tolist() == [True, True, True]
    assert ember.equal(_t([1, 2], device), _t([1, 2], device))
    assert not ember.equal(_t([1, 2], device), _t([1, 3], device))
    assert ember.allclose(_t([1.0], device), _t([1.0 + 1e-9], device))
    assert ember.isnan(a).tolist() == [False, False, True]
    assert ember.isinf(_t([float("inf"), 1.0], device)).tolist() == [True, False]


def test_broadcast_error_message(device):
    with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                           r"at non-singleton dimension 1"):
        ember.ones(2, 3, device=device) + ember.ones(2, 4, device=device)
    with pytest.raises(RuntimeError, match="must match"):
        ember.ones(3, device=device) * ember.ones(4, device=device)
