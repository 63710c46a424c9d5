"""Reductions over any set of axes (sum, prod, amax, amin, any, all) and argmax/argmin.

One work-item per (output element, chunk). When few outputs reduce many elements (a full
sum), the reduced range is split into chunks whose partial results are reduced again by the
same kernel, so all cores stay busy without atomics.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import bucket, collapse, header, index_code, run_1d
from ember_opencl.movement import reshape
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "reduce"]

_INT_LIMITS = {"long": ("LONG_MIN", "LONG_MAX"), "int": ("INT_MIN", "INT_MAX"),
               "short": ("SHRT_MIN", "SHRT_MAX"), "char": ("CHAR_MIN", "CHAR_MAX"),
               "uchar": ("0", "UCHAR_MAX")}


def _op_code(op: str, d: np.dtype, fp64: bool) -> tuple[str, str, str, np.dtype]:
    """(accumulator C type, init, combine expr of ``acc`` and ``v``, output dtype)."""
    t = ctype(d)
    is_f = d.kind == "f"
    if op in ("any", "all"):
        return "int", ("0" if op == "any" else "1"), \
            ("acc || (v != 0)" if op == "any" else "acc && (v != 0)"), np.dtype(np.bool_)
    if op in ("sum", "prod"):
        # float32 sums accumulate in double where possible: closer to NumPy's pairwise sum.
        acc = "double" if (t == "float" and fp64) else ("float" if t == "half" else t)
        if d == np.bool_:
            acc = "long"
        sym = "+" if op == "sum" else "*"
        return acc, ("0" if op == "sum" else "1"), f"acc {sym} v", d
    lo, hi = ("-INFINITY", "INFINITY") if is_f else _INT_LIMITS[t]
    if op == "amax":
        comb = "((acc > v || isnan(acc)) ? acc : v)" if is_f else "(acc > v ? acc : v)"
        return t, lo, comb, d
    comb = "((acc < v || isnan(acc)) ? acc : v)" if is_f else "(acc < v ? acc : v)"
    return t, hi, comb, d


def _reduce_launch(x: CLArray, out: CLArray, outer: list[int], inner: list[int], op: str,
                   parts: int) -> None:
    """out[o * parts + p] = reduction of chunk p of the inner range of outer element o."""
    dev = runtime.device(x.device)
    acc, init, comb, _ = _op_code(op, x.dtype, dev.fp64)
    oshape, (ostr,) = collapse([x.shape[d] for d in outer] or [1], [[x.strides[d] for d in outer] or [0]])
    ishape, (istr,) = collapse([x.shape[d] for d in inner], [[x.strides[d] for d in inner]])
    no, ni = bucket(len(oshape)), bucket(len(ishape))
    oshape, ostr = [1] * (no - len(oshape)) + oshape, [0] * (no - len(ostr)) + ostr
    ishape, istr = [1] * (ni - len(ishape)) + ishape, [0] * (ni - len(istr)) + istr
    nout = math.prod(oshape)
    R = math.prod(ishape)
    chunk = -(-R // parts) if R else 1
    t, ot = ctype(x.dtype), ctype(out.dtype)
    key = ("reduce", op, t, ot, no, ni)

    def src() -> str:
        params = [f"__global {ot}* o", f"__global const {t}* x", "long x_off"]
        params += [f"long x_s{d}" for d in range(no)] + [f"long n{d}" for d in range(no)]
        params += [f"long y_s{d}" for d in range(ni)] + [f"long m{d}" for d in range(ni)]
        params += ["long nout", "long P", "long R", "long chunk"]
        return (header(t, ot, acc) +
                f"__kernel void red({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0); if (gid >= nout * P) return;\n"
                "  long oi = gid / P, p = gid % P;\n"
                f"  {index_code(no, ['x'], 'n', 'oi')}\n"
                "  long base = i_x;\n"
                f"  {acc} acc = {init};\n"
                "  long j1 = min(R, (p + 1) * chunk);\n"
                "  for (long j = p * chunk; j < j1; j++) {\n"
                "    long y_off = base;\n"
                f"    {{ {index_code(ni, ['y'], 'm', 'j')} \n"
                f"    const {acc} v = ({acc})x[i_y]; acc = {comb}; }}\n"
                "  }\n"
                f"  o[gid] = ({ot})acc;\n}}\n")

    arg_types = [None, None] + [np.int64] * (1 + 2 * no + 2 * ni + 4)
    args = [out.base_buffer, x.base_buffer, x.offset] + ostr + oshape + istr + ishape
    args += [nout, parts, R, chunk]
    k = dev.kernel(key, src, "red", arg_types)
    run_1d(k, dev, nout * parts, args)


_COMBINE_AGAIN = {"sum": "sum", "prod": "prod", "amax": "amax", "amin": "amin", "any": "any",
                  "all": "all"}


def reduce(x: CLArray, dims: tuple[int, ...], keepdim: bool, op: str) -> CLArray:
    """Reduce ``x`` over ``dims`` with ``op``."""
    dims = tuple(sorted(d % x.ndim for d in dims)) if x.ndim else ()
    outer = [d for d in range(x.ndim) if d not in dims]
    out_shape = tuple(1 if d in dims else n for d, n in enumerate(x.shape)) if keepdim \
        else tuple(x.shape[d] for d in outer)
    _, _, _, out_d = _op_code(op, x.dtype, runtime.device(x.device).fp64)
    R = math.prod(x.shape[d] for d in dims)
    if R == 0 and op in ("amax", "amin") and math.prod(out_shape):
        raise ValueError(f"{op}: cannot reduce over a zero-size dimension (no identity)")
    out = empty(out_shape, out_d, x.device)
    nout = out.size
    if nout == 0:
        return out
    if not dims:  # 0-d input
        inner: list[int] = []
    else:
        inner = list(dims)
    parts = 1
    if nout < 512 and R >= 16384:
        parts = min(-(-R // 4096), max(1, 2048 // nout))
    if not inner:
        # nothing to reduce: reduce over a virtual size-1 axis
        x = x.view(x.shape + (1,), x.strides + (0,), x.offset)
        inner = [x.ndim - 1]
    if parts == 1:
        _reduce_launch(x, out, outer, inner, op, 1)
        return out
    part = empty((nout, parts), out_d if op not in ("any", "all") else np.bool_, x.device)
    _reduce_launch(x, part, outer, inner, op, parts)
    _reduce_launch(part, out, [0], [1], _COMBINE_AGAIN[op], 1)
    return out


def _reducer(op: str) -> Callable[..., CLArray]:
    def k(x: CLArray, dims: tuple[int, ...], keepdim: bool) -> CLArray:
        return reduce(x, dims, keepdim, op)
    k.__name__ = op
    k.__doc__ = f"{op} over ``dims``."
    return k


def _arg(x: CLArray, dim: Any, keepdim: bool, is_max: bool) -> CLArray:
    """Index of the first max/min along ``dim`` (NaN counts as the extreme, as in NumPy)."""
    if dim is None:
        flat = reshape(x, (x.size,))
        r = _arg(flat, 0, False, is_max)
        return r.view((1,) * x.ndim if keepdim else (), (0,) * x.ndim if keepdim else (), r.offset)
    dim %= max(x.ndim, 1)
    if x.ndim == 0:
        x = x.view((1,), (0,), x.offset)
    L = x.shape[dim]
    if L == 0:
        raise ValueError("argmax/argmin of an empty sequence")
    outer = [d for d in range(x.ndim) if d != dim]
    out_shape = tuple(1 if d == dim else n for d, n in enumerate(x.shape)) if keepdim \
        else tuple(x.shape[d] for d in outer)
    out = empty(out_shape, np.int64, x.device)
    if out.size == 0:
        return out
    dev = runtime.device(x.device)
    oshape, (ostr,) = collapse([x.shape[d] for d in outer] or [1], [[x.strides[d] for d in outer] or [0]])
    no = bucket(len(oshape))
    oshape, ostr = [1] * (no - len(oshape)) + oshape, [0] * (no - len(ostr)) + ostr
    t = ctype(x.dtype)
    is_f = x.dtype.kind == "f"
    cmp = ">" if is_max else "<"
    better = f"(v {cmp} best || (isnan(v) && !isnan(best)))" if is_f else f"(v {cmp} best)"
    key = ("arg", t, is_max, no)

    def src() -> str:
        params = ["__global long* o", f"__global const {t}* x", "long x_off"]
        params += [f"long x_s{d}" for d in range(no)] + [f"long n{d}" for d in range(no)]
        params += ["long nout", "long L", "long sd"]
        return (header(t) + f"__kernel void arg({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0); if (gid >= nout) return;\n"
                f"  {index_code(no, ['x'], 'n', 'gid')}\n"
                f"  {t} best = x[i_x]; long bi = 0;\n"
                "  for (long j = 1; j < L; j++) {\n"
                f"    {t} v = x[i_x + j * sd];\n"
                f"    if (!({'isnan(best)' if is_f else '0'}) && {better}) {{ best = v; bi = j; }}\n"
                "  }\n  o[gid] = bi;\n}\n")
    k = dev.kernel(key, src, "arg", [None, None] + [np.int64] * (1 + 2 * no + 3))
    run_1d(k, dev, out.size, [out.base_buffer, x.base_buffer, x.offset] + ostr + oshape
           + [out.size, L, x.strides[dim]])
    return out


def argmax(x: CLArray, dim: Any, keepdim: bool) -> CLArray:
    return _arg(x, dim, keepdim, True)


def argmin(x: CLArray, dim: Any, keepdim: bool) -> CLArray:
    return _arg(x, dim, keepdim, False)


KERNELS: dict[str, Callable[..., Any]] = {op: _reducer(op) for op in
                                          ("sum", "prod", "amax", "amin", "any", "all")}
KERNELS.update(argmax=argmax, argmin=argmin)
