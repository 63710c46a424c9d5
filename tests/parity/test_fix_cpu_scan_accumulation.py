"""Long float32/complex64 scans on the cpu backend carry their running value in double, as
PyTorch's CPU ``cumsum``/``cumprod`` do (its accumulate type for float is double): a float32
running total of 100,000 additions of 0.1 ends at 9998.557, PyTorch's at 10000.0. Each row runs
the same scan on PyTorch and on ember (cpu) and compares the results bit for bit; the gradient
(a reversed cumsum) is compared too."""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

CASES = [
    ("cumsum", "float32", (100_000,), 0, 0.1),
    ("cumsum", "float32", (3, 40_000), 1, 0.1),
    ("cumsum", "float32", (40_000, 3), 0, -0.7),
    ("cumprod", "float32", (100_000,), 0, 1.0001),
    ("cumprod", "float32", (2, 30_000), -1, 0.99997),
    ("cumsum", "complex64", (50_000,), 0, 0.1 + 0.2j),
    ("cumsum", "float64", (100_000,), 0, 0.1),
    ("cumsum", "float16", (5_000,), 0, 0.1),
    ("cumsum", "bfloat16", (5_000,), 0, 0.1),
]


def _run(lib, op, dt, shape, dim, fill, seed_noise):
    rng = np.random.default_rng(0)
    base = np.full(shape, fill, np.complex128 if isinstance(fill, complex) else np.float64)
    base = base * (1 + 1e-3 * rng.standard_normal(shape)) if seed_noise else base
    x = lib.tensor(base).to(getattr(lib, dt))
    return getattr(x, op)(dim)


@pytest.mark.parametrize("noise", [False, True])
@pytest.mark.parametrize("op,dt,shape,dim,fill", CASES)
def test_long_scans_match_pytorch_bit_for_bit(op, dt, shape, dim, fill, noise):
    want = _run(torch, op, dt, shape, dim, fill, noise)
    got = _run(ember, op, dt, shape, dim, fill, noise)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    w = want.float().numpy() if dt == "bfloat16" else want.numpy()
    g = got.float().numpy() if dt == "bfloat16" else got.numpy()
    np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_cumsum_gradient_matches_pytorch(dt):
    def grad(lib):
        x = lib.tensor(np.linspace(-1, 1, 60_000)).to(getattr(lib, dt)).requires_grad_()
        (x.cumsum(0) * 0.1).sum().backward()
        return x.grad.numpy()

    np.testing.assert_array_equal(grad(ember), grad(torch))
