"""nn.init statistics and nn.utils (gradient clipping, vector conversion, pad_sequence)."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest
from ember import nn
from ember.nn import init


def test_calculate_gain_and_fans():
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    assert init._calculate_fan_in_and_fan_out(ember.empty(6, 3, 5, 5)) == (75, 150)
    with pytest.raises(ValueError):
        init.calculate_gain("nope")


def test_distributions():
    w = ember.empty(200, 300)
    init.xavier_uniform_(w)
    bound = math.sqrt(6 / 500)
    assert w.abs().max().item() <= bound and w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    init.xavier_normal_(w, gain=2.0)
    assert w.std().item() == pytest.approx(2 * math.sqrt(2 / 500), rel=0.05)
    init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    assert w.std().item() == pytest.approx(math.sqrt(2 / 200), rel=0.05)
    init.kaiming_uniform_(w, a=math.sqrt(5))
    assert w.abs().max().item() <= 1 / math.sqrt(300)
    init.trunc_normal_(w, mean=1.0, std=2.0, a=-1.0, b=2.0)
    assert w.min().item() >= -1.0 and w.max().item() <= 2.0
    # the truncated normal's mean (standard formula with alpha=-1, beta=0.5)
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    expect = 1.0 + 2.0 * (phi(-1) - phi(0.5)) / (cdf(0.5) - cdf(-1))
    assert w.mean().item() == pytest.approx(expect, abs=0.02)
    init.constant_(w, 0.5)
    assert w.min().item() == 0.5
    init.zeros_(w)
    init.ones_(w)
    assert w.sum().item() == 60000
    e = init.eye_(ember.empty(2, 3))
    assert e.tolist() == [[1, 0, 0], [0, 1, 0]]
    d = init.dirac_(ember.empty(2, 2, 3))
    assert d[:, :, 1].tolist() == [[1, 0], [0, 1]] and d.sum().item() == 2


@pytest.mark.parametrize("shape", [(4, 4), (3, 6), (6, 2), (4, 2, 3)])
def test_orthogonal(shape):
    w = init.orthogonal_(ember.empty(*shape, dtype=ember.float64), gain=1.5)
    m = w.reshape(shape[0], -1).numpy()
    if m.shape[0] <= m.shape[1]:
        np.testing.assert_allclose(m @ m.T, 2.25 * np.eye(m.shape[0]), atol=1e-10)
    else:
        np.testing.assert_allclose(m.T @ m, 2.25 * np.eye(m.shape[1]), atol=1e-10)


def test_clip_grad_norm_and_value():
    p1, p2 = nn.Parameter(ember.zeros(2)), nn.Parameter(ember.zeros(3))
    p1.grad = ember.tensor([3.0, 4.0])
    p2.grad = ember.tensor([0.0, 0.0, 12.0])
    total = nn.utils.clip_grad_norm_([p1, p2], max_norm=6.5)
    assert total.item() == pytest.approx(13.0)
    assert p1.grad.tolist() == pytest.approx([1.5, 2.0], rel=1e-5)
    p1.grad = ember.tensor([3.0, -4.0])
    p2.grad = ember.tensor([1.0, 0.0, 2.0])
    total = nn.utils.clip_grad_norm_([p1, p2], max_norm=2.0, norm_type=math.inf)
    assert total.item() == 4.0 and p1.grad.tolist() == pytest.approx([1.5, -2.0], rel=1e-5)
    assert nn.utils.clip_grad_norm_([p1], 10.0).item() == pytest.approx(2.5)
    assert p1.grad.tolist() == pytest.approx([1.5, -2.0], rel=1e-5)  # under the limit: unchanged
    p1.grad = ember.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p1, 1.0, error_if_nonfinite=True)
    p1.grad = ember.tensor([-3.0, 0.5])
    nn.utils.clip_grad_value_([p1], 1.0)
    assert p1.grad.tolist() == [-1.0, 0.5]


def test_parameters_vector_and_pad_sequence():
    lin = nn.Linear(2, 3)
    vec = nn.utils.parameters_to_vector(lin.parameters())
    assert vec.shape == (9,)
    w = lin.weight
    nn.utils.vector_to_parameters(ember.arange(9.0), lin.parameters())
    assert lin.weight is w and lin.weight.tolist() == [[0, 1], [2, 3], [4, 5]] and lin.bias.tolist() == [6, 7, 8]
    from ember.nn.utils.rnn import pad_sequence

    out = pad_sequence([ember.ones(2, 2), ember.ones(3, 2)], padding_value=-1.0)
    assert out.shape == (3, 2, 2) and out[2, 0].tolist() == [-1.0, -1.0]


def test_layer_default_inits():
    conv = nn.Conv2d(3, 4, 3)
    assert conv.weight.abs().max().item() <= 1 / math.sqrt(27)
    assert conv.bias.abs().max().item() <= 1 / math.sqrt(27)
    emb = nn.Embedding(1000, 20)
    assert emb.weight.std().item() == pytest.approx(1.0, rel=0.05)
    ln = nn.LayerNorm(4)
    assert ln.weight.tolist() == [1.0] * 4 and ln.bias.tolist() == [0.0] * 4
    rnn = nn.GRU(3, 16)
    assert max(p.abs().max().item() for p in rnn.parameters()) <= 0.25
