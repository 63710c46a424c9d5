"""Divergences found by running PyTorch's own OpInfo samples against ember (scripts/opinfo_suite.py),
fixed at their mechanism; each row runs the expression on PyTorch and on ember and compares.

``istft``: a real output from a full (``onesided=False``) spectrum reads only its first
``n_fft // 2 + 1`` bins, as a onesided one (PyTorch's ``irfft`` path), so a spectrum that is not
Hermitian gives PyTorch's values; the overlap-add envelope is ``window ** 2`` (complex for a complex
window), not ``|window| ** 2``.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import ember  # noqa: E402

R = np.random.default_rng(3)


def _complex(*shape, dtype=np.complex128):
    return (R.standard_normal(shape) + 1j * R.standard_normal(shape)).astype(dtype)


ISTFT = [
    ((10, 2), dict(n_fft=10)),  # a full spectrum: onesided=False is inferred
    ((6, 3), dict(n_fft=6, onesided=False)),
    ((10, 10, 6), dict(n_fft=10, center=False)),
    ((6, 5), dict(n_fft=10, hop_length=3)),  # onesided
    ((10, 10, 6), dict(n_fft=10, window="complex", center=True, return_complex=True)),
    ((10, 10, 10), dict(n_fft=10, window="complex8", win_length=8, return_complex=True)),
    ((10, 7), dict(n_fft=10, window="real", normalized=True)),
]


@pytest.mark.parametrize("case", range(len(ISTFT)))
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_istft_matches_pytorch(device, case, dtype):
    shape, kw = ISTFT[case][0], dict(ISTFT[case][1])
    if ember.complex64 not in ember.plugins.backend(ember.device(device).type).supported_dtypes(0):
        pytest.skip(f"{device} holds no complex dtypes")
    x = _complex(*shape, dtype=dtype)
    window = kw.pop("window", None)
    w = None
    if window is not None:
        n = kw.get("win_length", kw["n_fft"])
        w = _complex(n, dtype=dtype) if window.startswith("complex") else np.hanning(n + 2)[1:-1].astype(
            np.float32 if dtype == np.complex64 else np.float64)
    want = torch.istft(torch.from_numpy(x), window=None if w is None else torch.from_numpy(w), **kw)
    got = ember.istft(ember.tensor(x, device=device), window=None if w is None else ember.tensor(w, device=device),
                      **kw)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    tol = 1e-4 if dtype == np.complex64 else 1e-10
    np.testing.assert_allclose(got.cpu().numpy(), want.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("divisor", [-2, 3, -1])
@pytest.mark.parametrize("include_pad", [True, False])
def test_avg_pool2d_any_nonzero_divisor_override(device, divisor, include_pad):
    """PyTorch divides by any non-zero ``divisor_override``, negative ones too (the OpenCL kernel
    took only positive ones and fell back to the window size)."""
    x = R.standard_normal((2, 3, 5, 6)).astype(np.float32)
    tx = torch.from_numpy(x).requires_grad_()
    ex = ember.tensor(x, device=device, requires_grad=True)
    want = torch.nn.functional.avg_pool2d(tx, 2, 2, 1, False, include_pad, divisor)
    got = ember.nn.functional.avg_pool2d(ex, 2, 2, 1, False, include_pad, divisor)
    np.testing.assert_allclose(got.detach().cpu().numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)
    want.sum().backward()
    got.sum().backward()
    np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("index", [0, [0, 0], []])
def test_unravel_index_of_an_empty_shape(device, index):
    want = torch.unravel_index(torch.tensor(index, dtype=torch.int64), ())
    got = ember.unravel_index(ember.tensor(index, dtype=ember.int64, device=device), ())
    assert want == () and got == ()


SCALAR_TENSOR = [
    lambda L: L.scalar_tensor(2, requires_grad=True),
    lambda L: L.scalar_tensor(True),
    lambda L: L.scalar_tensor(-5, dtype=L.float16, requires_grad=False),
    lambda L: L.scalar_tensor(3, dtype=L.int64),
    lambda L: L.scalar_tensor(2, L.float64),  # dtype is keyword-only
    lambda L: L.scalar_tensor(2, dtype=L.int64, requires_grad=True),
]


@pytest.mark.parametrize("case", range(len(SCALAR_TENSOR)))
def test_scalar_tensor_signature(case):
    fn = SCALAR_TENSOR[case]
    try:
        want = fn(torch)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        with pytest.raises(type(exc)):
            fn(ember)
        return
    got = fn(ember)
    assert (got.item(), str(got.dtype).split(".")[-1], got.requires_grad, got.dim()) == \
        (want.item(), str(want.dtype).split(".")[-1], want.requires_grad, want.dim())


SHAPES = [
    lambda L: L.broadcast_shapes(5, (5, 1)),
    lambda L: L.broadcast_shapes((2, 3), 3, [1, 3]),
    lambda L: L.broadcast_shapes(),
    lambda L: L.broadcast_shapes(-1),
    lambda L: L.broadcast_shapes(2.0),
    lambda L: L.broadcast_shapes(3, 4),
    lambda L: L.tensor(True).sum_to_size([]),
    lambda L: L.tensor(3, dtype=L.int32).sum_to_size(()),
    lambda L: L.ones(2, 3, dtype=L.int32).sum_to_size(1, 3),
    lambda L: L.ones(2, 3, dtype=L.int32).sum_to_size(2, 3),
    lambda L: L.ones(2, 3).sum_to_size(()),
]


@pytest.mark.parametrize("case", range(len(SHAPES)))
def test_broadcast_shapes_ints_and_sum_to_size(case):
    fn = SHAPES[case]
    try:
        want = fn(torch)
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        with pytest.raises(type(exc)):
            fn(ember)
        return
    got = fn(ember)
    if isinstance(want, torch.Tensor):
        assert (tuple(got.shape), str(got.dtype).split(".")[-1], got.tolist()) == \
            (tuple(want.shape), str(want.dtype).split(".")[-1], want.tolist())
    else:
        assert tuple(got) == tuple(want)
