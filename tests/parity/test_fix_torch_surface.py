"""Behaviour of the top-level ``torch.*`` names ember.functions.torch_surface (and the small aliases
in ``ember/__init__``, nn.init and nn.utils) adds, beyond the parity table (cases_torch_surface):
views that share memory, the composite a backend without the ``as_strided`` kernels runs,
``frombuffer``'s shared buffer and errors, the warnings PyTorch gives, binomial's distribution,
and the messages of the functions PyTorch removed. Every expectation comes from PyTorch or from
the mathematics, never from ember itself."""

from __future__ import annotations

import array
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(11)


def _np(t):
    return t.detach().cpu().numpy()


def _holds_complex(dev: str) -> bool:
    return ember.complex64 in ember.plugins.backend(ember.device(dev).type).supported_dtypes(0)


# ---- constants and aliases ---------------------------------------------------------------------


def test_constants_and_aliases_are_torchs():
    for name in ("e", "pi", "inf"):
        assert getattr(ember, name) == getattr(torch, name) and type(getattr(ember, name)) is float
    assert ember.nan != ember.nan and type(ember.nan) is float
    assert ember.newaxis is None is torch.newaxis
    assert ember.vmap is ember.func.vmap
    assert ember.GradScaler is ember.amp.GradScaler
    for name in ("e", "pi", "inf", "nan", "newaxis", "vmap", "GradScaler", "get_device", "is_storage"):
        assert name in ember.__all__


def test_get_device_and_is_storage(device):
    x = ember.ones(2, device=device)
    assert ember.get_device(x) == x.get_device()
    assert ember.get_device(ember.ones(1)) == torch.get_device(torch.ones(1)) == -1
    assert ember.is_storage(x) is torch.is_storage(torch.ones(1)) is False


# ---- as_strided --------------------------------------------------------------------------------


def test_as_strided_is_a_view(device):
    t = torch.arange(8.0)
    e = ember.arange(8.0, device=device)
    tv, ev = t[1:].as_strided((3,), (2,)), e[1:].as_strided((3,), (2,))
    assert ev.storage_offset() == tv.storage_offset() == 1
    assert ev._base is e
    ev.mul_(10)
    tv.mul_(10)
    np.testing.assert_array_equal(_np(e), t.numpy())  # the write reached the base
    e[3] = -1.0
    t[3] = -1.0
    np.testing.assert_array_equal(_np(ev), tv.numpy())  # and the base's write reaches the view


def test_as_strided_in_place_on_view_records_history(device):
    def fn(lib, x):
        y = x * 1
        v = y.as_strided((2, 2), (1, 2), 1)
        v.mul_(3)
        return y

    check(fn, (Arg(R.standard_normal(6).astype(np.float32)),), {}, device)


def test_as_strided_double_backward(device):
    def fn(lib, x):
        y = lib.as_strided(x, (3, 2), (1, 1))
        (g,) = lib.autograd.grad((y * y).sum(), x, create_graph=True)
        return g

    check(fn, (Arg(R.standard_normal(4)),), {}, device)


def test_as_strided_without_its_kernels(device, hide_kernels):
    """A backend without ``as_strided``/``storage_size`` gets a gathered copy when the input is all
    of its storage, and PyTorch's bounds errors; a view input cannot be restrided there."""
    hide_kernels(["as_strided", "storage_size"])
    x = R.standard_normal(6).astype(np.float32)
    check(lambda lib, t: lib.as_strided(t, (3, 2), (1, 2)), (Arg(x),), {}, device)
    check(lambda lib, t: lib.as_strided(t, (3, 2), (1, 2), 1), (Arg(x),), {}, device)
    check(lambda lib, t: lib.as_strided(t, (4,), (2,)), (Arg(x),), {}, device)  # out of bounds: both raise
    with pytest.raises(RuntimeError, match="as_strided"):
        ember.tensor(x, device=device)[1:].as_strided((2,), (1,))


def test_as_strided_scatter_grads(device):
    """PyTorch 2.13's AsStridedScatterBackward is wrong for ``input`` (and for ``src`` when input is
    not contiguous); the reference here is PyTorch's own in-place form on a clone, whose history is
    right: ``y = x.clone(); y.as_strided(...).copy_(src)``."""
    x = R.standard_normal(6)
    s = R.standard_normal(2)
    w = R.standard_normal(6)
    tx, ts = torch.tensor(x, requires_grad=True), torch.tensor(s, requires_grad=True)
    y = tx.clone()
    y.as_strided((2,), (2,), 1).copy_(ts)
    (y * torch.tensor(w)).sum().backward()
    ex = ember.tensor(x, device=device, requires_grad=True)
    es = ember.tensor(s, device=device, requires_grad=True)
    out = ember.as_strided_scatter(ex, es, (2,), (2,), 1)
    np.testing.assert_allclose(_np(out), y.detach().numpy())
    (out * ember.tensor(w, device=device)).sum().backward()
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy())
    np.testing.assert_allclose(_np(es.grad), ts.grad.numpy())


# ---- frombuffer ----------------------------------------------------------------------------------


def test_frombuffer_shares_the_buffer():
    buf = bytearray(np.arange(4, dtype=np.int32).tobytes())
    t, e = torch.frombuffer(bytearray(buf), dtype=torch.int32), ember.frombuffer(buf, dtype=ember.int32)
    np.testing.assert_array_equal(_np(e), t.numpy())
    assert e.device.type == "cpu" and e.dtype is ember.int32
    buf[0] = 9  # the tensor sees the buffer's write...
    assert e[0].item() == 9
    e[1] = 7  # ...and the buffer sees the tensor's
    assert np.frombuffer(buf, dtype=np.int32)[1] == 7
    f = ember.frombuffer(array.array("f", [1.0, 2.0, 3.0]), dtype=ember.float32, offset=4, count=2,
                         requires_grad=True)
    assert f.tolist() == [2.0, 3.0] and f.requires_grad


@pytest.mark.parametrize("kwargs", [
    {"dtype": "int32", "count": 4}, {"dtype": "int32", "offset": 13}, {"dtype": "int32", "offset": -1},
    {"dtype": "int32", "count": 0}, {"dtype": "int32", "offset": 2}, {},
])
def test_frombuffer_errors_are_torchs(kwargs):
    buf = bytes(12)

    def call(lib):
        kw = {k: getattr(lib, v) if k == "dtype" else v for k, v in kwargs.items()}
        with pytest.raises(Exception) as info:
            lib.frombuffer(bytearray(buf), **kw)
        return info.value

    t_exc, e_exc = call(torch), call(ember)
    assert type(e_exc) is type(t_exc) and str(e_exc) == str(t_exc)


def test_frombuffer_readonly_warns():
    with pytest.warns(UserWarning, match="The given buffer is not writable"):
        e = ember.frombuffer(b"\x01\x00", dtype=ember.int16)
    assert e.tolist() == [1]


# ---- stft / istft --------------------------------------------------------------------------------


def test_stft_needs_return_complex_for_real_input(device):
    with pytest.raises(RuntimeError) as t_info:
        torch.stft(torch.zeros(16), 8)
    with pytest.raises(RuntimeError) as e_info:
        ember.stft(ember.zeros(16, device=device), 8)
    assert str(e_info.value) == str(t_info.value)


def test_stft_warnings_are_torchs():
    def messages(lib, **kw):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            lib.stft(lib.zeros(16), 8, **kw)
        return sorted(str(w.message).split(" (Triggered internally")[0] for w in seen)

    # PyTorch warns once per process (TORCH_WARN_ONCE): it may have warned already, elsewhere
    for e, t in ((messages(ember, return_complex=True), messages(torch, return_complex=True)),
                 (messages(ember, return_complex=False, window=ember.ones(8)),
                  messages(torch, return_complex=False, window=torch.ones(8)))):
        assert len(e) == 1 and (not t or t == e)


def test_stft_refused_without_complex_dtypes(device):
    if _holds_complex(device):
        pytest.skip("the device holds complex dtypes")
    with pytest.raises(TypeError, match="complex"):
        ember.stft(ember.zeros(16, device=device), 8, window=ember.ones(8, device=device), return_complex=True)


def test_istft_inverts_stft(device):
    if not _holds_complex(device):
        pytest.skip("needs complex dtypes")
    x = R.standard_normal((2, 40))
    w = np.hanning(10)[1:-1] + 0.1
    for kw in ({}, {"hop_length": 3}, {"center": False}, {"normalized": True, "onesided": False}):
        args = dict(window=ember.tensor(w, device=device), **kw)
        spec = ember.stft(ember.tensor(x, device=device), 8, return_complex=True, **args)
        y = ember.istft(spec, 8, length=None if kw.get("center") is False else 40, **args)
        n = y.shape[-1]
        np.testing.assert_allclose(_np(y).real if y.is_complex() else _np(y), x[..., :n], atol=1e-9)


# ---- binomial ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "p"), [(3.0, 0.3), (20.0, 0.9), (100.0, 0.5), (1000.0, 0.01), (5000.0, 0.5), (2.7, 0.5)])
def test_binomial_distribution(device, n, p):
    size = 20000
    ember.manual_seed(3)
    x = _np(ember.binomial(ember.full((size,), n, device=device), ember.full((size,), p, device=device)))
    k = np.floor(n)
    mean, var = k * p, k * p * (1 - p)
    assert ((x >= 0) & (x <= k) & (x == np.round(x))).all()
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / size) + 1e-9
    assert abs(x.var() / var - 1) < 0.06
    if k <= 20:  # small counts: every probability (a chi-square-like bound per value)
        from math import comb

        for j in range(int(k) + 1):
            pj = comb(int(k), j) * p ** j * (1 - p) ** (k - j)
            assert abs((x == j).mean() - pj) < 5 * np.sqrt(pj * (1 - pj) / size) + 1e-3


def test_binomial_edges_are_torchs(device):
    # (an infinite count: PyTorch gives inf or NaN depending on its generator's state; ember NaN)
    count = [10.0, 5.0, 0.0, -1.0, 4.0, 4.0]
    prob = [1.0, 0.0, 0.5, 0.5, 1.5, float("nan")]
    t = torch.binomial(torch.tensor(count), torch.tensor(prob))
    e = ember.binomial(ember.tensor(count, device=device), ember.tensor(prob, device=device))
    np.testing.assert_array_equal(_np(e), t.numpy())


def test_binomial_generator_reproducible(device):
    c, p = ember.full((50,), 30.0, device=device), ember.full((50,), 0.4, device=device)
    a = ember.binomial(c, p, generator=ember.Generator(device).manual_seed(5))
    b = ember.binomial(c, p, generator=ember.Generator(device).manual_seed(5))
    np.testing.assert_array_equal(_np(a), _np(b))


# ---- removed functions and deprecation warnings ---------------------------------------------------


@pytest.mark.parametrize("name", ["eig", "symeig", "matrix_rank", "lstsq", "solve"])
def test_removed_functions_say_what_replaces_them(device, name):
    def call(lib, dev):
        a = lib.eye(2, device=dev)
        args = (a, a) if name in ("lstsq", "solve") else (a,)
        with pytest.raises(RuntimeError) as info:
            getattr(lib, name)(*args)
        return str(info.value)

    assert call(ember, device) == call(torch, "cpu")


@pytest.mark.parametrize("name", ["nuclear_norm", "triangular_solve", "lu", "lu_solve"])
def test_deprecated_linalg_warn_as_torch(name):
    def message(lib):
        from ember.functions import torch_surface

        a = lib.eye(3)
        args = {"nuclear_norm": (a,), "triangular_solve": (a, a), "lu": (a,),
                "lu_solve": (a, a, lib.arange(1, 4, dtype=lib.int32))}[name]
        torch_surface._warned.discard(name)  # warned once per process, as PyTorch's TORCH_WARN_ONCE
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            getattr(lib, name)(*args)
        return [str(w.message).split(" (Triggered internally")[0] for w in seen if name.split("_")[0] in str(w.message)]

    e, t = message(ember), message(torch)  # (PyTorch's once-per-process warning may be spent already)
    assert len(e) == 1 and (not t or t == e)


# ---- nn.init and nn.utils --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse"])
def test_init_deprecated_names_warn(name):
    shape = {"dirac": (2, 2, 3), "eye": (3, 3)}.get(name, (4, 3))
    args = {"constant": (0.5,), "sparse": (0.5,)}.get(name, ())

    def run(lib):
        t = lib.empty(*shape)
        with pytest.warns(FutureWarning) as seen:
            out = getattr(lib.nn.init, name)(t, *args)
        return out, str(seen[0].message)

    (e_out, e_msg), (t_out, t_msg) = run(ember), run(torch)
    assert e_msg == t_msg and tuple(e_out.shape) == tuple(t_out.shape)
    if name in ("eye", "dirac", "constant"):
        np.testing.assert_array_equal(_np(e_out), t_out.numpy())


def test_skip_init(device):
    m = ember.nn.utils.skip_init(ember.nn.Linear, 5, 2, device=device)
    assert isinstance(m, ember.nn.Linear) and tuple(m.weight.shape) == (2, 5) and m.weight.device.type == device
    for bad in (int, ember.nn.ReLU):
        with pytest.raises(RuntimeError) as e_info:
            ember.nn.utils.skip_init(bad)
        with pytest.raises(RuntimeError) as t_info:
            torch.nn.utils.skip_init({int: int, ember.nn.ReLU: torch.nn.ReLU}[bad])
        assert str(e_info.value).split(";")[0] == str(t_info.value).split(";")[0]


def test_clip_grads_with_norm(device):
    g = R.standard_normal((2, 3)).astype(np.float32)
    results = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        p = lib.nn.Parameter(lib.zeros(2, 3, device=dev))
        p.grad = lib.tensor(g, device=dev)
        total = lib.nn.utils.get_total_norm([p.grad])
        lib.nn.utils.clip_grads_with_norm_([p], 0.5, total)
        results.append(_np(p.grad))
    np.testing.assert_allclose(results[1], results[0], rtol=1e-6)


def test_stateless_functional_call_warns(device):
    outs = []
    for lib, dev in ((torch, "cpu"), (ember, device)):
        m = lib.nn.Linear(2, 1, bias=False).to(dev)
        with pytest.warns(FutureWarning) as seen:
            out = lib.nn.utils.stateless.functional_call(m, {"weight": lib.ones(1, 2, device=dev)},
                                                         (lib.ones(2, device=dev),))
        outs.append((_np(out), str(seen[0].message)))
    assert outs[0][1] == outs[1][1]
    np.testing.assert_array_equal(outs[1][0], outs[0][0])
