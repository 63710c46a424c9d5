"""Complex dtypes and ember.fft where the parity table can't express it: the promotion table for
every dtype pair, Python scalars and 0-d tensors; the default complex dtype; printing; tolist/item;
writes through ``.real``/``.imag``; save/load; the refusal of a device without complex dtypes; and
the fft composite (DFT matrices) a backend without the fft kernels runs. Expected values come
from PyTorch."""

from __future__ import annotations

import io
import itertools

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

NAMES = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64",
         "complex64", "complex128")


def _holds_complex(device: str) -> bool:
    return ember.complex64 in ember.plugins.backend(device).supported_dtypes(0)


def _e(name: str):
    return getattr(ember, name)


def _t(name: str):
    return getattr(torch, name)


def _ember_name(torch_dtype) -> str:
    # ember has no complex32: float16 with a complex dtype promotes to complex64 (documented in docs/fft.md)
    return "complex64" if torch_dtype is torch.complex32 else str(torch_dtype).split(".")[-1]


@pytest.mark.parametrize("a,b", list(itertools.product(NAMES, NAMES)))
def test_promote_types_every_pair(a, b):
    assert ember.promote_types(_e(a), _e(b)) is _e(_ember_name(torch.promote_types(_t(a), _t(b))))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("scalar", [True, 3, 2.5, 1j, 1 + 0j])
def test_result_type_with_python_scalars(name, scalar):
    t = torch.ones(2, dtype=_t(name))
    e = ember.ones(2, dtype=_e(name))
    assert ember.result_type(e, scalar) is _e(_ember_name(torch.result_type(t, scalar)))


@pytest.mark.parametrize("dims,zero", list(itertools.product(NAMES, ("complex64", "complex128", "float64", "int64"))))
def test_result_type_dims_beat_zero_dim(dims, zero):
    t = torch.result_type(torch.ones(2, dtype=_t(dims)), torch.ones((), dtype=_t(zero)))
    e = ember.result_type(ember.ones(2, dtype=_e(dims)), ember.ones((), dtype=_e(zero)))
    assert e is _e(_ember_name(t))


def test_default_complex_dtype_follows_default_float():
    try:
        for dt in ("float64", "float32"):
            torch.set_default_dtype(_t(dt))
            ember.set_default_dtype(_e(dt))
            for value in ([1j], 1 + 2j, [[1, 2j]], [1.5, 2j]):
                assert str(ember.tensor(value).dtype) == str(torch.tensor(value).dtype).replace("torch", "ember")
            assert str((ember.ones(2, dtype=ember.int64) * 1j).dtype) == str(
                (torch.ones(2, dtype=torch.int64) * 1j).dtype).replace("torch", "ember")
            assert repr(ember.tensor([1j])) == repr(torch.tensor([1j])).replace("torch", "ember")
    finally:
        torch.set_default_dtype(torch.float32)
        ember.set_default_dtype(ember.float32)


def test_dtype_attributes():
    for name, alias in (("complex64", "cfloat"), ("complex128", "cdouble")):
        e, t = _e(name), _t(name)
        assert getattr(ember, alias) is e and e.is_complex == t.is_complex and e.is_floating_point == t.is_floating_point
        assert e.itemsize == t.itemsize and repr(e) == repr(t).replace("torch", "ember")
    z = ember.tensor([1 + 2j])
    assert z.is_complex() and not z.is_floating_point() and ember.is_complex(z) and z.element_size() == 8


REPRS = [
    lambda L: L.tensor([1 + 2j, 3]),
    lambda L: L.tensor(1.5 - 2j),
    lambda L: L.tensor([[1 + 2j, 3.25], [0, -1j]], dtype=L.complex128),
    lambda L: L.tensor([1e-5 + 1e5j, 2]),
    lambda L: L.tensor([float("nan") + 1j, float("inf") - 2j, complex(0, float("-inf"))]),
    lambda L: L.zeros(0, dtype=L.complex64),
    lambda L: L.zeros(2, 0, dtype=L.complex128),
    lambda L: L.arange(30, dtype=L.float32).reshape(3, 10) * (1 + 0.5j),
    lambda L: L.tensor([[1 + 1j]], requires_grad=True),
    lambda L: L.tensor([1 + 2j]).real,
    lambda L: L.ones(2000, dtype=L.complex64) * (0.5 - 1j),
    lambda L: L.tensor([-0.0 - 0.0j, 0.0 + 0.0j]),
    lambda L: L.tensor([123456789 + 1j]),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_like_pytorch(i):
    assert repr(REPRS[i](ember)) == repr(REPRS[i](torch)).replace("torch", "ember")
    assert str(REPRS[i](ember)) == str(REPRS[i](torch)).replace("torch", "ember")


def test_empty_real_dtypes_print_their_dtype():
    for name in ("int64", "bool", "float64"):
        assert repr(ember.zeros(0, dtype=_e(name))) == repr(torch.zeros(0, dtype=_t(name))).replace("torch", "ember")


def test_tolist_item_and_python_complex():
    values = [[1 + 2j, -3.5j], [0j, 2]]
    e, t = ember.tensor(values), torch.tensor(values)
    assert e.tolist() == t.tolist() and all(isinstance(v, complex) for row in e.tolist() for v in row)
    assert e[0, 0].item() == t[0, 0].item() and isinstance(e[0, 0].item(), complex)
    assert complex(e[0, 1]) == complex(t[0, 1])


def test_numpy_round_trip_shares_memory():
    a = np.array([1 + 2j, 3 - 4j], np.complex128)
    e = ember.from_numpy(a)
    assert e.dtype is ember.complex128
    e.real.mul_(10)
    assert a.tolist() == [10 + 2j, 30 - 4j] and e.numpy().dtype == np.complex128


def _both(fn):
    return fn(ember), fn(torch)


@pytest.mark.parametrize("layout", ["contiguous", "T", "step"])
def test_writes_through_real_and_imag(device, layout):
    if not _holds_complex(device):
        pytest.skip(f"{device} stores no complex dtype (test_device_refuses_complex)")
    views = {"contiguous": lambda z: z, "T": lambda z: z.T, "step": lambda z: z[:, ::2]}

    def run(L):
        z = L.tensor(np.arange(12).reshape(3, 4) + 1j * np.arange(12, 24).reshape(3, 4), dtype=L.complex64)
        if L is ember:
            z = z.to(device)
        v = views[layout](z)
        v.real.mul_(2)
        v.imag[0] = -1.0
        v.real.add_(v.imag)
        L.view_as_real(v)[..., 1].neg_()
        return z.cpu().tolist() if L is ember else z.tolist()

    e, t = _both(run)
    assert e == t


def test_view_as_real_shares_memory_and_version(device):
    if not _holds_complex(device):
        pytest.skip(f"{device} stores no complex dtype")
    z = ember.tensor([1 + 2j, 3 - 1j], device=device)
    r = ember.view_as_real(z)
    r[1, 1] = 5.0
    assert z.cpu().tolist() == [1 + 2j, 3 + 5j] and r._base is z
    back = ember.view_as_complex(r)
    back[0] = 0j
    assert z.cpu().tolist() == [0j, 3 + 5j]


def test_gradient_through_writes_to_real():
    def run(L):
        x = L.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        b = L.view_as_complex(x).clone()
        b.real.mul_(2)
        b.imag[0] = 7.0
        L.view_as_real(b).backward(L.tensor([[1.0, 2.0], [3.0, 4.0]]))
        return x.grad.tolist()

    e, t = _both(run)
    assert e == t


def test_device_refuses_complex(device):
    if _holds_complex(device):
        pytest.skip(f"{device} stores complex dtypes")
    x = ember.randn(4, device=device)
    dev = ember.device(f"{device}:0")
    for make in (lambda: ember.tensor([1j], device=device), lambda: ember.zeros(2, dtype=ember.complex64, device=device),
                 lambda: ember.tensor([1j]).to(device), lambda: ember.fft.fft(x), lambda: ember.fft.rfft(x),
                 lambda: ember.fft.irfft(x), lambda: ember.fft.fftn(x), lambda: x * 1j,
                 lambda: ember.complex(x, x)):
        with pytest.raises(TypeError, match=r"no complex64 support") as info:
            make()
        assert "complex64" in str(info.value)
    with pytest.raises(TypeError, match=rf"device {dev} .*does not support dtype ember.complex128"):
        ember.ones(1, dtype=ember.complex128, device=device)
    # what needs no complex dtype still runs there
    assert ember.fft.fftfreq(4, device=device).device.type == device
    assert ember.fft.fftshift(x).device.type == device


def test_backends_declare_complex_opt_in():
    cpu = ember.plugins.backend("cpu").supported_dtypes(0)
    assert ember.complex64 in cpu and ember.complex128 in cpu
    from ember.backend import Backend

    class Bare(Backend):
        device_type = "bare"

    assert ember.complex64 not in Bare().supported_dtypes(0)  # the default: real dtypes only


def test_one_numpy_dtype_map():
    from ember.numpy_dtypes import EMBER_DTYPE, NP_DTYPE
    from ember_cpu_numpy import dtypes as cpu_dtypes
    from ember_cuda_cupy import dtypes as cuda_dtypes

    assert cpu_dtypes.NP_DTYPE is NP_DTYPE and cpu_dtypes.EMBER_DTYPE is EMBER_DTYPE
    assert {d: n for d, n in NP_DTYPE.items() if d is not ember.bfloat16} == cuda_dtypes.NP_DTYPE
    for d, n in NP_DTYPE.items():
        if d is not ember.bfloat16:
            assert torch.from_numpy(np.zeros(1, n)).dtype == _t(d.name)


def test_save_and_load_complex(tmp_path):
    z = ember.tensor([1 + 2j, -3j], dtype=ember.complex128)
    buf = io.BytesIO()
    ember.save({"z": z}, buf)
    buf.seek(0)
    assert ember.load(buf)["z"].tolist() == z.tolist()
    path = tmp_path / "t.pt"
    torch.save({"z": torch.tensor([1 + 2j, -3j], dtype=torch.complex64)}, path)
    loaded = ember.load(path)["z"]
    assert loaded.dtype is ember.complex64 and loaded.tolist() == [1 + 2j, -3j]


def test_empty_complex_ops():
    for L in (ember, torch):
        z = L.zeros(0, 3, dtype=L.complex64)
        assert tuple((z * 1j).abs().shape) == (0, 3) and tuple(L.view_as_real(z).shape) == (0, 3, 2)
        assert z.sum().item() == 0j


# ---- ember.fft: the composite a backend without the fft kernels runs ------------------------------
FFT_EXPRS = {
    "fft": lambda L, x: L.fft.fft(L.view_as_complex(x), n=6),
    "ifft_ortho": lambda L, x: L.fft.ifft(L.view_as_complex(x), norm="ortho"),
    "fftn": lambda L, x: L.fft.fftn(L.view_as_complex(x), s=(3, 5)),
    "rfft": lambda L, x: L.fft.rfft(x[..., 0], n=7),
    "rfftn_forward": lambda L, x: L.fft.rfftn(x[..., 0], norm="forward"),
    "irfft_even": lambda L, x: L.fft.irfft(L.view_as_complex(x), n=6),
    "irfft_odd": lambda L, x: L.fft.irfft(L.view_as_complex(x), n=7, norm="ortho"),
    "irfftn": lambda L, x: L.fft.irfftn(L.view_as_complex(x)),
    "hfft": lambda L, x: L.fft.hfft(L.view_as_complex(x)),
    "ihfftn": lambda L, x: L.fft.ihfftn(x[..., 0]),
}


@pytest.mark.parametrize("name", sorted(FFT_EXPRS))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fft_composite_matches_pytorch(name, dtype, hide_kernels):
    hide_kernels({"fft_c2c", "fft_r2c", "fft_c2r"})
    assert not ember.dispatch.table("cpu").has("fft_c2c")
    rng = np.random.default_rng(len(name))
    base = rng.standard_normal((3, 4, 2)).astype(dtype)
    upstream = None
    results = {}
    for L in (torch, ember):
        x = L.tensor(base, requires_grad=True)
        out = FFT_EXPRS[name](L, x)
        real = L.view_as_real(out.resolve_conj()) if out.dtype.is_complex else out
        if upstream is None:
            upstream = rng.standard_normal(tuple(real.shape)).astype(dtype)
        (real * L.tensor(upstream)).sum().backward()
        results[L.__name__] = (str(out.dtype).split(".")[-1], real.detach().numpy(), x.grad.numpy())
    (td, tv, tg), (ed, ev, eg) = results["torch"], results["ember"]
    tol = 1e-4 if dtype == "float32" else 1e-10
    assert ed == td
    np.testing.assert_allclose(ev, tv, rtol=tol, atol=tol)
    np.testing.assert_allclose(eg, tg, rtol=tol, atol=tol)


def test_fft_kernels_keep_the_input_precision():
    z = ember.randn(8, dtype=ember.float32)
    assert ember.fft.fft(z).dtype is ember.complex64 and ember.fft.irfft(ember.fft.rfft(z)).dtype is ember.float32
    assert ember.fft.fft(z.double()).dtype is ember.complex128


def test_ember_devices_lists_complex_where_declared():
    from ember.cli.devices import _dtypes_line

    assert "complex64 complex128" in _dtypes_line("cpu")
    if "opencl" in ember.plugins.device_types() and ember.opencl.is_available():
        assert "complex" not in _dtypes_line("opencl")


@pytest.mark.parametrize("fn,second_moment", [("rand", 2.0 / 3.0), ("randn", 1.0)])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_random(fn, second_moment, dtype):
    """Shapes and dtypes as PyTorch's; E|z|^2 of PyTorch's distributions (the values come from ember's
    own generator, so they are not PyTorch's)."""
    t = getattr(torch, fn)(2, 3, dtype=_t(dtype))
    e = getattr(ember, fn)(2, 3, dtype=_e(dtype), requires_grad=True)
    assert tuple(e.shape) == tuple(t.shape) and str(e.dtype) == str(t.dtype).replace("torch", "ember") and e.requires_grad
    big = getattr(ember, fn)(40000, dtype=_e(dtype))
    assert abs(big.abs().pow(2).mean().item() - second_moment) < 0.03
    assert abs(getattr(torch, fn)(40000, dtype=_t(dtype)).abs().pow(2).mean().item() - second_moment) < 0.03
