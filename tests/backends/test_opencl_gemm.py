"""The OpenCL backend's matmul (ember_opencl.gemm) against float64 NumPy references.

Covers the register-blocked float32/float64 kernel and its B packing: sizes around the 8-row and
32/16-column blocks, K = 0, empty operands, transposed / strided / offset views of either operand,
batched products with broadcast batch axes, and the 16-bit dtypes through the ember frontend.
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
from ember_opencl import gemm as cl_gemm  # noqa: E402

K = ember_kernels("opencl")
FP64 = runtime.device(0).fp64
rng = np.random.default_rng(0)
FLOATS = [np.float32] + ([np.float64] if FP64 else [])
EDGE = [1, 3, 8, 17, 33, 63, 65, 129]


@pytest.fixture(autouse=True, params=["default", "pack", "in_place"])
def pack_mode(request, monkeypatch):
    """Run every case with the size thresholds as shipped, with every operand packed that can
    be, and with none packed that need not be: each kernel variant sees every shape."""
    if request.param == "pack":
        monkeypatch.setattr(cl_gemm, "PACK_MIN_M", 0)
        monkeypatch.setattr(cl_gemm, "PACK_MIN_SIZE", 0)
    elif request.param == "in_place":
        monkeypatch.setattr(cl_gemm, "PACK_MIN_M", 1 << 40)
    return request.param


def _check(got: np.ndarray, a: np.ndarray, b: np.ndarray, dtype) -> None:
    ref = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == ref.shape and got.dtype == np.dtype(dtype)
    k = a.shape[-1]
    # float rounding grows with the length of each dot product; scale by |a||b| per element
    scale = np.matmul(np.abs(a).astype(np.float64), np.abs(b).astype(np.float64)) + 1e-30
    eps = np.finfo(dtype).eps
    err = np.abs(got.astype(np.float64) - ref) / scale
    assert err.max(initial=0) <= 4 * eps * max(k, 1) ** 0.5 + 2 * eps, err.max(initial=0)


def _rand(shape, dtype) -> np.ndarray:
    return rng.standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("m", EDGE)
@pytest.mark.parametrize("n", [1, 10, 16, 31, 32, 33, 65])
def test_kernel_edge_sizes(dtype, m, n):
    for k in (1, 7, 64, 129):
        a, b = _rand((m, k), dtype), _rand((k, n), dtype)
        _check(K["to_host"](K["matmul"](K["from_host"](a, 0), K["from_host"](b, 0))), a, b, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mkn", [(256, 64, 192), (130, 200, 96), (300, 17, 64), (129, 1, 257), (130, 512, 128),
                                 (130, 512, 48), (200, 400, 784), (9, 70, 80)])  # N a multiple of 16, not 32
def test_kernel_packed_sizes(dtype, mkn):
    m, k, n = mkn
    a, b = _rand((m, k), dtype), _rand((k, n), dtype)
    _check(K["to_host"](K["matmul"](K["from_host"](a, 0), K["from_host"](b, 0))), a, b, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_kernel_k0_and_empty(dtype):
    for shp_a, shp_b in [((5, 0), (0, 7)), ((0, 4), (4, 3)), ((4, 3), (3, 0)), ((2, 0, 3), (3, 5))]:
        a, b = _rand(shp_a, dtype), _rand(shp_b, dtype)
        got = K["to_host"](K["matmul"](K["from_host"](a, 0), K["from_host"](b, 0)))
        np.testing.assert_array_equal(got, np.matmul(a, b))
        assert got.dtype == np.dtype(dtype)


def _on(x: np.ndarray):
    return ember.tensor(x, device="opencl")


def _host(t) -> np.ndarray:
    return t.cpu().numpy() if hasattr(t, "cpu") else np.asarray(t)


LAYOUTS = ["nn", "tn", "nt", "tt"]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("mkn", [(64, 784, 512), (784, 64, 512), (64, 512, 784), (64, 512, 10), (17, 33, 65),
                                 (1, 40, 3)])
def test_transposed_operands(dtype, layout, mkn):
    m, k, n = mkn
    a = _rand((m, k) if layout[0] == "n" else (k, m), dtype)
    b = _rand((k, n) if layout[1] == "n" else (n, k), dtype)
    ta, tb = _on(a), _on(b)
    if layout[0] == "t":
        ta, a = ta.t(), a.T
    if layout[1] == "t":
        tb, b = tb.t(), b.T
    _check(_host(ta @ tb), a, b, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_strided_and_offset_views(dtype):
    a, b = _rand((40, 70), dtype), _rand((90, 50), dtype)
    ta, tb = _on(a), _on(b)
    cases = [
        (ta[3:37:2, 5:65], tb[10:70, 1:41], a[3:37:2, 5:65], b[10:70, 1:41]),
        (ta[:, ::2], tb[::2, ::3], a[:, ::2], b[::2, ::3][:35]),
        (ta[1:, 1:], tb[1:70, 3:], a[1:, 1:], b[1:70, 3:]),
    ]
    for x, y, xa, yb in cases:
        if x.shape[-1] != y.shape[0]:
            y = y[:x.shape[-1]]
        _check(_host(x @ y), xa, yb[:xa.shape[-1]], dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", [
    ((32, 32, 16), (32, 16, 32)),
    ((4, 1, 9, 20), (3, 20, 33)),
    ((7, 20), (2, 3, 20, 40)),
    ((2, 1, 130, 8), (1, 5, 8, 17)),
    ((3, 65, 64), (64, 10)),
])
def test_batched_broadcast(dtype, shapes):
    a, b = _rand(shapes[0], dtype), _rand(shapes[1], dtype)
    _check(_host(_on(a) @ _on(b)), a, b, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_batched_transposed(dtype):
    a, b = _rand((6, 48, 20), dtype), _rand((6, 33, 48), dtype)
    ta, tb = _on(a), _on(b)
    _check(_host(ta.transpose(1, 2) @ tb.transpose(1, 2)), a.transpose(0, 2, 1), b.transpose(0, 2, 1), dtype)
    # a batch axis with stride 0 on one side (expand) and a permuted batch on the other
    x = _rand((1, 9, 12), dtype)
    y = _rand((12, 4, 30), dtype)
    tx = _on(x).expand(4, 9, 12)
    ty = _on(y).permute(1, 0, 2)
    _check(_host(tx @ ty), np.broadcast_to(x, (4, 9, 12)), y.transpose(1, 0, 2), dtype)
    # B transposed with M < N (computed as C^T = B^T A^T), batched
    x, y = _rand((4, 9, 20), dtype), _rand((4, 50, 20), dtype)
    _check(_host(_on(x) @ _on(y).transpose(1, 2)), x, y.transpose(0, 2, 1), dtype)
    # A transposed with M >= 128 (A packed too), broadcast against a batched B
    x, y = _rand((3, 40, 150), dtype), _rand((2, 1, 40, 33), dtype)
    _check(_host(_on(x).transpose(1, 2) @ _on(y)), x.transpose(0, 2, 1), y, dtype)
    x, z = _rand((1, 70, 131), dtype), _rand((70, 5), dtype)
    _check(_host(_on(x).transpose(1, 2).expand(3, 131, 70) @ _on(z)),
           np.broadcast_to(x.transpose(0, 2, 1), (3, 131, 70)), z, dtype)


@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_low_precision_through_frontend(name):
    torch = pytest.importorskip("torch")
    a, b = rng.standard_normal((37, 70)), rng.standard_normal((70, 45))
    dt = getattr(ember, name)
    got = (ember.tensor(a, device="opencl").to(dt) @ ember.tensor(b, device="opencl").to(dt)).float()
    tdt = getattr(torch, name)
    ref = (torch.tensor(a).to(tdt).float() @ torch.tensor(b).to(tdt).float()).to(tdt).float().numpy()
    assert got.dtype == ember.float32
    # one 16-bit rounding of a float32-accumulated result: within a unit in the last place
    tol = {"float16": 1e-3, "bfloat16": 8e-3}[name]
    np.testing.assert_allclose(_host(got), ref, rtol=tol, atol=tol * np.abs(ref).max())


def test_integer_matmul_generic_path():
    a = rng.integers(-5, 5, (9, 13)).astype(np.int64)
    b = rng.integers(-5, 5, (13, 18)).astype(np.int64)
    got = K["to_host"](K["matmul"](K["from_host"](a, 0), K["from_host"](b, 0)))
    np.testing.assert_array_equal(got, a @ b)


def test_matches_torch_with_grad():
    torch = pytest.importorskip("torch")
    x, w = rng.standard_normal((64, 78)).astype(np.float32), rng.standard_normal((51, 78)).astype(np.float32)
    ex = ember.tensor(x, device="opencl", requires_grad=True)
    ew = ember.tensor(w, device="opencl", requires_grad=True)
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (ex @ ew.t()).sum().backward()
    (tx @ tw.t()).sum().backward()
    np.testing.assert_allclose(_host(ex.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(_host(ew.grad), tw.grad.numpy(), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_expanded_matrix_axes(dtype):
    # stride-0 rows / columns inside the matrices themselves (expand of a vector)
    col, row = _rand((70, 1), dtype), _rand((1, 70), dtype)
    a, b = np.broadcast_to(row, (150, 70)), np.broadcast_to(col, (70, 45))
    _check(_host(_on(row).expand(150, 70) @ _on(col).expand(70, 45)), a, b, dtype)
    _check(_host(_on(col).expand(70, 45).t() @ _on(row).expand(150, 70).t()), b.T, a.T, dtype)
    x = _rand((150, 70), dtype)
    _check(_host(_on(x) @ _on(col).expand(70, 45)), x, b, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_gpu_devices_take_the_generic_kernel(dtype, monkeypatch):
    monkeypatch.setattr(runtime.device(0), "is_gpu", True)
    a, b = _rand((2, 19, 33), dtype), _rand((33, 40), dtype)
    _check(K["to_host"](K["matmul"](K["from_host"](a, 0), K["from_host"](b, 0))), a, b, dtype)
