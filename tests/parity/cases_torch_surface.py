"""Parity rows for the top-level ``torch.*`` names of ember.functions.torch_surface: the strided
views (``as_strided`` and its in-place, copy and scatter forms: storage offsets, overlapping
windows, views of transposed and strided inputs, PyTorch's bounds errors), ``stft``/``istft``
(complex results compared through ``view_as_real``; a device without complex dtypes must refuse,
see cases_complex.on_device), ``histogramdd``, ``binomial`` (random: shapes, dtypes and errors),
``mvlgamma``, ``nuclear_norm``, the old LU/triangular API and the removed functions' errors.
"""

from __future__ import annotations

from typing import Any

from cases_complex import _as_real, on_device
from parity_cases import ALL, F32, F64, FLOAT, I64, NUMERIC, In, OpSpec, Sample, listed, ns

S = Sample


def _on_clone(name: str):
    """``x.clone().<name>(...)``: an in-place method on a copy (the leaf may need grad)."""
    return lambda lib, x, *a, **k: getattr(x.detach().clone(), name)(*a, **k)


def _as_strided_rows() -> list[OpSpec]:
    def geometry(lib: Any, x: Any, *a: Any, **k: Any) -> Any:
        out = lib.as_strided(x, *a, **k)
        # (an empty tensor's strides: ember reports C strides whatever was asked)
        return out, out.stride() if out.numel() else None, out.storage_offset()

    samples = listed(
        S("matrix", (In((3, 4)), (2, 2), (1, 2)), core=True),
        S("overlap", (In((6,)), (4, 2), (1, 1))),
        S("offset", (In((3, 4)), (2, 3), (4, 1), 1)),
        S("zero_stride", (In((4,)), (3, 2), (0, 1), 2)),
        S("T_view", (In((3, 4), layout="T"), (2, 2), (1, 3))),
        S("step_view", (In((2, 3), layout="step"), (3,), (2,))),
        S("expand_view", (In((3, 4), layout="expand"), (4,), (1,))),
        S("scalar", (In(()), (2, 2), (0, 0))),
        S("scalar_0d", (In(()), (), ())),
        S("empty_result", (In((4,)), (0, 3), (1, 1), 3)),
        S("empty_input", (In((0, 3)), (0,), (1,))),
        S("oob", (In((2, 3)), (4,), (2,))),
        S("oob_offset", (In((2, 3)), (2,), (1,), 5)),
        S("negative_stride", (In((6,)), (2,), (-1,))),
        S("negative_offset", (In((6,)), (2,), (1,), -1)),
        S("negative_size", (In((6,)), (-2,), (1,))),
        S("mismatch", (In((6,)), (2,), (1, 1))),
        S("int_size", (In((6,)), 2, 1)),
    )
    return [
        OpSpec("as_strided", geometry, samples, ALL),
        OpSpec("as_strided.method", lambda lib, x, *a: x.as_strided(*a),
               listed(S("m", (In((3, 4)), (3, 3), (4, 1)), core=True), S("T", (In((3, 4), layout="T"), (4,), (3,)))),
               FLOAT),
        OpSpec("as_strided_", lambda lib, x, *a: (lambda y: (y.as_strided_(*a), y.stride(), y.storage_offset()))(
            x.detach().clone()),
               listed(S("m", (In((3, 4)), (2, 2), (4, 1), 1), core=True), S("oob", (In((2,)), (3,), (1,)))), NUMERIC),
        OpSpec("as_strided_copy", ns("as_strided_copy"),
               listed(S("m", (In((3, 4)), (2, 2), (1, 2)), core=True), S("step", (In((2, 3), layout="step"), (2,), (3,))),
                      S("offset", (In((6,)), (2,), (2,), 1)), S("oob", (In((2,)), (3,), (1,)))), ALL),
        # (only src's gradient is compared, and only for a contiguous input: PyTorch 2.13's backward
        # ignores the input's geometry; see test_fix_torch_surface.test_as_strided_scatter_grads)
        OpSpec("as_strided_scatter", ns("as_strided_scatter"), listed(
            S("m", (In((3, 4), grad=False), In((2, 2)), (2, 2), (1, 2)), core=True),
            S("offset", (In((6,), grad=False), In((2,)), (2,), (2,), 1)),
            S("view_input", (In((2, 3), layout="step", grad=False), In((2,), grad=False), (2,), (2,))),
            S("bad_src", (In((6,), grad=False), In((3,)), (2,), (2,))),
            S("oob", (In((2,), grad=False), In((3,)), (3,), (1,)))), FLOAT + (I64,)),
    ]


def _spectral_rows() -> list[OpSpec]:
    def stft(lib: Any, x: Any, *a: Any, **k: Any) -> Any:
        return _as_real(lib, lib.stft(x, *a, **k))

    def stft_win(lib: Any, x: Any, w: Any, n_fft: int, **k: Any) -> Any:
        return _as_real(lib, lib.stft(x, n_fft, window=w, **k))

    def roundtrip(lib: Any, x: Any, w: Any, n_fft: int, **k: Any) -> Any:
        """istft of stft: the inverse must give the signal back (and its gradient)."""
        split = {key: k.pop(key) for key in ("center", "normalized", "onesided") if key in k}
        spec = lib.stft(x, n_fft, window=w, return_complex=True, **split)
        return _as_real(lib, lib.istft(spec, n_fft, window=w, **split, **k))

    def istft_of(lib: Any, x: Any, n_fft: int, **k: Any) -> Any:
        """istft of a spectrum built on the device from the real parts (an error sample)."""
        return lib.istft(lib.complex(x, x * 0), n_fft, **k)

    rc = {"return_complex": True}
    stft_samples = listed(
        S("vector", (In((24,)), 8), rc, core=True),
        S("batch", (In((2, 20)), 8), {"hop_length": 3, **rc}),
        S("win_length", (In((20,)), 8), {"win_length": 5, "hop_length": 2, **rc}),
        S("no_center", (In((20,)), 8), {"center": False, **rc}),
        S("constant_pad", (In((20,)), 8), {"pad_mode": "constant", **rc}),
        S("replicate_pad", (In((20,)), 6), {"pad_mode": "replicate", **rc}),
        S("circular_pad", (In((20,)), 6), {"pad_mode": "circular", **rc}),
        S("normalized_twosided", (In((20,)), 8), {"normalized": True, "onesided": False, **rc}),
        S("real_pairs", (In((20,)), 8), {"return_complex": False}),
        S("strided_input", (In((2, 10), layout="step"), 8), rc),
        S("no_return_complex", (In((20,)), 8)),
        S("bad_pad_mode", (In((20,)), 8), {"pad_mode": "foo", **rc}),
        S("win_too_long", (In((20,)), 8), {"win_length": 10, **rc}),
        S("zero_hop", (In((20,)), 8), {"hop_length": 0, **rc}),
        S("n_fft_too_big", (In((20,)), 30), {"center": False, **rc}),
        S("short_for_reflect", (In((3,)), 8), rc),
        S("3d", (In((1, 2, 20)), 8), rc),
        S("align_center", (In((20,)), 8), {"align_to_window": True, **rc}),
    )
    win_samples = listed(
        S("hann", (In((24,)), In((8,), kind="positive"), 8), rc, core=True),
        S("short_window", (In((24,)), In((6,), kind="positive"), 8), {"win_length": 6, "hop_length": 3, **rc}),
        S("bad_window", (In((24,)), In((3,)), 8), rc),
        S("window_2d", (In((24,)), In((2, 4)), 8), {"win_length": 4, **rc}),
    )
    trip = listed(
        S("hann", (In((24,)), In((8,), kind="positive"), 8), {}, core=True),
        S("batch", (In((2, 20)), In((8,), kind="positive"), 8), {"length": 20}),
        S("longer", (In((20,)), In((8,), kind="positive"), 8), {"length": 26}),
        S("normalized", (In((20,)), In((8,), kind="positive"), 8), {"normalized": True}),
        S("twosided", (In((20,)), In((8,), kind="positive"), 8), {"onesided": False}),
        S("twosided_complex", (In((20,)), In((8,), kind="positive"), 8), {"onesided": False, "return_complex": True}),
        S("onesided_complex", (In((20,)), In((8,), kind="positive"), 8), {"return_complex": True}),
        S("no_center", (In((20,)), In((8,), kind="positive"), 8), {"center": False}),
    )
    return [
        OpSpec("stft", on_device(stft), stft_samples, FLOAT),
        OpSpec("stft.window", on_device(stft_win), win_samples, FLOAT),
        OpSpec("stft.int", on_device(lambda lib, x: lib.stft(x, 4, return_complex=True)),
               listed(S("long", (In((12,)),), core=True)), (I64,)),
        OpSpec("istft.roundtrip", on_device(roundtrip), trip, FLOAT, tol=10.0),
        OpSpec("istft.errors", on_device(istft_of), listed(
            S("real_input", (In((5, 4)), 8), core=True),
            S("bad_freq", (In((6, 4)), 8), {"onesided": True}),
            S("4d", (In((1, 1, 5, 4)), 8)),
            S("bad_hop", (In((5, 4)), 8), {"hop_length": 9}),
            S("no_overlap", (In((5, 4)), 8), {"hop_length": 8, "window": None, "center": False})), (F32,)),
    ]


def _histogramdd_rows() -> list[OpSpec]:
    def edges(lib: Any, x: Any, *bins: Any, **k: Any) -> Any:
        return lib.histogramdd(x, bins=list(bins), **k)

    return [
        OpSpec("histogramdd", ns("histogramdd"), listed(
            S("2d", (In((10, 2)),), {"bins": [2, 3]}, core=True),
            S("int_bins", (In((3, 4, 3)),), {"bins": 2}),
            S("range", (In((10, 2)),), {"bins": 3, "range": [-1.0, 1.0, 0.0, 2.0]}),
            S("weight_density", (In((10, 2)),), {"bins": [2, 2], "weight": In((10,), kind="positive"),
                                                  "density": True}),
            S("T_input", (In((2, 8), layout="T"),), {"bins": [3, 2]}),
            S("empty", (In((0, 2)),), {"bins": 2}),
            S("one_point", (In((1, 3)),), {"bins": 2}),
            S("bad_bins", (In((4, 2)),), {"bins": [2]}),
            S("bad_range", (In((4, 2)),), {"bins": 2, "range": [0.0, 1.0]}),
            S("zero_bins", (In((4, 2)),), {"bins": [0, 2]}),
            S("inverted_range", (In((4, 2)),), {"bins": 2, "range": [0.0, 1.0, 2.0, 1.0]}),
            S("1d_input", (In((4,)),), {"bins": 2})), FLOAT),
        OpSpec("histogramdd.edges", edges, listed(
            S("m", (In((12, 2)), In((4,), kind="ties"), In((3,), kind="ties")), core=True)), (F32,)),
        OpSpec("histogramdd.int", ns("histogramdd"), listed(S("long", (In((4, 2)),), {"bins": 2}, core=True)), (I64,)),
    ]


def _binomial_rows() -> list[OpSpec]:
    return [
        OpSpec("binomial", ns("binomial"), listed(
            S("m", (In((3, 4), kind="positive"), In((3, 4), kind="unit")), core=True),
            S("broadcast", (In((2, 3), kind="positive"), In((3,), kind="unit"))),
            S("scalar", (In(()), In(()))),
            S("empty", (In((0, 2)), In((0, 2)))),
            S("int_count", (In((3,), dtype=I64), In((3,), kind="unit"))),
            S("int_prob", (In((3,)), In((3,), dtype=I64))),
            S("mixed_float", (In((3,)), In((3,), dtype=F64)))), (F32,), random=True),
    ]


def _linalg_rows() -> list[OpSpec]:
    sq = In((3, 3), kind="nonzero")

    def tri(lib: Any, b: Any, A: Any, *a: Any, **k: Any) -> Any:
        return lib.triangular_solve(b, A.triu() + 3 * lib.eye(A.shape[-1], dtype=A.dtype, device=A.device), *a, **k)

    def lu_unpack(lib: Any, A: Any, **k: Any) -> Any:
        return lib.lu_unpack(*lib.linalg.lu_factor(A), **k)

    def lu_solve(lib: Any, b: Any, A: Any) -> Any:
        return lib.lu_solve(b, *lib.lu(A))

    return [
        OpSpec("mvlgamma", ns("mvlgamma"), listed(
            S("p1", (In((3, 4), kind="positive"), 1), core=True), S("p3", (In((5,), kind="positive"), 3)),
            S("T", (In((3, 4), kind="positive", layout="T"), 2)), S("scalar", (In((), kind="positive"), 2)),
            S("empty", (In((0, 2)), 2)), S("p0", (In((3,)), 0))), FLOAT + (I64,)),
        OpSpec("mvlgamma_", _on_clone("mvlgamma_"), listed(
            S("m", (In((3,), kind="positive"), 2), core=True)), (F32, I64)),
        OpSpec("nuclear_norm", ns("nuclear_norm"), listed(
            S("m", (In((3, 4)),), core=True), S("keepdim", (In((3, 4)), True)),
            S("dim", (In((2, 3, 4)), (0, 2))), S("dim_keepdim", (In((2, 3, 4)), (2, 1), True)),
            S("bad_dim", (In((2, 3, 4)), (0,))), S("vector", (In((3,)),))), FLOAT),
        OpSpec("triangular_solve", tri, listed(
            S("upper", (In((3, 2)), sq), core=True), S("transpose", (In((3, 2)), sq, True, True)),
            S("lower_unit", (In((3, 2)), sq, False, False, True)), S("batch_b", (In((2, 3, 1)), sq)),
            S("vector_b", (In((3,)), sq))), FLOAT),
        OpSpec("lu", ns("lu"), listed(S("m", (sq,), core=True), S("infos", (sq,), {"get_infos": True}),
                                      S("batch", (In((2, 3, 3)),),)), FLOAT),
        OpSpec("lu.singular", lambda lib, x, **k: lib.lu(x.expand(3, 3), **k), listed(
            S("rows_equal", (In((1, 3), grad=False),), core=True),
            S("infos", (In((1, 3), grad=False),), {"get_infos": True}),
            S("no_pivot", (In((1, 3), grad=False),), {"pivot": False})), (F32,)),
        OpSpec("lu_solve", lu_solve, listed(S("m", (In((3, 2)), sq), core=True)), FLOAT),
        OpSpec("lu_unpack", lu_unpack, listed(
            S("m", (sq,), core=True), S("batch", (In((2, 3, 3)),)), S("no_data", (sq,), {"unpack_data": False}),
            S("no_pivots", (sq,), {"unpack_pivots": False})), FLOAT),
        OpSpec("lu_unpack.bad_pivots", lambda lib, A, p: lib.lu_unpack(A, p),
               listed(S("long", (In((3, 3)), In((3,), dtype=I64, kind="index", high=3)), core=True)), (F32,)),
    ]


def _eig_rows() -> list[OpSpec]:
    def eig(lib: Any, A: Any) -> Any:
        """Eigenvalues, and eigenvectors through their moduli (a phase per column is free)."""
        w, V = lib.linalg.eig(A)
        return _as_real(lib, w), V.abs()

    def eigvals(lib: Any, A: Any) -> Any:
        return _as_real(lib, lib.linalg.eigvals(A))

    samples = listed(
        S("m", (In((4, 4)),), core=True), S("batch", (In((2, 3, 3)),)), S("T", (In((3, 3), layout="T"),)),
        S("1x1", (In((1, 1)),)), S("empty", (In((2, 0, 0), grad=False),)), S("not_square", (In((2, 3)),)),
        S("vector", (In((3,)),)))
    return [
        OpSpec("linalg.eig", on_device(eig), samples, FLOAT, tol=100.0),
        OpSpec("linalg.eigvals", on_device(eigvals), samples, FLOAT, tol=100.0),
        OpSpec("linalg.eig.int", on_device(eigvals), listed(S("long", (In((2, 2)),), core=True)), (I64,)),
    ]


def _embedding_bag_rows() -> list[OpSpec]:
    idx = In((7,), dtype=I64, kind="index", high=5)
    off = In((3,), dtype=I64, kind="index", high=1)  # zeros: the first bags are empty, the last holds all

    def bag(lib: Any, w: Any, i: Any, *a: Any) -> Any:
        offsets = lib.tensor([0, 2, 2, 5], device=i.device)
        return lib.embedding_bag(w, i, offsets, *a)

    def bag_last(lib: Any, w: Any, i: Any, *a: Any) -> Any:
        offsets = lib.tensor([0, 3, 3, 7], device=i.device)  # include_last_offset: 3 bags, the last offset ends them
        return lib.embedding_bag(w, i, offsets, False, *a)

    return [
        OpSpec("embedding_bag", bag, listed(
            S("sum", (In((5, 3)), idx), core=True), S("mean", (In((5, 3)), idx, False, 1)),
            S("max", (In((5, 3)), idx, False, 2)), S("sum_padding", (In((5, 3)), idx, False, 0, False, None, False, 2)),
            S("mean_padding", (In((5, 3)), idx, False, 1, False, None, False, -1)),
            S("max_padding", (In((5, 3)), idx, False, 2, False, None, False, 1)),
            S("per_sample_weights", (In((5, 3)), idx, False, 0, False, In((7,)))),
            S("psw_mean", (In((5, 3)), idx, False, 1, False, In((7,))))), FLOAT),
        OpSpec("embedding_bag.last_offset", bag_last, listed(
            S("sum", (In((5, 3)), idx, 0, False, None, True), core=True),
            S("mean", (In((5, 3)), idx, 1, False, None, True)), S("max", (In((5, 3)), idx, 2, False, None, True))),
               (F32,)),
        OpSpec("embedding_bag.offsets", lambda lib, w, i, o: lib.embedding_bag(w, i, o, False, 1),
               listed(S("zeros", (In((5, 3)), idx, off), core=True)), (F32,)),
        OpSpec("embedding_bag.float_indices", lambda lib, w, i: lib.embedding_bag(w, i, None),
               listed(S("m", (In((5, 3)), In((4,))), core=True)), (F32,)),
    ]


def _removed_rows() -> list[OpSpec]:
    one = listed(S("m", (In((2, 2)),), core=True))
    two = listed(S("m", (In((2, 2)), In((2, 2))), core=True))
    return [
        OpSpec("eig.removed", ns("eig"), one, (F32,)),
        OpSpec("eig.removed.method", lambda lib, x: x.eig(eigenvectors=True), one, (F32,)),
        OpSpec("symeig.removed", ns("symeig"), one, (F32,)),
        OpSpec("matrix_rank.removed", ns("matrix_rank"), one, (F32,)),
        OpSpec("lstsq.removed", ns("lstsq"), two, (F32,)),
        OpSpec("solve.removed", ns("solve"), two, (F32,)),
        OpSpec("solve.removed.method", lambda lib, b, A: b.solve(A), two, (F32,)),
    ]


def _constant_rows() -> list[OpSpec]:
    def consts(lib: Any) -> Any:
        return lib.e, lib.pi, lib.inf, lib.nan, lib.newaxis, lib.is_storage(1)

    def get_device(lib: Any, x: Any) -> Any:
        return lib.get_device(x) if x.device.type == "cpu" else -1  # opencl:0 answers 0, not PyTorch's cpu -1

    return [
        OpSpec("torch_constants", lambda lib, x: consts(lib), listed(S("m", (In((1,)),), core=True)), (F32,)),
        OpSpec("get_device", get_device, listed(S("m", (In((2,)),), core=True)), (F32,)),
        OpSpec("newaxis_index", lambda lib, x: x[lib.newaxis, :, lib.newaxis],
               listed(S("m", (In((3,)),), core=True)), (F32,)),
        OpSpec("pi_math", lambda lib, x: x * lib.pi + lib.e, listed(S("m", (In((3,)),), core=True)), FLOAT),
        OpSpec("vmap_top", lambda lib, x: lib.vmap(lambda r: (r * r).sum())(x),
               listed(S("m", (In((3, 4)),), core=True)), (F32,)),
    ]


def rows() -> list[OpSpec]:
    return (_as_strided_rows() + _spectral_rows() + _histogramdd_rows() + _binomial_rows() + _linalg_rows() + _eig_rows()
            + _embedding_bag_rows()
            + _removed_rows() + _constant_rows())

