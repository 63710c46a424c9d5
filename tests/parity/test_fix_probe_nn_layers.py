"""nn layers that differed from PyTorch 2.13 (a probe of normalisation, attention, bags and hooks).

RMSNorm on float16/bfloat16 computes in float32 (eps of float32, weight applied before the one
rounding back to the input dtype, whose dtype the result keeps); integer attention masks are refused
by SDPA (RuntimeError) and by MultiheadAttention/Transformer layers (AssertionError naming the mask);
the ``is_causal`` hint needs a mask outside PyTorch's fused inference paths, and replaces the mask when
MultiheadAttention hands it to SDPA; SDPA combines ``attn_mask`` with ``is_causal`` only where its CPU
flash kernel runs; instance norm refuses one spatial element when it uses the input's statistics;
``one_hot`` takes int64 only and cannot infer the class count of an empty tensor; a full backward hook
(or pre-hook) on a module whose forward writes into its argument raises, as PyTorch's view check does.
Each row runs on real PyTorch and on ember (every device) and compares values, dtypes, exception
types and gradients.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402
import ember.nn.attention  # noqa: E402, F401  (ember.nn.attention is a submodule, imported on use)
from parity_compare import Arg, check  # noqa: E402

F32, F64 = np.float32, np.float64
R = np.random.default_rng(29)


def RND(*shape: int, dtype=F32, grad=True) -> Arg:
    return Arg(R.standard_normal(shape).astype(dtype), grad=grad)


def INT(values, dtype=np.int64) -> Arg:
    return Arg(np.array(values, dtype=dtype))


# ---- RMSNorm in the opmath type ----------------------------------------------------------------
def _rms(L, x, *rest, cast=None, wcast=None, **kw):
    x = getattr(x, cast)() if cast else x
    w = getattr(rest[0], wcast)() if rest and wcast else (rest[0] if rest else None)
    return L.nn.functional.rms_norm(x, [x.shape[-1]], w, **kw)


RMS = [
    ((Arg(np.full((1, 8), 0.1, F32)),), {"cast": "bfloat16"}),  # torch 1.0, was 0.75
    ((Arg(np.full((2, 8), 0.1, F32)),), {"cast": "half"}),
    ((RND(4, 8),), {"cast": "bfloat16"}),
    ((RND(3, 2, 8), RND(8)), {"cast": "bfloat16", "wcast": "bfloat16"}),
    ((RND(3, 2, 8), RND(8)), {"cast": "half", "wcast": "half"}),
    ((RND(3, 8), RND(8)), {"cast": "bfloat16"}),  # float32 weight: the result stays bfloat16
    ((RND(3, 8), RND(8)), {"cast": "half", "wcast": "bfloat16"}),
    ((RND(3, 8), RND(8)), {"wcast": "bfloat16"}),  # float32 input, bfloat16 weight: float32
    ((RND(3, 8), RND(8, dtype=F64)), {}),  # float64 weight: the result keeps float32
    ((RND(3, 8, dtype=F64), RND(8)), {}),
    ((Arg(np.full((2, 3), 1e-9, F64)),), {}),  # float64's own epsilon
    ((Arg(np.full((2, 3), 1e-4, F32)),), {"cast": "bfloat16"}),  # float32's epsilon for bfloat16
    ((RND(3, 8),), {"cast": "bfloat16", "eps": 1e-3}),
    ((Arg(np.arange(8).reshape(1, 8)),), {}),  # integer input: NotImplementedError
]


@pytest.mark.parametrize("args,kwargs", RMS, ids=range(len(RMS)))
def test_rms_norm(device, args, kwargs):
    check(_rms, args, kwargs, device)


def test_rms_norm_bfloat16_exact(device):
    x = ember.full((1, 8), 0.1, device=device).bfloat16()
    assert ember.nn.functional.rms_norm(x, [8]).float().tolist() == [[1.0] * 8]


def test_rmsnorm_module_half(device):
    def fn(L, x, w):
        m = L.nn.RMSNorm(8, dtype=L.bfloat16).to(x.device)
        with L.no_grad():
            m.weight.copy_(w)
        return m(x.bfloat16())

    check(fn, (RND(2, 3, 8), RND(8)), {}, device)


# ---- SDPA: mask dtypes, attn_mask with is_causal -----------------------------------------------
def _sdpa(L, q, k, v, m, *, mcast=None, qcast=None, **kw):
    if qcast:
        q, k, v = (getattr(t, qcast)() for t in (q, k, v))
    m = m.to(getattr(L, mcast)) if mcast else m
    return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, **kw)


QKV = (RND(2, 3, 4, 8), RND(2, 3, 5, 8), RND(2, 3, 5, 8))
MASK01 = Arg((R.random((4, 5)) > 0.4).astype(F32), grad=False)
SDPA = [
    ((*QKV, MASK01), {"mcast": "int64"}),  # RuntimeError: not a bias, not allowed-positions
    ((*QKV, MASK01), {"mcast": "int32"}),
    ((*QKV, MASK01), {"mcast": "uint8"}),
    ((*QKV, MASK01), {"mcast": "float16"}),
    ((*QKV, MASK01), {"mcast": "float64"}),
    ((*QKV, MASK01), {"mcast": "float64", "qcast": "double"}),
    ((*QKV, MASK01), {"mcast": "bool"}),
    ((*QKV, MASK01), {"mcast": "int64", "is_causal": True}),
    # is_causal with a mask: PyTorch's CPU flash kernel (4-D, no dropout...) combines them
    ((*QKV, MASK01), {"is_causal": True}),
    ((*QKV, MASK01), {"mcast": "bool", "is_causal": True}),
    ((*QKV, MASK01), {"qcast": "double", "is_causal": True}),
    ((*QKV, Arg(np.zeros((2, 1, 4, 1), F32), grad=False)), {"is_causal": True}),
    ((RND(2, 4, 4, 8), RND(2, 2, 5, 8), RND(2, 2, 5, 8), MASK01), {"is_causal": True, "enable_gqa": True}),
    # ... and everywhere else its math path refuses them
    ((RND(3, 4, 8), RND(3, 5, 8), RND(3, 5, 8), MASK01), {"is_causal": True}),
    ((*QKV, Arg(np.zeros((1, 4, 5), F32), grad=False)), {"is_causal": True}),
    ((*QKV, MASK01), {"is_causal": True, "dropout_p": 0.5}),
    ((RND(2, 3, 4, 8), RND(2, 1, 5, 8), RND(2, 1, 5, 8), MASK01), {"is_causal": True}),  # broadcast heads
    ((RND(2, 3, 4, 8), RND(1, 3, 5, 8), RND(1, 3, 5, 8), MASK01), {"is_causal": True}),  # broadcast batch
    ((RND(2, 3, 4, 8), RND(2, 3, 5, 8), RND(2, 3, 5, 6), MASK01), {"is_causal": True}),  # value head dim
    ((*QKV, Arg(np.zeros((4, 5), F32))), {"is_causal": True}),  # a mask that takes a gradient
]


@pytest.mark.parametrize("args,kwargs", SDPA, ids=range(len(SDPA)))
def test_sdpa_masks(device, args, kwargs):
    check(_sdpa, args, kwargs, device, tol=10)


def test_sdpa_causal_mask_without_flash(device):
    def fn(L, q, k, v, m):
        with L.nn.attention.sdpa_kernel([L.nn.attention.SDPBackend.MATH]):
            return L.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m, is_causal=True)

    check(fn, (*QKV, MASK01), {}, device)


# ---- MultiheadAttention / Transformer layers: mask dtypes and the is_causal hint ---------------
E, H, LEN, N = 8, 2, 5, 2
MHA_W = [R.standard_normal(s).astype(F32) * 0.4 for s in ((3 * E, E), (3 * E,), (E, E), (E,))]


def _load(L, m, arrays):
    with L.no_grad():
        for p, a in zip(m.parameters(), arrays):
            p.copy_(L.tensor(a).reshape(p.shape).to(p.device))
    return m


def _mha(L, x, *masks, batch_first=False, eval_mode=False, nograd=False, mask_dtypes=(), names=(), **kw):
    m = _load(L, L.nn.MultiheadAttention(E, H, batch_first=batch_first, **kw.pop("ctor", {})).to(x.device), MHA_W)
    if eval_mode:
        m.eval()
    masks = [mk.to(getattr(L, dt)) if dt else mk for mk, dt in zip(masks, mask_dtypes or [None] * len(masks))]
    call = dict(zip(names, masks), **kw)
    if nograd:
        with L.no_grad():
            return m(x, x, x, **call)
    return m(x, x, x, **call)


X = RND(LEN, N, E)
KPM = Arg(np.array([[0, 0, 0, 1, 1], [0, 0, 0, 0, 1]], np.int64))
AM = Arg(np.zeros((LEN, LEN), np.int64))
BIAS = Arg(R.standard_normal((LEN, LEN)).astype(F32), grad=False)
BOOLM = Arg(np.triu(np.ones((LEN, LEN), bool), 1))
MHA = [
    ((X, KPM), {"names": ("key_padding_mask",)}),  # AssertionError: only bool and floating types
    ((X, AM), {"names": ("attn_mask",)}),
    ((X, AM), {"names": ("attn_mask",), "mask_dtypes": ("uint8",)}),
    ((X, AM, KPM), {"names": ("attn_mask", "key_padding_mask")}),
    ((X, KPM), {"names": ("key_padding_mask",), "mask_dtypes": ("bool",)}),
    ((X, KPM), {"names": ("key_padding_mask",), "mask_dtypes": ("float32",)}),
    ((X,), {"is_causal": True}),  # RuntimeError: Need attn_mask
    ((X,), {"is_causal": True, "need_weights": False}),
    ((X, KPM), {"names": ("key_padding_mask",), "mask_dtypes": ("bool",), "is_causal": True}),
    # with a mask: need_weights keeps the mask; without, PyTorch applies the causal mask instead
    ((X, BIAS), {"names": ("attn_mask",), "is_causal": True}),
    ((X, BIAS), {"names": ("attn_mask",), "is_causal": True, "need_weights": False}),
    ((X, BOOLM), {"names": ("attn_mask",), "is_causal": True, "need_weights": False}),
    ((X, BIAS), {"names": ("attn_mask",), "is_causal": True, "need_weights": False,
                 "ctor": {"add_bias_kv": True, "add_zero_attn": True}}),
    ((X, BIAS, KPM), {"names": ("attn_mask", "key_padding_mask"), "mask_dtypes": (None, "bool"),
                      "is_causal": True, "need_weights": False}),
    # PyTorch's fused inference path (eval, no grad, batch_first, self-attention) ignores the hint
    ((X,), {"is_causal": True, "batch_first": True, "eval_mode": True, "nograd": True}),
    ((X,), {"is_causal": True, "batch_first": True, "eval_mode": True}),  # parameters take grads: raises
    ((X,), {"is_causal": True, "eval_mode": True, "nograd": True}),  # not batch_first: raises
]


@pytest.mark.parametrize("args,kwargs", MHA, ids=range(len(MHA)))
def test_multihead_attention_masks(device, args, kwargs):
    check(_mha, args, kwargs, device, tol=10)


def _encoder_layer(L, device, batch_first=False):
    m = L.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, batch_first=batch_first).to(device)
    arrays = MHA_W + _LAYER_REST
    return _load(L, m, arrays)


_LAYER_REST = [np.random.default_rng(3).standard_normal(s).astype(F32) * 0.3
               for s in ((16, E), (16,), (E, 16), (E,), (E,), (E,), (E,), (E,))]


def _layer(L, x, *masks, kind="layer", batch_first=False, eval_mode=False, nograd=False, names=(), **kw):
    if kind == "layer":
        m = _encoder_layer(L, x.device, batch_first)
    elif kind == "encoder":
        m = L.nn.TransformerEncoder(_encoder_layer(L, x.device, batch_first), 2, enable_nested_tensor=False)
    else:
        m = _load(L, L.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0).to(x.device), MHA_W * 2 + _LAYER_REST + [
            np.ones(E, F32), np.zeros(E, F32)])
    if eval_mode:
        m.eval()
    call = dict(zip(names, masks), **kw)
    args = (x, x) if kind == "decoder" else (x,)
    if nograd:
        with L.no_grad():
            return m(*args, **call)
    return m(*args, **call)


LAYERS = [
    ((X,), {"is_causal": True}),  # RuntimeError: Need attn_mask
    ((X, AM), {"names": ("src_mask",)}),  # AssertionError naming src_mask
    ((X, KPM), {"names": ("src_key_padding_mask",)}),
    ((X,), {"kind": "encoder", "is_causal": True}),
    ((X, AM), {"kind": "encoder", "names": ("mask",)}),  # the encoder's own name for it
    ((X, KPM), {"kind": "encoder", "names": ("src_key_padding_mask",)}),
    ((X,), {"kind": "decoder", "tgt_is_causal": True}),
    ((X,), {"kind": "decoder", "memory_is_causal": True}),
    ((X, AM), {"kind": "decoder", "names": ("tgt_mask",)}),  # the attention's name: attn_mask
    ((X, KPM), {"kind": "decoder", "names": ("memory_key_padding_mask",)}),
    # the fused inference paths ignore the hint
    ((X,), {"is_causal": True, "batch_first": True, "eval_mode": True, "nograd": True}),
    ((X, BIAS), {"names": ("src_mask",), "is_causal": True, "batch_first": True, "eval_mode": True,
                 "nograd": True}),
    ((X,), {"kind": "encoder", "is_causal": True, "batch_first": True, "eval_mode": True, "nograd": True}),
    ((X,), {"is_causal": True, "batch_first": True, "eval_mode": True}),
]


@pytest.mark.parametrize("args,kwargs", LAYERS, ids=range(len(LAYERS)))
def test_transformer_layers_masks(device, args, kwargs):
    check(_layer, args, kwargs, device, tol=10)


# ---- instance norm with one spatial element ----------------------------------------------------
def _inorm(L, x, *, cls=None, training=True, **kw):
    if cls is None:
        return L.nn.functional.instance_norm(x, **kw)
    m = getattr(L.nn, cls)(x.shape[1] if x.dim() > 2 else x.shape[0], **kw)
    m.train(training).to(x.device)
    return m(x)


INORM = [
    ((RND(2, 3, 1),), {}),  # ValueError: Expected more than 1 spatial element when training
    ((RND(2, 3),), {}),
    ((RND(2, 3, 1, 1),), {}),
    ((RND(2, 3, 1),), {"use_input_stats": False, "running_mean": ember, "running_var": ember}),
    ((RND(2, 3, 2),), {}),
    ((RND(2, 3, 1),), {"cls": "InstanceNorm1d"}),
    ((RND(3, 1),), {"cls": "InstanceNorm1d"}),  # unbatched
    ((RND(2, 3, 1, 1),), {"cls": "InstanceNorm2d", "affine": True}),
    ((RND(2, 3, 1, 1, 1),), {"cls": "InstanceNorm3d"}),
    ((RND(2, 3, 1),), {"cls": "InstanceNorm1d", "training": False}),  # eval without running stats: raises
    ((RND(2, 3, 1),), {"cls": "InstanceNorm1d", "training": False, "track_running_stats": True}),
    ((RND(2, 3, 1, 2),), {"cls": "InstanceNorm2d"}),
]


@pytest.mark.parametrize("args,kwargs", INORM, ids=range(len(INORM)))
def test_instance_norm_one_spatial_element(device, args, kwargs):
    if kwargs.get("running_mean") is ember:  # running statistics of the test's own framework
        def fn(L, x, **kw):
            return L.nn.functional.instance_norm(x, L.zeros(3, device=x.device), L.ones(3, device=x.device),
                                                 use_input_stats=False)

        check(fn, args, {}, device)
        return
    check(_inorm, args, kwargs, device)


# ---- one_hot -----------------------------------------------------------------------------------
ONE_HOT = [
    ((INT([]),), {}),  # RuntimeError: Can not infer total number of classes from empty tensor
    ((Arg(np.zeros((2, 0), np.int64)),), {}),
    ((INT([]),), {"num_classes": 3}),
    ((INT([]),), {"num_classes": 0}),
    ((INT([1, 2], np.int32),), {"num_classes": 3}),  # RuntimeError: ... of type LongTensor
    ((INT([1, 2], np.int32),), {}),
    ((INT([], np.int32),), {}),
    ((INT([1, 2], np.uint8),), {"num_classes": 3}),
    ((INT([1, 2], np.int16),), {"num_classes": 3}),
    ((Arg(np.array([True])),), {"num_classes": 2}),
    ((Arg(np.array([1.0], F32), grad=False),), {"num_classes": 2}),
    ((INT([1, 0, 3]),), {}),
    ((INT(2),), {}),
    ((INT([[0, 2], [1, 1]]),), {"num_classes": 4}),
    ((INT([-1]),), {"num_classes": 3}),
    ((INT([3]),), {"num_classes": 3}),
]


@pytest.mark.parametrize("args,kwargs", ONE_HOT, ids=range(len(ONE_HOT)))
def test_one_hot(device, args, kwargs):
    check(lambda L, t, **kw: L.nn.functional.one_hot(t, **kw), args, kwargs, device)


# ---- EmbeddingBag with include_last_offset -----------------------------------------------------
# The last offset closes the last bag (CSR). With indices after it PyTorch's kernels disagree with
# each other (float32 sum drops them, its mean divides that sum by the longer count, float64 and max
# keep them; float32 sum's backward reads past its buffer), so only its float64 path is compared there.
IDX = INT([1, 2, 3, 4, 5, 6, 7, 8])


def _bag(L, idx, w, offsets, *psw, **kw):
    return L.nn.functional.embedding_bag(idx, w, offsets, per_sample_weights=psw[0] if psw else None,
                                         include_last_offset=True, **kw)


BAGS = [((IDX, RND(10, 3), INT([0, 2, 2, 5, 8])), {"mode": mode}) for mode in ("sum", "mean", "max")] + [
    ((IDX, RND(10, 3), INT([0, 2, 2, 5, 8]), RND(8)), {"mode": "sum"}),
    ((IDX, RND(10, 3), INT([0, 3, 8])), {"mode": "mean", "padding_idx": 4}),
    ((IDX, RND(10, 3), INT([0, 2, 2, 5, 8], np.int32)), {"mode": "mean"}),
    ((IDX, RND(10, 3, grad=False), INT([0])), {"mode": "sum"}),  # no bag (PyTorch's backward reads garbage)
    ((IDX, RND(10, 3), INT([0, 9])), {"mode": "sum"}),  # past the input: RuntimeError
] + [((IDX, RND(10, 3, dtype=F64), INT([0, 2, 2, 5])), {"mode": mode}) for mode in ("sum", "mean", "max")] + [
    ((IDX, RND(10, 3, dtype=F64), INT([0, 2, 2, 5]), RND(8, dtype=F64)), {"mode": "sum"}),
]


@pytest.mark.parametrize("args,kwargs", BAGS, ids=range(len(BAGS)))
def test_embedding_bag_include_last_offset(device, args, kwargs):
    check(_bag, args, kwargs, device)


def test_embedding_bag_module_include_last_offset(device):
    def fn(L, idx, w, offsets):
        bag = L.nn.EmbeddingBag.from_pretrained(w, freeze=False, mode="max", include_last_offset=True)
        return bag(idx, offsets)

    check(fn, (IDX, RND(10, 3), INT([0, 3, 3, 8])), {}, device)


# ---- a full backward hook on an in-place forward -----------------------------------------------
class _AddOne:
    @staticmethod
    def make(L):
        class AddOne(L.nn.Module):
            def forward(self, x):
                return x.add_(1.0)

        return AddOne()


def _hooked(L, x, *, module="relu_", pre=False, grad=True, nograd=False):
    m = L.nn.ReLU(inplace=True) if module == "relu_" else (L.nn.ReLU() if module == "relu" else _AddOne.make(L))
    if pre:
        m.register_full_backward_pre_hook(lambda mod, go: None)
    else:
        m.register_full_backward_hook(lambda mod, gi, go: None)
    inp = x * 1.0 if grad else x.detach().clone()
    if nograd:
        with L.no_grad():
            return m(inp)
    return m(inp)


HOOKS = [
    ((RND(4),), {}),  # RuntimeError: Output 0 of BackwardHookFunction is a view and is being modified inplace
    ((RND(4),), {"pre": True}),
    ((RND(4),), {"module": "add_"}),
    ((RND(4),), {"module": "relu"}),
    ((RND(4),), {"grad": False}),  # nothing takes a gradient: no hook node
    ((RND(4),), {"nograd": True}),
    ((RND(4),), {"module": "add_", "grad": False}),
]


@pytest.mark.parametrize("args,kwargs", HOOKS, ids=range(len(HOOKS)))
def test_full_backward_hook_inplace_forward(device, args, kwargs):
    check(_hooked, args, kwargs, device)


# ---- double backward through piecewise-linear activations --------------------------------------
# PyTorch's backward (threshold_backward(grad, self)...) is differentiable w.r.t. the input with a zero
# derivative: under create_graph the gradient requires grad, and differentiating it gives zeros.
ACTS = {
    "threshold": lambda F, x: F.threshold(x, 0.1, -2.0),
    "hardtanh": lambda F, x: F.hardtanh(x, -0.5, 0.5),
    "relu6": lambda F, x: F.relu6(x * 4.0),
    "leaky_relu": lambda F, x: F.leaky_relu(x, 0.2),
    "hardshrink": lambda F, x: F.hardshrink(x, 0.4),
    "softshrink": lambda F, x: F.softshrink(x, 0.4),
    "softplus": lambda F, x: F.softplus(x, 2.0),
}
XS = np.array([-1.0, 0.5, 2.0, -0.2, 0.3, 1.5, -0.7, 0.9], F32)


@pytest.mark.parametrize("name", list(ACTS))
def test_activation_double_backward(device, name):
    def fn(L, x, v):
        (g,) = L.autograd.grad(ACTS[name](L.nn.functional, x), x, v, create_graph=True)
        return g, g.requires_grad

    check(fn, (Arg(XS), Arg(XS[::-1].copy())), {}, device)


@pytest.mark.parametrize("name", list(ACTS))
def test_activation_grad_of_grad_is_zero(device, name):
    def fn(L, x):
        (g,) = L.autograd.grad(ACTS[name](L.nn.functional, x).sum(), x, create_graph=True)
        return L.autograd.grad(g.sum(), x, allow_unused=True)[0]

    check(fn, (Arg(XS),), {}, device)


@pytest.mark.parametrize("name", ["leaky_relu", "threshold", "hardshrink", "softshrink"])
def test_activation_grad_fn_names(device, name):
    t = ACTS[name](torch.nn.functional, torch.tensor(XS, requires_grad=True))
    e = ACTS[name](ember.nn.functional, ember.tensor(XS, device=device, requires_grad=True))
    assert e.grad_fn.name() == t.grad_fn.name()
