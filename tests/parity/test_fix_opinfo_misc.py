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
