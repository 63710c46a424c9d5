"""``nn.Transformer`` family against PyTorch: same state_dict keys and shapes, a PyTorch state_dict loads,
and outputs and gradients (inputs and every parameter) match under every kind of mask, on every device."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
from ember import nn

torch = pytest.importorskip("torch")

D_MODEL, NHEAD, FF = 8, 2, 16
S, T, N = 5, 4, 3  # source length, target length, batch


def _e(t, device: str):
    """A torch tensor as an ember tensor (same dtype, bool masks included) on ``device``."""
    return ember.tensor(t.detach().numpy(), device=device)


def _np(t) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, ember.Tensor) else t.detach().numpy()


def _load_torch_state(tmod, emod, device: str) -> None:
    """Checks the key sets, order and shapes agree, then loads torch's state_dict into ember."""
    ts, es = tmod.state_dict(), emod.state_dict()
    assert list(ts) == list(es)
    for k in ts:
        assert tuple(ts[k].shape) == tuple(es[k].shape), k
    emod.load_state_dict({k: _e(v, device) for k, v in ts.items()})


def _activations(kind: str):
    """(torch activation, ember activation) for a constructor's ``activation=``."""
    if kind == "callable":  # a plain function, not one of the two named ones
        return (lambda x: torch.nn.functional.gelu(x, approximate="tanh"),
                lambda x: nn.functional.gelu(x, approximate="tanh"))
    if kind == "module":
        return torch.nn.SiLU(), nn.SiLU()
    return kind, kind


def _masks(kind: str, batch_first: bool):
    """Transformer.forward mask kwargs (torch tensors) for one mask kind; no attention row fully masked."""
    kw = {}
    if kind in ("causal", "both"):
        if kind == "causal":  # float masks, PyTorch's own generator; is_causal hints given
            kw["tgt_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
            kw["src_mask"] = torch.nn.Transformer.generate_square_subsequent_mask(S, dtype=torch.float64)
            kw["tgt_is_causal"] = True
        else:  # bool masks (True = not allowed), matching the bool key padding masks
            kw["tgt_mask"] = torch.ones(T, T, dtype=torch.bool).triu(1)
            kw["src_mask"] = torch.ones(S, S, dtype=torch.bool).triu(1)
            kw["memory_mask"] = torch.zeros(T, S, dtype=torch.bool)
            kw["memory_mask"][0, 2:] = True
    if kind in ("padding", "both"):
        src_kpm = torch.zeros(N, S, dtype=torch.bool)
        src_kpm[1, 3:] = True
        src_kpm[2, 4:] = True
        tgt_kpm = torch.zeros(N, T, dtype=torch.bool)
        tgt_kpm[0, 2:] = True
        kw.update(src_key_padding_mask=src_kpm, tgt_key_padding_mask=tgt_kpm, memory_key_padding_mask=src_kpm)
    del batch_first
    return kw


def _inputs(batch_first: bool, dtype=torch.float64):
    g = torch.Generator().manual_seed(1)
    shape_s, shape_t = ((N, S, D_MODEL), (N, T, D_MODEL)) if batch_first else ((S, N, D_MODEL), (T, N, D_MODEL))
    return torch.randn(*shape_s, generator=g, dtype=dtype), torch.randn(*shape_t, generator=g, dtype=dtype)


def _pair(cls_name: str, device: str, **kwargs):
    """The same module built in torch and ember (float64), ember loaded with torch's weights."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the enable_nested_tensor notice (checked separately)
        tmod = getattr(torch.nn, cls_name)(**kwargs).double()
        emod = getattr(nn, cls_name)(**kwargs).double().to(device)
    _load_torch_state(tmod, emod, device)
    return tmod, emod


def _compare_forward_backward(tmod, emod, t_args, t_kwargs, device: str, rtol=1e-9, atol=1e-10) -> None:
    """Outputs, input gradients and parameter gradients agree under a random upstream gradient."""
    t_in = [a.clone().requires_grad_(True) for a in t_args]
    e_in = [ember.tensor(a.numpy(), device=device, requires_grad=True) for a in t_args]
    e_kwargs = {k: _e(v, device) if isinstance(v, torch.Tensor) else v for k, v in t_kwargs.items()}
    t_out = tmod(*t_in, **t_kwargs)
    e_out = emod(*e_in, **e_kwargs)
    assert tuple(e_out.shape) == tuple(t_out.shape)
    np.testing.assert_allclose(_np(e_out), _np(t_out), rtol=rtol, atol=atol)
    up = torch.randn(t_out.shape, generator=torch.Generator().manual_seed(2), dtype=t_out.dtype)
    (t_out * up).sum().backward()
    (e_out * _e(up, device)).sum().backward()
    for ti, ei in zip(t_in, e_in):
        np.testing.assert_allclose(_np(ei.grad), _np(ti.grad), rtol=1e-7, atol=1e-9)
    e_params = dict(emod.named_parameters())
    for name, p in tmod.named_parameters():
        assert (e_params[name].grad is None) == (p.grad is None), name
        if p.grad is not None:
            np.testing.assert_allclose(_np(e_params[name].grad), _np(p.grad), rtol=1e-7, atol=1e-9, err_msg=name)


@pytest.mark.parametrize("mask_kind", ["none", "causal", "padding", "both"])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_matches_torch(device, mask_kind, batch_first, norm_first):
    tmod, emod = _pair("Transformer", device, d_model=D_MODEL, nhead=NHEAD, num_encoder_layers=2,
                       num_decoder_layers=2, dim_feedforward=FF, dropout=0.0, batch_first=batch_first,
                       norm_first=norm_first)
    src, tgt = _inputs(batch_first)
    kw = _masks(mask_kind, batch_first)
    tmod.eval()
    emod.eval()
    _compare_forward_backward(tmod, emod, (src, tgt), kw, device)
    # train mode with dropout=0 takes the same path in both
    tmod.train()
    emod.train()
    tmod.zero_grad()
    emod.zero_grad()
    _compare_forward_backward(tmod, emod, (src, tgt), kw, device)


@pytest.mark.parametrize("activation", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_activations(device, activation, norm_first):
    t_act, e_act = _activations(activation)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tmod = torch.nn.Transformer(D_MODEL, NHEAD, 1, 2, FF, 0.0, t_act, norm_first=norm_first).double()
        emod = nn.Transformer(D_MODEL, NHEAD, 1, 2, FF, 0.0, e_act, norm_first=norm_first).double().to(device)
    _load_torch_state(tmod, emod, device)
    src, tgt = _inputs(False)
    _compare_forward_backward(tmod, emod, (src, tgt), _masks("both", False), device)


@pytest.mark.parametrize("norm_first", [False, True])
def test_module_activation(device, norm_first):
    """An nn.Module activation is a (parameterless) submodule of each layer, as in PyTorch.

    Not compared through a cloned TransformerDecoder: there PyTorch's TransformerDecoderLayer.__setstate__
    finds no "activation" in the deep-copied __dict__ (a Module lives in _modules) and shadows it with
    F.relu, so its cloned decoder layers silently run relu. ember keeps the activation it was given."""
    t_act, e_act = _activations("module")
    tl = torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, 0.0, t_act, norm_first=norm_first)
    el = nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, 0.0, e_act, norm_first=norm_first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        tenc, eenc = torch.nn.TransformerEncoder(tl, 2).double(), nn.TransformerEncoder(el, 2).double().to(device)
    assert [n for n, _ in eenc.named_modules()] == [n for n, _ in tenc.named_modules()]
    _load_torch_state(tenc, eenc, device)
    src, tgt = _inputs(False)
    _compare_forward_backward(tenc, eenc, (src,), {"src_key_padding_mask": _masks("padding", False)[
        "src_key_padding_mask"]}, device)
    tdec = torch.nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, 0.0, t_act, norm_first=norm_first).double()
    edec = nn.TransformerDecoderLayer(D_MODEL, NHEAD, FF, 0.0, e_act, norm_first=norm_first).double().to(device)
    _load_torch_state(tdec, edec, device)
    _compare_forward_backward(tdec, edec, (tgt, src), {"tgt_is_causal": True, "tgt_mask": _masks("both", False)[
        "tgt_mask"]}, device)
    cloned = nn.TransformerDecoder(edec, 2)
    assert all(isinstance(layer.activation, nn.SiLU) for layer in cloned.layers)


@pytest.mark.parametrize("bias", [True, False])
def test_layer_options_and_custom_stacks(device, bias):
    """bias=False, layer_norm_eps, custom_encoder/custom_decoder, encoders without a final norm."""
    def build(m):
        enc = m.TransformerEncoder(m.TransformerEncoderLayer(D_MODEL, 4, FF, 0.0, "gelu", 1e-3, True, bias=bias),
                                   2, enable_nested_tensor=False)
        dec = m.TransformerDecoder(m.TransformerDecoderLayer(D_MODEL, 4, FF, 0.0, "relu", 1e-3, True, True, bias),
                                   1, m.LayerNorm(D_MODEL, bias=bias))
        return m.Transformer(D_MODEL, 4, dropout=0.0, custom_encoder=enc, custom_decoder=dec, batch_first=True,
                             bias=bias)

    tmod, emod = build(torch.nn).double(), build(nn).double().to(device)
    _load_torch_state(tmod, emod, device)
    src, tgt = _inputs(True)
    _compare_forward_backward(tmod, emod, (src, tgt), _masks("padding", True), device)


@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_stack_and_unbatched(device, batch_first):
    layer_args = (D_MODEL, NHEAD, FF, 0.0)
    tl = torch.nn.TransformerDecoderLayer(*layer_args, batch_first=batch_first)
    el = nn.TransformerDecoderLayer(*layer_args, batch_first=batch_first)
    tmod = torch.nn.TransformerDecoder(tl, 3, torch.nn.LayerNorm(D_MODEL)).double()
    emod = nn.TransformerDecoder(el, 3, nn.LayerNorm(D_MODEL)).double().to(device)
    _load_torch_state(tmod, emod, device)
    src, tgt = _inputs(batch_first)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    kw = {"tgt_mask": mask, "tgt_is_causal": True, "memory_key_padding_mask": _masks("padding", False)[
        "src_key_padding_mask"]}
    _compare_forward_backward(tmod, emod, (tgt, src), kw, device)
    # unbatched (L, E) inputs
    mem1, tgt1 = (src[0], tgt[0]) if batch_first else (src[:, 0], tgt[:, 0])
    tmod.zero_grad()
    emod.zero_grad()
    _compare_forward_backward(tmod, emod, (tgt1, mem1), {"tgt_mask": mask}, device)


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors:UserWarning")
def test_encoder_no_grad_eval_zeroes_padding_like_torch(device):
    """PyTorch's eval/no-grad encoder runs padded batches as nested tensors: padded positions come out 0.0
    before the final norm. ember matches that, and keeps the masked values when grads are tracked."""
    tl = torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, 0.0, batch_first=True)
    el = nn.TransformerEncoderLayer(D_MODEL, NHEAD, FF, 0.0, batch_first=True)
    tmod = torch.nn.TransformerEncoder(tl, 2, torch.nn.LayerNorm(D_MODEL)).double().eval()
    emod = nn.TransformerEncoder(el, 2, nn.LayerNorm(D_MODEL)).double().to(device).eval()
    _load_torch_state(tmod, emod, device)
    src, _ = _inputs(True)
    kpm = _masks("padding", True)["src_key_padding_mask"]
    with torch.no_grad():
        t_out = tmod(src, src_key_padding_mask=kpm)
    with ember.no_grad():
        e_out = emod(_e(src, device), src_key_padding_mask=_e(kpm, device))
    np.testing.assert_allclose(_np(e_out), _np(t_out), rtol=1e-7, atol=1e-9)
    # right-padded is the nested path; a left-padded mask fails torch's mask check and keeps the values
    kpm_left = kpm.flip(-1)
    with torch.no_grad():
        t_out = tmod(src, src_key_padding_mask=kpm_left)
    with ember.no_grad():
        e_out = emod(_e(src, device), src_key_padding_mask=_e(kpm_left, device))
    np.testing.assert_allclose(_np(e_out), _np(t_out), rtol=1e-7, atol=1e-9)
    _compare_forward_backward(tmod, emod, (src,), {"src_key_padding_mask": kpm}, device)


def test_generate_square_subsequent_mask(device):
    for kwargs in ({}, {"dtype": torch.float64}):
        t = torch.nn.Transformer.generate_square_subsequent_mask(4, **kwargs)
        e_kwargs = {"dtype": ember.float64} if kwargs else {}
        e = nn.Transformer.generate_square_subsequent_mask(4, device=device, **e_kwargs)
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        assert e.device.type == ember.device(device).type
        np.testing.assert_array_equal(_np(e), _np(t))


def test_constructor_defaults_and_structure():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        t, e = torch.nn.Transformer(), nn.Transformer()
    ts, es = t.state_dict(), e.state_dict()
    assert list(ts) == list(es)
    assert all(tuple(ts[k].shape) == tuple(es[k].shape) for k in ts)
    for name in ("d_model", "nhead", "batch_first"):
        assert getattr(e, name) == getattr(t, name)
    for mod in ("encoder", "decoder"):
        tm, em = getattr(t, mod), getattr(e, mod)
        assert em.num_layers == tm.num_layers and len(em.layers) == len(tm.layers)
        assert em.layers[0] is not em.layers[1]
    tl, el = t.encoder.layers[0], e.encoder.layers[0]
    assert el.activation_relu_or_gelu == tl.activation_relu_or_gelu == 1
    assert el.activation is nn.functional.relu and el.norm_first is False
    assert el.norm1.eps == tl.norm1.eps and el.dropout.p == tl.dropout.p == 0.1
    assert e.encoder.use_nested_tensor == t.encoder.use_nested_tensor
    # xavier init of every matrix: same bound as PyTorch's
    w = e.encoder.layers[0].linear1.weight
    assert float(w.abs().max()) <= (6 / (512 + 2048)) ** 0.5 + 1e-7


def test_out_proj_is_non_dynamically_quantizable_linear():
    mha = nn.MultiheadAttention(D_MODEL, NHEAD)
    cls = ember.nn.modules.linear.NonDynamicallyQuantizableLinear
    assert type(mha.out_proj) is cls
    assert isinstance(mha.out_proj, nn.Linear) and issubclass(cls, nn.Linear)
    assert type(mha.out_proj).__name__ == type(torch.nn.MultiheadAttention(D_MODEL, NHEAD).out_proj).__name__
    assert cls(3, 2, bias=False).bias is None


def test_nested_tensor_warning_matches_torch():
    for kw in ({"batch_first": False}, {"batch_first": True, "norm_first": True}, {"batch_first": True}):
        with warnings.catch_warnings(record=True) as tw:
            warnings.simplefilter("always")
            torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(D_MODEL, NHEAD, **kw), 1)
        with warnings.catch_warnings(record=True) as ew:
            warnings.simplefilter("always")
            nn.TransformerEncoder(nn.TransformerEncoderLayer(D_MODEL, NHEAD, **kw), 1)
        assert [str(w.message) for w in ew] == [str(w.message) for w in tw]


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning")
def test_errors_match_torch():
    t, e = (m.Transformer(D_MODEL, NHEAD, 1, 1, FF) for m in (torch.nn, nn))
    cases = [((S, N, D_MODEL), (T, N + 1, D_MODEL)), ((S, N, D_MODEL), (T, N, D_MODEL + 2))]
    for s_shape, t_shape in cases:
        with pytest.raises(RuntimeError) as te:
            t(torch.zeros(s_shape), torch.zeros(t_shape))
        with pytest.raises(RuntimeError) as ee:
            e(ember.zeros(s_shape), ember.zeros(t_shape))
        assert str(ee.value) == str(te.value)
    for m in (torch.nn, nn):
        with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
            m.TransformerDecoderLayer(D_MODEL, NHEAD, activation="tanh")


def _copy_task_model(m, vocab: int, d: int):
    class Seq2Seq(m.Module):
        def __init__(self):
            super().__init__()
            self.embed = m.Embedding(vocab, d)
            self.transformer = m.Transformer(d, 2, 1, 1, 32, dropout=0.0, batch_first=True)
            self.head = m.Linear(d, vocab)

        def forward(self, src, tgt, tgt_mask):
            return self.head(self.transformer(self.embed(src), self.embed(tgt), tgt_mask=tgt_mask))

    return Seq2Seq()


def test_training_loop_copy_task_matches_torch(device):
    vocab, d, steps = 7, 16, 6
    torch.manual_seed(0)
    tmod = _copy_task_model(torch.nn, vocab, d)
    emod = _copy_task_model(nn, vocab, d).to(device)
    _load_torch_state(tmod, emod, device)
    topt = torch.optim.Adam(tmod.parameters(), lr=1e-2)
    eopt = ember.optim.Adam(emod.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(3)
    t_losses, e_losses = [], []
    for _ in range(steps):
        seq = torch.randint(1, vocab, (4, 6), generator=g)
        tgt_in = torch.cat([torch.zeros(4, 1, dtype=torch.long), seq[:, :-1]], 1)  # BOS = 0, shifted right
        mask = torch.nn.Transformer.generate_square_subsequent_mask(6)
        t_loss = torch.nn.functional.cross_entropy(tmod(seq, tgt_in, mask).reshape(-1, vocab), seq.reshape(-1))
        topt.zero_grad()
        t_loss.backward()
        topt.step()
        emask = nn.Transformer.generate_square_subsequent_mask(6, device=device)
        e_logits = emod(_e(seq, device), _e(tgt_in, device), emask)
        e_loss = nn.functional.cross_entropy(e_logits.reshape(-1, vocab), _e(seq, device).reshape(-1))
        eopt.zero_grad()
        e_loss.backward()
        eopt.step()
        t_losses.append(t_loss.item())
        e_losses.append(e_loss.item())
    np.testing.assert_allclose(e_losses, t_losses, rtol=2e-4, atol=1e-5)
    assert t_losses[-1] < t_losses[0]
