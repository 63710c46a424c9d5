"""Parity rows for the rest of ``nn.functional``: margin, ranking and likelihood losses, shrink
activations, rms_norm, local_response_norm, channel_shuffle, pdist (ember.nn._margin_losses and
ember.nn._more_layers)."""

from __future__ import annotations

from typing import Any

from parity_cases import I64, In, OpSpec, Sample, ix, listed, nnf

S = Sample


def _reductions(args: tuple, **kw: Any) -> list[Sample]:
    return [S(r, args, {**kw, "reduction": r}) for r in ("mean", "sum", "none")]


def _signed(fn_name: str, n_inputs: int) -> Any:
    """``F.<fn_name>(*inputs, sign(t))``: the ±1 targets these losses take, drawn as nonzero values."""
    def call(lib: Any, *args: Any, **kwargs: Any) -> Any:
        inputs, t = args[:n_inputs], args[n_inputs]
        return getattr(lib.nn.functional, fn_name)(*inputs, t.sign(), *args[n_inputs + 1:], **kwargs)
    return call


def _target(shape: tuple) -> In:
    return In(shape, kind="nonzero", grad=False)


def _losses() -> list[OpSpec]:
    return [
        OpSpec("F.margin_ranking_loss", _signed("margin_ranking_loss", 2), listed(
            *_reductions((In((5,)), In((5,)), _target((5,)))),
            S("margin", (In((5,)), In((5,)), _target((5,))), {"margin": 0.5}),
            S("zerod", (In(()), In(()), _target(()))),
            S("dim_mismatch", (In((5,)), In((5, 1)), _target((5,)))))),
        OpSpec("F.hinge_embedding_loss", _signed("hinge_embedding_loss", 1), listed(
            *_reductions((In((3, 4)), _target((3, 4)))),
            S("margin", (In((3, 4)), _target((3, 4))), {"margin": 0.3}),
            S("empty", (In((0,)), _target((0,)))))),
        OpSpec("F.hinge_embedding_loss.other_targets", nnf("hinge_embedding_loss"), listed(
            S("not_pm1", (In((3, 4)), In((3, 4), grad=False))))),
        OpSpec("F.soft_margin_loss", _signed("soft_margin_loss", 1), listed(
            *_reductions((In((3, 4)), _target((3, 4)))), S("T", (In((4, 3), layout="T"), _target((3, 4)))))),
        OpSpec("F.cosine_embedding_loss", _signed("cosine_embedding_loss", 2), listed(
            *_reductions((In((4, 3)), In((4, 3)), _target((4,)))),
            S("margin", (In((4, 3)), In((4, 3)), _target((4,))), {"margin": -0.2}),
            S("unbatched", (In((3,)), In((3,)), _target(()))),
            S("bad_target", (In((4, 3)), In((4, 3)), _target((4, 1)))),
            S("bad_inputs", (In((4, 3, 1)), In((4, 3, 1)), _target((4,))))), tol=4),
        OpSpec("F.triplet_margin_loss", nnf("triplet_margin_loss"), listed(
            *_reductions((In((4, 3)), In((4, 3)), In((4, 3)))),
            S("p1_swap", (In((4, 3)), In((4, 3)), In((4, 3))), {"p": 1, "swap": True}),
            S("unbatched", (In((3,)), In((3,)), In((3,)))),
            S("dims", (In((4, 3)), In((3,)), In((4, 3))))), tol=4),
        OpSpec("F.triplet_margin_with_distance_loss", nnf("triplet_margin_with_distance_loss"), listed(
            *_reductions((In((4, 3)), In((4, 3)), In((4, 3)))),
            S("swap", (In((4, 3)), In((4, 3)), In((4, 3))), {"swap": True, "margin": 0.5}),
            S("bad_margin", (In((4, 3)), In((4, 3)), In((4, 3))), {"margin": 0.0})), tol=4),
        OpSpec("F.multi_margin_loss", nnf("multi_margin_loss"), listed(
            *_reductions((In((4, 5)), ix((4,), 5))),
            S("p2_margin", (In((4, 5)), ix((4,), 5)), {"p": 2, "margin": 0.7}),
            S("weight", (In((4, 5)), ix((4,), 5)), {"weight": In((5,), kind="positive", grad=False)}),
            S("unbatched", (In((5,)), ix((), 5))),
            S("out_of_range", (In((4, 5)), ix((4,), 9))),
            S("bad_p", (In((4, 5)), ix((4,), 5)), {"p": 3}),
            S("bad_target", (In((4, 5)), ix((3,), 5))))),
        OpSpec("F.multilabel_margin_loss", nnf("multilabel_margin_loss"), listed(
            *_reductions((In((3, 5)), In((3, 5), dtype=I64, kind="index", high=5, grad=False))),
            S("padded", (In((3, 5)), In((3, 5), dtype=I64, kind="index", high=4, grad=False))),
            S("unbatched", (In((4,)), In((4,), dtype=I64, kind="index", high=4, grad=False))),
            S("bad_shape", (In((3, 5)), In((3, 4), dtype=I64, kind="index", high=4, grad=False))))),
        OpSpec("F.multilabel_margin_loss.minus_one", lambda lib, x, t: lib.nn.functional.multilabel_margin_loss(
            x, t - 1), listed(S("stops", (In((4, 5)), In((4, 5), dtype=I64, kind="index", high=5, grad=False))))),
        OpSpec("F.multilabel_soft_margin_loss", nnf("multilabel_soft_margin_loss"), listed(
            *_reductions((In((3, 5)), In((3, 5), kind="unit", grad=False))),
            S("weight", (In((3, 5)), In((3, 5), kind="unit", grad=False)), {"weight": In((5,), kind="positive")})),
            tol=4),
        OpSpec("F.gaussian_nll_loss", nnf("gaussian_nll_loss"), listed(
            *_reductions((In((4, 3)), In((4, 3)), In((4, 3), kind="positive"))),
            S("full", (In((4, 3)), In((4, 3)), In((4, 3), kind="positive")), {"full": True}),
            S("homoscedastic", (In((4, 3)), In((4, 3)), In((4,), kind="positive"))),
            S("one_mismatch", (In((4, 3)), In((4, 3)), In((4, 1), kind="positive"))),
            S("tiny_var", (In((4, 3)), In((4, 3)), In((4, 3), kind="unit")), {"eps": 0.5}),
            S("float_var", (In((4, 3)), In((4, 3)), 0.7)),
            S("bad_var", (In((4, 3)), In((4, 3)), In((2, 3), kind="positive")))), tol=4),
        OpSpec("F.poisson_nll_loss", nnf("poisson_nll_loss"), listed(
            *_reductions((In((4, 3)), In((4, 3), kind="nonneg", grad=False))),
            S("rates_full", (In((4, 3), kind="positive"), In((4, 3), kind="nonneg", grad=False)),
              {"log_input": False, "full": True}),
            S("full", (In((4, 3)), In((4, 3), kind="positive", grad=False)), {"full": True})), tol=4),
    ]


def _layers() -> list[OpSpec]:
    return [
        OpSpec("F.hardshrink", nnf("hardshrink"), listed(S("default", (In((3, 4)),)), S("lambd", (In((3, 4)), 1.0)),
                                                         S("zerod", (In(()),)))),
        OpSpec("F.softshrink", nnf("softshrink"), listed(S("default", (In((3, 4)),)), S("lambd", (In((3, 4)), 0.2)),
                                                         S("negative", (In((3, 4)), -0.5)))),
        OpSpec("F.rrelu.eval", nnf("rrelu"), listed(S("default", (In((3, 4)),)), S("bounds", (In((3, 4)), 0.1, 0.4)))),
        OpSpec("F.rms_norm", nnf("rms_norm"), listed(
            S("last", (In((3, 4)), (4,))), S("weight", (In((2, 3, 4)), (3, 4), In((3, 4)))),
            S("eps", (In((3, 4)), [4]), {"eps": 1e-3}), S("bad_shape", (In((3, 4)), (3,))),
            S("bad_weight", (In((3, 4)), (4,), In((3,))))), tol=4),
        OpSpec("F.local_response_norm", nnf("local_response_norm"), listed(
            S("3d", (In((2, 5, 4)), 3)), S("4d", (In((2, 5, 3, 3)), 2), {"alpha": 0.1, "beta": 0.5, "k": 2.0}),
            S("5d", (In((1, 4, 2, 2, 2)), 4)), S("2d", (In((2, 5)), 3))), tol=4),
        OpSpec("F.channel_shuffle", nnf("channel_shuffle"), listed(
            S("groups2", (In((2, 6, 3)), 2)), S("groups3", (In((1, 6, 2, 2)), 3)), S("indivisible", (In((2, 5, 3)), 2)),
            S("2d", (In((2, 6)), 2)))),
        OpSpec("F.pdist", nnf("pdist"), listed(
            S("p2", (In((5, 3)),)), S("p1", (In((4, 3)), 1.0)), S("pinf", (In((4, 3)), float("inf"))),
            S("one_row", (In((1, 3)),)), S("3d", (In((2, 4, 3)),))), tol=4),
    ]


def _bags(offsets: list[int], **kw: Any) -> Any:
    """``F.embedding_bag(idx, weight, offsets)`` with the offsets made on the indices' device."""
    def call(lib: Any, idx: Any, w: Any, *rest: Any) -> Any:
        off = lib.tensor(offsets, device=idx.device)
        psw = {"per_sample_weights": rest[0]} if rest else {}
        return lib.nn.functional.embedding_bag(idx, w, off, **psw, **kw)
    return call


def _embedding_bags() -> list[OpSpec]:
    idx = In((7,), dtype=I64, kind="index", high=5, grad=False)
    w = In((5, 3))
    rows = []
    for mode in ("sum", "mean", "max"):
        rows += [
            OpSpec(f"F.embedding_bag.{mode}", _bags([0, 2, 2, 5], mode=mode), listed(S("bags", (idx, w)))),
            OpSpec(f"F.embedding_bag.{mode}.last_offset", _bags([0, 3, 3, 7], mode=mode, include_last_offset=True),
                   listed(S("bags", (idx, w)))),
            OpSpec(f"F.embedding_bag.{mode}.padding", _bags([0, 4], mode=mode, padding_idx=1),
                   listed(S("bags", (idx, w)))),
            OpSpec(f"F.embedding_bag.{mode}.2d", lambda lib, i, w, mode=mode: lib.nn.functional.embedding_bag(
                i, w, mode=mode), listed(S("fixed", (In((3, 4), dtype=I64, kind="index", high=5, grad=False), w)),
                                         S("padding", (In((3, 4), dtype=I64, kind="index", high=5, grad=False), w),
                                           {"padding_idx": 0}))),
        ]
    rows += [
        OpSpec("F.embedding_bag.per_sample_weights", _bags([0, 3], mode="sum"), listed(
            S("psw", (idx, w, In((7,)))))),
        OpSpec("F.embedding_bag.psw_not_sum", _bags([0, 3], mode="mean"), listed(S("psw", (idx, w, In((7,)))))),
        OpSpec("F.embedding_bag.first_offset", _bags([1, 3]), listed(S("not_zero", (idx, w)))),
        OpSpec("F.embedding_bag.offset_past_end", _bags([0, 9]), listed(S("past_end", (idx, w)))),
        OpSpec("F.embedding_bag.errors", nnf("embedding_bag"), listed(
            S("no_offsets", (idx, w)), S("offsets_2d_input", (In((2, 3), dtype=I64, kind="index", high=5), w,
                                                              In((2,), dtype=I64, kind="index", high=1))),
            S("bad_mode", (In((2, 3), dtype=I64, kind="index", high=5), w), {"mode": "min"}),
            S("weight_1d", (In((2, 3), dtype=I64, kind="index", high=5), In((5,)))),
            S("out_of_range", (In((2, 3), dtype=I64, kind="index", high=9), w)))),
    ]
    return rows


def _spatial_transformers() -> list[OpSpec]:
    rows = [OpSpec("F.affine_grid", nnf("affine_grid"), listed(
        S("2d", (In((2, 2, 3)), (2, 3, 4, 5)), {"align_corners": False}),
        S("2d_aligned", (In((2, 2, 3)), (2, 1, 3, 3)), {"align_corners": True}),
        S("3d", (In((1, 3, 4)), (1, 2, 2, 3, 4)), {"align_corners": False}),
        S("bad_theta", (In((2, 3, 3)), (2, 3, 4, 5)), {"align_corners": False}),
        S("bad_size", (In((2, 2, 3)), (2, 3, 4)), {"align_corners": False}),
        S("zero_size", (In((2, 2, 3)), (2, 3, 0, 5)), {"align_corners": False})), tol=4)]
    for mode in ("bilinear", "nearest", "bicubic"):
        for padding in ("zeros", "border", "reflection"):
            rows.append(OpSpec(f"F.grid_sample.{mode}.{padding}", nnf("grid_sample"), listed(
                S("2d", (In((2, 3, 4, 5)), In((2, 3, 2, 2))), {"mode": mode, "padding_mode": padding,
                                                               "align_corners": False}),
                S("2d_aligned", (In((1, 2, 3, 3)), In((1, 4, 3, 2))), {"mode": mode, "padding_mode": padding,
                                                                       "align_corners": True}),
                S("T", (In((2, 3, 5, 4), layout="T"), In((2, 3, 2, 2))), {"mode": mode, "padding_mode": padding,
                                                                          "align_corners": False})), tol=8))
    for mode in ("bilinear", "nearest"):
        rows.append(OpSpec(f"F.grid_sample.3d.{mode}", nnf("grid_sample"), listed(
            S("zeros", (In((1, 2, 3, 4, 3)), In((1, 2, 2, 3, 3))), {"mode": mode, "align_corners": False}),
            S("reflection", (In((1, 2, 3, 4, 3)), In((1, 2, 2, 3, 3))), {"mode": mode, "align_corners": True,
                                                                        "padding_mode": "reflection"})), tol=8))
    rows.append(OpSpec("F.grid_sample.errors", nnf("grid_sample"), listed(
        S("bad_mode", (In((1, 2, 3, 3)), In((1, 2, 2, 2))), {"mode": "area", "align_corners": False}),
        S("bad_padding", (In((1, 2, 3, 3)), In((1, 2, 2, 2))), {"padding_mode": "wrap", "align_corners": False}),
        S("grid_last", (In((1, 2, 3, 3)), In((1, 2, 2, 3))), {"align_corners": False}),
        S("batch", (In((2, 2, 3, 3)), In((1, 2, 2, 2))), {"align_corners": False}),
        S("ndim", (In((1, 2, 3, 3)), In((1, 2, 2, 2, 3))), {"align_corners": False}),
        S("bicubic_3d", (In((1, 2, 3, 3, 3)), In((1, 2, 2, 2, 3))), {"mode": "bicubic", "align_corners": False}))))
    return rows


def _ctc(input_lengths: list[int], target_lengths: list[int], flat: bool = False, **kw: Any) -> Any:
    """``F.ctc_loss(log_softmax(x), targets, ...)``; targets drawn in [0, C - 1) and shifted past the blank."""
    def call(lib: Any, x: Any, targets: Any) -> Any:
        t = targets + 1
        if flat:
            t = lib.cat([t[i, :n] for i, n in enumerate(target_lengths)])
        return lib.nn.functional.ctc_loss(x.log_softmax(-1), t, input_lengths, target_lengths, **kw)
    return call


def _ctc_rows() -> list[OpSpec]:
    x, t = In((10, 3, 5)), In((3, 4), dtype=I64, kind="index", high=4, grad=False)
    rows = []
    for reduction in ("mean", "sum", "none"):
        rows += [
            OpSpec(f"F.ctc_loss.{reduction}", _ctc([10, 8, 6], [4, 2, 3], reduction=reduction),
                   listed(S("padded", (x, t))), tol=8),
            OpSpec(f"F.ctc_loss.{reduction}.flat", _ctc([10, 7, 10], [3, 4, 0], flat=True, reduction=reduction),
                   listed(S("concatenated", (x, t))), tol=8),
        ]
    return rows + [
        OpSpec("F.ctc_loss.repeats", _ctc([10, 10, 10], [4, 4, 4]), listed(
            S("ties", (x, In((3, 4), dtype=I64, kind="index", high=1, grad=False)))), tol=8),
        OpSpec("F.ctc_loss.zero_infinity", _ctc([3, 10, 2], [4, 2, 3], zero_infinity=True, reduction="none"),
               listed(S("too_short", (x, t))), tol=8),
        OpSpec("F.ctc_loss.unbatched", lambda lib, x, t: lib.nn.functional.ctc_loss(
            x.log_softmax(-1), t + 1, [7], [3]), listed(S("one", (In((7, 5)), In((3,), dtype=I64, kind="index",
                                                                                    high=4, grad=False)))), tol=8),
        OpSpec("F.ctc_loss.errors", _ctc([11, 8, 6], [4, 2, 3]), listed(S("input_too_long", (x, t)))),
        OpSpec("F.ctc_loss.target_errors", _ctc([10, 8, 6], [4, 5, 3]), listed(S("targets_short", (x, t)))),
    ]


def rows() -> list[OpSpec]:
    return _losses() + _layers() + _embedding_bags() + _spatial_transformers() + _ctc_rows()
