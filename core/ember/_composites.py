"""On-device composites of the optional kernels that other kernels express exactly.

A backend that lacks one of these kernels still runs it on its device: the first lookup of the
name in its kernel table (``dispatch.KernelTable.__missing__``) finds the composite here and binds
it to that table, once; every later call is a plain dict hit, and no call site changes. A composite
calls the table's other kernels (native ones, or composites in turn), never the CPU: under the
fallback policy ``"error"`` it runs wherever its ingredients are native.

A composite receives the kernel's own arguments (see ``ember.kernels``) and nothing else, so it
cannot ask an array for its dtype: every constant it uses enters as a Python number operand of a
binary kernel or ``where`` (cast to the array operand's dtype by the kernel contract), and only
ones every dtype it may meet holds: 0 and 1 (bool and unsigned included), other numbers only into
int64 index arrays or, for ``minimum``, the caller's own float. Each one keeps PyTorch's results
for NaN, +-inf, -0.0, integer overflow and ties; the tests (tests/test_composite_kernels.py) check
them against PyTorch on backends with every one of these kernels removed. A kernel whose exact
composite would need the dtype stays required (``abs``: |NaN| must clear the sign bit, which no
dtype-blind formula can; ``amin``: negation reverses the order of neither unsigned nor bool).

Example:
    >>> from ember._composites import COMPOSITES
    >>> "sigmoid" in COMPOSITES and "add" not in COMPOSITES
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ember.dtypes import int64

__all__ = ["COMPOSITES", "bind"]

#: ``{kernel name: composite(kt, *kernel args)}``
COMPOSITES: dict[str, Callable[..., Any]] = {}


def _composite(fn: Callable[..., Any]) -> Callable[..., Any]:
    COMPOSITES[fn.__name__.lstrip("_")] = fn
    return fn


def bind(kt: Any, name: str) -> Callable[..., Any] | None:
    """The composite of kernel ``name`` bound to kernel table ``kt``, or None when there is none."""
    fn = COMPOSITES.get(name)
    if fn is None:
        return None

    def composite(*args: Any) -> Any:
        return fn(kt, *args)

    composite.__name__ = f"composite_{name}"
    return composite


def _is_array(v: Any) -> bool:
    return hasattr(v, "shape")


# ---- unary floating ----------------------------------------------------------------------------
@_composite
def rsqrt(kt, x):
    return kt["div"](1, kt["sqrt"](x))  # 1/-0.0 = -inf, as PyTorch's rsqrt(-0.0)


@_composite
def sigmoid(kt, x):
    # PyTorch's own formula (exp(-x) overflowing to inf gives exactly 0, as PyTorch does)
    return kt["div"](1, kt["add"](kt["exp"](kt["neg"](x)), 1))


@_composite
def expm1(kt, x):
    # Kahan: with u = exp(x) rounded, (u - 1) * x / log(u) cancels the rounding of u. It is 0/0 =
    # NaN exactly where u == 1 or x is NaN, and x itself is the answer there (-0.0 and the NaN's
    # sign kept). Beyond |x| > 1 plain u - 1 is accurate, and right at the extremes (inf, -1).
    u = kt["exp"](x)
    um1 = kt["sub"](u, 1)
    r = kt["div"](kt["mul"](um1, x), kt["log"](u))
    return kt["where"](kt["lt"](1, kt["abs"](x)), um1, kt["where"](kt["eq"](r, r), r, x))


@_composite
def log1p(kt, x):
    # Goldberg: with u = 1 + x rounded, log(u) * x / (u - 1) cancels the rounding of u; 0/0 = NaN
    # exactly where u == 1 or x is NaN, and x is the answer there. Beyond |x| > 1, 1 + x is exact
    # enough for log(u) directly (inf at inf, NaN below -1).
    u = kt["add"](x, 1)
    r = kt["div"](kt["mul"](kt["log"](u), x), kt["sub"](u, 1))
    return kt["where"](kt["lt"](1, kt["abs"](x)), kt["log"](u), kt["where"](kt["eq"](r, r), r, x))


# ---- unary, any dtype ----------------------------------------------------------------------------
@_composite
def relu(kt, x):
    return kt["clamp"](x, 0, None)  # NaN and -0.0 pass through, as PyTorch's relu


@_composite
def sign(kt, x):
    # PyTorch's (0 < x) - (x < 0) in x's dtype: the typed zero z is 0 where x is +-0 or NaN (and
    # the result there +0.0); never given bool (ember.functions.elementwise.sign returns it as is)
    c = kt["clamp"](x, 0, 0)
    z = kt["where"](kt["eq"](c, c), c, 0)
    return kt["sub"](kt["where"](kt["gt"](x, 0), 1, z), kt["where"](kt["lt"](x, 0), 1, z))


@_composite
def ceil(kt, x):
    return kt["neg"](kt["floor"](kt["neg"](x)))  # exact: IEEE negation is; ceil(-0.5) = -0.0


@_composite
def trunc(kt, x):
    return kt["where"](kt["lt"](x, 0), kt["ceil"](x), kt["floor"](x))


@_composite
def isnan(kt, x):
    return kt["ne"](x, x)


@_composite
def logical_not(kt, x):
    return kt["eq"](x, 0)  # NaN is true, -0.0 false


# ---- comparisons and logical ops -------------------------------------------------------------------
@_composite
def ne(kt, a, b):
    return kt["logical_not"](kt["eq"](a, b))  # NaN != NaN


@_composite
def gt(kt, a, b):
    return kt["lt"](b, a)


@_composite
def le(kt, a, b):
    return kt["logical_or"](kt["lt"](a, b), kt["eq"](a, b))  # false with a NaN, as lt and eq are


@_composite
def ge(kt, a, b):
    return kt["le"](b, a)


def _truth(kt, v):
    """``v != 0``: a bool array, or a Python bool for a number."""
    return kt["ne"](v, 0) if _is_array(v) else bool(v)


def _logical(kt, a, b, both: Callable, with_true: Callable, with_false: Callable):
    ta, tb = _truth(kt, a), _truth(kt, b)
    if isinstance(ta, bool):
        ta, tb = tb, ta
    if isinstance(tb, bool):  # one operand a number: the result depends on its truth alone
        return with_true(ta) if tb else with_false(ta)
    return both(ta, tb)


@_composite
def logical_and(kt, a, b):
    return _logical(kt, a, b, lambda p, q: kt["where"](p, q, False),
                    lambda p: p, lambda p: kt["ne"](p, p))


@_composite
def logical_or(kt, a, b):
    return _logical(kt, a, b, lambda p, q: kt["where"](p, True, q),
                    lambda p: kt["eq"](p, p), lambda p: p)


@_composite
def logical_xor(kt, a, b):
    return _logical(kt, a, b, lambda p, q: kt["ne"](p, q),
                    lambda p: kt["eq"](p, False), lambda p: p)


# ---- binary and ternary ----------------------------------------------------------------------------
@_composite
def minimum(kt, a, b):
    # b where b < a or b is NaN, else a: NaN propagates, and a tie (0.0 vs -0.0) gives a, as PyTorch's
    if not _is_array(b):
        if isinstance(b, float) and math.isnan(b):
            return kt["where"](kt["eq"](a, a), b, a)
        return kt["where"](kt["lt"](b, a), b, a)
    return kt["where"](kt["logical_or"](kt["lt"](b, a), kt["ne"](b, b)), b, a)


@_composite
def clamp(kt, x, lo, hi):
    # PyTorch's min(max(x, lo), hi): NaN stays NaN, lo > hi gives hi
    out = x if lo is None else kt["maximum"](x, lo)
    if hi is not None:
        out = kt["minimum"](out, hi)
    return kt["clone"](x) if out is x else out


# ---- reductions and scans ----------------------------------------------------------------------------
@_composite
def any(kt, x, dims, keepdim):  # noqa: A001
    # a count, so that an empty reduction gives False (a max over nothing has no value)
    count = kt["sum"](kt["astype"](kt["ne"](x, 0), int64), dims, keepdim)
    return kt["ne"](count, 0)


@_composite
def all(kt, x, dims, keepdim):  # noqa: A001
    count = kt["sum"](kt["astype"](kt["eq"](x, 0), int64), dims, keepdim)
    return kt["eq"](count, 0)


@_composite
def prod(kt, x, dims, keepdim):
    # the reduced axes moved last and flattened, then halved pairwise: log2(n) rounds of
    # mul(y[..., 0::2], y[..., 1::2]) (an odd length padded with 1; nothing to multiply gives 1)
    rest = tuple(d for d in range(x.ndim) if d not in dims)
    lead = tuple(x.shape[d] for d in rest)
    n = math.prod(x.shape[d] for d in dims)
    y = x if rest + tuple(dims) == tuple(range(x.ndim)) else kt["permute"](x, rest + tuple(dims))
    y = kt["reshape"](y, lead + (n,))
    keep = tuple((0, k, 1) for k in lead)
    one_more = ((0, 0),) * len(lead) + ((0, 1),)
    if n == 0:
        y, n = kt["pad"](y, one_more, 1), 1
    while n > 1:
        if n % 2:
            y = kt["pad"](y, one_more, 1)
            n += 1
        y = kt["mul"](kt["slice"](y, keep + ((0, n, 2),)), kt["slice"](y, keep + ((1, n, 2),)))
        n //= 2
    shape = tuple(1 if d in dims else k for d, k in enumerate(x.shape)) if keepdim else lead
    out = kt["reshape"](y, shape)
    return kt["clone"](out) if math.prod(x.shape[d] for d in dims) == 1 else out  # never x's own memory


@_composite
def argmin(kt, x, dim, keepdim):
    # the smallest index where x equals its minimum (or is NaN, when the minimum is NaN)
    if dim is None:
        flat = kt["argmin"](kt["reshape"](x, (math.prod(x.shape),)), 0, False)
        return kt["reshape"](flat, (1,) * x.ndim) if keepdim else flat
    n = x.shape[dim]
    m = kt["amin"](x, (dim,), True)
    hit = kt["logical_or"](kt["eq"](x, m), kt["ne"](x, x))
    idx = kt["reshape"](kt["arange"](0, n, 1, int64, kt["device_index"](x)),
                        tuple(n if d == dim else 1 for d in range(x.ndim)))
    return kt["amin"](kt["where"](hit, idx, n), (dim,), keepdim)


@_composite
def cumprod(kt, x, dim):
    # Hillis-Steele scan: log2(n) rounds of y *= (y shifted by s along dim, padded with 1)
    n = x.shape[dim]
    y, s = kt["clone"](x), 1
    while s < n:
        head = tuple((0, k - s if d == dim else k, 1) for d, k in enumerate(y.shape))
        pads = tuple((s, 0) if d == dim else (0, 0) for d in range(y.ndim))
        y = kt["mul"](kt["pad"](kt["slice"](y, head), pads, 1), y)  # earlier terms first, as a loop
        s *= 2
    return y


# ---- movement and indexing ----------------------------------------------------------------------------
@_composite
def index_select(kt, x, dim, index):
    k = index.shape[0]
    shape = tuple(k if d == dim else 1 for d in range(x.ndim))
    full = tuple(k if d == dim else n for d, n in enumerate(x.shape))
    return kt["gather"](x, dim, kt["expand"](kt["reshape"](index, shape), full))


@_composite
def flip(kt, x, dims):
    out = x
    for d in dims:
        n = x.shape[d]
        if n > 1:
            rev = kt["sub"](n - 1, kt["arange"](0, n, 1, int64, kt["device_index"](x)))
            out = kt["index_select"](out, d, rev)
    return kt["clone"](x) if out is x else out


@_composite
def index_put(kt, x, index, values, accumulate):
    # scatter(_add) along axis 0 with the index and the values broadcast to (len(index),) + x.shape[1:]
    shape = index.shape + tuple(x.shape[1:])
    if values.ndim < len(shape):
        values = kt["reshape"](values, (1,) * (len(shape) - values.ndim) + tuple(values.shape))
    index = kt["expand"](kt["reshape"](index, index.shape + (1,) * (x.ndim - 1)), shape)
    return kt["scatter_add" if accumulate else "scatter"](x, 0, index, kt["expand"](values, shape))
