"""Binary pointwise ops beyond the arithmetic core: logaddexp, logaddexp2, copysign, hypot, float_power,
heaviside, fmax, fmin, gcd, lcm, nextafter and the bit shifts (issue #14 section 3).

Every op here is a composite of required kernels, so it runs on every backend, on the device, with
PyTorch's promotion, errors, ``out=`` and in-place forms checked once in this frontend.

Example:
    >>> import ember
    >>> ember.logaddexp(ember.tensor([0.0, 1.0]), ember.tensor([0.0, -1.0]))
    tensor([0.6931, 1.1269])
    >>> ember.tensor([1, -8]) << 2
    tensor([  4, -32])
"""

from __future__ import annotations

import math
from typing import Any

from ember import dtypes as _dt
from ember._ops.registry import Family
from ember.autograd.function import Function
from ember.functions.complex_ops import refuse_complex
from ember.functions.elementwise import (
    _CAN_CAST_NAMES,
    _check_broadcast,
    _device_error,
    _grad_meta,
    _meta,
    _operand_scalar,
    _out,
    abs,
    assign_inplace,
    exp,
    in_opmath,
    isinf,
    isnan,
    log1p,
    maximum,
    minimum,
    pow,
    sqrt,
    where,
)
from ember.tensor import Tensor

_Number = (int, float, bool)
_LN2 = math.log(2.0)


# ---- shared checks -------------------------------------------------------------------------------
def _dtype_name(dt: _dt.dtype) -> str:
    return _CAN_CAST_NAMES.get(dt, str(dt))


def _tensor_only(name: str, input: Any, other: Any, other_name: str = "other") -> None:
    """PyTorch's TypeError for the ops whose schema takes two tensors (no Python number)."""
    for arg, pos, label in ((input, 1, "input"), (other, 2, other_name)):
        if not isinstance(arg, Tensor):
            raise TypeError(f"{name}(): argument '{label}' (position {pos}) must be Tensor, not {type(arg).__name__}")


def _first_tensor(name: str, input: Any, other: Any) -> Tensor:
    """The tensor that gives the result its device (one of the two operands must be a tensor)."""
    if isinstance(input, Tensor):
        return input
    if isinstance(other, Tensor):
        return other
    raise TypeError(f"{name}() received an invalid combination of arguments - got "
                    f"({type(input).__name__}, {type(other).__name__})")


def _not_implemented(kernel: str, proto: Tensor, dt: _dt.dtype) -> NotImplementedError:
    """PyTorch's error for a dtype its kernel has no instance for (``"hypot_cpu" not implemented for 'Long'``)."""
    return NotImplementedError(f'"{kernel}_{proto._device.type}" not implemented for \'{_dtype_name(dt)}\'')


def _float_dtype(kernel: str, a: Any, b: Any) -> _dt.dtype:
    """The common floating dtype of an op that PyTorch defines for floating dtypes only."""
    dt = _dt.result_type(a, b)
    if not dt.is_floating_point:
        raise _not_implemented(kernel, _first_tensor(kernel, a, b), dt)
    return dt


def _int_dtype(kernel: str, a: Any, b: Any) -> _dt.dtype:
    """The common integer dtype of an op that PyTorch defines for integers only (bool excluded)."""
    dt = _dt.result_type(a, b)
    if dt.is_floating_point or dt.is_complex or dt is _dt.bool_:
        raise _not_implemented(kernel, _first_tensor(kernel, a, b), dt)
    return dt


def _as(x: Any, dt: _dt.dtype) -> Any:
    """``x`` in dtype ``dt`` (a tensor cast if needed; a Python number as a number of that kind)."""
    if isinstance(x, Tensor):
        return x if x._dtype is dt else x.to(dt)
    return float(x) if dt.is_floating_point else _operand_scalar(x, dt)


def _as_tensor(x: Any, dt: _dt.dtype, proto: Tensor) -> Tensor:
    """``x`` as a tensor of ``dt`` on ``proto``'s device (a Python number becomes a 0-d tensor)."""
    if isinstance(x, Tensor):
        return _as(x, dt)
    return proto._new(proto._kt["full"]((), _as(x, dt), dt, proto._device.index), dt)


def _zeros_meta(meta: Any, g: Tensor) -> Tensor | None:
    if meta is None:
        return None
    from ember.functions.creation import zeros

    return zeros(meta[0], dtype=meta[1], device=g.device)


# ---- logaddexp, logaddexp2 -------------------------------------------------------------------------
class Logaddexp(Function):
    """``log(exp(a) + exp(b))`` as ``max + log1p(exp(-|a - b|))`` (no overflow); PyTorch's gradients
    ``g / (1 + exp(b - a))`` and ``g / (1 + exp(a - b))``."""

    _backward_name = "LogaddexpBackward0"
    _base2 = False

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        dt = _float_dtype("logaddexp2" if cls._base2 else "logaddexp", a, b)
        a, b = _as(a, dt), _as(b, dt)
        ctx.save_for_backward(a, b)
        d = -abs(a - b)
        tail = log1p(pow(2.0, d)) * (1 / _LN2) if cls._base2 else log1p(exp(d))
        # both infinite with one sign: inf - inf would make the tail NaN, the answer is that infinity
        return where(isinf(a) & (a == b), a, maximum(a, b) + tail)

    @classmethod
    def backward(cls, ctx, g):
        a, b = ctx.saved_tensors
        if cls._base2:
            ga, gb = g / (1 + pow(2.0, b - a)), g / (1 + pow(2.0, a - b))
        else:
            ga, gb = g / (1 + exp(b - a)), g / (1 + exp(a - b))
        return _grad_meta(ctx.a, ga), _grad_meta(ctx.b, gb)


class Logaddexp2(Logaddexp):
    _backward_name = "Logaddexp2Backward0"
    _base2 = True


@in_opmath  # (PyTorch's 16-bit logaddexp{,2} kernels compute in float32, rounded once)
def logaddexp(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log(exp(input) + exp(other))``, elementwise, without overflow.

    Example:
        >>> import ember
        >>> ember.logaddexp(ember.tensor([-100.0, 1000.0]), ember.tensor([-100.0, 1000.0]))
        tensor([ -99.3069, 1000.6932])
    """
    _tensor_only("logaddexp", input, other)
    if input._dtype.is_complex or other._dtype.is_complex:
        return _out(_complex_logaddexp(input, other), out)
    return _out(Logaddexp.apply(input, other), out)


def _complex_logaddexp(a: Tensor, b: Tensor) -> Tensor:
    """PyTorch's complex logaddexp: ``max + log1p(exp(min - max))`` with min/max by real part; NaN if
    the min is NaN; where both real parts are the same infinity, the min (-inf) or
    ``log(exp(min) + exp(max))`` (+inf). Composite, so autograd gives PyTorch's conjugate gradients."""
    from ember.functions.complex_ops import imag, real
    from ember.functions.creation import full_like
    from ember.functions.elementwise import isfinite, log
    from ember.functions.special import complex_where as cwhere

    dt = _dt.result_type(a, b)
    a, b = _as(a, dt), _as(b, dt)
    a, b = a.expand(tuple(_dt_broadcast(a, b))), b.expand(tuple(_dt_broadcast(a, b)))
    b_max = real(b) > real(a)  # (equal real parts: a is the max, as in PyTorch)
    mn, mx = cwhere(b_max, a, b), cwhere(b_max, b, a)
    rmn, rmx = real(mn), real(mx)
    nan = isnan(rmn) | isnan(imag(mn))
    same_inf = ~isfinite(rmn) & (rmn == rmx) & ~nan
    zero = full_like(mn, 0.0)
    # each branch computes on inputs made harmless where it is not taken (no NaN in its gradient)
    f_mn, f_mx = cwhere(same_inf | nan, zero, mn), cwhere(same_inf | nan, zero, mx)
    finite = log1p(exp(f_mn - f_mx)) + f_mx
    i_mn, i_mx = cwhere(same_inf, mn, zero), cwhere(same_inf, mx, zero)
    infinite = cwhere(rmn < 0, i_mn, log(exp(i_mn) + exp(i_mx)))
    out = cwhere(same_inf, infinite, finite)
    # PyTorch's complex exp has no C99 special cases: a NaN part in the max makes the sum NaN too
    # (but for two -inf real parts, where the min is returned as it is)
    nan = nan | (~(same_inf & (rmn < 0)) & (isnan(rmx) | isnan(imag(mx))))
    return cwhere(nan, full_like(out, complex(math.nan, math.nan)), out)


@in_opmath
def logaddexp2(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``log2(2**input + 2**other)``, elementwise, without overflow.

    Example:
        >>> import ember
        >>> ember.logaddexp2(ember.tensor([1.0, 3.0]), ember.tensor([1.0, 3.0]))
        tensor([2., 4.])
    """
    _tensor_only("logaddexp2", input, other)
    return _out(Logaddexp2.apply(input, other), out)


# ---- hypot -------------------------------------------------------------------------------------------
class Hypot(Function):
    """``sqrt(a**2 + b**2)`` scaled by ``max(|a|, |b|)`` so squares cannot overflow; infinite if either
    operand is (even with a NaN beside it), like C's ``hypot``. Gradients ``g * a / out``, ``g * b / out``."""

    _backward_name = "HypotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        dt = _float_dtype("hypot", a, b)
        a, b = _as(a, dt), _as(b, dt)
        big, small = maximum(abs(a), abs(b)), minimum(abs(a), abs(b))
        q = small / where(big == 0, 1.0, big)
        out = where(isinf(a) | isinf(b), math.inf, big * sqrt(1 + q * q))
        ctx.save_for_backward(a, b, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, b, out = ctx.saved_tensors
        return _grad_meta(ctx.a, g * a / out), _grad_meta(ctx.b, g * b / out)


@in_opmath  # (a composite: in 16-bit dtypes computed in float32 and rounded once, as PyTorch's kernel)
def hypot(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """``sqrt(input**2 + other**2)``, elementwise, without intermediate overflow.

    Example:
        >>> import ember
        >>> ember.hypot(ember.tensor([3.0, 1e30]), ember.tensor([4.0, 1e30]))
        tensor([5.0000e+00, 1.4142e+30])
    """
    _tensor_only("hypot", input, other)
    return _out(Hypot.apply(input, other), out)


# ---- copysign ----------------------------------------------------------------------------------------
_BITS_OF = {_dt.float16: _dt.int16, _dt.bfloat16: _dt.int16, _dt.float32: _dt.int32, _dt.float64: _dt.int64}


def _sign_bit(b: Any) -> Any:
    """Where ``b``'s sign bit is set: -0.0 and a negative NaN count, which no comparison can see, so a
    floating tensor is read through an integer view of its bits."""
    if isinstance(b, Tensor):
        if b._dtype.is_floating_point:
            return b.view(_BITS_OF[b._dtype]) < 0
        return b < 0
    return math.copysign(1.0, b) < 0


class Copysign(Function):
    """``|a|`` with the sign of ``b``; gradient ``g * out / a`` (0 where a == 0) for ``a``, zero for ``b``."""

    _backward_name = "CopysignBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        dt = _dt.result_type(a, b)
        if not dt.is_floating_point:  # integers and bools give the default float dtype
            dt = _dt.get_default_dtype()
        a = _as(a, dt)
        neg = _sign_bit(b if not isinstance(b, Tensor) or b._dtype.is_floating_point else _as(b, dt))
        magnitude = abs(a)
        if isinstance(neg, bool):
            out = -magnitude if neg else magnitude
        else:
            out = where(neg, -magnitude, magnitude)
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, g):
        a, out = ctx.saved_tensors
        return _grad_meta(ctx.a, g * where(a == 0, 0.0, out / a)), _zeros_meta(ctx.b, g)


def copysign(input: Tensor, other: Any, *, out: Tensor | None = None) -> Tensor:
    """The magnitude of ``input`` with the sign of ``other`` (-0.0 and NaN signs included), as floats.

    Example:
        >>> import ember
        >>> ember.copysign(ember.tensor([1.0, -2.0, 3.0]), ember.tensor([-0.0, 1.0, -1.0]))
        tensor([-1.,  2., -3.])
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"copysign(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    refuse_complex(input, other, message=f'"copysign_{input._device.type}" not implemented for \'{{dtype}}\'')
    return _out(Copysign.apply(input, other), out)


# ---- float_power -------------------------------------------------------------------------------------
def _to_double(x: Any, dt: _dt.dtype) -> Any:
    if isinstance(x, Tensor):
        return x.to(dt)
    return complex(x) if dt.is_complex else float(x)


def float_power(input: Any, exponent: Any, *, out: Tensor | None = None) -> Tensor:
    """``input ** exponent`` computed in double precision: float64, or complex128 when either side is
    complex.

    Example:
        >>> import ember
        >>> ember.float_power(ember.tensor([2, 4]), -1)
        tensor([0.5000, 0.2500], dtype=ember.float64)
    """
    _first_tensor("float_power", input, exponent)
    # complex128 when either side is complex (a complex tensor or a Python complex), else float64
    dt = _dt.complex128 if any(isinstance(v, complex) or (isinstance(v, Tensor) and v._dtype.is_complex)
                               for v in (input, exponent)) else _dt.float64
    if out is not None and out._dtype is not dt:
        raise RuntimeError(f"the output given to float_power has dtype {_dtype_name(out._dtype)} but the "
                           f"operation's result requires dtype {_dtype_name(dt)}")
    return _out(pow(_to_double(input, dt), _to_double(exponent, dt)), out)


def float_power_(self: Tensor, exponent: Any) -> Tensor:
    """In-place ``float_power``: only a float64 tensor can hold its result."""
    if self._dtype is not _dt.float64:
        raise RuntimeError(f"the base given to float_power_ has dtype {_dtype_name(self._dtype)} but the "
                           f"operation's result requires dtype Double")
    return assign_inplace(self, float_power(self, exponent))


# ---- heaviside ---------------------------------------------------------------------------------------
class Heaviside(Function):
    """The step function; PyTorch defines no derivative for it (backward raises)."""

    _backward_name = "NotImplemented"

    @staticmethod
    def forward(ctx, a, values):
        return where(a == 0, values, (a > 0).to(a._dtype))

    @staticmethod
    def backward(ctx, g):
        raise RuntimeError("the derivative for 'heaviside' is not implemented.")


def heaviside(input: Tensor, values: Tensor, *, out: Tensor | None = None) -> Tensor:
    """0 where ``input < 0``, ``values`` where ``input == 0``, 1 where ``input > 0`` (NaN gives 0).

    Example:
        >>> import ember
        >>> ember.heaviside(ember.tensor([-1.5, 0.0, 2.0]), ember.tensor([0.5]))
        tensor([0.0000, 0.5000, 1.0000])
    """
    _tensor_only("heaviside", input, values, "values")
    if input._dtype.is_complex or values._dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input._dtype is not values._dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return _out(Heaviside.apply(input, values), out)


# ---- fmax, fmin --------------------------------------------------------------------------------------
def _pick(a: Tensor, b: Tensor, take_a: Tensor) -> Tensor:
    """``a`` where ``take_a`` else ``b``: the gradient follows the picked operand, as PyTorch's does."""
    return where(take_a | isnan(b), a, b)


def fmax(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise maximum that ignores NaN (NaN only where both are NaN); ties pick ``input``.

    Example:
        >>> import ember
        >>> ember.fmax(ember.tensor([1.0, float("nan")]), ember.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    _tensor_only("fmax", input, other)
    return _out(_pick(input, other, input >= other), out)


def fmin(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Elementwise minimum that ignores NaN (NaN only where both are NaN); ties pick ``input``.

    Example:
        >>> import ember
        >>> ember.fmin(ember.tensor([1.0, float("nan")]), ember.tensor([float("nan"), 2.0]))
        tensor([1., 2.])
    """
    _tensor_only("fmin", input, other)
    return _out(_pick(input, other, input <= other), out)


# ---- gcd, lcm ----------------------------------------------------------------------------------------
def _gcd(a: Tensor, b: Tensor) -> Tensor:
    """Euclid's algorithm on every element at once; one host sync per step (at most ~92 for int64).
    The remainder kernel is called directly with zero divisors replaced: those lanes are finished."""
    kt = a._kt
    a, b = abs(a), abs(b)
    shape = tuple(_dt_broadcast(a, b))
    a, b = a.expand(tuple(shape)), b.expand(tuple(shape))
    while bool((b != 0).any()):
        done = b == 0
        r = a._new(kt["remainder"](a._data, where(done, 1, b)._data), a._dtype)
        a, b = where(done, a, b), where(done, 0, r)
    return a.contiguous()


def _dt_broadcast(a: Tensor, b: Tensor) -> tuple:
    from ember.functions.elementwise import broadcast_shapes

    return broadcast_shapes(a.shape, b.shape)


def gcd(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Greatest common divisor of integer tensors, elementwise (``gcd(0, 0) == 0``).

    Example:
        >>> import ember
        >>> ember.gcd(ember.tensor([12, -4, 0]), ember.tensor([18, 6, 5]))
        tensor([6, 2, 5])
    """
    _tensor_only("gcd", input, other)
    dt = _int_dtype("gcd", input, other)
    return _out(_gcd(_as(input, dt), _as(other, dt)), out)


def lcm(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Least common multiple of integer tensors, elementwise (0 where either is 0; wraps on overflow).

    Example:
        >>> import ember
        >>> ember.lcm(ember.tensor([4, -6, 0]), ember.tensor([6, 4, 5]))
        tensor([12, 12,  0])
    """
    _tensor_only("lcm", input, other)
    dt = _int_dtype("lcm", input, other)
    a, b = _as(input, dt), _as(other, dt)
    g = _gcd(a, b)
    zero = g == 0
    q = a._new(a._kt["floor_divide"](a.expand(tuple(g.shape)).contiguous()._data, where(zero, 1, g)._data), dt)
    return _out(where(zero, 0, abs(q) * abs(b)), out)


# ---- nextafter ---------------------------------------------------------------------------------------
class NextAfter(Function):
    """The next representable value after ``a`` toward ``b``, by stepping ``a``'s bits as an integer.
    PyTorch's gradients: ``g`` for ``a`` except where ``a == b`` (0 there), zero for ``b``."""

    _backward_name = "NextafterBackward0"

    @staticmethod
    def forward(ctx, a, b):
        ctx.a, ctx.b = _meta(a), _meta(b)
        dt = _float_dtype("nextafter", a, b)
        a, b = _as(a, dt), _as(b, dt)
        ctx.save_for_backward(a, b)
        a = a.expand(tuple(_dt_broadcast(a, b))).contiguous()
        bits = a.view(_BITS_OF[dt])
        ibits = _BITS_OF[dt].itemsize * 8
        # away from zero is +1 on the bit pattern for both signs (the sign bit is apart); from +-0 the
        # next value is the smallest subnormal with b's sign
        step = where((b > a) == (a > 0), 1, -1).to(bits._dtype)
        tiny = where(b > 0, 1, -(1 << (ibits - 1)) + 1).to(bits._dtype)
        moved = where(a == 0, tiny, bits + step).contiguous().view(dt)
        return where(a == b, b, where(isnan(a) | isnan(b), a + b, moved))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _grad_meta(ctx.a, where(a == b, 0.0, g)), _zeros_meta(ctx.b, g)


def nextafter(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """The next floating-point value after ``input`` toward ``other``, elementwise.

    Example:
        >>> import ember
        >>> ember.nextafter(ember.tensor([1.0], dtype=ember.float64), ember.tensor([2.0], dtype=ember.float64)) - 1
        tensor([2.2204e-16], dtype=ember.float64)
    """
    _tensor_only("nextafter", input, other)
    return _out(NextAfter.apply(input, other), out)


# ---- bit shifts --------------------------------------------------------------------------------------
def _shift_operands(kernel: str, input: Any, other: Any) -> tuple:
    """(a as a tensor, b as a tensor or Python int, dtype, bit width) in the promoted integer dtype."""
    proto = _first_tensor(kernel, input, other)
    dt = _dt.result_type(input, other)
    if dt.is_floating_point or dt is _dt.bool_:
        raise _not_implemented(kernel, proto, dt)
    if isinstance(input, Tensor) and isinstance(other, Tensor) and input._device is not other._device:
        # the kernels below are called directly: a cpu 0-d operand joins the other's device, as in
        # PyTorch's TensorIterator; any other mix is PyTorch's device error
        if other._data.ndim == 0 and other._device.type == "cpu":
            other = other.to(input._device)
        elif input._data.ndim == 0 and input._device.type == "cpu":
            input = proto = input.to(other._device)
        else:
            raise _device_error(input, other)
    a, b = _as_tensor(input, dt, proto), _as(other, dt)
    if isinstance(b, Tensor):
        _check_broadcast(a, b)  # the kernels are called directly: PyTorch's error for sizes that differ
    return a, b, dt, dt.itemsize * 8


def _power_of_two(a: Tensor, count: Any, dt: _dt.dtype) -> Any:
    """``2 ** count`` in ``dt`` (wrapping like the dtype; ``count`` already in range)."""
    if not isinstance(count, Tensor):
        bits = dt.itemsize * 8
        value = (1 << count) & ((1 << bits) - 1)  # 1 << 63 is int64's minimum, as the shift wraps
        return value - (1 << bits) if dt.is_signed and value >> (bits - 1) else value
    return count._new(a._kt["pow"](2, count._data), dt)


def _in_range(b: Any, limit: int) -> Any:
    return (b >= 0) & (b < limit) if isinstance(b, Tensor) else 0 <= b < limit


def _select(ok: Any, value: Any, fallback: Any) -> Any:
    if isinstance(ok, bool):
        return value if ok else fallback
    return where(ok, value, fallback)


def bitwise_left_shift(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """``input << other`` on integer tensors, wrapping like the dtype; a count below 0 or at least
    the bit width gives 0 (PyTorch's rule, where C leaves it undefined).

    Example:
        >>> import ember
        >>> ember.bitwise_left_shift(ember.tensor([1, 3], dtype=ember.int8), ember.tensor([7, 8], dtype=ember.int8))
        tensor([-128,    0], dtype=ember.int8)
    """
    a, b, dt, bits = _shift_operands("lshift", input, other)
    ok = _in_range(b, bits)
    shifted = a * _power_of_two(a, _select(ok, b, 0), dt)  # multiplication wraps like a shift
    return _out(_select(ok, shifted, a * 0) if isinstance(ok, bool) else where(ok, shifted, 0), out)


def bitwise_right_shift(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:
    """``input >> other`` on integer tensors: arithmetic (sign-filling) for signed dtypes; a count
    below 0 or too large fills with the sign bit (0 for unsigned), as PyTorch does.

    Example:
        >>> import ember
        >>> ember.tensor([-8, 8, -1]) >> ember.tensor([1, 2, 70])
        tensor([-4,  2, -1])
    """
    a, b, dt, bits = _shift_operands("rshift", input, other)
    limit = bits - 1 if dt.is_signed else bits  # 2 ** limit must fit the dtype
    ok = _in_range(b, limit)
    divisor = _power_of_two(a, _select(ok, b, 0), dt)
    divisor = divisor._data if isinstance(divisor, Tensor) else divisor
    # floor division by a power of two is the arithmetic shift (never a zero divisor: no check needed)
    shifted = a._new(a._kt["floor_divide"](a._data, divisor), dt)
    fill = where(a < 0, -1, 0).to(dt) if dt.is_signed else a * 0
    return _out(_select(ok, shifted, fill), out)


_ops = Family(__name__)
_op = _ops.op
_op(logaddexp, out=True)
_op(logaddexp2, out=True)
_op(hypot, inplace=True, out=True)
_op(copysign, inplace=True, out=True)
_op(float_power, inplace=float_power_, out=True)
_op(heaviside, inplace=True, out=True)
_op(fmax, out=True)
_op(fmin, out=True)
_op(gcd, inplace=True, export_inplace=True, out=True)
_op(lcm, inplace=True, export_inplace=True, out=True)
_op(nextafter, inplace=True, out=True)
_op(bitwise_left_shift, inplace=True, out=True, operators=("__lshift__",), reflected=("__rlshift__",),
    ioperators=("__ilshift__",))
_op(bitwise_right_shift, inplace=True, out=True, operators=("__rshift__",), reflected=("__rrshift__",),
    ioperators=("__irshift__",))

__all__ = _ops.names()
