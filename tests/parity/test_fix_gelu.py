"""GELU as one autograd node with optional ``gelu``/``gelu_backward`` kernels, and the complex inputs
PyTorch refuses that ember used to compute silently (erf, xlogy, xlog1py, zeta, atan2, copysign,
heaviside) or compute wrongly (float_power, whose complex result was float64).

Every check runs the same expression on PyTorch and on ember, values and gradients (the kernel path
and, with the kernels hidden, the ember-op composite a backend without them runs)."""

from __future__ import annotations

import math

import ember
import ml_dtypes
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

R = np.random.default_rng(7)
MODES = ["none", "tanh"]
SPECIAL = [-math.inf, -1e20, -400.0, -40.0, -9.5, -5.5, -3.0, -1.0, -1e-30, -0.0, 0.0, 1e-30, 0.5, 1.0, 3.0,
           5.5, 9.5, 40.0, 400.0, 1e20, math.nan]


def _gelu(mode):
    return lambda L, t: L.nn.functional.gelu(t, approximate=mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("composite", [False, True], ids=["kernel", "composite"])
def test_gelu_values_and_gradients(device, mode, dtype, composite, hide_kernels):
    if composite:
        hide_kernels(["gelu", "gelu_backward"])
    x = R.standard_normal((6, 7)).astype(dtype) * 3
    check(_gelu(mode), (Arg(x),), {}, device)
    check(_gelu(mode), (Arg(x, layout="T"),), {}, device)  # non-contiguous
    check(_gelu(mode), (Arg(x[..., 1::2], layout="step", shape=x[..., 1::2].shape[:-1] + (2,)),), {}, device)
    check(_gelu(mode), (Arg(np.array(0.75, dtype)),), {}, device)  # 0-d
    check(_gelu(mode), (Arg(np.zeros((0, 3), dtype)),), {}, device)  # empty


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_special_values(device, mode, dtype):
    vals = SPECIAL if mode == "tanh" else SPECIAL[1:]  # PyTorch's erf-gelu gives NaN at -inf and +inf
    vals = [v for v in vals if not (mode == "none" and v == math.inf)]
    check(_gelu(mode), (Arg(np.array(vals, dtype)),), {}, device)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("low", ["float16", "bfloat16"])
def test_gelu_half_precision_rounds_once(device, mode, low):
    """PyTorch computes float16/bfloat16 GELU (and its gradient) in float32 and rounds once."""
    x = (R.standard_normal(64) * 3).astype(np.float32)
    arr = x.astype(ml_dtypes.bfloat16) if low == "bfloat16" else x.astype(np.float16)
    check(_gelu(mode), (Arg(arr),), {}, device)
    # bit for bit on the kernel path: one float32 computation, one rounding
    e = ember.nn.functional.gelu(ember.tensor(arr, device=device), approximate=mode).float().cpu().numpy()
    t = torch.nn.functional.gelu(torch.from_numpy(x).to(getattr(torch, low)), approximate=mode).float().numpy()
    assert np.max(np.abs(e - t)) <= np.max(np.abs(t)) * (2 ** -8 if low == "bfloat16" else 2 ** -11)


@pytest.mark.parametrize("mode", MODES)
def test_gelu_double_backward(device, mode):
    def second(L, t):
        y = L.nn.functional.gelu(t, approximate=mode)
        (g,) = L.autograd.grad(y.sum(), t, create_graph=True)
        return g

    check(second, (Arg(R.standard_normal(9).astype(np.float64) * 2),), {}, device)


def test_gelu_node_and_errors():
    x = ember.tensor([0.5], requires_grad=True)
    assert ember.nn.functional.gelu(x).grad_fn.name() == torch.nn.functional.gelu(
        torch.tensor([0.5], requires_grad=True)).grad_fn.name() == "GeluBackward0"
    for dt in ("int64", "bool", "complex64"):
        with pytest.raises(NotImplementedError) as want:
            torch.nn.functional.gelu(torch.ones(2, dtype=getattr(torch, dt)))
        with pytest.raises(NotImplementedError) as got:
            ember.nn.functional.gelu(ember.ones(2, dtype=getattr(ember, dt)))
        assert str(got.value) == str(want.value)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh"):
        ember.nn.functional.gelu(ember.ones(2), approximate="fast")


# ---- complex inputs ------------------------------------------------------------------------------
C = np.array([0.5 + 0.1j, -0.3 + 0.2j], np.complex64)
REAL = np.array([0.5, 0.25], np.float32)
REFUSED = {
    "erf": lambda L, c, r: L.erf(c),
    "special.erf": lambda L, c, r: L.special.erf(c),
    "xlogy": lambda L, c, r: L.xlogy(r, c),
    "special.xlog1py": lambda L, c, r: L.special.xlog1py(c, r),
    "special.zeta": lambda L, c, r: L.special.zeta(c, 2.0),
    "atan2": lambda L, c, r: L.atan2(r, c),
    "copysign": lambda L, c, r: L.copysign(c, r),
    "heaviside": lambda L, c, r: L.heaviside(c, c),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_complex_inputs_refused_as_pytorch(name):
    fn = REFUSED[name]
    with pytest.raises(Exception) as want:
        fn(torch, torch.from_numpy(C), torch.from_numpy(REAL))
    with pytest.raises(type(want.value)) as got:
        fn(ember, ember.tensor(C), ember.tensor(REAL))
    assert str(got.value) == str(want.value)


@pytest.mark.parametrize("case", ["tensor**int", "real**complex", "int tensor**complex", "complex out"])
def test_float_power_of_complex_is_complex128(device, case):
    try:
        ember.zeros(1, dtype=ember.complex128, device=device)
    except TypeError:
        pytest.skip(f"{device} stores no complex numbers")
    fns = {
        "tensor**int": (lambda L, t: L.float_power(t, 2), C),
        "real**complex": (lambda L, t: L.float_power(t, 1.5j), REAL),
        "int tensor**complex": (lambda L, t: L.float_power(t, 0.5 - 1j), np.array([2, 3])),
        "complex out": (lambda L, t: L.float_power(t, 2, out=L.empty(2, dtype=L.float64)), C),
    }
    fn, arr = fns[case]
    check(fn, (Arg(arr, grad=False),), {}, device)
