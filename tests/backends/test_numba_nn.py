"""The cpu backend's compiled nn loops (``ember_cpu_numpy.numba_nn``): their exp/tanh/normal CDF against
float64 references over a sweep of float32 bit patterns (special values included), each kernel
against PyTorch's float32 kernel and its float64 result, the embedding gradient bitwise against
``numpy.add.at``, and the NumPy path wherever a loop does not apply."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("numba")
torch = pytest.importorskip("torch")

import ember  # noqa: E402
import numba  # noqa: E402
from ember_cpu_numpy import _numba_nn_loops as loops  # noqa: E402
from ember_cpu_numpy import kernels, lowp, nn_kernels, numba_nn, xp_kernels  # noqa: E402

NUMPY = xp_kernels.nn_kernels(np)
_EPS32 = float(np.finfo(np.float32).eps)
SPECIAL = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-30, -1e-30, 0.625, -0.625, 1.0, -1.0,
                      4.0, -4.0, 3.9999998, 88.7, 89.0, -87.4, -103.9, -104.0, 1e30, -1e30])


@pytest.fixture(autouse=True)
def _numba_on(monkeypatch):
    monkeypatch.delenv("EMBER_CPU_NUMBA", raising=False)


def _elementwise(fn):
    @numba.njit(error_model="numpy", fastmath={"contract"})
    def run(x, out):
        for i in range(x.size):
            out[i] = fn(x[i])

    def call(x):
        out = np.empty_like(x)
        run(x, out)
        return out

    return call


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got - exact| in units of float32's spacing at the exact value."""
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact.astype(np.float32))).astype(np.float64)


def _float32_sweep(lo: float, hi: float, step: int = 4099) -> np.ndarray:
    bits = np.arange(0, 2**32, step, dtype=np.uint64).astype(np.uint32).view(np.float32)
    return bits[np.isfinite(bits) & (bits > lo) & (bits < hi)]


def test_exp_within_an_ulp_and_its_limits():
    x = _float32_sweep(-110, 90)
    with np.errstate(over="ignore"):
        exact = np.exp(x.astype(np.float64))
        finite = np.isfinite(exact.astype(np.float32))
    got = _elementwise(loops.exp)(x)
    assert _ulps(got[finite], exact[finite]).max() <= 1.0
    assert np.all(np.isinf(got[~finite]))
    got = _elementwise(loops.exp)(SPECIAL)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(got, np.exp(SPECIAL.astype(np.float64)).astype(np.float32))


def test_tanh_within_two_ulp():
    fn = _elementwise(loops.tanh)
    x = _float32_sweep(-8, 8)
    assert _ulps(fn(x), np.tanh(x.astype(np.float64))).max() <= 2.0
    got, ref = fn(SPECIAL), np.tanh(SPECIAL.astype(np.float64)).astype(np.float32)
    assert np.all(_ulps(got, np.tanh(SPECIAL.astype(np.float64)))[np.isfinite(ref) & (ref != 0)] <= 2.0)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(ref))  # -0 stays -0, -inf gives -1
    special = ~np.isfinite(SPECIAL) | (SPECIAL == 0)
    np.testing.assert_array_equal(got[special], ref[special])


def test_normal_cdf_without_cancellation_in_the_left_tail():
    """GELU's Phi(v) = (1 + erf(v / sqrt 2)) / 2 within a few ulp of the exact value, down to 1e-8
    on the left (1 + erf there would have lost every digit); the only extra error allowed is
    float32's rounding of v / sqrt 2, worth phi(v) |v| eps."""
    fn = _elementwise(loops.normal_cdf)
    x = _float32_sweep(-7, 7, 40009)
    v = x.astype(np.float64)
    exact = np.array([0.5 * math.erfc(-t / math.sqrt(2)) for t in v])
    phi = np.exp(-v * v / 2) / math.sqrt(2 * math.pi)
    allowed = 4 * np.spacing(exact.astype(np.float32)).astype(np.float64) + 2 * phi * np.abs(v) * _EPS32
    err = np.abs(fn(x).astype(np.float64) - exact)
    assert np.all((err <= allowed) | (exact < 1e-8)), x[np.argmax(err - allowed)]
    got = fn(np.float32([np.nan, -np.inf, np.inf, 0.0, -0.0]))
    assert np.isnan(got[0]) and list(got[1:]) == [0.0, 1.0, 0.5, 0.5]


def _values(shape, scale=3.0, seed=0):
    x = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    flat = x.reshape(-1)
    k = min(flat.size, SPECIAL.size)
    flat[:k] = SPECIAL[:k]
    return x


def _close_to_torch(got, torch_fp32, torch_fp64, tol_ulps=8, scale=None):
    """Within PyTorch float32's own error of the float64 result, plus ``tol_ulps`` ulp of the result
    and as many float32 epsilons of ``scale``: the size of the terms that cancel in the formula (a
    GELU's 1 + tanh at x = -3, a layer norm's x_hat * w + b near 0), where every float32 evaluation
    loses the same digits. NaN and inf where the float64 result has them (PyTorch's float32 kernels
    turn x^2 = inf into NaN at 1e30 where float64 does not: those elements are skipped)."""
    agree = np.isnan(torch_fp32) == np.isnan(torch_fp64)
    nan = np.isnan(torch_fp64)
    np.testing.assert_array_equal(np.isnan(got)[agree], nan[agree])
    inf = np.isinf(torch_fp64)
    np.testing.assert_array_equal(got[inf], torch_fp64[inf])
    ok = ~nan & ~inf & np.isfinite(torch_fp32)
    scale = np.zeros(got.shape) if scale is None else np.broadcast_to(np.abs(scale), got.shape)
    err = np.abs(got[ok].astype(np.float64) - torch_fp64[ok])
    theirs = np.abs(torch_fp32[ok].astype(np.float64) - torch_fp64[ok])
    ulp = np.spacing(np.abs(torch_fp64[ok]).astype(np.float32)).astype(np.float64)
    allowed = theirs + tol_ulps * (ulp + _EPS32 * scale[ok]) + 1e-37
    worst = np.argmax(err - allowed)
    assert np.all(err <= allowed), (got[ok][worst], torch_fp32[ok][worst], torch_fp64[ok][worst])


@pytest.mark.parametrize("approximate", ["none", "tanh"])
@pytest.mark.parametrize("shape", [(1,), (7, 33), (256, 256)])
def test_gelu_and_its_backward_match_pytorch(approximate, shape):
    x = _values(shape)
    g = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    refs = []
    for dt in (torch.float32, torch.float64):
        t = torch.tensor(x, dtype=dt, requires_grad=True)
        y = torch.nn.functional.gelu(t, approximate=approximate)
        y.backward(torch.tensor(g, dtype=dt))
        refs.append((y.detach().numpy(), t.grad.numpy()))
    x64 = np.where(np.isfinite(x), x, 0).astype(np.float64)
    _close_to_torch(numba_nn.gelu(x, approximate), refs[0][0], refs[1][0], scale=x64)
    _close_to_torch(numba_nn.gelu_backward(g, x, approximate), refs[0][1], refs[1][1], scale=g * (1 + np.abs(x64)))


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(5,), (3, 1), (64, 100), (8, 4, 32, 32)])
def test_softmax_rows_match_pytorch(fn, shape):
    x = (np.random.default_rng(2).standard_normal(shape) * 5).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    if flat.shape[0] > 4:
        flat[1, 0] = np.nan
        flat[2, :] = -np.inf
        flat[3, -1] = np.inf
        flat[4, 1:] = -np.inf  # a causal mask's row: one finite logit
    refs = [getattr(torch, fn)(torch.tensor(x, dtype=dt), -1).numpy() for dt in (torch.float32, torch.float64)]
    # log_softmax is (x - max) - log(sum): two terms that cancel near the maximum
    shifted = np.abs(x.astype(np.float64) - x.max(-1, keepdims=True)) + 10.0 if fn == "log_softmax" else None
    if shifted is not None:
        shifted[~np.isfinite(shifted)] = 0
    _close_to_torch(getattr(numba_nn, fn)(x, -1), *refs, scale=shifted)
    _close_to_torch(getattr(numba_nn, fn)(x, x.ndim - 1), *refs, scale=shifted)
    if fn == "log_softmax":  # each row's maximum is 0 exactly where PyTorch's float32 sum rounds to 1
        tiny = np.float32([[0.0, -20.0, -25.0], [-300.0, 5.0, -30.0]])
        got = numba_nn.log_softmax(tiny, -1)
        ref = torch.log_softmax(torch.tensor(tiny), -1).numpy()
        assert got[0, 0] == got[1, 1] == ref[0, 0] == ref[1, 1] == 0


@pytest.mark.parametrize("affine", [(True, True), (True, False), (False, True), (False, False)])
@pytest.mark.parametrize("shape,ndim", [((64, 96), 1), ((2, 3, 4, 5), 2), ((1, 1), 1)])
def test_layer_norm_and_its_backward_match_pytorch(affine, shape, ndim):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 3 + 100).astype(np.float32)  # a large mean: no cancellation either
    inner = shape[len(shape) - ndim:]
    w = rng.standard_normal(inner).astype(np.float32) if affine[0] else None
    b = rng.standard_normal(inner).astype(np.float32) if affine[1] else None
    g = rng.standard_normal(shape).astype(np.float32)
    out, mean, rstd = numba_nn.layer_norm(x, ndim, w, b, 1e-5)
    gx, gw, gb = numba_nn.layer_norm_backward(g, x, mean, rstd, w, ndim, (True, w is not None, b is not None))
    # the terms that cancel: x_hat * w against b, and the three terms of the input gradient
    rows = x.reshape(-1, math.prod(inner)).astype(np.float64)
    std = np.sqrt(rows.var(1, keepdims=True) + 1e-5)
    x_hat = (rows - rows.mean(1, keepdims=True)) / std
    w64 = np.ones(math.prod(inner)) if w is None else w.reshape(-1).astype(np.float64)
    b64 = np.zeros(math.prod(inner)) if b is None else b.reshape(-1).astype(np.float64)
    dy = np.abs(g.reshape(rows.shape) * w64)
    scales = [np.abs(x_hat * w64) + np.abs(b64),
              (dy + dy.mean(1, keepdims=True) + np.abs(x_hat) * (dy * np.abs(x_hat)).mean(1, keepdims=True))
              / std,
              # the saved float32 mean is off by up to half an ulp of the mean: x_hat by that / std
              (np.abs(g.reshape(rows.shape)) * (np.abs(x_hat) + np.abs(rows.mean(1, keepdims=True)) / std)).sum(0),
              np.abs(g.reshape(rows.shape)).sum(0)]
    refs = []
    for dt in (torch.float32, torch.float64):
        t = torch.tensor(x, dtype=dt, requires_grad=True)
        tw = None if w is None else torch.tensor(w, dtype=dt, requires_grad=True)
        tb = None if b is None else torch.tensor(b, dtype=dt, requires_grad=True)
        y = torch.nn.functional.layer_norm(t, inner, tw, tb, 1e-5)
        y.backward(torch.tensor(g, dtype=dt))
        refs.append([y.detach().numpy(), t.grad.numpy(), None if tw is None else tw.grad.numpy(),
                     None if tb is None else tb.grad.numpy()])
    assert mean.shape == rstd.shape == shape[:len(shape) - ndim] + (1,) * ndim
    np.testing.assert_allclose(mean.reshape(-1), x.reshape(-1, math.prod(inner)).astype(np.float64).mean(1), rtol=1e-7)
    for got, r32, r64, scale in zip((out, gx, gw, gb), *refs, scales):
        if r32 is None:
            assert got is None
        else:
            _close_to_torch(got, r32, r64, scale=scale.reshape(got.shape))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_kernels_match_pytorch(reduction):
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((40, 17)) * 4).astype(np.float32)
    x[5] += 300  # large logits next to small ones
    target = rng.integers(0, 17, 40)
    target[7] = -100  # ignore_index
    loss, lse, w, w_sum, _ = nn_kernels.cross_entropy(x, target, None, -100, reduction)
    grad = np.float32(1.0) if reduction != "none" else rng.standard_normal(40).astype(np.float32)
    gx = nn_kernels.cross_entropy_backward(grad, x, target, lse, w, w_sum, reduction)
    refs = []
    for dt in (torch.float32, torch.float64):
        t = torch.tensor(x, dtype=dt, requires_grad=True)
        y = torch.nn.functional.cross_entropy(t, torch.tensor(target), reduction=reduction)
        y.backward(torch.tensor(grad, dtype=dt))
        refs.append((np.asarray(y.detach().numpy()), t.grad.numpy()))
    _close_to_torch(np.asarray(loss), refs[0][0], refs[1][0], tol_ulps=16)
    _close_to_torch(gx, refs[0][1], refs[1][1], tol_ulps=16)


def test_lstm_cell_loops_match_numpy_and_pytorch():
    rng = np.random.default_rng(5)
    gates = (rng.standard_normal((2, 9, 4 * 24)) * 2).astype(np.float32)
    gates.reshape(-1)[:SPECIAL.size] = SPECIAL
    c = rng.standard_normal((2, 9, 24)).astype(np.float32)
    dh, dc = (rng.standard_normal(c.shape).astype(np.float32) for _ in range(2))
    h, c_new, acts = numba_nn.lstm_cell(gates, c)
    ref = nn_kernels.lstm_cell(gates, c)  # NumPy's passes (the kernel table has the loop)
    for got, want in zip((h, c_new, acts), ref):
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
    tg = torch.tensor(gates, dtype=torch.float64)
    i, f, g, o = tg.chunk(4, -1)
    c64 = torch.sigmoid(f) * torch.tensor(c, dtype=torch.float64) + torch.sigmoid(i) * torch.tanh(g)
    np.testing.assert_allclose(c_new, c64.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(h, (torch.sigmoid(o) * torch.tanh(c64)).numpy(), rtol=1e-6, atol=1e-6)
    gates = (rng.standard_normal(gates.shape) * 2).astype(np.float32)  # the gradients: of finite values
    acts = nn_kernels.lstm_cell(gates, c)[2]
    dgates, dc_prev = numba_nn.lstm_cell_backward(dh, dc, acts, c)
    ref_gates, ref_dc = nn_kernels.lstm_cell_backward(dh, dc, acts, c)  # NumPy's passes (the table has the loop)
    np.testing.assert_allclose(dgates, ref_gates, rtol=2e-6, atol=1e-7)
    np.testing.assert_allclose(dc_prev, ref_dc, rtol=2e-6, atol=1e-7)
    # PyTorch's cell in float64, differentiated by autograd
    tg, tc = torch.tensor(gates, dtype=torch.float64, requires_grad=True), torch.tensor(c, dtype=torch.float64,
                                                                                        requires_grad=True)
    i, f, g, o = tg.chunk(4, -1)
    c_new = torch.sigmoid(f) * tc + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c_new)
    torch.autograd.backward([h, c_new], [torch.tensor(dh, dtype=torch.float64), torch.tensor(dc, dtype=torch.float64)])
    np.testing.assert_allclose(dgates, tg.grad.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dc_prev, tc.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_rows_is_bitwise_numpy_add_at(dtype):
    rng = np.random.default_rng(6)
    out = rng.standard_normal((50, 3, 4)).astype(dtype)
    index = rng.integers(-50, 50, 400)  # every row repeats; negative rows count from the end
    values = rng.standard_normal((400, 3, 4)).astype(dtype)
    ref = out.copy()
    np.add.at(ref, np.where(index < 0, index + 50, index), values)
    assert numba_nn.add_rows(out, index, values)
    np.testing.assert_array_equal(out, ref)
    row = rng.standard_normal(12).astype(dtype).reshape(3, 4)  # values broadcast over the index
    ref = out.copy()
    np.add.at(ref, index % 50, np.broadcast_to(row, (400, 3, 4)))
    assert numba_nn.add_rows(out, index, row)
    np.testing.assert_array_equal(out, ref)


def test_off_the_path_the_numpy_kernels_run(monkeypatch):
    x = np.random.default_rng(7).standard_normal((6, 5)).astype(np.float32)
    assert numba_nn.softmax(x, 0) is None  # an inner dimension
    assert numba_nn.softmax(x.astype(np.float64), -1) is None
    assert numba_nn.gelu(x.T, "none") is None  # not C-contiguous
    assert numba_nn.gelu(x.astype(np.float64), "none") is None
    assert not numba_nn.add_rows(np.zeros((3, 2), np.int64), np.array([0]), np.ones((1, 2), np.int64))
    kernels = nn_kernels.NN_KERNELS
    np.testing.assert_array_equal(kernels["softmax"](x, 0), NUMPY["softmax"](x, 0))
    np.testing.assert_array_equal(kernels["gelu"](x.T, "none"), NUMPY["gelu"](x.T, "none"))
    monkeypatch.setenv("EMBER_CPU_NUMBA", "0")
    assert numba_nn.gelu(x, "none") is None
    assert not numba_nn.add_rows(np.zeros((3, 2), np.float32), np.array([0]), np.ones((1, 2), np.float32))
    np.testing.assert_array_equal(kernels["gelu"](x, "none"), NUMPY["gelu"](x, "none"))


@pytest.mark.parametrize("layout", ["C", "F"])
def test_bfloat16_conversions_are_bitwise_ml_dtypes_and_pytorch(layout):
    import ml_dtypes

    bf16 = np.dtype(ml_dtypes.bfloat16)
    rng = np.random.default_rng(9)
    bits = rng.integers(0, 2**32, 8192, dtype=np.uint64).astype(np.uint32)  # every kind of float32, NaNs too
    x = np.concatenate([bits.view(np.float32), (rng.standard_normal(8192) * 1e3).astype(np.float32),
                        np.float32([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 3.4e38, -3.4e38, 1e-45, 1.00390625])])
    x = x[:16384].reshape(128, 128)
    x = np.asfortranarray(x) if layout == "F" else x
    with np.errstate(invalid="ignore", over="ignore"):
        ref = x.astype(bf16)
    got = numba_nn.float32_to_bfloat16(x, bf16)
    np.testing.assert_array_equal(got.view(np.uint16), ref.view(np.uint16))
    assert got.flags.f_contiguous == (layout == "F")
    finite = ~np.isnan(x)  # PyTorch writes every NaN as 0x7fc0, ml_dtypes keeps the sign
    theirs = torch.tensor(np.ascontiguousarray(x)).bfloat16().view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(got.view(np.uint16)[finite], theirs[finite])
    back = numba_nn.bfloat16_to_float32(got)
    np.testing.assert_array_equal(back.view(np.uint32), got.astype(np.float32).view(np.uint32))
    # through the kernels: astype, and a bfloat16 computation (widened, computed in float32, rounded back)
    np.testing.assert_array_equal(kernels.astype(x, ember.bfloat16).view(np.uint16), ref.view(np.uint16))
    add = lowp.wrap({"add": np.add})["add"]
    with np.errstate(invalid="ignore", over="ignore"):
        np.testing.assert_array_equal(add(ref, ref).view(np.uint16), (ref.astype(np.float32) * 2).astype(bf16).view(np.uint16))
    assert numba_nn.bfloat16_to_float32(got[::2, ::2]) is None  # neither layout: ml_dtypes' astype runs


def test_a_numba_that_cannot_load_the_loops_leaves_numpy_in_charge(monkeypatch):
    import sys

    import ember_cpu_numpy

    monkeypatch.setattr(numba_nn, "_LOOPS", [])
    monkeypatch.setitem(sys.modules, "ember_cpu_numpy._numba_nn_loops", None)  # the import fails
    monkeypatch.delattr(ember_cpu_numpy, "_numba_nn_loops", raising=False)
    x = np.random.default_rng(10).standard_normal((4, 8)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match="numba nn loops could not be loaded"):
        assert numba_nn.loops() is None
    assert numba_nn.gelu(x, "none") is None
    np.testing.assert_array_equal(nn_kernels.NN_KERNELS["gelu"](x, "none"), NUMPY["gelu"](x, "none"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_backward_loop_is_bitwise_the_numpy_kernel(dtype):
    """0 where the output is <= 0 (+0 and -0 alike), the gradient elsewhere and where the output is
    NaN, whatever the gradient (inf, NaN): the NumPy kernel's bits, and PyTorch's threshold_backward."""
    rng = np.random.default_rng(9)
    out = np.maximum(rng.standard_normal((5000,)), 0).astype(dtype)
    grad = rng.standard_normal((5000,)).astype(dtype)
    out[:6] = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-300 if dtype == np.float64 else 1e-40]
    grad[:6] = [3.0, np.inf, np.nan, -2.0, np.nan, 7.0]
    got = numba_nn.relu_backward(grad, out)
    want = NUMPY["relu_backward"](grad, out)  # the three-pass NumPy kernel
    u = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(got.view(u), want.view(u))
    ref = torch.ops.aten.threshold_backward(torch.from_numpy(grad), torch.from_numpy(out), 0).numpy()
    np.testing.assert_array_equal(got.view(u), ref.view(u))
    assert numba_nn.relu_backward(grad, out.astype(np.float16)) is None  # mixed dtypes: not this path


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_loop_is_bitwise_the_numpy_kernel(reduction, weighted):
    """The one-pass forward gives the NumPy kernel's five results bit for bit: ignored targets,
    out-of-range targets (counted), an inf and a NaN logit, and a batch whose targets are all
    ignored (mean: 0 / 0 = NaN, as PyTorch)."""
    rng = np.random.default_rng(11)
    x = (rng.standard_normal((40, 17)) * 4).astype(np.float32)
    x[3, 2], x[5, 0] = np.inf, np.nan
    target = rng.integers(0, 17, 40).astype(np.int64)
    target[[1, 7]] = -100
    target[[9]] = 17  # neither a class nor ignore_index
    weight = rng.random(17).astype(np.float32) if weighted else None
    for t in (target, np.full(4, -100, np.int64)):
        xs = x[:t.size]
        with np.errstate(all="ignore"):
            want = nn_kernels.cross_entropy(xs, t, weight, -100, reduction)
        got = numba_nn.cross_entropy(xs, t, weight, -100, reduction)
        assert got is not None
        for g, w in zip(got, want):
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_array_equal(g.reshape(-1).view(np.uint8), w.reshape(-1).view(np.uint8))
    assert numba_nn.cross_entropy(x.astype(np.float64), target, None, -100, reduction) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,ceil", [((2, 3, 8, 10), False), ((3, 2, 7, 9), False), ((1, 4, 6, 6), True)])
def test_max_pool_2x2_loop_matches_pytorch(dtype, shape, ceil):
    """Values and indices of 2x2/stride-2 windows with many ties, NaNs (several per window), infinities
    and signed zeros: PyTorch's (the first maximum, every NaN taking over), and the NumPy kernel's.
    Odd sizes drop the last row/column; windows that would hang over the edge are not this path."""
    rng = np.random.default_rng(11)
    x = rng.integers(-2, 3, shape).astype(dtype)  # ties everywhere
    flat = x.reshape(-1)
    flat[rng.choice(flat.size, flat.size // 5, replace=False)] = np.nan
    flat[rng.choice(flat.size, 6, replace=False)] = [np.inf, -np.inf, -0.0, 0.0, np.inf, -np.inf]
    got = numba_nn.max_pool2d(x, (2, 2), (2, 2), (0, 0), (1, 1), ceil)
    t_out, t_idx = torch.nn.functional.max_pool2d(torch.from_numpy(x), 2, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(got[1], t_idx.numpy())
    np.testing.assert_array_equal(got[0], t_out.numpy())
    want = nn_kernels.NN_KERNELS["max_pool2d"].__wrapped__(x, (2, 2), (2, 2), (0, 0), (1, 1), ceil)  # NumPy
    np.testing.assert_array_equal(got[1], want[1])
    assert numba_nn.max_pool2d(x, (3, 3), (2, 2), (0, 0), (1, 1), ceil) is None  # other windows: NumPy's
    assert numba_nn.max_pool2d(x[:, :, :5, :5], (2, 2), (2, 2), (0, 0), (1, 1), True) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_loop_is_bitwise_numpy_and_pytorch(dtype):
    """max(x, 0) with NaN and -0.0 passing through, as NumPy's maximum(0, x) and PyTorch's relu."""
    rng = np.random.default_rng(10)
    x = rng.standard_normal(70000).astype(dtype)
    x[:7] = [np.nan, -0.0, 0.0, np.inf, -np.inf, -1e-300 if dtype == np.float64 else -1e-40, -np.nan]
    got = numba_nn.relu(x)
    u = np.uint32 if dtype == np.float32 else np.uint64
    np.testing.assert_array_equal(got.view(u), np.maximum(dtype(0), x).view(u))
    np.testing.assert_array_equal(got.view(u), torch.relu(torch.from_numpy(x)).numpy().view(u))
    assert kernels.KERNELS["relu"](x.reshape(10, 7000)).shape == (10, 7000)
    assert numba_nn.relu(x[:100]) is None  # small arrays: NumPy's (no loop call to pay for)
