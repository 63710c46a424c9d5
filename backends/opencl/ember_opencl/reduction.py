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
from ember_opencl.codegen import LOCAL, bucket, collapse, header, index_code, run_1d
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
    # ``>=``: of equal values the first is kept, as PyTorch's max(x, dim) keeps the value at its
    # index (0.0 and -0.0 are equal: max([0., -0.]) is 0.0 with index 0)
    if op == "amax":
        comb = "((acc >= v || isnan(acc)) ? acc : v)" if is_f else "(acc > v ? acc : v)"
        return t, lo, comb, d
    comb = "((acc <= v || isnan(acc)) ? acc : v)" if is_f else "(acc < v ? acc : v)"
    return t, hi, comb, d


def _reduce_plan(dev: runtime.DeviceState, shape: tuple[int, ...], strides: tuple[int, ...],
                 dtype: np.dtype, out_dtype: np.dtype, outer: list[int], inner: list[int], op: str,
                 parts: int) -> tuple[Any, list, tuple[int], tuple[int]]:
    """(kernel, shape/stride arguments, global size, local size) of a launch writing
    out[o * parts + p] = reduction of chunk p of the inner range of outer element o."""
    acc, init, comb, _ = _op_code(op, dtype, dev.fp64)
    oshape, (ostr,) = collapse([shape[d] for d in outer] or [1], [[strides[d] for d in outer] or [0]])
    ishape, (istr,) = collapse([shape[d] for d in inner], [[strides[d] for d in inner]])
    no, ni = bucket(len(oshape)), bucket(len(ishape))
    oshape, ostr = [1] * (no - len(oshape)) + oshape, [0] * (no - len(ostr)) + ostr
    ishape, istr = [1] * (ni - len(ishape)) + ishape, [0] * (ni - len(istr)) + istr
    nout = math.prod(oshape)
    R = math.prod(ishape)
    chunk = -(-R // parts) if R else 1
    t, ot = ctype(dtype), ctype(out_dtype)
    # any/all test the input value itself: converting it to the int accumulator first would
    # truncate 0.5 to 0 (any([0.5]) must be True).
    vt = t if op in ("any", "all") else acc
    key = ("reduce", op, np.dtype(dtype).str, ot, acc, no, ni)  # (bool and uint8 share uchar, not the accumulator)

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
                f"    const {vt} v = ({vt})x[i_y]; acc = {comb}; }}\n"
                "  }\n"
                f"  o[gid] = ({ot})acc;\n}}\n")

    arg_types = [None, None] + [np.int64] * (1 + 2 * no + 2 * ni + 4)
    k = dev.kernel(key, src, "red", arg_types)
    static = ostr + oshape + istr + ishape + [nout, parts, R, chunk]
    local = min(LOCAL, dev.max_wg)
    n = nout * parts
    return k, static, ((n + local - 1) // local * local,), (local,)


def _launch(dev: runtime.DeviceState, plan: tuple, out: CLArray, x: CLArray) -> None:
    k, static, gsize, lsize = plan
    dev.launch(k, gsize, lsize, (out.base_buffer, x.base_buffer, x.offset, *static))


_COMBINE_AGAIN = {"sum": "sum", "prod": "prod", "amax": "amax", "amin": "amin", "any": "any",
                  "all": "all"}


def _plan(dev: runtime.DeviceState, x: CLArray, dims: tuple[int, ...], keepdim: bool, op: str
          ) -> tuple:
    """(out shape, out dtype, first launch, second launch, partials shape, partials dtype)."""
    shape, strides = x.shape, x.strides
    ndim = len(shape)
    dims = tuple(sorted(d % ndim for d in dims)) if ndim else ()
    outer = [d for d in range(ndim) if d not in dims]
    out_shape = tuple(1 if d in dims else n for d, n in enumerate(shape)) if keepdim \
        else tuple(shape[d] for d in outer)
    _, _, _, out_d = _op_code(op, x.dtype, dev.fp64)
    R = math.prod(shape[d] for d in dims)
    nout = math.prod(out_shape)
    if R == 0 and op in ("amax", "amin") and nout:
        raise ValueError(f"{op}: cannot reduce over a zero-size dimension (no identity)")
    if nout == 0:
        return out_shape, out_d, None, None, None, None
    inner = list(dims)
    parts = 1
    if nout < 512 and R >= 16384:
        parts = min(-(-R // 4096), max(1, 2048 // nout))
    if not inner:
        # 0-d input, nothing to reduce: reduce over a virtual size-1 axis
        shape, strides = shape + (1,), strides + (0,)
        inner = [len(shape) - 1]
    if parts == 1:
        return (out_shape, out_d, _reduce_plan(dev, shape, strides, x.dtype, out_d, outer, inner, op, 1),
                None, None, None)
    part_d = out_d if op not in ("any", "all") else np.dtype(np.bool_)
    first = _reduce_plan(dev, shape, strides, x.dtype, part_d, outer, inner, op, parts)
    second = _reduce_plan(dev, (nout, parts), (parts, 1), part_d, out_d, [0], [1], _COMBINE_AGAIN[op], 1)
    return out_shape, out_d, first, second, (nout, parts), part_d


def reduce(x: CLArray, dims: tuple[int, ...], keepdim: bool, op: str) -> CLArray:
    """Reduce ``x`` over ``dims`` with ``op``. The launch plan (output shape, kernels and
    their shape/stride arguments) is cached per device under the input layout."""
    dev = runtime.device(x.device)
    dims = tuple(dims)
    key = (op, x.dtype, x.shape, x.strides, dims, keepdim)
    plans = dev.reduce_plans
    plan = plans.get(key)
    if plan is None:
        plan = _plan(dev, x, dims, keepdim, op)
        if len(plans) > 4096:
            plans.clear()
        plans[key] = plan
    out_shape, out_d, first, second, part_shape, part_d = plan
    out = empty(out_shape, out_d, x.device)
    if first is None:
        return out
    if second is None:
        _launch(dev, first, out, x)
        return out
    part = empty(part_shape, part_d, x.device)
    _launch(dev, first, part, x)
    _launch(dev, second, out, part)
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
