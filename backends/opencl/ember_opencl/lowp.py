"""bfloat16, and float16 on devices without ``cl_khr_fp16``: 16-bit storage, float32 compute.

OpenCL C has no bfloat16, and without ``cl_khr_fp16`` (PoCL on a CPU) a kernel may not hold a
``half`` value, only load and store one through ``vload_half``/``vstore_half``. Such arrays keep
their 16-bit storage (a ``CLArray`` of dtype ``ml_dtypes.bfloat16`` or ``float16``), and the kernel
table is wrapped once, at the single place where every kernel is reached, instead of teaching
every code generator a second load/store path:

* kernels that only move bits (views, ``clone``, ``copy_``, transfers) run on a ``ushort`` view
  of the same buffer;
* creation kernels that take a ``dtype`` build float32 and round it;
* every other kernel gets its 16-bit operands widened to float32 on the device (exact), runs its
  float32 code, and its float32 results are rounded back on the device: to nearest even with
  ``vstore_half_rte`` for float16, with the bit trick PyTorch uses for bfloat16. That is PyTorch's
  own "opmath" rule: a reduction or a matmul accumulates in float32 and rounds once.

The price is one widening pass per 16-bit operand and one rounding pass per result; the data
never leaves the device. A device with ``cl_khr_fp16`` keeps its native float16 kernels.

Example:
    >>> import ember
    >>> x = ember.tensor([1.0, 2.0], dtype=ember.bfloat16, device="opencl")  # doctest: +SKIP
    >>> (x / 3).tolist()  # doctest: +SKIP
    [0.333984375, 0.66796875]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ml_dtypes
import numpy as np
from ember.kernels import KERNELS as _SPECS

from ember_opencl import runtime
from ember_opencl.array import CLArray
from ember_opencl.array import empty as _empty
from ember_opencl.codegen import launch_map

__all__ = ["BF16", "wrap", "widen", "narrow"]

BF16 = np.dtype(ml_dtypes.bfloat16)
F16 = np.dtype(np.float16)
_U16 = np.dtype(np.uint16)
_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)

# Conversions between 16-bit patterns (ushort) and float. bfloat16 rounds to nearest even with
# NaN kept quiet (c10::round_to_nearest_even); float16 goes through the core vload/vstore_half,
# which need no extension when the half value only lives behind a pointer.
PREAMBLE = """
inline float ember_bf2f(ushort h) { return as_float(((uint)h) << 16); }
inline ushort ember_f2bf(float f) {
  uint u = as_uint(f);
  if (isnan(f)) return (ushort)((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (ushort)(u >> 16);
}
inline float ember_h2f(ushort h) { return vload_half(0, (const __private half*)&h); }
inline ushort ember_f2h(float f) { ushort r; vstore_half_rte(f, 0, (__private half*)&r); return r; }
"""
_TO_F32 = {BF16: "ember_bf2f(v0)", F16: "ember_h2f(v0)"}
_FROM_F32 = {BF16: "ember_f2bf(v0)", F16: "ember_f2h(v0)"}


def emulated(dt: np.dtype, device: int) -> bool:
    """True when arrays of ``dt`` on ``device`` are 16-bit storage computed in float32."""
    return dt == BF16 or (dt == F16 and not runtime.device(device).fp16)


def retype(x: CLArray, dt: np.dtype) -> CLArray:
    """The same storage read as ``dt`` (of the same width): a ``ushort`` view moves 16-bit values."""
    return CLArray._make(x.base_buffer, x.shape, dt, x.device, x.strides, x.offset)


_retype = retype


def widen(x: CLArray) -> CLArray:
    """A new float32 array with the values of the 16-bit array ``x`` (exact)."""
    out = _empty(x.shape, _F32, x.device)
    return launch_map(out, [_retype(x, _U16)], _TO_F32[x.dtype], PREAMBLE)


def narrow(x: CLArray, dt: np.dtype) -> CLArray:
    """A new ``dt`` (bfloat16/float16) array: float32 ``x`` rounded to nearest even."""
    if x.dtype != _F32:
        x = launch_map(_empty(x.shape, _F32, x.device), [x], "v0 != 0" if x.dtype == np.bool_ else "v0")
    out = _empty(x.shape, _U16, x.device)
    return _retype(launch_map(out, [x], _FROM_F32[dt], PREAMBLE), dt)


def _bits_of(value: Any, dt: np.dtype) -> int:
    """The 16-bit pattern of a Python number rounded to ``dt`` (through float32, as PyTorch)."""
    return int(np.asarray(np.float32(value)).astype(dt).view(_U16))


# ---- kernels that move bits -----------------------------------------------------------------
def _from_host(fn: Callable) -> Callable:
    def kernel(host: Any, index: int) -> CLArray:
        host = np.asarray(host)
        if host.dtype in (BF16, F16):
            if not host.flags.c_contiguous:  # (np.ascontiguousarray would turn 0-d into 1-d)
                host = host.copy(order="C")
            return _retype(fn(host.view(_U16), index), host.dtype)
        return fn(host, index)

    return kernel


def _to_host(fn: Callable) -> Callable:
    def kernel(x: CLArray) -> np.ndarray:
        if x.dtype in (BF16, F16):
            return fn(_retype(x, _U16)).view(x.dtype)
        return fn(x)

    return kernel


def _bitwise(fn: Callable) -> Callable:
    """A view or copy kernel (array first): run it on the ushort view, keep the dtype."""

    def kernel(x: Any, *args: Any) -> Any:
        if type(x) is CLArray and x.dtype in (BF16, F16):
            return _retype(fn(_retype(x, _U16), *args), x.dtype)
        return fn(x, *args)

    return kernel


def _copy(fn: Callable, astype: Callable) -> Callable:
    def kernel(dst: CLArray, src: Any) -> None:
        if dst.dtype in (BF16, F16):
            if type(src) is CLArray:
                src = src if src.dtype == dst.dtype else astype(src, runtime.to_ember(dst.dtype))
                return fn(_retype(dst, _U16), _retype(src, _U16))
            return fn(_retype(dst, _U16), _bits_of(src, dst.dtype))
        if type(src) is CLArray and emulated(src.dtype, src.device):
            src = widen(src)
        return fn(dst, src)

    return kernel


def _astype(fn: Callable) -> Callable:
    def kernel(x: CLArray, dtype: Any) -> CLArray:
        target = runtime.to_np(dtype)
        src_low = emulated(x.dtype, x.device)
        dst_low = emulated(target, x.device)
        if not src_low and not dst_low:
            return fn(x, dtype)
        if src_low and x.dtype == target:
            return _retype(launch_map(_empty(x.shape, _U16, x.device), [_retype(x, _U16)], "v0"), target)
        wide = widen(x) if src_low else x
        if dst_low:
            return narrow(wide, target)
        return wide if target == _F32 else fn(wide, dtype)

    return kernel


def _created(fn: Callable, dtype_pos: int) -> Callable:
    """A creation kernel taking a dtype: float32 built, then rounded to the 16-bit dtype."""

    def kernel(*args: Any) -> Any:
        target = runtime.to_np(args[dtype_pos])
        if not emulated(target, args[-1]):
            return fn(*args)
        args = list(args)
        args[dtype_pos] = runtime.to_ember(_F32)
        return narrow(fn(*args), target)

    return kernel


# ---- compute kernels ------------------------------------------------------------------------
def _low_dtype(args: tuple) -> np.dtype | None:
    for a in args:  # on every kernel call: the itemsize test spares the dtype comparisons
        t = type(a)
        if t is CLArray:
            if a.dtype.itemsize == 2 and (a.dtype == BF16 or a.dtype == F16) and emulated(a.dtype, a.device):
                return a.dtype
        elif (t is list or t is tuple) and a and type(a[0]) is CLArray:
            found = _low_dtype(a)
            if found is not None:
                return found
    return None


def _widen_all(a: Any) -> Any:
    if type(a) is CLArray:
        return widen(a) if a.dtype == BF16 or (a.dtype == F16 and emulated(F16, a.device)) else a
    if type(a) in (list, tuple) and a and type(a[0]) is CLArray:
        return type(a)(_widen_all(x) for x in a)
    return a


def _narrow_all(out: Any, dt: np.dtype) -> Any:
    if type(out) is CLArray:
        return narrow(out, dt) if out.dtype == _F32 else out
    if type(out) in (list, tuple):
        return type(out)(_narrow_all(x, dt) for x in out)
    return out


def _in_float32(fn: Callable) -> Callable:
    def kernel(*args: Any, **kwargs: Any) -> Any:
        if args:  # fast path: a float32/float64 first operand means the op is not a 16-bit one
            d = getattr(args[0], "dtype", None)
            if d is _F32 or d is _F64:
                return fn(*args, **kwargs)
        dt = _low_dtype(args)
        if dt is None:
            return fn(*args, **kwargs)
        return _narrow_all(fn(*map(_widen_all, args), **kwargs), dt)

    kernel.__name__ = getattr(fn, "__name__", "kernel")
    return kernel


def _log_softmax(fn: Callable, ks: dict[str, Callable[..., Any]]) -> Callable:
    """16-bit log_softmax over the last dim as PyTorch's CPU kernel rounds it: the row's sum of
    exponentials and its log each rounded to the 16-bit dtype before ``(x - max) - log(sum)`` is
    rounded once (the cpu backend's rule too). Other dims: the float32 kernel, rounded once."""
    in_f32 = _in_float32(fn)

    def kernel(x: CLArray, dim: int) -> CLArray:
        dt = _low_dtype((x,))
        if dt is None or not x.ndim or not x.size or dim % x.ndim != x.ndim - 1:
            return in_f32(x, dim)
        last = (x.ndim - 1,)
        acc = widen(x)
        shifted = ks["sub"](acc, ks["amax"](acc, last, True))
        total = widen(narrow(ks["sum"](ks["exp"](shifted), last, True), dt))
        return narrow(ks["sub"](shifted, widen(narrow(ks["log"](total), dt))), dt)

    kernel.__name__ = "log_softmax"
    return kernel


def wrap(ks: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The kernel table with 16-bit float storage handled around every kernel (see the module doc)."""
    out: dict[str, Callable[..., Any]] = {}
    astype = _astype(ks["astype"])
    for name, fn in ks.items():
        spec = _SPECS.get(name)
        sig = spec.signature if spec is not None else ""
        if name == "from_host":
            out[name] = _from_host(fn)
        elif name == "to_host":
            out[name] = _to_host(fn)
        elif name == "copy_":
            out[name] = _copy(fn, astype)
        elif name == "astype":
            out[name] = astype
        elif name == "log_softmax":
            out[name] = _log_softmax(fn, ks)
        elif name in ("clone", "reshape", "permute", "expand", "slice"):
            out[name] = _bitwise(fn)
        elif name == "bitcast" or spec is None or spec.native_only:
            out[name] = fn  # layout queries, bit reinterpretation, in-place optimizer steps
        elif "dtype" in sig:
            params = sig[sig.index("(") + 1:sig.index(")")].split(", ")
            out[name] = _created(fn, params.index("dtype"))
        else:
            out[name] = _in_float32(fn)
    return out

