"""Source generation helpers and the generic strided "map" kernel.

Every elementwise-style op is one work-item per output element. Operands keep their own
strides (so transposed/expanded/sliced inputs need no copy); shapes and strides are kernel
arguments, so one compiled kernel serves every shape of a given rank. Adjacent axes that are
contiguous for all operands are merged first and the rank is rounded up to a bucket
(1, 2, 4, 8, ...), which keeps the number of compiled variants (PoCL compiles slowly) small.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ember_opencl import runtime
from ember_opencl.array import CLArray
from ember_opencl.runtime import ctype

__all__ = ["Scalar", "header", "broadcast_strides", "collapse", "bucket", "launch_map", "map_plan",
           "run_1d", "index_code", "LOCAL", "acc_type", "tanh_sat_source"]

LOCAL = 256  # work-group size for 1-D launches (PoCL vectorises across work-items)


# dtype (or anything np.dtype takes) -> (the argument's dtype, its scalar type, bool or not): every
# tensor-scalar op makes a Scalar, and np.dtype() plus two dtype comparisons cost ~0.3 us of it
_SCALAR_SPECS: dict = {}


def _scalar_spec(dtype: Any) -> tuple:
    d = np.dtype(dtype)
    is_bool = d == np.bool_
    if is_bool:  # OpenCL kernels take bool arguments as uchar
        d = np.dtype(np.uint8)
    spec = _SCALAR_SPECS[dtype] = (d, d.type, is_bool)
    return spec


class Scalar:
    """A Python number passed as a kernel argument of dtype ``dtype``."""

    __slots__ = ("value", "dtype")

    def __init__(self, value: Any, dtype: np.dtype) -> None:
        spec = _SCALAR_SPECS.get(dtype)
        if spec is None:
            spec = _scalar_spec(dtype)
        self.dtype = spec[0]
        self.value = spec[1](bool(value) if spec[2] else value)


def acc_type(t: str) -> str:
    """The type a kernel computes and accumulates element type ``t`` in: double for double, float
    otherwise (half's range is tiny)."""
    return "double" if t == "double" else "float"


def tanh_sat_source(a: str) -> str:
    """``static a tanh_sat(a v)``: tanh that saturates explicitly past 9.1 (float) / 19.1 (double),
    where the correctly rounded result is +-1; PoCL's float tanh never reaches 1 (see
    ``elementwise._TANH``, the same rule as a map expression)."""
    sat = "19.1" if a == "double" else "9.1f"
    return f"static {a} tanh_sat({a} v) {{ return fabs(v) > {sat} ? (v > 0 ? 1 : -1) : tanh(v); }}\n"


def header(*ctypes: str) -> str:
    """Extension pragmas the given C types need."""
    out = []
    if "double" in ctypes:
        out.append("#pragma OPENCL EXTENSION cl_khr_fp64 : enable")
    if "half" in ctypes:
        out.append("#pragma OPENCL EXTENSION cl_khr_fp16 : enable")
    return "\n".join(out) + "\n"


def broadcast_strides(x: CLArray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Strides of ``x`` broadcast (NumPy rules) to ``shape``: zero for new or size-1 axes."""
    pad = len(shape) - x.ndim
    if pad < 0:
        raise ValueError(f"cannot broadcast shape {x.shape} to {shape}")
    out = [0] * pad
    for n, s, target in zip(x.shape, x.strides, shape[pad:]):
        if n == target:
            out.append(s if n != 1 else 0)
        elif n == 1:
            out.append(0)
        else:
            raise ValueError(f"cannot broadcast shape {x.shape} to {shape}")
    return tuple(out)


def collapse(shape: Sequence[int], strides: Sequence[Sequence[int]]
             ) -> tuple[list[int], list[list[int]]]:
    """Drop size-1 axes and merge neighbours that are contiguous for every operand."""
    dims = [d for d, n in enumerate(shape) if n != 1]
    if not dims:
        return [1], [[0] for _ in strides]
    new_shape = [shape[dims[0]]]
    new_strides = [[s[dims[0]]] for s in strides]
    for d in dims[1:]:
        n = shape[d]
        if all(ns[-1] == s[d] * n for ns, s in zip(new_strides, strides)):
            new_shape[-1] *= n
            for ns, s in zip(new_strides, strides):
                ns[-1] = s[d]
        else:
            new_shape.append(n)
            for ns, s in zip(new_strides, strides):
                ns.append(s[d])
    return new_shape, new_strides


def bucket(ndim: int) -> int:
    """The compiled rank for an array of rank ``ndim`` (powers of two)."""
    b = 1
    while b < ndim:
        b *= 2
    return b


def index_code(ndim: int, names: Sequence[str], shape: str = "n", flat: str = "gid") -> str:
    """C statements turning flat C-order index ``flat`` into offsets ``i_<name>``.

    Expects ``long <shape>0..`` and ``long <name>_off, <name>_s0..`` in scope.
    """
    lines = [f"long r = {flat};"]
    lines += [f"long i_{nm} = {nm}_off;" for nm in names]
    for d in range(ndim - 1, 0, -1):
        lines.append(f"{{ long c = r % {shape}{d}; r /= {shape}{d};")
        lines += [f"  i_{nm} += c * {nm}_s{d};" for nm in names]
        lines.append("}")
    lines += [f"i_{nm} += r * {nm}_s0;" for nm in names]
    return "\n  ".join(lines)


def run_1d(k: Any, dev: runtime.DeviceState, n: int, args: Sequence[Any]) -> None:
    """Enqueue ``k`` on ``n`` work-items (rounded up; kernels guard with their own ``n``).

    ``set_args`` + ``DeviceState.launch`` rather than ``Kernel.__call__``: the same work,
    without the generated invoker's keyword handling, and small launches get batched.
    """
    if n <= 0:
        return
    local = min(LOCAL, dev.max_wg)
    dev.launch(k, ((n + local - 1) // local * local,), (local,), args)


_EMPTY_PLAN = (None, None, None, None)


def launch_map(out: CLArray, operands: Sequence[CLArray | Scalar], expr: str,
               preamble: str = "") -> CLArray:
    """Write ``expr`` (in terms of ``v0``, ``v1``... the operand values) into every element
    of ``out``. Array operands broadcast to ``out.shape``; ``out`` may itself be a view.

    Everything that depends only on the layouts (collapsed shape and strides, the compiled
    kernel, the launch size) is a *plan*, cached per device under the expression and the
    dtype/shape/strides of every operand, so a repeated launch costs a dict lookup, one
    ``set_args`` and one enqueue (the kernel's static arguments come last in its signature).
    """
    key = [expr, preamble, out.dtype, out.shape, out.strides]
    dyn = [out.base_buffer, out.offset]
    for op in operands:
        if type(op) is Scalar:
            key.append(op.dtype)
            dyn.append(op.value)
        else:
            key.append((op.dtype, op.shape, op.strides))
            dyn.append(op.base_buffer)
            dyn.append(op.offset)
    key = tuple(key)
    dev = runtime.device(out.device)
    plan = dev.plans.get(key)
    if plan is None:
        plan = _map_plan(dev, out, operands, expr, preamble)
        if len(dev.plans) > 4096:
            dev.plans.clear()
        dev.plans[key] = plan
    k, static, gsize, lsize = plan
    if k is None:
        return out
    dev.launch(k, gsize, lsize, (*dyn, *static))
    return out


def map_plan(out: CLArray, operands: Sequence[CLArray | Scalar], expr: str,
             preamble: str = "") -> tuple[runtime.DeviceState, Any, list, tuple[int], tuple[int]]:
    """(device, kernel, static arguments, global size, local size) of :func:`launch_map`'s launch
    for these layouts: a caller that knows the layouts repeat (a compiled graph's replay) launches
    it again with ``dev.launch(kernel, gsize, lsize, (out buffer, out offset, <per operand: buffer,
    offset or scalar value>, *static))``. The kernel is None when there is nothing to launch."""
    dev = runtime.device(out.device)
    return (dev, *_map_plan(dev, out, operands, expr, preamble))


def _map_signature(out_t: str, spec: tuple, nd: int, rows: bool) -> tuple[list[str], list[str], list[str]]:
    """(parameters, operand loads, index names) of a map kernel over ``nd`` axes: per-call arguments
    first (buffers, offsets, scalars), then the plan's strides and shape; a row kernel (``rows``)
    adds each operand's innermost stride, the row length and the row count, and loads element
    ``k`` of its row."""
    params = [f"__global {out_t}* o, long o_off"]
    stride_params = [f"long o_s{d}" for d in range(nd)]
    inner_params = ["long o_si"]
    loads, names = [], ["o"]
    for j, (kind, t) in enumerate(spec):
        if kind == "s":
            params.append(f"const {t} v{j}")
            continue
        params.append(f"__global const {t}* p{j}, long p{j}_off")
        stride_params += [f"long p{j}_s{d}" for d in range(nd)]
        inner_params.append(f"long p{j}_si")
        loads.append(f"const {t} v{j} = p{j}[i_p{j}{f' + k * p{j}_si' if rows else ''}];")
        names.append(f"p{j}")
    tail = inner_params + ["long n_in", "long rows"] if rows else ["long total"]
    return params + stride_params + [f"long n{d}" for d in range(nd)] + tail, loads, names


#: a strided map runs one work-item per innermost row (instead of per element) from this many rows
ROW_MIN = 16


def _row_plan(dev: runtime.DeviceState, cshape: list[int], cstrides: list[list[int]],
              operands: Sequence[CLArray | Scalar], spec: tuple, out_t: str, expr: str,
              preamble: str) -> tuple[Any, list, tuple[int], tuple[int]]:
    """A map over a layout that does not collapse to one axis (broadcast, transposed or sliced
    operands), on a CPU device: one work-item per row of the innermost axis, which loops over the
    row. The flat index's division into coordinates (64-bit divisions, which PoCL cannot
    vectorise: ~14 ns per element for a bias add's three axes) then happens once per row.
    Same arguments as the per-element kernel: shape/strides of the outer axes (bucketed like it),
    then the row's length and stride per operand, and the number of rows in ``total``'s place."""
    inner = cshape[-1]
    outer_shape, outer_strides = cshape[:-1], [st[:-1] for st in cstrides]
    inner_strides = [st[-1] for st in cstrides]
    nd = bucket(len(outer_shape))
    pad = nd - len(outer_shape)
    outer_shape = [1] * pad + outer_shape
    outer_strides = [[0] * pad + st for st in outer_strides]
    rows = math.prod(outer_shape)
    arrays = [op for op in operands if not isinstance(op, Scalar)]
    key = ("map-rows", expr, preamble, out_t, spec, nd)

    def source() -> str:
        params, loads, names = _map_signature(out_t, spec, nd, rows=True)
        return (header(out_t, *(t for _, t in spec)) + preamble + "\n"
                f"__kernel void map({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0);\n  if (gid >= rows) return;\n  "
                + index_code(nd, names) + "\n  for (long k = 0; k < n_in; k++) {\n    "
                + "\n    ".join(loads)
                + f"\n    o[i_o + k * o_si] = ({out_t})({expr});\n  }}\n}}\n")

    arg_types: list = [None, np.int64]
    for op in operands:
        arg_types += [op.dtype] if isinstance(op, Scalar) else [None, np.int64]
    static = [np.int64] * (nd * (1 + len(arrays)) + nd + (1 + len(arrays)) + 2)
    k = dev.kernel(key, source, "map", arg_types + static)
    static_args = [s for st in outer_strides for s in st] + outer_shape + inner_strides + [inner, rows]
    local = min(LOCAL, dev.max_wg)
    return k, static_args, ((rows + local - 1) // local * local,), (local,)


def _map_plan(dev: runtime.DeviceState, out: CLArray, operands: Sequence[CLArray | Scalar],
              expr: str, preamble: str) -> tuple[Any, list, tuple[int], tuple[int]]:
    """(kernel, shape/stride arguments, global size, local size) of one map launch."""
    total = out.size
    if total == 0:
        return _EMPTY_PLAN
    shape = out.shape
    arrays = [op for op in operands if not isinstance(op, Scalar)]
    all_strides = [out.strides] + [broadcast_strides(a, shape) for a in arrays]
    cshape, cstrides = collapse(shape, all_strides)
    spec = tuple(("s", ctype(op.dtype)) if isinstance(op, Scalar) else ("a", ctype(op.dtype))
                 for op in operands)
    out_t = ctype(out.dtype)
    if len(cshape) >= 2 and not dev.is_gpu and total // cshape[-1] >= ROW_MIN:
        return _row_plan(dev, cshape, cstrides, operands, spec, out_t, expr, preamble)
    nd = bucket(len(cshape))
    pad = nd - len(cshape)
    cshape = [1] * pad + cshape
    cstrides = [[0] * pad + s for s in cstrides]
    key = ("map", expr, preamble, out_t, spec, nd)

    def source() -> str:
        # Per-call arguments first (buffers, offsets, scalars), then the plan's shape/strides.
        params, loads, names = _map_signature(out_t, spec, nd, rows=False)
        body = index_code(nd, names)
        return (header(out_t, *(t for _, t in spec)) + preamble + "\n"
                f"__kernel void map({', '.join(params)}) {{\n"
                "  long gid = get_global_id(0);\n  if (gid >= total) return;\n  "
                + body + "\n  " + "\n  ".join(loads)
                + f"\n  o[i_o] = ({out_t})({expr});\n}}\n")

    arg_types: list = [None, np.int64]
    for op in operands:
        arg_types += [op.dtype] if isinstance(op, Scalar) else [None, np.int64]
    static = [np.int64] * (nd * (1 + len(arrays)) + nd + 1)
    k = dev.kernel(key, source, "map", arg_types + static)
    static_args = [s for st in cstrides for s in st] + cshape + [total]
    local = min(LOCAL, dev.max_wg)
    return k, static_args, ((total + local - 1) // local * local,), (local,)
