"""Parity rows for the small ``torch.*`` functions and Tensor methods of ember.functions.misc and
ember.functions.torch_nn (issue #14): splits and stacks, windows, scatters into views, cov/
corrcoef, trapezoid/gradient, isin, signbit/frexp/ldexp, addmv/addr/addbmm, put, the in-place
comparisons (which keep self's dtype), the exported in-place unary forms (``torch.exp_``) and the
top-level forms of nn.functional ops with PyTorch's own signatures.
"""

from __future__ import annotations

from parity_cases import ALL, DEVICE, F32, F64, FLOAT, FLOAT_INT, I64, NUMERIC, In, OpSpec, Sample, listed, method, ns

S = Sample


def _clone_then(name: str):
    """``lib.<name>(x.clone(), ...)``: an in-place torch.* function on a copy (the input may need grad)."""
    return lambda lib, x, *a, **k: getattr(lib, name)(x.detach().clone(), *a, **k)


def _method_on_clone(name: str):
    return lambda lib, x, *a, **k: getattr(x.detach().clone(), name)(*a, **k)


def _shape_rows() -> list[OpSpec]:
    return [
        OpSpec("ravel", ns("ravel"), listed(S("matrix", (In((3, 4)),), core=True), S("T", (In((3, 4), layout="T"),)),
                                            S("scalar", (In(()),)), S("empty", (In((0, 2)),))), ALL),
        OpSpec("tensor_split", ns("tensor_split"), listed(
            S("sections", (In((7, 2)), 3), core=True), S("indices", (In((6,)), [1, 4])),
            S("indices_oob", (In((6,)), [2, 9])), S("dim1", (In((2, 5), layout="T"), 2), {"dim": 1}),
            S("descending", (In((6,)), [4, 2])), S("zero_sections", (In((4,)), 0)), S("scalar", (In(()), 2)),
            S("more_sections", (In((2,)), 4))), FLOAT_INT),
        OpSpec("hsplit", ns("hsplit"), listed(S("m", (In((2, 6)), 3), core=True), S("v", (In((6,)), [2])),
                                              S("bad", (In((2, 5)), 2)), S("scalar", (In(()), 1))), FLOAT),
        OpSpec("vsplit", ns("vsplit"), listed(S("m", (In((4, 2)), 2), core=True), S("idx", (In((4, 2)), [1])),
                                              S("one_dim", (In((4,)), 2))), FLOAT),
        OpSpec("dsplit", ns("dsplit"), listed(S("m", (In((1, 2, 4)), 2), core=True), S("two_dims", (In((4, 2)), 2))),
               FLOAT),
        OpSpec("split_with_sizes", ns("split_with_sizes"), listed(
            S("m", (In((5, 2)), [2, 3]), core=True), S("bad", (In((5, 2)), [2, 2])),
            S("dim1", (In((2, 5)), [1, 4]), {"dim": 1})), FLOAT),
        OpSpec("unsafe_split", ns("unsafe_split"), listed(S("m", (In((5, 2)), 2), core=True)), FLOAT),
        OpSpec("unsafe_chunk", ns("unsafe_chunk"), listed(S("m", (In((5, 2)), 2), core=True)), FLOAT),
        OpSpec("column_stack", lambda lib, *ts: lib.column_stack(list(ts)), listed(
            S("vecs", (In((3,)), In((3,))), core=True), S("mixed", (In((3,)), In((3, 2)), In((3, 1)))),
            S("bad", (In((3,)), In((4,))))), FLOAT_INT),
        OpSpec("row_stack", lambda lib, *ts: lib.row_stack(list(ts)), listed(S("v", (In((3,)), In((2, 3))), core=True)),
               FLOAT),
        OpSpec("dstack", lambda lib, *ts: lib.dstack(list(ts)), listed(
            S("vecs", (In((3,)), In((3,))), core=True), S("mats", (In((2, 3)), In((2, 3, 2)))),
            S("scalars", (In(()), In(())))), FLOAT_INT),
        OpSpec("atleast_3d", ns("atleast_3d"), listed(S("scalar", (In(()),), core=True), S("vec", (In((3,)),)),
                                                      S("mat", (In((2, 3), layout="T"),)), S("4d", (In((1, 2, 1, 2)),)),
                                                      S("many", (In((2,)), In((2, 2))))), ALL),
        OpSpec("diagflat", ns("diagflat"), listed(S("vec", (In((3,)),), core=True), S("mat", (In((2, 2)),), {"offset": 1}),
                                                  S("neg", (In((2,)),), {"offset": -2}), S("scalar", (In(()),))),
               NUMERIC),
        OpSpec("combinations", ns("combinations"), listed(
            S("r2", (In((4,)),), core=True), S("r3", (In((4,)),), {"r": 3}),
            S("repl", (In((3,)),), {"with_replacement": True}), S("too_many", (In((2,)),), {"r": 3}),
            S("mat", (In((2, 2)),))), FLOAT_INT),
        OpSpec("select_scatter", ns("select_scatter"), listed(
            S("row", (In((3, 4)), In((4,)), 0, 1), core=True), S("col", (In((3, 4), layout="T"), In((3,)), 1, -1)),
            S("bad", (In((3, 4)), In((3,)), 0, 0))), FLOAT_INT),
        OpSpec("slice_scatter", ns("slice_scatter"), listed(
            S("rows", (In((4, 3)), In((2, 3))), {"start": 2}, core=True),
            S("step", (In((3, 6)), In((3, 3))), {"dim": 1, "step": 2}),
            S("bad", (In((4, 3)), In((1, 3))), {"start": 0, "end": 2})), FLOAT_INT),
        OpSpec("diagonal_scatter", ns("diagonal_scatter"), listed(
            S("main", (In((3, 3)), In((3,))), core=True), S("off", (In((3, 4)), In((3,))), {"offset": 1}),
            S("batch", (In((2, 3, 3)), In((2, 3))), {"dim1": 1, "dim2": 2}), S("bad", (In((3, 3)), In((2,))))),
               FLOAT_INT),
        OpSpec("fill_diagonal_", _method_on_clone("fill_diagonal_"), listed(
            S("square", (In((3, 3)), 5.0), core=True), S("wide", (In((2, 4)), 1.0)), S("tall", (In((5, 2)), 2.0)),
            S("tall_wrap", (In((7, 2)), 2.0), {"wrap": True}), S("cube", (In((2, 2, 2)), 1.0)),
            S("vec", (In((3,)), 1.0)), S("ragged", (In((2, 3, 2)), 1.0))), FLOAT_INT),
        OpSpec("sum_to_size", method("sum_to_size"), listed(
            S("lead", (In((2, 3, 4)), (3, 1)), core=True), S("same", (In((2, 3)), 2, 3)),
            S("bad", (In((2, 3)), (4,)))), FLOAT_INT),
        OpSpec("type_as", method("type_as"), listed(S("f", (In((2, 3)), In((1,), dtype=F64)), core=True),
                                                    S("i", (In((2,)), In((1,), dtype=I64)))), FLOAT),
        OpSpec("transpose_", _method_on_clone("transpose_"), listed(S("m", (In((2, 3)), 0, 1), core=True),
                                                                    S("bad", (In((2, 3)), 0, 2))), FLOAT),
        OpSpec("swapdims_", _method_on_clone("swapdims_"), listed(S("m", (In((2, 3, 4)), 0, 2), core=True)), FLOAT),
        OpSpec("tril_", _method_on_clone("tril_"), listed(S("m", (In((3, 4)),), core=True),
                                                          S("k", (In((3, 4)), 1))), FLOAT_INT),
        OpSpec("triu_", _method_on_clone("triu_"), listed(S("m", (In((3, 4)), -1), core=True)), FLOAT_INT),
        OpSpec("cumprod_", _method_on_clone("cumprod_"), listed(S("m", (In((3, 4)), 1), core=True)), FLOAT),
        OpSpec("addmm_", _method_on_clone("addmm_"), listed(S("m", (In((2, 2)), In((2, 3)), In((3, 2))), core=True)),
               FLOAT),
        OpSpec("baddbmm_", _method_on_clone("baddbmm_"), listed(
            S("m", (In((2, 2, 2)), In((2, 2, 3)), In((2, 3, 2))), {"beta": 0.5}, core=True)), FLOAT),
        OpSpec("unravel_index", ns("unravel_index"), listed(
            S("flat", (In((4,), kind="index", high=12), (3, 4)), core=True),
            S("scalar", (In((), kind="index", high=6), (2, 3))), S("float", (In((2,)), (2, 3)))), FLOAT),
    ]


def _window_rows() -> list[OpSpec]:
    on = {"device": DEVICE}
    rows = []
    for name in ("hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"):
        rows.append(OpSpec(name, lambda lib, *a, _n=name, f64=False, **k: getattr(lib, _n)(
            *a, **({"dtype": lib.float64} if f64 else {}), **k), listed(
            S("periodic", (8,), on, core=True), S("symmetric", (7, False), on), S("one", (1,), on),
            S("zero", (0,), on), S("f64", (5,), {**on, "f64": True}), S("int", (4,), {**on, "dtype": "dtype:int64"}),
            S("negative", (-1,), on)), (F32,)))
    return rows


def _math_rows() -> list[OpSpec]:
    return [
        OpSpec("clamp_min", ns("clamp_min"), listed(S("s", (In((3, 4)), 0.1), core=True), S("t", (In((3, 4)), In((4,))))),
               FLOAT_INT),
        OpSpec("clamp_max", method("clamp_max"), listed(S("s", (In((3, 4), layout="T"), 0.1), core=True)), FLOAT_INT),
        OpSpec("clamp_min_", _clone_then("clamp_min_"), listed(S("s", (In((3, 4)), 0.0), core=True)), FLOAT),
        OpSpec("signbit", ns("signbit"), listed(S("special", (In((4, 5), kind="special"),), core=True),
                                                S("scalar", (In(()),))), NUMERIC),
        OpSpec("sgn", ns("sgn"), listed(S("m", (In((3, 4), kind="special", grad=False),), core=True)), NUMERIC),
        OpSpec("positive", ns("positive"), listed(S("m", (In((3,)),), core=True)), ALL),
        OpSpec("ldexp", ns("ldexp"), listed(S("m", (In((3, 4)), In((4,), dtype=I64, kind="nonneg")), core=True),
                                            S("f", (In((3,)), In((3,))))), FLOAT_INT),
        OpSpec("frexp", ns("frexp"), listed(S("special", (In((4, 5), kind="special"),), core=True),
                                            S("large", (In((6,), kind="large"),))), FLOAT + (I64,)),
        OpSpec("dist", ns("dist"), listed(S("p2", (In((3, 4)), In((4,))), core=True), S("p1", (In((3,)), In((3,)), 1)),
                                          S("pinf", (In((3,)), In((3,)), float("inf")))),
               FLOAT),
        OpSpec("renorm", ns("renorm"), listed(S("m", (In((3, 4)), 2, 0, 1.0), core=True),
                                              S("p1", (In((2, 3, 2)), 1, 1, 0.5)), S("bad_p", (In((3, 4)), 0, 0, 1.0)),
                                              S("vec", (In((3,)), 2, 0, 1.0))), FLOAT),
        OpSpec("addmv", ns("addmv"), listed(S("m", (In((2,)), In((2, 3)), In((3,))), core=True),
                                            S("ab", (In(()), In((2, 3), layout="T"), In((3,))), {"beta": 0.5, "alpha": 2}),
                                            S("beta0", (In((2,), kind="special"), In((2, 3)), In((3,))), {"beta": 0})),
               FLOAT),
        OpSpec("addr", ns("addr"), listed(S("m", (In((2, 3)), In((2,)), In((3,))), core=True),
                                          S("ab", (In((3,)), In((2,)), In((3,))), {"beta": 2, "alpha": 0.5}),
                                          S("bad", (In((2, 3)), In((2, 1)), In((3,))))), FLOAT),
        OpSpec("addbmm", ns("addbmm"), listed(S("m", (In((2, 2)), In((3, 2, 4)), In((3, 4, 2))), core=True)), FLOAT),
        OpSpec("addmv_", _method_on_clone("addmv_"), listed(S("m", (In((2,)), In((2, 3)), In((3,))), core=True)), FLOAT),
        OpSpec("adjoint", ns("adjoint"), listed(S("m", (In((2, 3, 4)),), core=True), S("vec", (In((3,)),))), ALL),
        OpSpec("chain_matmul", ns("chain_matmul"), listed(S("three", (In((2, 3)), In((3, 4)), In((4, 2))), core=True),
                                                          S("one", (In((2, 3)),)), S("vec", (In((2,)),))), FLOAT),
        OpSpec("cov", ns("cov"), listed(
            S("m", (In((3, 5)),), core=True), S("vec", (In((5,)),)), S("corr0", (In((2, 4)),), {"correction": 0}),
            S("fw", (In((2, 4)),), {"fweights": In((4,), dtype=I64, kind="positive", grad=False)}),
            S("aw", (In((2, 4)),), {"aweights": In((4,), kind="positive")}),
            S("both", (In((2, 4)),), {"fweights": In((4,), dtype=I64, kind="positive", grad=False),
                                       "aweights": In((4,), kind="positive")}),
            S("fw_float", (In((2, 4)),), {"fweights": In((4,), kind="positive")}),
            S("3d", (In((2, 2, 2)),))), FLOAT + (I64,)),
        OpSpec("corrcoef", ns("corrcoef"), listed(S("m", (In((3, 6)),), core=True), S("vec", (In((5,)),))), FLOAT),
        OpSpec("trapezoid", ns("trapezoid"), listed(
            S("y", (In((3, 5)),), core=True), S("dx", (In((3, 5)),), {"dx": 0.5, "dim": 0}),
            S("x", (In((3, 5)), In((5,))), {}), S("x2d", (In((3, 5)), In((3, 5)))), S("empty", (In((3, 0)),)),
            S("T", (In((4, 3), layout="T"),), {"dim": 0})), FLOAT_INT),
        OpSpec("trapz", ns("trapz"), listed(S("y", (In((3, 5)),), core=True), S("x", (In((4,)), In((4,))))), FLOAT),
        OpSpec("cumulative_trapezoid", ns("cumulative_trapezoid"), listed(
            S("y", (In((3, 5)),), core=True), S("dx", (In((3, 5)),), {"dx": 2.0}), S("x", (In((2, 4)), In((4,))))),
               FLOAT_INT),
        OpSpec("gradient", ns("gradient"), listed(
            S("vec", (In((6,)),), core=True), S("mat", (In((4, 5)),), {"spacing": 2.0}),
            S("edge2", (In((4, 5)),), {"dim": 1, "edge_order": 2}),
            S("spacings", (In((4, 5)),), {"spacing": [0.5, 2.0]}),
            S("coords", (In((5,)),), {"spacing": (In((5,), kind="positive"),)}),
            S("coords_edge2", (In((3, 5)),), {"spacing": (In((5,), kind="positive", grad=False),), "dim": 1, "edge_order": 2}),
            S("small", (In((1, 3)),)), S("bad_edge", (In((4,)),), {"edge_order": 3})), FLOAT_INT),
        OpSpec("isin", ns("isin"), listed(
            S("m", (In((3, 4), kind="ties"), In((3,), kind="ties")), core=True),
            S("invert", (In((5,), kind="ties"), In((2,), kind="ties")), {"invert": True}),
            S("scalar_test", (In((5,), kind="ties"), 1)), S("empty", (In((4,)), In((0,))))), FLOAT_INT),
        OpSpec("isneginf", ns("isneginf"), listed(S("s", (In((4, 5), kind="special"),), core=True)), NUMERIC),
        OpSpec("isposinf", ns("isposinf"), listed(S("s", (In((4, 5), kind="special"),), core=True)), NUMERIC),
        OpSpec("isreal", ns("isreal"), listed(S("s", (In((2, 3)),), core=True)), ALL),
        OpSpec("rsub", ns("rsub"), listed(S("t", (In((3, 4)), In((4,))), core=True), S("alpha", (In((3,)), In((3,))),
                                                                                            {"alpha": 2}),
                                          S("scalar", (In((3,)), 2))), FLOAT_INT),
        OpSpec("put", ns("put"), listed(
            S("m", (In((3, 4)), In((3,), kind="index", high=12), In((3,))), core=True),
            S("acc", (In((2, 3)), In((5,), kind="index", high=6), In((5,))), {"accumulate": True}),
            S("oob", (In((2, 3)), In((1,), kind="index", high=9), In((1,))),
              {}), S("count", (In((2, 3)), In((2,), kind="index", high=6), In((3,))))), FLOAT),
        OpSpec("put_", _method_on_clone("put_"), listed(
            S("T", (In((3, 4), layout="T"), In((4,), kind="index", high=12), In((4,), grad=False)), core=True)), FLOAT),
        OpSpec("masked_scatter", ns("masked_scatter"), listed(
            S("m", (In((3, 4)), In((3, 4), kind="mask"), In((12,))), core=True)), FLOAT),
    ]


def _inplace_rows() -> list[OpSpec]:
    rows = []
    for name in ("eq_", "ne_", "lt_", "le_", "gt_", "ge_", "less_", "greater_equal_", "not_equal_"):
        rows.append(OpSpec(name, _method_on_clone(name), listed(
            S("t", (In((3, 4), kind="ties"), In((4,), kind="ties", grad=False)), core=True),
            S("s", (In((3,), kind="ties"), 0))), (F32, I64)))
    for name in ("logical_and_", "logical_or_", "logical_xor_"):
        rows.append(OpSpec(name, _method_on_clone(name), listed(
            S("t", (In((3, 4), kind="ties"), In((4,), kind="ties", grad=False)), core=True)), (F32, I64, "bool")))
    for name in ("exp_", "sin_", "sqrt_", "floor_", "neg_", "abs_", "sigmoid_", "relu_", "reciprocal_", "log_",
                 "trunc_", "fix_", "square_", "tan_"):
        rows.append(OpSpec("torch." + name, _clone_then(name), listed(S("m", (In((3, 4), kind="positive"),), core=True)),
                           FLOAT))
    rows += [
        OpSpec("torch.clamp_", _clone_then("clamp_"), listed(S("m", (In((3, 4)),), {"min": -0.5, "max": 0.5}, core=True)),
               FLOAT),
        OpSpec("torch.gcd_", _clone_then("gcd_"), listed(S("m", (In((3, 4)), In((4,))), core=True)), (I64,)),
        OpSpec("torch.index_put_", _clone_then("index_put_"), listed(
            S("m", (In((4, 3)), (In((2,), kind="index", high=4),), In((2, 3), grad=False)), core=True)), FLOAT),
        OpSpec("torch.fill_", _clone_then("fill_"), listed(S("m", (In((3,)), 2.5), core=True)), FLOAT_INT),
        OpSpec("torch.zero_", _clone_then("zero_"), listed(S("m", (In((3,)),), core=True)), FLOAT_INT),
        OpSpec("fill", ns("fill"), listed(S("m", (In((3,)), 2.5), core=True)), FLOAT_INT),
    ]
    return rows


def _predicate_rows() -> list[OpSpec]:
    return [
        OpSpec("is_nonzero", ns("is_nonzero"), listed(S("one", (In((1,)),), core=True), S("scalar", (In(()),)),
                                                      S("many", (In((2,)),)), S("none", (In((0,)),))), ALL),
        OpSpec("is_same_size", method("is_same_size"), listed(S("y", (In((2, 3)), In((2, 3))), core=True),
                                                              S("n", (In((2, 3)), In((3, 2))))), FLOAT),
        OpSpec("is_signed", ns("is_signed"), listed(S("m", (In((2,)),), core=True)), ALL),
        OpSpec("is_complex", ns("is_complex"), listed(S("m", (In((2,)),), core=True)), ALL),
        OpSpec("is_conj", method("is_conj"), listed(S("m", (In((2,)),), core=True)), FLOAT),
        OpSpec("resolve_conj", ns("resolve_conj"), listed(S("m", (In((2,)),), core=True)), FLOAT),
        OpSpec("conj_physical", ns("conj_physical"), listed(S("m", (In((2,)),), core=True)), FLOAT_INT),
        OpSpec("real", ns("real"), listed(S("m", (In((2,)),), core=True)), FLOAT),
    ]


def _nn_alias_rows() -> list[OpSpec]:
    x4 = In((2, 4, 5, 5))
    return [
        OpSpec("torch.conv2d", ns("conv2d"), listed(S("m", (x4, In((3, 4, 3, 3)), In((3,))), {"padding": 1}, core=True)),
               FLOAT),
        OpSpec("torch.conv1d", ns("conv1d"), listed(S("m", (In((2, 3, 6)), In((2, 3, 2))), core=True)), FLOAT),
        OpSpec("torch.conv_transpose1d", ns("conv_transpose1d"), listed(
            S("m", (In((2, 3, 6)), In((3, 2, 2))), {"stride": 2}, core=True)), FLOAT),
        OpSpec("torch.max_pool2d", ns("max_pool2d"), listed(S("m", (x4, 2), core=True), S("s", (x4, 3, 1, 1)))),
        OpSpec("torch.max_pool1d", ns("max_pool1d"), listed(S("m", (In((2, 3, 6)), 2), core=True))),
        OpSpec("torch.avg_pool1d", ns("avg_pool1d"), listed(S("m", (In((2, 3, 6)), 2), core=True))),
        OpSpec("torch.adaptive_max_pool1d", ns("adaptive_max_pool1d"), listed(S("m", (In((2, 3, 6)), 2), core=True))),
        OpSpec("torch.layer_norm", ns("layer_norm"), listed(S("m", (In((2, 3, 4)), (4,), In((4,)), In((4,))), core=True))),
        OpSpec("torch.group_norm", ns("group_norm"), listed(S("m", (x4, 2, In((4,)), In((4,))), core=True))),
        OpSpec("torch.batch_norm", ns("batch_norm"), listed(S("m", (x4, In((4,)), In((4,)), None, None, True, 0.1, 1e-5,
                                                                    False), core=True))),
        OpSpec("torch.instance_norm", ns("instance_norm"), listed(
            S("m", (x4, In((4,)), In((4,)), None, None, True, 0.1, 1e-5, False), core=True))),
        OpSpec("torch.rms_norm", ns("rms_norm"), listed(S("m", (In((2, 4)), (4,), In((4,))), core=True))),
        OpSpec("torch.embedding", ns("embedding"), listed(S("m", (In((5, 3)), In((2, 4), kind="index", high=5)), core=True),
                                                          S("pad", (In((5, 3)), In((4,), kind="index", high=5), 1)))),
        OpSpec("torch.pixel_shuffle", ns("pixel_shuffle"), listed(S("m", (x4, 2), core=True))),
        OpSpec("torch.cosine_similarity", ns("cosine_similarity"), listed(S("m", (In((3, 4)), In((3, 4))), core=True))),
        OpSpec("torch.pairwise_distance", ns("pairwise_distance"), listed(S("m", (In((3, 4)), In((3, 4))), core=True))),
        OpSpec("torch.pdist", ns("pdist"), listed(S("m", (In((4, 3)),), core=True))),
        OpSpec("torch.bilinear", ns("bilinear"), listed(S("m", (In((2, 3)), In((2, 4)), In((5, 3, 4)), In((5,))),
                                                          core=True))),
        OpSpec("prelu", ns("prelu"), listed(S("m", (x4, In((4,))), core=True))),
        OpSpec("Tensor.prelu", method("prelu"), listed(S("m", (x4, In((1,))), core=True))),
        OpSpec("hardshrink", method("hardshrink"), listed(S("m", (In((3, 4)), 0.3), core=True))),
        OpSpec("torch.selu", ns("selu"), listed(S("m", (In((3, 4)),), core=True))),
        OpSpec("torch.celu", ns("celu"), listed(S("m", (In((3, 4)), 0.5), core=True))),
        OpSpec("torch.threshold", ns("threshold"), listed(S("m", (In((3, 4)), 0.1, 20.0), core=True))),
        OpSpec("torch.selu_", _clone_then("selu_"), listed(S("m", (In((3, 4)),), core=True))),
        OpSpec("torch.threshold_", _clone_then("threshold_"), listed(S("m", (In((3, 4)), 0.1, 2.0), core=True))),
        OpSpec("torch.dropout_eval", ns("dropout"), listed(S("m", (In((3, 4)), 0.5, False), core=True))),
        OpSpec("torch.constant_pad_nd", ns("constant_pad_nd"), listed(S("m", (In((2, 3)), (1, 2), 1.5), core=True))),
        OpSpec("torch.kl_div", ns("kl_div"), listed(S("mean", (In((3, 4)), In((3, 4), kind="unit")), core=True),
                                                    S("sum", (In((3, 4)), In((3, 4), kind="unit"), 2)),
                                                    S("none", (In((3, 4)), In((3, 4)), 0), {"log_target": True}))),
        OpSpec("torch.binary_cross_entropy_with_logits", ns("binary_cross_entropy_with_logits"), listed(
            S("m", (In((3, 4)), In((3, 4), kind="unit")), core=True),
            S("w", (In((3, 4)), In((3, 4), kind="unit"), In((4,), kind="positive", grad=False), In((4,), kind="positive", grad=False), 2)))),
        OpSpec("torch.margin_ranking_loss", ns("margin_ranking_loss"), listed(
            S("m", (In((5,)), In((5,)), In((5,), kind="nonzero"), 0.1, 0), core=True),
            # the aten op broadcasts (F.margin_ranking_loss alone checks the dims)
            S("broadcast_target", (In((3, 3)), In((3, 3)), In((3,), kind="nonzero"), 0.5, 1)))),
        OpSpec("torch.hinge_embedding_loss", ns("hinge_embedding_loss"), listed(
            S("m", (In((5,)), In((5,), kind="nonzero"), 1.0, 2), core=True))),
        OpSpec("torch.cosine_embedding_loss", ns("cosine_embedding_loss"), listed(
            S("m", (In((3, 4)), In((3, 4)), In((3,), kind="nonzero"), 0.0, 1), core=True))),
        OpSpec("torch.triplet_margin_loss", ns("triplet_margin_loss"), listed(
            S("m", (In((3, 4)), In((3, 4)), In((3, 4))), core=True))),
        OpSpec("torch.poisson_nll_loss", ns("poisson_nll_loss"), listed(
            S("m", (In((3, 4)), In((3, 4), kind="positive"), True, False, 1e-8, 1), core=True))),
        OpSpec("torch.grid_sampler", ns("grid_sampler"), listed(
            S("m", (In((1, 2, 4, 4)), In((1, 3, 3, 2), kind="unit"), 0, 0, False), core=True),
            S("nearest_border", (In((1, 2, 4, 4)), In((1, 3, 3, 2), kind="unit"), 1, 1, True)))),
        OpSpec("torch.affine_grid_generator", ns("affine_grid_generator"), listed(
            S("m", (In((2, 2, 3)), (2, 1, 3, 4), False), core=True))),
        OpSpec("torch.channel_shuffle", ns("channel_shuffle"), listed(S("m", (x4, 2), core=True))),
        OpSpec("torch.convolution", ns("convolution"), listed(
            S("conv2d", (x4, In((3, 4, 3, 3)), In((3,)), (1, 1), (1, 1), (1, 1), False, (0, 0), 1), core=True),
            S("transposed1d", (In((2, 4, 5)), In((4, 2, 3)), None, (2,), (1,), (1,), True, (1,), 1)))),
        OpSpec("torch.grid_sampler_2d", ns("grid_sampler_2d"), listed(
            S("m", (In((1, 2, 4, 4)), In((1, 3, 3, 2), kind="unit"), 0, 2, False), core=True))),
        OpSpec("copies", lambda lib, x: (lib.permute_copy(x, (1, 0)), lib.t_copy(x), lib.unsqueeze_copy(x, 0),
                                         lib.diagonal_copy(x), lib.select_copy(x, 0, 1), lib.split_copy(x, 2),
                                         lib.unbind_copy(x, 1), lib.expand_copy(x[:1], (2, 3)),
                                         lib.view_copy(x, (3, 2)), x.narrow_copy(1, 1, 2), lib.slice_copy(x, 1, 0, 2)),
               listed(S("m", (In((2, 3)),), core=True)), FLOAT_INT),
        OpSpec("torch.native_layer_norm", ns("native_layer_norm"), listed(
            S("m", (In((2, 3, 4)), (4,), In((4,)), In((4,)), 1e-5), core=True),
            S("two", (In((2, 3, 4)), (3, 4), None, None, 1e-5)), S("bad", (In((2, 3)), (4,), None, None, 1e-5)))),
        OpSpec("torch.native_dropout_eval", ns("native_dropout"), listed(S("m", (In((3, 4)), 0.5, False), core=True))),
        OpSpec("resize_", lambda lib, x, *a: x.detach().clone().resize_(*a), listed(
            S("shrink", (In((2, 3), grad=False), 2, 2), core=True), S("same", (In((2, 3), grad=False), (3, 2))),
            S("needs_grad", (In((2, 3)), 4)), S("neg", (In((2, 3), grad=False), -1))), FLOAT_INT),
        OpSpec("dim_order", method("dim_order"), listed(S("c", (In((2, 3, 4)),), core=True),
                                                        S("T", (In((3, 4), layout="T"),)),
                                                        S("perm", (In((2, 3, 4), layout="permute"),)))),
        OpSpec("random_fills", lambda lib, x: (x.detach().clone().cauchy_().shape, x.detach().clone().log_normal_().shape,
                                               x.detach().clone().geometric_(0.5).shape),
               listed(S("m", (In((2, 3)),), core=True)), FLOAT, random=True),
    ]


def rows() -> list[OpSpec]:
    return _shape_rows() + _window_rows() + _math_rows() + _inplace_rows() + _predicate_rows() + _nn_alias_rows()
