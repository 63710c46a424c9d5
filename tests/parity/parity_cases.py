"""The parity layer's op table, generated into cases the way PyTorch's OpInfo does.

One :class:`OpSpec` row per op: the expression (``fn(lib, *args, **kwargs)``, the same for torch
and ember), the dtypes it accepts, and a sample-input family. :func:`generate` crosses every row
with its dtypes and samples; the test module crosses the result with the devices. A sample
describes its tensors as :class:`In` (shape, value domain, layout), so the arrays are drawn at test
time from a NumPy generator seeded by the case id: every case is reproducible on its own.

The first dtype of a row gets every sample of its family; the other dtypes get the samples marked
``core`` (OpInfo's "reference inputs" vs "sample inputs" split), which keeps the case count modest.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from parity_compare import DEVICE, Arg, storage_shape

F32, F64, I64, I32, BOOL, U8 = "float32", "float64", "int64", "int32", "bool", "uint8"
FLOAT = (F32, F64)
INT = (I64, I32)
FLOAT_INT = (F32, F64, I64)
NUMERIC = (F32, F64, I64, I32)
ALL = (F32, F64, I64, I32, BOOL)


@dataclass(frozen=True)
class In:
    """A tensor input. ``dtype`` None means the case's dtype; ``kind`` is the value domain
    (see :func:`make_array`); ``layout`` is how both frameworks view the storage
    (contiguous, T = transposed, step = every other column, expand = stride-0 first dim, permute)."""

    shape: tuple[int, ...]
    dtype: str | None = None
    kind: str = "any"
    layout: str = "contiguous"
    high: int = 0
    grad: bool = True


@dataclass(frozen=True)
class Sample:
    name: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    core: bool = False


@dataclass(frozen=True)
class OpSpec:
    name: str
    fn: Callable[..., Any]
    samples: Callable[[str], list[Sample]]
    dtypes: tuple[str, ...] = FLOAT
    tol: float = 1.0
    grad_tol: float | None = None
    random: bool = False  # draws from the framework's generator: values are not compared


@dataclass(frozen=True)
class Case:
    id: str
    op: OpSpec
    sample: Sample
    dtype: str

    def materialize(self) -> tuple[tuple, dict]:
        """The sample's args and kwargs with every :class:`In` drawn into an :class:`Arg`."""
        rng = np.random.default_rng(zlib.crc32(self.id.encode()))
        return _draw(self.sample.args, rng, self.dtype), _draw(self.sample.kwargs, rng, self.dtype)

    @property
    def seed(self) -> int:
        return zlib.crc32(self.id.encode()) + 1


# ---- input values ---------------------------------------------------------------------------


def make_array(rng: np.random.Generator, shape: tuple[int, ...], dtype: str, kind: str, high: int) -> np.ndarray:
    """Values of ``dtype`` in the domain ``kind``: any, positive, nonzero, unit (0, 1), nonneg,
    index (0 <= i < high, int64 unless dtype says otherwise), mask (bool), special (with
    +-inf, NaN, +-0), nan_unique (distinct values, one NaN, one +inf, one -inf), zeros_some (some exact zeros), ties (few distinct values), large (|x| in
    [300, 400])."""
    if kind == "index":
        return rng.integers(0, high, shape).astype(dtype)
    if kind == "mask" or dtype == BOOL:
        return rng.random(shape) < 0.5
    if dtype == U8:
        return rng.integers(0, 256, shape).astype(dtype)
    if dtype in INT:
        lo, hi = {"positive": (1, 6), "nonzero": (1, 6), "nonneg": (0, 4), "unit": (0, 2)}.get(kind, (-5, 6))
        values = rng.integers(lo, hi, shape)
        if kind == "nonzero":
            values *= rng.choice([-1, 1], shape)
        return values.astype(dtype)
    if kind == "positive":
        values = rng.uniform(0.5, 2.5, shape)
    elif kind == "nonzero":
        values = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind == "unit":
        values = rng.uniform(0.05, 0.95, shape)
    elif kind == "nonneg":
        values = rng.uniform(0.0, 2.0, shape)
    elif kind == "nan_unique":
        # distinct values with one NaN, one +inf and one -inf: sort/topk indices are then defined
        values = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.25 - 1.0
        flat = values.reshape(-1)
        flat[rng.choice(flat.size, size=min(3, flat.size), replace=False)] = [np.nan, np.inf, -np.inf][: min(3, flat.size)]
    elif kind == "large":
        values = rng.uniform(300.0, 400.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind == "ties":
        values = rng.integers(-2, 3, shape).astype(np.float64)
    else:
        values = rng.standard_normal(shape)
        if kind == "special":
            special = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0])
            pick = rng.random(shape) < 0.5
            values = np.where(pick, rng.choice(special, shape), values)
        elif kind == "zeros_some":
            values = np.where(rng.random(shape) < 0.4, 0.0, values)
    return np.asarray(values).astype(dtype)


def _draw(value: Any, rng: np.random.Generator, dtype: str) -> Any:
    if isinstance(value, In):
        dt = value.dtype or dtype
        if value.kind == "index" and value.dtype is None:
            dt = I64
        array = make_array(rng, storage_shape(value.shape, value.layout), dt, value.kind, value.high)
        return Arg(array, value.layout, value.shape, value.grad)
    if isinstance(value, list):
        return [_draw(v, rng, dtype) for v in value]
    if isinstance(value, tuple):
        return tuple(_draw(v, rng, dtype) for v in value)
    if isinstance(value, dict):
        return {k: _draw(v, rng, dtype) for k, v in value.items()}
    return value


# ---- the expressions: one lambda serves both libraries ----------------------------------------


def ns(name: str) -> Callable[..., Any]:
    """``lib.<name>(*args)``: a torch/ember namespace function."""
    return lambda lib, *a, **k: getattr(lib, name)(*a, **k)


def method(name: str) -> Callable[..., Any]:
    """``args[0].<name>(*args[1:])``: a Tensor method."""
    return lambda lib, x, *a, **k: getattr(x, name)(*a, **k)


def nnf(name: str) -> Callable[..., Any]:
    """``lib.nn.functional.<name>(*args)``."""
    return lambda lib, *a, **k: getattr(lib.nn.functional, name)(*a, **k)


# ---- sample families ------------------------------------------------------------------------


def unary(kind: str = "any", **kwargs: Any) -> Callable[[str], list[Sample]]:
    """0-d, empty, vector, matrix, size-1 dims, transposed, strided, expanded and permuted inputs."""

    def samples(dtype: str) -> list[Sample]:
        def s(name: str, shape: tuple, layout: str = "contiguous", core: bool = False) -> Sample:
            return Sample(name, (In(shape, kind=kind, layout=layout),), kwargs, core)

        return [
            s("scalar", (), core=True),
            s("empty", (0, 3)),
            s("vector", (5,)),
            s("matrix", (3, 4), core=True),
            s("size1", (1, 3, 1)),
            s("transposed", (3, 4), "T"),
            s("strided", (2, 3), "step"),
            s("expanded", (3, 4), "expand"),
            s("permuted", (2, 3, 4), "permute"),
        ]

    return samples


def binary(kind_a: str = "any", kind_b: str = "any", scalars: tuple = (2, 2.5)) -> Callable[[str], list[Sample]]:
    """Same shapes, broadcasting pairs, 0-d with n-d, empty, non-contiguous, Python scalars and
    incompatible shapes (an error on both sides)."""

    def samples(dtype: str) -> list[Sample]:
        def s(name: str, a: In, b: Any, core: bool = False) -> Sample:
            return Sample(name, (a, b), {}, core)

        def a(shape: tuple, layout: str = "contiguous") -> In:
            return In(shape, kind=kind_a, layout=layout)

        def b(shape: tuple, layout: str = "contiguous") -> In:
            return In(shape, kind=kind_b, layout=layout)

        out = [
            s("same", a((3, 4)), b((3, 4)), core=True),
            s("bcast", a((3, 4)), b((4,)), core=True),
            s("bcast3", a((2, 1, 4)), b((3, 1))),
            s("outer", a((4, 1)), b((1, 5))),
            s("zerod", a(()), b((3, 4))),
            s("empty", a((0, 3)), b((1, 3))),
            s("noncontig", a((3, 4), "T"), b((3, 4), "step")),
            s("expanded", a((3, 4), "expand"), b((3, 4))),
            s("mismatch", a((3,)), b((4,))),
        ]
        for value in scalars:
            out.append(s(f"py{type(value).__name__}", a((3, 4)), value))
        return out

    return samples


def reduction(multi_dim: bool = True, empty_ok: bool = True, extra: dict | None = None) -> Callable[[str], list[Sample]]:
    """No dim, one dim, keepdim, several dims, 0-d inputs, empty inputs, a transposed input, and
    out-of-range dims (IndexError on both sides)."""
    extra = extra or {}

    def samples(dtype: str) -> list[Sample]:
        def s(name: str, shape: tuple, layout: str = "contiguous", core: bool = False, **kw: Any) -> Sample:
            return Sample(name, (In(shape, layout=layout),), {**extra, **kw}, core)

        out = [
            s("all", (3, 4), core=True),
            s("dim0", (3, 4), dim=0),
            s("keepdim", (2, 3, 4), dim=-1, keepdim=True, core=True),
            s("scalar", ()),
            s("scalar_dim0", (), dim=0),
            s("scalar_dim1", (), dim=1),
            s("transposed", (3, 4), "T", dim=1),
            s("bad_dim", (3, 4), dim=2),
            s("empty_dim1", (0, 3), dim=1),
        ]
        if multi_dim:
            out.append(s("dims", (2, 3, 4), dim=(0, 2)))
        if empty_ok:
            out.append(s("empty_all", (0, 3)))
            out.append(s("empty_dim0", (0, 3), dim=0))
        return out

    return samples


def listed(*samples: Sample) -> Callable[[str], list[Sample]]:
    """A fixed list of samples (the first one core)."""
    first, *rest = samples
    fixed = [Sample(first.name, first.args, first.kwargs, True), *rest]
    return lambda dtype: fixed


S = Sample  # rows below read better with a short name


def ix(shape: tuple, high: int, dtype: str | None = None) -> In:
    """An index tensor with values in [0, high)."""
    return In(shape, dtype=dtype, kind="index", high=high)


def mask(shape: tuple) -> In:
    return In(shape, dtype=BOOL, kind="mask")


# ---- the table ---------------------------------------------------------------------------------

UNARY_FLOAT = {
    # name: (domain, dtypes)
    "exp": ("any", FLOAT_INT), "expm1": ("any", FLOAT), "log": ("positive", FLOAT_INT),
    "log2": ("positive", FLOAT), "log10": ("positive", FLOAT), "log1p": ("positive", FLOAT),
    "sqrt": ("positive", FLOAT_INT), "rsqrt": ("positive", FLOAT), "sin": ("any", FLOAT_INT),
    "cos": ("any", FLOAT), "tan": ("any", FLOAT), "tanh": ("any", FLOAT_INT),
    "sigmoid": ("any", FLOAT_INT), "erf": ("any", FLOAT), "reciprocal": ("nonzero", FLOAT_INT),
    "floor": ("any", NUMERIC), "ceil": ("any", NUMERIC), "round": ("any", FLOAT), "trunc": ("any", FLOAT),
    "frac": ("any", FLOAT), "abs": ("any", ALL), "neg": ("any", ALL), "sign": ("any", ALL),
    "square": ("any", ALL), "relu": ("any", NUMERIC),
}

BINARY = {
    # name: (domain a, domain b, dtypes)
    "add": ("any", "any", ALL), "sub": ("any", "any", ALL), "mul": ("any", "any", ALL),
    "div": ("any", "nonzero", ALL), "floor_divide": ("any", "nonzero", NUMERIC),
    "remainder": ("any", "nonzero", NUMERIC), "fmod": ("any", "nonzero", NUMERIC),
    "pow": ("positive", "any", FLOAT), "maximum": ("any", "any", ALL), "minimum": ("any", "any", ALL),
    "atan2": ("any", "any", FLOAT),
}

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge")
LOGICAL = ("logical_and", "logical_or", "logical_xor")
BITWISE = ("bitwise_and", "bitwise_or", "bitwise_xor")

REDUCTIONS = {
    # name: (dtypes, sample family)
    "sum": (ALL, reduction()), "mean": (FLOAT, reduction()), "prod": (FLOAT_INT, reduction(multi_dim=False)),
    "amax": (NUMERIC, reduction(empty_ok=False)), "amin": (NUMERIC, reduction(empty_ok=False)),
    "std": (FLOAT, reduction()), "var": (FLOAT, reduction()),
    "logsumexp": (FLOAT, reduction(empty_ok=False, extra={"dim": 0})),
    "norm": (FLOAT, reduction(empty_ok=False)), "all": ((BOOL, F32, I64), reduction(multi_dim=False)),
    "any": ((BOOL, F32, I64), reduction(multi_dim=False)), "count_nonzero": (ALL, reduction(empty_ok=False)),
    "argmax": (NUMERIC, reduction(multi_dim=False, empty_ok=False)),
    "argmin": (NUMERIC, reduction(multi_dim=False, empty_ok=False)),
}


def _dim_reductions() -> list[OpSpec]:
    """max/min/median with a dim return (values, indices); cumsum/cumprod/softmax need a dim."""

    def dim_samples(kind: str = "any") -> Callable[[str], list[Sample]]:
        return listed(
            S("dim1", (In((3, 4), kind=kind),), {"dim": 1}),
            S("dim0_keep", (In((3, 4), kind=kind),), {"dim": 0, "keepdim": True}),
            S("scalar", (In((), kind=kind),), {"dim": 0}),
            S("transposed", (In((3, 4), kind=kind, layout="T"),), {"dim": -1}),
        )

    def along(kind: str = "any") -> Callable[[str], list[Sample]]:
        return listed(
            S("dim1", (In((3, 4), kind=kind),), {"dim": 1}),
            S("dim0", (In((2, 3, 4), kind=kind),), {"dim": 0}),
            S("scalar", (In((), kind=kind),), {"dim": 0}),
            S("empty", (In((0, 3), kind=kind),), {"dim": 1}),
            S("transposed", (In((3, 4), kind=kind, layout="T"),), {"dim": 0}),
            S("bad_dim", (In((3, 4), kind=kind),), {"dim": 3}),
        )

    return [
        OpSpec("max.dim", method("max"), dim_samples("ties"), NUMERIC),
        OpSpec("min.dim", method("min"), dim_samples("ties"), NUMERIC),
        OpSpec("max.all", method("max"), unary(), NUMERIC),
        OpSpec("median.dim", method("median"), dim_samples(), FLOAT_INT),
        OpSpec("cumsum", ns("cumsum"), along(), NUMERIC),
        OpSpec("cumprod", ns("cumprod"), along("nonzero"), FLOAT),
        OpSpec("softmax", ns("softmax"), along(), FLOAT, tol=4),
        OpSpec("log_softmax", ns("log_softmax"), along(), FLOAT, tol=4),
        OpSpec("var_mean", ns("var_mean"), listed(S("dim1", (In((3, 4)),), {"dim": 1}), S("all", (In((3, 4)),))),
               FLOAT),
        OpSpec("std.correction0", ns("std"), listed(S("dim0", (In((3, 4)),), {"dim": 0, "correction": 0})), FLOAT),
        OpSpec("sum.dtype", ns("sum"), listed(S("to_f64", (In((3, 4)),), {"dtype": "dtype:float64"})), (F32, I32)),
        OpSpec("norm.p1", ns("norm"), listed(S("dim1", (In((3, 4), kind="nonzero"),), {"p": 1, "dim": 1})), FLOAT),
    ]


def _sort_ops() -> list[OpSpec]:
    def sortish(**kw: Any) -> Callable[[str], list[Sample]]:
        return listed(
            S("matrix", (In((3, 5)),), kw),
            S("dim0", (In((4, 3)),), {**kw, "dim": 0}),
            S("transposed", (In((3, 5), layout="T"),), kw),
            S("scalar", (In(()),), {}),
        )

    return [
        OpSpec("sort", ns("sort"), sortish(), NUMERIC),
        OpSpec("sort.descending", ns("sort"), sortish(descending=True), FLOAT_INT),
        OpSpec("sort.nan", ns("sort"), listed(S("nan", (In((8,), kind="nan_unique"),)),
                                              S("nan_descending", (In((8,), kind="nan_unique"),), {"descending": True}),
                                              S("nan_rows", (In((3, 6), kind="nan_unique"),), {"dim": 0})), FLOAT),
        OpSpec("argsort", ns("argsort"), sortish(), FLOAT_INT),
        OpSpec("topk", ns("topk"), listed(S("k2", (In((3, 5)), 2)), S("k2_dim0", (In((4, 3)), 2), {"dim": 0}),
                                         S("smallest", (In((3, 5)), 3), {"largest": False}),
                                         S("too_big", (In((3, 5)), 6))), FLOAT_INT),
        OpSpec("topk.nan", ns("topk"), listed(S("nan", (In((8,), kind="nan_unique"), 3)),
                                              S("nan_smallest", (In((8,), kind="nan_unique"), 3), {"largest": False})),
               FLOAT),
    ]


def _shape_ops() -> list[OpSpec]:
    a34, a234 = In((3, 4)), In((2, 3, 4))
    return [
        OpSpec("reshape", method("reshape"), listed(S("flat", (a34, 12)), S("infer", (a234, (4, -1))),
                                                    S("from_T", (In((3, 4), layout="T"), (12,))),
                                                    S("scalar", (In(()), (1, 1))), S("empty", (In((0, 3)), (3, 0))),
                                                    S("bad", (a34, (5, -1)))), ALL),
        OpSpec("view", method("view"), listed(S("split", (a234, (6, 4))), S("noncontig", (In((3, 4), layout="T"), 12))),
               FLOAT_INT),
        OpSpec("permute", method("permute"), listed(S("3d", (a234, (2, 0, 1))), S("bad", (a234, (0, 0, 1)))), ALL),
        OpSpec("transpose", ns("transpose"), listed(S("3d", (a234, 0, 2)), S("scalar", (In(()), 0, -1))), ALL),
        OpSpec("t", ns("t"), listed(S("matrix", (a34,)), S("vector", (In((3,)),)), S("3d", (a234,))), FLOAT_INT),
        OpSpec("squeeze", method("squeeze"), listed(S("all", (In((1, 3, 1)),)), S("dim", (In((1, 3, 1)), 2)),
                                                    S("dims", (In((1, 3, 1)), (0, 2))), S("not1", (In((1, 3, 1)), 1)),
                                                    S("bad", (In((1, 3)), 3))), ALL),
        OpSpec("unsqueeze", ns("unsqueeze"), listed(S("mid", (a34, 1)), S("neg", (a34, -1)), S("scalar", (In(()), 0)),
                                                    S("bad", (a34, 4))), ALL),
        OpSpec("flatten", ns("flatten"), listed(S("all", (a234,)), S("range", (a234, 1, 2)), S("scalar", (In(()),)),
                                                S("transposed", (In((3, 4), layout="T"),))), FLOAT_INT),
        OpSpec("unflatten", ns("unflatten"), listed(S("split", (a34, 1, (2, 2)))), FLOAT),
        OpSpec("expand", method("expand"), listed(S("rows", (In((1, 4)), 3, 4)), S("new_dim", (In((4,)), 2, 3, 4)),
                                                  S("keep", (In((3, 1)), -1, 5)), S("bad", (In((2, 4)), 3, 4))), ALL),
        OpSpec("broadcast_to", ns("broadcast_to"), listed(S("rows", (In((1, 4)), (3, 4)))), FLOAT),
        OpSpec("cat", ns("cat"), listed(S("dim0", ([a34, In((2, 4))],)), S("dim1", ([a34, In((3, 2), layout="T")], 1)),
                                        S("empty", ([In((0, 4)), a34],)), S("bad", ([a34, In((3, 5))],)),
                                        S("mixed_dtype", ([a34, In((1, 4), dtype=F64)],))), NUMERIC),
        OpSpec("stack", ns("stack"), listed(S("dim0", ([a34, a34],)), S("dim_last", ([a34, a34], -1)),
                                            S("bad", ([a34, In((4, 3))],)),
                                            # without grad, stack reshapes the arrays directly: views,
                                            # strides and promotion must come out as with unsqueeze
                                            S("noncontig_mid", ([In((3, 4), layout="T"), In((3, 4), layout="step"),
                                                                 a34], 1)),
                                            S("mixed_dtype", ([a34, In((3, 4), dtype=F64)],)),
                                            S("expanded", ([In((3, 4), layout="expand"), a34], 2))), FLOAT_INT),
        OpSpec("split", ns("split"), listed(S("size2", (In((5, 3)), 2)), S("sections", (In((5, 3)), [1, 2], 1))),
               FLOAT),
        OpSpec("chunk", ns("chunk"), listed(S("three", (In((7, 3)), 3)), S("dim1", (In((2, 5)), 2, 1))), FLOAT),
        OpSpec("unbind", ns("unbind"), listed(S("dim0", (a34,)), S("dim1", (a34, 1))), FLOAT),
        OpSpec("flip", ns("flip"), listed(S("dim0", (a34, (0,))), S("both", (a234, (0, 2))), S("repeated", (a34, (0, 0)))),
               ALL),
        OpSpec("roll", ns("roll"), listed(S("flat", (a34, 5)), S("dim", (a34, -1, 1)), S("dims", (a234, (1, 2), (0, 2)))),
               FLOAT_INT),
        OpSpec("narrow", ns("narrow"), listed(S("dim1", (a34, 1, 1, 2)), S("bad", (a34, 1, 3, 2))), FLOAT),
        OpSpec("select", ns("select"), listed(S("dim1", (a34, 1, 2)), S("neg", (a34, 0, -1)), S("bad", (a34, 0, 3))),
               FLOAT_INT),
        OpSpec("movedim", ns("movedim"), listed(S("one", (a234, 0, 2))), FLOAT),
        OpSpec("tile", ns("tile"), listed(S("2d", (a34, (2, 1))), S("more", (In((3,)), (2, 2)))), FLOAT_INT),
        OpSpec("repeat", method("repeat"), listed(S("2d", (a34, 2, 1)), S("new_dim", (In((3,)), 2, 2))), FLOAT_INT),
        OpSpec("repeat_interleave", ns("repeat_interleave"), listed(S("dim0", (a34, 2, 0)), S("flat", (a34, 2))),
               FLOAT_INT),
        OpSpec("diagonal", ns("diagonal"), listed(S("main", (a34,)), S("offset", (a34, 1)), S("3d", (a234, 0, 1, 2)),
                                                  S("same_dims", (a34, 0, 0, 0))), FLOAT),
        OpSpec("diag", ns("diag"), listed(S("vector", (In((3,)),)), S("matrix", (a34,)), S("offset", (In((3,)), -1))),
               FLOAT_INT),
        OpSpec("tril", ns("tril"), listed(S("main", (a34,)), S("offset", (a34, 1)), S("batched", (a234, -1))), ALL),
        OpSpec("triu", ns("triu"), listed(S("main", (a34,)), S("offset", (a34, -1)), S("transposed", (In((3, 4), layout="T"),))),
               ALL),
        OpSpec("contiguous", method("contiguous"), unary(), FLOAT),
        OpSpec("clone", ns("clone"), unary(), ALL),
        OpSpec("getitem.basic", lambda lib, x: x[1:, ::2, -1], listed(S("3d", (a234,))), ALL),
        OpSpec("getitem.none_ellipsis", lambda lib, x: x[None, ..., 0], listed(S("3d", (a234,))), FLOAT),
        OpSpec("getitem.int_tensor", lambda lib, x, i: x[i], listed(S("rows", (a34, ix((5,), 3))),
                                                                   S("negative", (a34, In((2,), dtype=I64, kind="nonzero"))),
                                                                   S("out_of_range", (a34, ix((2,), 9, dtype=I64)))),
               FLOAT_INT),
        OpSpec("getitem.mask", lambda lib, x, m: x[m], listed(S("full", (a34, mask((3, 4)))), S("rows", (a34, mask((3,))))),
               FLOAT_INT),
        OpSpec("getitem.out_of_range", lambda lib, x: x[3], listed(S("row", (a34,))), FLOAT),
    ]


def _inplace_ops() -> list[OpSpec]:
    """In-place ops on a fresh result and on views of it (the gradient flows back to the input)."""

    def on_clone(op: Callable[[Any], Any]) -> Callable[..., Any]:
        def fn(lib: Any, x: Any) -> Any:
            y = x * 1
            op(y)
            return y

        return fn

    def with_other(op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
        def fn(lib: Any, x: Any, w: Any) -> Any:
            y = x * 1
            op(y, w)
            return y

        return fn

    a = listed(S("matrix", (In((3, 4)),)))
    return [
        OpSpec("inplace.mul_", on_clone(lambda y: y.mul_(3)), a, FLOAT),
        OpSpec("inplace.add_", with_other(lambda y, w: y.add_(w, alpha=2)), listed(S("matrix", (In((3, 4)), In((4,))))),
               FLOAT),
        OpSpec("inplace.clamp_", on_clone(lambda y: y.clamp_(-0.5, 0.5)), a, FLOAT),
        OpSpec("inplace.slice_mul_", on_clone(lambda y: y[1:].mul_(5)), a, FLOAT),
        OpSpec("inplace.select_add_", on_clone(lambda y: y[:, 0].add_(1)), a, FLOAT),
        OpSpec("inplace.view_zero_", on_clone(lambda y: y.view(12)[::3].zero_()), a, FLOAT),
        OpSpec("inplace.slice_mul_other", with_other(lambda y, w: y[1:].mul_(w[1:])),
               listed(S("matrix", (In((3, 4)), In((3, 4))))), FLOAT),
        OpSpec("inplace.leaf_view", lambda lib, w: w[:2].add_(1), a, FLOAT),
        OpSpec("inplace.after_repeat", on_clone(lambda y: y.repeat(1, 1).add_(1)), a, FLOAT),
        OpSpec("inplace.after_tile", on_clone(lambda y: y.tile((1,)).add_(1)), a, FLOAT),
        OpSpec("inplace.after_repeat_interleave", on_clone(lambda y: y.repeat_interleave(1, dim=0).add_(1)), a, FLOAT),
        OpSpec("inplace.setitem", with_other(lambda y, w: y.__setitem__((slice(None), 1), w)),
               listed(S("column", (In((3, 4)), In((3,))))), FLOAT),
    ]


def _indexing_ops() -> list[OpSpec]:
    a34 = In((3, 4))
    return [
        OpSpec("index_select", ns("index_select"), listed(
            S("dim0", (a34, 0, ix((5,), 3))), S("dim1", (In((3, 4), layout="T"), 1, ix((2,), 4))),
            S("int32_index", (a34, 1, ix((2,), 4, dtype=I32))), S("scalar_index", (a34, 0, ix((), 3))),
            S("out_of_range", (a34, 0, In((2,), dtype=I64, kind="nonzero"))),
            S("float_index", (a34, 0, In((2,), dtype=F32, kind="positive", grad=False)))), NUMERIC),
        OpSpec("gather", ns("gather"), listed(
            S("dim1", (a34, 1, ix((3, 2), 4))), S("dim0", (a34, 0, ix((2, 4), 3))),
            S("smaller", (a34, 1, ix((2, 2), 4))), S("out_of_range", (a34, 1, ix((3, 2), 9))),
            S("index_too_big", (a34, 1, ix((5, 2), 4))), S("int32_index", (a34, 1, ix((3, 2), 4, dtype=I32))),
            S("negative", (a34, 1, In((3, 2), dtype=I64, kind="nonzero")))), NUMERIC),
        OpSpec("scatter", ns("scatter"), listed(
            S("src", (a34, 1, ix((3, 2), 4), In((3, 2)))), S("value", (a34, 0, ix((2, 4), 3)), {"value": 1.5}),
            S("out_of_range", (a34, 1, ix((3, 2), 9), In((3, 2)))),
            S("index_too_big", (a34, 1, ix((5, 2), 4), In((5, 2)))),
            S("index_shape_mismatch", (a34, 1, ix((3, 2, 1), 4), In((3, 2))))), FLOAT),
        OpSpec("scatter.zerod_index", lambda lib, x, i: x.scatter(0, i, 1.0), listed(S("one_hot", (In((10,)), ix((), 10)))),
               FLOAT),
        OpSpec("scatter_add", ns("scatter_add"), listed(S("dim1", (a34, 1, ix((3, 5), 4), In((3, 5)))),
                                                        S("dim0", (a34, 0, ix((4, 4), 3), In((4, 4))))), FLOAT_INT),
        OpSpec("index_add", ns("index_add"), listed(
            S("dim0", (a34, 0, ix((5,), 3), In((5, 4)))), S("alpha", (a34, 1, ix((2,), 4), In((3, 2))), {"alpha": 2}),
            S("out_of_range", (a34, 0, ix((2,), 7), In((2, 4)))),
            S("int32_index", (a34, 0, ix((2,), 3, dtype=I32), In((2, 4)))),
            S("negative", (a34, 0, In((2,), dtype=I64, kind="nonzero"), In((2, 4)))),
            S("float_index", (a34, 0, In((2,), dtype=F32, kind="positive", grad=False), In((2, 4))))), FLOAT_INT),
        OpSpec("index_fill", ns("index_fill"), listed(S("dim1", (a34, 1, ix((2,), 4), -1.0))), FLOAT),
        OpSpec("masked_fill", ns("masked_fill"), listed(
            S("same", (a34, mask((3, 4)), 0.5)), S("bcast", (a34, mask((4,)), -2)),
            S("transposed", (In((3, 4), layout="T"), mask((3, 4)), 1)),
            S("float_mask", (a34, In((3, 4), dtype=F32, grad=False), 0.5))), (F32, F64, I64, BOOL)),
        OpSpec("masked_select", ns("masked_select"), listed(S("same", (a34, mask((3, 4)))), S("bcast", (a34, mask((4,))))),
               FLOAT_INT),
        OpSpec("where", ns("where"), listed(
            S("same", (mask((3, 4)), a34, In((3, 4)))), S("bcast", (mask((3, 1)), a34, In((4,)))),
            S("scalar_other", (mask((3, 4)), a34, 0.0)), S("mixed_dtype", (mask((3, 4)), a34, In((3, 4), dtype=F64)))),
               NUMERIC),
        OpSpec("where.cond", ns("where"), listed(S("nonzero", (mask((3, 4)),))), (BOOL,)),
        OpSpec("nonzero", ns("nonzero"), listed(S("matrix", (In((3, 4), kind="ties"),)), S("scalar", (In(()),)),
                                                S("empty", (In((0, 3)),))), (F32, I64, BOOL)),
        OpSpec("take", ns("take"), listed(S("flat", (a34, ix((5,), 12))), S("out_of_range", (a34, ix((2,), 20))),
                                          S("transposed", (In((3, 4), layout="T"), ix((2, 2), 12)))), FLOAT),
        OpSpec("take_along_dim", ns("take_along_dim"), listed(S("dim1", (a34, ix((3, 2), 4), 1))), FLOAT),
        OpSpec("index_put", lambda lib, x, i, v: x.index_put((i,), v, accumulate=True),
               listed(S("accumulate", (a34, ix((4,), 3), In((4, 4))))), FLOAT),
    ]


def _matmul_ops() -> list[OpSpec]:
    def pair(a: tuple, b: tuple, la: str = "contiguous", lb: str = "contiguous") -> tuple:
        return (In(a, layout=la), In(b, layout=lb))

    return [
        OpSpec("matmul", ns("matmul"), listed(
            S("mm", pair((3, 4), (4, 5))), S("mv", pair((3, 4), (4,))), S("vm", pair((4,), (4, 5))),
            S("dot", pair((4,), (4,))), S("batched_bcast", pair((2, 3, 4), (4, 5))),
            S("bcast_batches", pair((2, 1, 3, 4), (3, 4, 2))), S("transposed", pair((3, 4), (4, 5), "T", "T")),
            S("empty_k", pair((3, 0), (0, 2))), S("mismatch", pair((3, 4), (5, 2))), S("zerod", pair((), (3,)))),
               FLOAT_INT, tol=4),
        OpSpec("mm", ns("mm"), listed(S("plain", pair((3, 4), (4, 5))), S("bad", pair((3, 4, 1), (4, 5)))), FLOAT, tol=4),
        OpSpec("bmm", ns("bmm"), listed(S("plain", pair((2, 3, 4), (2, 4, 5))), S("strided", pair((2, 3, 4), (2, 4, 2), lb="step"))),
               FLOAT, tol=4),
        OpSpec("mv", ns("mv"), listed(S("plain", pair((3, 4), (4,)))), FLOAT, tol=4),
        OpSpec("dot", ns("dot"), listed(S("plain", pair((4,), (4,))), S("bad", pair((4,), (3,)))), FLOAT_INT, tol=4),
        OpSpec("outer", ns("outer"), listed(S("plain", pair((3,), (4,)))), FLOAT_INT),
        OpSpec("inner", ns("inner"), listed(S("plain", pair((3, 4), (2, 4)))), FLOAT, tol=4),
        OpSpec("addmm", ns("addmm"), listed(S("plain", (In((3, 5)), In((3, 4)), In((4, 5)))),
                                            S("scaled", (In((5,)), In((3, 4)), In((4, 5))), {"beta": 0.5, "alpha": 2.0})),
               FLOAT, tol=4),
        OpSpec("baddbmm", ns("baddbmm"), listed(S("plain", (In((2, 3, 5)), In((2, 3, 4)), In((2, 4, 5))))), FLOAT, tol=4),
        OpSpec("einsum.bij_bjk", lambda lib, a, b: lib.einsum("bij,bjk->bik", a, b),
               listed(S("plain", pair((2, 3, 4), (2, 4, 5)))), FLOAT, tol=4),
        OpSpec("einsum.trace_sum", lambda lib, a: lib.einsum("ii->", a), listed(S("plain", (In((3, 3)),))), FLOAT),
        OpSpec("tensordot", ns("tensordot"), listed(S("dims2", pair((2, 3, 4), (3, 4, 5)), {"dims": 2})), FLOAT, tol=4),
        OpSpec("linear", nnf("linear"), listed(S("bias", (In((2, 3, 4)), In((5, 4)), In((5,)))),
                                               S("no_bias", (In((3, 4)), In((5, 4)))), S("vector", (In((4,)), In((5, 4)))),
                                               # rows of a 4-d, a permuted and an empty batch (backward flattens them)
                                               S("rows_4d", (In((2, 2, 3, 4)), In((5, 4)), In((5,)))),
                                               S("rows_permuted", (In((3, 2, 4), layout="permute"), In((5, 4)), In((5,)))),
                                               S("rows_empty", (In((0, 3, 4)), In((5, 4)), In((5,))))),
               FLOAT, tol=4),
    ]


def _misc_elementwise() -> list[OpSpec]:
    a34 = In((3, 4))
    return [
        OpSpec("clamp", ns("clamp"), listed(S("both", (a34, -0.5, 0.5)), S("min_only", (a34, 0.0)),
                                            S("tensor_bounds", (a34, In((4,)), None)), S("none", (a34,))), NUMERIC),
        OpSpec("lerp", ns("lerp"), listed(S("scalar_w", (a34, In((3, 4)), 0.3)), S("tensor_w", (a34, In((4,)), In((3, 1), kind="unit")))),
               FLOAT),
        OpSpec("addcmul", ns("addcmul"), listed(S("plain", (a34, In((3, 4)), In((4,))), {"value": 0.5})), FLOAT),
        OpSpec("addcdiv", ns("addcdiv"), listed(S("plain", (a34, In((3, 4)), In((4,), kind="nonzero")), {"value": 2})),
               FLOAT),
        OpSpec("nan_to_num", ns("nan_to_num"), listed(S("default", (In((3, 4), kind="special"),)),
                                                      S("values", (In((3, 4), kind="special"),),
                                                        {"nan": 1.0, "posinf": 9.0, "neginf": -9.0})), FLOAT),
        OpSpec("isnan", ns("isnan"), listed(S("special", (In((3, 4), kind="special"),))), (F32, F64, I64)),
        OpSpec("isinf", ns("isinf"), listed(S("special", (In((3, 4), kind="special"),))), (F32, F64, I64)),
        OpSpec("isfinite", ns("isfinite"), listed(S("special", (In((3, 4), kind="special"),))), (F32, F64, I64)),
        OpSpec("isclose", ns("isclose"), listed(S("special", (In((3, 4), kind="special"), In((3, 4), kind="special"))),
                                                S("close", (a34, a34)),
                                                S("equal_nan", (In((8,), kind="special"), In((8,), kind="special")),
                                                  {"equal_nan": True})), FLOAT),
        OpSpec("special.exp_log", lambda lib, x: lib.exp(x) + lib.log(lib.abs(x)), listed(S("special", (In((8,), kind="special"),))),
               FLOAT),
        OpSpec("pow.zero_base", ns("pow"), listed(S("tensor_exp", (In((6,), kind="zeros_some"), In((6,), kind="positive"))),
                                                  S("scalar_exp", (In((6,), kind="zeros_some"), 2.0)),
                                                  S("scalar_base", (0.0, In((6,), kind="positive")))), FLOAT),
        OpSpec("pow.int", ns("pow"), listed(S("nonneg_exp", (In((3, 4)), In((3, 4), kind="nonneg"))), S("scalar", (a34, 2))),
               INT),
        OpSpec("pow.neg_int_exp", ns("pow"), listed(S("scalar", (In((3,), kind="positive"), -1))), INT),
        OpSpec("div.rounding", ns("div"), listed(S("floor", (a34, In((3, 4), kind="nonzero")), {"rounding_mode": "floor"}),
                                                 S("trunc", (a34, In((3, 4), kind="nonzero")), {"rounding_mode": "trunc"})),
               NUMERIC),
        OpSpec("int_div_by_zero", lambda lib, a, b: (a // b, a % b), listed(S("tensor", (In((4,)), In((4,), kind="nonneg")))),
               INT),
        OpSpec("float_div_by_zero", lambda lib, a, b: (a / b, a // b, a % b),
               listed(S("zeros", (In((6,), grad=False), In((6,), kind="zeros_some", grad=False)))), FLOAT),
        OpSpec("promotion.add", lambda lib, a, b: a + b, listed(
            S("i64_f32", (In((3,), dtype=I64), In((3,), dtype=F32))), S("i32_i64", (In((3,), dtype=I32), In((3,), dtype=I64))),
            S("bool_i32", (In((3,), dtype=BOOL), In((3,), dtype=I32))), S("f32_f64", (In((3,), dtype=F32), In((3,), dtype=F64))),
            S("zerod_f64", (In((3,), dtype=F32), In((), dtype=F64))), S("zerod_i64_f32", (In((), dtype=I64), In((3,), dtype=F32))),
            S("int_tensor_float_scalar", (In((3,), dtype=I64), 1.5)), S("bool_int_scalar", (In((3,), dtype=BOOL), 2))),
               (F32,)),
        OpSpec("promotion.mul", lambda lib, a, b: a * b, listed(
            S("i32_f64", (In((3,), dtype=I32), In((3,), dtype=F64))), S("bool_f32", (In((3,), dtype=BOOL), In((3,), dtype=F32)))),
               (F32,)),
        OpSpec("bool_arith.sub", lambda lib, a, b: a - b, listed(S("tensors", (mask((4,)), mask((4,))))), (BOOL,)),
        OpSpec("bool_arith.neg", lambda lib, a: -a, listed(S("tensor", (mask((4,)),))), (BOOL,)),
        OpSpec("logical_not", ns("logical_not"), unary(), (BOOL, F32, I64)),
        OpSpec("bitwise_not", ns("bitwise_not"), unary(), (BOOL, I64, I32)),
        OpSpec("to.dtype", lambda lib, x, dt: x.to(dt), listed(
            S("to_i64", (In((3, 4)), "dtype:int64")), S("to_bool", (In((3, 4), kind="ties"), "dtype:bool")),
            S("to_f64", (In((3, 4)), "dtype:float64")), S("to_f32", (In((3, 4)), "dtype:float32"))), ALL),
        OpSpec("view.dtype", lambda lib, x: x.view(lib.int32), listed(S("bits", (In((3,)),))), (F32,)),
    ]


def _activations() -> list[OpSpec]:
    rows = [OpSpec(f"F.{name}", nnf(name), unary(), FLOAT)
            for name in ("relu", "silu", "elu", "selu", "celu", "softplus", "mish", "hardswish", "hardsigmoid",
                         "hardtanh", "relu6", "logsigmoid", "softsign", "tanhshrink", "sigmoid", "tanh")]
    return rows + [
        OpSpec("F.gelu", nnf("gelu"), unary(), FLOAT),
        OpSpec("F.gelu.tanh", nnf("gelu"), unary(approximate="tanh"), FLOAT),
        OpSpec("F.gelu.tanh_large", nnf("gelu"), listed(S("large", (In((4,), kind="large"),), {"approximate": "tanh"})), FLOAT),
        OpSpec("F.leaky_relu", nnf("leaky_relu"), unary(negative_slope=0.2), FLOAT),
        OpSpec("F.threshold", nnf("threshold"), listed(S("matrix", (In((3, 4)), 0.1, 20.0))), FLOAT),
        OpSpec("F.glu", nnf("glu"), listed(S("last", (In((3, 4)),)), S("dim0", (In((4, 3)), 0)), S("odd", (In((3, 5)),))),
               FLOAT),
        OpSpec("F.prelu", nnf("prelu"), listed(S("channels", (In((2, 3, 4)), In((3,))))), FLOAT),
        OpSpec("F.softmax", nnf("softmax"), listed(S("dim1", (In((3, 4)),), {"dim": 1}), S("dim0", (In((2, 3, 4)),), {"dim": 0})),
               FLOAT, tol=4),
        OpSpec("F.softmin", nnf("softmin"), listed(S("dim1", (In((3, 4)),), {"dim": 1})), FLOAT, tol=4),
        OpSpec("F.normalize", nnf("normalize"), listed(S("dim1", (In((3, 4)),)), S("p1_dim0", (In((3, 4)),), {"p": 1, "dim": 0})),
               FLOAT, tol=4),
        OpSpec("F.one_hot", nnf("one_hot"), listed(S("classes", (ix((5,), 4), 4)), S("infer", (ix((2, 3), 5),)),
                                                   S("too_small", (ix((5,), 4), 2))), (I64,)),
    ]


def _losses() -> list[OpSpec]:
    def reductions(name: str, args: tuple, **kw: Any) -> list[Sample]:
        return [S(r, args, {**kw, "reduction": r}) for r in ("mean", "sum", "none")]

    target = ix((4,), 5)
    return [
        OpSpec("F.cross_entropy", nnf("cross_entropy"), listed(
            *reductions("ce", (In((4, 5)), target)),
            S("weight", (In((4, 5)), target), {"weight": In((5,), kind="positive", grad=False)}),
            S("ignore_index", (In((4, 5)), In((4,), dtype=I64, kind="nonneg")), {"ignore_index": 1}),
            S("label_smoothing", (In((4, 5)), target), {"label_smoothing": 0.1}),
            S("probs", (In((4, 5)), In((4, 5), kind="unit", grad=False))),
            S("spatial", (In((2, 5, 3, 3)), ix((2, 3, 3), 5))),
            S("unbatched", (In((5,)), ix((), 5))),
            S("target_out_of_range", (In((4, 5)), ix((4,), 9))),
            S("negative_target", (In((4, 5)), In((4,), dtype=I64, kind="nonzero")))), FLOAT, tol=4),
        OpSpec("F.nll_loss", nnf("nll_loss"), listed(*reductions("nll", (In((4, 5)), target)),
                                                     S("weight", (In((4, 5)), target),
                                                       {"weight": In((5,), kind="positive", grad=False)})),
               FLOAT, tol=4),
        OpSpec("F.mse_loss", nnf("mse_loss"), listed(*reductions("mse", (In((3, 4)), In((3, 4)))),
                                                     S("bcast", (In((3, 4)), In((4,))))), FLOAT),
        OpSpec("F.l1_loss", nnf("l1_loss"), listed(*reductions("l1", (In((3, 4)), In((3, 4))))), FLOAT),
        OpSpec("F.smooth_l1_loss", nnf("smooth_l1_loss"), listed(S("beta", (In((3, 4)), In((3, 4))), {"beta": 0.5})), FLOAT),
        OpSpec("F.huber_loss", nnf("huber_loss"), listed(S("delta", (In((3, 4)), In((3, 4))), {"delta": 0.5})), FLOAT),
        OpSpec("F.binary_cross_entropy", nnf("binary_cross_entropy"), listed(
            *reductions("bce", (In((3, 4), kind="unit"), In((3, 4), kind="unit"))),
            S("outside_01", (In((3, 4), kind="positive"), In((3, 4), kind="unit")))), FLOAT, tol=4),
        OpSpec("F.binary_cross_entropy_with_logits", nnf("binary_cross_entropy_with_logits"), listed(
            S("plain", (In((3, 4)), In((3, 4), kind="unit"))),
            S("pos_weight", (In((3, 4)), In((3, 4), kind="unit")), {"pos_weight": In((4,), kind="positive", grad=False)})), FLOAT, tol=4),
        OpSpec("F.kl_div", nnf("kl_div"), listed(S("batchmean", (In((3, 4)), In((3, 4), kind="unit")), {"reduction": "batchmean"}),
                                                 S("log_target", (In((3, 4)), In((3, 4))), {"log_target": True})), FLOAT),
    ]


def _nn_layers() -> list[OpSpec]:
    x = In((2, 3, 6, 6))
    return [
        OpSpec("F.conv2d", nnf("conv2d"), listed(
            S("bias", (x, In((4, 3, 3, 3)), In((4,)))),
            S("stride_pad", (x, In((4, 3, 3, 3))), {"stride": 2, "padding": 1}),
            S("dilation", (x, In((2, 3, 2, 2))), {"dilation": 2}),
            S("groups", (In((1, 4, 5, 5)), In((6, 2, 3, 3))), {"groups": 2}),
            S("rect", (In((1, 2, 5, 7)), In((3, 2, 1, 3))), {"padding": (0, 1)}),
            S("noncontig", (In((2, 3, 6, 6), layout="T"), In((2, 3, 3, 3)))),
            S("unbatched", (In((3, 6, 6)), In((2, 3, 3, 3)))),
            S("kernel_too_big", (In((1, 3, 2, 2)), In((2, 3, 3, 3)))),
            S("channel_mismatch", (x, In((2, 4, 3, 3))))), FLOAT, tol=10),
        OpSpec("F.conv1d", nnf("conv1d"), listed(S("bias", (In((2, 3, 7)), In((4, 3, 3)), In((4,))), {"padding": 1})),
               FLOAT, tol=10),
        OpSpec("F.conv_transpose2d", nnf("conv_transpose2d"), listed(
            S("stride", (In((1, 3, 4, 4)), In((3, 2, 3, 3)), In((2,))), {"stride": 2, "padding": 1})), FLOAT, tol=10),
        OpSpec("F.max_pool2d", nnf("max_pool2d"), listed(
            S("k2", (x, 2)), S("stride1_pad", (x, 3), {"stride": 1, "padding": 1}),
            S("ceil", (In((1, 2, 5, 5)), 2), {"ceil_mode": True}), S("indices", (x, 2), {"return_indices": True}),
            S("unbatched", (In((3, 4, 4)), 2)), S("kernel_too_big", (In((1, 1, 2, 2)), 3))), FLOAT),
        OpSpec("F.max_pool1d", nnf("max_pool1d"), listed(S("k2", (In((2, 3, 7)), 2))), FLOAT),
        OpSpec("F.avg_pool2d", nnf("avg_pool2d"), listed(
            S("k2", (x, 2)), S("pad_exclude", (x, 3), {"stride": 2, "padding": 1, "count_include_pad": False}),
            S("ceil", (In((1, 2, 5, 5)), 2), {"ceil_mode": True}), S("kernel_too_big", (In((1, 1, 2, 2)), 3))), FLOAT),
        OpSpec("F.adaptive_avg_pool2d", nnf("adaptive_avg_pool2d"), listed(S("uneven", (In((1, 2, 5, 7)), (2, 3))),
                                                                          S("global", (x, 1))), FLOAT),
        OpSpec("F.adaptive_max_pool2d", nnf("adaptive_max_pool2d"), listed(S("uneven", (In((1, 2, 5, 7)), (2, 3)))), FLOAT),
        OpSpec("F.layer_norm", nnf("layer_norm"), listed(
            S("affine", (In((2, 3, 4)), (4,), In((4,)), In((4,)))), S("two_dims", (In((2, 3, 4)), (3, 4))),
            S("bad_shape", (In((2, 3, 4)), (3,)))), FLOAT, tol=10),
        OpSpec("F.group_norm", nnf("group_norm"), listed(S("affine", (In((2, 4, 3)), 2, In((4,)), In((4,))))), FLOAT, tol=10),
        OpSpec("F.batch_norm.train", nnf("batch_norm"), listed(
            S("affine", (In((4, 3, 2)), None, None, In((3,)), In((3,))), {"training": True})), FLOAT, tol=10),
        OpSpec("F.batch_norm.eval", nnf("batch_norm"), listed(
            S("stats", (In((4, 3)), In((3,), grad=False), In((3,), kind="positive", grad=False), In((3,)), In((3,))))),
               FLOAT, tol=10),
        OpSpec("F.embedding", nnf("embedding"), listed(
            S("plain", (ix((2, 3), 5), In((5, 4)))), S("padding_idx", (ix((6,), 5), In((5, 4))), {"padding_idx": 0}),
            S("out_of_range", (ix((3,), 9), In((5, 4)))),
            S("negative", (In((3,), dtype=I64, kind="nonzero"), In((5, 4))))), FLOAT),
        OpSpec("F.pad", nnf("pad"), listed(
            S("constant", (In((2, 3, 4)), (1, 2)), {"value": 0.5}), S("reflect", (In((1, 2, 5)), (2, 1)), {"mode": "reflect"}),
            S("replicate", (In((1, 2, 4, 4)), (1, 1, 2, 0)), {"mode": "replicate"}),
            S("circular", (In((1, 2, 5)), (2, 1)), {"mode": "circular"}),
            S("negative_constant", (In((2, 3, 4)), (-1, 1))),
            S("negative_replicate", (In((1, 2, 5)), (-1, 2)), {"mode": "replicate"})), FLOAT),
        OpSpec("F.interpolate", nnf("interpolate"), listed(
            S("nearest", (In((1, 2, 3, 4)),), {"scale_factor": 2}),
            S("bilinear", (In((1, 2, 3, 4)),), {"size": (5, 7), "mode": "bilinear", "align_corners": False}),
            S("bilinear_ac", (In((1, 2, 3, 4)),), {"size": (5, 7), "mode": "bilinear", "align_corners": True})), FLOAT),
        OpSpec("F.interpolate.uint8", nnf("interpolate"), listed(
            S("bilinear", (In((1, 2, 3, 4), dtype=U8),), {"size": (5, 7), "mode": "bilinear", "align_corners": False}),
            S("nearest", (In((1, 2, 3, 4), dtype=U8),), {"scale_factor": 2})), (U8,)),
        OpSpec("F.unfold", nnf("unfold"), listed(S("k2", (In((1, 2, 4, 5)), 2), {"stride": 1, "padding": 1})), FLOAT),
        OpSpec("F.cosine_similarity", nnf("cosine_similarity"), listed(S("dim1", (In((3, 4)), In((3, 4))))), FLOAT, tol=4),
        OpSpec("F.pairwise_distance", nnf("pairwise_distance"), listed(S("plain", (In((3, 4)), In((3, 4))))), FLOAT, tol=4),
        OpSpec("F.scaled_dot_product_attention", nnf("scaled_dot_product_attention"), listed(
            S("plain", (In((2, 3, 4)), In((2, 5, 4)), In((2, 5, 4)))),
            S("causal", (In((2, 4, 4)), In((2, 4, 4)), In((2, 4, 4))), {"is_causal": True}),
            S("bool_mask", (In((2, 3, 4)), In((2, 5, 4)), In((2, 5, 4))), {"attn_mask": mask((3, 5))})), FLOAT, tol=10),
    ]


def _creation_ops() -> list[OpSpec]:
    """Factories take no tensor input; they still must agree on values, dtype, device and errors."""
    on = {"device": DEVICE}
    return [
        OpSpec("arange", ns("arange"), listed(S("int", (5,), on), S("float_step", (0, 1, 0.25), on),
                                              S("negative", (5, 0, -2), on), S("bad_step", (0, 5, 0), on)), (I64,)),
        OpSpec("linspace", ns("linspace"), listed(S("float", (0, 1, 5), on), S("one", (2, 3, 1), on),
                                                  S("bool", (0, 1, 3), {**on, "dtype": "dtype:bool"})), (F32,)),
        OpSpec("eye", ns("eye"), listed(S("square", (3,), on), S("rect", (2, 4), on)), (F32,)),
        OpSpec("full", ns("full"), listed(S("float", ((2, 3), 1.5), on), S("int", ((2,), 7), on),
                                          S("bool", ((2,), True), on)), (F32,)),
        OpSpec("zeros", ns("zeros"), listed(S("int", ((2, 3),), {**on, "dtype": "dtype:int32"}), S("empty", (0, 3), on)),
               (F32,)),
        OpSpec("meshgrid.xy", lambda lib, a, b: lib.meshgrid(a, b, indexing="xy"), listed(S("plain", (In((3,)), In((4,))))),
               FLOAT),
        OpSpec("meshgrid.ij", lambda lib, a, b: lib.meshgrid(a, b, indexing="ij"), listed(S("plain", (In((3,)), In((4,))))),
               FLOAT),
    ]


def _aliases_and_helpers() -> list[OpSpec]:
    """PyTorch's aliases and small helpers: one sample each is enough to pin the name's meaning."""
    a34, pair = In((3, 4)), (In((3, 4)), In((4,)))
    aliases = {"absolute": (a34,), "clip": (a34, -0.5, 0.5), "divide": (In((3, 4)), In((4,), kind="nonzero")),
               "multiply": pair, "subtract": pair, "true_divide": (In((3, 4)), In((4,), kind="nonzero")),
               "greater": pair, "greater_equal": pair, "less": pair, "less_equal": pair, "not_equal": pair,
               "swapaxes": (In((2, 3, 4)), 0, 2), "swapdims": (In((2, 3, 4)), 0, 2), "moveaxis": (In((2, 3, 4)), 0, -1),
               "fliplr": (a34,), "flipud": (a34,), "atleast_1d": (In(()),), "atleast_2d": (In((3,)),),
               "argwhere": (In((3, 4), kind="ties"),), "concat": ([a34, a34],), "concatenate": ([a34, a34], 1),
               "hstack": ([a34, In((3, 2))],), "vstack": ([a34, In((4,))],), "broadcast_tensors": pair,
               "std_mean": (In((3, 4)), 1), "zeros_like": (a34,), "ones_like": (a34,), "full_like": (a34, 7),
               "equal": (a34, a34), "allclose": pair, "numel": (a34,), "is_floating_point": (a34,)}
    rows = [OpSpec(name, ns(name), listed(S("plain", args)), FLOAT) for name, args in aliases.items()]
    return rows + [
        OpSpec("broadcast_shapes", ns("broadcast_shapes"), listed(S("ok", ((3, 1), (4,))), S("bad", ((3,), (4,)))), (F32,)),
        OpSpec("result_type", ns("result_type"), listed(S("tensor_scalar", (In((3,), dtype=I32), 2.5)),
                                                        S("tensors", (In((3,), dtype=I64), In((), dtype=F64)))), (F32,)),
        OpSpec("promote_types", ns("promote_types"), listed(S("int_float", ("dtype:int32", "dtype:float32")),
                                                            S("bool_int", ("dtype:bool", "dtype:int64"))), (F32,)),
        OpSpec("scalar_tensor", ns("scalar_tensor"), listed(S("float", (2.5,), {"device": DEVICE})), (F32,)),
        OpSpec("logspace", ns("logspace"), listed(S("base10", (0, 2, 5), {"device": DEVICE})), (F32,)),
        OpSpec("F.dropout.eval", nnf("dropout"), listed(S("eval", (a34,), {"p": 0.5, "training": False}),
                                                        S("p0", (a34,), {"p": 0.0})), FLOAT),
        OpSpec("F.avg_pool1d", nnf("avg_pool1d"), listed(S("k2", (In((2, 3, 7)), 2))), FLOAT),
        OpSpec("F.adaptive_avg_pool1d", nnf("adaptive_avg_pool1d"), listed(S("uneven", (In((2, 3, 7)), 3))), FLOAT),
        OpSpec("F.conv_transpose1d", nnf("conv_transpose1d"), listed(S("stride", (In((1, 3, 5)), In((3, 2, 3))), {"stride": 2})),
               FLOAT, tol=10),
        OpSpec("F.fold", nnf("fold"), listed(S("k2", (In((1, 8, 12)),), {"output_size": (4, 5), "kernel_size": 2})), FLOAT),
        OpSpec("F.instance_norm", nnf("instance_norm"), listed(S("plain", (In((2, 3, 5)),))), FLOAT, tol=10),
    ]


def _random_ops() -> list[OpSpec]:
    """Each framework has its own generator, so only signatures, shapes, dtypes, devices and errors
    are compared here."""
    on = {"device": DEVICE}

    def rnd(name: str, fn: Callable[..., Any], *samples: Sample, dtypes: tuple[str, ...] = (F32,)) -> OpSpec:
        return OpSpec(name, fn, listed(*samples), dtypes, random=True)

    return [
        rnd("randint", ns("randint"), S("high", (10, (3,)), on), S("low_high", (2, 5, (2, 3)), on),
            S("high_kw", (), {**on, "high": 10, "size": (3,)}), S("dtype", (0, 4, (3,)), {**on, "dtype": "dtype:int32"}),
            S("empty_range", (5, 5, (3,)), on)),
        rnd("randn", ns("randn"), S("shape", (2, 3), on), S("f64", ((2,),), {**on, "dtype": "dtype:float64"}),
            S("int_dtype", (2,), {**on, "dtype": "dtype:int64"})),
        rnd("rand", ns("rand"), S("shape", (2, 3), on), S("zerod", ((),), on)),
        rnd("randperm", ns("randperm"), S("five", (5,), on), S("zero", (0,), on)),
        rnd("randn_like", ns("randn_like"), S("like", (In((3, 4)),)), dtypes=FLOAT),
        rnd("rand_like", ns("rand_like"), S("like", (In((3, 4)),)), dtypes=FLOAT),
        rnd("randint_like", ns("randint_like"), S("high", (In((3, 4)), 5)), dtypes=FLOAT_INT),
        rnd("normal", ns("normal"), S("tensors", (In((3, 4)), In((3, 4), kind="positive"))),
            S("floats", (0.0, 1.0, (2, 3)), on)),
        rnd("bernoulli", ns("bernoulli"), S("probs", (In((3, 4), kind="unit"),))),
        rnd("F.dropout.train", nnf("dropout"), S("train", (In((3, 4)),), {"p": 0.5, "training": True}),
            S("bad_p", (In((3, 4)),), {"p": 1.5})),
    ]


def build_table() -> list[OpSpec]:
    """Every row of the parity table."""
    rows = [OpSpec(name, ns(name), unary(kind), dtypes) for name, (kind, dtypes) in UNARY_FLOAT.items()]
    rows += [OpSpec(name, ns(name), binary(ka, kb), dtypes) for name, (ka, kb, dtypes) in BINARY.items()]
    rows += [OpSpec(name, ns(name), binary(), ALL) for name in COMPARISONS]
    rows += [OpSpec(name, ns(name), binary(scalars=()), (BOOL, F32, I64)) for name in LOGICAL]
    rows += [OpSpec(name, ns(name), binary(scalars=(3,)), (I64, I32, BOOL)) for name in BITWISE]
    rows += [OpSpec(name, ns(name), family, dtypes) for name, (dtypes, family) in REDUCTIONS.items()]
    rows += [OpSpec(f"{name}.method", method(name), reduction(multi_dim=False)) for name in ("sum", "mean")]
    for group in (_dim_reductions, _sort_ops, _shape_ops, _inplace_ops, _indexing_ops, _matmul_ops,
                  _misc_elementwise, _activations, _losses, _nn_layers, _creation_ops, _aliases_and_helpers, _random_ops):
        rows += group()
    return rows + _topic_rows()


def _topic_rows() -> list[OpSpec]:
    """Rows kept in topic modules beside this one (``cases_<topic>.py``, each with a ``rows()``), so
    an op family's rows live with it instead of in one ever-growing file."""
    rows: list[OpSpec] = []
    for path in sorted(Path(__file__).parent.glob("cases_*.py")):
        rows += importlib.import_module(path.stem).rows()
    return rows


def generate(table: list[OpSpec]) -> Iterator[Case]:
    """Cross every row with its dtypes and its samples (every sample for the row's first dtype,
    the core samples for the others)."""
    seen: set[str] = set()
    for op in table:
        for i, dtype in enumerate(op.dtypes):
            for sample in op.samples(dtype):
                if i > 0 and not sample.core:
                    continue
                case = Case(f"{op.name}-{sample.name}-{dtype}", op, sample, dtype)
                if case.id in seen:
                    raise ValueError(f"duplicate parity case id {case.id}")
                seen.add(case.id)
                yield case


TABLE = build_table()
CASES = list(generate(TABLE))

