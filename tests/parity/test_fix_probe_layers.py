"""nn layers with many options that differed from PyTorch 2.13 (a probe of conv, norm, RNN, attention).

``ConvTranspose*d(output_size=)`` accepts sizes up to ``stride - 1`` past the minimum only (dilation does
not widen the range), takes the batch and channel dims too, and names every dim in its error; the
transposed-conv output-padding error names height and width; BatchNorm trains on an empty batch (the
running statistics stay as they are) and names a vector of the wrong length; GroupNorm normalises an
empty batch and names a weight of the wrong length; ``Unflatten`` keeps its size as given; RNN/GRU/LSTM
check the state's rank, the input's dtype against the weights' and an empty sequence, and the cells
check their input's and states' ranks and sizes; ``F.multi_head_attention_forward`` exists (static
keys/values, separate projections) and MultiheadAttention runs on it, with PyTorch's shape assertions;
SDPA checks its inputs' dtypes and ranks and takes zero keys; EmbeddingBag's max mode names a bad index
as PyTorch's max kernel does. Each row runs on real PyTorch and on ember (every device) and compares
values, dtypes, exception types (and, where noted, messages) and gradients.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(41)


def RND(*shape: int, dtype=F32, grad=True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), grad=grad)


def _init(L, m, seed=0):
    """The same weights on both sides: every floating state_dict entry drawn in state_dict order."""
    rng = np.random.default_rng(seed)
    with L.no_grad():
        for name, t in m.state_dict().items():
            if t.dtype.is_floating_point:
                a = rng.standard_normal(tuple(t.shape)) * 0.4
                a = np.abs(a) + 0.5 if name.endswith("running_var") else a
                t.copy_(L.tensor(a.astype(np.float32 if t.dtype == L.float32 else np.float64)))
    return m


def _with_param_grads(L, m, out):
    """``out`` plus the gradient of every parameter under a fixed upstream gradient (compared as values)."""
    outs = [o for o in (out if isinstance(out, tuple) else (out,)) if isinstance(o, L.Tensor) and o.requires_grad]
    params = [p for p in m.parameters() if p.requires_grad]
    if not outs or not params:
        return out
    ups = [L.tensor(np.cos(np.arange(o.numel())).reshape(tuple(o.shape)).astype(np.float32)).to(o.device) for o in outs]
    grads = L.autograd.grad(outs, params, ups, retain_graph=True, allow_unused=True)
    return out, tuple(g for g in grads if g is not None)


def _message(fn) -> tuple[type, str]:
    """The builtin exception type and message ``fn(lib)`` raises on each side (torch. spelled ember.)."""
    seen = []
    for L in (torch, ember):
        with pytest.raises(Exception) as info:  # noqa: PT011 - both sides' exceptions are compared
            fn(L)
        seen.append((info.type, str(info.value).replace("torch.", "ember.")))
    (t_type, t_msg), (e_type, e_msg) = seen
    base = next(k for k in t_type.__mro__ if k.__module__ == "builtins")
    assert issubclass(e_type, base), f"PyTorch raised {t_type.__name__}, ember {e_type.__name__}"
    assert e_msg == t_msg
    return base, t_msg


# ---- ConvTranspose output_size and output_padding ----------------------------------------------
def _convt(L, x, *, nd=2, ctor=None, output_size=None):
    m = _init(L, getattr(L.nn, f"ConvTranspose{nd}d")(4, 6, 3, **(ctor or {})).to(x.device))
    return _with_param_grads(L, m, m(x, output_size=output_size))


CONVT = [
    ((RND(2, 4, 6, 7),), {"ctor": {"stride": 2, "padding": 1}, "output_size": (12, 14)}),
    ((RND(2, 4, 6, 7),), {"ctor": {"stride": 2, "padding": 1}, "output_size": [2, 6, 11, 13]}),  # with N, C
    ((RND(4, 6, 7),), {"ctor": {"stride": 2, "padding": 1}, "output_size": (6, 12, 13)}),  # unbatched, with C
    ((RND(2, 4, 6, 7),), {"ctor": {"stride": 2, "padding": 1}, "output_size": (1, 11, 13)}),  # ValueError
    ((RND(2, 4, 6, 7),), {"ctor": {"stride": 2, "padding": 1}, "output_size": (13, 13)}),
    # the range is the stride's alone: dilation 2 with stride 1 allows the minimum only
    ((RND(2, 4, 6, 7),), {"ctor": {"dilation": 2}, "output_size": (10, 11)}),
    ((RND(2, 4, 6, 7),), {"ctor": {"dilation": 2}, "output_size": (11, 12)}),
    ((RND(2, 4, 6),), {"nd": 1, "ctor": {"stride": 3}, "output_size": [19]}),
    ((RND(1, 4, 2, 3, 2),), {"nd": 3, "ctor": {"stride": 2}, "output_size": (6, 7, 6)}),
]


@pytest.mark.parametrize("args,kwargs", CONVT, ids=range(len(CONVT)))
def test_conv_transpose_output_size(device, args, kwargs):
    check(_convt, args, kwargs, device, tol=10)


def test_conv_transpose_messages():
    _message(lambda L: L.nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1)(L.zeros(2, 4, 6, 7), output_size=(9, 9)))
    _message(lambda L: L.nn.ConvTranspose2d(4, 6, 3, stride=2)(L.zeros(2, 4, 6, 7), output_size=(1, 9, 9)))
    _message(lambda L: L.nn.functional.conv_transpose2d(L.zeros(1, 4, 5, 5), L.zeros(4, 3, 3, 3), stride=2,
                                                        output_padding=2))
    _message(lambda L: L.nn.functional.conv_transpose1d(L.zeros(1, 4, 5), L.zeros(4, 3, 3), stride=2,
                                                        output_padding=2))


# ---- BatchNorm / GroupNorm on empty batches, vectors of the wrong length -----------------------
def _bn(L, x, *, nd=2, train=True, ctor=None, steps=1):
    m = _init(L, getattr(L.nn, f"BatchNorm{nd}d")(3, **(ctor or {})).to(x.device))
    m.train(train)
    outs = [m(x) for _ in range(steps)]
    buffers = tuple(b for b in m.buffers())
    return _with_param_grads(L, m, outs[-1]), buffers


def _gn(L, x, *, groups=2, channels=6, affine=True):
    m = _init(L, L.nn.GroupNorm(groups, channels, affine=affine).to(x.device))
    return _with_param_grads(L, m, m(x))


NORM = [
    (_bn, (RND(0, 3, 2, 2),), {}),  # empty batch: no error, running stats untouched
    (_bn, (RND(2, 3, 0, 2),), {"ctor": {"momentum": None}, "steps": 2}),
    (_bn, (RND(0, 3),), {"nd": 1, "ctor": {"affine": False}}),
    (_bn, (RND(0, 3, 2, 2),), {"train": False}),
    (_bn, (RND(1, 3),), {"nd": 1}),  # one value per channel: ValueError
    (_bn, (RND(2, 4, 2, 2),), {}),  # running_mean of the wrong length: RuntimeError
    (_bn, (RND(2, 4, 2, 2),), {"train": False}),
    (_bn, (RND(0, 4, 2, 2),), {}),  # ... not checked for an empty input
    (_bn, (RND(4, 3, 5),), {"nd": 1, "ctor": {"momentum": None}, "steps": 3}),
    (_gn, (RND(0, 6, 2),), {}),
    (_gn, (RND(0, 6),), {"affine": False}),
    (_gn, (RND(3, 4, 2),), {"groups": 2, "channels": 6}),  # weight of the wrong length: RuntimeError
    (_gn, (RND(2, 6, 3, 2),), {"groups": 3}),
]


@pytest.mark.parametrize("fn,args,kwargs", NORM, ids=range(len(NORM)))
def test_norm_edges(device, fn, args, kwargs):
    check(fn, args, kwargs, device, tol=10)


def test_norm_messages():
    _message(lambda L: L.nn.BatchNorm2d(3)(L.zeros(2, 4, 2, 2)))
    _message(lambda L: L.nn.functional.batch_norm(L.zeros(2, 3), L.zeros(3), L.ones(3), weight=L.ones(2)))
    _message(lambda L: L.nn.GroupNorm(4, 6))
    _message(lambda L: L.nn.GroupNorm(2, 6)(L.zeros(3, 4, 2)))


# ---- Unflatten -----------------------------------------------------------------------------------
@pytest.mark.parametrize("size", [[2, 2], (2, -1), [2, 2.0], "22", 4])
def test_unflatten_size(size):
    for_both = []
    for L in (torch, ember):
        try:
            m = L.nn.Unflatten(-1, size)
            for_both.append((repr(m), m.unflattened_size, tuple(m(L.zeros(3, 4)).shape)))
        except Exception as exc:  # noqa: BLE001 - compared below
            for_both.append((type(exc), str(exc)))
    assert for_both[0] == for_both[1]


# ---- RNN / GRU / LSTM: state ranks, dtypes, empty sequences ------------------------------------
I, H = 4, 5


def _rnn(L, x, *hx, mode="LSTM", ctor=None):
    m = _init(L, getattr(L.nn, mode)(I, H, **(ctor or {})).to(x.device))
    state = (tuple(hx) if mode == "LSTM" else hx[0]) if hx else None
    return _with_param_grads(L, m, m(x, state))


RNN = [
    ((RND(3, 2, I), RND(1, H)), {"mode": "RNN"}),  # 2-D state for batched input: RuntimeError
    ((RND(3, I), RND(1, 1, H)), {"mode": "GRU"}),  # 3-D state for unbatched input
    ((RND(3, 2, I), RND(1, H), RND(1, 2, H)), {}),
    ((RND(3, I), RND(1, H), RND(1, H)), {}),
    ((RND(3, I), RND(2, H), RND(2, H)), {"ctor": {"num_layers": 2, "bidirectional": False}}),
    ((RND(3, 2, I, dtype=F64),), {"mode": "RNN"}),  # input dtype != weight dtype: ValueError
    ((RND(3, 2, I, dtype=F64),), {}),
    ((RND(0, 2, I),), {}),  # empty sequence: RuntimeError
    ((RND(0, 2, I),), {"mode": "GRU"}),
    ((RND(3, 0, I),), {"mode": "GRU"}),
    ((RND(3, 2, 1, I),), {}),  # 4-D input: ValueError
]


@pytest.mark.parametrize("args,kwargs", RNN, ids=range(len(RNN)))
def test_rnn_state_and_input_checks(device, args, kwargs):
    check(_rnn, args, kwargs, device, tol=10)


def _cell(L, x, *hx, mode="LSTMCell", ctor=None):
    m = _init(L, getattr(L.nn, mode)(I, H, **(ctor or {})).to(x.device))
    state = (tuple(hx) if mode == "LSTMCell" else hx[0]) if hx else None
    return _with_param_grads(L, m, m(x, state))


CELLS = [
    ((RND(2, 3, I),), {"mode": "RNNCell"}),  # 3-D input: ValueError
    ((RND(2, 3, I),), {"mode": "GRUCell"}),
    ((RND(2, 3, I),), {}),
    ((RND(3, I), RND(1, 3, H)), {"mode": "GRUCell"}),  # 3-D state: ValueError
    ((RND(3, I), RND(1, 3, H), RND(3, H)), {}),
    ((RND(I), RND(3, H)), {"mode": "RNNCell"}),  # unbatched input, batched state: RuntimeError
    ((RND(I), RND(3, H), RND(3, H)), {}),
    ((RND(3, I + 1),), {"mode": "GRUCell"}),
    ((RND(3, I), RND(2, H)), {"mode": "RNNCell"}),
    ((RND(3, I), RND(3, H), RND(3, H + 1)), {}),
    ((RND(I), RND(H)), {"mode": "RNNCell", "ctor": {"nonlinearity": "relu"}}),
    ((RND(I), RND(H), RND(H)), {}),
    ((RND(0, I),), {"mode": "GRUCell"}),
]


@pytest.mark.parametrize("args,kwargs", CELLS, ids=range(len(CELLS)))
def test_rnn_cell_checks(device, args, kwargs):
    check(_cell, args, kwargs, device, tol=10)


def test_rnn_messages():
    _message(lambda L: L.nn.RNN(I, H)(L.zeros(3, 2, I), L.zeros(1, H)))
    _message(lambda L: L.nn.LSTM(I, H)(L.zeros(3, I), (L.zeros(1, 1, H), L.zeros(1, 1, H))))
    _message(lambda L: L.nn.GRU(I, H)(L.zeros(3, 2, 1, I)))
    _message(lambda L: L.nn.RNN(I, H)(L.zeros(3, 2, 1, I)))
    _message(lambda L: L.nn.LSTM(I, H)(L.zeros(0, 2, I)))
    _message(lambda L: L.nn.LSTM(I, 0))
    _message(lambda L: L.nn.GRU(I, H, num_layers=0))
    _message(lambda L: L.nn.RNNCell(I, H, nonlinearity="foo")(L.zeros(2, I)))
    _message(lambda L: L.nn.LSTMCell(I, H)(L.zeros(2, I), (L.zeros(2, H), L.zeros(2, 1, H))))
    _message(lambda L: L.nn.GRUCell(I, H)(L.zeros(2, I + 1)))
    _message(lambda L: L.nn.GRUCell(I, H)(L.zeros(2, I), L.zeros(3, H)))
    _message(lambda L: L.nn.LSTMCell(I, H)(L.zeros(2, I), (L.zeros(2, H), L.zeros(2, H + 1))))


# ---- F.multi_head_attention_forward and MultiheadAttention's checks ------------------------------
E, NH, TL, SL, NB = 8, 2, 4, 5, 3


def _fmha(L, q, k, v, w, b, ow, ob, *extra, names=(), **kw):
    extra = dict(zip(names, extra))
    bias_k, bias_v = extra.pop("bias_k", None), extra.pop("bias_v", None)
    return L.nn.functional.multi_head_attention_forward(
        q, k, v, E, NH, w, b, bias_k, bias_v, kw.pop("add_zero_attn", False), 0.0, ow, ob, **extra, **kw)


Q, K = RND(TL, NB, E), RND(SL, NB, E)
PROJ = (RND(3 * E, E), RND(3 * E), RND(E, E), RND(E))
STATIC = (RND(NB * NH, 6, E // NH), RND(NB * NH, 6, E // NH))
KPM = Arg(np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], bool))
FMHA = [
    ((Q, K, K, *PROJ), {"training": False}),
    ((Q, K, K, *PROJ), {"training": False, "need_weights": False}),
    ((Q, K, K, *PROJ), {"training": False, "average_attn_weights": False}),
    ((Q, K, K, *PROJ, *STATIC), {"names": ("static_k", "static_v"), "training": False}),
    ((Q, K, K, *PROJ, *STATIC), {"names": ("static_k", "static_v"), "need_weights": False, "add_zero_attn": True}),
    ((Q, K, K, *PROJ, RND(NB * NH, 6, E // NH + 1), STATIC[1]), {"names": ("static_k", "static_v")}),
    ((Q, K, K, *PROJ, RND(1, 1, E), RND(1, 1, E), *STATIC),
     {"names": ("bias_k", "bias_v", "static_k", "static_v")}),  # AssertionError: bias and static keys
    ((Q, K, K, *PROJ, RND(1, 1, E), RND(1, 1, E), KPM),
     {"names": ("bias_k", "bias_v", "key_padding_mask"), "add_zero_attn": True, "training": False}),
    ((Q, K, K, *PROJ, Arg(np.zeros((TL, SL), F32), grad=False)),
     {"names": ("attn_mask",), "need_weights": False, "is_causal": True}),
    ((Q, K, K, *PROJ, RND(NB, SL + 1, grad=False)), {"names": ("key_padding_mask",)}),  # AssertionError
    ((Q, K, K, *PROJ, RND(1, NB, SL, grad=False)), {"names": ("key_padding_mask",)}),
    ((Q, K, K, *PROJ, RND(1, 1, TL, SL, grad=False)), {"names": ("attn_mask",)}),
    ((Q, K, RND(SL + 1, NB, E), *PROJ), {}),  # key and value shapes differ: AssertionError
    ((RND(1, TL, NB, E), K, K, *PROJ), {}),  # 4-D query
    ((RND(TL, E), RND(SL, E), RND(SL, E), *PROJ, RND(3, TL, SL, grad=False)), {"names": ("attn_mask",)}),
    ((RND(TL, E), RND(SL, E), RND(SL, E), *PROJ, RND(NH, TL, SL, grad=False)), {"names": ("attn_mask",)}),
    ((Q, K, K, *PROJ), {"training": True, "need_weights": True, "key_padding_mask": None}),  # dropout_p 0
]


@pytest.mark.parametrize("args,kwargs", FMHA, ids=range(len(FMHA)))
def test_multi_head_attention_forward(device, args, kwargs):
    check(_fmha, args, kwargs, device, tol=10)


def _fmha_separate(L, q, k, v, wq, wk, wv, ow, *, drop=None):
    weights = {"q_proj_weight": wq, "k_proj_weight": wk, "v_proj_weight": wv}
    if drop:
        weights[drop] = None
    return L.nn.functional.multi_head_attention_forward(q, k, v, E, NH, None, None, None, None, False, 0.5, ow,
                                                        None, training=False, use_separate_proj_weight=True,
                                                        **weights)


SEPARATE = (Q, RND(SL, NB, 6), RND(SL, NB, 7), RND(E, E), RND(E, 6), RND(E, 7), RND(E, E))


@pytest.mark.parametrize("drop", [None, "v_proj_weight"])
def test_multi_head_attention_forward_separate(device, drop):
    check(_fmha_separate, SEPARATE, {"drop": drop}, device, tol=10)


def _mha(L, q, k, v, *masks, names=(), ctor=None, **kw):
    m = _init(L, L.nn.MultiheadAttention(E, NH, **(ctor or {})).to(q.device)).eval()
    return _with_param_grads(L, m, m(q, k, v, **dict(zip(names, masks)), **kw))


MHA = [
    ((Q, K, RND(SL + 1, NB, E)), {}),  # AssertionError, as PyTorch's functional form
    ((RND(1, TL, NB, E), K, K), {}),
    ((Q, K, K, RND(NB, SL + 1, grad=False)), {"names": ("key_padding_mask",)}),
    ((Q, K, K, RND(TL, SL + 1, grad=False)), {"names": ("attn_mask",)}),  # RuntimeError
    ((Q, RND(SL, NB, 6), RND(SL, NB, 7), KPM), {"names": ("key_padding_mask",), "need_weights": False,
                                                 "ctor": {"kdim": 6, "vdim": 7, "add_bias_kv": True}}),
    ((Q, K, K, Arg(np.triu(np.ones((TL, SL), bool), 1)), KPM),
     {"names": ("attn_mask", "key_padding_mask"), "average_attn_weights": False, "ctor": {"add_zero_attn": True}}),
    ((RND(NB, TL, E), RND(NB, SL, E), RND(NB, SL, E)), {"ctor": {"batch_first": True}}),
]


@pytest.mark.parametrize("args,kwargs", MHA, ids=range(len(MHA)))
def test_multihead_attention_checks(device, args, kwargs):
    check(_mha, args, kwargs, device, tol=10)


def test_multihead_attention_mismatched_mask_warning():
    seen = []
    for L in (torch, ember):
        m = L.nn.MultiheadAttention(E, NH)
        x = L.zeros(TL, NB, E)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            m(x, x, x, attn_mask=L.zeros(TL, TL), key_padding_mask=L.zeros(NB, TL, dtype=L.bool))
        seen.append(sorted(str(w.message) for w in caught if "mismatched" in str(w.message)))
    assert seen[0] == seen[1] and seen[0]


def test_multihead_attention_messages():
    _message(lambda L: L.nn.MultiheadAttention(E, NH)(L.zeros(TL, NB, E), L.zeros(SL, NB, E), L.zeros(SL + 1, NB, E)))
    _message(lambda L: L.nn.MultiheadAttention(E, NH)(L.zeros(1, TL, NB, E), L.zeros(SL, NB, E), L.zeros(SL, NB, E)))
    _message(lambda L: (lambda x: L.nn.MultiheadAttention(E, NH)(x, x, x, key_padding_mask=L.zeros(NB, TL + 1)))(
        L.zeros(TL, NB, E)))
    _message(lambda L: (lambda x: L.nn.MultiheadAttention(E, NH)(x, x, x, attn_mask=L.zeros(NB, TL, TL)))(
        L.zeros(TL, NB, E)))


# ---- scaled_dot_product_attention's input checks ------------------------------------------------
def _sdpa(L, q, k, v, **kw):
    return L.nn.functional.scaled_dot_product_attention(q, k, v, **kw)


SDPA = [
    ((RND(2, 2, 3, 4, dtype=F64), RND(2, 2, 5, 4), RND(2, 2, 5, 4)), {}),  # RuntimeError: dtypes differ
    ((RND(4), RND(4), RND(4)), {}),  # RuntimeError: 1-D
    ((RND(2, 2, 3, 4), RND(2, 2, 0, 4), RND(2, 2, 0, 6)), {}),  # no keys: zeros
    ((RND(2, 2, 3, 4), RND(2, 2, 0, 4), RND(2, 2, 0, 4)), {"is_causal": True}),
    ((RND(2, 0, 4), RND(2, 5, 4), RND(2, 5, 4)), {"scale": 0.5}),
]


@pytest.mark.parametrize("args,kwargs", SDPA, ids=range(len(SDPA)))
def test_sdpa_input_checks(device, args, kwargs):
    check(_sdpa, args, kwargs, device)


def test_sdpa_messages():
    _message(lambda L: _sdpa(L, L.zeros(2, 3, 4, dtype=L.float64), L.zeros(2, 5, 4), L.zeros(2, 5, 4)))
    _message(lambda L: _sdpa(L, L.zeros(4), L.zeros(4), L.zeros(4)))


# ---- EmbeddingBag: max mode's bad-index message --------------------------------------------------
@pytest.mark.parametrize("indices", [[1, 10, -1, 3], [1, -1, 10]])
def test_embedding_bag_max_bad_index(indices):
    _message(lambda L: L.nn.functional.embedding_bag(L.tensor(indices), L.zeros(10, 3), L.tensor([0, 2]),
                                                     mode="max"))


# ---- softmax over an empty dim: an empty result (the kernels' max has no identity) ------------------
@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((2, 0), -1), ((0, 3), 0), ((0, 3), 1), ((2, 0, 4), 1), ((2, 0, 4), 2)])
def test_softmax_over_empty(device, fn, shape, dim):
    check(lambda L, x: (getattr(L, fn)(x, dim), getattr(L.nn.functional, fn)(x, dim=dim), getattr(x, fn)(dim)),
          (RND(*shape),), {}, device)


def test_attention_weights_over_zero_keys(device):
    def fn(L, q, k):
        m = _init(L, L.nn.MultiheadAttention(4, 2)).to(q.device)
        return m(q, k, k, need_weights=True)

    check(fn, (RND(3, 1, 4), RND(0, 1, 4)), {}, device)
