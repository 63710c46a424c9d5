"""Unary, binary, comparison, logical and ternary elementwise kernels (NumPy semantics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import Scalar, header, launch_map, map_plan, run_1d
from ember_opencl.runtime import ctype

__all__ = ["iota", "UNARY", "BINARY", "make_kernels", "broadcast_shapes", "where", "clamp"]


def _is_float(d: np.dtype) -> bool:
    return np.dtype(d).kind == "f"


def iota(out: CLArray, start: Scalar, step: Scalar) -> CLArray:
    """``out[i] = start + i * step`` for a fresh 1-D ``out``."""
    dev = runtime.device(out.device)
    t, st = ctype(out.dtype), ctype(start.dtype)
    key = ("iota", t, st)

    def src() -> str:
        return (header(t, st) + f"__kernel void iota(__global {t}* o, {st} a, {st} b, long n) {{"
                f" long i = get_global_id(0); if (i < n) o[i] = ({t})(a + ({st})i * b); }}\n")
    k = dev.kernel(key, src, "iota", [None, start.dtype, step.dtype, np.int64])
    run_1d(k, dev, out.size, [out.base_buffer, start.value, step.value, out.size])
    return out


# --- unary: name -> (expr for floats, expr for integers/bool) -------------------------------
_SIGMOID = "(v0 >= 0 ? 1 / (1 + exp(-v0)) : exp(v0) / (1 + exp(v0)))"
# Past these |x| the correctly rounded tanh is exactly +-1 (1 - tanh(x) ~ 2e^-2x is under half an
# ulp of 1: 2^-12 half, 2^-25 float, 2^-54 double). Some runtimes' tanh (PoCL's float) never reaches
# 1, not even at inf, and 1 + tanh(x) then stays 6e-8 instead of 0: gelu(tanh) of -400 and its
# gradient (1 - tanh^2 times a huge inner derivative) came out far from 0.
_TANH = ("(fabs(v0) > (sizeof(v0) == 8 ? 19.1f : (sizeof(v0) == 4 ? 9.1f : 4.6f))"
         " ? (v0 > 0 ? 1 : -1) : tanh(v0))")
UNARY: dict[str, tuple[str, str | None]] = {
    "exp": ("exp(v0)", None), "log": ("log(v0)", None), "log1p": ("log1p(v0)", None),
    "expm1": ("expm1(v0)", None), "sqrt": ("sqrt(v0)", None), "rsqrt": ("rsqrt(v0)", None),
    "sin": ("sin(v0)", None), "cos": ("cos(v0)", None), "tanh": (_TANH, None),
    "sigmoid": (_SIGMOID, None), "erf": ("erf(v0)", None),
    "neg": ("-v0", "-v0"), "abs": ("fabs(v0)", "(v0 < 0 ? -v0 : v0)"),
    "sign": ("(isnan(v0) ? 0 : (v0 > 0) - (v0 < 0))", "(v0 > 0) - (v0 < 0)"),  # sign(NaN) = 0, as PyTorch
    "relu": ("(v0 < 0 ? 0 : v0)", "(v0 < 0 ? 0 : v0)"),
    "floor": ("floor(v0)", "v0"), "ceil": ("ceil(v0)", "v0"), "round": ("rint(v0)", "v0"),
    "trunc": ("trunc(v0)", "v0"),
}


# A repeated small op is dominated by its Python: each op keeps its own cache from the operands'
# layouts (dtype, shape, strides; a scalar's Python type) to what its launch needs, so that a hit
# allocates the output and enqueues (about 1 us less per op than building launch_map's key, the
# operand list and the output array generically). Misses take the generic path and fill the cache.
_FAST_MAX = 512


def _remember(fast: dict, key: tuple, out: CLArray, ops: list, expr: str, pre: str, conv: Any = None) -> None:
    """Record in ``fast`` the launch that ``launch_map(out, ops, expr, pre)`` just made."""
    if len(fast) >= _FAST_MAX:
        fast.clear()
    dev, k, static, gsize, lsize = map_plan(out, ops, expr, pre)
    if k is not None:
        fast[key] = (dev, k, tuple(static), gsize, lsize, out.dtype, out.shape, out.strides,
                     max(out.size * out.dtype.itemsize, 8), conv)


def _unary(name: str) -> Callable[[CLArray], CLArray]:
    fexpr, iexpr = UNARY[name]
    fast: dict = {}

    def op(x: CLArray) -> CLArray:
        """Elementwise {name}."""
        key = (x.dtype, x.shape, x.strides, x.device)
        hit = fast.get(key)
        if hit is not None:
            dev, k, static, gsize, lsize, out_d, shape, strides, nbytes, _ = hit
            buf = dev.alloc(nbytes)
            dev.launch(k, gsize, lsize, (buf, 0, x.base_buffer, x.offset, *static))
            return CLArray._make(buf, shape, out_d, x.device, strides, 0)
        if _is_float(x.dtype):
            expr = fexpr
        elif iexpr is None:
            raise TypeError(f"{name} needs a floating array, got {x.dtype}")
        else:
            expr = iexpr  # no bool ``neg``: the frontend refuses it with PyTorch's error
        out = launch_map(empty(x.shape, x.dtype, x.device), [x], expr)
        _remember(fast, key, out, [x], expr, "")
        return out
    op.__name__ = name
    op.__doc__ = f"Elementwise {name} (same dtype)."
    return op


def logical_not(x: CLArray) -> CLArray:
    return launch_map(empty(x.shape, np.bool_, x.device), [x], "v0 == 0")


def isnan(x: CLArray) -> CLArray:
    expr = "isnan(v0)" if _is_float(x.dtype) else "0"
    return launch_map(empty(x.shape, np.bool_, x.device), [x], expr)


# --- binary -------------------------------------------------------------------------------
_FLOORDIV_F = ("#define FLOORDIV(T) T floordiv_##T(T a, T b) { if (b == 0) return a / b; "
               "T m = fmod(a, b); T d = (a - m) / b; if (m != 0 && ((b < 0) != (m < 0))) d -= 1; "
               "T f = floor(d); if (d - f > (T)0.5) f += 1; return f; }\n")
_REM_F = ("#define REMF(T) T remf_##T(T a, T b) { if (b == 0) return fmod(a, b); T m = fmod(a, b); "
          "if (m != 0) { if ((b < 0) != (m < 0)) m += b; } else m = copysign((T)0, b); return m; }\n")
# b == 0 returns 0 only to keep the device away from undefined behaviour: the frontend raises
# PyTorch's ZeroDivisionError before an integer zero divisor can get here. C leaves INT_MIN / -1 and
# INT_MIN % -1 undefined (x86 traps: SIGFPE), so a -1 divisor is answered without dividing: -a
# (wrapping, through unsigned arithmetic) and 0.
_INT_HELPERS = ("#define IDIV(T) T floordiv_##T(T a, T b) { if (b == 0) return 0; "
                "if (b == -1) return (T)((ulong)0 - (ulong)a); T q = a / b; "
                "if ((a % b != 0) && ((a < 0) != (b < 0))) q -= 1; return q; }\n"
                "#define IREM(T) T remi_##T(T a, T b) { if (b == 0 || b == -1) return 0; T m = a % b; "
                "if (m != 0 && ((m < 0) != (b < 0))) m += b; return m; }\n"
                "#define IPOW(T) T ipow_##T(T a, T b) { if (b < 0) return a == 1 ? 1 : "
                "(a == -1 ? ((b & 1) ? -1 : 1) : 0); T r = 1; while (b) { if (b & 1) r *= a; "
                "b >>= 1; a *= a; } return r; }\n")


def _binary_expr(name: str, d: np.dtype) -> tuple[str, str]:
    """(expr, preamble) computing ``name`` on ``v0``, ``v1`` of dtype ``d``."""
    t = ctype(d)
    if d == np.bool_:
        # No bool ``sub`` (it is not xor: the frontend refuses it with PyTorch's error).
        table = {"add": "v0 || v1", "mul": "v0 && v1", "maximum": "v0 || v1",
                 "minimum": "v0 && v1", "bitwise_and": "v0 & v1", "bitwise_or": "v0 | v1",
                 "bitwise_xor": "v0 ^ v1"}
        if name in table:
            return table[name], ""
        d = np.dtype(np.int32)  # anything else: compute on 0/1 integers
        t = "int"
    if _is_float(d):
        table = {
            "add": "v0 + v1", "sub": "v0 - v1", "mul": "v0 * v1", "div": "v0 / v1",
            "floor_divide": f"floordiv_{t}(v0, v1)", "remainder": f"remf_{t}(v0, v1)",
            "pow": "pow(v0, v1)", "atan2": "atan2(v0, v1)",
            # NaN from either side; on a tie (-0.0 against 0.0) the first operand, as PyTorch
            "maximum": "((v0 < v1 || isnan(v1)) ? v1 : v0)",
            "minimum": "((v0 > v1 || isnan(v1)) ? v1 : v0)",
        }
        pre = {"floor_divide": _FLOORDIV_F + f"FLOORDIV({t})\n",
               "remainder": _REM_F + f"REMF({t})\n"}.get(name, "")
        if name not in table:
            raise TypeError(f"{name} is not defined for floating dtype {d}")
        return table[name], pre
    table = {
        "add": "v0 + v1", "sub": "v0 - v1", "mul": "v0 * v1",
        "div": "(float)v0 / (float)v1",
        "floor_divide": f"floordiv_{t}(v0, v1)", "remainder": f"remi_{t}(v0, v1)",
        "pow": f"ipow_{t}(v0, v1)", "maximum": "(v0 > v1 ? v0 : v1)",
        "minimum": "(v0 < v1 ? v0 : v1)", "bitwise_and": "v0 & v1", "bitwise_or": "v0 | v1",
        "bitwise_xor": "v0 ^ v1", "atan2": "atan2((float)v0, (float)v1)",
    }
    pre = {"floor_divide": _INT_HELPERS + f"IDIV({t})\n", "remainder": _INT_HELPERS + f"IREM({t})\n",
           "pow": _INT_HELPERS + f"IPOW({t})\n"}.get(name, "")
    return table[name], pre


_CMP = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_LOGIC = {"logical_and": "(v0 != 0) && (v1 != 0)", "logical_or": "(v0 != 0) || (v1 != 0)",
          "logical_xor": "(v0 != 0) != (v1 != 0)"}
BINARY = ("add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum",
          "atan2", "bitwise_and", "bitwise_or", "bitwise_xor")


def broadcast_shapes(*shapes: tuple[int, ...]) -> tuple[int, ...]:
    first = shapes[0]
    if all(s == first for s in shapes):
        return first
    return tuple(int(n) for n in np.broadcast_shapes(*shapes))


def _operands(a: Any, b: Any) -> tuple[list, tuple[int, ...], np.dtype, int]:
    """Arrays stay; a Python number becomes a Scalar of the other operand's dtype."""
    if type(a) is CLArray and type(b) is CLArray:
        sa, sb = a.shape, b.shape
        return [a, b], (sa if sa == sb else broadcast_shapes(sa, sb)), a.dtype, a.device
    arr = a if isinstance(a, CLArray) else b
    sd = arr.dtype
    other = b if arr is a else a
    s = Scalar(other, sd)
    ops = [arr, s] if arr is a else [s, arr]
    return ops, arr.shape, sd, arr.device


def _scalar_conv(d: np.dtype) -> Callable[[Any], Any]:
    """What :class:`Scalar` does to a Python number for a kernel argument of dtype ``d`` (a bool
    argument travels as a uchar)."""
    if d == np.bool_:
        return lambda v: Scalar(v, d).value
    return d.type


def _binary_plan(name: str, d: np.dtype) -> tuple[str, str, np.dtype]:
    """(expr, preamble, output dtype) of binary ``name`` on operands of dtype ``d``."""
    expr, pre = _binary_expr(name, d)
    out_d = np.dtype(np.float32) if (name == "div" and not _is_float(d) and d != np.bool_) else d
    if name == "div" and d == np.bool_:
        out_d = np.dtype(np.float32)
        expr = "(float)v0 / (float)v1"
    return expr, pre, out_d


def _binary(name: str) -> Callable[[Any, Any], CLArray]:
    by_dtype: dict[np.dtype, tuple[str, str, np.dtype]] = {}
    fast: dict = {}

    def op(a: Any, b: Any) -> CLArray:
        key = None
        if type(a) is CLArray:  # the fast path: array op array, array op Python number
            tb = type(b)
            if tb is CLArray:
                key = (a.dtype, a.shape, a.strides, b.dtype, b.shape, b.strides, a.device)
                hit = fast.get(key)
                if hit is not None:
                    dev, k, static, gsize, lsize, out_d, shape, strides, nbytes, _ = hit
                    buf = dev.alloc(nbytes)
                    dev.launch(k, gsize, lsize, (buf, 0, a.base_buffer, a.offset, b.base_buffer, b.offset, *static))
                    return CLArray._make(buf, shape, out_d, a.device, strides, 0)
            elif tb is float or tb is int:
                key = (a.dtype, a.shape, a.strides, tb, a.device)
                hit = fast.get(key)
                if hit is not None:
                    dev, k, static, gsize, lsize, out_d, shape, strides, nbytes, conv = hit
                    buf = dev.alloc(nbytes)
                    dev.launch(k, gsize, lsize, (buf, 0, a.base_buffer, a.offset, conv(b), *static))
                    return CLArray._make(buf, shape, out_d, a.device, strides, 0)
        ops, shape, d, dev = _operands(a, b)
        plan = by_dtype.get(d)
        if plan is None:
            plan = by_dtype[d] = _binary_plan(name, d)
        expr, pre, out_d = plan
        out = launch_map(empty(shape, out_d, dev), ops, expr, pre)
        if key is not None:
            conv = None if type(b) is CLArray else _scalar_conv(a.dtype)
            _remember(fast, key, out, ops, expr, pre, conv)
        return out
    op.__name__ = name
    op.__doc__ = f"Elementwise {name} with broadcasting; either operand may be a number."
    return op


def _compare(name: str) -> Callable[[Any, Any], CLArray]:
    sym = _CMP[name]

    def op(a: Any, b: Any) -> CLArray:
        ops, shape, _, dev = _operands(a, b)
        return launch_map(empty(shape, np.bool_, dev), ops, f"v0 {sym} v1")
    op.__name__ = name
    op.__doc__ = f"Elementwise ``{sym}`` -> bool array."
    return op


def _logical(name: str) -> Callable[[Any, Any], CLArray]:
    expr = _LOGIC[name]

    def op(a: Any, b: Any) -> CLArray:
        ops, shape, _, dev = _operands(a, b)
        return launch_map(empty(shape, np.bool_, dev), ops, expr)
    op.__name__ = name
    return op


def _py_dtype(v: Any) -> np.dtype:
    if isinstance(v, bool):
        return np.dtype(np.bool_)
    if isinstance(v, int):
        return np.dtype(np.int64)
    return np.dtype(np.float32)


def where(cond: CLArray, a: Any, b: Any) -> CLArray:
    """``a`` where ``cond`` else ``b``; all broadcast; a or b may be a number."""
    arrays = [v for v in (cond, a, b) if isinstance(v, CLArray)]
    if isinstance(a, CLArray):
        d = a.dtype
    elif isinstance(b, CLArray):
        d = b.dtype
    else:
        d = np.result_type(_py_dtype(a), _py_dtype(b))
    shape = broadcast_shapes(*(x.shape for x in arrays))
    ops = [cond] + [v if isinstance(v, CLArray) else Scalar(v, d) for v in (a, b)]
    return launch_map(empty(shape, d, cond.device), ops, "v0 ? v1 : v2")


def clamp(x: CLArray, lo: Any, hi: Any) -> CLArray:
    """Clip to [lo, hi] (None = unbounded); a NaN element stays NaN, and a NaN bound makes every
    element NaN (PyTorch's clamp)."""
    ops: list = [x]
    expr = "v0"
    fl = _is_float(x.dtype)
    if lo is not None:
        ops.append(Scalar(lo, x.dtype))
        expr = f"({expr} < v1{' || isnan(v1)' if fl else ''} ? v1 : {expr})"
    if hi is not None:
        ops.append(Scalar(hi, x.dtype))
        h = f"v{len(ops) - 1}"
        expr = f"(({expr}) > {h}{f' || isnan({h})' if fl else ''} ? {h} : ({expr}))"
    return launch_map(empty(x.shape, x.dtype, x.device), ops, expr)


def make_kernels() -> dict[str, Callable]:
    """All elementwise kernels by contract name."""
    ks: dict[str, Callable] = {n: _unary(n) for n in UNARY}
    ks["logical_not"] = logical_not
    ks["isnan"] = isnan
    ks.update({n: _binary(n) for n in BINARY})
    ks.update({n: _compare(n) for n in _CMP})
    ks.update({n: _logical(n) for n in _LOGIC})
    ks["where"] = where
    ks["clamp"] = clamp
    return ks
