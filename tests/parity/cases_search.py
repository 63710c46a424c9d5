"""Parity rows for sets, search and counting (unique, searchsorted, bucketize, histc, bincount,
histogram), the scatter_reduce/index_reduce/index_copy family and the matrix helpers of
functions/linalg.py (diag_embed, trace, cross, kron, cdist, tensordot, outer, block_diag,
cartesian_prod, tril/triu_indices, vander, rot90): issue #14 sections 3 and 4."""

from __future__ import annotations

from typing import Any

from parity_cases import BOOL, DEVICE, F32, F64, I32, I64, NUMERIC, In, OpSpec, ix, listed, method, ns
from parity_cases import Sample as S

ON = {"device": DEVICE}
ALL64 = (F64, F32, I64, I32, BOOL)  # float64 first: it gets every sample, and the tightest gradients


def _sorted(lib: Any, b: Any) -> Any:
    return lib.sort(b, dim=-1).values


def _set_rows() -> list[OpSpec]:
    def uniq(**kw: Any) -> Any:
        return lambda lib, x: lib.unique(x, **kw)

    def with_dup_rows(name: str, dim: int, **kw: Any) -> Any:
        # the first two slices along dim appear twice, so there are duplicates to merge
        return lambda lib, x: getattr(lib, name)(lib.cat([x, x.narrow(dim, 0, 2)], dim), dim=dim, **kw)

    both = {"return_inverse": True, "return_counts": True}
    ties = In((3, 4), kind="ties")
    return [
        OpSpec("unique", ns("unique"), listed(
            S("vector", (In((8,), kind="ties"),)), S("inverse_counts", (ties,), both),
            S("counts_only", (ties,), {"return_counts": True}), S("scalar", (In(()),), both),
            S("empty", (In((0, 3)),), both), S("nan", (In((10,), kind="special"),), both),
            S("transposed", (In((3, 4), kind="ties", layout="T"),), {"return_inverse": True}),
            S("unsorted", (ties,), {"sorted": False, "return_inverse": True}),
            S("bad_dim", (ties,), {"dim": 2}), S("dim_on_scalar", (In(()),), {"dim": 0}),
            S("dim_other_empty", (In((3, 0)),), {"dim": 0}), S("dim_empty", (In((0, 3)),), {"dim": 0, **both})), ALL64),
        OpSpec("unique.dim0", with_dup_rows("unique", 0, **both), listed(
            S("rows", (In((4, 3), kind="ties"),)), S("transposed", (In((4, 3), kind="ties", layout="T"),))), ALL64),
        OpSpec("unique.dim1", with_dup_rows("unique", 1, **both), listed(
            S("cols", (In((2, 4), kind="ties"),)), S("three_d", (In((2, 3, 2), kind="ties"),))), ALL64),
        OpSpec("unique.method", method("unique"), listed(S("plain", (In((6,), kind="ties"),), {"return_counts": True})),
               (I64,)),
        OpSpec("unique_consecutive", ns("unique_consecutive"), listed(
            S("vector", (In((10,), kind="ties"),)), S("inverse_counts", (In((3, 4), kind="ties"),), both),
            S("scalar", (In(()),), both), S("empty", (In((0,)),), both),
            S("nan", (In((10,), kind="special"),), both), S("strided", (In((3, 4), kind="ties", layout="step"),), both),
            S("dim_on_scalar", (In(()),), {"dim": 0})), ALL64),
        OpSpec("unique_consecutive.dim", with_dup_rows("unique_consecutive", 0, **both),
               listed(S("rows", (In((3, 2), kind="ties"),))), ALL64),
        OpSpec("unique_consecutive.dim1", lambda lib, x: lib.unique_consecutive(x.repeat_interleave(2, dim=1), dim=1,
                                                                                 return_counts=True),
               listed(S("cols", (In((2, 3), kind="ties"),))), (F32, I64)),
    ]


def _search_rows() -> list[OpSpec]:
    def ss(**kw: Any) -> Any:
        return lambda lib, b, v: lib.searchsorted(_sorted(lib, b), v, **kw)

    b6, v34 = In((6,), kind="ties"), In((3, 4), kind="ties")
    return [
        OpSpec("searchsorted", ss(), listed(
            S("vector", (b6, v34)), S("nd", (In((3, 5), kind="ties"), In((3, 4), kind="ties"))),
            S("nd_mismatch", (In((3, 5)), In((2, 4)))), S("nd_rank_mismatch", (In((3, 5)), In((3, 4, 1)))),
            S("empty_values", (b6, In((0,)))), S("empty_boundaries", (In((0,)), v34)),
            S("nan", (In((6,), kind="special"), In((3, 4), kind="special"))),
            S("noncontig", (b6, In((3, 4), kind="ties", layout="T"))), S("zerod_values", (b6, In((), kind="ties"))),
            S("zerod_boundaries", (In(()), v34)), S("mixed_dtype", (b6, In((3, 4), dtype=F64, kind="ties"))),
            S("big", (In((37,), kind="ties"), In((50,))))), NUMERIC),
        OpSpec("searchsorted.right", ss(right=True), listed(S("vector", (b6, v34)),
                                                            S("nd", (In((2, 5), kind="ties"), In((2, 3), kind="ties")))),
               NUMERIC),
        OpSpec("searchsorted.side", ss(side="right", out_int32=True), listed(S("vector", (b6, v34))), NUMERIC),
        OpSpec("searchsorted.side_left", ss(side="left"), listed(S("vector", (b6, v34))), (F32,)),
        OpSpec("searchsorted.side_conflict", ss(side="left", right=True), listed(S("vector", (b6, v34))), (F32,)),
        OpSpec("searchsorted.side_bad", ss(side="middle"), listed(S("vector", (b6, v34))), (F32,)),
        OpSpec("searchsorted.scalar", lambda lib, b, v: lib.searchsorted(_sorted(lib, b), v),
               listed(S("int", (b6, 1)), S("float", (b6, 0.5)), S("nd", (In((2, 3)), 1))), (F32, I64)),
        OpSpec("searchsorted.sorter", lambda lib, b, v: lib.searchsorted(b, v, sorter=lib.argsort(b, dim=-1)),
               listed(S("vector", (In((7,)), In((3, 4)))), S("nd", (In((2, 6)), In((2, 3)))),
                      S("right", (In((7,)), In((3, 4))))), (F64, I64)),
        OpSpec("searchsorted.sorter_errors", lambda lib, b, v, s: lib.searchsorted(b, v, sorter=s), listed(
            S("out_of_range", (In((4,)), In((3,)), In((4,), dtype=I64, kind="index", high=9))),
            S("int32", (In((4,)), In((3,)), In((4,), dtype=I32, kind="index", high=4))),
            S("shape", (In((4,)), In((3,)), In((3,), dtype=I64, kind="index", high=3)))), (F32,)),
        OpSpec("searchsorted.bool", ns("searchsorted"), listed(S("vector", (In((4,)), In((3,))))), (BOOL,)),
        OpSpec("bucketize", lambda lib, v, b, **kw: lib.bucketize(v, _sorted(lib, b), **kw), listed(
            S("plain", (v34, b6)), S("right", (v34, b6), {"right": True}), S("int32", (v34, b6), {"out_int32": True}),
            S("nan", (In((3, 4), kind="special"), In((6,), kind="special"))), S("scalar", (In(()), b6)),
            S("empty", (In((0,)), b6)), S("nd_boundaries", (v34, In((2, 3))))), NUMERIC),
        OpSpec("bucketize.python_scalar", lambda lib, b: lib.bucketize(0.5, _sorted(lib, b)),
               listed(S("plain", (b6,))), (F32, I64)),
    ]


def _count_rows() -> list[OpSpec]:
    w10 = In((10,), dtype=F32)
    return [
        OpSpec("histc", ns("histc"), listed(
            S("auto_range", (In((3, 4)),), {"bins": 5}), S("range", (In((3, 4)),), {"bins": 4, "min": -1, "max": 1}),
            S("default_bins", (In((20,)),)), S("scalar", (In(()),), {"bins": 3}), S("empty", (In((0,)),), {"bins": 3}),
            S("edges", (In((12,), kind="ties"),), {"bins": 4, "min": -2, "max": 2}),
            S("special_range", (In((12,), kind="special"),), {"bins": 3, "min": -1, "max": 1}),
            S("special_auto", (In((12,), kind="special"),), {"bins": 3}),
            S("constant", (In((4,), kind="ties", layout="expand"),), {"bins": 3}),
            S("transposed", (In((3, 4), layout="T"),), {"bins": 6}), S("bins0", (In((3,)),), {"bins": 0}),
            S("min_gt_max", (In((3,)),), {"bins": 3, "min": 2, "max": 1}),
            S("inf_range", (In((3,)),), {"bins": 3, "min": 0, "max": float("inf")})), (F64, F32)),
        OpSpec("histc.int", ns("histc"), listed(S("plain", (In((4,)),), {"bins": 3})), (I64, BOOL)),
        OpSpec("bincount", ns("bincount"), listed(
            S("plain", (In((10,), kind="nonneg"),)), S("weights", (In((10,), kind="nonneg"), w10)),
            S("weights64", (In((10,), kind="nonneg"), In((10,), dtype=F64))),
            S("int_weights", (In((10,), kind="nonneg"), In((10,), dtype=I64))),
            S("minlength", (In((10,), kind="nonneg"),), {"minlength": 9}),
            S("empty", (In((0,)),)), S("empty_minlength", (In((0,)),), {"minlength": 3}),
            S("negative", (In((10,)),)), S("two_d", (In((2, 3), kind="nonneg"),)), S("zerod", (In((), kind="nonneg"),)),
            S("weights_length", (In((10,), kind="nonneg"), In((9,), dtype=F32))),
            S("minlength_negative", (In((3,), kind="nonneg"),), {"minlength": -1}),
            S("strided", (In((3, 4), kind="nonneg", layout="step"),))), (I64, I32)),
        OpSpec("bincount.strided_1d", lambda lib, x: lib.bincount(x[:, 1]), listed(S("col", (In((5, 3), kind="nonneg"),))),
               (I64,)),
        OpSpec("bincount.non_int", ns("bincount"), listed(S("plain", (In((4,), kind="nonneg"),))), (F32, BOOL)),
        OpSpec("histogram", ns("histogram"), listed(
            S("bins", (In((3, 4)),), {"bins": 4}), S("range", (In((20,)),), {"bins": 5, "range": (-1.0, 1.0)}),
            S("weight", (In((10,)),), {"bins": 3, "weight": In((10,))}),
            S("density", (In((10,)),), {"bins": 3, "density": True}),
            S("edges", (In((12,), kind="ties"),), {"bins": 4, "range": (-2.0, 2.0)}),
            S("constant", (In((4,), kind="ties", layout="expand"),), {"bins": 2}),
            S("equal_range", (In((5,)),), {"bins": 2, "range": (0.5, 0.5)}),
            S("empty", (In((0,)),), {"bins": 3}), S("bins0", (In((3,)),), {"bins": 0}),
            S("min_gt_max", (In((3,)),), {"bins": 3, "range": (1.0, 0.0)}),
            S("inf_range", (In((3,)),), {"bins": 3, "range": (0.0, float("inf"))}),
            S("nan_auto", (In((6,), kind="special"),), {"bins": 3}),
            S("special_range", (In((12,), kind="special"),), {"bins": 3, "range": (-1.0, 1.0)}),
            S("weight_length", (In((4,)),), {"bins": 3, "weight": In((3,))}),
            S("weight_dtype", (In((4,)),), {"bins": 3, "weight": In((4,), dtype=I64)}),
            S("matrix_weight", (In((2, 3)),), {"bins": 3, "weight": In((6,))})), (F64, F32)),
        OpSpec("histogram.bins_errors", lambda lib, x, e: lib.histogram(x, bins=e), listed(
            S("two_d", (In((4,)), In((2, 2)))), S("one_edge", (In((4,)), In((1,)))),
            S("dtype", (In((4,)), In((3,), dtype=F32))), S("unsorted_ok", (In((6,)), In((3,))))), (F64,)),
        OpSpec("histogram.int", ns("histogram"), listed(S("plain", (In((4,)),))), (I64,)),
        OpSpec("histogram.tensor_bins", lambda lib, x, e: lib.histogram(x, bins=_sorted(lib, e)),
               listed(S("plain", (In((12,), kind="ties"), In((5,))))), (F64, F32)),
    ]


def nograd(t: In) -> In:
    """``t`` without a gradient check: where PyTorch's own backward raises on a valid call (a src
    larger than index in scatter_reduce; vander's in-place cumprod), ember's gradient is checked in
    test_fix_search.py instead."""
    return In(t.shape, t.dtype, t.kind, t.layout, t.high, grad=False)


def _scatter_reduce_rows() -> list[OpSpec]:
    x43 = In((4, 3))
    rows = []
    for reduce in ("sum", "prod", "mean", "amax", "amin"):
        def fn(lib: Any, x: Any, dim: int, i: Any, s: Any, reduce: str = reduce, **kw: Any) -> Any:
            return x.scatter_reduce(dim, i, s, reduce, **kw)

        kind = "ties" if reduce in ("amax", "amin") else ("zeros_some" if reduce == "prod" else "any")
        src = In((6, 3), kind=kind)
        rows.append(OpSpec(f"scatter_reduce.{reduce}", fn, listed(
            S("dim0", (In((4, 3), kind=kind), 0, ix((6, 3), 4), src)),
            S("exclude_self", (In((4, 3), kind=kind), 0, ix((6, 3), 4), src), {"include_self": False}),
            S("dim1", (In((3, 4), kind=kind), 1, ix((3, 5), 4), In((3, 5), kind=kind))),
            S("dim1_exclude", (In((3, 4), kind=kind), -1, ix((3, 5), 4), In((3, 5), kind=kind)), {"include_self": False}),
            S("smaller_index", (nograd(x43), 0, ix((2, 2), 4), nograd(src))),
            S("noncontig", (In((4, 3), kind=kind, layout="T"), 1, ix((4, 5), 3), In((4, 5), kind=kind))),
            S("zerod", (In((), kind=kind), 0, ix((), 1), In((), kind=kind))),
            S("zerod_index_1d_self", (In((5,), kind=kind), 0, ix((), 5), In((), kind=kind))),
            S("empty_index", (nograd(x43), 0, ix((0, 3), 4), nograd(src))),
            S("out_of_range", (x43, 0, ix((6, 3), 9), src)),
            S("index_too_big", (x43, 0, ix((7, 3), 4), src)),
            S("int32_index", (x43, 0, ix((6, 3), 4, dtype=I32), src)),
            S("float_index", (x43, 0, In((6, 3), dtype=F32, kind="positive", grad=False), src)),
            S("dtype_mismatch", (x43, 0, ix((6, 3), 4), In((6, 3), dtype=F32))),
            S("special", (In((4, 3), kind="special"), 0, ix((6, 3), 4), In((6, 3), kind="special")))), ALL64))
    rows += [
        OpSpec("scatter_reduce.bad_reduce", lambda lib, x, i, s: x.scatter_reduce(0, i, s, "foo"),
               listed(S("plain", (In((4,)), ix((3,), 4), In((3,))))), (F32,)),
        OpSpec("scatter_reduce.ns", lambda lib, x, i, s: lib.scatter_reduce(x, 0, i, s, reduce="amax", include_self=False),
               listed(S("plain", (In((4,)), ix((6,), 4), In((6,))))), (F32,)),
        OpSpec("scatter_reduce_", lambda lib, x, i, s: (x * 1).scatter_reduce_(0, i, s, "prod"),
               listed(S("plain", (In((4, 2)), ix((5, 2), 4), In((5, 2))))), (F64, I64)),
        OpSpec("scatter_reduce_.leaf_grad", lambda lib, x, i, s: x.scatter_reduce_(0, i, s, "sum"),
               listed(S("plain", (In((4,)), ix((3,), 4), In((3,))))), (F32,)),
        OpSpec("scatter.multiply", lambda lib, x, i, s: x.scatter(0, i, s, reduce="multiply"),
               listed(S("plain", (In((4, 2)), ix((3, 2), 4), In((3, 2)))),
                      S("dup", (In((3,)), ix((6,), 3), In((6,)))), S("int", (In((3,), dtype=I64), ix((6,), 3), In((6,), dtype=I64)))),
               (F32,)),
        OpSpec("scatter.add_reduce", lambda lib, x, i, s: x.scatter(0, i, s, reduce="add"),
               listed(S("plain", (In((4, 2)), ix((3, 2), 4), In((3, 2))))), (F32, I64)),
        OpSpec("scatter.value_reduce", lambda lib, x, i: x.scatter(0, i, 2.0, reduce="multiply"),
               listed(S("plain", (In((4, 2)), ix((3, 2), 4)))), (F32,)),
        OpSpec("scatter.bad_reduce", lambda lib, x, i, s: x.scatter(0, i, s, reduce="mean"),
               listed(S("plain", (In((4,)), ix((3,), 4), In((3,))))), (F32,)),
        OpSpec("scatter_.multiply", lambda lib, x, i, s: (x * 1).scatter_(0, i, s, reduce="multiply"),
               listed(S("plain", (In((4,)), ix((3,), 4), In((3,))))), (F32,)),
    ]
    return rows


def _index_reduce_rows() -> list[OpSpec]:
    a34 = In((3, 4))
    rows = []
    for reduce in ("prod", "mean", "amax", "amin"):
        def fn(lib: Any, x: Any, dim: int, i: Any, s: Any, reduce: str = reduce, **kw: Any) -> Any:
            return x.index_reduce(dim, i, s, reduce, **kw)

        kind = "ties" if reduce in ("amax", "amin") else "any"
        rows.append(OpSpec(f"index_reduce.{reduce}", fn, listed(
            S("dim0", (In((3, 4), kind=kind), 0, ix((5,), 3), In((5, 4), kind=kind))),
            S("exclude_self", (In((3, 4), kind=kind), 1, ix((6,), 4), In((3, 6), kind=kind)), {"include_self": False}),
            S("zerod", (In((), kind=kind), 0, ix((1,), 1), In((), kind=kind))),
            S("out_of_range", (a34, 0, ix((2,), 7), In((2, 4)))),
            S("int32_index", (a34, 0, ix((2,), 3, dtype=I32), In((2, 4)))),
            S("count_mismatch", (a34, 0, ix((2,), 3), In((3, 4)))),
            S("slice_mismatch", (a34, 0, ix((2,), 3), In((2, 5)))),
            S("two_d_index", (a34, 0, ix((1, 2), 3), In((2, 4)))),
            S("dtype_mismatch", (a34, 0, ix((2,), 3), In((2, 4), dtype=F32)))), (F64, F32, I64)))
    rows += [
        OpSpec("index_reduce.sum", lambda lib, x, i, s: x.index_reduce(0, i, s, "sum"),
               listed(S("plain", (a34, ix((2,), 3), In((2, 4))))), (F32,)),
        OpSpec("index_reduce_", lambda lib, x, i, s: (x * 1).index_reduce_(0, i, s, "amax"),
               listed(S("plain", (a34, ix((4,), 3), In((4, 4))))), (F64,)),
        OpSpec("index_copy", lambda lib, x, d, i, s: x.index_copy(d, _idx(lib, x, i), s), listed(
            S("dim0", (a34, 0, [2, 0], In((2, 4)))), S("dim1", (a34, 1, [3, 0, 1], In((3, 3)))),
            S("zerod", (In(()), 0, [0], In(()))), S("zerod_index", (In((3,)), 0, 1, In(()))),
            S("negative", (a34, 0, [-1, 0], In((2, 4)))), S("empty_index", (a34, 0, [], In((0, 4)))),
            S("out_of_range", (a34, 0, ix((2,), 7), In((2, 4)))),
            S("int32_index", (a34, 0, ix((2,), 3, dtype=I32), In((2, 4)))),
            S("count_mismatch", (a34, 0, ix((2,), 3), In((3, 4)))),
            S("slice_mismatch", (a34, 0, ix((2,), 3), In((2, 5)))),
            S("two_d_index", (a34, 0, ix((1, 2), 3), In((2, 4)))),
            S("dtype_mismatch", (a34, 0, ix((2,), 3), In((2, 4), dtype=F32))),
            S("noncontig", (In((3, 4), layout="T"), 1, [1, 3], In((3, 2), layout="T"))),
            S("rank_mismatch", (a34, 1, [0, 1], In((3, 2, 5)))), S("vector_source", (a34, 1, [0, 1], In((2,))))), (F64, F32, I64, BOOL)),
        OpSpec("index_copy_", lambda lib, x, i, s: (x * 1).index_copy_(0, _idx(lib, x, i), s),
               listed(S("plain", (a34, [1, 2], In((2, 4))))), (F64,)),
        OpSpec("ns.index_copy", lambda lib, x, i, s: lib.index_copy(x, 0, _idx(lib, x, i), s),
               listed(S("plain", (a34, [2, 1], In((2, 4))))), (F32,)),
    ]
    return rows


def _idx(lib: Any, x: Any, i: Any) -> Any:
    """A Python list or int is an index of distinct positions (index_copy with duplicates is
    undefined), made on x's device; anything else is passed as drawn."""
    return lib.tensor(i, device=x.device) if isinstance(i, (list, int)) else i


def _linalg_rows() -> list[OpSpec]:
    a34 = In((3, 4))
    return [
        OpSpec("diag_embed", ns("diag_embed"), listed(
            S("vector", (In((3,)),)), S("batch", (In((2, 3)),)), S("offset", (In((2, 3)), 1)),
            S("negative_offset", (In((2, 3)), -2)), S("dims", (In((2, 3)), 0, 0, 2)), S("dims_neg", (In((2, 3)), 1, -1, 0)),
            S("same_dims", (In((2, 3)), 0, -1, -1)), S("bad_dim", (In((2, 3)), 0, 0, 3)), S("scalar", (In(()),)),
            S("transposed", (In((3, 4), layout="T"),)), S("empty", (In((0, 2)),))), ALL64),
        OpSpec("diag_embed.method", method("diag_embed"), listed(S("plain", (In((2, 2)),))), (F32,)),
        OpSpec("trace", ns("trace"), listed(
            S("square", (In((3, 3)),)), S("wide", (a34,)), S("tall", (In((4, 2)),)), S("transposed", (In((3, 4), layout="T"),)),
            S("empty", (In((0, 3)),)), S("vector", (In((3,)),)), S("three_d", (In((2, 2, 2)),))), ALL64),
        OpSpec("cross", ns("cross"), listed(
            S("dim1", (In((4, 3)), In((4, 3)), 1)), S("dim0", (In((3, 2)), In((3, 2)), 0)),
            S("default_dim", (In((4, 3)), In((4, 3)))), S("default_first", (In((3, 3)), In((3, 3)))),
            S("bcast", (In((2, 3)), In((1, 3)), -1)), S("no_size3", (In((2, 4)), In((2, 4)))),
            S("bad_len", (In((2, 4)), In((2, 4)), 1)), S("rank_mismatch", (In((2, 3)), In((3,)), -1)),
            S("noncontig", (In((3, 3), layout="T"), In((3, 3)), 0)),
            S("dtype_mismatch", (In((3,)), In((3,), dtype=F32), 0)), S("bad_dim", (In((3,)), In((3,)), 2))),
               (F64, F32, I64, I32, BOOL)),
        OpSpec("cross.method", lambda lib, a, b: a.cross(b, dim=0), listed(S("plain", (In((3,)), In((3,))))), (F32,)),
        OpSpec("kron", ns("kron"), listed(
            S("matrices", (In((2, 3)), In((3, 2)))), S("vectors", (In((2,)), In((3,)))),
            S("mixed_rank", (In((2, 3)), In((2,)))), S("scalar", (In(()), In((3,)))),
            S("three_d", (In((2, 1, 2)), In((1, 2, 2)))), S("empty", (In((0, 2)), In((2, 2)))),
            S("promote", (In((2,)), In((2,), dtype=F32)))), ALL64),
        OpSpec("cdist", lambda lib, a, b, p=2.0: lib.cdist(a, b, p=p), listed(
            S("p2", (In((4, 3)), In((5, 3)))), S("p1", (In((4, 3)), In((5, 3)), 1.0)), S("p0", (In((4, 3)), In((5, 3)), 0.0)),
            S("pinf", (In((4, 3)), In((5, 3)), float("inf"))), S("p3", (In((4, 3)), In((5, 3)), 3.0)),
            S("p_half", (In((4, 3)), In((5, 3)), 0.5)), S("batched", (In((2, 4, 3)), In((2, 5, 3)))),
            S("bcast_batch", (In((2, 1, 3, 2)), In((3, 4, 2)))), S("noncontig", (In((3, 4), layout="T"), In((5, 3)))),
            S("empty", (In((0, 3)), In((5, 3)))), S("zero_cols", (In((3, 0)), In((2, 0)))),
            S("negative_p", (In((4, 3)), In((5, 3)), -1.0)), S("col_mismatch", (In((4, 3)), In((5, 2)))),
            S("one_d", (In((3,)), In((3,)))), S("dtype_mismatch", (In((4, 3)), In((5, 3), dtype=F32))),
            S("many_rows", (In((30, 3)), In((27, 3))))), (F64, F32), tol=4),
        OpSpec("cdist.zero_distance", lambda lib, a, p: lib.cdist(a, a.detach() * 1, p=p),
               listed(S("p2", (In((3, 2)), 2.0)), S("p1", (In((3, 2)), 1.0)), S("pinf", (In((3, 2)), float("inf"))),
                      S("p3", (In((3, 2)), 3.0)), S("p_half", (In((3, 2)), 0.5))), (F64,)),
        OpSpec("cdist.int", ns("cdist"), listed(S("plain", (In((2, 3)), In((2, 3))))), (I64,)),
        OpSpec("tensordot", lambda lib, a, b, dims: lib.tensordot(a, b, dims=dims), listed(
            S("int", (In((2, 3, 4)), In((3, 4, 5)), 2)), S("zero", (In((2, 3)), In((4,)), 0)),
            S("lists", (In((2, 3, 4)), In((4, 3, 5)), ([1, 2], [1, 0]))), S("tuple_lists", (In((2, 3)), In((3, 2)), ((1,), (0,)))),
            S("negative_dims", (In((2, 3)), In((3, 2)), ([-1], [-2]))), S("negative_int", (In((2, 3)), In((3, 2)), -1)),
            S("too_many", (In((2, 3)), In((3, 2)), 3)), S("size_mismatch", (In((2, 3)), In((4, 2)), ([1], [0]))),
            S("len_mismatch", (In((2, 3)), In((3, 2)), ([1, 0], [0]))), S("ints", (In((2, 3)), In((3, 2)), (1, 0))),
            S("dtype_mismatch", (In((2, 3)), In((3, 2), dtype=F32), 1)), S("repeated", (In((2, 2)), In((2, 2)), ([0, 0], [0, 1]))),
            S("size1_bcast", (In((2, 1)), In((3, 2)), ([1], [0]))), S("noncontig", (In((3, 4), layout="T"), In((3, 4)), 1)),
            S("all", (In((2, 3)), In((2, 3)), 2))), (F64, F32, I64), tol=4),
        OpSpec("tensordot.tensor_dims", lambda lib, a, b: lib.tensordot(a, b, dims=lib.tensor([[1], [0]])),
               listed(S("plain", (In((2, 3)), In((3, 2))))), (F32,)),
        OpSpec("tensordot.tensor_int", lambda lib, a, b: lib.tensordot(a, b, dims=lib.tensor(1)),
               listed(S("plain", (In((2, 3)), In((3, 2))))), (F32,)),
        OpSpec("tensordot.default", lambda lib, a, b: lib.tensordot(a, b), listed(S("plain", (In((2, 3, 4)), In((3, 4))))),
               (F32,)),
        OpSpec("outer.breadth", ns("outer"), listed(
            S("plain", (In((3,)), In((4,)))), S("empty", (In((0,)), In((4,)))), S("promote", (In((3,)), In((2,), dtype=I64))),
            S("matrix", (In((2, 2)), In((2,)))), S("scalar", (In(()), In((2,)))), S("strided", (In((3, 4), layout="step"), In((2,))))),
               ALL64),
        OpSpec("ger.breadth", ns("ger"), listed(S("plain", (In((3,)), In((4,)))), S("matrix", (In((2, 2)), In((2,))))), (F32, I64)),
        OpSpec("block_diag", lambda lib, *ts: lib.block_diag(*ts), listed(
            S("two", (In((2, 2)), In((1, 3)))), S("mixed", (In((2,)), In(()), In((2, 1)))), S("empty_block", (In((0, 2)), In((2, 2)))),
            S("one", (In((2, 3)),)), S("three_d", (In((2, 2, 2)),)),
            S("promote", (In((2,)), In((2,), dtype=I64), In((), dtype=F64))), S("noncontig", (In((3, 4), layout="T"), In((2, 2))))),
               ALL64),
        OpSpec("cartesian_prod", lambda lib, *ts: lib.cartesian_prod(*ts), listed(
            S("two", (In((2,)), In((3,)))), S("three", (In((2,)), In((1,)), In((2,)))), S("one", (In((3,)),)),
            S("empty", (In((0,)), In((3,)))), S("matrix", (In((2, 2)),)), S("dtype_mismatch", (In((2,)), In((2,), dtype=F32))),
            S("strided", (In((3, 4), layout="step"), In((2,))))), ALL64),
        OpSpec("tril_indices", ns("tril_indices"), listed(
            S("square", (3, 3), ON), S("wide", (3, 5, 1), ON), S("tall", (5, 2, -1), ON), S("empty", (0, 4), ON),
            S("far_offset", (3, 3, 10), ON), S("far_negative", (3, 3, -10), ON),
            S("int32", (3, 4), {**ON, "dtype": "dtype:int32"}), S("float", (3, 3), {**ON, "dtype": "dtype:float32"}),
            S("negative_row", (-1, 3), ON), S("negative_col", (3, -1), ON)), (I64,)),
        OpSpec("triu_indices", ns("triu_indices"), listed(
            S("square", (3, 3), ON), S("wide", (3, 5, 1), ON), S("tall", (5, 2, -1), ON), S("empty", (4, 0), ON),
            S("int32", (3, 4), {**ON, "dtype": "dtype:int32"})), (I64,)),
        # PyTorch's vander backward fails (its cumprod is in place): values here, gradients in test_fix_search
        OpSpec("vander", lambda lib, x, **kw: lib.vander(x.detach(), **kw), listed(
            S("square", (In((3,), kind="nonzero"),)), S("N", (In((3,), kind="nonzero"),), {"N": 5}),
            S("increasing", (In((4,), kind="nonzero"),), {"increasing": True}), S("N1", (In((3,), kind="nonzero"),), {"N": 1}),
            S("N0", (In((3,), kind="nonzero"),), {"N": 0}), S("empty", (In((0,)),)), S("negative_N", (In((3,)),), {"N": -1}),
            S("matrix", (In((2, 2)),))), (F64, F32, I64, I32, BOOL)),
        OpSpec("vander.column", lambda lib, x: lib.vander(x.detach()[:, 1]),
               listed(S("strided", (In((3, 4), kind="nonzero", layout="T"),))), (F32, I64)),
        OpSpec("rot90", lambda lib, x, *a: lib.rot90(x, *a), listed(
            S("default", (a34,)), S("k2", (a34, 2)), S("k3", (a34, 3)), S("k0", (a34, 0)), S("k_negative", (a34, -1)),
            S("k5", (a34, 5)), S("dims", (In((2, 3, 4)), 1, [2, 0])), S("neg_dims", (In((2, 3, 4)), 1, [-1, -2])),
            S("one_dim", (In((3,)), 1)), S("same_dims", (a34, 1, [0, 0])), S("same_wrapped", (a34, 1, [0, -2])),
            S("three_dims", (In((2, 3, 4)), 1, [0, 1, 2])), S("bad_dim", (a34, 1, [0, 5])),
            S("transposed", (In((3, 4), layout="T"), 1))), ALL64),
        OpSpec("rot90.method", lambda lib, x: x.rot90(1, [1, 0]), listed(S("plain", (a34,))), (F32,)),
    ]


def rows() -> list[OpSpec]:
    return _set_rows() + _search_rows() + _count_rows() + _scatter_reduce_rows() + _index_reduce_rows() + _linalg_rows()
