"""Issue #14 section 2: the PyTorch surface real programs stopped on, compared with real PyTorch.

``f"{loss:.4f}"``; ``stride``/``storage_offset``/``data_ptr`` and the ``is_*`` flags; the memory
formats and ``memory_format=``; ``multinomial`` and ``poisson`` (distributions with a fixed seed, and
PyTorch's errors); ``serialization.add_safe_globals``/``safe_globals``; ``ember.accelerator``;
``ember.backends``; ``ember.onnx``.
"""

from __future__ import annotations

import io
import math
import sys
import types

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")


def _pair(device, shape=(2, 3, 4, 5)):
    values = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    return ember.tensor(values, device=device), torch.tensor(values)


def _same_error(ember_fn, torch_fn):
    with pytest.raises(Exception) as te:
        torch_fn()
    with pytest.raises(type(te.value)) as ee:
        ember_fn()
    return str(te.value), str(ee.value)


# ---- __format__ ------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [".4f", "", ">10.2e", "g"])
def test_format_0d(device, spec):
    e = ember.tensor(2.0 / 3.0, device=device, requires_grad=True) * 1.5
    t = torch.tensor(2.0 / 3.0, requires_grad=True) * 1.5
    assert format(e, spec) == format(t, spec)
    assert format(ember.tensor(7, device=device), "d") == format(torch.tensor(7), "d")


def test_format_non_scalar_falls_back(device):
    e, t = ember.ones(1, device=device), torch.ones(1)
    _same_error(lambda: format(e, ".2f"), lambda: format(t, ".2f"))
    assert format(e, "") == str(e)


# ---- layout queries --------------------------------------------------------------------------------
_VIEWS = [
    lambda x: x,
    lambda x: x.transpose(1, 3),
    lambda x: x.permute(0, 2, 3, 1),
    lambda x: x[:, 1:],
    lambda x: x[1, :, 2],
    lambda x: x[..., ::2],
    lambda x: x[:, None],
    lambda x: x.reshape(6, 20),
    lambda x: x[0, 0, 0, 0],
    lambda x: x[:, :1].expand(2, 3, 4, 5),
    lambda x: x.narrow(2, 1, 2).unsqueeze(0),
]


@pytest.mark.parametrize("view", range(len(_VIEWS)))
def test_stride_storage_offset_data_ptr(device, view):
    e, t = _pair(device)
    ev, tv = _VIEWS[view](e), _VIEWS[view](t)
    assert ev.stride() == tv.stride()
    for d in range(-tv.dim(), tv.dim()):
        assert ev.stride(d) == tv.stride(d)
    assert ev.storage_offset() == tv.storage_offset()
    assert ev.data_ptr() - e.data_ptr() == tv.data_ptr() - t.data_ptr()


def test_stride_errors_and_empty(device):
    e0, t0 = ember.tensor(1.0, device=device), torch.tensor(1.0)
    assert e0.stride() == t0.stride()
    _same_error(lambda: e0.stride(0), lambda: t0.stride(0))
    e, t = _pair(device, (2, 3))
    _same_error(lambda: e.stride(2), lambda: t.stride(2))
    assert ember.zeros(2, 0, 3, device=device).stride() == torch.zeros(2, 0, 3).stride()


def test_is_flags(device):
    e, t = _pair(device, (2,))
    for flag in ("is_sparse", "is_quantized", "is_meta", "is_xpu", "is_mps", "is_complex"):
        ev = getattr(e, flag)
        ev = ev() if callable(ev) else ev
        tv = getattr(t, flag)
        assert ev == (tv() if callable(tv) else tv), flag


# ---- memory formats ------------------------------------------------------------------------------
def test_memory_format_constants():
    for name in ("contiguous_format", "preserve_format", "channels_last", "channels_last_3d"):
        assert isinstance(getattr(ember, name), ember.memory_format)
        assert repr(getattr(ember, name)).split(".")[-1] == repr(getattr(torch, name)).split(".")[-1]


@pytest.mark.parametrize("fmt", ["contiguous_format", "preserve_format", "channels_last"])
def test_memory_format_accepted(device, fmt):
    e, t = _pair(device)
    ef, tf = getattr(ember, fmt), getattr(torch, fmt)
    outs = [(e.contiguous(memory_format=ef) if fmt != "preserve_format" else e.contiguous(), t),
            (e.clone(memory_format=ef), t.clone(memory_format=tf)),
            (e.to(ember.float64, memory_format=ef), t.to(torch.float64, memory_format=tf)),
            (ember.zeros_like(e, memory_format=ef), torch.zeros_like(t, memory_format=tf)),
            (ember.empty_like(e, memory_format=ef).fill_(1), torch.empty_like(t, memory_format=tf).fill_(1))]
    for eo, to in outs:
        assert tuple(eo.shape) == tuple(to.shape)
        np.testing.assert_array_equal(eo.cpu().numpy(), to.numpy())
    # ember keeps C order, and says so when asked about channels_last
    assert e.clone(memory_format=ef).is_contiguous()


def test_memory_format_errors_and_is_contiguous(device):
    e, t = _pair(device, (2, 3))
    _same_error(lambda: e.contiguous(memory_format=ember.channels_last),
                lambda: t.contiguous(memory_format=torch.channels_last))
    _same_error(lambda: e.clone(memory_format=ember.channels_last_3d),
                lambda: t.clone(memory_format=torch.channels_last_3d))
    _same_error(lambda: e.to(memory_format=ember.channels_last), lambda: t.to(memory_format=torch.channels_last))
    _same_error(lambda: e.contiguous(memory_format=1), lambda: t.contiguous(memory_format=1))
    for name in ("empty_like", "zeros_like", "ones_like", "rand_like", "randn_like"):
        te, ee = _same_error(lambda n=name: getattr(ember, n)(e, memory_format=ember.channels_last),
                             lambda n=name: getattr(torch, n)(t, memory_format=torch.channels_last))
        assert ee == te
    _same_error(lambda: ember.randint_like(e, 5, memory_format=ember.channels_last),
                lambda: torch.randint_like(t, 5, memory_format=torch.channels_last))
    e4, t4 = _pair(device)
    for f in (lambda x: x, lambda x: x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)):
        for fmt in ("contiguous_format", "channels_last", "preserve_format"):
            assert f(e4).is_contiguous(memory_format=getattr(ember, fmt)) == \
                f(t4).is_contiguous(memory_format=getattr(torch, fmt))


# ---- multinomial / poisson -------------------------------------------------------------------------
def test_multinomial_with_replacement_distribution(device):
    p = [0.1, 0.0, 0.2, 0.3, 0.4]
    n = 40000
    s = ember.multinomial(ember.tensor(p, device=device) * 3, n, replacement=True)
    ts = torch.multinomial(torch.tensor(p) * 3, 8, replacement=True)
    assert s.dtype == ember.int64 and ts.dtype == torch.int64 and tuple(s.shape) == (n,)
    freq = np.bincount(s.cpu().numpy(), minlength=5) / n
    np.testing.assert_allclose(freq, p, atol=0.01)
    assert freq[1] == 0


def test_multinomial_without_replacement(device):
    p = np.array([[0.5, 0.25, 0.125, 0.125], [0.0, 1.0, 1.0, 0.0]], np.float32)
    s = ember.tensor(p, device=device).multinomial(2)
    ts = torch.tensor(p).multinomial(2)
    assert tuple(s.shape) == tuple(ts.shape) and s.dtype == ember.int64
    rows = np.repeat(p[:1], 20000, 0)
    draws = ember.multinomial(ember.tensor(rows, device=device), 2).cpu().numpy()
    assert (draws[:, 0] != draws[:, 1]).all()
    tdraws = torch.multinomial(torch.tensor(rows), 2).numpy()
    np.testing.assert_allclose(np.bincount(draws[:, 0], minlength=4) / 20000,
                               np.bincount(tdraws[:, 0], minlength=4) / 20000, atol=0.015)
    np.testing.assert_allclose(np.bincount(draws[:, 1], minlength=4) / 20000,
                               np.bincount(tdraws[:, 1], minlength=4) / 20000, atol=0.015)
    assert sorted(ember.multinomial(ember.tensor(p[1], device=device), 2).cpu().tolist()) == [1, 2]


@pytest.mark.parametrize("case", [
    lambda m, x: m.multinomial(m.ones(2, 2, 2, dtype=x), 1),
    lambda m, x: m.multinomial(m.ones(3, dtype=x), 0),
    lambda m, x: m.multinomial(m.ones(3, dtype=x), -1),
    lambda m, x: m.multinomial(m.ones(3, dtype=x), 4),
    lambda m, x: m.multinomial(m.tensor([1.0, -1.0], dtype=x), 1),
    lambda m, x: m.multinomial(m.tensor([1.0, math.nan], dtype=x), 1),
    lambda m, x: m.multinomial(m.tensor([1.0, math.inf], dtype=x), 1, True),
    lambda m, x: m.multinomial(m.zeros(2, 3, dtype=x), 1),
    lambda m, x: m.multinomial(m.ones(3, dtype=m.int64), 1),
    lambda m, x: m.multinomial(m.ones(3, dtype=x), 2.0),
    lambda m, x: m.poisson(m.tensor([-1.0], dtype=x)),
    lambda m, x: m.poisson(m.ones(2, dtype=m.int64)),
])
def test_sampling_errors(case):
    te, ee = _same_error(lambda: case(ember, ember.float32), lambda: case(torch, torch.float32))
    assert ee == te


def test_poisson_distribution(device):
    rates = np.array([0.0, 0.5, 3.0, 40.0, 900.0], np.float32)
    n = 4000
    e = ember.poisson(ember.tensor(np.tile(rates, (n, 1)), device=device))
    t = torch.poisson(torch.tensor(rates))
    assert e.dtype == ember.float32 and t.dtype == torch.float32
    v = e.cpu().numpy()
    assert (v == np.round(v)).all() and (v >= 0).all() and (v[:, 0] == 0).all()
    np.testing.assert_allclose(v.mean(0), rates, rtol=0.03, atol=0.03)
    np.testing.assert_allclose(v.var(0), rates, rtol=0.1, atol=0.05)
    g = ember.Generator(device).manual_seed(5)  # (as PyTorch: a generator of the device type drawn on)
    a = ember.poisson(ember.tensor(rates, device=device), g)
    b = ember.poisson(ember.tensor(rates, device=device), ember.Generator(device).manual_seed(5))
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    er = ember.tensor(rates, device=device, requires_grad=True)
    tr = torch.tensor(rates, requires_grad=True)
    ember.poisson(er).sum().backward()
    torch.poisson(tr).sum().backward()
    np.testing.assert_array_equal(er.grad.cpu().numpy(), tr.grad.numpy())


# ---- safe globals ------------------------------------------------------------------------------------
class _Config:
    def __init__(self, lr: float) -> None:
        self.lr = lr


def _checkpoint() -> io.BytesIO:
    buf = io.BytesIO()
    torch.save({"w": torch.arange(3.0), "cfg": _Config(0.5)}, buf)
    buf.seek(0)
    return buf


def test_safe_globals():
    ember.serialization.clear_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(ember.WeightsOnlyLoadError, match="add_safe_globals"):
            ember.load(_checkpoint())
        with ember.serialization.safe_globals([_Config]), torch.serialization.safe_globals([_Config]):
            e, t = ember.load(_checkpoint()), torch.load(_checkpoint(), weights_only=True)
            assert ember.serialization.get_safe_globals() == torch.serialization.get_safe_globals() == [_Config]
        assert ember.serialization.get_safe_globals() == torch.serialization.get_safe_globals() == []
        assert e["cfg"].lr == t["cfg"].lr and e["w"].tolist() == t["w"].tolist()
        name = f"{_Config.__module__}.{_Config.__qualname__}"
        ember.serialization.add_safe_globals([(_Config, name)])
        assert ember.load(_checkpoint())["cfg"].lr == 0.5
        ember.serialization.clear_safe_globals()
        with pytest.raises(ember.WeightsOnlyLoadError):
            ember.load(_checkpoint())
    finally:
        ember.serialization.clear_safe_globals()


# ---- accelerator, backends, onnx -------------------------------------------------------------------
def test_accelerator():
    acc = ember.accelerator
    for name in ("current_accelerator", "is_available", "device_count", "current_device_index",
                 "set_device_index", "synchronize"):
        assert callable(getattr(acc, name)) and callable(getattr(torch.accelerator, name))
    cur = acc.current_accelerator()
    if cur is None:
        assert not acc.is_available() and acc.device_count() == 0
        return
    assert cur.type != "cpu" and acc.is_available()
    assert getattr(ember, cur.type).is_available()
    assert acc.device_count() == getattr(ember, cur.type).device_count() >= 1
    acc.set_device_index(0)
    assert acc.current_device_index() == 0
    acc.set_device_index(f"{cur.type}:0")
    acc.synchronize()
    with pytest.raises(ValueError):
        acc.set_device_index("cpu")


def test_backends_defaults_match_torch():
    b, tb = ember.backends, torch.backends
    for ns, flag in [("cudnn", "enabled"), ("cudnn", "benchmark"), ("cudnn", "deterministic"),
                     ("cudnn", "allow_tf32"), ("mkldnn", "enabled"), ("opt_einsum", "enabled")]:
        assert getattr(getattr(b, ns), flag) == getattr(getattr(tb, ns), flag), (ns, flag)
    for flag in ("allow_tf32", "allow_fp16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction"):
        assert getattr(b.cuda.matmul, flag) == getattr(tb.cuda.matmul, flag)
    assert b.mps.is_available() is False and b.cudnn.is_available() is False
    assert b.opencl.is_available() == ember.opencl.is_available()
    b.cudnn.benchmark = True
    try:
        assert ember.backends.cudnn.benchmark is True
        with b.cudnn.flags(enabled=False, deterministic=True):
            assert not b.cudnn.enabled and b.cudnn.deterministic
        assert b.cudnn.enabled and not b.cudnn.deterministic
    finally:
        b.cudnn.benchmark = False
    with pytest.raises(AttributeError):
        b.cuda.matmul.allow_tf33 = True
    import ember.backends.cudnn as cudnn  # noqa: F401 - importable as a module, as in PyTorch

    assert isinstance(sys.modules["ember.backends.cudnn"], types.ModuleType)


def test_onnx():
    import ember.onnx

    assert ember.onnx.is_in_onnx_export() is False
    with pytest.raises(NotImplementedError, match="dynamo"):  # export itself: tests/test_onnx_export.py
        ember.onnx.dynamo_export(ember.nn.Linear(2, 2), ember.ones(1, 2))
