"""PyTorch's checked conversion of a Python number into a tensor dtype (``c10::checked_convert``).

One rule for every place a Python number becomes an element: ``ember.tensor`` of numbers and
lists, ``full`` (and ``new_full``, ``full_like``), ``fill_``, ``index_fill`` and ``x[i] = v``.

* an integer dtype takes a Python int in ``[min, max]``; an unsigned one also takes ``-max..-1``,
  wrapped as two's complement (uint8: ``-1`` -> 255, ``-255`` -> 1, ``-256`` overflows);
* an integer dtype takes a float truncated toward zero when it lies in ``[lowest, max]`` (so
  ``-0.5`` does not fit uint8); NaN and infinities never fit;
* a floating dtype takes any int and any float up to its largest finite value (infinities and NaN
  pass); bool takes anything.

A value that does not fit is PyTorch's ``RuntimeError("value cannot be converted to type <name>
without overflow")``. The type name depends on the path, as PyTorch's does: the dtype name when a
tensor is made from data (``int8``), the C++ type for a fill (``int8_t``, ``int`` for int32).

Before the conversion, a Python int is unpacked as PyTorch's argument parser does: a ``Scalar``
argument (``fill_``, ``full``, ``index_fill``, ``masked_fill``) takes ``[-2**63, 2**64)``
(``OverflowError`` outside), an indexing assignment or data for ``ember.tensor`` takes int64
(``ValueError("Overflow when unpacking long long")`` outside).

The common case, a value in range, costs one dict lookup and a comparison. Data (nested lists) is
checked in bulk by NumPy (:func:`checked_int_array`): a min/max per list, not a loop per number.

Example:
    >>> import ember
    >>> ember.tensor([-1, 2], dtype=ember.uint8).tolist()
    [255, 2]
    >>> ember.zeros(2, dtype=ember.int8).fill_(300)
    Traceback (most recent call last):
    ...
    RuntimeError: value cannot be converted to type int8_t without overflow
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ember import dtypes as _dt

__all__ = ["checked_scalar", "checked_int_array", "unpack_scalar_int", "overflow_error"]

#: (min, max) of each integer dtype.
INT_LIMITS: dict[_dt.dtype, tuple[int, int]] = {
    _dt.uint8: (0, 255), _dt.int8: (-128, 127), _dt.int16: (-(1 << 15), (1 << 15) - 1),
    _dt.int32: (-(1 << 31), (1 << 31) - 1), _dt.int64: (-(1 << 63), (1 << 63) - 1),
}
# Python ints accepted by an integer dtype before the overflow check: unsigned dtypes take
# -max..max (negative values wrap), signed ones min..max.
_INT_ACCEPT = {d: ((-hi if d is _dt.uint8 else lo), hi) for d, (lo, hi) in INT_LIMITS.items()}
# A float fits when float(lowest) <= v <= float(max): C++ compares a double with max converted to
# double, so 2.0**63 passes for int64 (and becomes -2**63, as PyTorch's cast gives on x86).
_FLOAT_BOUNDS = {d: (float(lo), float(hi)) for d, (lo, hi) in INT_LIMITS.items()}
#: The largest finite value of each floating dtype (complex: of its parts).
_FLOAT_MAX: dict[_dt.dtype, float] = {
    _dt.float16: 65504.0, _dt.bfloat16: 3.3895313892515355e38, _dt.float32: 3.4028234663852886e38,
    _dt.float64: math.inf, _dt.complex64: 3.4028234663852886e38, _dt.complex128: math.inf,
}
# The smallest magnitude that rounds to infinity (max + half an ulp, a tie rounding to the odd max's
# even neighbour), for the dtypes whose x[i] = v is not checked.
_ROUNDS_TO_INF = {_dt.float16: 65520.0, _dt.bfloat16: 3.3961775292304957e38}
# The C++ type PyTorch names in a fill's overflow error.
_C_NAMES = {
    _dt.uint8: "uint8_t", _dt.int8: "int8_t", _dt.int16: "int16_t", _dt.int32: "int", _dt.int64: "int64_t",
    _dt.float16: "c10::Half", _dt.bfloat16: "c10::BFloat16", _dt.float32: "float", _dt.float64: "double",
    _dt.complex64: "c10::complex<float>", _dt.complex128: "c10::complex<double>", _dt.bool_: "bool",
}
_INT64_MIN, _UINT64_END = -(1 << 63), 1 << 64


def overflow_error(dt: _dt.dtype, c_name: bool = True) -> RuntimeError:
    """PyTorch's error for a value that ``dt`` cannot hold (``c_name``: the C++ type's name)."""
    name = _C_NAMES.get(dt, dt.name) if c_name else dt.name
    return RuntimeError(f"value cannot be converted to type {name} without overflow")


def _long_overflow() -> ValueError:
    return ValueError("Overflow when unpacking long long")


def unpack_scalar_int(v: int) -> int:
    """A Python int as PyTorch's ``Scalar`` argument takes it: int64, else uint64, else
    ``OverflowError`` (with CPython's words, as PyTorch raises them)."""
    if _INT64_MIN <= v < _UINT64_END:
        return v
    raise OverflowError("can't convert negative int to unsigned" if v < 0 else "int too big to convert")


def _number(value: Any) -> Any:
    """A Python bool/int/float/complex for a NumPy scalar or another number-like value."""
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.complexfloating):
        return complex(value)
    if hasattr(value, "_dtype") and hasattr(value, "item"):
        # a one-element tensor, as PyTorch's argument parser reads it for a Scalar (LBFGS passes
        # ``alpha=step_size`` as a tensor); its own item() raises for more elements
        return _number(value.item())
    if hasattr(value, "__index__"):
        return value.__index__()
    if hasattr(value, "__float__"):
        return float(value)
    if hasattr(value, "__complex__"):
        return complex(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _check_int(v: int, dt: _dt.dtype, c_name: bool) -> int:
    lo, hi = _INT_ACCEPT[dt]
    if lo <= v <= hi:
        return v + 256 if v < 0 and dt is _dt.uint8 else v
    raise overflow_error(dt, c_name)


def _check_float_to_int(v: float, dt: _dt.dtype, c_name: bool) -> int:
    lo, hi = _FLOAT_BOUNDS[dt]
    if not lo <= v <= hi:  # NaN fails both comparisons
        raise overflow_error(dt, c_name)
    i = int(v)
    return i - _UINT64_END if i > INT_LIMITS[_dt.int64][1] else i  # 2.0**63 into int64 (see _FLOAT_BOUNDS)


def checked_scalar(value: Any, dt: _dt.dtype, *, unpack: str = "scalar", c_name: bool = True,
                   check_float: bool = True) -> Any:
    """``value`` (a Python or NumPy number) converted for a tensor of dtype ``dt`` as PyTorch's
    ``checked_convert``: an int for integer dtypes (negative values wrapped into unsigned ones), a
    float, complex or bool otherwise. Raises PyTorch's overflow ``RuntimeError`` when it does not fit.

    ``unpack`` is how a Python int is read first: ``"scalar"`` (a ``Scalar`` argument: ``[-2**63,
    2**64)``, ``OverflowError`` outside) or ``"long"`` (int64, ``ValueError`` outside; indexing
    assignment). ``c_name`` picks the C++ type name in the error (``int8_t``) over the dtype's
    (``int8``). ``check_float`` False skips the range check of a floating dtype (PyTorch's
    ``x[i] = v`` does not check float16/bfloat16)."""
    cls = value.__class__
    if cls is int:
        if dt.category == 1:  # integer dtypes: the common case is one lookup and one comparison
            lo, hi = _INT_ACCEPT[dt]
            if lo <= value <= hi:
                return value + 256 if value < 0 and dt is _dt.uint8 else value
        if unpack == "long":
            if not _INT64_MIN <= value <= INT_LIMITS[_dt.int64][1]:
                raise _long_overflow()
        else:
            unpack_scalar_int(value)
        if dt.category == 1:
            raise overflow_error(dt, c_name)
        if dt is _dt.bool_:
            return value != 0
        return _checked_float(float(value), dt, c_name, check_float)
    if cls is float:
        if dt.category == 1:
            return _check_float_to_int(value, dt, c_name)
        if dt is _dt.bool_:
            return value != 0
        return _checked_float(value, dt, c_name, check_float)
    if cls is bool:
        if dt is _dt.bool_:
            return value
        if dt.category == 1:
            return int(value)
        return complex(value) if dt.is_complex else float(value)
    if cls is complex:
        if dt is _dt.bool_:
            return value != 0
        if dt.is_complex:
            if check_float and (_over(value.real, _FLOAT_MAX[dt]) or _over(value.imag, _FLOAT_MAX[dt])):
                raise overflow_error(dt, c_name)
            return value
        if value.imag != 0:
            raise overflow_error(dt, c_name)
        return checked_scalar(value.real, dt, unpack=unpack, c_name=c_name, check_float=check_float)
    return checked_scalar(_number(value), dt, unpack=unpack, c_name=c_name, check_float=check_float)


def _over(v: float, limit: float) -> bool:
    """Whether a finite ``v`` is beyond ``limit`` in magnitude (infinities and NaN fit any float)."""
    return abs(v) > limit and v - v == 0


def _checked_float(v: float, dt: _dt.dtype, c_name: bool, check: bool) -> Any:
    if _over(v, _FLOAT_MAX[dt]):
        if check:
            raise overflow_error(dt, c_name)
        if abs(v) >= _ROUNDS_TO_INF.get(dt, math.inf):
            return math.copysign(math.inf, v)  # what the cast gives, without NumPy's overflow warning
    return complex(v) if dt.is_complex else v


def _checked_elements(data: Any, dt: _dt.dtype) -> Any:
    """Nested lists with every number converted one by one (the rare path of checked_int_array)."""
    if isinstance(data, (list, tuple)):
        return [_checked_elements(v, dt) for v in data]
    return checked_scalar(data, dt, unpack="long", c_name=False)


def checked_int_array(data: Any, dt: _dt.dtype) -> np.ndarray | None:
    """Nested lists / tuples / numbers as a NumPy array of the integer dtype ``dt``, each number
    checked as PyTorch's ``torch.tensor(data, dtype=dt)`` does (the dtype's name in the error), or
    None where NumPy cannot read ``data`` as one numeric array (the caller's own path then applies).

    The check is in bulk: NumPy reads the data once, its min and max are compared with the range
    and one ``astype`` converts. Only a list mixing ints and floats whose reading as float64 cannot
    tell them apart (negative values into uint8, magnitudes beyond 2**53) is converted number by
    number."""
    from ember.numpy_dtypes import NP_DTYPE

    try:
        arr = np.asarray(data)
    except (ValueError, TypeError):
        return None
    kind = arr.dtype.kind
    target = NP_DTYPE[dt]
    if kind == "b":
        return arr.astype(target)
    if kind == "u" and arr.dtype.itemsize == 8 and arr.size and int(arr.max()) >= 1 << 63:
        raise _long_overflow()  # beyond int64 (Python ints NumPy read as uint64, or np.uint64 numbers)
    if kind in "iu":
        if arr.dtype == target:
            return arr.copy() if arr is data else arr
        if arr.size:
            lo, hi = _INT_ACCEPT[dt]
            if int(arr.min()) < lo or int(arr.max()) > hi:
                raise overflow_error(dt, c_name=False)
        return arr.astype(target)
    if kind == "f":
        if not arr.size:
            return arr.astype(target)
        with np.errstate(invalid="ignore"):
            mn, mx = float(arr.min()), float(arr.max())  # NaN propagates into both
        if mn != mn:
            raise overflow_error(dt, c_name=False)
        if (dt is _dt.uint8 and mn < 0) or max(-mn, mx) > 2.0 ** 53:
            if isinstance(data, (list, tuple)):  # ints and floats differ here: convert one by one
                return np.array(_checked_elements(data, dt), dtype=target)
        lo, hi = _FLOAT_BOUNDS[dt]
        if mn < lo or mx > hi:
            raise overflow_error(dt, c_name=False)
        with np.errstate(invalid="ignore"):
            return arr.astype(target)
    return None
