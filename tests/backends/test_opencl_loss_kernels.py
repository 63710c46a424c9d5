"""The OpenCL backend's relu_backward / cross_entropy / cross_entropy_backward kernels.

Called directly (no frontend) against the conformance suite's float64 references, written from
the definitions, on operand layouts the conformance rows do not cover (offsets, strided targets
and weights, expanded grads, more rows than the finish work-group), plus reproducibility and the
frontend's use of them.
"""

from __future__ import annotations

import numpy as np
import pytest

try:
    from ember_opencl import runtime
    from ember_opencl.plugin import OpenCLBackend, ember_kernels
    _OK = OpenCLBackend().is_available()
except ImportError:  # pragma: no cover
    _OK = False
if not _OK:
    pytest.skip("no OpenCL runtime: apt-get install pocl-opencl-icd", allow_module_level=True)

import ember  # noqa: E402
from ember import nn  # noqa: E402
from ember_conformance import reference as R  # noqa: E402

K = ember_kernels("opencl")
DTYPES = [np.float32] + ([np.float64] if runtime.device(0).fp64 else [])
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
rng = np.random.default_rng(7)


def dev(a):
    return K["from_host"](np.asarray(a), 0)


def host(x) -> np.ndarray:
    return K["to_host"](x)


def logits(n, c, dt, scale=3.0):
    return (rng.standard_normal((n, c)) * scale).astype(dt)


def _f64(a):
    return None if a is None else np.asarray(a, np.float64)


def want_forward(x, t, wt, ignore, reduction):
    """(loss, lse, w, w_sum, n_invalid) in float64; every target here is valid or ignored."""
    return (*R.cross_entropy(_f64(x), t, _f64(wt), ignore, reduction), 0)


def want_backward(grad, x, t, wt, ignore, reduction):
    _, _, w, w_sum = R.cross_entropy(_f64(x), t, _f64(wt), ignore, reduction)
    return R.cross_entropy_backward(_f64(grad), _f64(x), t, w, w_sum, reduction)


def relu_backward_ref(g, y):
    return np.where(y <= 0, 0, g).astype(g.dtype)  # `NaN <= 0` is false: a NaN output passes g


def check_forward(got, want, dt):
    for name, g, w in zip(("loss", "lse", "w", "w_sum"), got[:4], want[:4]):
        g = host(g)
        assert g.dtype == dt and g.shape == np.shape(w), f"{name}: {g.dtype}{g.shape}"
        np.testing.assert_allclose(g, w, err_msg=name, **TOL[dt])
    bad = host(got[4])
    assert bad.dtype == np.int64 and bad.shape == () and int(bad) == int(want[4])


def test_registered():
    assert {"relu_backward", "cross_entropy", "cross_entropy_backward"} <= set(K)


@pytest.mark.parametrize("dt", DTYPES)
def test_relu_backward_views(dt):
    g = rng.standard_normal((4, 6)).astype(dt)
    y = np.maximum(rng.standard_normal((6, 4)), 0).astype(dt)
    y[0, 0], y[1, 1] = np.nan, -0.0
    got = host(K["relu_backward"](dev(g), K["permute"](dev(y), (1, 0))))
    np.testing.assert_array_equal(got, relu_backward_ref(g, y.T))
    # an expanded grad (stride 0) and a sliced output with an offset
    row = rng.standard_normal((1, 3)).astype(dt)
    ge = K["expand"](dev(row), (4, 3))
    ys = K["slice"](dev(y), ((2, 6, 1), (1, 4, 1)))
    np.testing.assert_array_equal(host(K["relu_backward"](ge, ys)),
                                  relu_backward_ref(np.broadcast_to(row, (4, 3)), y[2:6, 1:4]))


@pytest.mark.parametrize("dt", DTYPES)
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("n", [1, 5, 700])  # 700 rows: several per work-item of the finish group
def test_cross_entropy_matches_numpy(dt, reduction, n):
    c = 11
    x = logits(n, c, dt)
    t = rng.integers(0, c, n)
    t[::4] = 3  # ignore_index 3 is a class: those rows get weight 0
    wt = rng.random(c).astype(dt) + 0.5
    got = K["cross_entropy"](dev(x), dev(t), dev(wt), 3, reduction)
    check_forward(got, want_forward(x, t, wt, 3, reduction), dt)
    lse, w, w_sum = got[1:4]
    grad = rng.standard_normal((n,) if reduction == "none" else ()).astype(dt)
    gx = host(K["cross_entropy_backward"](dev(grad), dev(x), dev(t), lse, w, w_sum, reduction))
    want = want_backward(grad, x, t, wt, 3, reduction)
    assert gx.dtype == dt and gx.shape == (n, c)
    np.testing.assert_allclose(gx, want, **TOL[dt])


@pytest.mark.parametrize("dt", DTYPES)
def test_cross_entropy_strided_operands(dt):
    """x transposed and sliced (an offset), target and weight with strides, grad expanded."""
    n, c = 6, 5
    big = logits(c + 2, n + 1, dt)
    xv = K["permute"](K["slice"](dev(big), ((1, c + 1, 1), (1, n + 1, 1))), (1, 0))
    x = big[1:c + 1, 1:n + 1].T
    tt = rng.integers(0, c, 2 * n)
    t = tt[::2]
    tv = K["slice"](dev(tt), ((0, 2 * n, 2),))
    ww = rng.random(2 * c + 1).astype(dt) + 0.5
    wt = ww[1::2]
    wv = K["slice"](dev(ww), ((1, 2 * c + 1, 2),))
    for reduction in ("none", "mean"):
        got = K["cross_entropy"](xv, tv, wv, -100, reduction)
        check_forward(got, want_forward(x, t, wt, -100, reduction), dt)
    lse, w, w_sum = got[1:4]
    one = dev(np.array(0.75, dt))
    for grad, reduction in ((K["expand"](K["reshape"](one, (1,)), (n,)), "none"), (one, "sum"), (one, "mean")):
        gx = host(K["cross_entropy_backward"](grad, xv, tv, lse, w, w_sum, reduction))
        g = np.full((n,) if reduction == "none" else (), 0.75, dt)
        want = want_backward(g, x, t, wt, -100, reduction)
        np.testing.assert_allclose(gx, want, **TOL[dt])


def test_cross_entropy_counts_invalid_targets_and_propagates_nan():
    x = logits(6, 4, np.float32)
    x[5, 2] = np.nan
    t = np.array([4, -100, -3, 0, 9, 1])
    got = K["cross_entropy"](dev(x), dev(t), None, -100, "none")
    assert int(host(got[4])) == 3
    lse = host(got[1])
    assert np.isnan(lse[5]) and np.isfinite(lse[:5]).all()
    got = K["cross_entropy"](dev(x[:5]), dev(np.array([-100] * 5)), None, -100, "mean")
    assert int(host(got[4])) == 0 and float(host(got[3])) == 0 and np.isnan(host(got[0]))  # 0 / 0


def test_cross_entropy_is_reproducible():
    """Fixed summation order: the same bits on every run (no float atomics)."""
    x, t = dev(logits(3000, 7, np.float32, 10.0)), dev(rng.integers(0, 7, 3000))
    runs = [host(K["cross_entropy"](x, t, None, -100, "mean")[0]) for _ in range(3)]
    assert all(r.tobytes() == runs[0].tobytes() for r in runs)


def test_frontend_cross_entropy_and_relu_on_opencl():
    """nn.functional.cross_entropy and relu run these kernels and agree with the CPU device."""
    ember.manual_seed(1)
    xh = rng.standard_normal((8, 5)).astype(np.float32)
    th = rng.integers(0, 5, 8)
    grads = []
    for device in ("cpu", "opencl"):
        x = ember.tensor(xh, device=device, requires_grad=True)
        loss = nn.functional.cross_entropy(nn.functional.relu(x), ember.tensor(th, device=device))
        loss.backward()
        grads.append((float(loss.item()), x.grad.to("cpu").numpy()))
    np.testing.assert_allclose(grads[1][0], grads[0][0], rtol=1e-5)
    np.testing.assert_allclose(grads[1][1], grads[0][1], rtol=1e-5, atol=1e-7)
    with pytest.raises(IndexError):
        nn.functional.cross_entropy(ember.tensor(xh, device="opencl"), ember.tensor(th + 5, device="opencl"))
