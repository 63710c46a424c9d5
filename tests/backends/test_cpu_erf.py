"""The cpu backend's erf (``ember_cpu_numpy.erf``: whole-array polynomial pieces) against the C
library's ``math.erf``, in ulps of the result's dtype, over every piece and its boundaries."""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

pytest.importorskip("ember_cpu_numpy")
from ember_cpu_numpy.erf import erf  # noqa: E402

BOUNDS = {np.float32: [0.0, 1.0, 4.0], np.float64: [0.0, 0.75, 2.5, 6.0]}


def _inputs(dtype) -> np.ndarray:
    rng = np.random.default_rng(3)
    tiny = np.finfo(dtype).smallest_subnormal
    edges = []
    for b in BOUNDS[dtype]:  # each piece boundary and its neighbours
        v = dtype(b)
        edges += [v, np.nextafter(v, dtype(-1)), np.nextafter(v, dtype(10))]
    x = np.concatenate([
        rng.uniform(0, 7, 200_000), rng.standard_normal(100_000),
        10.0 ** rng.uniform(math.log10(tiny) + 1, 0, 20_000), np.array(edges, np.float64), [tiny, 30.0, np.finfo(dtype).max],
    ]).astype(dtype)
    return np.concatenate([x, -x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_within_two_ulps_of_libm(dtype):
    x = _inputs(dtype)
    got = erf(x)
    assert got.dtype == dtype and got.shape == x.shape
    want = np.array([math.erf(v) for v in x.astype(np.float64)])
    ulp = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
    err = np.abs(got.astype(np.float64) - want) / ulp
    assert err.max() <= 2.0, f"{err.max()} ulps at x = {x[err.argmax()]!r}"
    assert np.array_equal(got[: x.size // 2], -got[x.size // 2:])  # odd, exactly


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_special_values_and_layouts(dtype):
    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], dtype)
    got = erf(special)
    assert got[:4].tolist() == [0.0, -0.0, 1.0, -1.0] and np.isnan(got[4])
    assert np.signbit(got[1]) and not np.signbit(got[0])
    m = np.random.default_rng(1).standard_normal((5, 8)).astype(dtype)
    np.testing.assert_array_equal(erf(m.T), erf(m).T)  # a transposed view
    np.testing.assert_array_equal(erf(m[:, ::3]), erf(np.ascontiguousarray(m[:, ::3])))
    zero_d = erf(np.array(0.3, dtype))
    assert isinstance(zero_d, np.ndarray) and zero_d.shape == () and zero_d == erf(np.array([0.3], dtype))[0]


def test_erf_through_the_backend_in_every_float_dtype():
    """float16/bfloat16 are computed in float32 and rounded once, like PyTorch's."""
    torch = pytest.importorskip("torch")
    x = np.linspace(-5, 5, 1001, dtype=np.float32)
    for name in ("float16", "bfloat16", "float32", "float64"):
        got = ember.tensor(x).to(getattr(ember, name)).erf().float().numpy()
        want = torch.tensor(x).to(getattr(torch, name)).erf().float().numpy()
        tol = {"float16": 2 ** -11, "bfloat16": 2 ** -8, "float32": 3e-7, "float64": 3e-7}[name]
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 1e-3, err_msg=name)
