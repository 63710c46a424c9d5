"""Layers against NumPy equations: norms, embedding, RNN/LSTM/GRU, attention, transformer."""

from __future__ import annotations

import ember
import ember.nn.functional as F
import nn_np_ref as ref
import numpy as np
import pytest
from ember import nn


def _np(t):
    return t.detach().cpu().numpy()


def _t(a, device="cpu", grad=False, dtype=ember.float64):
    return ember.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=grad)


def test_linear_bilinear(device):
    lin = nn.Linear(3, 2).double().to(device)
    x = np.random.default_rng(0).standard_normal((4, 3))
    np.testing.assert_allclose(_np(lin(_t(x, device))), x @ _np(lin.weight).T + _np(lin.bias), rtol=1e-10)
    bil = nn.Bilinear(2, 3, 4).double()
    a, b = np.random.default_rng(1).standard_normal((5, 2)), np.random.default_rng(2).standard_normal((5, 3))
    expect = np.einsum("ni,oij,nj->no", a, _np(bil.weight), b) + _np(bil.bias)
    np.testing.assert_allclose(_np(bil(_t(a), _t(b))), expect, rtol=1e-10)
    assert ember.autograd.gradcheck(lambda u: bil(u, _t(b)), (_t(a, grad=True),))


def test_linear_default_init_bounds():
    lin = nn.Linear(16, 8)
    bound = 1 / 4  # kaiming_uniform(a=sqrt(5)) gives 1/sqrt(fan_in) for the weight too
    assert _np(lin.weight).max() <= bound and _np(lin.weight).min() >= -bound
    assert _np(lin.bias).max() <= bound
    assert _np(lin.weight).std() > 0.05


def test_batchnorm_training_and_eval(device):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 3, 2, 2)) * 2 + 1
    bn = nn.BatchNorm2d(3, momentum=0.1).double().to(device)
    out = bn(_t(x, device))
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expect = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
    np.testing.assert_allclose(_np(out), expect, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(_np(bn.running_mean), 0.1 * mean, rtol=1e-10)
    np.testing.assert_allclose(_np(bn.running_var), 0.9 + 0.1 * x.var(axis=(0, 2, 3), ddof=1), rtol=1e-10)
    assert bn.num_batches_tracked.item() == 1
    bn.eval()
    out = bn(_t(x, device))
    rm, rv = _np(bn.running_mean), _np(bn.running_var)
    np.testing.assert_allclose(_np(out), (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5),
                               rtol=1e-10)
    assert bn.num_batches_tracked.item() == 1


def test_batchnorm_cumulative_momentum_and_1d():
    bn = nn.BatchNorm1d(2, momentum=None, affine=False).double()
    xs = [np.random.default_rng(i).standard_normal((5, 2)) for i in range(3)]
    for x in xs:
        bn(_t(x))
    np.testing.assert_allclose(_np(bn.running_mean), np.mean([x.mean(0) for x in xs], axis=0), rtol=1e-10)
    assert list(dict(bn.named_parameters())) == []
    bn3 = nn.BatchNorm1d(2).double()
    x3 = np.random.default_rng(9).standard_normal((3, 2, 4))
    out = bn3(_t(x3))
    m, v = x3.mean(axis=(0, 2)).reshape(1, 2, 1), x3.var(axis=(0, 2)).reshape(1, 2, 1)
    np.testing.assert_allclose(_np(out), (x3 - m) / np.sqrt(v + 1e-5), rtol=1e-6)
    nt = nn.BatchNorm1d(2, track_running_stats=False)
    assert nt.running_mean is None and "running_mean" not in nt.state_dict()
    x = _t(np.random.default_rng(1).standard_normal((4, 2)), grad=True)
    bng = nn.BatchNorm1d(2).double()
    assert ember.autograd.gradcheck(lambda a: bng(a), (x,))


def test_layer_and_group_norm(device):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 3))
    ln = nn.LayerNorm((4, 3)).double().to(device)
    m, v = x.mean(axis=(1, 2), keepdims=True), x.var(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(_np(ln(_t(x, device))), (x - m) / np.sqrt(v + 1e-5), rtol=1e-8)
    gn = nn.GroupNorm(2, 4).double().to(device)
    g = x.reshape(2, 2, 6)
    expect = ((g - g.mean(-1, keepdims=True)) / np.sqrt(g.var(-1, keepdims=True) + 1e-5)).reshape(x.shape)
    np.testing.assert_allclose(_np(gn(_t(x, device))), expect, rtol=1e-8)
    if device == "cpu":
        xg = _t(x, grad=True)
        w = _t(rng.standard_normal(3), grad=True)
        assert ember.autograd.gradcheck(lambda a, b: F.layer_norm(a, (3,), b), (xg, w))
        assert ember.autograd.gradcheck(lambda a: F.group_norm(a, 2), (xg,))
    assert repr(ln) == "LayerNorm((4, 3), eps=1e-05, elementwise_affine=True, bias=True)"  # as PyTorch 2.13


def test_embedding(device):
    emb = nn.Embedding(5, 3, padding_idx=1).to(device)
    assert np.all(_np(emb.weight)[1] == 0)
    idx = ember.tensor([[0, 1, 4], [1, 4, 4]], device=device)
    out = emb(idx)
    np.testing.assert_array_equal(_np(out), _np(emb.weight)[idx.cpu().numpy()])
    out.sum().backward()
    g = _np(emb.weight.grad)
    np.testing.assert_array_equal(g[:, 0], [1, 0, 0, 0, 3])  # padding row gets no gradient
    pre = ember.arange(6.0).reshape(2, 3)
    e2 = nn.Embedding.from_pretrained(pre)
    assert not e2.weight.requires_grad and e2(ember.tensor([1])).tolist() == [[3.0, 4.0, 5.0]]
    e3 = nn.Embedding(3, 2, max_norm=1.0)
    with ember.no_grad():
        e3.weight.copy_(ember.tensor([[3.0, 4.0], [0.1, 0.0], [0.0, 2.0]]))
    e3(ember.tensor([0, 1]))
    np.testing.assert_allclose(_np(e3.weight)[0], [0.6, 0.8], rtol=1e-5)
    np.testing.assert_allclose(_np(e3.weight)[2], [0.0, 2.0])  # not looked up: untouched
    assert repr(emb) == "Embedding(5, 3, padding_idx=1)"


@pytest.mark.parametrize("mode", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first,bidirectional,layers", [(False, False, 1), (True, True, 2)])
def test_recurrent_against_numpy(mode, batch_first, bidirectional, layers, device):
    cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[mode]
    mod = cls(3, 4, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional).double().to(device)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((5, 2, 3))  # (L, N, in)
    nd = 2 if bidirectional else 1
    h0 = rng.standard_normal((layers * nd, 2, 4))
    c0 = rng.standard_normal((layers * nd, 2, 4))
    xin = x.transpose(1, 0, 2) if batch_first else x
    hx = (_t(h0, device), _t(c0, device)) if mode == "LSTM" else _t(h0, device)
    out, state = mod(_t(xin, device), hx)
    eo, eh, ec = ref.rnn(mod, mode, x, h0, c0)
    if batch_first:
        eo = eo.transpose(1, 0, 2)
    np.testing.assert_allclose(_np(out), eo, rtol=1e-8, atol=1e-10)
    if mode == "LSTM":
        np.testing.assert_allclose(_np(state[0]), eh, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(_np(state[1]), ec, rtol=1e-8, atol=1e-10)
    else:
        np.testing.assert_allclose(_np(state), eh, rtol=1e-8, atol=1e-10)
    assert out.shape == ((2, 5, 4 * nd) if batch_first else (5, 2, 4 * nd))


def test_recurrent_names_shapes_gradcheck():
    lstm = nn.LSTM(3, 2, num_layers=2, bidirectional=True)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:8] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_ih_l0_reverse",
                         "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse"]
    assert lstm.weight_ih_l1.shape == (8, 4) and lstm.weight_hh_l0.shape == (8, 2)
    assert nn.GRU(3, 2).weight_ih_l0.shape == (6, 3)
    bound = 1 / np.sqrt(2)
    assert all(np.abs(_np(p)).max() <= bound for p in lstm.parameters())
    out, (h, c) = lstm(ember.randn(4, 3))  # unbatched
    assert out.shape == (4, 4) and h.shape == (4, 2)
    gru = nn.GRU(2, 2, bidirectional=True).double()
    x = ember.randn(3, 1, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: gru(a)[0], (x,))
    cell = nn.LSTMCell(2, 3).double()
    h1, c1 = cell(ember.randn(4, 2, dtype=ember.float64))
    assert h1.shape == (4, 3)
    assert repr(lstm) == "LSTM(3, 2, num_layers=2, bidirectional=True)"


def _np_mha(mha, q, k, v, key_padding_mask=None, attn_mask=None):
    e, h = mha.embed_dim, mha.num_heads
    hd = e // h
    w, b = _np(mha.in_proj_weight), _np(mha.in_proj_bias)
    qp, kp, vp = q @ w[:e].T + b[:e], k @ w[e:2 * e].T + b[e:2 * e], v @ w[2 * e:].T + b[2 * e:]
    L, N, _ = q.shape
    S = k.shape[0]
    out = np.zeros((L, N, e))
    weights = np.zeros((N, h, L, S))
    for n in range(N):
        for head in range(h):
            sl = slice(head * hd, (head + 1) * hd)
            s = qp[:, n, sl] @ kp[:, n, sl].T / np.sqrt(hd)
            if attn_mask is not None:
                s = np.where(attn_mask, -np.inf, s)
            if key_padding_mask is not None:
                s = np.where(key_padding_mask[n][None, :], -np.inf, s)
            a = np.exp(ref.log_softmax(s, -1))
            weights[n, head] = a
            out[:, n, sl] = a @ vp[:, n, sl]
    out = out @ _np(mha.out_proj.weight).T + _np(mha.out_proj.bias)
    return out, weights


def test_multihead_attention(device):
    mha = nn.MultiheadAttention(4, 2).double()
    with ember.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    mha = mha.to(device)
    rng = np.random.default_rng(6)
    q, k, v = rng.standard_normal((3, 2, 4)), rng.standard_normal((5, 2, 4)), rng.standard_normal((5, 2, 4))
    kpm = np.array([[False, False, False, True, True], [False] * 5])
    am = np.triu(np.ones((3, 5), bool), 3)
    out, w = mha(_t(q, device), _t(k, device), _t(v, device), key_padding_mask=ember.tensor(kpm, device=device),
                 attn_mask=ember.tensor(am, device=device))
    eo, ew = _np_mha(mha, q, k, v, kpm, am)
    np.testing.assert_allclose(_np(out), eo, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_np(w), ew.mean(1), rtol=1e-8, atol=1e-10)
    _, w_all = mha(_t(q, device), _t(k, device), _t(v, device), average_attn_weights=False)
    assert w_all.shape == (2, 2, 3, 5)
    mbf = nn.MultiheadAttention(4, 2, batch_first=True, kdim=3, vdim=5)
    o, _ = mbf(ember.randn(2, 3, 4), ember.randn(2, 6, 3), ember.randn(2, 6, 5))
    assert o.shape == (2, 3, 4) and mbf.in_proj_weight is None and mbf.k_proj_weight.shape == (4, 3)
    names = [n for n, _ in nn.MultiheadAttention(4, 2).named_parameters()]
    assert names == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"]


def test_transformer_encoder():
    layer = nn.TransformerEncoderLayer(d_model=4, nhead=2, dim_feedforward=8, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, num_layers=2).double()
    assert len(enc.layers) == 2 and enc.layers[0] is not enc.layers[1]
    x = ember.randn(2, 3, 4, dtype=ember.float64, requires_grad=True)
    out = enc(x)
    assert out.shape == (2, 3, 4)
    # post-norm: each position's output is layer-normalised
    np.testing.assert_allclose(_np(out).mean(-1), 0, atol=1e-10)
    # reference for one post-norm layer in NumPy
    lyr = enc.layers[0]
    xn = _np(x)
    a, _ = _np_mha(lyr.self_attn, xn.transpose(1, 0, 2), xn.transpose(1, 0, 2), xn.transpose(1, 0, 2))
    a = a.transpose(1, 0, 2)

    def ln(z):
        return (z - z.mean(-1, keepdims=True)) / np.sqrt(z.var(-1, keepdims=True) + 1e-5)

    h1 = ln(xn + a)
    ff = np.maximum(h1 @ _np(lyr.linear1.weight).T + _np(lyr.linear1.bias), 0) @ _np(lyr.linear2.weight).T + _np(lyr.linear2.bias)
    np.testing.assert_allclose(_np(lyr(x)), ln(h1 + ff), rtol=1e-8, atol=1e-10)
    small = nn.TransformerEncoderLayer(4, 2, 4, dropout=0.0, activation="gelu", norm_first=True).double()
    xs = ember.randn(2, 1, 4, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda t: small(t), (xs,))


def test_conv_layers_and_repr(device):
    conv = nn.Conv2d(2, 4, 3, stride=2, padding=1, groups=2, bias=False).double().to(device)
    x = np.random.default_rng(7).standard_normal((1, 2, 5, 5))
    np.testing.assert_allclose(_np(conv(_t(x, device))), ref.conv2d(x, _np(conv.weight), None, (2, 2), (1, 1), (1, 1), 2),
                               rtol=1e-10)
    assert repr(conv) == "Conv2d(2, 4, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), groups=2, bias=False)"
    c1 = nn.Conv1d(2, 3, 3, padding="same", padding_mode="reflect")
    assert c1(ember.randn(1, 2, 7)).shape == (1, 3, 7)
    ct = nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    assert ct(ember.randn(1, 2, 4, 4)).shape == (1, 3, 7, 7)
    assert ct(ember.randn(1, 2, 4, 4), output_size=(8, 8)).shape == (1, 3, 8, 8)
    assert ct.weight.shape == (2, 3, 3, 3)
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.BatchNorm2d(6)) == "BatchNorm2d(6, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"
    assert repr(nn.Dropout(0.25)) == "Dropout(p=0.25, inplace=False)"
    assert nn.Flatten()(ember.zeros(2, 3, 4)).shape == (2, 12)
    assert nn.Unflatten(1, (3, 4))(ember.zeros(2, 12)).shape == (2, 3, 4)
