"""Scans along one axis: cumsum, cumprod and a stable sort (one work-item per row)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import bucket, collapse, header, index_code, run_1d
from ember_opencl.creation import clone
from ember_opencl.movement import permute
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "cumsum", "cumprod", "sort"]


def _rows(x: CLArray, out: CLArray, dim: int) -> tuple[int, list[int], list[list[int]]]:
    """Bucketed (rank, shape, [x strides, out strides]) of the axes other than ``dim``."""
    outer = [d for d in range(x.ndim) if d != dim]
    shape, strides = collapse([x.shape[d] for d in outer] or [1],
                              [[x.strides[d] for d in outer] or [0],
                               [out.strides[d] for d in outer] or [0]])
    nd = bucket(len(shape))
    pad = nd - len(shape)
    return nd, [1] * pad + shape, [[0] * pad + s for s in strides]


def _scan(x: CLArray, dim: int, op: str) -> CLArray:
    if x.ndim == 0:
        return clone(x)
    dim %= x.ndim
    out = empty(x.shape, x.dtype, x.device)
    L = x.shape[dim]
    nrows = x.size // L if L else 0
    if nrows == 0:
        return out
    dev = runtime.device(x.device)
    nd, shape, (xs, os) = _rows(x, out, dim)
    t = ctype(x.dtype)
    # The running value is kept wider than the elements, as PyTorch's CPU scan does (its acc_type:
    # double for float, float for half), so a long float32 cumsum does not drift: 100,000 x 0.1
    # ends at 10000, not 9998.557. Each output is rounded from it once.
    acc_t = {"float": "double" if dev.fp64 else "float", "half": "float"}.get(t, t)
    comb = "acc + v" if op == "sum" else "acc * v"
    if x.dtype == np.bool_:
        comb = "acc || v" if op == "sum" else "acc && v"
    # (dtype, not C type: bool and uint8 share uchar, not the combine)
    key = ("scan", op, x.dtype.str, acc_t, nd)

    def src() -> str:
        params = [f"__global {t}* o", "long o_off", f"__global const {t}* x", "long x_off"]
        params += [f"long o_s{d}" for d in range(nd)] + [f"long x_s{d}" for d in range(nd)]
        params += [f"long n{d}" for d in range(nd)] + ["long nrows", "long L", "long xd", "long od"]
        return (header(t, acc_t) + f"__kernel void scan({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0); if (gid >= nrows) return;\n"
                f"  {index_code(nd, ['x', 'o'], 'n', 'gid')}\n"
                f"  {acc_t} acc = {'0' if op == 'sum' else '1'};\n"
                f"  for (long j = 0; j < L; j++) {{ {acc_t} v = x[i_x + j * xd]; acc = {comb};"
                f" o[i_o + j * od] = ({t})acc; }}\n}}\n")
    k = dev.kernel(key, src, "scan", [None, np.int64, None] + [np.int64] * (1 + 3 * nd + 4))
    run_1d(k, dev, nrows, [out.base_buffer, 0, x.base_buffer, x.offset] + os + xs + shape
           + [nrows, L, x.strides[dim], out.strides[dim]])
    return out


def cumsum(x: CLArray, dim: int) -> CLArray:
    return _scan(x, dim, "sum")


def cumprod(x: CLArray, dim: int) -> CLArray:
    return _scan(x, dim, "prod")


def sort(x: CLArray, dim: int, descending: bool) -> tuple[CLArray, CLArray]:
    """Stable bottom-up merge sort of each row; NaN sorts as the largest value."""
    if x.ndim == 0:
        return clone(x), _zeros_index(x)
    dim %= x.ndim
    # Work on rows that are contiguous in the output: axis `dim` moved last.
    order = [d for d in range(x.ndim) if d != dim] + [dim]
    xp = permute(x, tuple(order))
    vals = empty(xp.shape, x.dtype, x.device)
    idx = empty(xp.shape, np.int64, x.device)
    L = x.shape[dim]
    nrows = x.size // L if L else 0
    if nrows:
        tmpv = empty(xp.shape, x.dtype, x.device)
        tmpi = empty(xp.shape, np.int64, x.device)
        dev = runtime.device(x.device)
        nd, shape, (xs, _) = _rows(xp, vals, xp.ndim - 1)
        t = ctype(x.dtype)
        is_f = x.dtype.kind == "f"
        if descending:
            before = "(a > b || (isnan(a) && !isnan(b)))" if is_f else "(a > b)"
        else:
            before = "(a < b || (isnan(b) && !isnan(a)))" if is_f else "(a < b)"
        key = ("sort", t, descending, nd)

        def src() -> str:
            params = [f"__global {t}* V", "__global long* I", f"__global {t}* TV",
                      "__global long* TI", f"__global const {t}* x", "long x_off"]
            params += [f"long x_s{d}" for d in range(nd)] + [f"long n{d}" for d in range(nd)]
            params += ["long nrows", "long L", "long xd"]
            return (header(t) + f"inline int before({t} a, {t} b) {{ return {before}; }}\n"
                    f"__kernel void srt({', '.join(params)}) {{\n"
                    "  long gid = get_global_id(0); if (gid >= nrows) return;\n"
                    f"  {index_code(nd, ['x'], 'n', 'gid')}\n"
                    "  long base = gid * L;\n"
                    f"  __global {t}* sv = V + base; __global long* si = I + base;\n"
                    f"  __global {t}* dv = TV + base; __global long* di = TI + base;\n"
                    "  for (long j = 0; j < L; j++) { sv[j] = x[i_x + j * xd]; si[j] = j; }\n"
                    "  int in_tmp = 0;\n"
                    "  for (long w = 1; w < L; w *= 2) {\n"
                    "    for (long lo = 0; lo < L; lo += 2 * w) {\n"
                    "      long mid = min(lo + w, L), hi = min(lo + 2 * w, L);\n"
                    "      long a = lo, b = mid, k = lo;\n"
                    "      while (a < mid && b < hi) {\n"
                    "        if (before(sv[b], sv[a])) { dv[k] = sv[b]; di[k++] = si[b++]; }\n"
                    "        else { dv[k] = sv[a]; di[k++] = si[a++]; }\n"
                    "      }\n"
                    "      while (a < mid) { dv[k] = sv[a]; di[k++] = si[a++]; }\n"
                    "      while (b < hi) { dv[k] = sv[b]; di[k++] = si[b++]; }\n"
                    "    }\n"
                    f"    __global {t}* tv = sv; sv = dv; dv = tv;\n"
                    "    __global long* ti = si; si = di; di = ti; in_tmp = !in_tmp;\n"
                    "  }\n"
                    "  if (in_tmp) for (long j = 0; j < L; j++) { dv[j] = sv[j]; di[j] = si[j]; }\n"
                    "}\n")
        k = dev.kernel(key, src, "srt", [None] * 5 + [np.int64] * (1 + 2 * nd + 3))
        run_1d(k, dev, nrows, [vals.base_buffer, idx.base_buffer, tmpv.base_buffer,
                               tmpi.base_buffer, xp.base_buffer, xp.offset] + xs + shape
               + [nrows, L, xp.strides[-1]])
    inv = [order.index(d) for d in range(x.ndim)]
    v, i = permute(vals, tuple(inv)), permute(idx, tuple(inv))
    if dim != x.ndim - 1:
        v, i = clone(v), clone(i)
    return v, i


def _zeros_index(x: CLArray) -> CLArray:
    from ember_opencl.creation import full
    return full((), 0, np.int64, x.device)


KERNELS: dict[str, Callable[..., Any]] = {"cumsum": cumsum, "cumprod": cumprod, "sort": sort}
