"""THE op table: every kernel of :mod:`ember.kernels` and every public op the suite checks.

Each entry holds its sample inputs (broadcasting, transposed and strided views, 0-d and empty
tensors, large and small magnitudes, integer and bool inputs where valid), a NumPy reference,
the dtypes a backend must support, whether it is differentiable and its tolerances per dtype.
Levels 1-3 of the suite and ``docs/kernel-contract.md`` are generated from this table.

Example:
    >>> from ember_conformance.optable import KERNEL_TABLE, OP_TABLE
    >>> KERNEL_TABLE["add"].dtypes[:2]
    ('float32', 'float64')
    >>> OP_TABLE["sigmoid"].differentiable
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ember_conformance import reference as R
from ember_conformance.samples import ALL, FLOATS, INTS, NP, Sample, View, host, upcast, values

__all__ = ["KernelEntry", "OpEntry", "KERNEL_TABLE", "OP_TABLE", "INDEX", "DT", "TOL", "tolerance"]

#: (rtol, atol) per dtype for values; exact for integer and bool results
TOL = {"float64": (1e-7, 1e-9), "float32": (1e-5, 1e-6), "float16": (2e-3, 2e-3), "bfloat16": (1.6e-2, 1.6e-2)}
#: (rtol, atol) per dtype for gradients against float64 central differences
GRAD_TOL = {"float64": (1e-5, 1e-6), "float32": (2e-3, 2e-4)}


class _Index:
    """Stands for the device index in a kernel call (``0`` in the reference)."""

    def __repr__(self) -> str:
        return "INDEX"


INDEX = _Index()


@dataclass(frozen=True)
class DT:
    """An ember dtype argument of a kernel, by name."""

    name: str


def tolerance(dtype: str, scale: float = 1.0, table: dict = TOL) -> tuple[float, float]:
    rtol, atol = table.get(dtype, (0.0, 0.0))
    return rtol * scale, atol * scale


@dataclass
class KernelEntry:
    """Level 1: one kernel called directly on backend arrays."""

    name: str
    dtypes: tuple[str, ...]
    samples: Callable[[str, np.random.Generator], list[Sample]]
    ref: Callable
    #: output dtype from the input dtype (None: same as the input)
    out: Callable[[str], str] | None = None
    tol_scale: float = 1.0
    #: a custom check ``(call, dtype, rng) -> None`` raising AssertionError, for kernels whose
    #: result can't be compared to a reference (empty, copy_, is_contiguous...)
    check: Callable | None = None


@dataclass
class OpEntry:
    """Levels 2 and 3: one public op through the Tensor API."""

    name: str
    fn: Callable  # fn(E, *tensors, **params) with E the ember module
    ref: Callable  # ref(*arrays, **params) on float64 / native-int NumPy arrays
    dtypes: tuple[str, ...]
    samples: Callable[[str, np.random.Generator], list[Sample]]
    differentiable: bool = False
    out: Callable[[str], str] | None = None
    tol_scale: float = 1.0
    grad_tol_scale: float = 1.0
    #: which outputs to compare (None: all); e.g. sort's values and indices
    kernels: tuple[str, ...] = field(default_factory=tuple)


# ---- sample builders ------------------------------------------------------------------------
def _unary_samples(domain: str = "real", large: float | None = 1e3, small: float | None = 1e-3):
    def make(dt: str, rng):
        v = lambda shape, scale=1.0: values(rng, shape, dt, domain, scale)  # noqa: E731
        out = [Sample("2d", (v((3, 4)),)), Sample("0d", (v(()),)), Sample("empty", (v((0, 3)),)),
               Sample("transposed", (View.transposed(v((3, 4))),)), Sample("strided", (View.strided(v((2, 3))),))]
        if dt in FLOATS:
            if large:
                out.append(Sample("large", (v((5,), large),)))
            if small:
                out.append(Sample("small", (v((5,), small),)))
        return out
    return make


def _binary_samples(domain_a="real", domain_b="real", scalar=True, large: float | None = 1e3):
    def make(dt: str, rng):
        a = lambda shape, scale=1.0: values(rng, shape, dt, domain_a, scale)  # noqa: E731
        b = lambda shape, scale=1.0: values(rng, shape, dt, domain_b, scale)  # noqa: E731
        out = [Sample("2d", (a((3, 4)), b((3, 4)))), Sample("broadcast", (a((3, 1)), b((4,)))),
               Sample("0d", (a(()), b(()))), Sample("0d-broadcast", (a((2, 3)), b(()))),
               Sample("empty", (a((0, 3)), b((1, 3)))),
               Sample("transposed", (View.transposed(a((3, 4))), b((3, 4)))),
               Sample("strided", (a((2, 3)), View.strided(b((2, 3)))))]
        if scalar and dt != "bool":
            s = b(()).item()
            out.append(Sample("python-scalar", (a((2, 3)), float(s) if dt in FLOATS else int(s))))
        if dt in FLOATS and large:
            out.append(Sample("large", (a((5,), large), b((5,), large))))
            out.append(Sample("small", (a((5,), 1e-3), b((5,), 1e-3))))
        return out
    return make


def _divmod_samples(dt: str, rng):
    """a = (q + f) * b with f in [0.2, 0.8]: floor(a / b) is never near an integer boundary."""
    def pair(shape_a, shape_b):
        b = values(rng, shape_b, dt, "nonzero")
        if dt in INTS:
            return values(rng, shape_a, dt), b
        q = rng.integers(-4, 5, size=shape_a)
        f = rng.uniform(0.2, 0.8, size=shape_a)
        return np.asarray((q + f) * b.astype(np.float64)).astype(NP[dt]), b
    out = [Sample("2d", pair((3, 4), (3, 4))), Sample("0d", pair((), ())), Sample("broadcast", pair((3, 4), (4,)))]
    a, b = pair((3, 4), (3, 4))
    out.append(Sample("transposed", (View.transposed(a), View.transposed(b))))
    return out


def _reduce_samples(domain="real", whole=False):
    """Reduction samples; ``whole`` adds the dims=None rows only ops accept (kernels never
    receive empty or None dims)."""
    def make(dt: str, rng):
        v = lambda shape: values(rng, shape, dt, domain)  # noqa: E731
        out = [Sample("dim1", (v((3, 4)), (1,), False)), Sample("dim0-keepdim", (v((3, 4)), (0,), True)),
               Sample("all-dims", (v((2, 3, 2)), (0, 1, 2), False)),
               Sample("transposed", (View.transposed(v((3, 4))), (1,), False)),
               Sample("empty-kept", (v((0, 3)), (1,), False))]
        if whole:
            out += [Sample("0d", (v(()), None, False)), Sample("whole", (v((3, 4)), None, False))]
        return out
    return make


# ---- kernel table -----------------------------------------------------------------------------
K: dict[str, KernelEntry] = {}


def _kern(name, dtypes, samples, ref, **kw) -> None:
    K[name] = KernelEntry(name, tuple(dtypes), samples, ref, **kw)


_BOOL = lambda dt: "bool"  # noqa: E731
_I64 = lambda dt: "int64"  # noqa: E731


_UNARY_FLOAT_REF = {
    "exp": (np.exp, "real", 30.0), "log": (np.log, "positive", 1e3), "log1p": (np.log1p, "positive", 1e3),
    "expm1": (np.expm1, "real", 30.0), "sqrt": (np.sqrt, "positive", 1e3),
    "rsqrt": (lambda x: 1 / np.sqrt(x), "positive", 1e3), "sin": (np.sin, "real", 1e2),
    "cos": (np.cos, "real", 1e2), "tanh": (np.tanh, "real", 1e3), "sigmoid": (R.sigmoid, "real", 1e3),
    "erf": (R.erf, "real", 1e3),
}
for _n, (_f, _dom, _large) in _UNARY_FLOAT_REF.items():
    _kern(_n, FLOATS, _unary_samples(_dom, _large), _f)


def _same_int(fn):
    return lambda x: x.copy() if x.dtype.kind in "iub" else fn(x)


_UNARY_ANY_REF = {
    "neg": (np.negative, FLOATS + INTS[:-1]), "abs": (np.abs, ALL),
    "sign": (lambda x: np.nan_to_num(np.sign(x), nan=0.0), FLOATS + INTS),  # never given bool (the contract)
    "relu": (lambda x: x.copy() if x.dtype == np.bool_ else np.maximum(x, 0), ALL),
    "floor": (_same_int(np.floor), FLOATS + INTS), "ceil": (_same_int(np.ceil), FLOATS + INTS),
    "round": (_same_int(np.round), FLOATS + INTS), "trunc": (_same_int(np.trunc), FLOATS + INTS),
}
for _n, (_f, _dts) in _UNARY_ANY_REF.items():
    _kern(_n, _dts, _unary_samples("real"), _f)
_kern("logical_not", ALL, _unary_samples(), lambda x: x == 0, out=_BOOL)


def _nan_samples(dt, rng):
    x = values(rng, (3, 4), dt)
    x[0, 1] = np.nan
    x[2, 3] = np.nan
    return [Sample("2d", (x,)), Sample("0d", (np.array(np.nan, NP[dt]),)), Sample("empty", (x[:0],))]


_kern("isnan", FLOATS, _nan_samples, np.isnan, out=_BOOL)


# optional special functions (ember.functions.special composes them when a backend lacks one)
def _math_ref(fn):
    return lambda x: np.vectorize(fn, otypes=[np.float64])(np.asarray(x, np.float64))


def _lgamma_scalar(x: float) -> float:
    """math.lgamma, with +inf at its poles (0 and the negative integers, which a 16-bit sample can
    round to) where math raises, as the kernels give."""
    if x <= 0 and x == math.floor(x):
        return math.inf
    return math.lgamma(x)


def _digamma_scalar(x: float) -> float:
    """psi(x) by reflection, recurrence to x >= 30 and the asymptotic series (Bernoulli numbers)."""
    if x == 0:
        return math.copysign(math.inf, -x)
    if x < 0:
        if x == math.floor(x):
            return math.nan
        return _digamma_scalar(1 - x) - math.pi / math.tan(math.pi * (x - math.trunc(x)))
    acc = 0.0
    while x < 30:
        acc -= 1 / x
        x += 1
    z = 1 / (x * x)
    series = z * (1 / 12 - z * (1 / 120 - z * (1 / 252 - z * (1 / 240 - z * (1 / 132)))))
    return acc + math.log(x) - 0.5 / x - series


_SPECIAL_REF = {
    "asin": (np.arcsin, "unit", None), "acos": (np.arccos, "unit", None), "atan": (np.arctan, "real", 1e3),
    "sinh": (np.sinh, "real", 30.0), "cosh": (np.cosh, "real", 30.0), "asinh": (np.arcsinh, "real", 1e3),
    "acosh": (np.arccosh, "positive", 1e3), "atanh": (np.arctanh, "unit", None),
    "exp2": (np.exp2, "real", 30.0), "erfc": (_math_ref(math.erfc), "real", 10.0),
    "lgamma": (_math_ref(_lgamma_scalar), "nonzero", 1e2), "digamma": (_math_ref(_digamma_scalar), "nonzero", 1e2),
}
for _n, (_f, _dom, _large) in _SPECIAL_REF.items():
    _kern(_n, FLOATS, _unary_samples(_dom, _large), _f)

_kern("add", ALL[:-1], _binary_samples(), np.add)
_kern("sub", ALL[:-1], _binary_samples(), np.subtract)
_kern("mul", ALL[:-1], _binary_samples(), np.multiply)
_kern("div", FLOATS, _binary_samples("real", "nonzero"), np.divide)
_kern("floor_divide", FLOATS + INTS[:-1], _divmod_samples, np.floor_divide)
_kern("remainder", FLOATS + INTS[:-1], _divmod_samples, np.remainder, tol_scale=10)
_kern("pow", FLOATS, _binary_samples("positive", "real", large=None), np.power)
_kern("maximum", ALL, _binary_samples(scalar=False), np.maximum)
_kern("minimum", ALL, _binary_samples(scalar=False), np.minimum)
_kern("atan2", FLOATS, _binary_samples(scalar=False), np.arctan2)
for _n, _f in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
               "ge": np.greater_equal}.items():
    _kern(_n, ALL, _binary_samples(), _f, out=_BOOL)
for _n, _f in {"logical_and": np.logical_and, "logical_or": np.logical_or, "logical_xor": np.logical_xor}.items():
    _kern(_n, ALL, _binary_samples(scalar=False), _f, out=_BOOL)
for _n, _f in {"bitwise_and": np.bitwise_and, "bitwise_or": np.bitwise_or,
               "bitwise_xor": np.bitwise_xor}.items():
    _kern(_n, INTS + ("bool",), _binary_samples(scalar=False), _f)


def _where_samples(dt, rng):
    c = lambda shape: rng.random(shape) > 0.5  # noqa: E731
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    out = [Sample("2d", (c((3, 4)), v((3, 4)), v((3, 4)))), Sample("broadcast", (c((3, 1)), v((4,)), v(()))),
           Sample("empty", (c((0, 2)), v((0, 2)), v((0, 2)))),
           Sample("transposed", (View.transposed(c((3, 4))), v((3, 4)), View.transposed(v((3, 4)))))]
    if dt != "bool":
        out.append(Sample("python-scalar", (c((2, 3)), v((2, 3)), 1 if dt in INTS else 0.5)))
    return out


_kern("where", ALL, _where_samples, np.where)


def _clamp_samples(dt, rng):
    v = values(rng, (3, 4), dt)
    lo, hi = (-1.0, 1.0) if dt in FLOATS else (1, 5)
    return [Sample("both", (v, lo, hi)), Sample("lo-only", (v, lo, None)), Sample("hi-only", (v, None, hi)),
            Sample("0d", (values(rng, (), dt), lo, hi)), Sample("transposed", (View.transposed(v), lo, hi))]


def _clamp_kernel_samples(dt, rng):
    out = _clamp_samples(dt, rng)
    if dt in FLOATS:  # a NaN bound gives NaN everywhere (np.clip's maximum/minimum propagate it)
        v = values(rng, (3, 4), dt)
        out += [Sample("nan-lo", (v, float("nan"), 1.0)), Sample("nan-hi", (v, None, float("nan")))]
    return out


_kern("clamp", FLOATS + INTS[:-1], _clamp_kernel_samples,
      lambda x, lo, hi: np.clip(x, lo if lo is not None else -np.inf, hi if hi is not None else np.inf))


def _reduce_ref(fn):
    def ref(x, dims, keepdim):
        axis = None if dims is None else tuple(dims)
        out = fn(x, axis=axis, keepdims=keepdim)
        return np.asarray(out)
    return ref


_kern("sum", FLOATS + INTS[:2], _reduce_samples(), _reduce_ref(np.sum), tol_scale=4)
_kern("prod", FLOATS + INTS[:2], _reduce_samples("small"), _reduce_ref(np.prod), tol_scale=4)
_kern("amax", ALL, _reduce_samples(), _reduce_ref(np.amax))
_kern("amin", ALL, _reduce_samples(), _reduce_ref(np.amin))
_kern("any", ALL, _reduce_samples(), _reduce_ref(lambda x, axis, keepdims: np.any(x != 0, axis=axis,
                                                                                  keepdims=keepdims)), out=_BOOL)
_kern("all", ALL, _reduce_samples(), _reduce_ref(lambda x, axis, keepdims: np.all(x != 0, axis=axis,
                                                                                  keepdims=keepdims)), out=_BOOL)
# amax/amin over an empty axis are errors; the empty sample above reduces the non-empty axis.


def _arg_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    tie = np.array([[1, 3, 3], [2, 2, 0]]).astype(NP[dt])
    return [Sample("dim1", (v((3, 4)), 1, False)), Sample("dim0-keepdim", (v((3, 4)), 0, True)),
            Sample("flat", (v((3, 4)), None, False)), Sample("ties-first", (tie, 1, False)),
            Sample("transposed", (View.transposed(v((3, 4))), 1, False))]


def _arg_ref(fn):
    def ref(x, dim, keepdim):
        if dim is None:
            return np.asarray(fn(x.ravel()), dtype=np.int64)
        out = fn(x, axis=dim)
        return np.expand_dims(out, dim) if keepdim else out
    return ref


_kern("argmax", FLOATS + INTS, _arg_samples, _arg_ref(np.argmax), out=_I64)
_kern("argmin", FLOATS + INTS, _arg_samples, _arg_ref(np.argmin), out=_I64)


def _scan_samples(domain):
    def make(dt, rng):
        v = lambda shape: values(rng, shape, dt, domain)  # noqa: E731
        return [Sample("dim1", (v((3, 4)), 1)), Sample("dim0", (v((3, 4)), 0)),
                Sample("transposed", (View.transposed(v((3, 4))), 1)), Sample("empty", (v((0, 3)), 1))]
    return make


_kern("cumsum", FLOATS + INTS[:2], _scan_samples("real"), lambda x, d: np.cumsum(x, axis=d), tol_scale=4)
_kern("cumprod", FLOATS + INTS[:2], _scan_samples("small"), lambda x, d: np.cumprod(x, axis=d), tol_scale=4)


def _sort_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    tie = np.array([[3, 1, 3, 2, 1], [0, 0, 1, 0, 2]]).astype(NP[dt])
    return [Sample("asc", (v((3, 4)), 1, False)), Sample("desc", (v((3, 4)), 1, True)),
            Sample("dim0", (v((3, 4)), 0, False)), Sample("stable-ties", (tie, 1, False)),
            Sample("stable-ties-desc", (tie, 1, True)), Sample("transposed", (View.transposed(v((3, 4))), 1, False))]


def _sort_kernel_samples(dt, rng):
    if dt not in FLOATS:
        return _sort_samples(dt, rng)
    # PyTorch's order: NaN is larger than everything (last ascending, first descending), ties stable.
    nan = np.array([[1.0, np.nan, -np.inf, np.nan, 2.0], [np.inf, 0.0, np.nan, -0.0, np.inf]]).astype(NP[dt])
    return _sort_samples(dt, rng) + [Sample("nan-asc", (nan, 1, False)), Sample("nan-desc", (nan, 1, True))]


def _sort_ref(x, dim, descending):
    if not descending:
        idx = np.argsort(x, axis=dim, kind="stable")
    else:  # stable descending with NaN first: the reversed axis sorted ascending, reversed back
        idx = (x.shape[dim] - 1) - np.flip(np.argsort(np.flip(x, dim), axis=dim, kind="stable"), dim)
    return np.take_along_axis(x, idx, axis=dim), idx.astype(np.int64)


_kern("sort", FLOATS + ("int64", "int32"), _sort_kernel_samples, _sort_ref, out=lambda dt: (dt, "int64"))


# ---- movement
def _mv(samples):
    def make(dt, rng):
        x = values(rng, (2, 3, 4), dt)
        return [Sample(kind, tuple(x if a is _X else a for a in args)) for kind, args in samples(x)]
    return make


_X = object()
_kern("reshape", ALL, _mv(lambda x: [("split", (_X, (6, 4))), ("flat", (_X, (24,))),
                                     ("to-0d", (np.ascontiguousarray(x[:1, :1, :1]), ()))]),
      lambda x, shape: np.reshape(x, shape))
_kern("permute", ALL, _mv(lambda x: [("reverse", (_X, (2, 1, 0))), ("rotate", (_X, (1, 2, 0)))]),
      lambda x, dims: np.transpose(x, dims))
_kern("expand", ALL, _mv(lambda x: [("grow", (x[:, :1, :], (2, 5, 4))), ("same", (_X, (2, 3, 4)))]),
      lambda x, shape: np.broadcast_to(x, shape))
_kern("slice", ALL, _mv(lambda x: [("step", (_X, ((0, 2, 1), (1, 3, 1), (0, 4, 2)))),
                                   ("empty", (_X, ((1, 1, 1), (0, 3, 1), (0, 4, 1))))]),
      lambda x, sl: x[tuple(slice(a, b, c) for a, b, c in sl)])
_kern("flip", ALL, _mv(lambda x: [("one", (_X, (1,))), ("two", (_X, (0, 2)))]), lambda x, dims: np.flip(x, dims))
_kern("pad", FLOATS + INTS + ("bool",), _mv(lambda x: [("pad", (_X, ((0, 0), (1, 2), (0, 1)), 0)),
                                                       ("value", (_X, ((1, 0), (0, 0), (2, 2)), 1))]),
      lambda x, pads, value: np.pad(x, pads, constant_values=value))
_kern("cat", ALL, _mv(lambda x: [("dim1", ([x, x[:, :1]], 1)), ("dim0", ([x, x, x[:1]], 0)),
                                 ("with-empty", ([x, x[:, :0]], 1))]),
      lambda xs, dim: np.concatenate(xs, axis=dim))


# ---- indexing
def _idx(dt, rng, kind):
    x = values(rng, (3, 4), dt)
    index = rng.integers(0, 3, size=(2, 4)).astype(np.int64)
    if kind == "gather":
        return [Sample("dim0", (x, 0, index)), Sample("dim1", (x, 1, rng.integers(0, 4, size=(3, 2)).astype(np.int64))),
                Sample("transposed", (View.transposed(values(rng, (3, 4), dt)), 0, index))]
    src = values(rng, (2, 4), dt)
    if kind == "scatter":  # unique indices per column, so the result is defined
        uidx = np.stack([rng.permutation(3)[:2] for _ in range(4)], axis=1).astype(np.int64)
        out = [Sample("dim0", (x, 0, uidx, src))]
        if dt != "bool":
            out.append(Sample("scalar", (x, 0, uidx, 1 if dt in INTS else 2.5)))
        return out
    return [Sample("dim0-duplicates", (x, 0, index, src)),
            Sample("dim1", (x, 1, rng.integers(0, 4, size=(3, 5)).astype(np.int64), values(rng, (3, 5), dt)))]


def _gather_ref(x, dim, index):
    return np.take_along_axis(x, index, axis=dim)


def _scatter_ref(x, dim, index, src, add=False):
    out = x.copy()
    src = np.broadcast_to(np.asarray(src, dtype=x.dtype), index.shape)
    for pos in np.ndindex(index.shape):
        tgt = list(pos)
        tgt[dim] = index[pos]
        if add:
            out[tuple(tgt)] += src[pos]
        else:
            out[tuple(tgt)] = src[pos]
    return out


_kern("gather", ALL, lambda dt, rng: _idx(dt, rng, "gather"), _gather_ref)
_kern("scatter", ALL, lambda dt, rng: _idx(dt, rng, "scatter"), _scatter_ref)
_kern("scatter_add", FLOATS + INTS[:2], lambda dt, rng: _idx(dt, rng, "scatter_add"),
      lambda x, d, i, s: _scatter_ref(x, d, i, s, add=True))


def _index_select_samples(dt, rng):
    x = values(rng, (3, 4), dt)
    return [Sample("dim0", (x, 0, np.array([2, 0, 2], np.int64))), Sample("dim1", (x, 1, np.array([3, 1], np.int64))),
            Sample("empty-index", (x, 1, np.zeros((0,), np.int64)))]


_kern("index_select", ALL, _index_select_samples, lambda x, d, i: np.take(x, i, axis=d))


def _index_put_samples(dt, rng):
    x = values(rng, (4, 3), dt)
    return [Sample("put", (x, np.array([2, 0], np.int64), values(rng, (2, 3), dt), False)),
            Sample("accumulate-duplicates", (x, np.array([1, 1, 3], np.int64), values(rng, (3, 3), dt), True)),
            Sample("broadcast-values", (x, np.array([0, 3], np.int64), values(rng, (3,), dt), False))]


def _index_put_ref(x, index, vals, accumulate):
    out = x.copy()
    vals = np.broadcast_to(vals, (len(index),) + x.shape[1:])
    if accumulate:
        np.add.at(out, index, vals)
    else:
        out[index] = vals
    return out


_kern("index_put", FLOATS + INTS[:2] + ("bool",), _index_put_samples, _index_put_ref)


def _nonzero_samples(dt, rng):
    x = values(rng, (3, 4), dt)
    x[0] = 0
    return [Sample("2d", (x,)), Sample("0d", (np.array(1, NP[dt]),)), Sample("empty", (x[:0],))]


_kern("nonzero", ALL, _nonzero_samples, lambda x: np.argwhere(x).astype(np.int64), out=_I64)


def _matmul_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    return [Sample("2d", (v((3, 4)), v((4, 5)))), Sample("batched", (v((2, 3, 4)), v((2, 4, 2)))),
            Sample("batch-broadcast", (v((2, 1, 3, 4)), v((3, 4, 2)))),
            Sample("transposed", (View.transposed(v((3, 4))), View.transposed(v((4, 2))))),
            Sample("empty-k", (v((3, 0)), v((0, 2)))), Sample("large-k", (v((2, 64)), v((64, 3))))]


_kern("matmul", FLOATS + ("int64", "int32"), _matmul_samples, np.matmul, tol_scale=10)


# ---- optional linalg kernels: checked by their defining properties (factors are unique only up to
# signs for eigh/svd), on well-conditioned batched inputs, a transposed view and a 1x1 matrix
def _la_inputs(dt, rng, shape=(2, 4, 4)):
    a = values(rng, shape, dt).astype(np.float64)
    spd = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return a, spd


def _la_close(got, want, dt, what, scale=50):
    rtol, atol = tolerance(dt, scale)
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol, err_msg=what)


def _la_call(call, dt, name, *arrays, extra=()):
    out = call.kt[name](*(call.dev(np.ascontiguousarray(x).astype(NP[dt])) for x in arrays), *extra)
    return tuple(None if o is None else call.host(o) for o in out) if isinstance(out, tuple) else call.host(out)


def _check_cholesky(call, dt, rng):
    _, spd = _la_inputs(dt, rng)
    L, info = _la_call(call, dt, "cholesky", spd)
    assert L.dtype == NP[dt] and L.shape == spd.shape, f"L is {L.dtype}{L.shape}"
    assert np.all(np.triu(L, 1) == 0), "L must be zero above the diagonal"
    _la_close(L @ np.swapaxes(L, -1, -2), spd.astype(NP[dt]).astype(np.float64), dt, "L L^T")
    assert info.dtype == np.int32 and info.shape == (2,) and not info.any(), f"info {info!r}"
    bad = np.stack([np.eye(3), np.array([[1.0, 2, 0], [2, 1, 0], [0, 0, 1]])])
    assert _la_call(call, dt, "cholesky", bad)[1].tolist() == [0, 2], "info: the order of the failing minor"


def _check_triangular_solve(call, dt, rng):
    a, _ = _la_inputs(dt, rng)
    b = values(rng, (2, 4, 3), dt).astype(np.float64)
    for upper in (False, True):
        for left in (True, False):
            for unit in (False, True):
                t = (np.triu(a) if upper else np.tril(a)) + 4 * np.eye(4)
                if unit:
                    t[..., range(4), range(4)] = 1
                rhs = b if left else np.swapaxes(b, -1, -2)
                x = _la_call(call, dt, "triangular_solve", a + 4 * np.eye(4), rhs, extra=(upper, left, unit))
                got = t @ x if left else x @ t
                _la_close(got, rhs.astype(NP[dt]).astype(np.float64), dt, f"upper={upper} left={left} unit={unit}")


def _check_lu_factor(call, dt, rng):
    a, _ = _la_inputs(dt, rng)
    lu, piv, info = _la_call(call, dt, "lu_factor", a)
    assert piv.dtype == np.int32 and piv.shape == (2, 4) and info.dtype == np.int32 and not info.any()
    L, U = np.tril(lu, -1) + np.eye(4), np.triu(lu)
    pa = a.astype(NP[dt]).astype(np.float64).copy()
    for i in range(4):  # apply the row swaps in order
        p = piv[:, i] - 1
        for k in range(2):
            pa[k, [i, p[k]]] = pa[k, [p[k], i]]
    _la_close(L @ U, pa, dt, "P A = L U")
    assert np.all(np.abs(np.tril(lu, -1)) <= 1 + 1e-6), "partial pivoting keeps |L| <= 1"
    sing = np.stack([np.eye(3), np.zeros((3, 3)), np.array([[1.0, 2, 3], [2, 4, 6], [1, 1, 1]])])
    assert _la_call(call, dt, "lu_factor", sing)[2].tolist() == [0, 1, 3], "info: the first zero pivot"


def _check_qr(call, dt, rng):
    for shape in ((2, 5, 3), (3, 5), (4, 4)):
        a = values(rng, shape, dt).astype(np.float64)
        for mode in ("reduced", "complete", "r"):
            q, r = _la_call(call, dt, "qr", a, extra=(mode,))
            rq, rr = (None, np.linalg.qr(a, mode="r")) if mode == "r" else np.linalg.qr(a, mode=mode)
            _la_close(r, rr, dt, f"R {shape} {mode} (LAPACK's signs)")
            assert (q is None) == (mode == "r"), "Q is None exactly in mode 'r'"
            if q is not None:
                _la_close(q, rq, dt, f"Q {shape} {mode}")


def _check_eigh(call, dt, rng):
    a, _ = _la_inputs(dt, rng)
    for upper in (False, True):
        w, v = _la_call(call, dt, "eigh", a, extra=(upper,))
        sym = np.triu(a) + np.swapaxes(np.triu(a, 1), -1, -2) if upper else np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)
        _la_close(w, np.linalg.eigvalsh(sym), dt, "eigenvalues, ascending")
        _la_close((v * w[..., None, :]) @ np.swapaxes(v, -1, -2), sym, dt, "V diag(w) V^T")
        _la_close(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(4), v.shape), dt, "V orthonormal")


def _check_svd(call, dt, rng):
    for shape in ((2, 5, 3), (3, 5), (4, 4)):
        a = values(rng, shape, dt).astype(np.float64)
        k = min(shape[-2:])
        for full in (False, True):
            u, sv, vh = _la_call(call, dt, "svd", a, extra=(full,))
            m, n = shape[-2:]
            assert u.shape[-1] == (m if full else k) and vh.shape[-2] == (n if full else k), f"{u.shape} {vh.shape}"
            _la_close(sv, np.linalg.svd(a, compute_uv=False), dt, "S, descending")
            _la_close((u[..., :k] * sv[..., None, :]) @ vh[..., :k, :], a, dt, "U diag(S) Vh")
            _la_close(np.swapaxes(u, -1, -2) @ u, np.broadcast_to(np.eye(u.shape[-1]), u.shape[:-2] + (u.shape[-1],) * 2),
                      dt, "U orthonormal")


_kern("cholesky", FLOATS[:2], lambda dt, rng: [], None, check=_check_cholesky)
_kern("triangular_solve", FLOATS[:2], lambda dt, rng: [], None, check=_check_triangular_solve)
_kern("lu_factor", FLOATS[:2], lambda dt, rng: [], None, check=_check_lu_factor)
_kern("qr", FLOATS[:2], lambda dt, rng: [], None, check=_check_qr)
_kern("eigh", FLOATS[:2], lambda dt, rng: [], None, check=_check_eigh)
_kern("svd", FLOATS[:2], lambda dt, rng: [], None, check=_check_svd)


def _check_eig(call, dt, rng):
    """eig(a): complex w and unit-norm V with A V = V diag(w), the eigenvalues NumPy's (as a set)."""
    a, _ = _la_inputs(dt, rng)
    w, v = _la_call(call, dt, "eig", a)
    ctype = np.complex64 if dt == "float32" else np.complex128
    assert w.dtype == ctype and v.dtype == ctype, f"eig gave {w.dtype}/{v.dtype}, expected {ctype.__name__}"
    assert w.shape == a.shape[:-1] and v.shape == a.shape, f"shapes {w.shape} {v.shape}"
    want = np.linalg.eigvals(a.astype(NP[dt]).astype(np.float64))
    key = lambda z: np.lexsort((np.round(z.imag, 4), np.round(z.real, 4)), axis=-1)  # noqa: E731
    got_sorted = np.take_along_axis(w, key(w), -1)
    want_sorted = np.take_along_axis(want, key(want), -1)
    _la_close(got_sorted.real, want_sorted.real, dt, "eigenvalues (real parts)")
    _la_close(got_sorted.imag, want_sorted.imag, dt, "eigenvalues (imaginary parts)")
    av = a.astype(NP[dt]).astype(np.complex128) @ v
    vw = v.astype(np.complex128) * w[..., None, :]
    _la_close(np.abs(av - vw), np.zeros(av.shape), dt, "A V = V diag(w)")
    _la_close(np.linalg.norm(v, axis=-2), np.ones(w.shape), dt, "unit-norm eigenvectors")


_kern("eig", FLOATS[:2], lambda dt, rng: [], None, check=_check_eig)


# ---- optional FFT kernels (ember.fft): complex rows, so a device without complex dtypes reports
# them "unsupported"; references are numpy.fft in complex128 with the scale applied by hand
_FFT_CASES = (((8,), (0,)), ((3, 5), (1,)), ((4, 6), (0,)), ((2, 3, 4), (0, 2)), ((3, 4), (0, 1)))
_FFT_SCALE = {"none": lambda n: 1.0, "by_n": lambda n: 1.0 / n, "by_root_n": lambda n: n ** -0.5}


def _fft_values(rng, shape, dt, real=False):
    a = rng.standard_normal(shape)
    return a.astype(dt) if real else (a + 1j * rng.standard_normal(shape)).astype(dt)


def _fft_close(got, want, dt, what):
    real = {"complex64": "float32", "complex128": "float64", "float32": "float32", "float64": "float64"}[dt]
    rtol, atol = tolerance(real, 20)
    np.testing.assert_allclose(np.asarray(got).astype(np.complex128), want, rtol=rtol, atol=atol, err_msg=what)


def _check_fft_c2c(call, dt, rng):
    for shape, dims in _FFT_CASES + (((3, 4), ()),):
        x = _fft_values(rng, shape, dt)
        for forward in (True, False):
            for norm, scale in _FFT_SCALE.items():
                got = call.host(call.kt["fft_c2c"](call.dev(x), dims, forward, norm))
                n = int(np.prod([shape[d] for d in dims]))
                raw = (np.fft.fftn if forward else np.fft.ifftn)(x.astype(np.complex128), axes=dims, norm="backward" if forward else "forward") if dims else x
                assert got.dtype == x.dtype and got.shape == x.shape, f"fft_c2c keeps {x.dtype} {shape}: {got.dtype} {got.shape}"
                _fft_close(got, raw * scale(n), dt, f"fft_c2c {shape} {dims} forward={forward} {norm}")


def _check_fft_r2c(call, dt, rng):
    real = {"complex64": np.float32, "complex128": np.float64}[dt]
    for shape, dims in _FFT_CASES:
        x = _fft_values(rng, shape, real, real=True)
        for onesided in (True, False):
            for norm, scale in _FFT_SCALE.items():
                got = call.host(call.kt["fft_r2c"](call.dev(x), dims, norm, onesided))
                full = np.fft.fftn(x.astype(np.float64), axes=dims)
                if onesided:
                    full = np.take(full, np.arange(shape[dims[-1]] // 2 + 1), axis=dims[-1])
                assert got.dtype == np.dtype(dt), f"fft_r2c of {real.__name__} gives {dt}, not {got.dtype}"
                _fft_close(got, full * scale(int(np.prod([shape[d] for d in dims]))), dt,
                           f"fft_r2c {shape} {dims} onesided={onesided} {norm}")


def _check_fft_c2r(call, dt, rng):
    for shape, dims in _FFT_CASES:
        for last in (2 * shape[dims[-1]] - 2, 2 * shape[dims[-1]] - 1):
            half = list(shape)
            half[dims[-1]] = last // 2 + 1
            x = _fft_values(rng, tuple(half), dt)
            for norm, scale in _FFT_SCALE.items():
                got = call.host(call.kt["fft_c2r"](call.dev(x), dims, norm, last))
                sizes = [half[d] for d in dims[:-1]] + [last]
                want = np.fft.irfftn(x.astype(np.complex128), s=sizes, axes=dims, norm="forward")
                assert got.dtype.kind == "f" and got.shape == want.shape, f"fft_c2r: {got.dtype} {got.shape}"
                _fft_close(got, want * scale(int(np.prod(sizes))), dt, f"fft_c2r {half} {dims} n={last} {norm}")


_kern("fft_c2c", ("complex64", "complex128"), lambda dt, rng: [], None, check=_check_fft_c2c)
_kern("fft_r2c", ("complex64", "complex128"), lambda dt, rng: [], None, check=_check_fft_r2c)
_kern("fft_c2r", ("complex64", "complex128"), lambda dt, rng: [], None, check=_check_fft_c2r)


# ---- runtime and random
def _rt(dt, rng):
    return [Sample("2d", (values(rng, (3, 4), dt),)), Sample("0d", (values(rng, (), dt),)),
            Sample("empty", (values(rng, (0, 3), dt),)), Sample("transposed", (View.transposed(values(rng, (3, 4), dt)),))]


_kern("from_host", ALL, lambda dt, rng: _rt(dt, rng)[:3], lambda x: x)  # from_host then to_host
_kern("to_host", ALL, _rt, lambda x: x)
_kern("clone", ALL, _rt, lambda x: x)
_kern("astype", ALL, lambda dt, rng: [Sample(f"to-{t}", (values(rng, (3, 4), dt, "real", 3.0), DT(t)))
                                      for t in ALL], lambda x, t: x.astype(NP[t]) if t != "bool" else x != 0,
      out=None)
_kern("full", ALL, lambda dt, rng: [Sample("2d", ((2, 3), 1 if dt != "bool" else True, DT(dt), INDEX)),
                                    Sample("0d", ((), 0, DT(dt), INDEX)), Sample("empty", ((0, 3), 1, DT(dt), INDEX))],
      lambda shape, v, t, i: np.full(shape, v, NP[t]))
_kern("arange", FLOATS + INTS[:2], lambda dt, rng: [
    Sample("int", (0, 5, 1, DT(dt), INDEX)), Sample("step", (1, 10, 3, DT(dt), INDEX)),
    Sample("negative-step", (5, 0, -2, DT(dt), INDEX)), Sample("empty", (3, 3, 1, DT(dt), INDEX))]
    + ([Sample("float-step", (0.0, 1.0, 0.25, DT(dt), INDEX))] if dt in FLOATS else []),
    lambda a, b, s, t, i: (a + np.arange(max(0, math.ceil((b - a) / s))) * s).astype(NP[t]))
_kern("rand_uniform", FLOATS, lambda dt, rng: [Sample("2d", ((3, 5), 0x1234567, 0, DT(dt), INDEX)),
                                               Sample("offset", ((7,), R.mix64(42), 1000, DT(dt), INDEX))],
      lambda shape, key, off, t, i: R.rand_uniform(shape, key, off, t))
_kern("rand_normal", FLOATS, lambda dt, rng: [Sample("2d", ((3, 5), 0x1234567, 0, DT(dt), INDEX)),
                                              Sample("offset", ((7,), R.mix64(42), 1000, DT(dt), INDEX))],
      lambda shape, key, off, t, i: R.rand_normal(shape, key, off, t), tol_scale=10)
_kern("rand_int", INTS[:2] + FLOATS[:2], lambda dt, rng: [Sample("2d", ((3, 5), -3, 7, 0x1234567, 0, DT(dt), INDEX)),
                                                          Sample("offset", ((9,), 0, 2, R.mix64(7), 33, DT(dt), INDEX))],
      lambda shape, lo, hi, key, off, t, i: R.rand_int(shape, lo, hi, key, off, t))


def _check_empty(call, dt, rng):
    out = call.host(call.kt["empty"]((2, 3), call.dtype(dt), call.index))
    assert out.shape == (2, 3), f"shape {out.shape} != (2, 3)"
    assert out.dtype == NP[dt], f"dtype {out.dtype} != {NP[dt]}"


def _check_device_index(call, dt, rng):
    idx = call.kt["device_index"](call.dev(values(rng, (2,), dt)))
    assert idx == call.index, f"device_index returned {idx}, expected {call.index}"


def _check_is_contiguous(call, dt, rng):
    x = values(rng, (3, 4), dt)
    assert call.kt["is_contiguous"](call.dev(x)), "a fresh array is not contiguous"
    if call.native("permute"):
        assert not call.kt["is_contiguous"](call.dev(View.transposed(x))), "a transposed view reported contiguous"


def _np_strides(a: np.ndarray) -> tuple[int, ...]:
    """The reference: NumPy's strides, in elements."""
    return tuple(s // a.itemsize for s in a.strides)


def _check_strides(call, dt, rng):
    """strides(x) against NumPy's on the same view. Size-1 axes are skipped (their stride is free,
    as in PyTorch), and so are empty arrays (any strides will do) but for the number of axes."""
    kt = call.kt

    def same(dev, ref, what):
        got = tuple(int(s) for s in kt["strides"](dev))
        want = _np_strides(ref)
        assert len(got) == ref.ndim, f"{what}: strides {got} for a {ref.ndim}-d array"
        if ref.size:
            keep = [i for i, n in enumerate(ref.shape) if n != 1]
            assert [got[i] for i in keep] == [want[i] for i in keep], f"{what}: strides {got}, NumPy has {want}"

    for shape in ((3, 4), (2, 3, 4), (), (0, 3), (3, 1, 2)):
        x = values(rng, shape, dt)
        same(call.dev(x), x, f"a fresh {shape} array")
    x = values(rng, (3, 4), dt)
    if call.native("permute"):
        v = View.transposed(x)
        same(call.dev(v), v.host(), "a transposed view")
    if call.native("slice"):
        v = View.strided(x)
        same(call.dev(v), v.host(), "a strided (every other column) view")
    if call.native("permute") and call.native("reshape"):
        # The contract's reshape returns a view whenever the strides allow it (Tensor.view relies
        # on it): splitting one axis of a transposed view is one.
        v = View.transposed(values(rng, (4, 6), dt))  # a (4, 6) view with strides (1, 4)
        ref = v.host().reshape(4, 2, 3)
        assert not ref.flags.owndata
        same(kt["reshape"](call.dev(v), (4, 2, 3)), ref, "reshape of a transposed (4, 6) view to (4, 2, 3)")


def _check_copy(call, dt, rng):
    kt = call.kt
    src = values(rng, (3, 4), dt)
    dst = call.dev(values(rng, (3, 4), dt))
    kt["copy_"](dst, call.dev(src))
    np.testing.assert_array_equal(call.host(dst), src, err_msg="copy_ of a full array")
    row = values(rng, (4,), dt)
    kt["copy_"](dst, call.dev(row))
    np.testing.assert_array_equal(call.host(dst), np.broadcast_to(row, (3, 4)), err_msg="copy_ must broadcast src")
    if call.native("slice"):
        start = values(rng, (3, 4), dt)
        base = call.dev(start)
        kt["copy_"](kt["slice"](base, ((0, 3, 1), (1, 3, 1))), True if dt == "bool" else 1)
        want = start.copy()
        want[:, 1:3] = 1
        np.testing.assert_array_equal(call.host(base), want, err_msg="copy_ into a view must reach its base")


def _check_storage_offset(call, dt, rng):
    """storage_offset(x): 0 for a fresh array, the element offset of a view into it."""
    kt = call.kt
    x = values(rng, (3, 4), dt)
    base = call.dev(x)
    assert int(kt["storage_offset"](base)) == 0, "a fresh array has a non-zero storage offset"
    if call.native("slice"):
        for slices, want in ((((1, 3, 1), (0, 4, 1)), 4), (((0, 3, 1), (1, 4, 1)), 1), (((2, 3, 1), (3, 4, 1)), 11)):
            got = int(kt["storage_offset"](kt["slice"](base, slices)))
            assert got == want, f"storage offset {got} of a slice {slices}, expected {want}"


def _check_storage_size(call, dt, rng):
    """storage_size(x): the elements of the memory x shares with its views (a view reports its base's;
    a padded allocation may report more, never less)."""
    kt = call.kt
    base = call.dev(values(rng, (3, 4), dt))
    assert int(kt["storage_size"](base)) >= 12, "a (3, 4) array's storage holds fewer than 12 elements"
    if call.native("slice"):
        view = kt["slice"](base, ((1, 3, 1), (0, 4, 2)))
        assert int(kt["storage_size"](view)) == int(kt["storage_size"](base)), "a view reports another storage size"


def _check_as_strided(call, dt, rng):
    """as_strided(x, shape, strides, offset) against NumPy's ``as_strided`` over the same memory,
    from a fresh array and from a view (offsets count from the storage start); a write through the
    result reaches x."""
    from numpy.lib.stride_tricks import as_strided as np_as_strided

    kt = call.kt
    x = values(rng, (3, 4), dt)
    flat = x.reshape(-1)
    item = flat.itemsize
    for shape, strides, offset in (((2, 2), (1, 2), 0), ((4, 3), (1, 1), 3), ((2,), (0,), 5), ((), (), 7)):
        want = np_as_strided(flat[offset:], shape, tuple(s * item for s in strides))
        got = call.host(kt["as_strided"](call.dev(x), shape, strides, offset))
        np.testing.assert_array_equal(got, want, err_msg=f"as_strided{(shape, strides, offset)}")
    if call.native("slice"):
        view = kt["slice"](call.dev(x), ((1, 3, 1), (1, 4, 2)))
        got = call.host(kt["as_strided"](view, (3,), (4,), 1))
        np.testing.assert_array_equal(got, flat[1::4], err_msg="as_strided of a view: offsets from the storage start")
    if call.native("copy_"):
        base = call.dev(x)
        fill = True if dt == "bool" else 0
        kt["copy_"](kt["as_strided"](base, (2,), (5,), 1), fill)
        want = x.copy().reshape(-1)
        want[[1, 6]] = fill
        np.testing.assert_array_equal(call.host(base).reshape(-1), want, err_msg="a write through as_strided's view")


def _check_bitcast(call, dt, rng):
    """bitcast(x, t) against NumPy's ``view(t)``, byte for byte, for every dtype of the device
    (bool only from and to 1-byte sources, whose bytes are 0/1), on a fresh array, a transposed
    view (same itemsize), a view with an offset; and a write through the result reaches x."""
    kt = call.kt
    x = values(rng, (3, 8), dt)
    supported = getattr(getattr(call, "ctx", None), "dtypes", ALL)  # the device's dtypes, when the caller knows
    targets = [t for t in ALL if t in supported and (t != "bool" or dt == "bool")]

    def same(got, want, what):
        got = call.host(got)
        assert got.dtype == want.dtype and got.shape == want.shape, \
            f"{what}: {got.dtype}{got.shape}, NumPy has {want.dtype}{want.shape}"
        assert got.tobytes() == np.ascontiguousarray(want).tobytes(), f"{what}: the bytes differ from NumPy's view"

    for t in targets:
        same(kt["bitcast"](call.dev(x), call.dtype(t)), x.view(NP[t]), f"{dt} as {t}")
        if call.native("slice"):
            rows = kt["slice"](call.dev(x), ((1, 3, 1), (0, 8, 1)))  # storage offset 8: divisible by any ratio
            same(kt["bitcast"](rows, call.dtype(t)), x[1:].view(NP[t]), f"{dt} rows 1: as {t}")
        if call.native("permute") and NP[t].itemsize == x.itemsize:
            v = View.transposed(x)
            same(kt["bitcast"](call.dev(v), call.dtype(t)), v.host().view(NP[t]), f"transposed {dt} as {t}")
    if call.native("copy_"):
        base = call.dev(x)
        alias = {1: "uint8", 2: "int16", 4: "int32", 8: "int64"}[x.itemsize]
        kt["copy_"](kt["bitcast"](base, call.dtype(alias)), 0)
        assert call.host(base).tobytes() == bytes(x.nbytes), "a write through bitcast's view did not reach x"


_kern("empty", ALL, lambda dt, rng: [], None, check=_check_empty)
_kern("device_index", ALL[:2], lambda dt, rng: [], None, check=_check_device_index)
_kern("is_contiguous", ALL[:2], lambda dt, rng: [], None, check=_check_is_contiguous)
_kern("strides", ALL, lambda dt, rng: [], _np_strides, check=_check_strides)
_kern("copy_", ALL, lambda dt, rng: [], None, check=_check_copy)
_kern("storage_offset", ALL[:2], lambda dt, rng: [], None, check=_check_storage_offset)
_kern("storage_size", ALL[:2], lambda dt, rng: [], None, check=_check_storage_size)
_kern("as_strided", ALL, lambda dt, rng: [], None, check=_check_as_strided)
_kern("bitcast", ALL, lambda dt, rng: [], None, check=_check_bitcast)


# ---- optional nn kernels
def _conv_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    return [Sample("basic", (v((2, 3, 5, 5)), v((4, 3, 3, 3)), v((4,)), (1, 1), (0, 0), (1, 1), 1)),
            Sample("stride-pad-nobias", (v((1, 2, 6, 5)), v((3, 2, 3, 2)), None, (2, 1), (1, 1), (1, 1), 1)),
            Sample("dilation-groups", (v((1, 4, 7, 7)), v((4, 2, 3, 3)), v((4,)), (1, 2), (2, 1), (2, 1), 2))]


def _conv_bwd_samples(dt, rng):
    out = []
    for s in _conv_samples(dt, rng):
        x, w, b, st, p, d, g = s.args
        y = R.conv2d(x.astype(np.float64), w.astype(np.float64), None, st, p, d, g)
        out.append(Sample(s.kind, (values(rng, y.shape, dt), x, w, st, p, d, g, (True, True, b is not None))))
    return out


_kern("conv2d", FLOATS, _conv_samples, R.conv2d, tol_scale=10)
_kern("conv2d_backward", FLOATS, _conv_bwd_samples, R.conv2d_backward, tol_scale=10)


def _pool_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    with_nans = v((1, 2, 4, 6))
    # windows with one NaN, with two (the last one is the index), and overlapping ones (stride 1)
    with_nans[0, 0, 0, 0] = with_nans[0, 0, 1, 1] = with_nans[0, 1, 2, 3] = np.nan
    return [Sample("2x2", (v((2, 3, 6, 6)), (2, 2), (2, 2), (0, 0), (1, 1), False)),
            Sample("3x3-s2-p1", (v((1, 2, 7, 6)), (3, 3), (2, 2), (1, 1), (1, 1), False)),
            Sample("ceil-dilation", (v((1, 1, 7, 7)), (2, 2), (2, 2), (0, 0), (2, 1), True)),
            Sample("nan-windows", (with_nans, (2, 2), (1, 1), (0, 0), (1, 1), False))]


def _maxpool_bwd_samples(dt, rng):
    out = []
    for s in _pool_samples(dt, rng):
        vals, idx = R.max_pool2d(s.args[0].astype(np.float64), *s.args[1:])
        out.append(Sample(s.kind, (values(rng, vals.shape, dt), idx, s.args[0].shape)))
    return out


_kern("max_pool2d", FLOATS, _pool_samples, R.max_pool2d)
_kern("max_pool2d_backward", FLOATS, _maxpool_bwd_samples, R.max_pool2d_backward)


def _avg_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    return [Sample("2x2", (v((2, 3, 6, 6)), (2, 2), (2, 2), (0, 0), False, True, None)),
            Sample("pad-include", (v((1, 2, 5, 6)), (3, 3), (2, 2), (1, 1), False, True, None)),
            Sample("pad-exclude", (v((1, 2, 5, 6)), (3, 3), (2, 2), (1, 1), False, False, None)),
            Sample("ceil", (v((1, 1, 7, 7)), (2, 2), (2, 2), (0, 0), True, True, None)),
            Sample("divisor", (v((1, 1, 4, 4)), (2, 2), (1, 1), (0, 0), False, True, 3))]


def _avg_bwd_samples(dt, rng):
    out = []
    for s in _avg_samples(dt, rng):
        y = R.avg_pool2d(s.args[0].astype(np.float64), *s.args[1:])
        out.append(Sample(s.kind, (values(rng, y.shape, dt), s.args[0].shape) + s.args[1:]))
    return out


_kern("avg_pool2d", FLOATS, _avg_samples, R.avg_pool2d)
_kern("avg_pool2d_backward", FLOATS, _avg_bwd_samples, R.avg_pool2d_backward)


def _softmax_samples(dt, rng):
    v = lambda shape, s=1.0: values(rng, shape, dt, "real", s)  # noqa: E731
    return [Sample("dim1", (v((3, 4)), 1)), Sample("dim0", (v((3, 4)), 0)),
            Sample("large-logits", (v((2, 5), 300.0 if dt != "float16" else 30.0), 1)),
            Sample("transposed", (View.transposed(v((3, 4))), 1))]


_kern("softmax", FLOATS, _softmax_samples, R.softmax, tol_scale=4)
_kern("log_softmax", FLOATS, _softmax_samples, R.log_softmax, tol_scale=4)


def _softmax_bwd_samples(forward):
    """(grad, out, dim) with ``out`` a real softmax/log_softmax output (the float64 reference's,
    rounded to the dtype): rows along dim 1 and dim 0, the last of three dims, a transposed
    gradient, one element per row, an empty batch."""
    def make(dt, rng):
        v = lambda shape, s=1.0: values(rng, shape, dt, "real", s)  # noqa: E731
        y = lambda x, dim: forward(upcast(x), dim).astype(NP[dt])  # noqa: E731
        return [Sample("dim1", (v((3, 5)), y(v((3, 5), 3.0), 1), 1)),
                Sample("dim0", (v((4, 3)), y(v((4, 3), 3.0), 0), 0)),
                Sample("last-of-3d", (v((2, 3, 6)), y(v((2, 3, 6), 3.0), 2), 2)),
                Sample("transposed-grad", (View.transposed(v((3, 4))), y(v((3, 4), 3.0), 1), 1)),
                Sample("one-per-row", (v((3, 1)), y(v((3, 1)), 1), 1)),
                Sample("empty", (v((0, 4)), y(v((0, 4)), 1), 1))]
    return make


_kern("softmax_backward", FLOATS, _softmax_bwd_samples(R.softmax), R.softmax_backward, tol_scale=4)
_kern("log_softmax_backward", FLOATS, _softmax_bwd_samples(R.log_softmax), R.log_softmax_backward, tol_scale=4)


def _relu_bwd_samples(dt, rng):
    def out(shape):  # a relu output: exact zeros, positives and a NaN (which passes its gradient)
        y = np.maximum(values(rng, shape, dt), 0).astype(NP[dt])
        y.flat[1] = np.nan
        return y

    v = lambda shape: values(rng, shape, dt)  # noqa: E731
    return [Sample("2d", (v((3, 4)), out((3, 4)))), Sample("4d", (v((2, 3, 2, 2)), out((2, 3, 2, 2)))),
            Sample("transposed", (View.transposed(v((3, 4))), out((3, 4))))]


_kern("relu_backward", FLOATS, _relu_bwd_samples, lambda g, y: np.where(y <= 0, 0.0, g))

def _gelu_samples(dt, rng):
    v = lambda shape, s=4.0: values(rng, shape, dt, "real", s)  # noqa: E731
    return [Sample(f"{mode}-{kind}", (v((3, 4)) if kind != "transposed" else View.transposed(v((3, 4))), mode))
            for mode in ("none", "tanh") for kind in ("2d", "transposed")]


def _gelu_bwd_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt, "real", 4.0)  # noqa: E731
    return [Sample(f"{mode}-{kind}", (View.transposed(v((3, 4))), View.transposed(v((3, 4))), mode)
                   if kind == "transposed" else (v((2, 3, 4)), v((2, 3, 4)), mode))
            for mode in ("none", "tanh") for kind in ("3d", "transposed")]


def _ln_samples(dt, rng):
    v = lambda shape, s=1.0: values(rng, shape, dt, "real", s)  # noqa: E731
    return [Sample("rows-affine", (v((3, 8)), 1, v((8,)), v((8,)), 1e-5)),
            Sample("2-dims-weight", (v((2, 3, 4), 5.0), 2, v((3, 4)), None, 1e-5)),
            Sample("transposed-plain", (View.transposed(v((6, 5))), 1, None, None, 1e-3)),
            Sample("constant-rows", (np.ones((2, 4), NP[dt]), 1, None, v((4,)), 1e-5))]


def _ln_bwd_samples(dt, rng):
    v = lambda shape: values(rng, shape, dt, "real")  # noqa: E731

    def case(x, ndim, weight, needs):
        _, mean, rstd = R.layer_norm(upcast(x), ndim, None, None, 1e-5)
        return (v(x.shape), x, mean.astype(NP[dt]), rstd.astype(NP[dt]), weight, ndim, needs)

    return [Sample("rows-weight", case(v((3, 8)), 1, v((8,)), (True, True, True))),
            Sample("2-dims", case(v((2, 3, 4)), 2, None, (True, False, True))),
            Sample("input-only", case(v((4, 6)), 1, v((6,)), (True, False, False)))]


_kern("layer_norm", FLOATS, _ln_samples, R.layer_norm, tol_scale=8)
_kern("layer_norm_backward", FLOATS, _ln_bwd_samples, R.layer_norm_backward, tol_scale=16)
_kern("gelu", FLOATS, _gelu_samples, R.gelu, tol_scale=4)
_kern("gelu_backward", FLOATS, _gelu_bwd_samples, R.gelu_backward, tol_scale=4)

#: (kind, N, C, weighted, ignore_index, reduction, logit scale)
_CE_CASES = [("mean", 6, 5, False, -100, "mean", 1.0), ("sum-weighted", 5, 4, True, -100, "sum", 1.0),
             ("none-ignore-class", 7, 3, True, 1, "none", 2.0), ("mean-ignored-rows", 9, 6, True, -1, "mean", 1.0),
             ("large-logits", 4, 7, False, -100, "mean", 300.0), ("wide", 3, 300, False, -100, "mean", 1.0),
             ("transposed", 4, 5, False, -100, "sum", 1.0)]


def _ce_case(dt, rng, n, c, weighted, ignore, scale, kind):
    scale = min(scale, 30.0) if dt == "float16" else scale
    x = values(rng, (n, c), dt, "real", scale)
    t = rng.integers(0, c, n).astype(np.int64)
    if ignore != -100:
        t[::3] = ignore
    w = values(rng, (c,), dt, "positive") if weighted else None
    return (View.transposed(x) if kind == "transposed" else x), x, t, w


def _check_cross_entropy(call, dt, rng):
    kt = call.kt
    rtol, atol = tolerance(dt, 8)
    for kind, n, c, weighted, ignore, reduction, scale in _CE_CASES:
        x, x_ref, t, w = _ce_case(dt, rng, n, c, weighted, ignore, scale, kind)
        args = [call.dev(x), call.dev(t), None if w is None else call.dev(w)]
        got = kt["cross_entropy"](*args, ignore, reduction)
        want = R.cross_entropy(upcast(x_ref), t, upcast(w), ignore, reduction)
        assert len(got) == 5, f"{kind}: cross_entropy must return (loss, lse, w, w_sum, n_invalid)"
        for name, g, ww in zip(("loss", "lse", "w", "w_sum"), got[:4], want):
            g = call.host(g)
            assert g.dtype == NP[dt] and g.shape == np.shape(ww), f"{kind}: {name} is {g.dtype}{g.shape}"
            np.testing.assert_allclose(g.astype(np.float64), ww, rtol=rtol, atol=atol, err_msg=f"{kind}: {name}")
        bad = call.host(got[4])
        assert bad.dtype == np.int64 and bad.shape == () and int(bad) == 0, f"{kind}: n_invalid {bad!r}, expected 0"
        for a, d in zip((host(x), t, w), args):
            if a is not None:
                assert np.array_equal(call.host(d), a), f"{kind}: the kernel modified an input"
    x = values(rng, (5, 4), dt)
    t = np.array([4, -100, -3, 0, 4], np.int64)  # two past the end, one negative, one ignored
    got = kt["cross_entropy"](call.dev(x), call.dev(t), None, -100, "mean")
    assert int(call.host(got[4])) == 3, f"out-of-range targets: n_invalid {call.host(got[4])!r}, expected 3"


def _check_cross_entropy_backward(call, dt, rng):
    kt = call.kt
    rtol, atol = tolerance(dt, 8)
    for kind, n, c, weighted, ignore, reduction, scale in _CE_CASES:
        x, x_ref, t, w = _ce_case(dt, rng, n, c, weighted, ignore, scale, kind)
        _, lse, wr, w_sum = R.cross_entropy(upcast(x_ref), t, upcast(w), ignore, reduction)
        grad = values(rng, (n,) if reduction == "none" else (), dt)
        lse, wr, w_sum = (np.asarray(a).astype(NP[dt]) for a in (lse, wr, w_sum))
        got = call.host(kt["cross_entropy_backward"](call.dev(grad), call.dev(x), call.dev(t), call.dev(lse),
                                                     call.dev(wr), call.dev(w_sum), reduction))
        want = R.cross_entropy_backward(upcast(grad), upcast(x_ref), t, upcast(wr), float(w_sum), reduction)
        assert got.dtype == NP[dt] and got.shape == (n, c), f"{kind}: grad is {got.dtype}{got.shape}"
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=rtol, atol=atol, err_msg=kind)


_kern("cross_entropy", FLOATS, lambda dt, rng: [], None, check=_check_cross_entropy)
_kern("cross_entropy_backward", FLOATS, lambda dt, rng: [], None, check=_check_cross_entropy_backward)


def _lstm_cell_samples(dt, rng):
    v = lambda shape, s=1.0: values(rng, shape, dt, "real", s)  # noqa: E731
    return [Sample("batch", (v((3, 8), 2.0), v((3, 2)))), Sample("3d", (v((2, 3, 12)), v((2, 3, 3)))),
            Sample("saturated", (v((2, 8), 30.0), v((2, 2)))),
            Sample("transposed-state", (v((4, 16)), View.transposed(v((4, 4)))))]


def _lstm_cell_bwd_samples(dt, rng):
    out = []
    for s in _lstm_cell_samples(dt, rng):
        gates, c = s.args
        acts = R.lstm_cell(upcast(host(gates)), upcast(host(c)))[2].astype(NP[dt])
        h_shape = host(c).shape
        out.append(Sample(s.kind, (values(rng, h_shape, dt), values(rng, h_shape, dt), acts, c)))
    return out


_kern("lstm_cell", FLOATS, _lstm_cell_samples, R.lstm_cell, tol_scale=4)
_kern("lstm_cell_backward", FLOATS, _lstm_cell_bwd_samples, R.lstm_cell_backward, tol_scale=4)


def _lstm_layer_samples(dt, rng):
    """(xproj, h0, c0, w_hh, bias): one and two directions, a batch of one, one step, a strided
    state, without bias."""
    v = lambda shape, s=1.0: values(rng, shape, dt, "real", s)  # noqa: E731
    out = []
    for kind, (t_len, batch, ndir, hs) in (("bidirectional", (4, 3, 2, 3)), ("one-direction", (5, 2, 1, 4)),
                                           ("batch-1", (3, 1, 2, 2)), ("one-step", (1, 2, 2, 3))):
        out.append(Sample(kind, (v((t_len, batch, ndir, 4 * hs), 2.0), v((ndir, batch, hs)), v((ndir, batch, hs)),
                                 v((ndir, 4 * hs, hs), 0.5), v((ndir, 4 * hs)))))
    out.append(Sample("strided-state", (v((3, 3, 2, 8), 2.0), View.strided(v((2, 3, 2))), v((2, 3, 2)),
                                        v((2, 8, 2), 0.5), v((2, 8)))))
    out.append(Sample("no-bias", (v((3, 2, 2, 8), 2.0), v((2, 2, 2)), v((2, 2, 2)), v((2, 8, 2), 0.5), None)))
    return out


def _lstm_layer_bwd_samples(dt, rng):
    """The forward's saved arrays from the float64 reference, and gradients of its outputs (each
    of the three absent in one sample)."""
    out = []
    for k, s in enumerate(_lstm_layer_samples(dt, rng)):
        xproj, h0, c0, w, _bias = s.args
        y, _, _, acts, c_prev = (a.astype(NP[dt]) for a in R.lstm_layer(*(upcast(host(a)) for a in s.args)))
        g = lambda a: values(rng, a.shape, dt)  # noqa: E731
        dout, dh_n, dc_n = g(y), g(host(h0)), g(host(c0))
        dout, dh_n, dc_n = (None if k == i else a for i, a in enumerate((dout, dh_n, dc_n)))
        if k == 3:
            dout = View.strided(dout)
        out.append(Sample(s.kind, (dout, dh_n, dc_n, acts, c_prev, h0, w)))
    return out


_kern("lstm_layer", FLOATS, _lstm_layer_samples, R.lstm_layer, tol_scale=8)
_kern("lstm_layer_backward", FLOATS, _lstm_layer_bwd_samples, R.lstm_layer_backward, tol_scale=8)



# ---- optional fused optimizer steps (in place: checked by a custom check against NumPy) -------------
_ADAM_CASES = [  # (lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled)
    ("plain", (1e-2, 0.9, 0.999, 1e-8, 0.0, False, False, False)),
    ("l2-decay", (1e-2, 0.8, 0.99, 1e-8, 0.1, False, False, False)),
    ("adamw-amsgrad", (1e-2, 0.9, 0.999, 1e-6, 0.3, True, False, True)),
    ("maximize-l2", (1e-2, 0.9, 0.999, 1e-8, 0.05, False, True, False)),
    ("small-beta1-amsgrad", (5e-2, 0.3, 0.9, 1e-8, 0.0, True, True, False)),
    ("eps-dominates", (1e-2, 0.9, 0.999, 1e-4, 0.0, False, False, False)),  # state and grads ~1e-4
]


def _adam_reference(p, m, v, vmax, g, step, lr, b1, b2, eps, wd, amsgrad, maximize, decoupled):
    """One step of PyTorch's Adam/AdamW in float64; returns the new (p, m, v, vmax)."""
    g = -g if maximize else g
    if wd and decoupled:
        p = p * (1 - lr * wd)
    elif wd:
        g = g + wd * p
    m = m + (1 - b1) * (g - m)
    v = b2 * v + (1 - b2) * g * g
    if amsgrad:
        vmax = np.maximum(vmax, v)
    denom = np.sqrt(vmax if amsgrad else v) / math.sqrt(1 - b2 ** step) + eps
    return p - lr / (1 - b1 ** step) * m / denom, m, v, vmax


def _adam_updates(call, dt, rng, kernel: str, counts: tuple, updater) -> None:
    """Three updates of one Adam state for each of ``_ADAM_CASES``: ``updater(hyper)`` returns the
    case's ``update(dev, grad, count)``, and after each the parameter and moments must be the
    reference's at step ``count``, with ``grad`` untouched and every dtype kept."""
    rtol, atol = tolerance(dt, 10)
    for kind, hyper in _ADAM_CASES:
        if kind == "eps-dominates" and dt == "float16":
            continue  # its squared gradients underflow float16
        amsgrad = hyper[5]
        scale = 1e-4 if kind == "eps-dominates" else 1.0
        p = values(rng, (3, 5), dt)
        m = values(rng, (3, 5), dt, "real", 0.1 * scale)
        v = values(rng, (3, 5), dt, "positive", 0.1 * scale * scale)
        vmax = (v + values(rng, (3, 5), dt, "positive", 0.1) * 0.5).astype(NP[dt]) if amsgrad else None
        want = (upcast(p), upcast(m), upcast(v), upcast(vmax))
        dev = [call.dev(a) if a is not None else None for a in (p, m, v, vmax)]
        update = updater(hyper)
        for count in counts:
            g = values(rng, (3, 5), dt, "real", scale)
            gd = call.dev(g)
            update(dev, gd, count)
            np.testing.assert_array_equal(call.host(gd), g, err_msg=f"{kind}: {kernel} modified grad")
            want = _adam_reference(*want, upcast(g), count, *hyper)
            for name, d, w in zip(("param", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"), dev, want):
                if d is None:
                    continue
                got = call.host(d)
                assert got.dtype == NP[dt], f"{kind}: {name} changed dtype to {got.dtype}"
                np.testing.assert_allclose(got, w, rtol=rtol, atol=atol, err_msg=f"{kind} step {count}: {name}")


def _check_adam_step(call, dt, rng):
    kt = call.kt

    def updater(hyper):
        return lambda dev, gd, count: kt["adam_step"](dev[0], gd, dev[1], dev[2], dev[3], count, *hyper)

    _adam_updates(call, dt, rng, "adam_step", (1.0, 2.0, 7.0), updater)  # the count may jump
    rtol, atol = tolerance(dt, 10)
    if call.native("permute"):  # a non-contiguous parameter: the update must reach its base
        base = values(rng, (5, 3), dt)
        m, v, g = (values(rng, (3, 5), dt, d, 0.1) for d in ("real", "positive", "real"))
        want = _adam_reference(upcast(base.T), upcast(m), upcast(v), None, upcast(g), 1.0, 0.1, 0.9, 0.999, 1e-8,
                               0.0, False, False, False)[0]
        dbase = call.dev(base)  # (on a host backend this may be `base` itself)
        kt["adam_step"](kt["permute"](dbase, (1, 0)), call.dev(g), call.dev(m), call.dev(v), None, 1.0, 0.1, 0.9,
                        0.999, 1e-8, 0.0, False, False, False)
        np.testing.assert_allclose(call.host(dbase), want.T, rtol=rtol, atol=atol,
                                   err_msg="adam_step on a transposed view must write through to its base")


def _check_adam_step_device(call, dt, rng):
    """adam_step_device: the step count is a 0-d float32 device array that the kernel increments
    in place; each update equals the reference Adam step at the new count."""
    kt = call.kt

    def updater(hyper):
        step = call.dev(np.array(4.0, np.float32))  # four steps already taken

        def update(dev, gd, count):
            kt["adam_step_device"](dev[0], gd, dev[1], dev[2], dev[3], step, *hyper)
            got = call.host(step)
            assert got.shape == () and got.dtype == np.float32 and got == count, \
                f"the step array holds {got!r} after the update, expected {count}"

        return update

    _adam_updates(call, dt, rng, "adam_step_device", (5.0, 6.0, 7.0), updater)


def _sgd_reference(p, g, buf, lr, momentum, dampening, wd, nesterov, maximize, first):
    g = -g if maximize else g
    if wd:
        g = g + wd * p
    if momentum:
        buf = g.copy() if first else momentum * buf + (1 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    return p - lr * g, buf


_SGD_CASES = [  # (lr, momentum, dampening, weight_decay, nesterov, maximize)
    ("plain", (0.1, 0.0, 0.0, 0.0, False, False)),
    ("momentum", (0.1, 0.9, 0.0, 0.0, False, False)),
    ("dampening-decay", (0.05, 0.9, 0.3, 0.01, False, False)),
    ("nesterov-decay", (0.05, 0.8, 0.0, 0.1, True, False)),
    ("maximize", (0.05, 0.5, 0.0, 0.0, False, True)),
]


def _check_sgd_step(call, dt, rng):
    kt = call.kt
    rtol, atol = tolerance(dt, 10)
    for kind, (lr, mom, damp, wd, nesterov, maximize) in _SGD_CASES:
        p = values(rng, (4, 3), dt)
        buf = values(rng, (4, 3), dt) if mom else None  # garbage: `first` must ignore it
        dp, dbuf = call.dev(p), (call.dev(buf) if mom else None)
        wp, wbuf = upcast(p), None
        for first in (True, False, False):
            g = values(rng, (4, 3), dt)
            gd = call.dev(g)
            kt["sgd_step"](dp, gd, dbuf, lr, mom, damp, wd, nesterov, maximize, first and bool(mom))
            np.testing.assert_array_equal(call.host(gd), g, err_msg=f"{kind}: sgd_step modified grad")
            wp, wbuf = _sgd_reference(wp, upcast(g), wbuf, lr, mom, damp, wd, nesterov, maximize, first)
            np.testing.assert_allclose(call.host(dp), wp, rtol=rtol, atol=atol, err_msg=f"{kind}: param")
            if mom:
                np.testing.assert_allclose(call.host(dbuf), wbuf, rtol=rtol, atol=atol,
                                           err_msg=f"{kind}: momentum_buffer")


_kern("adam_step", FLOATS, lambda dt, rng: [], None, check=_check_adam_step)
_kern("adam_step_device", FLOATS, lambda dt, rng: [], None, check=_check_adam_step_device)
_kern("sgd_step", FLOATS, lambda dt, rng: [], None, check=_check_sgd_step)

KERNEL_TABLE: dict[str, KernelEntry] = K


# ---- public ops through the Tensor API ------------------------------------------------------------
O: dict[str, OpEntry] = {}


def _op(name, fn, ref, dtypes, samples, **kw) -> None:
    O[name] = OpEntry(name, fn, ref, tuple(dtypes), samples, **kw)


for _n, (_f, _dom, _large) in _UNARY_FLOAT_REF.items():
    _op(_n, (lambda n: lambda E, x: getattr(x, n)())(_n), _f, FLOATS, _unary_samples(_dom, _large),
        differentiable=True)
_op("tan", lambda E, x: E.tan(x), np.tan, FLOATS, _unary_samples("unit"), differentiable=True)
_op("log2", lambda E, x: E.log2(x), np.log2, FLOATS, _unary_samples("positive"), differentiable=True)
_op("reciprocal", lambda E, x: x.reciprocal(), lambda x: 1 / x, FLOATS, _unary_samples("nonzero"),
    differentiable=True)
_op("square", lambda E, x: E.square(x), np.square, FLOATS + INTS[:2], _unary_samples("real", 1e2),
    differentiable=True)
_op("neg", lambda E, x: -x, np.negative, FLOATS + INTS[:-1], _unary_samples(), differentiable=True)
_op("abs", lambda E, x: abs(x), np.abs, FLOATS + INTS[:-1], _unary_samples("nonzero"), differentiable=True)
_op("relu", lambda E, x: E.relu(x), lambda x: np.maximum(x, 0), FLOATS + INTS[:2], _unary_samples("nonzero"),
    differentiable=True)
_op("sign", lambda E, x: E.sign(x), lambda x: np.nan_to_num(np.sign(x), nan=0.0), FLOATS + INTS[:2],
    _unary_samples())
for _n in ("floor", "ceil", "round", "trunc"):
    _op(_n, (lambda n: lambda E, x: getattr(E, n)(x))(_n), getattr(np, _n), FLOATS, _unary_samples())
_op("logical_not", lambda E, x: E.logical_not(x), np.logical_not, ALL, _unary_samples(), out=_BOOL)
_op("isnan", lambda E, x: E.isnan(x), np.isnan, FLOATS, _nan_samples, out=_BOOL)
for _n, (_f, _dom, _large) in _SPECIAL_REF.items():
    if _n != "acosh":
        _op(_n, (lambda n: lambda E, x: getattr(E, n)(x))(_n), _f, FLOATS, _unary_samples(_dom, _large),
            differentiable=True)
# acosh is NaN below 1, which would poison the central differences: its op row shifts x into [1, inf)
_op("acosh", lambda E, x: E.acosh(x.abs() + 1), lambda x: np.arccosh(np.abs(x) + 1), FLOATS,
    _unary_samples("nonzero", small=None), differentiable=True)  # 1 + tiny x rounds in float16
_op("isfinite", lambda E, x: E.isfinite(x), np.isfinite, FLOATS, _nan_samples, out=_BOOL)
_op("add", lambda E, a, b: a + b, np.add, FLOATS + INTS[:2], _binary_samples(), differentiable=True)
_op("sub", lambda E, a, b: a - b, np.subtract, FLOATS + INTS[:2], _binary_samples(), differentiable=True)
_op("rsub", lambda E, a, b: 2 - a, lambda a, b: 2 - a, FLOATS + INTS[:2], _binary_samples(), differentiable=True)
_op("mul", lambda E, a, b: a * b, np.multiply, FLOATS + INTS[:2], _binary_samples(), differentiable=True)
_op("div", lambda E, a, b: a / b, np.divide, FLOATS, _binary_samples("real", "nonzero"), differentiable=True)
_op("floor_divide", lambda E, a, b: a // b, np.floor_divide, FLOATS + INTS[:2], _divmod_samples)
_op("remainder", lambda E, a, b: a % b, np.remainder, FLOATS + INTS[:2], _divmod_samples, tol_scale=10)
_op("pow", lambda E, a, b: a ** b, np.power, FLOATS, _binary_samples("positive", "real", large=None),
    differentiable=True)
_op("maximum", lambda E, a, b: E.maximum(a, b), np.maximum, FLOATS + INTS[:2], _binary_samples(scalar=False),
    differentiable=True)
_op("minimum", lambda E, a, b: E.minimum(a, b), np.minimum, FLOATS + INTS[:2], _binary_samples(scalar=False),
    differentiable=True)
_op("atan2", lambda E, a, b: E.atan2(a, b), np.arctan2, FLOATS, _binary_samples(scalar=False), differentiable=True)
for _n, _f in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal, "gt": np.greater,
               "ge": np.greater_equal}.items():
    _op(_n, (lambda n: lambda E, a, b: getattr(E, n)(a, b))(_n), _f, ALL, _binary_samples(), out=_BOOL)
for _n in ("logical_and", "logical_or", "logical_xor"):
    _op(_n, (lambda n: lambda E, a, b: getattr(E, n)(a, b))(_n), getattr(np, _n), ALL,
        _binary_samples(scalar=False), out=_BOOL)
_op("where", lambda E, c, a, b: E.where(c, a, b), np.where, FLOATS + INTS[:2] + ("bool",), _where_samples,
    differentiable=True)
_op("clamp", lambda E, x, lo, hi: E.clamp(x, lo, hi), K["clamp"].ref, FLOATS + INTS[:2], _clamp_samples,
    differentiable=True)


def _reduce_op(name, method, ref, dtypes, domain="real", **kw):
    def fn(E, x, dims, keepdim):
        if dims is None:
            return getattr(x, method)()
        return getattr(x, method)(dim=dims if len(dims) > 1 else dims[0], keepdim=keepdim)
    _op(name, fn, lambda x, dims, keepdim: np.asarray(ref(x, axis=None if dims is None else tuple(dims),
                                                          keepdims=bool(keepdim) and dims is not None)),
        dtypes, _reduce_samples(domain, whole=True), **kw)


_reduce_op("sum", "sum", np.sum, FLOATS, differentiable=True, tol_scale=4)
_reduce_op("mean", "mean", np.mean, FLOATS, differentiable=True, tol_scale=4)
_op("prod", lambda E, x, dim: x.prod() if dim is None else x.prod(dim),
    lambda x, dim: np.asarray(np.prod(x, axis=dim)), FLOATS,
    lambda dt, rng: [Sample("dim1", (values(rng, (3, 4), dt, "nonzero"), 1)),
                     Sample("whole", (values(rng, (2, 3), dt, "nonzero"), None)),
                     Sample("0d", (values(rng, (), dt, "nonzero"), None)),
                     Sample("transposed", (View.transposed(values(rng, (3, 4), dt, "nonzero")), 0))],
    differentiable=True, tol_scale=4)
_reduce_op("amax", "amax", np.amax, FLOATS + INTS[:2], differentiable=True)
_reduce_op("amin", "amin", np.amin, FLOATS + INTS[:2], differentiable=True)
_op("var", lambda E, x, dim: x.var(dim), lambda x, dim: np.var(x, axis=dim, ddof=1), FLOATS,
    lambda dt, rng: [Sample("dim1", (values(rng, (3, 4), dt), 1)),
                     Sample("transposed", (View.transposed(values(rng, (3, 4), dt)), 0))],
    differentiable=True, tol_scale=4)
_op("std", lambda E, x, dim: x.std(dim), lambda x, dim: np.std(x, axis=dim, ddof=1), FLOATS,
    lambda dt, rng: [Sample("dim1", (values(rng, (3, 4), dt), 1))], differentiable=True, tol_scale=4)
_op("norm", lambda E, x: x.norm(), lambda x: np.asarray(np.sqrt((x * x).sum())), FLOATS,
    lambda dt, rng: [Sample("2d", (values(rng, (3, 4), dt),))], differentiable=True, tol_scale=4)
_op("logsumexp", lambda E, x, dim: E.logsumexp(x, dim),
    lambda x, dim: np.log(np.exp(x - x.max(dim, keepdims=True)).sum(dim)) + x.max(dim), FLOATS,
    lambda dt, rng: [Sample("dim1", (values(rng, (3, 4), dt), 1)),
                     Sample("large", (values(rng, (3, 4), dt, "real", 50.0 if dt != "float16" else 5.0), 1))],
    differentiable=True, tol_scale=4)
_op("softmax", lambda E, x, dim: E.softmax(x, dim), R.softmax, FLOATS, _softmax_samples, differentiable=True,
    tol_scale=4)
_op("log_softmax", lambda E, x, dim: E.log_softmax(x, dim), R.log_softmax, FLOATS, _softmax_samples,
    differentiable=True, tol_scale=4)
_op("argmax", lambda E, x, dim, keepdim: E.argmax(x, dim, keepdim), K["argmax"].ref, FLOATS + INTS[:2],
    _arg_samples, out=_I64)
_op("max-dim", lambda E, x, dim, keepdim: E.max(x, dim, keepdim) if dim is not None else E.max(x),
    lambda x, dim, keepdim: (np.amax(x, axis=dim, keepdims=keepdim), K["argmax"].ref(x, dim, keepdim))
    if dim is not None else np.amax(x), FLOATS, _arg_samples, differentiable=True, out=lambda dt: (dt, "int64"))
_op("cumsum", lambda E, x, dim: E.cumsum(x, dim), lambda x, d: np.cumsum(x, axis=d), FLOATS + INTS[:1],
    _scan_samples("real"), differentiable=True, tol_scale=4)
_op("cumprod", lambda E, x, dim: E.cumprod(x, dim), lambda x, d: np.cumprod(x, axis=d), FLOATS,
    _scan_samples("nonzero"), differentiable=True, tol_scale=4)
_op("sort", lambda E, x, dim, desc: E.sort(x, dim, desc), _sort_ref, FLOATS + INTS[:1], _sort_samples,
    differentiable=True, out=lambda dt: (dt, "int64"))
_op("topk", lambda E, x, k: E.topk(x, k).values, lambda x, k: -np.sort(-x, axis=-1)[..., :k], FLOATS,
    lambda dt, rng: [Sample("k2", (values(rng, (3, 5), dt), 2))], differentiable=True)
# (PyTorch's any/all of a uint8 tensor are uint8, of every other dtype bool)
_ANY_OUT = lambda dt: "uint8" if dt == "uint8" else "bool"  # noqa: E731
_op("any", lambda E, x: x.any(), lambda x: np.asarray(np.any(x)), ALL, lambda dt, rng: [
    Sample("2d", (values(rng, (3, 4), dt),)), Sample("empty", (values(rng, (0, 2), dt),))], out=_ANY_OUT)
_op("all", lambda E, x: x.all(), lambda x: np.asarray(np.all(x)), ALL, lambda dt, rng: [
    Sample("2d", (values(rng, (3, 4), dt),)), Sample("empty", (values(rng, (0, 2), dt),))], out=_ANY_OUT)

# shape and movement
_SH = lambda dt, rng: [Sample("3d", (values(rng, (2, 3, 4), dt),)),  # noqa: E731
                       Sample("transposed", (View.transposed(values(rng, (3, 4), dt)),))]
_op("reshape", lambda E, x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2), ALL, _SH, differentiable=True)
_op("permute", lambda E, x: x.permute(*reversed(range(x.dim()))), lambda x: x.transpose(), ALL, _SH,
    differentiable=True)
_op("transpose", lambda E, x: x.transpose(0, 1), lambda x: np.swapaxes(x, 0, 1), ALL, _SH, differentiable=True)
_op("flatten", lambda E, x: x.flatten(), lambda x: x.ravel(), ALL, _SH, differentiable=True)
_op("unsqueeze-squeeze", lambda E, x: x.unsqueeze(1).unsqueeze(0).squeeze(0),
    lambda x: np.expand_dims(x, 1), ALL, _SH, differentiable=True)
_op("expand", lambda E, x: x[:1].expand(3, *x.shape[1:]), lambda x: np.broadcast_to(x[:1], (3,) + x.shape[1:]),
    ALL, _SH, differentiable=True)
_op("getitem", lambda E, x: x[1:, ::2], lambda x: x[1:, ::2], ALL, _SH, differentiable=True)
_op("getitem-int-index", lambda E, x: x[E.tensor([1, 0, 1], device=x.device)],
    lambda x: x[[1, 0, 1]], ALL, _SH, differentiable=True)
_op("getitem-mask", lambda E, x: x[x > 0] if x.dtype != E.bool else x[x],
    lambda x: x[x > 0], ALL, _SH, differentiable=True)
_op("flip", lambda E, x: x.flip(0), lambda x: np.flip(x, 0), ALL, _SH, differentiable=True)
_op("roll", lambda E, x: x.roll(1, 1), lambda x: np.roll(x, 1, 1), ALL, _SH, differentiable=True)
_op("cat", lambda E, x: E.cat([x, x * 2 if x.dtype != E.bool else x], 1),
    lambda x: np.concatenate([x, x * 2 if x.dtype != np.bool_ else x], 1), ALL, _SH, differentiable=True)
_op("stack", lambda E, x: E.stack([x, x], 0), lambda x: np.stack([x, x]), ALL, _SH, differentiable=True)
_op("tril", lambda E, x: x.tril(), lambda x: np.tril(x), FLOATS + INTS[:1], _SH, differentiable=True)
_op("tile", lambda E, x: x.tile((2, 1)), lambda x: np.tile(x, (2, 1)), ALL, _SH, differentiable=True)
_op("masked_fill", lambda E, x: x.masked_fill(x > 0, 0), lambda x: np.where(x > 0, 0, x).astype(x.dtype),
    FLOATS + INTS[:2], _SH, differentiable=True)
_op("gather", lambda E, x, d, i: E.gather(x, d, E.tensor(i, device=x.device)), _gather_ref, FLOATS + INTS[:2],
    lambda dt, rng: _idx(dt, rng, "gather"), differentiable=True)
_op("scatter_add", lambda E, x, d, i, s: x.scatter_add(d, E.tensor(i, device=x.device), s),
    lambda x, d, i, s: _scatter_ref(x, d, i, s, add=True), FLOATS + INTS[:2],
    lambda dt, rng: _idx(dt, rng, "scatter_add"), differentiable=True)
_op("index_select", lambda E, x, d, i: E.index_select(x, d, E.tensor(i, device=x.device)),
    lambda x, d, i: np.take(x, i, axis=d), FLOATS + INTS[:2], _index_select_samples, differentiable=True)
_op("nonzero", lambda E, x: E.nonzero(x), lambda x: np.argwhere(x), ALL, _nonzero_samples, out=_I64)
_op("matmul", lambda E, a, b: a @ b, np.matmul, FLOATS + INTS[:1], _matmul_samples, differentiable=True,
    tol_scale=10)
_op("einsum", lambda E, a, b: E.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b), FLOATS,
    lambda dt, rng: [Sample("2d", (values(rng, (3, 4), dt), values(rng, (4, 2), dt)))], differentiable=True,
    tol_scale=10)
_op("to-dtype", lambda E, x: x.to(E.float32).to(x.dtype) if x.dtype.is_floating_point else x.long(),
    lambda x: x if x.dtype.kind == "f" else x.astype(np.int64),  # float32 rounding is within tolerance
    FLOATS + INTS, _SH, out=lambda dt: dt if dt in FLOATS else "int64", differentiable=True, tol_scale=10)

OP_TABLE: dict[str, OpEntry] = O
