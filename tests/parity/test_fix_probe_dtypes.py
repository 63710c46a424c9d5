"""Dtype/precision probes that differed from PyTorch: addcmul/addcdiv promotion (and value's
conversion), lerp's dtype checks, exact fmod, complex isclose, remainder/fmod with 16-bit floats and
integers, round(decimals) for 16-bit floats and negative decimals, angle's pi in float64, std in
double precision, uint8 with negative exponents and bounds, and PyTorch's TypeErrors/overflow errors
for Python-number operands (maximum, logical_*, pow, comparisons with complex numbers)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F16, F32, F64, I64 = np.float16, np.float32, np.float64, np.int64
NAN, INF = math.nan, math.inf


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def BF(values) -> Arg:
    import ml_dtypes

    return Arg(np.array(values, dtype=np.float32).astype(ml_dtypes.bfloat16))


U8 = np.uint8

ADDC = [
    (lambda L, a, b, c: L.addcmul(a, b, c), (A([0.0, 0.0]), A([255, 16], U8), A([255, 16], U8))),
    (lambda L, a, b, c: L.addcmul(a, b, c), (A([0, 0], np.int32), A([200, 16], U8), A([2, 16], U8))),
    (lambda L, a, b, c: L.addcmul(a, b, c), (A([1, 2], np.int8), A([True, False], bool), A([True, True], bool))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=0.5), (A([1, 2], I64), A([1, 2], I64), A([3, 4], I64))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=-1.7), (A([1, 2], I64), A([1, 2], I64), A([3, 4], I64))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=-1), (A([1, 2], U8), A([1, 2], U8), A([3, 4], U8))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=1j), (A([1.0, 2.0]), A([1.0, 2.0]), A([3.0, 4.0]))),
    (lambda L, a, b, c: L.addcmul(a, b, c), (A([True], bool), A([True], bool), A([True], bool))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=0.3), (A([1.0, 2.0], F16), A([300.0, 2.0], F16), A([3.0, 400.0], F16))),
    (lambda L, a, b, c: L.addcmul(a, b, c, value=2), (A([1.0, 2.0]), A([1.0, 2.0], F64), A(3.0))),
    (lambda L, a, b, c: L.addcdiv(a, b, c), (A([1, 2], I64), A([1, 2], I64), A([3, 4], I64))),
    (lambda L, a, b, c: L.addcdiv(a, b, c), (A([0.0, 0.0]), A([255, 16], U8), A([2, 3], U8))),
    (lambda L, a, b, c: L.addcdiv(a, b, c), (A([1.0, 2.0]), A([True, False], bool), A([True, True], bool))),
    (lambda L, a, b, c: L.addcdiv(a, b, c, value=0.1), (A([1.0, 2.0], F16), A([1.0, 2.0], F16), A([3.0, 4.0], F16))),
    (lambda L, a, b, c: L.addcdiv(a, b, c, value=2), (A([1, 2], I64), A([1.0, 2.0], grad=False), A([3, 4], I64))),
    (lambda L, a, b, c: L.addcdiv(a, b, c, value=0.5), (A([1.0, 2.0]), A([1.0, 2.0], F64), A([3.0, 4.0]))),
]


@pytest.mark.parametrize("fn,args", ADDC, ids=range(len(ADDC)))
def test_addcmul_addcdiv(device, fn, args):
    check(fn, args, {}, device)


def test_addcmul_grad_fn_names(device):
    def names(L, a, b, c):
        return (L.addcmul(a, b, c).grad_fn.name(), L.addcdiv(a, b, c).grad_fn.name())

    import ember
    import torch

    t = [torch.tensor([1.0, 2.0], requires_grad=True) for _ in range(3)]
    e = [ember.tensor([1.0, 2.0], requires_grad=True, device=device) for _ in range(3)]
    assert names(torch, *t) == names(ember, *e) == ("AddcmulBackward0", "AddcdivBackward0")


LERP = [
    (lambda L, a, b: L.lerp(a, b, 0.5), (A([1, 2], I64), A([3, 4], I64))),
    (lambda L, a, b: L.lerp(a, b, 0.5), (A([True], bool), A([True], bool))),
    (lambda L, a, b: L.lerp(a, b, 0.5), (A([1.0, 2.0]), A([3, 4], I64))),
    (lambda L, a, b: L.lerp(a, b, 0.5), (A([1.0, 2.0]), A([3.0, 4.0], F64))),
    (lambda L, a, b: L.lerp(a, b, 0.5), (A([1.0, 2.0]), A(3.0, F64))),
    (lambda L, a, b, w: L.lerp(a, b, w), (A([1.0, 2.0]), A([3.0, 4.0]), A([0.5, 0.5], F64))),
    (lambda L, a, b, w: L.lerp(a, b, w), (A([1.0, 2.0]), A([3.0, 4.0]), A([1, 1], I64))),
    (lambda L, a, b, w: L.lerp(a, b, w), (A([1.0, 2.0]), A([3.0, 4.0]), A(0.25, F64))),  # 0-d: promotes
    (lambda L, a, b, w: L.lerp(a, b, w), (A([1, 2], I64), A([3, 4], I64), A([0.5, 0.5]))),
    (lambda L, a, b: L.lerp(a, b, 1j), (A([1.0, 2.0]), A([3.0, 4.0]))),
    (lambda L, a, b: L.lerp(a, b, 0.25), (A([1.0, 2.0], F16), A([3.0, 4.0], F16))),
]


@pytest.mark.parametrize("fn,args", LERP, ids=range(len(LERP)))
def test_lerp_dtypes(device, fn, args):
    check(fn, args, {}, device)


FMOD = [
    (lambda L, a: L.fmod(a, 1e8), (A([-1.0, -3.0, 2.5, -0.0]),)),
    (lambda L, a: L.fmod(a, 300), (BF([-2.5, 7.0]),)),
    (lambda L, a: L.fmod(a, 3000), (A([-2.5, 7.0], F16),)),
    (lambda L, a: L.fmod(a, 1e10), (A([-3, 5], I64),)),
    (lambda L, a, b: L.fmod(a, b), (A([-3, 5], I64), A([1e10, -2.0]))),
    (lambda L, a, b: L.fmod(a, b), (A([-4.0, 4.0, -0.0, 0.0, 5.5, -5.5, INF, NAN, 3.0]),
                                    A([2.0, -2.0, 1.0, -1.0, -2.0, 2.0, 1.0, 1.0, 0.0]))),
    (lambda L, a: L.fmod(a, -INF), (A([-4.0, 4.0, -0.0, 1.0]),)),
    (lambda L, a, b: L.fmod(a, b), (A([-4.0, 4.0, -0.0, 1.0], F64), A([-1e300, 1e-300, 3.0, -0.3], F64))),
    (lambda L, a, b: L.fmod(a, b), (A([-7.5, 7.0]), A(2.0, F64))),
]


@pytest.mark.parametrize("fn,args", FMOD, ids=range(len(FMOD)))
def test_fmod_exact(device, fn, args):
    check(fn, args, {}, device)


HALF_INT = [
    (lambda L, a, b: L.remainder(a, b), (A([5, -7, -4], I64), A([2.0, 3.0, 2.0], F16))),
    (lambda L, a, b: L.remainder(a, b), (A([5, -7], I64), BF(2.0))),
    (lambda L, a, b: L.remainder(a, b), (A(2.5, F16), A([2, 3], I64))),
    (lambda L, a, b: a % b, (A([True, False], bool), BF([2.0, 3.0]))),
    (lambda L, a, b: b % a, (A([5, -7], I64), A([2.0, -3.0], F16))),
    (lambda L, a, b: L.fmod(a, b), (A([5, -7, -4], I64), A([2.0, 3.0, 2.0], F16))),
    (lambda L, a, b: L.fmod(a, b), (A([5, -7], I64), BF(2.0))),
    (lambda L, a, b: L.fmod(a, b), (A([True, False], bool), A([2.0, 3.0], F16))),
    (lambda L, a, b: L.remainder(a, b), (A(-4.0, F64), A([2.0, -2.0]))),
]


@pytest.mark.parametrize("fn,args", HALF_INT, ids=range(len(HALF_INT)))
def test_remainder_fmod_half_dtype(device, fn, args):
    check(fn, args, {}, device)


ISCLOSE = [
    ((A([0j, 1j], np.complex64), A([3j, 1j], np.complex64)), {}),
    ((A([0j, 1j, complex(NAN, 0), complex(1, NAN), complex(INF, 0), complex(INF, 1), 1 + 1j], np.complex64),
      A([3j, 1j + 1e-7, complex(NAN, 0), complex(NAN, 2), complex(INF, 0), complex(INF, 0), 1 + 1.001j],
        np.complex64)), {"equal_nan": True}),
    ((A([0j, complex(NAN, 0), complex(1, NAN)], np.complex64), A([3j, complex(NAN, 0), complex(NAN, 2)],
                                                                 np.complex64)), {}),
    ((A([1 + 1j, 1 + 1j], np.complex128), A([1 + 1.001j, 1.01 + 1j], np.complex128)), {"rtol": 0.005}),
]


@pytest.mark.parametrize("args,kwargs", ISCLOSE, ids=range(len(ISCLOSE)))
def test_isclose_complex(device, args, kwargs):
    if device != "cpu":
        pytest.skip("no complex on this device")
    check(lambda L, a, b, **kw: L.isclose(a, b, **kw), args, kwargs, device)
    check(lambda L, a, b, **kw: L.allclose(a, b, **kw), args, kwargs, device)


ROUND = [
    (A([1000.5, 65504.0, 1.2345, -2.55], F16), 1),
    (BF([1000.5, 65504.0, 1.2345, -2.55]), 2),
    (A([250.0, 350.0, 65504.0, 1234.0], F16), -2),
    (A([250.0, 350.0, 1e30, 1234.5678, 0.125]), -2),
    (A([250.0, 350.0, 1e30, 1234.5678, 0.125]), 2),
    (A([250.0, 350.0, 1e30, 1234.5678, 0.125], F64), -1),
    (A([1.5, 0.0]), 40),
    (A([1.5, 0.0]), 400),
]


@pytest.mark.parametrize("x,decimals", ROUND, ids=range(len(ROUND)))
def test_round_decimals(device, x, decimals):
    check(lambda L, t: L.round(t, decimals=decimals), (x,), {}, device)


@pytest.mark.parametrize("dtype", [F64, F32, F16])
def test_angle_real(device, dtype):
    check(lambda L, t: L.angle(t), (A([-1.0, 0.0, -0.0, 2.0, NAN, -INF], dtype),), {}, device)
    check(lambda L, t: L.angle(t).double() - math.pi, (A([-1.0, -3.0], dtype),), {}, device)


STD = [
    (lambda L, x: L.std(x), A([1e20, -1e20, 0.0])),
    (lambda L, x: L.std_mean(x), A([1e20, -1e20, 0.0])),
    (lambda L, x: L.var_mean(x), A([1e20, -1e20, 0.0])),
    (lambda L, x: L.std(x, dim=1), A([[1e20, -1e20, 0.0], [1.0, 2.0, 3.0]])),
    (lambda L, x: L.std(x, dim=0), A([[1e20, -1e20, 0.0], [1.0, 2.0, 3.0]])),
    (lambda L, x: L.std(x), A([3e38, -3e38, 0.0])),
    (lambda L, x: L.std(x), A([1e-30, -1e-30, 0.0])),
    (lambda L, x: L.std(x, correction=0), A([1e20, -1e20, 0.0])),
    (lambda L, x: L.std(x), BF([1e20, -1e20, 0.0])),
    (lambda L, x: L.std(x, dim=1, keepdim=True), A(np.random.default_rng(3).standard_normal((4, 9)))),
    (lambda L, x: L.std(x, dim=1, correction=12), A(np.random.default_rng(3).standard_normal((4, 9)))),
    (lambda L, x: L.std(x), A([1e200, -1e200, 0.0], F64)),
]


@pytest.mark.parametrize("fn,x", STD, ids=range(len(STD)))
def test_std_wide(device, fn, x):
    check(fn, (x,), {}, device)


UINT = [
    (lambda L, a, e: a ** e, (A([3, 5], U8), A(-1, I64))),
    (lambda L, a, e: a ** e, (A([3, 5], U8), A(-2, I64))),
    (lambda L, a, e: a ** e, (A([3, 5], U8), A([-1, 2], I64))),
    (lambda L, a, e: a ** e, (A([3, 5], np.int8), A(-1, I64))),
    (lambda L, e: (-3) ** e, (A([1, 2, 3], U8),)),
    (lambda L, e: L.pow(300, e), (A([1, 2], U8),)),
    (lambda L, a: L.clamp(a, min=-1), (A([0, 5, 255], U8),)),
    (lambda L, a: L.clamp(a, max=-1), (A([0, 5, 255], U8),)),
    (lambda L, a: L.clamp(a, min=-1, max=300), (A([0, 5, 255], U8),)),
    (lambda L, a: L.clamp(a, min=-200), (A([0, 5, 100], np.int8),)),
    (lambda L, a: a.clamp_(-1), (A([0, 5, 255], U8),)),
    (lambda L, a: L.clamp(a, min=1.5), (A([0, 5, 255], U8),)),
]


@pytest.mark.parametrize("fn,args", UINT, ids=range(len(UINT)))
def test_uint8_negative_scalars(device, fn, args):
    check(fn, args, {}, device)


STRICT = [
    (lambda L, a: L.maximum(1, a), (A([1, 2], I64),)),
    (lambda L, a: L.logical_and(a, 1), (A([1, 0], I64),)),
    (lambda L, a: L.logical_or(a, True), (A([1, 0], I64),)),
    (lambda L, a: L.logical_xor(a, 0), (A([1, 0], I64),)),
    (lambda L, a, b: L.clamp(a, min=b, max=2.0), (A([1.0, 3.0, 0.0]), A([0.5, 0.5, 0.5]))),
    (lambda L, a: L.pow(a, 1e10), (A([1.0, 2.0], F16),)),
    (lambda L, a: a ** -1e10, (A([1.0, 2.0], F16),)),
    (lambda L, a: L.pow(a, 1e39), (BF([1.0, 2.0]),)),
    (lambda L, a: L.pow(a, 1e39), (A([1.0, 2.0]),)),
    (lambda L, a: L.pow(a, INF), (A([1.0, 2.0], F16),)),
    (lambda L, a: L.pow(a, 65504), (A([1.0, 2.0], F16),)),
    (lambda L, a: L.pow(a, 300), (A([1, 2], np.int8),)),
    (lambda L, a: L.pow(a, 128), (A([1, 2], np.int8),)),
    (lambda L, a: L.pow(a, 127), (A([1, 2], np.int8),)),
    (lambda L, a: a ** 256, (A([1, 2], U8),)),
    (lambda L, a: a ** 255, (A([1, 2], U8),)),
    (lambda L, a: a ** 2.5, (A([1, 2], np.int8),)),
    (lambda L, a: L.lt(a, 1j), (A([1.0, 2.0]),)),
    (lambda L, a: L.ge(a, 1 + 0j), (A([1.0, 2.0]),)),
    (lambda L, a: a < 1j, (A([1.0, 2.0], F64),)),
    (lambda L, a: a > 2j, (A([1, 2], I64),)),
    (lambda L, a: L.remainder(a, 1j), (A([1.0, 2.0]),)),
]


@pytest.mark.parametrize("fn,args", STRICT, ids=range(len(STRICT)))
def test_python_number_operands(device, fn, args):
    check(fn, args, {}, device)
