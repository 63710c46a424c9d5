"""A Python number converted into a tensor dtype, as PyTorch's ``c10::checked_convert`` does
(ember._scalar_convert): an unsigned dtype takes -max..-1 wrapped (uint8: -1 -> 255, -256
overflows), a signed one min..max, a float is truncated when it lies in [lowest, max] (NaN and inf
never fit), bool takes anything; an overflow is RuntimeError. Paths: ``tensor`` of numbers and
nested lists, ``full``/``new_full``/``full_like``/``scalar_tensor``, ``fill_``, ``index_fill``,
``x[i] = v`` (int, slice, mask and tensor indices), on every device. PyTorch's argument unpacking
comes first: a ``Scalar`` argument takes [-2**63, 2**64) (OverflowError outside), indexing
assignment and tensor data take int64 (ValueError outside).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import DEVICE, Arg, check  # noqa: E402

NAN, INF = math.nan, math.inf
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

LIMITS = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-(1 << 15), (1 << 15) - 1),
          "int32": (-(1 << 31), (1 << 31) - 1), "int64": (I64_MIN, I64_MAX)}


def _boundaries() -> list:
    rows = []
    for name, (lo, hi) in LIMITS.items():
        for v in (lo - 1, lo, hi, hi + 1):
            rows.append((v, name))
    rows += [(-1, "uint8"), (-255, "uint8"), (-256, "uint8"), (-127, "uint8")]
    return rows


# ---- ember.tensor of numbers and nested lists -------------------------------------------------
TENSOR_VALUES = _boundaries() + [
    ([-1], "uint8"), ([-255], "uint8"), ([-256], "uint8"), ([[-1, 2]], "uint8"), ([[-1, 2], [3, -4]], "uint8"),
    ([300], "int8"), ([[1, 300]], "int8"), ([-1.5], "uint8"), ([-0.5], "uint8"), ([255.9], "uint8"),
    ([2.7], "int32"), ([-2.7], "int32"), ([NAN], "int64"), ([INF], "int64"), ([-INF], "int32"),
    ([1e20], "int64"), ([True, -1], "uint8"), ([-1, 1.5], "uint8"), ([-1.0, 1.5], "uint8"), ([[1.5], [-3]], "uint8"),
    ([127.9, -128.9], "int8"), ([127.9, -128.5], "int8"), ([(1 << 62) + 1, 0.5], "int64"),
    ([NAN, -1, 300, 2.5], "bool"), ([1 << 63], "int64"), ([1 << 63], "uint8"), ([-1, 1 << 63], "uint8"),
    ([I64_MIN - 1], "int8"), (-1.0, "uint8"), (2.5, "int16"), (NAN, "int8"), (-1, "uint8"), (300, "int8"),
    ([], "uint8"), ([[], []], "int8"), ([1e40], "float32"), ([1 << 64], "float32"),
]


@pytest.mark.parametrize("data,dtype", TENSOR_VALUES, ids=range(len(TENSOR_VALUES)))
def test_tensor_data(device, data, dtype):
    check(lambda L, d, dt, dev: L.tensor(d, dtype=dt, device=dev), (data, f"dtype:{dtype}", DEVICE), {}, device)


NUMPY_DATA = [(np.int64(-1), "uint8"), ([np.int64(-1)], "uint8"), ([np.int64(300)], "int8"),
              ([np.float64(NAN)], "int8"), ([np.int32(-1), np.int32(2)], "uint8")]


@pytest.mark.parametrize("data,dtype", NUMPY_DATA, ids=range(len(NUMPY_DATA)))
def test_tensor_numpy_scalars(device, data, dtype):
    check(lambda L, d, dt, dev: L.tensor(d, dtype=dt, device=dev), (data, f"dtype:{dtype}", DEVICE), {}, device)


def test_tensor_numpy_array_wraps(device):
    """An array is cast, not checked (PyTorch wraps it as ``astype`` does)."""
    check(lambda L, a, dev: L.tensor(a, dtype=L.uint8, device=dev), (np.array([-1, 300]), DEVICE), {}, device)
    check(lambda L, a, dev: L.tensor(a, dtype=L.int8, device=dev), (np.array([300]), DEVICE), {}, device)


def test_as_tensor_and_new_tensor(device):
    check(lambda L, dev: L.as_tensor([-1, 2], dtype=L.uint8, device=dev), (DEVICE,), {}, device)
    check(lambda L, dev: L.as_tensor([300], dtype=L.int8, device=dev), (DEVICE,), {}, device)
    check(lambda L, x: x.new_tensor([-1, 2]), (Arg(np.zeros(2, np.uint8)),), {}, device)
    check(lambda L, x: x.new_tensor([300]), (Arg(np.zeros(2, np.int8)),), {}, device)


# ---- Scalar arguments: full / new_full / full_like / scalar_tensor / fill_ / index_fill ----------
SCALAR_VALUES = _boundaries() + [
    (-1.5, "uint8"), (-0.5, "uint8"), (2.7, "int32"), (-2.7, "int32"), (2.0 ** 31, "int32"), (2.0 ** 31 - 0.5, "int32"),
    (-128.9, "int8"), (-1.5, "int8"), (NAN, "int64"), (NAN, "int32"), (INF, "int8"), (-INF, "uint8"),
    (1 << 63, "int64"), ((1 << 64) - 1, "int64"), ((1 << 64) - 1, "uint8"), (1 << 64, "int64"),
    (I64_MIN - 1, "int64"), (I64_MIN - 1, "uint8"), (True, "uint8"), (300, "bool"), (NAN, "bool"),
    (1 << 63, "bool"), (I64_MIN - 1, "bool"), (1 + 0j, "int32"), (1 + 1j, "int32"), (1 + 1j, "float32"),
    (1e300, "float32"), (1e39, "float32"), (70000, "float16"), (1e6, "float16"), (1e39, "bfloat16"),
    (1e6, "bfloat16"), (INF, "float16"), (NAN, "float32"), (1e300, "float64"), (1 << 63, "float32"),
    (1 << 64, "float32"), (1e300 + 0j, "complex64"), (1.5, "complex64"),
]


def _full(L, v, dt, dev):
    return L.full((2,), v, dtype=dt, device=dev)


def _new_full(L, v, dt, dev):
    return L.zeros(1, dtype=dt, device=dev).new_full((2,), v)


def _full_like(L, v, dt, dev):
    return L.full_like(L.zeros(2, dtype=dt, device=dev), v)


def _fill(L, v, dt, dev):
    return L.zeros(3, dtype=dt, device=dev).fill_(v)


def _index_fill(L, v, dt, dev):
    return L.zeros(3, dtype=dt, device=dev).index_fill(0, L.tensor([0, 2], device=dev), v)


def _index_fill_(L, v, dt, dev):
    return L.zeros(3, dtype=dt, device=dev).index_fill_(0, L.tensor([2], device=dev), v)


SCALAR_OPS = {"full": _full, "new_full": _new_full, "full_like": _full_like, "fill_": _fill,
              "index_fill": _index_fill, "index_fill_": _index_fill_}


@pytest.mark.parametrize("op", list(SCALAR_OPS))
@pytest.mark.parametrize("value,dtype", SCALAR_VALUES, ids=range(len(SCALAR_VALUES)))
def test_scalar_argument(device, op, value, dtype):
    if dtype.startswith("complex") and device != "cpu":
        pytest.skip("complex dtypes are the cpu backend's")
    check(lambda L, v, dt, dev: SCALAR_OPS[op](L, v, dt, dev), (value, f"dtype:{dtype}", DEVICE), {}, device)


def test_full_infers_int64(device):
    for v in (I64_MAX, I64_MIN, 1 << 63, (1 << 64) - 1, 1 << 64, I64_MIN - 1):
        check(lambda L, v, dev: L.full((1,), v, device=dev), (v, DEVICE), {}, device)


def test_scalar_tensor(device):
    for v in (-1, 300, 2.5, 1 + 1j, True, 1 << 63):
        check(lambda L, v, dev: L.scalar_tensor(v, device=dev), (v, DEVICE), {}, device)


def test_fill_with_a_0d_tensor_casts(device):
    """A 0-d value tensor is cast (wrapped), not checked, by fill_; index_fill checks its number."""
    check(lambda L, x, v: x.fill_(v), (Arg(np.zeros(2, np.int8)), Arg(np.array(300))), {}, device)
    check(lambda L, x, v: x.fill_(v), (Arg(np.zeros(2, np.int8)), Arg(np.array(-3.5), grad=False)), {}, device)
    check(lambda L, x, i, v: x.index_fill(0, i, v),
          (Arg(np.zeros(2, np.int8)), Arg(np.array([0])), Arg(np.array(300))), {}, device)


def test_fill_numpy_scalars(device):
    for v, dt in ((np.int64(-1), "uint8"), (np.int64(300), "int8"), (np.float64(300), "int8")):
        check(lambda L, v, dt, dev: L.zeros(2, dtype=dt, device=dev).fill_(v), (v, f"dtype:{dt}", DEVICE), {}, device)


# ---- x[index] = v -------------------------------------------------------------------------------
SETITEM_VALUES = [
    (-1, "uint8"), (-255, "uint8"), (-256, "uint8"), (255, "uint8"), (256, "uint8"), (300, "int8"), (-129, "int8"),
    (40000, "int16"), (1 << 40, "int32"), (NAN, "int64"), (INF, "int32"), (-1.5, "int8"), (-1.5, "uint8"),
    (2.7, "uint8"), (1 << 63, "int64"), (I64_MIN - 1, "int64"), ((1 << 64) - 1, "uint8"), (I64_MAX, "int64"),
    (I64_MIN, "int64"), (True, "uint8"), (NAN, "bool"), (1 << 63, "bool"), (1 + 1j, "int32"), (1 + 0j, "int32"),
    (1e39, "float32"), (1e6, "float16"), (1e39, "bfloat16"), (1 << 63, "float32"), (7, "complex64"),
    (1.5, "complex64"), (np.int64(300), "int8"), (np.int64(-1), "uint8"), (np.float64(1e10), "int8"),
]


def _set(t, index, v):
    t[index] = v
    return t


SETITEM_INDEX = {
    "int": lambda L, t: 0,
    "slice": lambda L, t: slice(1, None),
    "mask": lambda L, t: t == 0,
    "tensor": lambda L, t: L.tensor([0, 2], device=t.device),
}


@pytest.mark.parametrize("where", list(SETITEM_INDEX))
@pytest.mark.parametrize("value,dtype", SETITEM_VALUES, ids=range(len(SETITEM_VALUES)))
def test_setitem(device, where, value, dtype):
    if dtype.startswith("complex") and device != "cpu":
        pytest.skip("complex dtypes are the cpu backend's")

    def fn(L, v, dt, dev):
        t = L.zeros(3, dtype=dt, device=dev)
        return _set(t, SETITEM_INDEX[where](L, t), v)

    check(fn, (value, f"dtype:{dtype}", DEVICE), {}, device)


def test_setitem_0d_tensor_casts(device):
    check(lambda L, x, v: _set(x, 0, v), (Arg(np.zeros(2, np.int8)), Arg(np.array(300))), {}, device)


def test_setitem_grad_path(device):
    """The differentiable write (x requires grad) checks the number the same way."""
    for v in (1e39, 2.5, NAN):
        check(lambda L, x, v: _set(x * 1, 0, v), (Arg(np.zeros(2, np.float32)), v), {}, device)


# ---- what already agreed: unchecked (wrapping) scalar operands ----------------------------------
def test_binary_operands_wrap(device):
    """Binary ops cast a Python number into the result dtype with wrap-around, no check."""
    check(lambda L, x: x + (-1), (Arg(np.array([1, 2], np.uint8)),), {}, device)
    check(lambda L, x: x + 300, (Arg(np.array([1, 2], np.uint8)),), {}, device)
    check(lambda L, x: x * 1000, (Arg(np.array([1, 2], np.int8)),), {}, device)
    check(lambda L, x: x + (1 << 40), (Arg(np.array([1, 2], np.int32)),), {}, device)
    check(lambda L, x: x.masked_fill(x > 1, -1), (Arg(np.array([1, 2, 3], np.uint8)),), {}, device)


@pytest.mark.parametrize("value", [1 << 64, I64_MIN - 1])
def test_int_beyond_uint64_overflows(device, value):
    """Beyond [-2**63, 2**64) a Scalar argument is OverflowError before any dtype rule."""
    for fn in (lambda x, v: x + v, lambda x, v: x * v, lambda x, v: x - v, lambda x, v: v - x,
               lambda x, v: x.masked_fill(x > 1, v)):
        check(lambda L, x, v, fn=fn: fn(x, v), (Arg(np.array([1, 2], np.int64)), value), {}, device)


# ---- masked_fill and binary operands (core/ember/functions/elementwise.py) ----------------------
@pytest.mark.parametrize("value,dtype", [(300, "int8"), (NAN, "int32"), (1 << 63, "int64"), (1e39, "float32")])
def test_masked_fill_checked(device, value, dtype):
    check(lambda L, v, dt, dev: L.zeros(3, dtype=dt, device=dev).masked_fill(
        L.tensor([True, False, True], device=dev), v), (value, f"dtype:{dtype}", DEVICE), {}, device)


@pytest.mark.parametrize("value", [1 << 63, (1 << 64) - 1])
@pytest.mark.parametrize("op", ["add", "mul", "sub", "rsub"])
def test_int64_operand_beyond_int64(device, op, value):
    fns = {"add": lambda x, v: x + v, "mul": lambda x, v: x * v, "sub": lambda x, v: x - v, "rsub": lambda x, v: v - x}
    check(lambda L, x, v: fns[op](x, v), (Arg(np.array([1, 2], np.int64)), value), {}, device)


@pytest.mark.parametrize("value", [1 << 63, 1 << 64])
def test_float_tensor_with_an_int_past_int64(device, value):
    """A float tensor takes 2**63 as a number; 2**64 is past uint64: OverflowError, as PyTorch."""
    check(lambda L, x, v: x + v, (Arg(np.array([1.0, 2.0], np.float32)), value), {}, device)
