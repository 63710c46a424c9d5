"""Divergences from PyTorch found by probing the OpenCL backend (PoCL) against PyTorch on the CPU.

Each row is one expression run twice: on PyTorch with its tensors on the CPU, and on ember with
them on "opencl"; the results come back with ``.cpu()`` and are compared: values (``EXACT`` rows
bit for bit, signed zeros included), dtypes, shapes, and errors (the builtin type and the first
line of the message, a kernel name's ``_opencl`` read as PyTorch's ``_cpu``).

Fixed here: ``cumsum``/``cumprod`` of float32 keep the running value in double (float for 16-bit),
as PyTorch's CPU scan does, so a long sum does not drift; ``max``/``min``/``amax``/``amin`` along
a dim keep the first of equal values, so ``max(x, dim).values`` is ``x`` at the returned index
(0.0 vs -0.0); an in-place op whose input covers the very same memory in another order
(``x.t().add_(x)``, ``x.view(1, 9).add_(x)``) raises PyTorch's overlap error instead of racing;
a cpu tensor mixed with an opencl one reads "opencl:0 and cpu!" whichever operand comes first (the
first non-CPU device is TensorIterator's common device); matmul's dtype errors name the kernel
PyTorch picks for the ranks (dot, addmv, bmm, mm with C++ type names), ``dot`` checks dtypes
before sizes and ``inner`` refuses two dtypes; ``masked_fill_``'s size error names self first and
its mask dtype error prints the C++ type; a convolution's bias on another device raises the device
error (it reached the kernel); adaptive max pooling (1d/2d/3d, without
``return_indices``) gives a window's gradient to its first maximum, as PyTorch, not shared among
tied values, and names its node ``AdaptiveMaxPool2DBackward0``.
"""

from __future__ import annotations

import math
from typing import Any

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

if "opencl" not in ember.plugins.device_types() or not ember.opencl.is_available():
    pytest.skip("no OpenCL device", allow_module_level=True)


def _env(lib: Any, dev: str) -> dict:
    def T(values: Any, dt: str | None = None) -> Any:
        return lib.tensor(values, dtype=getattr(lib, dt) if dt else None, device=dev)

    def A(*shape: int, dt: str = "float32") -> Any:
        n = math.prod(shape)
        a = (np.arange(n) * 0.37 % 5 - 2).reshape(shape)
        return lib.tensor(a, dtype=getattr(lib, dt), device=dev)

    return {"t": lib, "D": dev, "T": T, "A": A, "nan": math.nan, "inf": math.inf}


def _run(lib: Any, dev: str, src: str) -> Any:
    try:
        return eval(src, _env(lib, dev))  # noqa: S307 - the rows below are this file's own expressions
    except Exception as exc:  # noqa: BLE001 - the error is what we compare
        return exc


def _norm(r: Any) -> Any:
    if isinstance(r, (list, tuple)):
        return [_norm(x) for x in r]
    if hasattr(r, "detach"):
        a = r.detach().cpu()
        name = str(a.dtype).split(".")[-1]
        return name, tuple(a.shape), (a.float() if name == "bfloat16" else a).numpy()
    if isinstance(r, (ember.dtype, torch.dtype, ember.device, torch.device)):
        return str(r).split(".")[-1]
    return r


def _compare(src: str, exact: bool) -> None:
    ref, got = _run(torch, "cpu", src), _run(ember, "opencl", src)
    if isinstance(ref, Exception):
        assert isinstance(got, Exception), f"ember returned {got!r}; PyTorch raised {ref!r}"
        base = next(k for k in type(ref).__mro__ if k.__module__ == "builtins")
        assert isinstance(got, base), f"ember raised {type(got).__name__}: {got}; PyTorch {base.__name__}: {ref}"
        line = str(got).split("\n")[0].replace('_opencl"', '_cpu"')
        assert line == str(ref).split("\n")[0], f"ember: {line!r}\nPyTorch: {str(ref).splitlines()[0]!r}"
        return
    assert not isinstance(got, Exception), f"ember raised {got!r}; PyTorch returned {ref!r}"
    _same(_norm(ref), _norm(got), exact)


def _same(ref: Any, got: Any, exact: bool) -> None:
    if isinstance(ref, list):
        assert isinstance(got, list) and len(got) == len(ref)
        for r, g in zip(ref, got):
            _same(r, g, exact)
    elif isinstance(ref, tuple) and len(ref) == 3 and isinstance(ref[2], np.ndarray):
        assert got[:2] == ref[:2], f"dtype/shape {got[:2]} != PyTorch's {ref[:2]}"
        x, y = ref[2], got[2]
        if x.dtype.kind != "f":
            np.testing.assert_array_equal(y, x)
        elif exact:
            np.testing.assert_array_equal(y, x)
            keep = ~np.isnan(x)
            np.testing.assert_array_equal(np.signbit(y[keep]), np.signbit(x[keep]), err_msg="signed zeros differ")
        else:
            np.testing.assert_allclose(y, x, rtol=1e-5, atol=1e-6, equal_nan=True)
    else:
        assert got == ref


# ---- the fixes ---------------------------------------------------------------------------------
FIXED = [
    # scans keep a wider running value (PyTorch's acc_type on the CPU)
    "EXACT (t.ones(100000, device=D) * 0.1).cumsum(0)[-3:]",
    "(t.ones(4097, device=D, dtype=t.float16) * 0.1).cumsum(0)[-1]",
    "(t.ones(3000, device=D, dtype=t.bfloat16) * 0.1).cumsum(0)[-1]",
    "EXACT T([1.1] * 60).cumprod(0)[-1]",
    "EXACT (t.ones(2, 50000, device=D) * 0.1).cumsum(1)[:, -1]",
    # max/min along a dim: the value at the returned index
    "EXACT t.max(T([[0., -0.], [-0., 0.]]), 1)",
    "EXACT t.min(T([[0., -0.], [-0., 0.]]), 1)",
    "EXACT t.max(T([[0., -0.], [-0., 0.]]), 0)",
    "EXACT t.amax(T([[0., -0.], [-0., 0.]]), 1)",
    "EXACT t.amin(T([[-0., 0.], [0., -0.]], 'float64'), 1)",
    "EXACT t.max(T([[-0., 0.]], 'bfloat16'), 1)",
    "EXACT t.max(T([[1., nan], [nan, 1.]]), 1)",
    # in-place ops whose input covers the same memory in another order
    "(lambda x: (x.t().add_(x), x)[1])(A(3, 3))",
    "(lambda x: (x.add_(x.t()), x)[1])(A(3, 3))",
    "(lambda x: (x.t().mul_(x), x)[1])(A(3, 3))",
    "(lambda x: (x.view(1, 9).add_(x.view(9)), x)[1])(A(3, 3))",
    "(lambda x: (x.t().mul_(x.t()), x)[1])(A(3, 3))",
    "(lambda x: (x.add_(x), x)[1])(A(3, 3))",
    "(lambda x: (x[1:].add_(x[:-1]), x)[1])(A(5))",
    # matmul's dtype errors follow the kernel PyTorch picks
    "t.matmul(A(3, dt='int32'), A(3))",
    "t.matmul(A(2, 3, dt='int32'), A(3))",
    "t.matmul(A(2, 2, 3, dt='float64'), A(3))",
    "t.matmul(A(3, dt='int8'), A(3, 2, dt='uint8'))",
    "t.matmul(A(2, 3, dt='float16'), A(3, 2))",
    "t.matmul(A(2, 3, dt='bfloat16'), A(3, 2))",
    "t.matmul(A(2, 2, 3, dt='int32'), A(2, 3, 2))",
    "t.matmul(A(2, 3, dt='int32'), A(2, 3, 2))",
    "t.matmul(A(2, 2, 3, dt='int32'), A(3, 2))",
    "t.dot(A(3), A(4, dt='float64'))",
    "t.mv(A(2, 3, dt='float64'), A(3))",
    "t.mm(A(2, 3, dt='float64'), A(3, 2))",
    "t.inner(A(3, dt='int32'), A(3))",
    "t.inner(A(2, 3, dt='int32'), A(2, 3))",
    "A(3, dt='int32') @ A(3)",
    # adaptive max pooling sends a window's gradient to its first maximum (its index), not shared among ties
    "(lambda x: (t.nn.functional.adaptive_max_pool2d(x, 2).sum().backward(), x.grad)[1])"
    "(t.ones(1, 1, 3, 3, device=D).requires_grad_())",
    "(lambda x: (t.nn.functional.adaptive_max_pool1d(x, 2).sum().backward(), x.grad)[1])"
    "(t.ones(1, 2, 3, device=D).requires_grad_())",
    "(lambda x: (t.nn.functional.adaptive_max_pool3d(x, (2, 1, 2)).sum().backward(), x.grad)[1])"
    "(t.ones(1, 1, 3, 3, 3, device=D).requires_grad_())",
    "(lambda x: (t.nn.functional.adaptive_max_pool2d((x * 10).round(), (2, 3)).sum().backward(), x.grad)[1])"
    "(A(1, 2, 5, 7).requires_grad_())",
    "(lambda x: (t.nn.AdaptiveMaxPool2d(2)(x.relu()).sum().backward(), x.grad)[1])(A(2, 1, 4, 4).requires_grad_())",
    "type(t.nn.functional.adaptive_max_pool2d(A(1, 3, 3).requires_grad_(), 2).grad_fn).__name__",
    "type(t.nn.functional.adaptive_max_pool3d(A(1, 3, 3, 3).requires_grad_(), 2).grad_fn).__name__",
    # masked_fill's errors
    "t.zeros(3, device=D).masked_fill_(T([True, False]), 1.)",
    "t.zeros(3, device=D).masked_fill(T([True, False]), 1.)",
    "t.zeros(3, device=D).masked_fill(T([1, 0, 1], 'uint8'), 1.)",
    "t.zeros(3, device=D).masked_fill_(T([1, 0, 1], 'int64'), 1.)",
    "t.zeros(3, device=D).masked_fill(T([1, 0, 1], 'float16'), 1.)",
]


@pytest.mark.parametrize("src", FIXED)
def test_fixed(src):
    exact = src.startswith("EXACT ")
    _compare(src.removeprefix("EXACT "), exact)


def _mixed(op: Any) -> str:
    """The error ember raises for ``op(lib, opencl_tensor_maker, cpu_tensor_maker)``."""
    def on(dev: str):
        return lambda v, dt=None: ember.tensor(v, dtype=getattr(ember, dt) if dt else None, device=dev)

    with pytest.raises(RuntimeError) as info:
        op(ember, on("opencl"), on("cpu"))
    return str(info.value)


SAME_DEVICE = "Expected all tensors to be on the same device, but found at least two devices, opencl:0 and cpu!"
MIXED = [
    lambda L, G, C: G([1.0, 2.0]) + C([1.0, 2.0]),
    lambda L, G, C: C([1.0, 2.0]) + G([1.0, 2.0]),
    lambda L, G, C: C([1.0, 2.0]) * G(3.0),  # only a cpu 0-d tensor joins another device
    lambda L, G, C: L.where(C([True, False]), G([1.0, 2.0]), G([3.0, 4.0])),
    lambda L, G, C: L.lerp(G([1.0]), C([2.0]), 0.5),
    lambda L, G, C: L.addcmul(G([1.0]), C([2.0]), G([3.0])),
    lambda L, G, C: G([0.0, 0.0]).masked_fill(C([True, False]), 2.0),
    lambda L, G, C: L.maximum(C([1.0]), G([2.0])),
    lambda L, G, C: G([1.0, 2.0]) == C([1.0, 2.0]),
    # a bias on the cpu reached the OpenCL kernel (AttributeError), not PyTorch's device error
    lambda L, G, C: L.nn.functional.conv2d(G([[[[1.0, 2.0], [3.0, 4.0]]]]), G([[[[1.0]]]]), C([0.5])),
    lambda L, G, C: L.nn.functional.conv1d(G([[[1.0, 2.0]]]), G([[[1.0]]]), C([0.5])),
]


@pytest.mark.parametrize("op", MIXED, ids=range(len(MIXED)))
def test_mixed_devices_name_the_accelerator_first(op):
    assert _mixed(op) == SAME_DEVICE


def test_cpu_scalar_tensor_joins_the_opencl_operand():
    """PyTorch's TensorIterator moves a cpu 0-d operand to the other's device (CUDA does the same)."""
    x = ember.tensor([1.0, 2.0], device="opencl")
    for y in (x + ember.tensor(1.0), ember.tensor(2.0) * x,
              x.masked_fill(ember.tensor([True, False], device="opencl"), ember.tensor(5.0))):
        assert y.device.type == "opencl"
    np.testing.assert_array_equal((x * ember.tensor(2.0)).cpu().numpy(), [2.0, 4.0])
    assert x.add_(ember.tensor(1.0)) is x and x.device.type == "opencl"
    np.testing.assert_array_equal(x.cpu().numpy(), [2.0, 3.0])


# ---- regression rows: edge cases the kernels already matched when probed -----------------------
KEPT = [
    # integer wrap-around, division and shifts
    "T([100, 127, -128], 'int8') + T([100, 1, -1], 'int8')",
    "T([0, 1], 'uint8') - T([1, 2], 'uint8')",
    "T([2**63-1], 'int64') + 1",
    "T([7, -7, 7, -7], 'int32') // T([2, 2, -2, -2], 'int32')",
    "t.remainder(T([7, -7, 7, -7], 'int64'), T([3, 3, -3, -3], 'int64'))",
    "t.fmod(T([7, -7, 7, -7], 'int64'), T([3, 3, -3, -3], 'int64'))",
    "T([7, -7], 'int32') // T([0, 0], 'int32')",
    "t.div(T([7, -7, 0], 'int32'), T([0, 0, 0], 'int32'))",
    "EXACT t.div(T([7., -7, 5, 1]), T([0., 0, -0., 0.]), rounding_mode='floor')",
    "T([-2**31], 'int32') // T([-1], 'int32')",
    "EXACT t.remainder(T([7., -7, 7, -7, 0, -0.]), T([3., 3, -3, -3, 3, 3]))",
    "T([1, 1, 1], 'int64') << T([63, 64, 100], 'int64')",
    "T([-8, -8, 8], 'int32') >> T([1, 33, 40], 'int32')",
    "T([128, 255], 'uint8') >> T([7, 9], 'uint8')",
    "T([1, -1], 'int8') << T([7, 9], 'int8')",
    # casts
    "T([nan, inf, -inf, 1e10, -1e10, 3.7, -3.7]).to(t.int32)",
    "T([300., -1., 255.9, 3.7, -3.7]).to(t.uint8)",
    "T([70000., 65504., 65520., 1e-8, 6e-8]).to(t.float16)",
    "T([1.00390625, 1.01171875, 3e38, 1e39]).to(t.bfloat16)",
    "T([1 + 2**-11, 1 + 3 * 2**-11, 65519.], 'float64').to(t.float16)",
    "EXACT T([-0.0]).to(t.bfloat16)",
    # NaN and signed zeros
    "EXACT t.maximum(T([1., nan, -0., 0.]), T([nan, 2., 0., -0.]))",
    "EXACT t.fmin(T([1., nan, nan]), T([nan, 2., nan]))",
    "EXACT t.clamp(T([nan, 1., 5.]), 2., 4.)",
    "EXACT t.clamp(T([1., 2., 3.]), min=T([nan, 0., 0.]))",
    "EXACT t.round(T([0.5, 1.5, 2.5, -0.5, -1.5, -2.5]))",
    "EXACT T([1., -1., 0.]) / T([-0., -0., -0.])",
    "EXACT t.sqrt(T([-1., -0., 0., inf]))",
    "EXACT t.atan2(T([0., -0., 0., -0., 1.]), T([0., 0., -0., -0., -inf]))",
    "t.pow(T([0, 2, -2, 3], 'int32'), T([0, 10, 3, 40], 'int32'))",
    "t.where(T([True, False]), T([1, 2], 'int8'), 300)",
    "T([0.1] * 1000, 'bfloat16').sum()",
    "T([60000., 60000.], 'float16').mean()",
    # reductions and search
    "t.zeros(0, 3, device=D).amax(1)",
    "t.zeros(0, 3, device=D).amax(0)",
    "t.zeros(0, 3, device=D).argmax(1)",
    "T([1e8] + [1.] * 10000).sum()",
    "t.full((100000,), 100, device=D, dtype=t.int8).sum()",
    "EXACT T([[1., 3., 3.], [5., 5., 0.]]).argmax(1)",
    "EXACT T([1., nan, 3., nan]).argmax()",
    "EXACT (t.arange(2000, device=D) % 7).float().argmin()",
    "EXACT t.sort(T([3., nan, 1., nan, 2.]), descending=True)",
    "EXACT t.sort((t.arange(3000, device=D) * 7919) % 1000, stable=True)",
    "EXACT t.topk(T([1., nan, 3., 2.]), 2)",
    "EXACT t.unique(T([3., 1., 1., 2.]), return_inverse=True, return_counts=True)",
    "T([100, 100, 100], 'int8').cumsum(0)",
    "T([True, True]).cumsum(0)",
    # indexing with duplicates
    "t.zeros(5, device=D).index_put_((T([1, 1, 3]),), T([1., 2., 3.]), accumulate=True)",
    "t.zeros(5, device=D, dtype=t.int8).scatter_add(0, T([1, 1]), T([100, 100], 'int8'))",
    "t.ones(5, device=D).scatter_reduce(0, T([1, 1, 3]), T([2., 5., 3.]), 'mean', include_self=False)",
    "t.gather(A(3, 4).t(), 1, T([[0, 2], [1, 1]]))",
    "A(4, 5)[T([0, 0]), T([1, 1])]",
    "A(4, 5)[T([5])]",
    # views then in-place writes
    "(lambda x: (x.t()[1].mul_(2), x)[1])(A(3, 4))",
    "(lambda x: (x.diagonal().copy_(T([9., 8., 7.])), x)[1])(A(3, 3))",
    "(lambda x: (x.__setitem__(T([0, 0, 2]), T([1., 2., 3.])), x)[1])(A(3))",
    # products, softmax, conv and pool
    "t.zeros(2, 0, device=D) @ t.ones(0, 4, device=D)",
    "A(2, 1, 3, 4) @ A(5, 4, 2)",
    "T([[100, 100]], 'int8') @ T([[100], [100]], 'int8')",
    "t.softmax(T([[-inf, -inf], [1., -inf]]), 1)",
    "t.log_softmax(t.full((3, 1000), -inf, device=D), 1)",
    "t.nn.functional.conv2d(A(1, 2, 5, 5), A(4, 2, 3, 3), stride=(2, 3), padding=(1, 2), dilation=(2, 1))",
    "t.nn.functional.max_pool2d(T([[[[nan, 1.], [2., 3.]]]]), 2, return_indices=True)",
    "t.nn.functional.avg_pool2d(A(1, 1, 5, 5), 3, stride=2, padding=1, ceil_mode=True)",
    # random ops: shapes and dtypes
    "t.randint(2, 5, (3,), device=D, dtype=t.int8).dtype",
    "t.rand(3, device=D, dtype=t.bfloat16).dtype",
    "t.randperm(0, device=D).shape",
    "t.multinomial(T([0., 1., 0.]), 1)",
]


@pytest.mark.parametrize("src", KEPT)
def test_kept(src):
    exact = src.startswith("EXACT ")
    _compare(src.removeprefix("EXACT "), exact)
