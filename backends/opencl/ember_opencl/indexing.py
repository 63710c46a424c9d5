"""Indexing kernels: gather, scatter(_add), index_select, index_put and nonzero.

Scatters are deterministic without atomics: one work-item owns every output position that
shares its coordinates off the scatter axis and walks the index along that axis in order, so
duplicate indices accumulate (or the last one wins) exactly as a sequential loop would.

The frontend checks every index before it gets here (int64, inside [0, size), shapes that fit),
as the kernel contract says. The kernels still guard each access on their own: an index outside
[0, size) is skipped (a gather reads 0 for it), and every element read or written must lie inside
its array's extent (``_extent``), so a bug elsewhere gives a wrong value, never a read or a write
outside the buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray, empty
from ember_opencl.codegen import Scalar, bucket, collapse, header, index_code, run_1d
from ember_opencl.creation import clone, contiguous, from_host, to_host
from ember_opencl.runtime import ctype

__all__ = ["KERNELS", "gather", "scatter", "scatter_add", "index_select", "index_put", "nonzero"]


def _prep(shape: list[int], strides: list[list[int]]) -> tuple[int, list[int], list[list[int]]]:
    shape, strides = collapse(shape, strides)
    nd = bucket(len(shape))
    pad = nd - len(shape)
    return nd, [1] * pad + shape, [[0] * pad + s for s in strides]


def _extent(a: CLArray) -> list[int]:
    """[lo, hi): the buffer elements a view of ``a``'s shape and strides can reach."""
    lo = hi = a.offset
    for n, s in zip(a.shape, a.strides):
        if n > 1:
            if s < 0:
                lo += (n - 1) * s
            else:
                hi += (n - 1) * s
    return [lo, hi + 1]


def gather(x: CLArray, dim: int, index: CLArray) -> CLArray:
    """out[..., i, ...] = x[..., index[..., i, ...], ...] along ``dim``."""
    dim %= max(x.ndim, 1)
    out = empty(index.shape, x.dtype, x.device)
    n = out.size
    if n == 0:
        return out
    if x.ndim == 0:
        return clone(x.view(index.shape, (0,) * index.ndim, x.offset))
    xs = [0 if d == dim else s for d, s in enumerate(x.strides)]
    nd, shape, (os, xs2, iss) = _prep(list(index.shape), [list(out.strides), xs, list(index.strides)])
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    key = ("gather", t, nd)

    def src() -> str:
        params = [f"__global {t}* o", "long o_off", f"__global const {t}* x", "long x_off",
                  "__global const long* ix", "long ix_off"]
        params += [f"long {p}_s{d}" for p in ("o", "x", "ix") for d in range(nd)]
        params += [f"long n{d}" for d in range(nd)] + ["long total", "long xd", "long size", "long x_lo",
                                                       "long x_hi"]
        return (header(t) + f"__kernel void gat({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0); if (gid >= total) return;\n"
                f"  {index_code(nd, ['o', 'x', 'ix'])}\n"
                f"  const long p = ix[i_ix]; {t} v = 0;\n"
                "  if (p >= 0 && p < size) { const long q = i_x + p * xd; if (q >= x_lo && q < x_hi) v = x[q]; }\n"
                "  o[i_o] = v;\n}\n")
    k = dev.kernel(key, src, "gat", [None, np.int64, None, np.int64, None, np.int64]
                   + [np.int64] * (4 * nd + 5))
    run_1d(k, dev, n, [out.base_buffer, out.offset, x.base_buffer, x.offset, index.base_buffer,
                       index.offset] + os + xs2 + iss + shape + [n, x.strides[dim], x.shape[dim]]
           + _extent(x))
    return out


def _scatter(x: CLArray, dim: int, index: CLArray, src: Any, accumulate: bool) -> CLArray:
    out = clone(x)
    if index.size == 0 or x.ndim == 0:
        if x.ndim == 0 and index.size:
            from ember_opencl.creation import copy_
            copy_(out, src if not isinstance(src, CLArray) else src.view((), (), src.offset))
        return out
    dim %= x.ndim
    L = index.shape[dim]
    lines = [n if d != dim else 1 for d, n in enumerate(index.shape)]
    nlines = math.prod(lines)
    zero_dim = [0 if d == dim else 1 for d in range(x.ndim)]
    os_ = [s * z for s, z in zip(out.strides, zero_dim)]
    is_ = [s * z for s, z in zip(index.strides, zero_dim)]
    arrays = [os_, is_]
    scalar = not isinstance(src, CLArray)
    if not scalar:
        arrays.append([s * z for s, z in zip(src.strides, zero_dim)])
    nd, shape, strides = _prep(lines, arrays)
    dev = runtime.device(x.device)
    t = ctype(x.dtype)
    key = ("scatter", x.dtype.str, nd, accumulate, scalar)  # (dtype, not C type: bool and uint8 share uchar)
    op = "+=" if accumulate else "="
    if accumulate and x.dtype == np.bool_:
        op = "|="

    def source() -> str:
        params = [f"__global {t}* o", "long o_off", "__global const long* ix", "long ix_off"]
        params += [f"{t} sval" if scalar else f"__global const {t}* s, long s_off"]
        names = ["o", "ix"] + ([] if scalar else ["s"])
        params += [f"long {p}_s{d}" for p in names for d in range(nd)]
        params += [f"long n{d}" for d in range(nd)] + ["long total", "long L", "long od",
                                                       "long ixd", "long sd", "long size", "long o_lo",
                                                       "long o_hi", "long s_lo", "long s_hi"]
        val = "sval" if scalar else "s[si]"
        return (header(t) + f"__kernel void sca({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0); if (gid >= total) return;\n"
                f"  {index_code(nd, names)}\n"
                "  for (long j = 0; j < L; j++) {\n"
                "    const long p = ix[i_ix + j * ixd]; if (p < 0 || p >= size) continue;\n"
                "    const long q = i_o + p * od; if (q < o_lo || q >= o_hi) continue;\n"
                + ("" if scalar else "    const long si = i_s + j * sd; if (si < s_lo || si >= s_hi) continue;\n")
                + f"    o[q] {op} {val};\n  }}\n}}\n")
    types: list = [None, np.int64, None, np.int64]
    args: list = [out.base_buffer, out.offset, index.base_buffer, index.offset]
    if scalar:
        sc = Scalar(src, x.dtype)
        types.append(sc.dtype)
        args.append(sc.value)
    else:
        types += [None, np.int64]
        args += [src.base_buffer, src.offset]
    for s in strides:
        types += [np.int64] * nd
        args += s
    types += [np.int64] * (nd + 10)
    args += shape + [nlines, L, out.strides[dim], index.strides[dim],
                     0 if scalar else src.strides[dim], x.shape[dim]] + _extent(out)
    args += [0, 0] if scalar else _extent(src)
    k = dev.kernel(key, source, "sca", types)
    run_1d(k, dev, nlines, args)
    return out


def scatter(x: CLArray, dim: int, index: CLArray, src: Any) -> CLArray:
    """A copy of ``x`` with ``src`` written at ``index`` along ``dim`` (last duplicate wins)."""
    return _scatter(x, dim, index, src, False)


def scatter_add(x: CLArray, dim: int, index: CLArray, src: Any) -> CLArray:
    """A copy of ``x`` with ``src`` added at ``index`` along ``dim``; duplicates accumulate."""
    return _scatter(x, dim, index, src, True)


def index_select(x: CLArray, dim: int, index: CLArray) -> CLArray:
    """Entries along ``dim`` picked by a 1-D index: a gather with the index broadcast."""
    dim %= max(x.ndim, 1)
    shape = tuple(index.shape[0] if d == dim else n for d, n in enumerate(x.shape))
    strides = tuple(index.strides[0] if d == dim else 0 for d in range(x.ndim))
    return gather(x, dim, index.view(shape, strides, index.offset))


def index_put(x: CLArray, index: CLArray, values: Any, accumulate: bool) -> CLArray:
    """A copy of ``x`` with rows ``index[i]`` set to (or, accumulating, added) ``values[i]``."""
    shape = (index.shape[0],) + x.shape[1:]
    idx = index.view(shape, (index.strides[0],) + (0,) * (x.ndim - 1), index.offset)
    if isinstance(values, CLArray):
        from ember_opencl.codegen import broadcast_strides
        values = values.view(shape, broadcast_strides(values, shape), values.offset)
    return _scatter(x, 0, idx, values, accumulate)


_CHUNK = 4096


def nonzero(x: CLArray) -> CLArray:
    """(n, ndim) int64 coordinates of the non-zero elements in C order.

    Two passes over fixed-size chunks: count per chunk, then each chunk writes its
    coordinates at its prefix-sum offset (the small counts array makes the one host trip
    that a data-dependent output size needs anyway).
    """
    x = contiguous(x)
    n = x.size
    ndim = x.ndim
    if n == 0:
        return empty((0, ndim), np.int64, x.device)
    dev = runtime.device(x.device)
    nchunks = -(-n // _CHUNK)
    t = ctype(x.dtype)
    counts = empty((nchunks,), np.int64, x.device)
    kc = dev.kernel(("nzcount", t), lambda: header(t) + (
        f"__kernel void cnt(__global long* c, __global const {t}* x, long off, long n, long C) {{\n"
        "  long g = get_global_id(0); long a = g * C; if (a >= n) return;\n"
        "  long b = min(n, a + C), k = 0;\n"
        "  for (long i = a; i < b; i++) k += (x[off + i] != 0);\n  c[g] = k;\n}\n"),
        "cnt", [None, None, np.int64, np.int64, np.int64])
    run_1d(kc, dev, nchunks, [counts.base_buffer, x.base_buffer, x.offset, n, _CHUNK])
    host_counts = to_host(counts)
    starts = np.concatenate([[0], np.cumsum(host_counts)[:-1]]).astype(np.int64)
    total = int(host_counts.sum())
    out = empty((total, ndim), np.int64, x.device)
    if total == 0 or ndim == 0:
        return out
    dstart = from_host(starts, x.device)
    dshape = from_host(np.array(x.shape, np.int64), x.device)
    kw = dev.kernel(("nzwrite", t), lambda: header(t) + (
        f"__kernel void wr(__global long* o, __global const long* st, __global const {t}* x,"
        " long off, long n, long C, __global const long* shp, int nd) {\n"
        "  long g = get_global_id(0); long a = g * C; if (a >= n) return;\n"
        "  long b = min(n, a + C), k = st[g];\n"
        "  for (long i = a; i < b; i++) {\n"
        "    if (x[off + i] == 0) continue;\n"
        "    long r = i;\n"
        "    for (int d = nd - 1; d >= 0; d--) { o[k * nd + d] = r % shp[d]; r /= shp[d]; }\n"
        "    k++;\n  }\n}\n"),
        "wr", [None, None, None, np.int64, np.int64, np.int64, None, np.int32])
    run_1d(kw, dev, nchunks, [out.base_buffer, dstart.base_buffer, x.base_buffer, x.offset, n,
                              _CHUNK, dshape.base_buffer, ndim])
    return out


KERNELS: dict[str, Callable[..., Any]] = {
    "gather": gather, "scatter": scatter, "scatter_add": scatter_add,
    "index_select": index_select, "index_put": index_put, "nonzero": nonzero}
