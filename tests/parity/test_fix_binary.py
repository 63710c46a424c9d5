"""Issue #14 section 3: binary pointwise ops and their edge cases, where the parity table cannot say it.

The shift operators in their augmented and in-place forms, ``out=`` (and its dtype checks), the sign
of zero results (remainder, fmod, copysign, pow), integer zero divisors, ``INT_MIN % -1``,
``float_power_``'s dtype rule and the gradients of ``x ** y`` at a base <= 0. Every case runs on real
PyTorch and on ember (every device) and compares values, dtypes, exception types and gradients.
"""

from __future__ import annotations

import math

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

NAN, INF = math.nan, math.inf
I64_MIN = -(2**63)


def A(values, dtype=np.float32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def I(values, dtype=np.int64) -> Arg:  # noqa: E743
    return Arg(np.array(values, dtype=dtype))


# ---- shifts: operators, augmented assignment, in-place and out= --------------------------------
SHIFT_DTYPES = [np.int8, np.uint8, np.int16, np.int32, np.int64]


@pytest.mark.parametrize("dtype", SHIFT_DTYPES, ids=lambda d: np.dtype(d).name)
def test_shift_augmented_assignment(device, dtype):
    def fn(lib, a, b):
        x, y = a.clone(), a.clone()
        x <<= b
        y >>= b
        z = a.clone()
        z <<= 3
        z >>= 1
        return x, y, z

    a = I([1, -3, 100, 7, 127, -128, 5], dtype) if np.dtype(dtype).kind == "i" else I([1, 3, 100, 7, 255, 128, 5], dtype)
    check(fn, [a, I([0, 1, 2, 7, 8, 70, 200], dtype if dtype is not np.int8 else np.int64)], {}, device)


@pytest.mark.parametrize("name", ["bitwise_left_shift", "bitwise_right_shift"])
def test_shift_inplace_and_out(device, name):
    def fn(lib, a, b):
        x = a.clone()
        getattr(x, name + "_")(b)
        out = lib.empty(3, dtype=lib.int64, device=a.device)
        res = getattr(lib, name)(a, b, out=out)
        return x, out, res is out

    check(fn, [I([5, -5, 9]), I([1, 63, -1])], {}, device)


def test_shift_out_of_a_lower_kind_is_refused(device):
    check(lambda L, a: L.bitwise_left_shift(a, 1, out=L.empty(3, dtype=L.bool, device=a.device)), [I([1, 2, 3])], {}, device)


def test_shift_wraps_int64(device):
    check(lambda L, a: (a << 62, a << 63, a << 64, a >> 63, a >> 64, a >> -1), [I([1, 3, -1, I64_MIN, 2**62])], {}, device)


def test_shift_inplace_of_an_int8_by_int64_counts(device):
    def fn(lib, a, b):
        x = a.clone()
        x <<= b  # int64 result written back into int8 (same kind: allowed)
        return x

    check(fn, [I([1, 2, 3], np.int8), I([1, 7, 9])], {}, device)


def test_shift_refuses_floats_and_bools_in_place(device):
    def fn(lib, a):
        x = a.clone()
        x <<= 1
        return x

    check(fn, [A([1.0, 2.0], grad=False)], {}, device)
    check(fn, [I([True, False], np.bool_)], {}, device)


# ---- bitwise ops: in-place, out=, operators ----------------------------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.int32, np.int64, np.bool_],
                         ids=lambda d: np.dtype(d).name)
def test_bitwise_inplace_out_and_operators(device, dtype):
    def fn(lib, a, b):
        x, y, z = a.clone(), a.clone(), a.clone()
        x &= b
        y |= b
        z ^= b
        w = a.clone().bitwise_and_(b).bitwise_or_(b).bitwise_xor_(b).bitwise_not_()
        out = lib.empty(a.shape, dtype=a.dtype, device=a.device)
        lib.bitwise_xor(a, b, out=out)
        out_not = lib.empty(a.shape, dtype=a.dtype, device=a.device)
        lib.bitwise_not(a, out=out_not)
        return x, y, z, w, out, out_not, ~a, a & b, a | b, a ^ b

    rng = np.random.default_rng(3)
    if dtype is np.bool_:
        a, b = rng.random(6) < 0.5, rng.random(6) < 0.5
    else:
        info = np.iinfo(dtype)
        a = rng.integers(info.min, info.max, 6, endpoint=True).astype(dtype)
        b = rng.integers(info.min, info.max, 6, endpoint=True).astype(dtype)
    check(fn, [Arg(a), Arg(b)], {}, device)


def test_bool_tensor_with_int_operand_promotes(device):
    check(lambda L, m, i: (m & i, m | 2, m ^ True, True & m, 3 | m), [I([True, False, True], np.bool_), I([3, 2, 1])],
          {}, device)


def test_bitwise_inplace_bool_by_int_is_refused(device):
    def fn(lib, m):
        x = m.clone()
        x &= 3  # the result is int64: it cannot be written into a bool tensor
        return x

    check(fn, [I([True, False], np.bool_)], {}, device)


# ---- integer zero divisors and INT_MIN % -1 ----------------------------------------------------
@pytest.mark.parametrize("expr", [
    lambda L, a, b: L.remainder(a, b), lambda L, a, b: L.fmod(a, b), lambda L, a, b: a % b,
    lambda L, a, b: L.fmod(a, 0), lambda L, a, b: a % 0, lambda L, a, b: 5 % b,
    lambda L, a, b: L.remainder(a[:0], b[:0]),
], ids=["remainder", "fmod", "mod", "fmod_number", "mod_number", "rmod", "empty"])
def test_integer_zero_divisor(device, expr):
    check(expr, [I([7, -7, 3]), I([2, 0, -3])], {}, device)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64], ids=lambda d: np.dtype(d).name)
def test_int_min_remainder_minus_one(device, dtype):
    lo = np.iinfo(dtype).min
    check(lambda L, a, b: (L.remainder(a, b), L.fmod(a, b), a % -1, L.fmod(a, -1), a // b),
          [I([lo, lo, lo + 1, -7], dtype), I([-1, 3, -1, -1], dtype)], {}, device)


def test_float_zero_divisor_is_nan(device):
    check(lambda L, a, b: (L.remainder(a, b), L.fmod(a, b), a % 0.0, L.fmod(a, 0.0)),
          [A([1.0, -1.0, 0.0, INF], grad=False), A([0.0, -0.0, 0.0, 0.0], grad=False)], {}, device)


# ---- signs of zero results (compared through signbit, which value comparison cannot see) --------
def _signs(lib, t):
    return lib.signbit(t) if hasattr(lib, "signbit") else t


def _sign_bits(fn, device, *arrays):
    """The sign bits of fn's float results on both frameworks, compared bit for bit."""
    t_res = fn(torch, *(torch.from_numpy(a.copy()) for a in arrays))
    e_res = fn(ember, *(ember.tensor(a.copy(), device=device) for a in arrays))
    for t, e in zip(t_res, e_res):
        assert t.dtype.is_floating_point
        t_bits = np.signbit(t.detach().numpy())
        e_bits = np.signbit(e.detach().cpu().numpy())
        np.testing.assert_array_equal(e_bits, t_bits)
        np.testing.assert_allclose(e.detach().cpu().numpy(), t.detach().numpy(), equal_nan=True, rtol=1e-6)


def test_remainder_and_fmod_zero_sign(device):
    a = np.array([-4.0, 4.0, -0.0, 0.0, -3.0, 3.0, -7.5, 7.5], np.float32)
    b = np.array([2.0, -2.0, 2.0, -2.0, -3.0, 3.0, 2.5, -2.5], np.float32)
    _sign_bits(lambda L, x, y: (L.remainder(x, y), L.fmod(x, y), x % 2.0, x % -2.0, L.fmod(x, 1.5), -6.0 % y),
               device, a, b)


def test_copysign_sign_bits(device):
    a = np.array([1.0, 2.0, -3.0, 0.0, -0.0, NAN, INF, 5.0], np.float32)
    b = np.array([-0.0, 0.0, NAN, -1.0, 1.0, -1.0, -0.0, -NAN], np.float32)
    _sign_bits(lambda L, x, y: (L.copysign(x, y), L.copysign(x, -0.0), L.copysign(x, 0.0), L.copysign(y, -2)),
               device, a, b)


def test_copysign_of_integers_and_bool_signs(device):
    check(lambda L, x, y: (L.copysign(x, y), L.copysign(x.to(L.float64), y), L.copysign(y, x)),
          [I([1, -2, 3, 0]), I([True, False, True, False], np.bool_)], {}, device)


def test_pow_half_keeps_the_sign_of_zero(device):
    x = np.array([-0.0, 0.0, 4.0, INF], np.float32)
    _sign_bits(lambda L, t: (t ** 0.5, t ** -0.5, L.pow(t, 0.5), L.sqrt(t)), device, x)


# ---- pow: gradients at a base <= 0, integer bases with float exponents --------------------------
POW_BASES = [0.0, -0.0, -2.0, -1.0, 2.0]
POW_EXPS = [0.0, 1.0, -1.0, 2.0, 0.5, -0.5, 3.0, 2.5]


@pytest.mark.parametrize("base", POW_BASES)
def test_pow_gradient_number_base(device, base):
    check(lambda L, e: base ** e, [A(POW_EXPS, np.float64)], {}, device)


@pytest.mark.parametrize("exponent", POW_EXPS)
def test_pow_gradient_tensor_base_number_exponent(device, exponent):
    check(lambda L, x: x ** exponent, [A(POW_BASES, np.float64)], {}, device)


def test_pow_gradient_both_tensors(device):
    base = [b for b in POW_BASES for _ in POW_EXPS]
    exps = [e for _ in POW_BASES for e in POW_EXPS]
    check(lambda L, x, e: L.pow(x, e), [A(base, np.float64), A(exps, np.float64)], {}, device)


@pytest.mark.parametrize("expr", [
    lambda L, a: L.pow(a, -1.0), lambda L, a: a ** -1.0, lambda L, a: a[0] ** -1.0, lambda L, a: a ** -1,
    lambda L, a: a[0] ** -2, lambda L, a: L.pow(a, -1.0, out=L.empty(3, dtype=L.int64, device=a.device)),
    lambda L, a: a.clone().pow_(-1.0), lambda L, a: a.clone().pow_(2), lambda L, a: L.pow(a, -0.5),
    lambda L, a: L.pow(a, -1.0, out=L.empty(3, device=a.device)),
], ids=["fn", "op", "zerod", "neg_int", "zerod_neg_int", "out_int", "inplace_float", "inplace_int", "neg_half", "out"])
def test_int_tensor_with_negative_exponent(device, expr):
    check(expr, [I([1, 2, -4])], {}, device)


# ---- float_power, heaviside, out= dtype rules ----------------------------------------------------
@pytest.mark.parametrize("expr", [
    lambda L, x: x.clone().float_power_(2), lambda L, x: x.double().float_power_(0.5),
    lambda L, x: L.float_power(x, 2, out=L.empty(3, device=x.device)), lambda L, x: L.float_power(x, 2, out=L.empty(3, dtype=L.float64, device=x.device)),
    lambda L, x: L.float_power(2, x), lambda L, x: x.float_power(x.double()),
], ids=["inplace_f32", "inplace_f64", "out_f32", "out_f64", "number_base", "method"])
def test_float_power(device, expr):
    check(expr, [A([1.0, -2.0, 0.5])], {}, device)


@pytest.mark.parametrize("expr", [
    lambda L, x, y: L.hypot(x, y, out=L.empty(3, dtype=L.int64, device=x.device)), lambda L, x, y: x.clone().hypot_(y),
    lambda L, x, y: x.clone().copysign_(y), lambda L, x, y: x.clone().atan2_(y), lambda L, x, y: x.clone().arctan2_(y),
    lambda L, x, y: x.clone().fmod_(y), lambda L, x, y: x.clone().heaviside_(y), lambda L, x, y: x.clone().nextafter_(y),
    lambda L, x, y: L.atan2(x, y, out=L.empty(3, device=x.device)), lambda L, x, y: L.fmod(x, y, out=L.empty(3, device=x.device)),
    lambda L, x, y: L.logaddexp(x, y, out=L.empty(3, device=x.device)), lambda L, x, y: L.fmax(x, y, out=L.empty(3, device=x.device)),
    lambda L, x, y: L.copysign(x, y, out=L.empty(3, device=x.device)), lambda L, x, y: L.nextafter(x, y, out=L.empty(3, device=x.device)),
], ids=["out_int", "hypot_", "copysign_", "atan2_", "arctan2_", "fmod_", "heaviside_", "nextafter_", "atan2_out",
        "fmod_out", "logaddexp_out", "fmax_out", "copysign_out", "nextafter_out"])
def test_inplace_and_out_forms(device, expr):
    check(expr, [A([1.0, -2.0, 0.0], grad=False), A([3.0, 0.0, -1.0], grad=False)], {}, device)


@pytest.mark.parametrize("expr", [
    lambda L, a, b: a.clone().copysign_(b), lambda L, a, b: a.clone().atan2_(b), lambda L, a, b: a.clone().gcd_(b),
    lambda L, a, b: a.clone().lcm_(b), lambda L, a, b: L.gcd(a, b, out=L.empty(3, dtype=L.int64, device=a.device)),
    lambda L, a, b: L.atan2(a, b, out=L.empty(3, dtype=L.int64, device=a.device)),
], ids=["copysign_", "atan2_", "gcd_", "lcm_", "gcd_out", "atan2_out_int"])
def test_integer_inplace_forms(device, expr):
    check(expr, [I([12, -4, 0]), I([18, 6, 5])], {}, device)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2", "hypot", "fmax", "fmin", "nextafter", "atan2"])
def test_number_operands_are_refused(device, name):
    check(lambda L, x: getattr(L, name)(x, 2.0), [A([1.0, 2.0])], {}, device)
    check(lambda L, x: getattr(L, name)(2.0, x), [A([1.0, 2.0])], {}, device)
    check(lambda L, x: getattr(x, name)(2.0), [A([1.0, 2.0])], {}, device)


def test_fmod_number_dividend_is_refused(device):
    check(lambda L, x: L.fmod(2.0, x), [A([1.0, 2.0])], {}, device)


def test_heaviside_backward_is_not_implemented(device):
    check(lambda L, x, v: L.heaviside(x, v), [A([-1.0, 0.0, 2.0]), A([0.5])], {}, device)
