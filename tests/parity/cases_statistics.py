"""Parity rows for the statistics family (ember.functions.statistics): NaN-ignoring reductions,
order statistics (kthvalue, mode, nanmedian, quantile), aminmax, the scans cummax/cummin/
logcumsumexp, diff, and stable sort/argsort with ties and NaN.

Where PyTorch leaves an index unspecified (kthvalue among equal values: its CPU quickselect), the
rows draw distinct values or compare the values alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity_cases import (
    ALL,
    BOOL,
    F32,
    F64,
    FLOAT,
    FLOAT_INT,
    I32,
    I64,
    NUMERIC,
    In,
    OpSpec,
    Sample,
    listed,
    method,
    ns,
)

S = Sample
INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _red(kind: str = "any", dims: bool = True, empty: bool = True, **extra: Any) -> Callable[[str], list[Sample]]:
    """A reduction's samples over ``kind`` values: all, one dim, keepdim, several dims, 0-d with dim
    0/-1/1, empty, non-contiguous, out of range."""

    def samples(dtype: str) -> list[Sample]:
        def s(name: str, shape: tuple, layout: str = "contiguous", core: bool = False, **kw: Any) -> Sample:
            return S(name, (In(shape, kind=kind, layout=layout),), {**extra, **kw}, core)

        out = [s("all", (3, 4), core=True), s("dim0", (3, 4), dim=0), s("keepdim", (2, 3, 4), dim=-1, keepdim=True),
               s("scalar", ()), s("scalar_dim0", (), dim=0), s("scalar_dimm1", (), dim=-1), s("scalar_dim1", (), dim=1),
               s("transposed", (3, 4), "T", dim=1), s("strided", (3, 4), "step", dim=0),
               s("expanded", (3, 4), "expand", dim=0), s("bad_dim", (3, 4), dim=2)]
        if dims:
            out.append(s("dims", (2, 3, 4), dim=(0, 2)))
        if empty:
            out += [s("empty_all", (0, 3)), s("empty_dim0", (0, 3), dim=0), s("empty_dim1", (0, 3), dim=1)]
        return out

    return samples


def _along(kind: str = "any", **extra: Any) -> Callable[[str], list[Sample]]:
    """A one-dim op's samples (scans, selections): rows, columns, keepdim, 0-d with dim 0/-1/1,
    empty, non-contiguous, out of range."""

    def samples(dtype: str) -> list[Sample]:
        def s(name: str, shape: tuple, layout: str = "contiguous", core: bool = False, **kw: Any) -> Sample:
            return S(name, (In(shape, kind=kind, layout=layout),), {**extra, **kw}, core)

        return [s("dim1", (3, 7), dim=1, core=True), s("dim0", (5, 3, 2), dim=0), s("dimm1", (2, 3, 9), dim=-1),
                s("scalar_dim0", (), dim=0), s("scalar_dimm1", (), dim=-1), s("scalar_dim1", (), dim=1),
                s("empty_rows", (0, 3), dim=1), s("empty_dim", (3, 0), dim=1), s("transposed", (4, 5), "T", dim=1),
                s("strided", (3, 4), "step", dim=1), s("expanded", (3, 4), "expand", dim=0),
                s("permuted", (2, 3, 4), "permute", dim=1), s("bad_dim", (3, 4), dim=2)]

    return samples


def _select(kind: str, skip: tuple = (), **extra: Any) -> Callable[[str], list[Sample]]:
    """_along plus keepdim, for the ops returning (values, indices) of one element per row."""
    base = _along(kind, **extra)

    def samples(dtype: str) -> list[Sample]:
        return [*(s for s in base(dtype) if s.name not in skip), S("keepdim", (In((3, 5), kind=kind),), {**extra, "dim": 0, "keepdim": True}),
                S("default_dim", (In((4, 6), kind=kind),), extra)]

    return samples


def _nan_row(name: str, values_only: bool = False) -> Callable[..., Any]:
    """``lib.<name>(x, ...)`` with x's first row all NaN; ``values_only``: where PyTorch's index in an
    all-NaN row is its selection algorithm's leftover."""
    def call(lib: Any, x: Any, *args: Any, **kwargs: Any) -> Any:
        x = lib.cat([lib.full_like(x[:1], float("nan")), x[1:]])
        out = getattr(lib, name)(x, *args, **kwargs)
        return out[0] if values_only and isinstance(out, tuple) else out
    return call


def _nan_reductions() -> list[OpSpec]:
    return [
        OpSpec("nansum", ns("nansum"), _red("special"), FLOAT),
        OpSpec("nansum.int", ns("nansum"), _red(), (I64, I32, BOOL)),
        OpSpec("nansum.dtype", ns("nansum"), listed(S("f64", (In((3, 4), kind="special"),), {"dim": 1, "dtype": "dtype:float64"}),
                                                    S("int_to_f32", (In((3, 4), dtype=I64),), {"dtype": "dtype:float32"})), (F32,)),
        OpSpec("nansum.method", method("nansum"), _red("special", dims=False), FLOAT),
        OpSpec("nanmean", ns("nanmean"), _red("special"), FLOAT),
        OpSpec("nanmean.all_nan", _nan_row("nanmean"), listed(S("rows", (In((3, 4), kind="special"),), {"dim": 1}),
                                                              S("cols", (In((3, 4), kind="special"),), {"dim": 0})), FLOAT),
        OpSpec("nanmedian.all_nan", _nan_row("nanmedian", values_only=True), listed(S("rows", (In((3, 4), kind="special"),), {"dim": 1}),
                                                                  S("all", (In((3, 4)),))), FLOAT),
        OpSpec("nanmean.int", ns("nanmean"), listed(S("int", (In((3, 4)),)), S("int_dtype", (In((3, 4)),), {"dtype": "dtype:float32"})),
               (I64, BOOL)),
        # PyTorch's nanmedian(dim) reads garbage from a stride-0 (expanded) input: no expanded sample
        OpSpec("nanmedian", ns("nanmedian"), _select("special", skip=("expanded",)), FLOAT),
        OpSpec("nanmedian.int", ns("nanmedian"), _select("any", skip=("expanded",)), (I64, I32)),
        OpSpec("nanmedian.all", ns("nanmedian"), listed(S("matrix", (In((3, 4), kind="special"),)),
                                                        S("scalar", (In(()),)), S("empty", (In((0, 3)),)),
                                                        S("transposed", (In((3, 4), kind="special", layout="T"),))), FLOAT_INT),
        OpSpec("nanmedian.bool", ns("nanmedian"), listed(S("all", (In((3,)),)), S("dim", (In((3,)),), {"dim": 0})), (BOOL,)),
        OpSpec("nanmedian.method", method("nanmedian"), listed(S("dim", (In((4, 5), kind="special"),), {"dim": 1})), FLOAT),
    ]


def _values(name: str) -> Callable[..., Any]:
    """``lib.<name>(...).values``: where PyTorch's index among equal values is unspecified."""
    return lambda lib, *a, **k: getattr(lib, name)(*a, **k).values


def _order_stats() -> list[OpSpec]:
    def kth(kind: str) -> Callable[[str], list[Sample]]:
        def samples(dtype: str) -> list[Sample]:
            def s(name: str, shape: tuple, k: int, layout: str = "contiguous", **kw: Any) -> Sample:
                return S(name, (In(shape, kind=kind, layout=layout), k), kw)

            return [s("k2", (3, 6), 2), s("k1_dim0", (5, 3), 1, dim=0), s("klast", (3, 6), 6),
                    s("keepdim", (2, 3, 4), 3, dim=1, keepdim=True), s("scalar", (), 1), s("scalar_dim0", (), 1, dim=0),
                    s("scalar_k2", (), 2), s("empty_rows", (0, 3), 1, dim=1), s("empty_dim", (0, 3), 1, dim=0),
                    s("k0", (3, 4), 0), s("k_big", (3, 4), 5), s("transposed", (4, 5), 2, "T"),
                    s("strided", (3, 4), 3, "step"), s("bad_dim", (3, 4), 1, dim=2)]

        return samples

    def quant(q: Any, **kw: Any) -> Callable[[str], list[Sample]]:
        def samples(dtype: str) -> list[Sample]:
            return [S(f"{mode}{name}", (In(shape, kind=kind, layout=layout), q), {**kw, **extra, "interpolation": mode})
                    for mode in INTERPOLATIONS
                    for name, shape, kind, layout, extra in (
                        ("", (3, 5), "any", "contiguous", {}),
                        ("_dim1", (3, 5), "any", "contiguous", {"dim": 1}),
                        ("_dim0_keep", (4, 3), "ties", "contiguous", {"dim": 0, "keepdim": True}),
                        ("_keep_all", (2, 3), "any", "contiguous", {"keepdim": True}),
                        ("_nan", (4, 6), "special", "contiguous", {"dim": 1}),
                        ("_T", (4, 5), "any", "T", {"dim": 0}),
                        ("_scalar", (), "any", "contiguous", {}),
                        ("_scalar_dim", (), "any", "contiguous", {"dim": -1}))]

        return samples

    q_vec = In((4,), kind="unit")
    q_errors = listed(
        S("empty", (In((0, 3)), 0.5)), S("q_big", (In((3, 4)), 1.5)), S("q_neg", (In((3, 4)), -0.1)),
        S("q_2d", (In((3, 4)), In((1, 2), kind="unit"))), S("q_dtype", (In((3, 4)), In((2,), dtype=F64, kind="unit"))),
        S("q_tensor_big", (In((3, 4)), In((2,), kind="large"))), S("mode", (In((3, 4)), 0.5), {"interpolation": "foo"}),
        S("bad_dim", (In((3, 4)), 0.5), {"dim": 2}), S("q_empty", (In((3, 4)), In((0,))), {"dim": 0}),
        S("q0d", (In((3, 4)), In((), kind="unit")), {"dim": 1}))
    return [
        OpSpec("kthvalue", ns("kthvalue"), kth("nan_unique"), FLOAT),
        OpSpec("kthvalue.ties", _values("kthvalue"), listed(S("ties", (In((4, 6), kind="ties", grad=False), 3), {"dim": 1})), FLOAT),
        OpSpec("kthvalue.int", _values("kthvalue"), kth("any"), (I64, I32)),
        OpSpec("kthvalue.bool", ns("kthvalue"), listed(S("bool", (In((4,)), 1))), (BOOL,)),
        OpSpec("kthvalue.method", method("kthvalue"), listed(S("k", (In((3, 5), kind="nan_unique"), 2), {"dim": 1})), FLOAT),
        # ties with at most 16 elements a row: PyTorch's CPU mode is then deterministic (insertion sort)
        OpSpec("mode", ns("mode"), _select("ties"), (F32, F64, I64, I32, BOOL)),
        OpSpec("mode.method", method("mode"), listed(S("dim0", (In((6, 3), kind="ties"),), {"dim": 0})), FLOAT_INT),
        OpSpec("quantile", ns("quantile"), quant(0.3), FLOAT),
        OpSpec("quantile.q_ends", ns("quantile"), listed(*(S(f"q{q}", (In((3, 5)), q), {"dim": 1}) for q in (0.0, 1.0, 0.5))),
               FLOAT),
        OpSpec("quantile.q_tensor", ns("quantile"), quant(q_vec), FLOAT),
        OpSpec("quantile.errors", ns("quantile"), q_errors, (F32,)),
        OpSpec("quantile.int", ns("quantile"), listed(S("int", (In((3, 4)), 0.5))), (I64,)),
        OpSpec("quantile.method", method("quantile"), listed(S("dim", (In((3, 5)), q_vec), {"dim": 1})), FLOAT),
        OpSpec("nanquantile", ns("nanquantile"), quant(0.7), FLOAT),
        OpSpec("nanquantile.q_tensor", ns("nanquantile"), quant(q_vec), FLOAT),
        OpSpec("nanquantile.all_nan", _nan_row("nanquantile"), listed(
            S("rows", (In((3, 4), kind="special"), 0.5), {"dim": 1}),
            S("q_vec", (In((3, 4), kind="special"), In((3,), kind="unit")), {"dim": 1}),
            S("nearest", (In((3, 4), kind="special"), 0.4), {"dim": 1, "interpolation": "nearest"})), FLOAT),
        OpSpec("nanquantile.errors", ns("nanquantile"), q_errors, (F32,)),
    ]


def _aminmax() -> list[OpSpec]:
    def samples(kind: str) -> Callable[[str], list[Sample]]:
        return listed(S("all", (In((3, 4), kind=kind),)), S("dim1", (In((3, 4), kind=kind),), {"dim": 1}),
                      S("dim0_keep", (In((3, 4), kind=kind),), {"dim": 0, "keepdim": True}),
                      S("keep_all", (In((2, 3), kind=kind),), {"keepdim": True}), S("scalar", (In(()),)),
                      S("scalar_dim0", (In(()),), {"dim": 0}), S("scalar_dim1", (In(()),), {"dim": 1}),
                      S("empty", (In((0, 3)),)), S("empty_dim0", (In((0, 3)),), {"dim": 0}),
                      S("empty_dim1", (In((0, 3)),), {"dim": 1}), S("T", (In((3, 4), kind=kind, layout="T"),), {"dim": 1}),
                      S("bad_dim", (In((3, 4)),), {"dim": 2}))

    return [OpSpec("aminmax", ns("aminmax"), samples("ties"), ALL),
            OpSpec("aminmax.nan", ns("aminmax"), samples("special"), FLOAT),
            OpSpec("aminmax.method", method("aminmax"), listed(S("dim", (In((3, 4)),), {"dim": 0})), FLOAT)]


def _scans() -> list[OpSpec]:
    rows = []
    for name in ("cummax", "cummin"):
        rows += [OpSpec(name, ns(name), _along("ties"), (F32, F64, I64, I32, BOOL)),
                 OpSpec(f"{name}.nan", ns(name), _along("special"), FLOAT),
                 OpSpec(f"{name}.long", ns(name), listed(S("long", (In((2, 37), kind="ties"),), {"dim": 1})), FLOAT_INT),
                 OpSpec(f"{name}.method", method(name), listed(S("dim", (In((4, 5), kind="ties"),), {"dim": 0})), FLOAT)]
    rows += [
        OpSpec("logcumsumexp", ns("logcumsumexp"), _along(), FLOAT, tol=4),
        OpSpec("logcumsumexp.special", ns("logcumsumexp"), _along("special"), FLOAT, tol=4),
        # |x| ~ 400 in float32: both frameworks' gradients carry ~1e-4 relative rounding
        OpSpec("logcumsumexp.large", ns("logcumsumexp"), listed(S("large", (In((3, 40), kind="large"),), {"dim": 1})),
               FLOAT, tol=4, grad_tol=400),
        # values 500 apart: exp underflows unless the scan keeps a running maximum
        OpSpec("logcumsumexp.spread", lambda lib, x, **k: lib.logcumsumexp(x * 500, **k),
               listed(S("spread", (In((3, 9), kind="ties"),), {"dim": 1})), FLOAT, tol=4, grad_tol=400),
        OpSpec("logcumsumexp.int", ns("logcumsumexp"), listed(S("int", (In((3, 4)),), {"dim": 0}),
                                                              S("int_bad_dim", (In((3, 4)),), {"dim": 3})), (I64, BOOL)),
        OpSpec("logcumsumexp.method", method("logcumsumexp"), listed(S("dim", (In((4, 5)),), {"dim": 1})), FLOAT, tol=4),
    ]
    return rows


def _diff() -> list[OpSpec]:
    def samples(dtype: str) -> list[Sample]:
        a34 = In((3, 4))
        return [S("default", (a34,), {}, True), S("n2", (In((3, 6)),), {"n": 2}), S("n0", (a34,), {"n": 0}),
                S("n_big", (a34,), {"n": 5}), S("dim0", (In((4, 3)),), {"dim": 0}),
                S("prepend", (a34,), {"prepend": In((3, 2))}), S("append", (a34,), {"dim": 0, "append": In((1, 4))}),
                S("both", (a34,), {"n": 2, "prepend": In((3, 1)), "append": In((3, 2))}),
                S("prepend_f64", (a34,), {"prepend": In((3, 1), dtype=F64)}),
                S("prepend_ndim", (a34,), {"prepend": In((3,))}), S("append_shape", (a34,), {"dim": 0, "append": In((1, 3))}),
                S("neg_n", (a34,), {"n": -1}), S("scalar", (In(()),)), S("empty", (In((0,)),)),
                S("T", (In((3, 4), layout="T"),), {"dim": 0}), S("strided", (In((3, 4), layout="step"),)),
                S("bad_dim", (a34,), {"dim": 2}), S("positional", (a34, 1, 0, In((1, 4)), In((2, 4))), {})]

    return [OpSpec("diff", ns("diff"), samples, (F32, F64, I64, I32, BOOL)),
            OpSpec("diff.method", method("diff"), listed(S("n2", (In((3, 6)),), {"n": 2, "dim": 1})), FLOAT)]


def _stable_sort() -> list[OpSpec]:
    def samples(kind: str, **kw: Any) -> Callable[[str], list[Sample]]:
        def s(name: str, shape: tuple, layout: str = "contiguous", **more: Any) -> Sample:
            return S(name, (In(shape, kind=kind, layout=layout),), {"stable": True, **kw, **more})

        return lambda dtype: [s("rows", (4, 9)), s("dim0", (9, 3), dim=0), s("T", (5, 6), "T"),
                              s("long", (3, 40)), s("scalar", ()), s("empty", (0, 3), dim=0)]

    rows = []
    for name in ("sort", "argsort"):
        rows += [OpSpec(f"{name}.stable", ns(name), samples("ties"), (F32, F64, I64, I32, BOOL)),
                 OpSpec(f"{name}.stable_desc", ns(name), samples("ties", descending=True), (F32, F64, I64, I32, BOOL)),
                 OpSpec(f"{name}.stable_nan", ns(name), samples("special"), FLOAT),
                 OpSpec(f"{name}.stable_nan_desc", ns(name), samples("special", descending=True), FLOAT)]
    rows.append(OpSpec("sort.stable_method", method("sort"), listed(S("rows", (In((3, 8), kind="ties"),),
                                                                       {"stable": True, "dim": 0})), NUMERIC))
    return rows


def rows() -> list[OpSpec]:
    return _nan_reductions() + _order_stats() + _aminmax() + _scans() + _diff() + _stable_sort()
