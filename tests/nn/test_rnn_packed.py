"""``nn.utils.rnn`` (PackedSequence, pack/pad) and packed input to RNN/LSTM/GRU, plus LSTM ``proj_size``.

The references are NumPy: pack/pad index maps built by loops, and the recurrences run on each
sequence alone, unpadded (a packed batch must give the same outputs and final states as running
every sequence separately; the reverse direction starts at each sequence's own last step).
"""

from __future__ import annotations

import ember
import nn_np_ref as ref
import numpy as np
import pytest
from ember import dispatch, nn
from ember.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

LSTM_KERNELS = {"lstm_cell", "lstm_cell_backward"}


def _np(t):
    return t.detach().cpu().numpy()


def _t(a, device="cpu", grad=False, dtype=ember.float64):
    return ember.tensor(np.asarray(a), dtype=dtype, device=device, requires_grad=grad)


@pytest.fixture(params=["fused", "composite"])
def lstm_path(request, monkeypatch):
    if request.param == "composite":
        orig = dispatch.KernelTable.has
        monkeypatch.setattr(dispatch.KernelTable, "has", lambda self, name: name not in LSTM_KERNELS and orig(self, name))
    return request.param


# ---- NumPy references ---------------------------------------------------------------------------
def _np_pack(padded, lengths, batch_first=False):
    """(data, batch_sizes, sorted order) by loops: time-major, longest sequences first (stable)."""
    x = np.swapaxes(padded, 0, 1) if batch_first else padded  # (T, B, *)
    order = sorted(range(len(lengths)), key=lambda b: -lengths[b])
    rows, sizes = [], []
    for t in range(max(lengths)):
        active = [b for b in order if lengths[b] > t]
        sizes.append(len(active))
        rows += [x[t, b] for b in active]
    return np.stack(rows), np.array(sizes), order


# ---- pack / pad ---------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 3], [4, 4]])
def test_pack_pad_round_trip_against_numpy(device, batch_first, lengths):
    rng = np.random.default_rng(0)
    b, t_max = len(lengths), max(lengths) + 1  # one step of extra padding
    padded = rng.standard_normal((b, t_max, 2, 3) if batch_first else (t_max, b, 2, 3))
    data, sizes, order = _np_pack(padded, lengths, batch_first)
    is_sorted = all(x >= y for x, y in zip(lengths, lengths[1:]))
    packed = pack_padded_sequence(_t(padded, device), lengths, batch_first=batch_first, enforce_sorted=is_sorted)
    assert isinstance(packed, PackedSequence) and isinstance(packed, tuple)
    np.testing.assert_array_equal(_np(packed.data), data)
    assert packed.batch_sizes.device.type == "cpu" and packed.batch_sizes.dtype is ember.int64
    assert packed.batch_sizes.tolist() == sizes.tolist()
    if is_sorted:
        assert packed.sorted_indices is None and packed.unsorted_indices is None
    else:
        assert packed.sorted_indices.tolist() == order and packed.sorted_indices.device == packed.data.device
        assert np.argsort(order).tolist() == packed.unsorted_indices.tolist()
    out, lens = pad_packed_sequence(packed, batch_first=batch_first, padding_value=-7.0)
    assert lens.device.type == "cpu" and lens.dtype is ember.int64 and lens.tolist() == lengths
    expect = np.full_like(padded[:, :max(lengths)] if batch_first else padded[:max(lengths)], -7.0)
    for k, n in enumerate(lengths):
        if batch_first:
            expect[k, :n] = padded[k, :n]
        else:
            expect[:n, k] = padded[:n, k]
    np.testing.assert_array_equal(_np(out), expect)
    longer, _ = pad_packed_sequence(packed, batch_first=batch_first, total_length=t_max + 2)
    assert longer.shape[1 if batch_first else 0] == t_max + 2
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the longest"):
        pad_packed_sequence(packed, total_length=max(lengths) - 1)


def test_pack_sequence_unpack_unpad(device):
    rng = np.random.default_rng(1)
    seqs = [rng.standard_normal((n, 2)) for n in (2, 4, 1)]
    ts = [_t(s, device) for s in seqs]
    with pytest.raises(RuntimeError, match="must be sorted in decreasing order when `enforce_sorted` is True"):
        pack_sequence(ts)
    packed = pack_sequence(ts, enforce_sorted=False)
    data, sizes, _ = _np_pack(np.stack([np.pad(s, ((0, 4 - len(s)), (0, 0))) for s in seqs], 1), [2, 4, 1])
    np.testing.assert_array_equal(_np(packed.data), data)
    assert packed.batch_sizes.tolist() == sizes.tolist() == [3, 2, 1, 1]
    for got, want in zip(unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(_np(got), want)
    padded = pad_sequence(ts, batch_first=True)
    for got, want in zip(unpad_sequence(padded, ember.tensor([2, 4, 1]), batch_first=True), seqs):
        np.testing.assert_array_equal(_np(got), want)
    for got, want in zip(unpad_sequence(pad_sequence(ts), ember.tensor([2, 4, 1])), seqs):
        np.testing.assert_array_equal(_np(got), want)
    left = pad_sequence(ts, batch_first=True, padding_value=9, padding_side="left")
    np.testing.assert_array_equal(_np(left)[2], np.concatenate([np.full((3, 2), 9.0), seqs[2]]))


def test_pack_errors_and_lengths_as_tensor(device):
    x = _t(np.arange(12.0).reshape(4, 3), device)  # (T=4, B=3)
    p = pack_padded_sequence(x, ember.tensor([4, 2, 1]))
    q = pack_padded_sequence(x, ember.tensor([4.0, 2.0, 1.0]))  # converted to int64, as in PyTorch
    assert p.batch_sizes.tolist() == q.batch_sizes.tolist() == [3, 2, 1, 1]
    with pytest.raises(RuntimeError, match=r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 "
                                           r"\(batch_size=3\)"):
        pack_padded_sequence(x, [4, 2])
    with pytest.raises(RuntimeError, match="Length of all samples has to be greater than 0"):
        pack_padded_sequence(x, [4, 2, 0])
    with pytest.raises(RuntimeError, match="'lengths' argument should be a 1D CPU int64 tensor, but got 2D cpu"):
        pack_padded_sequence(x, ember.tensor([[4, 2, 1]]))
    if device != "cpu":
        with pytest.raises(RuntimeError, match=f"should be a 1D CPU int64 tensor, but got 1D {device}:0 Long tensor"):
            pack_padded_sequence(x, ember.tensor([4, 2, 1], device=device))
    if device != "cpu":
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            PackedSequence(p.data, p.batch_sizes.to(device))


def test_packed_sequence_is_a_namedtuple_with_moves(device):
    x = _t(np.arange(6.0).reshape(3, 2), "cpu", dtype=ember.float32)
    p = pack_padded_sequence(x, [1, 3], enforce_sorted=False)
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p._fields == ("data", "batch_sizes", "sorted_indices", "unsorted_indices")
    q = p.to(device)
    assert q.data.device.type == device and q.sorted_indices.device.type == device
    assert q.unsorted_indices.device.type == device and q.batch_sizes.device.type == "cpu"
    assert p.to("cpu") is p
    d = q.double()
    assert d.data.dtype is ember.float64 and d.sorted_indices.dtype is ember.int64
    back = d.cpu()
    assert back.data.device.type == "cpu" and back.sorted_indices.device.type == "cpu"
    assert not back.is_cuda and back.is_pinned() is False
    np.testing.assert_array_equal(_np(back.data), _np(data))
    r = PackedSequence(data, batch_sizes, sorted_indices)  # unsorted_indices derived
    assert r.unsorted_indices.tolist() == unsorted_indices.tolist()


def test_pack_pad_gradients():
    x = ember.randn(4, 3, 2, dtype=ember.float64, requires_grad=True)

    def fn(a):
        return pad_packed_sequence(pack_padded_sequence(a, [2, 4, 3], enforce_sorted=False), padding_value=1.5)[0]

    assert ember.autograd.gradcheck(fn, (x,))
    fn(x).sum().backward()
    g = _np(x.grad)
    mask = np.arange(4)[:, None] < np.array([2, 4, 3])[None, :]
    np.testing.assert_array_equal(g, np.broadcast_to(mask[..., None], g.shape).astype(float))


# ---- packed input to the recurrent layers ----------------------------------------------------------
@pytest.mark.parametrize("mode,proj", [("LSTM", 0), ("GRU", 0), ("RNN", 0), ("LSTM", 2)])
@pytest.mark.parametrize("lengths", [[5, 3, 3, 1], [2, 5, 1, 3]])
@pytest.mark.parametrize("with_hx", [False, True])
def test_packed_recurrent_against_per_sequence_numpy(device, mode, proj, lengths, with_hx):
    cls = {"RNN": nn.RNN, "LSTM": nn.LSTM, "GRU": nn.GRU}[mode]
    kw = {"proj_size": proj} if proj else {}
    mod = cls(3, 4, num_layers=2, bidirectional=True, **kw).double().to(device)
    rng = np.random.default_rng(2)
    b, t_max = len(lengths), max(lengths)
    seqs = [rng.standard_normal((n, 3)) for n in lengths]
    p = proj or 4
    h0 = rng.standard_normal((4, b, p)) if with_hx else np.zeros((4, b, p))
    c0 = rng.standard_normal((4, b, 4)) if with_hx else np.zeros((4, b, 4))
    is_sorted = all(x >= y for x, y in zip(lengths, lengths[1:]))
    packed = pack_sequence([_t(s, device) for s in seqs], enforce_sorted=is_sorted)
    if with_hx:
        hx = (_t(h0, device), _t(c0, device)) if mode == "LSTM" else _t(h0, device)
        out, state = mod(packed, hx)
    else:
        out, state = mod(packed)
    assert isinstance(out, PackedSequence)
    assert out.batch_sizes.tolist() == packed.batch_sizes.tolist()
    padded, lens = pad_packed_sequence(out, batch_first=True)
    assert padded.shape == (b, t_max, 2 * p) and lens.tolist() == lengths
    h_n = state[0] if mode == "LSTM" else state
    assert h_n.shape == (4, b, p)
    for k, s in enumerate(seqs):
        eo, eh, ec = ref.rnn(mod, mode, s, h0[:, k], c0[:, k] if mode == "LSTM" else None)
        np.testing.assert_allclose(_np(padded)[k, :lengths[k]], eo, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(_np(padded)[k, lengths[k]:], 0.0)
        np.testing.assert_allclose(_np(h_n)[:, k], eh, rtol=1e-8, atol=1e-10)
        if mode == "LSTM":
            assert state[1].shape == (4, b, 4)
            np.testing.assert_allclose(_np(state[1])[:, k], ec, rtol=1e-8, atol=1e-10)


def test_packed_equal_lengths_match_the_padded_path(device):
    lstm = nn.LSTM(2, 3, batch_first=True).double().to(device)
    x = ember.randn(3, 4, 2, dtype=ember.float64, device=device)
    out, (h, c) = lstm(x)
    pout, (ph, pc) = lstm(pack_padded_sequence(x, [4, 4, 4], batch_first=True))
    np.testing.assert_allclose(_np(pad_packed_sequence(pout, batch_first=True)[0]), _np(out), rtol=1e-12)
    np.testing.assert_allclose(_np(ph), _np(h), rtol=1e-12)
    np.testing.assert_allclose(_np(pc), _np(c), rtol=1e-12)


def test_packed_input_checks(device):
    gru = nn.GRU(3, 2).to(device)
    packed = pack_sequence([ember.randn(3, 3, device=device), ember.randn(2, 3, device=device)])
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 2\), got \[1, 3, 2\]"):
        gru(packed, ember.zeros(1, 3, 2, device=device))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. Expected 4, got 3"):
        nn.LSTM(4, 2).to(device)(packed)
    lstm = nn.LSTM(3, 2).to(device)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[1\] size \(1, 2, 2\), got \[1, 2, 3\]"):
        lstm(packed, (ember.zeros(1, 2, 2, device=device), ember.zeros(1, 2, 3, device=device)))


def test_packed_training_step_on_device(device):
    """Backward through pack -> 2-layer bidirectional LSTM/GRU -> pad on every backend, no fallback."""
    for cls in (nn.LSTM, nn.GRU):
        mod = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True).to(device)
        x = ember.randn(3, 5, 3, device=device, requires_grad=True)
        out, _ = mod(pack_padded_sequence(x, ember.tensor([2, 5, 3]), batch_first=True, enforce_sorted=False))
        padded, _ = pad_packed_sequence(out, batch_first=True)
        padded.sum().backward()
        g = _np(x.grad)
        assert np.all(g[0, 2:] == 0) and np.all(g[2, 3:] == 0) and np.abs(g[1]).sum() > 0
        assert all(p.grad is not None for p in mod.parameters())


@pytest.mark.parametrize("proj", [0, 2])
def test_packed_lstm_gradcheck(lstm_path, proj):
    """d(padded out, h_n, c_n) / d(input, h0, c0) through pack_padded_sequence -> LSTM -> pad_packed_sequence."""
    ember.manual_seed(3)
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=proj).double()
    p = proj or 3
    x = ember.randn(4, 3, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(4, 3, p, dtype=ember.float64, requires_grad=True)
    c0 = ember.randn(4, 3, 3, dtype=ember.float64, requires_grad=True)

    def fn(x, h0, c0):
        packed = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        out, (h, c) = lstm(packed, (h0, c0))
        return pad_packed_sequence(out, total_length=4)[0], h, c

    assert ember.autograd.gradcheck(fn, (x, h0, c0))


def test_packed_lstm_parameter_gradients_by_finite_differences(lstm_path):
    ember.manual_seed(4)
    lstm = nn.LSTM(2, 3, bidirectional=True, proj_size=2).double()
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((3, 4, 2)))
    wout = _t(rng.standard_normal((3, 4, 4)))

    def loss():
        out, (h, c) = lstm(pack_padded_sequence(x, [4, 1, 3], batch_first=True, enforce_sorted=False))
        padded = pad_packed_sequence(out, batch_first=True)[0]
        return (padded * wout).sum() + h.sum() * 0.5 - (c * c).sum()

    ref.check_param_grads(lstm, loss)


def test_packed_gru_gradcheck():
    gru = nn.GRU(2, 2, bidirectional=True).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)
    h0 = ember.randn(2, 2, 2, dtype=ember.float64, requires_grad=True)

    def fn(x, h0):
        out, h = gru(pack_padded_sequence(x, [1, 3], enforce_sorted=False), h0)
        return pad_packed_sequence(out)[0], h

    assert ember.autograd.gradcheck(fn, (x, h0))


def test_packed_lstm_double_backward():
    lstm = nn.LSTM(2, 2, bidirectional=True).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradgradcheck(lambda a: pad_packed_sequence(lstm(pack_padded_sequence(a, [3, 2]))[0])[0],
                                        (x,))


# ---- LSTM proj_size ---------------------------------------------------------------------------
def test_lstm_proj_size_parameters_and_errors():
    lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, proj_size=2)
    names = [n for n, _ in lstm.named_parameters()]
    assert names[:10] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0",
                          "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                          "bias_hh_l0_reverse", "weight_hr_l0_reverse"]
    assert lstm.weight_ih_l0.shape == (20, 3) and lstm.weight_hh_l0.shape == (20, 2)
    assert lstm.weight_hr_l0.shape == (2, 5) and lstm.weight_ih_l1.shape == (20, 4)
    assert [len(w) for w in lstm.all_weights] == [5, 5, 5, 5]
    bound = 1 / np.sqrt(5)
    assert all(np.abs(_np(p)).max() <= bound for p in lstm.parameters())
    assert repr(lstm) == "LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True)"  # PyTorch's order
    assert [n for n, _ in nn.LSTM(3, 5, bias=False, proj_size=2).named_parameters()] == [
        "weight_ih_l0", "weight_hh_l0", "weight_hr_l0"]
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 5, proj_size=5)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero to disable projections"):
        nn.LSTM(3, 5, proj_size=-1)
    with pytest.raises(RuntimeError, match=r"Expected hidden\[0\] size \(1, 2, 2\), got \[1, 2, 5\]"):
        nn.LSTM(3, 5, proj_size=2)(ember.zeros(4, 2, 3), (ember.zeros(1, 2, 5), ember.zeros(1, 2, 5)))


@pytest.mark.parametrize("batch_first,bidirectional,layers", [(False, False, 1), (True, True, 2)])
def test_lstm_proj_size_against_numpy(device, batch_first, bidirectional, layers):
    lstm = nn.LSTM(3, 4, num_layers=layers, batch_first=batch_first, bidirectional=bidirectional,
                   proj_size=2).double().to(device)
    rng = np.random.default_rng(5)
    nd = 2 if bidirectional else 1
    x = rng.standard_normal((5, 2, 3))  # (L, N, in)
    h0 = rng.standard_normal((layers * nd, 2, 2))
    c0 = rng.standard_normal((layers * nd, 2, 4))
    out, (h, c) = lstm(_t(x.transpose(1, 0, 2) if batch_first else x, device), (_t(h0, device), _t(c0, device)))
    assert out.shape == ((2, 5, 2 * nd) if batch_first else (5, 2, 2 * nd))
    assert h.shape == (layers * nd, 2, 2) and c.shape == (layers * nd, 2, 4)
    got = _np(out).transpose(1, 0, 2) if batch_first else _np(out)
    for k in range(2):
        eo, eh, ec = ref.rnn(lstm, "LSTM", x[:, k], h0[:, k], c0[:, k])
        np.testing.assert_allclose(got[:, k], eo, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(_np(h)[:, k], eh, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(_np(c)[:, k], ec, rtol=1e-8, atol=1e-10)
    out1, (h1, c1) = lstm(_t(x[:, 0], device))  # unbatched, default zero state
    assert out1.shape == (5, 2 * nd) and h1.shape == (layers * nd, 2) and c1.shape == (layers * nd, 4)


def test_lstm_proj_size_gradcheck(lstm_path):
    ember.manual_seed(6)
    lstm = nn.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)

    def fn(x, w_hr, w_hh):
        lstm.weight_hr_l1 = w_hr
        lstm.weight_hh_l0_reverse = w_hh
        out, (h, c) = lstm(x)
        return out, h, c

    w_hr = nn.Parameter(lstm.weight_hr_l1.detach().clone())
    w_hh = nn.Parameter(lstm.weight_hh_l0_reverse.detach().clone())
    assert ember.autograd.gradcheck(fn, (x, w_hr, w_hh))
    assert ember.autograd.gradgradcheck(lambda a: lstm(a)[0], (x,))


def test_lstm_width_one_hidden_state_gradcheck(lstm_path):
    """hidden_size 1 (and proj_size 1 above): the backward keeps the size-1 feature axis."""
    lstm = nn.LSTM(2, 1, bidirectional=True).double()
    x = ember.randn(3, 2, 2, dtype=ember.float64, requires_grad=True)
    assert ember.autograd.gradcheck(lambda a: lstm(a)[0], (x,))
    assert ember.autograd.gradcheck(lambda a: pad_packed_sequence(lstm(pack_padded_sequence(a, [3, 1]))[0])[0], (x,))
