"""Counter-based random kernels (splitmix64), bit-identical to ``ember.random``'s formula."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import header, run_1d
from ember_opencl.runtime import ctype, to_np

__all__ = ["KERNELS", "rand_uniform", "rand_normal", "rand_int"]

_MASK = (1 << 64) - 1

# ulong arithmetic wraps mod 2**64 in OpenCL C, exactly the formula's arithmetic.
_BITS = """
inline ulong mix64(ulong z) {
  z ^= z >> 30; z *= 0xBF58476D1CE4E5B9UL; z ^= z >> 27; z *= 0x94D049BB133111EBUL;
  return z ^ (z >> 31);
}
inline ulong bits(ulong key, ulong c) { return mix64(key + (c + 1UL) * 0x9E3779B97F4A7C15UL); }
"""


def _launch(kind: str, shape: tuple[int, ...], key: int, offset: int, dtype: Any, index: int,
            extra: list | None = None) -> CLArray:
    npd = to_np(dtype)
    out = empty(tuple(int(s) for s in shape), npd, index)
    n = out.size
    if n == 0:
        return out
    dev = runtime.device(index)
    t = ctype(npd)
    fp64 = dev.fp64
    ck = ("rand", kind, t, fp64)

    def src() -> str:
        if kind == "uniform":
            if t == "double":
                val = "(double)(b >> 11) * 0x1.0p-53"
            else:
                val = "(float)(b >> 40) * 0x1.0p-24f"
            body = f"ulong b = bits(key, off + i); o[i] = ({t})({val});"
            params = ""
        elif kind == "normal":
            ft = "double" if fp64 else "float"
            sfx = "" if fp64 else "f"
            body = (f"ulong b1 = bits(key, off + 2 * i), b2 = bits(key, off + 2 * i + 1);\n"
                    f"  {ft} u1 = ({ft})((b1 >> 11) + 1UL) * 0x1.0p-53{sfx};\n"
                    f"  {ft} u2 = ({ft})(b2 >> 11) * 0x1.0p-53{sfx};\n"
                    f"  o[i] = ({t})(sqrt(-2 * log(u1)) * cos(2 * M_PI{'_F' if not fp64 else ''}"
                    " * u2));")
            params = ""
        else:
            body = f"ulong b = bits(key, off + i); o[i] = ({t})(low + (long)(b % range));"
            params = ", long low, ulong range"
        return (header(t, "double" if fp64 and kind == "normal" else "") + _BITS
                + f"__kernel void rnd(__global {t}* o, ulong key, ulong off, long n{params}) {{\n"
                f"  long i = get_global_id(0); if (i >= n) return;\n  {body}\n}}\n")
    types = [None, np.uint64, np.uint64, np.int64] + ([np.int64, np.uint64] if extra else [])
    k = dev.kernel(ck, src, "rnd", types)
    run_1d(k, dev, n, [out.base_buffer, key & _MASK, offset & _MASK, n] + (extra or []))
    return out


def rand_uniform(shape: tuple[int, ...], key: int, offset: int, dtype: Any, index: int) -> CLArray:
    """float64: (bits >> 11) * 2**-53; else (bits >> 40) * 2**-24."""
    return _launch("uniform", shape, key, offset, dtype, index)


def rand_normal(shape: tuple[int, ...], key: int, offset: int, dtype: Any, index: int) -> CLArray:
    """Box-Muller on counters offset+2i, offset+2i+1 (double where the device has fp64)."""
    return _launch("normal", shape, key, offset, dtype, index)


def rand_int(shape: tuple[int, ...], low: int, high: int, key: int, offset: int, dtype: Any,
             index: int) -> CLArray:
    """low + bits % (high - low)."""
    span = int(high) - int(low)
    if span <= 0:
        if math.prod(shape) == 0:
            return empty(tuple(int(s) for s in shape), to_np(dtype), index)
        raise ValueError(f"rand_int: empty range [{low}, {high})")
    return _launch("int", shape, key, offset, dtype, index, [int(low), span])


KERNELS: dict[str, Callable[..., Any]] = {"rand_uniform": rand_uniform, "rand_normal": rand_normal,
                                          "rand_int": rand_int}
