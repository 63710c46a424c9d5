"""Parity rows in bfloat16 and float16 (issue #18): the main table's float rows run again in the two
16-bit dtypes, on every device (cpu stores bfloat16 through ml_dtypes and computes in float32;
OpenCL without cl_khr_fp16 stores 16 bits and computes in float32 on the device).

Each derived row keeps at most two samples (the core ones first) to keep the case count modest;
its tolerance is the main row's, on top of the per-dtype tolerance of parity_compare.TOLERANCES.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import ml_dtypes  # noqa: F401 - registers NumPy's "bfloat16" dtype name used by make_array
import parity_cases as pc
from parity_cases import DEVICE, F32, In, OpSpec, S, Sample, listed, ns

BF16, F16 = "bfloat16", "float16"
LOWP = (BF16, F16)

# Rows whose PyTorch CPU kernel lacks a 16-bit version, or whose result is too sensitive to one
# rounding for an 8-bit mantissa (ember rounds after every composite step, PyTorch once).
_SKIP = {
    "cumprod", "prod", "logsumexp", "norm", "std", "var", "std.correction0", "norm.p1", "F.normalize",
    "einsum.trace_sum", "tensordot", "F.softmin", "remainder", "fmod", "floor_divide", "atan2", "erf",
    # ember differentiates gelu(tanh) in the input dtype: x**3 overflows float16 for |x| > 40 (NaN grad)
    "F.gelu.tanh_large",
}


def _first_two(samples: Callable[[str], list[Sample]]) -> Callable[[str], list[Sample]]:
    def pick(dtype: str) -> list[Sample]:
        every = samples(dtype)
        chosen = [s for s in every if s.core][:2] or every[:2]
        return [dataclasses.replace(s, core=True) for s in chosen]

    return pick


def _derived() -> list[OpSpec]:
    base = [OpSpec(name, ns(name), pc.unary(kind), dts) for name, (kind, dts) in pc.UNARY_FLOAT.items()]
    base += [OpSpec(name, ns(name), pc.binary(ka, kb), dts) for name, (ka, kb, dts) in pc.BINARY.items()]
    base += [OpSpec(name, ns(name), pc.binary(), pc.ALL) for name in pc.COMPARISONS]
    base += [OpSpec(name, ns(name), family, dts) for name, (dts, family) in pc.REDUCTIONS.items()]
    for group in (pc._dim_reductions, pc._shape_ops, pc._matmul_ops, pc._activations, pc._losses):
        base += group()
    rows = []
    for op in base:
        if F32 not in op.dtypes or op.name in _SKIP or op.random:
            continue
        rows.append(dataclasses.replace(op, name=f"{op.name}.lowp", dtypes=LOWP, samples=_first_two(op.samples),
                                        tol=max(op.tol, 4.0)))
    return rows


def _specific() -> list[OpSpec]:
    """Rows about the 16-bit dtypes themselves: conversions, promotion, creation."""
    x = In((3, 4))
    return [
        OpSpec("lowp.to_float32", lambda lib, a: a.float(), listed(S("plain", (x,)), S("T", (In((3, 4), layout="T"),))),
               LOWP),
        OpSpec("lowp.from_float32", lambda lib, a: a.bfloat16(), listed(S("plain", (x,))), (F32, "float64", F16)),
        OpSpec("lowp.to_half", lambda lib, a: a.half(), listed(S("plain", (x,))), (F32, BF16)),
        OpSpec("lowp.mixed_add", lambda lib, a, b: a + b.to(lib.float16),
               listed(S("bf16_f16", (x, In((3, 4)))), S("scalar", (x, In(())))), (BF16,)),
        OpSpec("lowp.scalar_ops", lambda lib, a: (a * 2.5 + 1, a / 3, a ** 2, a > 0.5), listed(S("plain", (x,))),
               LOWP),
        OpSpec("lowp.int_promote", lambda lib, a, i: a + i, listed(S("int", (x, In((3, 4), dtype="int64")))), LOWP),
        OpSpec("lowp.tensor_ctor", lambda lib, d, dev: lib.tensor([1.0, 2.5, 1 / 3, 65504.0, 1e-8, 1e39], dtype=d, device=dev),
               listed(S("bf16", ("dtype:bfloat16", DEVICE)), S("f16", ("dtype:float16", DEVICE))), (F32,)),
        OpSpec("lowp.full", lambda lib, d, dev: lib.full((2, 3), 1 / 3, dtype=d, device=dev) + lib.arange(3, dtype=d, device=dev),
               listed(S("bf16", ("dtype:bfloat16", DEVICE)), S("f16", ("dtype:float16", DEVICE))), (F32,)),
        OpSpec("lowp.round_to_even", lambda lib, a: (a.bfloat16(), a.half()),
               listed(S("ties", (In((6,), kind="ties"),))), ("float64",)),
        OpSpec("lowp.sum_accumulates_in_f32", lambda lib, a: (a.sum(), a.mean(), a.cumsum(0)),
               listed(S("long", (In((512,), kind="unit"),))), LOWP, tol=2),
        OpSpec("lowp.cat_where", lambda lib, a, b: (lib.cat([a, b]), lib.where(a > 0, a, b), a.flip(0), a.T.contiguous()),
               listed(S("plain", (x, In((3, 4))))), LOWP),
        OpSpec("lowp.index", lambda lib, a, i: (a[i], a.index_select(0, i), a.gather(0, i.view(1, -1).expand(3, -1))),
               listed(S("plain", (x, pc.ix((3,), 3)))), LOWP),
    ]


def rows() -> list[OpSpec]:
    return _derived() + _specific()
