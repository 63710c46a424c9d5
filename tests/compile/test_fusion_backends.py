"""Each backend's compile_elementwise: a fused chain equals the same kernels run one by one
(bitwise for arithmetic, NaN, signed zeros and infinities included) and PyTorch's values."""

from __future__ import annotations

import warnings

import ember
import numpy as np
import pytest
from ember.compiler import FusedElementwise

torch = pytest.importorskip("torch")

EDGE = np.array([np.nan, -0.0, 0.0, np.inf, -np.inf, 1e-30, -2.5, 3.0], np.float32)

# (ops, how many array inputs, the torch expression)
CHAINS = {
    "mul-add-relu": ((("mul", (("in", 0), ("in", 1))), ("add", (("prev",), ("in", 1))), ("relu", (("prev",),))), 2,
                     lambda a, b: (a * b + b).relu()),
    "scalars": ((("sub", (("scalar", 1.0), ("in", 0))), ("div", (("prev",), ("scalar", 4.0))),
                 ("maximum", (("prev",), ("in", 1))), ("minimum", (("in", 1), ("prev",)))), 2,
                lambda a, b: torch.minimum(b, torch.maximum((1.0 - a) / 4.0, b))),
    "unary": ((("abs", (("in", 0),)), ("sqrt", (("prev",),)), ("neg", (("prev",),)), ("exp", (("prev",),)),
               ("tanh", (("prev",),))), 1, lambda a: (-(a.abs().sqrt())).exp().tanh()),
    "broadcast": ((("add", (("in", 0), ("in", 1))), ("mul", (("prev",), ("prev",)))), 2, None),
}


def _arrays(n, shapes=None):
    rng = np.random.default_rng(5)
    out = []
    for k in range(n):
        shape = shapes[k] if shapes else (8, 8)
        a = rng.standard_normal(shape).astype(np.float32)
        if not shapes:
            a[k] = np.roll(EDGE, k)
        out.append(a)
    return out


def _eager(device, ops, arrays):
    """The same kernels, one by one, through the device's kernel table."""
    kt = ember.dispatch.table(device)
    vals = [kt["from_host"](a, 0) for a in arrays]
    prev = None
    for kernel, operands in ops:
        args = [vals[o[1]] if o[0] == "in" else prev if o[0] == "prev" else o[1] for o in operands]
        prev = kt[kernel](*args)
    return kt["to_host"](prev)


@pytest.mark.parametrize("use_numba", [None, False])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_fused_chain_equals_the_kernels(device, name, use_numba):
    if device != "cpu" and use_numba is False:
        pytest.skip("the NumPy path is the cpu backend's")
    ops, n, ref = CHAINS[name]
    shapes = [(4, 1, 5), (3, 5)] if name == "broadcast" else None
    arrays = _arrays(n, shapes)
    out_shape = np.broadcast_shapes(*(a.shape for a in arrays))
    program = FusedElementwise(ops, tuple((a.shape, np.dtype(np.float32)) for a in arrays), out_shape,
                               np.dtype(np.float32))
    backend = ember.plugins.backend(device)
    if device == "cpu":
        from ember_cpu_numpy.fusion import compile_elementwise

        fn = compile_elementwise(program, use_numba=use_numba)
    else:
        fn = backend.compile_elementwise(program)
    assert fn is not None
    kt = ember.dispatch.table(device)
    with warnings.catch_warnings():  # the cpu backend's callable may be the ufunc itself, which reports NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        got = kt["to_host"](fn(*[kt["from_host"](a, 0) for a in arrays]))
    want = _eager(device, ops, arrays)
    assert got.dtype == want.dtype and got.shape == want.shape == out_shape
    transcendental = name == "unary" and (device != "cpu" or use_numba is not False)
    if transcendental:  # numba's and OpenCL's exp/tanh may differ from NumPy's by an ulp
        np.testing.assert_allclose(got, want, rtol=4e-7, atol=0)
    else:
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want))
    if ref is not None:
        expected = ref(*[torch.from_numpy(a) for a in arrays]).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=0, equal_nan=True)


def test_unhandled_dtypes_are_left_unfused():
    program = FusedElementwise((("add", (("in", 0), ("in", 0))), ("relu", (("prev",),))), (((2,), np.dtype(np.int64)),),
                               (2,), np.dtype(np.int64))
    for device in ember.plugins.device_types():
        be = ember.plugins.backend(device)
        if be.is_available():
            assert be.compile_elementwise(program) is None
