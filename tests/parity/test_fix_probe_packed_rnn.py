"""``nn.utils.rnn`` and RNN/LSTM/GRU on packed and padded input, probed against PyTorch 2.13.

Fixed here: a length past the padded length packs as PyTorch's clamping slice does (no error); a 1-D
input, 0-d sequences, 2-D lengths with ``enforce_sorted=False``, a non-int ``total_length``, a complex
``padding_value`` and mismatched trailing sizes in ``pad_sequence`` raise PyTorch's errors;
``unpad_sequence`` transposes its input in place, wants a lengths tensor of one length per sequence
and keeps the steps ``t < length``; ``PackedSequence((data,))`` names its AssertionError; a packed
batch's initial state is put in sorted order before it is checked (extra rows pass, as in PyTorch);
a state whose dtype is not the weights' raises the matmul error (the LSTM computed silently).
Every row runs on real PyTorch (CPU) and on ember (every device) with the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

R = np.random.default_rng(7)
X = R.standard_normal((4, 3, 2)).astype(np.float32)  # (T, B, F)
SEQS = [R.standard_normal((n, 2)).astype(np.float32) for n in (2, 4, 1)]


def _lib_tensor(L, a, device, grad=False):
    if L is torch:
        return torch.tensor(a, requires_grad=grad)
    return ember.tensor(a, device=device, requires_grad=grad)


def _same(t_val, e_val) -> None:
    """Same structure, and tensors with the same dtype, shape and values (NaN where PyTorch has NaN)."""
    if isinstance(t_val, torch.Tensor):
        assert isinstance(e_val, ember.Tensor), type(e_val)
        assert str(t_val.dtype).split(".")[-1] == str(e_val.dtype).split(".")[-1]
        assert tuple(t_val.shape) == tuple(e_val.shape)
        np.testing.assert_allclose(e_val.detach().cpu().numpy(), t_val.detach().numpy(), rtol=1e-5, atol=2e-6)
    elif isinstance(t_val, (tuple, list)):
        assert isinstance(e_val, (tuple, list)) and len(t_val) == len(e_val)
        assert type(t_val).__name__ == type(e_val).__name__
        for a, b in zip(t_val, e_val):
            _same(a, b)
    else:
        assert t_val == e_val


def _both(fn, device) -> None:
    """``fn(L, T)`` on both sides: the same result or the same builtin error and message."""
    seen = []
    for L in (torch, ember):
        try:
            seen.append(("ok", fn(L, lambda a, grad=False, L=L: _lib_tensor(L, a, device, grad))))
        except Exception as exc:  # noqa: BLE001 - the error is what we compare
            seen.append(("err", exc))
    (tk, tv), (ek, ev) = seen
    if tk == "err" or ek == "err":
        assert tk == ek == "err", f"torch {tk}: {tv!r}; ember {ek}: {ev!r}"
        base = next(k for k in type(tv).__mro__ if k.__module__ == "builtins")
        assert isinstance(ev, base), f"{type(tv).__name__} vs {type(ev).__name__}"
        assert str(ev).replace("ember.", "torch.") == str(tv)
    else:
        _same(tv, ev)


def _u(L):
    return L.nn.utils.rnn


# ---- pack_padded_sequence / pad_packed_sequence ---------------------------------------------------
PACK = [
    ([4, 2, 1], True), ([2, 4, 1], False), ([3, 3, 1], False), ([5, 2, 1], True), ([5, 2, 1], False),
    ([4, 2, 0], True), ([4, 2, 0], False), ([2, 4, 1], True), ([4, 2], True), ([0, 0, 0], False),
]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(("lengths", "enforce_sorted"), PACK)
def test_pack_padded_sequence(device, lengths, enforce_sorted, batch_first):
    def fn(L, T):
        x = T(X.transpose(1, 0, 2).copy() if batch_first else X)
        p = _u(L).pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        assert p.batch_sizes.device.type == "cpu"
        return type(p).__name__, tuple(p)
    _both(fn, device)


@pytest.mark.parametrize("kind", ["tuple", "tensor", "int32", "float", "2d", "0d", "int"])
def test_pack_lengths_kinds(device, kind):
    def fn(L, T):
        lens = {"tuple": (2, 4, 1), "tensor": L.tensor([2, 4, 1]), "int32": L.tensor([2, 4, 1], dtype=L.int32),
                "float": L.tensor([2.0, 4.0, 1.0]), "2d": L.tensor([[2, 4, 1]]), "0d": L.tensor(4), "int": 4}[kind]
        x = T(X[:, :1]) if kind in ("0d", "int") else T(X)
        return tuple(_u(L).pack_padded_sequence(x, lens, enforce_sorted=False))
    _both(fn, device)


@pytest.mark.parametrize("shape", [(4,), (4, 0), (4, 3, 0), (0, 3, 2)])
def test_pack_bad_inputs(device, shape):
    _both(lambda L, T: tuple(_u(L).pack_padded_sequence(T(np.ones(shape, np.float32)), [4, 2, 1])), device)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("total_length", [None, 4, 6, 3, 5.0, True, np.int64(5)])
@pytest.mark.parametrize("padding_value", [0.0, -1.5, float("nan")])
@pytest.mark.parametrize(("lengths", "enforce_sorted"), [([4, 2, 1], True), ([2, 4, 1], False)])
def test_pad_packed_sequence(device, lengths, enforce_sorted, padding_value, total_length, batch_first):
    def fn(L, T):
        p = _u(L).pack_padded_sequence(T(X), lengths, enforce_sorted=enforce_sorted)
        return _u(L).pad_packed_sequence(p, batch_first=batch_first, padding_value=padding_value,
                                         total_length=total_length)
    _both(fn, device)


# ---- pad_sequence / pack_sequence / unpad_sequence / unpack_sequence ------------------------------
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_values_and_grads(device, batch_first, padding_side):
    def fn(L, T):
        seqs = [T(s, grad=True) for s in SEQS]
        out = _u(L).pad_sequence(seqs, batch_first=batch_first, padding_value=-2.0, padding_side=padding_side)
        w = T(np.cos(np.arange(out.numel())).reshape(tuple(out.shape)).astype(np.float32))
        return out, L.autograd.grad((out * w).sum(), seqs)
    _both(fn, device)


PAD_BAD = [
    lambda L, T: _u(L).pad_sequence([T(np.array(1.0)), T(np.array(2.0))]),
    lambda L, T: _u(L).pad_sequence([T(np.ones((3, 2))), T(np.ones((2, 3)))]),
    lambda L, T: _u(L).pad_sequence([T(np.ones((3, 1))), T(np.ones((2, 3)))]),
    lambda L, T: _u(L).pad_sequence([T(np.ones((3, 2)))], padding_value=1j),
    lambda L, T: _u(L).pad_sequence([T(np.ones((3, 2)))], padding_value="a"),
    lambda L, T: _u(L).pad_sequence([T(np.ones((3, 2)))], padding_side="middle"),
    lambda L, T: _u(L).pad_sequence([]),
    lambda L, T: _u(L).pad_sequence([T(np.arange(3)), T(np.arange(2.0))], padding_value=1.5),
    lambda L, T: tuple(_u(L).pack_sequence([T(np.array(3.0)), T(np.array(2.0))])),
    lambda L, T: tuple(_u(L).pack_sequence([T(SEQS[1]), T(SEQS[0][:0])])),
    lambda L, T: tuple(_u(L).pack_sequence([T(s) for s in SEQS])),
    lambda L, T: tuple(_u(L).pack_sequence([T(s) for s in SEQS], enforce_sorted=False)),
    lambda L, T: _u(L).unpack_sequence(_u(L).pack_sequence([T(s) for s in SEQS], enforce_sorted=False)),
    lambda L, T: tuple(_u(L).PackedSequence(T(np.ones(2)))),
    lambda L, T: tuple(_u(L).PackedSequence(T(np.ones(3)), L.tensor([2, 1]), L.tensor([1, 0]))),
]


@pytest.mark.parametrize("case", range(len(PAD_BAD)))
def test_pad_pack_sequence_edges(device, case):
    _both(PAD_BAD[case], device)


P = R.standard_normal((4, 3, 2)).astype(np.float32)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[4, 1, 3], [9, 0, 2], [-1, 2, 2], [1, 2], "list", [2.5, 1.0, float("nan")]])
def test_unpad_sequence(device, lengths, batch_first):
    def fn(L, T):
        padded = T(P.copy())
        lens = [4, 1, 3] if lengths == "list" else L.tensor(lengths)
        if batch_first:
            padded = padded[:3]
        out = _u(L).unpad_sequence(padded, lens, batch_first=batch_first)
        return out, tuple(padded.shape)  # PyTorch transposes the input in place
    _both(fn, device)


def test_unpad_sequence_leaf_requires_grad(device):
    _both(lambda L, T: _u(L).unpad_sequence(T(P, grad=True), L.tensor([1, 2, 3])), device)


# ---- RNN / LSTM / GRU on packed and padded input, the same weights, gradients --------------------
def _modules(mode, kw, device):
    tm = getattr(torch.nn, mode)(3, 4, **kw).double()
    em = getattr(ember.nn, mode)(3, 4, **kw).to(device=device, dtype=ember.float64)
    em.load_state_dict({k: ember.tensor(v.detach().numpy(), device=device) for k, v in tm.state_dict().items()})
    return {torch: tm, ember: em}


RNN_KW = [
    ("RNN", {}), ("RNN", {"num_layers": 2, "bidirectional": True}), ("RNN", {"nonlinearity": "relu", "bidirectional": True}),
    ("GRU", {"bidirectional": True}), ("GRU", {"num_layers": 2, "bias": False}),
    ("LSTM", {"bidirectional": True}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"proj_size": 2}), ("LSTM", {"proj_size": 2, "num_layers": 2, "bidirectional": True}),
]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize(("lengths", "enforce_sorted", "batch_first", "packed"), [
    ([4, 3, 1], True, False, True), ([2, 4, 1, 4], False, True, True), ([3, 3], False, False, True),
    ([3, 2], True, True, False), ([3, 2], True, False, False)])
@pytest.mark.parametrize(("mode", "kw"), RNN_KW)
def test_recurrent_packed_and_padded(device, mode, kw, lengths, enforce_sorted, batch_first, packed, with_state):
    mods = _modules(mode, dict(kw, batch_first=batch_first), device)
    b, t_max = len(lengths), max(lengths) + 1
    x_np = R.standard_normal((b, t_max, 3) if batch_first else (t_max, b, 3))
    layers = (2 if kw.get("bidirectional") else 1) * kw.get("num_layers", 1)
    h_np = R.standard_normal((layers, b, kw.get("proj_size", 0) or 4))
    c_np = R.standard_normal((layers, b, 4))

    def fn(L, T):
        m = mods[L]
        x, h0, c0 = T(x_np, grad=True), T(h_np, grad=True), T(c_np, grad=True)
        inp = _u(L).pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted) if packed else x
        hx = ((h0, c0) if mode == "LSTM" else h0) if with_state else None
        out, hn = m(inp, hx)
        states = list(hn) if mode == "LSTM" else [hn]
        outs = [out.data if packed else out, *states]
        loss = sum((o * T(np.cos(np.arange(o.numel()) * (i + 1.3)).reshape(tuple(o.shape)))).sum()
                   for i, o in enumerate(outs))
        leaves = [x, *([h0, c0] if mode == "LSTM" else [h0])] if with_state else [x]
        grads = L.autograd.grad(loss, leaves + list(m.parameters()))
        fields = ()
        if packed:
            fields = (type(out).__name__, out.batch_sizes, out.sorted_indices, out.unsorted_indices,
                      _u(L).pad_packed_sequence(out, batch_first=batch_first))
        return outs, fields, grads
    _both(fn, device)


@pytest.mark.parametrize("mode", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("state", ["more_rows", "fewer_rows", "float32"])
def test_recurrent_packed_state_checks(device, mode, state):
    """The state is permuted into the sorted order before it is checked; its dtype must be the weights'."""
    mods = _modules(mode, {}, device)
    shape = {"more_rows": (1, 4, 4), "fewer_rows": (1, 2, 4), "float32": (1, 3, 4)}[state]
    dt = np.float32 if state == "float32" else np.float64

    def fn(L, T):
        p = _u(L).pack_padded_sequence(T(X.astype(np.float64)[..., :1].repeat(3, -1)), [2, 4, 1], enforce_sorted=False)
        h = T(np.linspace(-1, 1, int(np.prod(shape))).reshape(shape).astype(dt))
        out, hn = mods[L](p, (h, h) if mode == "LSTM" else h)
        return out.data, hn
    _both(fn, device)
