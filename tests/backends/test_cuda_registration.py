"""The CUDA (CuPy) backend: registration and error messages without a GPU, and its kernels' code.

Most CI machines have no NVIDIA GPU, so this file checks what can be checked anyway:

* the plugin registers through its entry point and explains why ``cuda`` is unavailable;
* every required kernel name is present;
* the kernels themselves run with NumPy injected as their array module (``arraymod.use``),
  against references written here (loops, the splitmix64 formula in plain Python integers).

The same kernel checks run on CuPy as well when a CUDA device is present; otherwise they are
skipped with the backend's own reason.
"""

from __future__ import annotations

import importlib.metadata
import math
import subprocess
import sys

import ember
import numpy as np
import pytest
from ember.hookspecs import hookimpl
from ember.kernels import REQUIRED

pytest.importorskip("ember_cuda_cupy")

from ember_cuda_cupy import arraymod as am  # noqa: E402
from ember_cuda_cupy import plugin  # noqa: E402
from ember_cuda_cupy.fft_kernels import FFT_KERNELS  # noqa: E402
from ember_cuda_cupy.kernels import KERNELS  # noqa: E402
from ember_cuda_cupy.loss_kernels import LOSS_KERNELS  # noqa: E402
from ember_cuda_cupy.nn_kernels import NN_KERNELS  # noqa: E402
from ember_cuda_cupy.optim_kernels import OPTIM_KERNELS  # noqa: E402
from ember_cuda_cupy.rnn_kernels import RNN_KERNELS  # noqa: E402

K = {**KERNELS, **NN_KERNELS, **LOSS_KERNELS, **OPTIM_KERNELS, **RNN_KERNELS, **FFT_KERNELS}
CUDA_OK = ember.cuda.is_available()
NO_GPU_REASON = ember.cuda.unavailable_reason() or "no CUDA device"
needs_no_gpu = pytest.mark.skipif(CUDA_OK, reason="a CUDA device is present: the unavailable path can't be seen")


# ---- registration --------------------------------------------------------------------------
def test_entry_point_registered():
    eps = importlib.metadata.entry_points(group="ember.backends")
    cuda = [ep for ep in eps if ep.name == "cuda"]
    assert cuda and cuda[0].value == "ember_cuda_cupy.plugin"


def test_backend_registered():
    be = ember.plugins.backend("cuda")
    assert be is not None
    assert be.device_type == "cuda"
    assert be.install_hint == "pip install 'ember[cuda]'"


def test_kernel_table_covers_contract():
    table = plugin.ember_kernels("cuda")
    missing = REQUIRED - set(table)
    assert not missing, f"cuda backend lacks required kernels: {sorted(missing)}"
    assert {"conv2d", "conv2d_backward", "max_pool2d", "max_pool2d_backward", "avg_pool2d",
            "avg_pool2d_backward", "softmax", "log_softmax", "from_dlpack"} <= set(table)
    assert plugin.ember_kernels("cpu") is None
    assert REQUIRED <= ember.dispatch.native_kernels("cuda")


@needs_no_gpu
def test_unavailable_reason_is_specific():
    assert ember.cuda.is_available() is False
    assert ember.cuda.device_count() == 0
    reason = ember.cuda.unavailable_reason()
    assert reason.startswith(("CuPy is not installed", "CuPy found no CUDA device", "CuPy failed to import"))
    if reason.startswith("CuPy is not installed"):
        assert "ember[cuda]" in reason and "ember[cuda13]" in reason


@needs_no_gpu
def test_devices_command_shows_reason():
    out = subprocess.run([sys.executable, "-m", "ember", "devices"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if line.startswith("cuda ")]
    assert rows, out.stdout
    assert "unavailable" in rows[0] and "ember-cuda-cupy" in rows[0]
    assert ember.cuda.unavailable_reason() in rows[0]


@needs_no_gpu
def test_creating_on_cuda_raises_clear_device_error():
    reason = ember.cuda.unavailable_reason()
    with pytest.raises(ember.DeviceError) as info:
        ember.zeros(2, device="cuda")
    assert reason in str(info.value) and "pip install 'ember[cuda]'" in str(info.value)
    with pytest.raises(ember.DeviceError) as info:
        ember.ones(3).to("cuda")
    assert reason in str(info.value) and "pip install 'ember[cuda]'" in str(info.value)
    with pytest.raises(ember.DeviceError):
        ember.cuda.current_device()


# ---- the kernels' code, on NumPy (always) and on CuPy (with a GPU) ---------------------------
@pytest.fixture(params=["numpy", "cupy"])
def xp(request):
    if request.param == "cupy":
        if not CUDA_OK:
            pytest.skip(f"CUDA kernels need a GPU: {NO_GPU_REASON}")
        import cupy as module
    else:
        module = np
    old = am.use(module)
    try:
        yield module
    finally:
        am.use(old)


def host(a):
    return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)


def dev(xp, a):
    return xp.asarray(np.asarray(a))


_MASK = (1 << 64) - 1


def _mix64(z):
    z &= _MASK
    z ^= z >> 30
    z = (z * 0xBF58476D1CE4E5B9) & _MASK
    z ^= z >> 27
    z = (z * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _bits_ref(key, counter):
    return _mix64((key + (counter + 1) * 0x9E3779B97F4A7C15) & _MASK)


def test_random_matches_splitmix64_formula(xp):
    key, off = _mix64(1234), 7
    u = host(K["rand_uniform"]((2, 3), key, off, ember.float64, 0))
    ref = [(_bits_ref(key, off + i) >> 11) * 2.0 ** -53 for i in range(6)]
    assert u.shape == (2, 3) and u.dtype == np.float64
    assert u.ravel().tolist() == ref
    u32 = host(K["rand_uniform"]((5,), key, off, ember.float32, 0))
    assert u32.dtype == np.float32
    assert u32.tolist() == [np.float32((_bits_ref(key, off + i) >> 40) * 2.0 ** -24) for i in range(5)]
    ints = host(K["rand_int"]((4,), -3, 10, key, off, ember.int64, 0))
    assert ints.tolist() == [-3 + _bits_ref(key, off + i) % 13 for i in range(4)]
    z = host(K["rand_normal"]((3,), key, off, ember.float64, 0))
    for i in range(3):
        u1 = ((_bits_ref(key, off + 2 * i) >> 11) + 1) * 2.0 ** -53
        u2 = (_bits_ref(key, off + 2 * i + 1) >> 11) * 2.0 ** -53
        assert z[i] == pytest.approx(math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2), rel=1e-12)


def test_random_matches_cpu_backend(xp):
    from ember_cpu_numpy.kernels import KERNELS as CPU

    key = _mix64(42)
    for name, args in [("rand_uniform", ()), ("rand_normal", ()), ("rand_int", (0, 1000))]:
        for dt in (ember.float32, ember.float64) if name != "rand_int" else (ember.int64,):
            a = host(K[name]((4, 5), *args, key, 11, dt, 0))
            b = CPU[name]((4, 5), *args, key, 11, dt, 0)
            np.testing.assert_array_equal(a, b)


def test_runtime_kernels(xp):
    h = np.arange(6, dtype=np.float32).reshape(2, 3)
    d = K["from_host"](h, 0)
    assert K["device_index"](d) == 0
    np.testing.assert_array_equal(K["to_host"](d), h)
    assert K["is_contiguous"](d) and not K["is_contiguous"](K["permute"](d, (1, 0)))
    np.testing.assert_array_equal(host(K["arange"](0, 1, 0.25, ember.float32, 0)), [0, 0.25, 0.5, 0.75])
    np.testing.assert_array_equal(host(K["arange"](5, 0, -2, ember.int64, 0)), [5, 3, 1])
    f = host(K["full"]((2,), 7, ember.int32, 0))
    assert f.dtype == np.int32 and f.tolist() == [7, 7]
    assert host(K["astype"](dev(xp, [-1.7, 0.0, 2.9]), ember.int64)).tolist() == [-1, 0, 2]
    assert host(K["astype"](dev(xp, [-1.7, 0.0, 2.9]), ember.bool)).tolist() == [True, False, True]
    # copy_ into a strided view reaches the base
    base = K["full"]((3, 4), 0.0, ember.float32, 0)
    view = K["slice"](base, ((0, 3, 2), (1, 4, 2)))
    K["copy_"](view, 5.0)
    expect = np.zeros((3, 4), np.float32)
    expect[0:3:2, 1:4:2] = 5
    np.testing.assert_array_equal(host(base), expect)
    c = K["clone"](K["permute"](d, (1, 0)))
    assert K["is_contiguous"](c)
    np.testing.assert_array_equal(host(c), h.T)


def test_dlpack_roundtrip(xp):
    src = dev(xp, np.arange(4, dtype=np.int32))
    arr, dt = K["from_dlpack"](src)
    assert dt is ember.int32
    np.testing.assert_array_equal(host(arr), [0, 1, 2, 3])
    assert tuple(K["dlpack_device"](src))[1] == 0


def test_elementwise_kernels(xp):
    a = dev(xp, np.array([1.5, -2.0, 0.0], np.float32))
    out = K["add"](a, 1)
    assert out.dtype == np.float32 and host(out).tolist() == [2.5, -1.0, 1.0]
    assert K["mul"](2.0, a).dtype == np.float32
    i = dev(xp, np.array([7, -7, 5], np.int64))
    assert host(K["floor_divide"](i, 2)).tolist() == [3, -4, 2]
    assert host(K["remainder"](i, 3)).tolist() == [1, 2, 2]
    # (integer division by zero and bool negation are refused by the frontend, not by kernels)
    s = host(K["sigmoid"](dev(xp, np.array([-100.0, 0.0, 100.0, -20.0], np.float32))))
    assert s[1] == 0.5 and s[2] == 1.0 and 0 <= s[0] < 1e-40
    assert s[3] == pytest.approx(1 / (1 + math.exp(20)), rel=1e-5)
    e = host(K["erf"](dev(xp, np.array([0.5, -1.0], np.float64))))
    assert e.tolist() == pytest.approx([math.erf(0.5), math.erf(-1.0)], rel=1e-14)
    assert host(K["relu"](dev(xp, np.array([-1, 2], np.int8)))).tolist() == [0, 2]
    assert host(K["clamp"](a, -1.0, None)).tolist() == [1.5, -1.0, 0.0]
    w = K["where"](dev(xp, np.array([True, False, True])), a, 0.0)
    assert w.dtype == np.float32 and host(w).tolist() == [1.5, 0.0, 0.0]
    assert host(K["round"](dev(xp, np.array([0.5, 1.5, 2.5])))).tolist() == [0.0, 2.0, 2.0]


def test_reductions_and_sort(xp):
    x = np.array([[3.0, 1.0, 3.0], [2.0, 5.0, 0.0]], np.float32)
    d = dev(xp, x)
    assert host(K["sum"](d, (1,), False)).tolist() == [7.0, 7.0]
    assert host(K["amax"](d, (0, 1), True)).tolist() == [[5.0]]
    am_ = host(K["argmax"](d, 1, True))
    assert am_.dtype == np.int64 and am_.tolist() == [[0], [1]]
    assert host(K["argmax"](d, None, False)).tolist() == 4
    assert host(K["cumsum"](d, 1)).tolist() == [[3, 4, 7], [2, 7, 7]]
    vals, idx = K["sort"](d, 1, True)
    assert host(vals).tolist() == [[3, 3, 1], [5, 2, 0]]
    assert host(idx).tolist() == [[0, 2, 1], [1, 0, 2]]  # stable: the first 3 stays first
    assert host(K["nonzero"](dev(xp, np.array([[0, 1], [1, 0]])))).tolist() == [[0, 1], [1, 0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int64, np.int32, np.int8, np.uint8])
def test_scatter_add_accumulates_duplicates(xp, dtype):
    x = np.ones((2, 4), dtype)
    index = np.array([[0, 0, 3, 0], [1, 1, 1, 1]], np.int64)
    src = np.arange(8, dtype=dtype).reshape(2, 4)
    out = host(K["scatter_add"](dev(xp, x), 1, dev(xp, index), dev(xp, src)))
    ref = x.copy()
    for i in range(2):
        for j in range(4):
            ref[i, index[i, j]] += src[i, j]
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, ref)


def test_index_put_accumulate_bool_and_int64(xp):
    x = np.zeros(4, np.int64)
    out = host(K["index_put"](dev(xp, x), dev(xp, np.array([1, 1, 3])), dev(xp, np.array([2**40, 5, -1])), True))
    assert out.tolist() == [0, 2**40 + 5, 0, -1]
    b = host(K["index_put"](dev(xp, np.zeros(3, bool)), dev(xp, np.array([2, 2])), dev(xp, np.array([True, True])),
                            True))
    assert b.tolist() == [False, False, True]
    # an out-of-range index is the frontend's to refuse (once, for every backend): see
    # tests/parity/test_fix_indexing.py


def test_gather_and_scatter(xp):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    idx = np.array([[2, 0], [1, 1]], np.int64)
    np.testing.assert_array_equal(host(K["gather"](dev(xp, x), 0, dev(xp, idx))), [[8, 1], [4, 5]])
    out = host(K["scatter"](dev(xp, x), 1, dev(xp, idx), -1.0))
    ref = x.copy()
    ref[0, [2, 0]] = -1
    ref[1, 1] = -1
    np.testing.assert_array_equal(out, ref)


def test_matmul_batched_broadcast(xp):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 1, 3, 4)), rng.standard_normal((5, 4, 2))
    ref = np.einsum("xyij,zjk->xzik", a, b)
    np.testing.assert_allclose(host(K["matmul"](dev(xp, a), dev(xp, b))), ref, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_2d_layouts(xp, dtype):
    """The 2-D cuBLAS short path: every mix of C-contiguous and transposed operands, row/column
    vectors, and strided views (which go to cupy.matmul), against float64 NumPy."""
    rng = np.random.default_rng(1)

    def operand(shape, layout):
        if layout == "C":
            a = rng.standard_normal(shape).astype(dtype)
            return a, dev(xp, a)
        if layout == "T":  # the transpose of a C-contiguous array
            a = rng.standard_normal(shape[::-1]).astype(dtype)
            return a.T, dev(xp, a).T
        a = rng.standard_normal((shape[0], 2 * shape[1])).astype(dtype)  # every other column
        return a[:, ::2], dev(xp, a)[:, ::2]

    for (m, k, n) in [(5, 7, 3), (1, 6, 4), (6, 1, 5), (4, 6, 1), (64, 33, 17)]:
        for la in "CTS":
            for lb in "CTS":
                (a, da), (b, db) = operand((m, k), la), operand((k, n), lb)
                got = host(K["matmul"](da, db))
                assert got.dtype == dtype and got.shape == (m, n)
                rtol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(got, a.astype(np.float64) @ b.astype(np.float64), rtol=rtol, atol=rtol,
                                           err_msg=f"{m}x{k}x{n} {la}{lb}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_batched_layouts(xp, dtype):
    """Strided-batched GEMM: batches of row-major or transposed matrices, a 2-D operand or a batch
    of one broadcast over the other's batch, an expanded batch (cupy.matmul), against float64."""
    rng = np.random.default_rng(3)

    def operand(shape, layout):
        if layout == "C":
            a = rng.standard_normal(shape).astype(dtype)
            return a, dev(xp, a)
        if layout == "T":  # each matrix the transpose of a row-major one
            a = rng.standard_normal(shape[:-2] + shape[-2:][::-1]).astype(dtype)
            return np.swapaxes(a, -1, -2), xp.swapaxes(dev(xp, a), -1, -2)
        a = rng.standard_normal(shape[-2:]).astype(dtype)  # "E": one matrix expanded over the batch
        return np.broadcast_to(a, shape), xp.broadcast_to(dev(xp, a), shape)

    cases = [((4, 5, 3), (4, 3, 6)), ((4, 5, 3), (3, 6)), ((5, 3), (4, 3, 6)), ((1, 5, 3), (4, 3, 6)),
             ((4, 5, 3), (1, 3, 6)), ((2, 1, 7), (2, 7, 1)), ((64, 16, 150), (150, 100))]
    for sa, sb in cases:
        for la in "CTE":
            for lb in "CTE":
                if (la == "E" and len(sa) == 2) or (lb == "E" and len(sb) == 2):
                    continue
                (a, da), (b, db) = operand(sa, la), operand(sb, lb)
                got = host(K["matmul"](da, db))
                want = np.matmul(a.astype(np.float64), b.astype(np.float64))
                assert got.dtype == dtype and got.shape == want.shape, f"{sa}{la} @ {sb}{lb}: {got.shape}"
                rtol = 1e-5 if dtype == np.float32 else 1e-12
                np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=f"{sa}{la} @ {sb}{lb}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sum_over_rows(xp, dtype):
    """Bias gradients: sum over axis 0 of a 2-D array (a fixed-order column-sum kernel on CuPy)."""
    rng = np.random.default_rng(2)
    for shape in [(64, 512), (1, 3), (3, 1), (1000, 45), (70000, 2)]:
        x = rng.standard_normal(shape).astype(dtype)
        for keepdim in (False, True):
            got = host(K["sum"](dev(xp, x), (0,), keepdim))
            assert got.dtype == dtype
            want = x.astype(np.float64).sum(0, keepdims=keepdim)
            np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-11, atol=1e-4)
    t = dev(xp, x).T  # not C-contiguous: the generic reduction
    np.testing.assert_allclose(host(K["sum"](t, (0,), False)), x.astype(np.float64).sum(1), rtol=1e-4)


# ---- nn kernels against loop references ------------------------------------------------------
def _conv_ref(x, w, b, stride, padding, dilation, groups):
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    oh = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    ow = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, oh, ow))
    og = o // groups
    for oc in range(o):
        g = oc // og
        for i in range(oh):
            for j in range(ow):
                patch = xp_[:, g * cg:(g + 1) * cg, i * stride[0]:i * stride[0] + dilation[0] * (kh - 1) + 1:dilation[0],
                            j * stride[1]:j * stride[1] + dilation[1] * (kw - 1) + 1:dilation[1]]
                out[:, oc, i, j] = (patch * w[oc]).sum(axis=(1, 2, 3)) + (b[oc] if b is not None else 0)
    return out


@pytest.mark.parametrize("stride,padding,dilation,groups", [((1, 1), (0, 0), (1, 1), 1), ((2, 1), (1, 2), (1, 2), 2)])
def test_conv2d_and_backward(xp, stride, padding, dilation, groups):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 4, 7, 6))
    w = rng.standard_normal((6, 4 // groups, 3, 2))
    b = rng.standard_normal(6)
    out = host(K["conv2d"](dev(xp, x), dev(xp, w), dev(xp, b), stride, padding, dilation, groups))
    ref = _conv_ref(x, w, b, stride, padding, dilation, groups)
    np.testing.assert_allclose(out, ref, rtol=1e-10, atol=1e-10)
    # gradients of sum(out * g): the conv is linear, so check against the reference's own vjp by
    # finite differences along a random direction, and gb exactly.
    g = rng.standard_normal(ref.shape)
    gx, gw, gb = K["conv2d_backward"](dev(xp, g), dev(xp, x), dev(xp, w), stride, padding, dilation, groups,
                                      (True, True, True))
    np.testing.assert_allclose(host(gb), g.sum(axis=(0, 2, 3)), rtol=1e-12)
    dx, dw = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    lin_x = (_conv_ref(dx, w, None, stride, padding, dilation, groups) * g).sum()
    lin_w = (_conv_ref(x, dw, None, stride, padding, dilation, groups) * g).sum()
    assert (host(gx) * dx).sum() == pytest.approx(lin_x, rel=1e-9)
    assert (host(gw) * dw).sum() == pytest.approx(lin_w, rel=1e-9)
    none = K["conv2d_backward"](dev(xp, g), dev(xp, x), dev(xp, w), stride, padding, dilation, groups,
                                (False, True, False))
    assert none[0] is None and none[2] is None


def test_max_pool2d_indices_and_backward(xp):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 3, 7, 7)).astype(np.float32)
    kernel, stride, padding, dilation = (3, 3), (2, 2), (1, 1), (1, 1)
    out, idx = K["max_pool2d"](dev(xp, x), kernel, stride, padding, dilation, True)
    out, idx = host(out), host(idx)
    # ceil mode: ceil((7 + 2 - 3) / 2) + 1 = 4 windows per axis
    assert out.shape == (2, 3, 4, 4) and idx.dtype == np.int64
    for n in range(2):
        for c in range(3):
            for i in range(4):
                for j in range(4):
                    r0, c0 = i * 2 - 1, j * 2 - 1
                    win = x[n, c, max(r0, 0):r0 + 3, max(c0, 0):c0 + 3]
                    assert out[n, c, i, j] == win.max()
                    assert x[n, c].ravel()[idx[n, c, i, j]] == win.max()
    g = rng.standard_normal(out.shape).astype(np.float32)
    gx = host(K["max_pool2d_backward"](dev(xp, g), dev(xp, idx), x.shape))
    ref = np.zeros((2, 3, 49), np.float32)
    for n in range(2):
        for c in range(3):
            np.add.at(ref[n, c], idx[n, c].ravel(), g[n, c].ravel())
    np.testing.assert_allclose(gx, ref.reshape(x.shape), rtol=1e-6)


@pytest.mark.parametrize("ceil_mode,count_include_pad,divisor", [(False, True, None), (True, False, None),
                                                                 (True, True, 5)])
def test_avg_pool2d_and_backward(xp, ceil_mode, count_include_pad, divisor):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 2, 6, 5))
    kernel, stride, padding = (3, 2), (2, 2), (1, 1)
    out = host(K["avg_pool2d"](dev(xp, x), kernel, stride, padding, ceil_mode, count_include_pad, divisor))
    h, w = 6, 5

    def osize(n, k, s, p):
        o = -(-(n + 2 * p - k) // s) + 1 if ceil_mode else (n + 2 * p - k) // s + 1
        return o - 1 if ceil_mode and (o - 1) * s >= n + p else o

    oh, ow = osize(h, 3, 2, 1), osize(w, 2, 2, 1)
    assert out.shape == (1, 2, oh, ow)
    ref = np.zeros(out.shape)
    jac = np.zeros(out.shape + x.shape[2:])  # d out / d x, per plane
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * 2 - 1, j * 2 - 1
            he, we = min(hs + 3, h + 1), min(ws + 2, w + 1)
            pool = (he - hs) * (we - ws)
            hs2, ws2, he2, we2 = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
            d = divisor or (pool if count_include_pad else (he2 - hs2) * (we2 - ws2))
            ref[..., i, j] = x[..., hs2:he2, ws2:we2].sum(axis=(-1, -2)) / d
            jac[..., i, j, hs2:he2, ws2:we2] = 1.0 / d
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    g = rng.standard_normal(out.shape)
    gx = host(K["avg_pool2d_backward"](dev(xp, g), x.shape, kernel, stride, padding, ceil_mode,
                                       count_include_pad, divisor))
    np.testing.assert_allclose(gx, np.einsum("ncij,ncijhw->nchw", g, jac), rtol=1e-12)


def test_softmax_kernels(xp):
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -np.inf]])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    ref = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(host(K["softmax"](dev(xp, x), 1)), ref, rtol=1e-14)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(host(K["log_softmax"](dev(xp, x), 1)), np.log(ref), rtol=1e-14)
    half = host(K["softmax"](dev(xp, x.astype(np.float16)), 1))
    assert half.dtype == np.float16


# ---- on a real GPU, through ember --------------------------------------------------------------
@pytest.mark.skipif(not CUDA_OK, reason=f"needs a CUDA device: {NO_GPU_REASON}")
def test_end_to_end_on_gpu():
    ember.manual_seed(3)
    a = ember.randn(64, 32, device="cuda")
    ember.manual_seed(3)
    b = ember.randn(64, 32)
    np.testing.assert_array_equal(a.cpu().numpy(), b.numpy())
    w = ember.randn(32, 8, device="cuda", requires_grad=True)
    loss = (a @ w).relu().sum()
    loss.backward()
    ref = a.cpu().numpy().T @ ((a.cpu().numpy() @ w.detach().cpu().numpy()) > 0).astype(np.float32)
    np.testing.assert_allclose(w.grad.cpu().numpy(), ref, rtol=1e-4, atol=1e-4)
    assert ember.cuda.device_count() >= 1 and ember.cuda.get_device_name(0)
    assert ember.cuda.memory_allocated() > 0
    ember.cuda.synchronize()


# ---- level 1 of the conformance op table, on this backend's kernels ------------------------------
def _conformance():
    try:
        import ember_conformance.optable as optable
    except ImportError:
        import pathlib

        root = pathlib.Path(__file__).resolve().parents[2] / "conformance"
        if not (root / "ember_conformance").is_dir():
            return None
        sys.path.insert(0, str(root))
        try:
            import ember_conformance.optable as optable
        except ImportError:
            return None
    return optable


_OPT = _conformance()
#: the dtypes the CUDA backend declares (no bfloat16: CuPy has none), as the suite would see them
CUDA_DTYPES = tuple(d.name for d in plugin.CudaBackend().supported_dtypes(0))
_ROWS = [(name, dt) for name, entry in (_OPT.KERNEL_TABLE.items() if _OPT else ()) if name in K
         for dt in entry.dtypes if dt in CUDA_DTYPES]


class _Call:
    """What a conformance check needs to drive a kernel table."""

    def __init__(self, xp):
        import types

        self.xp, self.kt, self.index = xp, K, 0
        self.ctx = types.SimpleNamespace(dtypes=CUDA_DTYPES)  # checks test only the device's dtypes

    def dev(self, a):
        from ember_conformance.samples import View

        if isinstance(a, View):
            base = self.xp.array(a.base)
            return base.T if a.kind == "T" else base[..., ::2]
        if isinstance(a, np.ndarray):
            return self.xp.array(a)  # a copy: in-place kernels must not touch the sample
        if isinstance(a, list):
            return [self.dev(v) for v in a]
        if isinstance(a, tuple):
            return tuple(self.dev(v) for v in a)
        if _OPT and isinstance(a, _OPT.DT):
            return getattr(ember, a.name)
        if _OPT and a is _OPT.INDEX:
            return 0
        return a

    def host(self, a):
        return host(a)

    def dtype(self, name):
        return getattr(ember, name)

    def native(self, name):
        return name in K


def _ref_args(a):
    from ember_conformance.samples import host as s_host
    from ember_conformance.samples import upcast

    def plain(v):
        if isinstance(v, _OPT.DT):
            return v.name
        if v is _OPT.INDEX:
            return 0
        if isinstance(v, list):
            return [plain(x) for x in v]
        if isinstance(v, tuple):
            return tuple(plain(x) for x in v)
        return v

    return plain(upcast(s_host(a)))


@pytest.mark.skipif(not _ROWS, reason="ember_conformance is not importable")
@pytest.mark.parametrize("xp", ["numpy"] + (["cupy"] if CUDA_OK else []), indirect=True)  # one skip line, not 600
@pytest.mark.parametrize("name,dt", _ROWS, ids=[f"{n}-{d}" for n, d in _ROWS])
def test_conformance_level1(xp, name, dt):
    from ember_conformance.samples import rng_for

    entry = _OPT.KERNEL_TABLE[name]
    rng = rng_for("kernel", name, dt)
    call = _Call(xp)
    if entry.check is not None:
        entry.check(call, dt, rng)
        return
    for sample in entry.samples(dt, rng):
        if any(isinstance(a, _OPT.DT) and a.name not in CUDA_DTYPES for a in sample.args):
            continue  # a conversion to a dtype the backend does not declare (the suite skips it too)
        args = call.dev(sample.args)
        with np.errstate(all="ignore"):  # float16 overflow to inf is part of the samples
            got = K["from_host"](sample.args[0], 0) if name == "from_host" else K[name](*args)
            want = entry.ref(*_ref_args(sample.args))
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        for g, w in zip(got, want):
            g, w = host(g), np.asarray(w)
            assert g.shape == w.shape, f"{name}[{sample.kind}] shape {g.shape} != {w.shape}"
            if g.dtype.kind == "f":
                with np.errstate(over="ignore"):
                    w = w.astype(g.dtype)  # the reference rounded (and overflowed) like the result
                rtol, atol = _OPT.tolerance(g.dtype.name, entry.tol_scale)
                np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                           err_msg=f"{name}[{sample.kind}] {dt}")
            else:
                np.testing.assert_array_equal(g, w.astype(g.dtype), err_msg=f"{name}[{sample.kind}] {dt}")


# ---- the whole table behind ember's frontend, on NumPy: a simulated device ------------------------
class _SimPlugin:
    """Registers this backend's kernel table (running on NumPy) as the device type ``cudasim``."""

    from ember.backend import Backend as _Backend

    class SimBackend(_Backend):
        device_type = "cudasim"

        def device_count(self):
            return 1

    _backend = SimBackend()

    @hookimpl
    def ember_backend(self):
        return self._backend

    @hookimpl
    def ember_kernels(self, device_type):
        return dict(K) if device_type == "cudasim" else None


def test_training_step_through_frontend_on_simulated_device():
    old = am.use(np)
    sim = _SimPlugin()
    ember.plugins.register(sim)
    try:
        with ember.fallback_policy("error"):
            rng = np.random.default_rng(5)
            x_np = rng.standard_normal((8, 1, 6, 6)).astype(np.float32)
            w_np = (rng.standard_normal((3, 1, 3, 3)) * 0.3).astype(np.float32)
            x = ember.tensor(x_np, device="cudasim")
            w = ember.tensor(w_np, device="cudasim", requires_grad=True)
            import ember.nn.functional as F

            y = F.max_pool2d(F.conv2d(x, w, padding=1).relu(), 2)
            logits = y.flatten(1) @ ember.ones(27, 4, device="cudasim")
            target = ember.tensor([0, 1, 2, 3, 0, 1, 2, 3], device="cudasim")
            loss = F.cross_entropy(logits, target)
            loss.backward()
            assert str(w.grad.device).startswith("cudasim") and w.grad.shape == (3, 1, 3, 3)
            # the same computation on the CPU backend gives the same numbers
            xc, wc = ember.tensor(x_np), ember.tensor(w_np, requires_grad=True)
            yc = F.max_pool2d(F.conv2d(xc, wc, padding=1).relu(), 2)
            lc = F.cross_entropy(yc.flatten(1) @ ember.ones(27, 4), ember.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
            lc.backward()
            assert loss.item() == pytest.approx(lc.item(), rel=1e-5)
            np.testing.assert_allclose(w.grad.cpu().numpy(), wc.grad.numpy(), rtol=1e-4, atol=1e-6)
            ember.manual_seed(9)
            r = ember.rand(5, device="cudasim")
            ember.manual_seed(9)
            np.testing.assert_array_equal(r.cpu().numpy(), ember.rand(5).numpy())
    finally:
        ember.plugins.unregister(sim)
        am.use(old)
