"""Gaps found by running PyTorch's seq2seq translation tutorial (GRU encoder, attention decoder,
NLLLoss, teacher forcing, greedy decoding with ``topk``, SGD/Adam) against ember, each checked
against real PyTorch for the mechanism in general (not the tutorial itself).

- setitem across devices: ``cpu_t[i] = accel_t`` (the tutorial's ``decoder_attentions[di] =
  decoder_attention.data``) raised "expected device"; PyTorch's setitem through basic indexing is a
  ``copy_`` (any device to any device, differentiable), and ``index_put_`` moves a 0-dim value of
  another device. A non-0-dim value through advanced indexing still raises.
- the tutorial's step-by-step models (one-token GRU steps, attention with ``cat``/``softmax``/
  ``bmm``, ``log_softmax`` + ``NLLLoss`` summed over steps, greedy ``topk`` feedback, Adam) agree
  with PyTorch in values, gradients and optimizer steps on every device.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

R = np.random.default_rng(5)


def _np(t):
    return t.detach().cpu().numpy()


def _other_device(device: str) -> str:
    """A second available device to copy from/to (skip when there is only one)."""
    for cand in ("cpu", "opencl"):
        if cand == device:
            continue
        backend = ember.plugins.backend(cand)
        try:
            if backend is not None and backend.is_available():
                return cand
        except Exception:
            pass
    pytest.skip("needs a second device")


# ---- setitem across devices -----------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
@pytest.mark.parametrize("index,vshape", [
    (1, (4,)),                       # the tutorial's row write
    (2, (1, 4)),                     # a (1, n) value into a row: its leading 1 is dropped
    ((2, slice(1, 3)), (2,)),
    ((slice(None), 0), (3,)),
    ((Ellipsis, slice(None, None, 2)), (3, 2)),
    ((0, 0), ()),                    # 0-dim value
    ((None, 1), (1, 4)),             # leading size-1 dims of the value are dropped
    ((np.int64(2), ember.tensor(1)), ()),  # NumPy and 0-dim tensor integers are basic indices
])
@pytest.mark.parametrize("to_dst", [True, False])
def test_setitem_basic_index_value_on_other_device(device, dtype, index, vshape, to_dst):
    other = _other_device(device)
    dst_dev, src_dev = (device, other) if to_dst else (other, device)
    base = (R.standard_normal((3, 4)) * 5).astype(dtype)
    val = (R.standard_normal(vshape) * 5).astype(dtype)
    tindex = tuple(torch.tensor(i.item()) if isinstance(i, ember.Tensor) else i for i in index) \
        if isinstance(index, tuple) else index
    want = torch.tensor(base)
    want[tindex] = torch.tensor(val)
    got = ember.tensor(base, device=dst_dev)
    got[index] = ember.tensor(val, device=src_dev)
    assert got.device.type == dst_dev
    assert got.dtype is getattr(ember, dtype)
    np.testing.assert_array_equal(_np(got), want.numpy())


def test_setitem_other_device_value_dtype_cast(device):
    other = _other_device(device)
    base = np.zeros((2, 3), dtype=np.int64)
    val = np.array([1.7, -2.5, 3.2], dtype=np.float32)
    want = torch.tensor(base)
    want[1] = torch.tensor(val)
    got = ember.tensor(base, device=device)
    got[1] = ember.tensor(val, device=other)
    assert got.dtype is ember.int64
    np.testing.assert_array_equal(_np(got), want.numpy())


def test_setitem_other_device_value_is_differentiable(device):
    other = _other_device(device)
    v0 = R.standard_normal(4).astype(np.float32)
    tv = torch.tensor(v0, requires_grad=True)
    tz = torch.zeros(3, 4)
    tz[1] = tv * 2
    tz[2, 1:3] = tv[:2]
    tz[0, 0] = tv[3]
    (tz * torch.arange(12.0).view(3, 4)).sum().backward()
    ev = ember.tensor(v0, device=other, requires_grad=True)
    ez = ember.zeros(3, 4, device=device)
    ez[1] = ev * 2
    ez[2, 1:3] = ev[:2]
    ez[0, 0] = ev[3]
    (ez * ember.arange(12.0, device=device).view(3, 4)).sum().backward()
    np.testing.assert_allclose(_np(ez), _np(tz), rtol=1e-6)
    assert ev.grad.device.type == other
    np.testing.assert_allclose(_np(ev.grad), tv.grad.numpy(), rtol=1e-6)


def test_setitem_no_grad_accumulate_from_other_device(device):
    # evaluate(): ``encoder_outputs[ei] += out[0, 0]`` under no_grad, then ``attentions[di] = w.data``
    # into a tensor on another device (the tutorial's CPU ``decoder_attentions``)
    other = _other_device(device)
    rows = R.standard_normal((4, 5)).astype(np.float32)
    want, want_att = torch.zeros(6, 5), torch.zeros(6, 5)
    got, got_att = ember.zeros(6, 5, device=device), ember.zeros(6, 5, device=other)
    with torch.no_grad():
        for i, r in enumerate(rows):
            want[i] += torch.tensor(r)
            want_att[i] = want[i].data * 2
    with ember.no_grad():
        for i, r in enumerate(rows):
            got[i] += ember.tensor(r, device=device)
            got_att[i] = got[i].data * 2
    np.testing.assert_allclose(_np(got), want.numpy(), rtol=1e-6)
    assert got_att.device.type == other
    np.testing.assert_allclose(_np(got_att), want_att.numpy(), rtol=1e-6)


def test_index_put_zero_dim_value_on_other_device_moves(device):
    other = _other_device(device)
    want = torch.zeros(5)
    want[torch.tensor([0, 3])] = torch.tensor(2.5)
    got = ember.zeros(5, device=device)
    got[ember.tensor([0, 3], device=device)] = ember.tensor(2.5, device=other)
    np.testing.assert_array_equal(_np(got), want.numpy())
    got2 = ember.zeros(5, device=device).index_put_((ember.tensor([1, 4], device=device),),
                                                    ember.tensor(7.0, device=other))
    want2 = torch.zeros(5).index_put_((torch.tensor([1, 4]),), torch.tensor(7.0))
    np.testing.assert_array_equal(_np(got2), want2.numpy())


def test_advanced_setitem_value_on_other_device_raises(device):
    other = _other_device(device)
    x = ember.zeros(3, 4, device=device)
    with pytest.raises(RuntimeError, match="device"):
        x[ember.tensor([0, 1], device=device)] = ember.ones(2, 4, device=other)


# ---- the tutorial's step-by-step attention decoder, against torch ---------------------------
def _models(fw, vin, vout, h, max_len):
    nn, F = fw.nn, fw.nn.functional

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vin, h)
            self.gru = nn.GRU(h, h)

        def forward(self, tok, hidden):
            return self.gru(self.embedding(tok).view(1, 1, -1), hidden)

    class AttnDecoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vout, h)
            self.attn = nn.Linear(2 * h, max_len)
            self.attn_combine = nn.Linear(2 * h, h)
            self.gru = nn.GRU(h, h)
            self.out = nn.Linear(h, vout)

        def forward(self, tok, hidden, enc_outs):
            emb = self.embedding(tok).view(1, 1, -1)
            w = F.softmax(self.attn(fw.cat((emb[0], hidden[0]), 1)), dim=1)
            applied = fw.bmm(w.unsqueeze(0), enc_outs.unsqueeze(0))
            o = F.relu(self.attn_combine(fw.cat((emb[0], applied[0]), 1)).unsqueeze(0))
            o, hidden = self.gru(o, hidden)
            return F.log_softmax(self.out(o[0]), dim=1), hidden, w

    return Encoder(), AttnDecoder()


def _run(fw, enc, dec, src, tgt, h, max_len, dev, teacher):
    """One training example's loss (the tutorial's train() body), plus the greedy tokens."""
    hidden = fw.zeros(1, 1, h, device=dev, dtype=enc.embedding.weight.dtype)
    enc_outs = fw.zeros(max_len, h, device=dev, dtype=enc.embedding.weight.dtype)
    src_t = fw.tensor(src, dtype=fw.long, device=dev).view(-1, 1)
    tgt_t = fw.tensor(tgt, dtype=fw.long, device=dev).view(-1, 1)
    for i in range(src_t.size(0)):
        out, hidden = enc(src_t[i], hidden)
        enc_outs[i] = out[0, 0]
    tok = fw.tensor([[0]], device=dev)
    crit = fw.nn.NLLLoss()
    loss, toks = 0, []
    for i in range(tgt_t.size(0)):
        out, hidden, _ = dec(tok, hidden, enc_outs)
        loss += crit(out, tgt_t[i])
        if teacher:
            tok = tgt_t[i]
        else:
            _, topi = out.topk(1)
            tok = topi.squeeze().detach()
            toks.append(tok.item())
    return loss, toks


@pytest.mark.parametrize("dtype,tol", [("float32", 2e-5), ("float64", 1e-11)])
@pytest.mark.parametrize("teacher", [True, False])
@pytest.mark.parametrize("opt", ["SGD", "Adam"])
def test_attention_seq2seq_training_steps_match_torch(device, dtype, tol, teacher, opt):
    vin, vout, h, max_len = 13, 11, 8, 6
    torch.manual_seed(3)
    tenc, tdec = _models(torch, vin, vout, h, max_len)
    eenc, edec = _models(ember, vin, vout, h, max_len)
    tdt, edt = getattr(torch, dtype), getattr(ember, dtype)
    tenc, tdec = tenc.to(tdt), tdec.to(tdt)
    for tm, em in ((tenc, eenc), (tdec, edec)):
        em.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
        em.to(device).to(edt)
    topt = [getattr(torch.optim, opt)(m.parameters(), lr=0.05) for m in (tenc, tdec)]
    eopt = [getattr(ember.optim, opt)(m.parameters(), lr=0.05) for m in (eenc, edec)]
    rng = np.random.default_rng(1)
    for step in range(3):
        src = rng.integers(2, vin, size=rng.integers(2, max_len)).tolist() + [1]
        tgt = rng.integers(2, vout, size=rng.integers(2, 5)).tolist() + [1]
        for o in topt + eopt:
            o.zero_grad()
        tl, ttoks = _run(torch, tenc, tdec, src, tgt, h, max_len, "cpu", teacher)
        el, etoks = _run(ember, eenc, edec, src, tgt, h, max_len, device, teacher)
        assert ttoks == etoks
        np.testing.assert_allclose(el.item(), tl.item(), rtol=tol)
        tl.backward()
        el.backward()
        tparams = list(tenc.named_parameters()) + list(tdec.named_parameters())
        eparams = list(eenc.named_parameters()) + list(edec.named_parameters())
        for (n, p), (_, q) in zip(tparams, eparams):
            assert q.grad.dtype is edt
            np.testing.assert_allclose(_np(q.grad), p.grad.numpy(), rtol=tol, atol=tol, err_msg=f"{step} {n}")
        for o in topt + eopt:
            o.step()
        for (n, p), (_, q) in zip(tparams, eparams):
            np.testing.assert_allclose(_np(q), p.detach().numpy(), rtol=10 * tol, atol=10 * tol, err_msg=f"{step} {n}")
