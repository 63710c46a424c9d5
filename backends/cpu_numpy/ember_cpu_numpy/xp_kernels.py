"""Kernels written once over a NumPy-style array module, shared by the cpu and cuda backends.

``ember_cpu_numpy`` runs them on NumPy; ``ember_cuda_cupy`` (which declares a dependency on this
distribution) runs the same code on CuPy, whose API mirrors NumPy's. Each factory takes the array
module ``xp`` and returns plain closures with ``xp`` and every option bound once, when the table is
built, so a kernel call costs exactly what the hand-written NumPy function cost before: no
per-call lookup of the array module, no extra wrapper.

The places where the two libraries, or the two backends, differ are keyword options of the
factories, never tests of ``xp`` inside a kernel:

* ``erf``, ``erfc``: the elementwise implementations (NumPy has none: :func:`numpy_erf` is
  :mod:`ember_cpu_numpy.erf`, :func:`numpy_erfc` goes through ``math``; CuPy has ``cupyx.scipy.special``).
* ``add_at``: unbuffered scatter-add (``numpy.add.at``; the cuda backend's atomics, which need
  a C-ordered destination: ``add_at_order``).
* ``argsort_kind``: CuPy's argsort is always stable and accepts no ``kind``.
* ``weak_scalars``: NumPy 2 never lets a Python scalar change an array's dtype (NEP 50), so
  ``maximum(x, 0)`` keeps ``x``'s dtype; with False the scalar is cast to ``x``'s type first.
* ``add_rows``: ``add_rows(out, rows, values) -> bool``, a backend's own scatter-add of whole rows
  tried first by ``index_put`` with accumulate (the cpu backend's numba loop, ``numba_nn.add_rows``).
* ``branchless_where``: large ``where`` selections as four bitwise passes (a CPU's branch
  predictor loses on random masks; a GPU does not branch).
* ``widen_half``: float16 softmax accumulates in float32 inside the kernel (the cpu backend
  never sees float16 here: ``ember_cpu_numpy.lowp`` computes it in float32 around every kernel).
* ``cholesky_raises``: ``numpy.linalg.cholesky`` raises on a matrix that is not positive
  definite; cuSOLVER does not, so the factor's diagonal is checked instead.
* ``quiet``: a context that silences floating-point warnings where a kernel needs one (NumPy's
  ``errstate``; CuPy never warns). Elementwise kernels need none: NumPy's floating-point warnings
  raised from this package are filtered once, below.

Kernels that are fast only when written for one library stay in that backend (the cpu
backend's im2col convolution, pooling and cache-blocked random numbers; the cuda backend's fused
``ElementwiseKernel``s, which it tries before falling back on these, and its generated
optimizer-step and relu-backward kernels, which leave these to its NumPy stand-in).

Example:
    >>> import numpy as np
    >>> k = make_kernels(np)
    >>> k["add"](np.ones(2, np.float32), 1.0)
    array([2., 2.], dtype=float32)
    >>> k["sort"](np.array([3, 1, 2]), 0, True)[0]
    array([3, 2, 1])
"""

from __future__ import annotations

import contextlib
import inspect
import math
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np

from ember_cpu_numpy.erf import erf as _erf_pieces

__all__ = ["make_kernels", "elementwise_kernels", "nn_kernels", "optim_kernels", "linalg_kernels",
           "special_kernels", "numpy_erf", "numpy_erfc"]

Kernels = dict[str, Callable[..., Any]]

# PyTorch computes inf and NaN without a word (0 * inf, inf - inf, overflow); NumPy warns. An
# errstate block around every kernel would cost ~1.5 us per op, so NumPy's floating-point warnings
# raised from this package's modules are filtered once instead (other code's warnings are untouched).
warnings.filterwarnings("ignore", message=r"(overflow|invalid value|divide by zero|underflow) encountered",
                        category=RuntimeWarning, module=r"ember_cpu_numpy(\.|$)")


def numpy_erf(x: np.ndarray) -> np.ndarray:
    """erf on NumPy: whole-array polynomial pieces (:mod:`ember_cpu_numpy.erf`), 2 ulp."""
    return _erf_pieces(x).astype(x.dtype, copy=False) if x.size else x.copy()


def numpy_erfc(x: np.ndarray) -> np.ndarray:
    """erfc on NumPy through ``math.erfc``: full precision in the tail, where 1 - erf(x) cancels."""
    return np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()


def _errstate_for(xp: ModuleType) -> Callable[[], Any]:
    errstate = getattr(xp, "errstate", None)
    if errstate is None:  # CuPy: kernels never warn
        return contextlib.nullcontext
    return lambda: errstate(all="ignore")


def make_kernels(xp: ModuleType, **options: Any) -> Kernels:
    """Every shared kernel on ``xp``: the union of the family factories below.

    ``options`` are those of the factories (each takes the ones it knows).
    """
    options.setdefault("quiet", _errstate_for(xp))
    factories = (elementwise_kernels, nn_kernels, optim_kernels, linalg_kernels, special_kernels)
    accepted = [set(inspect.signature(f).parameters) - {"xp"} for f in factories]
    unknown = set(options) - set().union(*accepted)
    if unknown:
        raise TypeError(f"make_kernels() got unexpected options {sorted(unknown)}")
    table: Kernels = {}
    for factory, names in zip(factories, accepted):
        table.update(factory(xp, **{k: v for k, v in options.items() if k in names}))
    return table


# ---- elementwise, reductions, movement, indexing ---------------------------------------------------
def add_rows_at(xp: ModuleType, out, index, values, add_at: Callable, add_rows: Callable | None = None) -> None:
    """``add_at(out, index, values)`` for a 1-D row index, in rounds of distinct rows.

    Round ``k`` adds every row's ``k``-th occurrence with one fancy-indexed ``+=``, so each row
    still sums its values in index order (the same result as ``numpy.add.at``, which walks the
    index one element at a time and is 3x slower for an embedding's (640, 64) gradient). Indices
    that repeat too often for that to pay go to ``add_at``.
    """
    if add_rows is not None and add_rows(out, index, values):  # the backend's own loop, where it applies
        return
    n = index.shape[0]
    vals = xp.broadcast_to(values, (n,) + tuple(out.shape[1:]))
    index = xp.where(index < 0, index + out.shape[0], index)  # -1 and len - 1 are one row
    order = xp.argsort(index, kind="stable")
    sorted_idx = index[order]
    first = xp.ones(n, dtype=bool)
    first[1:] = sorted_idx[1:] != sorted_idx[:-1]
    starts = xp.flatnonzero(first)
    rank = xp.arange(n) - xp.repeat(starts, xp.diff(xp.append(starts, n)))  # occurrence number
    rounds = int(rank.max()) + 1
    if rounds * 512 > n * (vals.size // n):  # one round costs about as much as add_at on 512 elements
        add_at(out, index, values)
        return
    for k in range(rounds):
        sel = order[rank == k]
        out[index[sel]] += vals[sel]


def elementwise_kernels(xp: ModuleType, *, add_at: Callable | None = None, add_at_order: str = "K",
                        argsort_kind: str | None = "stable", weak_scalars: bool = True,
                        branchless_where: bool = False, erf: Callable = numpy_erf,
                        add_rows: Callable | None = None) -> Kernels:
    """The contract's pointwise, reduction, scan, sort, movement and index kernels on ``xp``."""
    ndarray, asarray, int64 = xp.ndarray, xp.asarray, xp.int64
    rows_in_rounds = add_at is None  # NumPy's own add.at (a backend's atomics keep theirs)
    add_at = add_at or xp.add.at
    sort_kw = {"kind": argsort_kind} if argsort_kind else {}

    # Ufuncs return scalars for 0-d NumPy inputs; tensors must always hold arrays.
    def unary(fn: Callable) -> Callable:
        def kernel(x):
            out = fn(x)
            return out if type(out) is ndarray else asarray(out)

        kernel.__name__ = fn.__name__
        return kernel

    def compare(fn: Callable) -> Callable:
        def kernel(a, b):
            out = fn(a, b)
            return out if type(out) is ndarray else asarray(out)

        kernel.__name__ = fn.__name__
        return kernel

    def keep_dtype(fn: Callable) -> Callable:
        """A binary kernel whose result dtype follows the array operand (not the scalar rules)."""

        def kernel(a, b):
            out = fn(a, b)
            if type(out) is ndarray and type(a) is ndarray and out.dtype is a.dtype:
                return out  # the usual case, decided without dtype equality (~0.3 us per call)
            if type(out) is not ndarray:
                out = asarray(out)
            ref = a if isinstance(a, ndarray) else b
            return out if out.dtype == ref.dtype else out.astype(ref.dtype)

        kernel.__name__ = fn.__name__
        return kernel

    def first_on_tie(fn: Callable) -> Callable:
        """PyTorch's maximum/minimum return the first operand on a tie (-0.0 against 0.0); NumPy's
        return the second. Both propagate a NaN from either side, so swapping the operands is all."""

        def kernel(a, b):
            return fn(b, a)

        kernel.__name__ = fn.__name__
        return kernel

    def rsqrt(x):
        out = 1 / xp.sqrt(x)
        return out if type(out) is ndarray else asarray(out)

    def sigmoid(x):
        if x.dtype.kind == "c":  # PyTorch's complex form: 1 / (1 + exp(0 - z)), C99's exp, complex division
            one = x.dtype.type(1)
            return asarray(one / (one + xp.exp(0 - x)))
        # e = exp(-|x|) never overflows; 1/(1+e) and e/(1+e) keep full relative precision on both sides.
        # (-|x| spelled min(x, -x): a NaN input keeps its sign bit, as in exp(x))
        e = xp.exp(xp.minimum(x, -x))
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def erf_kernel(x):
        out = erf(x)
        return (out if type(out) is ndarray else asarray(out)).astype(x.dtype, copy=False)

    def neg(x):
        out = xp.negative(x)  # bool operands are refused by the frontend (ember.functions.elementwise.Neg)
        return out if type(out) is ndarray else asarray(out)

    def abs_(x):
        if x.dtype == bool:  # relu/abs/sign of a bool array are the array itself
            return x.copy()
        out = xp.abs(x)
        return out if type(out) is ndarray else asarray(out)

    def sign(x):
        if x.dtype == bool:
            return x.copy()
        out = asarray(xp.sign(x))
        if out.dtype.kind == "f":  # PyTorch's sign(NaN) is 0 (NumPy's and CuPy's are NaN)
            xp.copyto(out, 0, where=xp.isnan(out))
        return out

    zeros: dict = {}  # dtype -> a 0-d zero of it (NumPy only: CuPy's would belong to one device)

    def relu(x):
        if x.dtype == bool:
            return x.copy()
        # zero first: NumPy's maximum returns its second operand on a tie, so relu(-0.0) keeps -0.0
        # (PyTorch). A 0-d zero of x's dtype: a Python 0 costs NumPy ~0.25 us more to convert per call.
        if weak_scalars:
            zero = zeros.get(x.dtype)
            if zero is None:
                zero = zeros[x.dtype] = xp.zeros((), x.dtype)
        else:
            zero = x.dtype.type(0)
        out = xp.maximum(zero, x)
        return out if type(out) is ndarray else asarray(out)

    select = _select if branchless_where else None

    def where(cond, a, b):
        ref = a if isinstance(a, ndarray) else b
        if select is not None and isinstance(ref, ndarray) and ref.size >= 4096 and ref.itemsize in _UINT:
            # (complex128's 16-byte elements have no unsigned integer to select their bits with)
            return select(cond, a, b, ref.dtype)
        out = xp.where(cond, a, b)
        if isinstance(ref, ndarray) and out.dtype != ref.dtype:
            out = out.astype(ref.dtype)
        return out

    def clamp(x, lo, hi):
        out = x
        if lo is not None:
            out = xp.maximum(x.dtype.type(lo), out)  # ties keep x (-0.0 against a 0 bound), as PyTorch
        if hi is not None:
            out = xp.minimum(x.dtype.type(hi), out)
        if out is x:
            return x.copy()
        return out if type(out) is ndarray else asarray(out)

    # ---- reductions ------------------------------------------------------------------------
    def reduce(fn: Callable) -> Callable:
        def kernel(x, dims, keepdim):
            out = fn(x, axis=dims, keepdims=keepdim)
            return out if type(out) is ndarray else asarray(out)

        kernel.__name__ = fn.__name__
        return kernel

    def sum_(x, dims, keepdim):
        out = xp.sum(x, axis=dims, keepdims=keepdim, dtype=x.dtype)
        return out if type(out) is ndarray else asarray(out)

    def prod(x, dims, keepdim):
        out = xp.prod(x, axis=dims, keepdims=keepdim, dtype=x.dtype)
        return out if type(out) is ndarray else asarray(out)

    def arg(fn: Callable) -> Callable:
        def kernel(x, dim, keepdim):
            if dim is None:
                out = asarray(fn(x.reshape(-1))).astype(int64, copy=False)
                return out.reshape((1,) * x.ndim) if keepdim else out
            out = fn(x, axis=dim)
            out = (out if type(out) is ndarray else asarray(out)).astype(int64, copy=False)
            return xp.expand_dims(out, dim) if keepdim else out

        kernel.__name__ = fn.__name__
        return kernel

    # PyTorch's CPU scans carry float32 (complex64) running totals in double (its acc_type): 100,000
    # additions of 0.1 end at 10000.0 there, at 9998.557 in a float32 running total. Its CUDA scans
    # accumulate in float, so only NumPy widens.
    wide_scan = {np.dtype(np.float32): np.float64, np.dtype(np.complex64): np.complex128} if xp is np else {}

    def scan(fn: Callable) -> Callable:
        def kernel(x, dim):
            acc = wide_scan.get(x.dtype)
            if acc is not None:
                return fn(x, axis=dim, dtype=acc).astype(x.dtype)
            return fn(x, axis=dim, dtype=x.dtype)

        kernel.__name__ = fn.__name__
        return kernel

    def sort(x, dim, descending):
        if not descending:
            idx = xp.argsort(x, axis=dim, **sort_kw)  # NaN sorts last, as in PyTorch
        else:
            # Stable descending order with NaN first (PyTorch: NaN is the largest): the stable ascending
            # order of the reversed axis, reversed back. Negating instead would sort NaN last and wrap
            # int64's minimum.
            rev = xp.argsort(xp.flip(x, dim), axis=dim, **sort_kw)
            idx = (x.shape[dim] - 1) - xp.flip(rev, dim)
        return xp.take_along_axis(x, idx, dim), idx.astype(int64, copy=False)

    # ---- movement --------------------------------------------------------------------------
    def reshape(x, shape):
        return x.reshape(shape)

    def permute(x, dims):
        return x.transpose(dims)

    def expand(x, shape):
        return xp.broadcast_to(x, shape)

    def slice_(x, slices):
        return x[tuple(slice(a, b, c) for a, b, c in slices)]

    def flip(x, dims):
        return xp.flip(x, dims)

    def pad(x, pads, value):
        return xp.pad(x, pads, mode="constant", constant_values=value)

    def cat(xs, dim):
        return xp.concatenate(xs, axis=dim)

    def clone(x):
        return xp.array(x, copy=True, order="C")

    def is_contiguous(x):
        return bool(x.flags.c_contiguous)

    def strides(x):
        """Strides in elements (the array's own are in bytes)."""
        n = x.itemsize
        return tuple(s // n for s in x.strides)

    # ---- indexing --------------------------------------------------------------------------
    # The frontend checks every index once, for every backend (dtype, shapes, bounds), so these
    # kernels take them as valid (core/ember/kernels.py).
    def gather(x, dim, index):
        if x.ndim == 0:
            return x.reshape(1)[index.reshape(-1)].reshape(index.shape)
        src = x[tuple(slice(0, index.shape[d]) if d != dim else slice(None) for d in range(x.ndim))]
        return xp.take_along_axis(src, index, dim)

    def scatter_coords(dim, index):
        """Open-grid coordinates of every index element, with the ``dim`` coordinate from ``index``."""
        nd = index.ndim
        coords = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (nd - d - 1)) for d, n in enumerate(index.shape)]
        coords[dim] = index
        return tuple(coords)

    def src_values(src, index):
        return src[tuple(slice(0, s) for s in index.shape)] if isinstance(src, ndarray) else src

    def scatter(x, dim, index, src):
        out = xp.array(x, copy=True)  # kernels never modify their inputs
        if index.size == 0:
            return out
        out[scatter_coords(dim, index)] = src_values(src, index)
        return out

    def scatter_add(x, dim, index, src):
        out = xp.array(x, copy=True, order=add_at_order)
        if index.size == 0:
            return out
        vals = src_values(src, index)
        if isinstance(vals, ndarray):
            vals = xp.broadcast_to(vals, index.shape)
        add_at(out, scatter_coords(dim, index), vals)
        return out

    def index_select(x, dim, index):
        return xp.take(x, index, axis=dim)

    def index_put(x, index, values, accumulate):
        out = xp.array(x, copy=True, order=add_at_order)
        rows = index[0] if isinstance(index, tuple) and len(index) == 1 else index
        if (accumulate and rows_in_rounds and isinstance(rows, ndarray) and rows.ndim == 1 and rows.size > 0
                and rows.dtype.kind in "iu" and out.ndim >= 1):
            add_rows_at(xp, out, rows, values, add_at, add_rows)
        elif accumulate:
            add_at(out, index, values)
        else:
            out[index] = values
        return out

    def nonzero(x):
        return xp.argwhere(x).astype(int64, copy=False)

    power = keep_dtype(xp.power)

    def pow_(a, b):
        """C's pow, but a complex base with the exponents PyTorch's CPU pow kernel specializes takes
        its forms: -1 is the reciprocal ``1 / z``, 0.5 sqrt, -0.5 ``1 / sqrt(z)``, -2 ``1 / (z z)``
        (C's cpow would give NaN at 0 and at infinities where those give inf or 0)."""
        if type(b) is complex and type(a) is ndarray and a.dtype.kind == "c" and b.imag == 0 and b.real in (
                -1.0, -2.0, 0.5, -0.5):
            one, e = a.dtype.type(1), b.real
            if e == 0.5:
                return asarray(xp.sqrt(a))
            if e == -0.5:
                return asarray(one / xp.sqrt(a))
            if e == -1.0:
                return asarray(one / a)
            re, im = a.real, a.imag  # z * z without a fused multiply-add, as PyTorch's complex product
            sq = xp.empty_like(a)
            sq.real, sq.imag = re * re - im * im, re * im + im * re
            return asarray(one / sq)
        return power(a, b)

    unary_ufuncs = {name: unary(getattr(xp, name)) for name in (
        "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tanh", "floor", "ceil", "round", "trunc",
        "logical_not", "isnan")}
    binary = {"add": xp.add, "sub": xp.subtract, "mul": xp.multiply, "div": xp.true_divide,
              "floor_divide": xp.floor_divide, "remainder": xp.remainder, "maximum": first_on_tie(xp.maximum),
              "minimum": first_on_tie(xp.minimum), "atan2": xp.arctan2, "bitwise_and": xp.bitwise_and,
              "bitwise_or": xp.bitwise_or, "bitwise_xor": xp.bitwise_xor}
    comparisons = {"eq": xp.equal, "ne": xp.not_equal, "lt": xp.less, "le": xp.less_equal, "gt": xp.greater,
                   "ge": xp.greater_equal, "logical_and": xp.logical_and, "logical_or": xp.logical_or,
                   "logical_xor": xp.logical_xor}
    return {
        **unary_ufuncs, "rsqrt": rsqrt, "sigmoid": sigmoid, "erf": erf_kernel, "neg": neg, "abs": abs_,
        "sign": sign, "relu": relu,
        **{name: keep_dtype(fn) for name, fn in binary.items()},
        "pow": pow_,
        **{name: compare(fn) for name, fn in comparisons.items()},
        "where": where, "clamp": clamp,
        "sum": sum_, "prod": prod, "amax": reduce(xp.max), "amin": reduce(xp.min), "any": reduce(xp.any),
        "all": reduce(xp.all), "argmax": arg(xp.argmax), "argmin": arg(xp.argmin),
        "cumsum": scan(xp.cumsum), "cumprod": scan(xp.cumprod), "sort": sort,
        "reshape": reshape, "permute": permute, "expand": expand, "slice": slice_, "flip": flip, "pad": pad,
        "cat": cat, "clone": clone, "is_contiguous": is_contiguous, "strides": strides,
        "gather": gather, "scatter": scatter, "scatter_add": scatter_add, "index_select": index_select,
        "index_put": index_put, "nonzero": nonzero,
    }


_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def _select(cond, a, b, dtype):
    """NumPy's ``where`` without branches: (a & m) | (b & ~m) on the bit patterns, m all-ones where cond.

    np.where branches per element, which costs ~4 ns an element on a random mask (a ReLU
    backward); these bitwise passes cost ~0.3 ns and select NaN payloads and -0.0 exactly.
    """
    u = _UINT[dtype.itemsize]
    a = np.asarray(a, dtype).view(u)
    b = np.asarray(b, dtype).view(u)
    cond = np.asarray(cond)
    shape = np.broadcast_shapes(cond.shape, a.shape, b.shape)
    # the masks at the condition's own shape, often much smaller than the result (a causal mask
    # against (batch, heads, T, T) scores): two passes over the result instead of six
    mask = np.empty(cond.shape, u)
    np.copyto(mask, cond, casting="unsafe")  # 0 / 1
    np.negative(mask, out=mask)  # 0 / all ones
    out = np.bitwise_and(b, np.invert(mask), out=np.empty(shape, u))
    out |= np.bitwise_and(a, mask)
    return out.view(dtype)


# ---- nn ----------------------------------------------------------------------------------------
def _relu_backward_bits(grad, out):
    """NumPy's ``where(out <= 0, 0, grad)`` for float32/float64 as three branch-free passes: the
    comparison written straight into unsigned integers (1 where zeroed), minus 1 (0 where zeroed,
    all ones where kept), AND the gradient's bit pattern. ``np.where`` branches per element (~4 ns
    each on a ReLU's random mask), this costs ~0.5 ns. Bit for bit the same: a NaN output passes
    its gradient, and an inf/NaN gradient where out <= 0 gives 0 (``grad * (out > 0)`` gives NaN)."""
    u = _UINT[grad.itemsize]
    bits = np.empty(grad.shape, u)
    np.less_equal(out, 0, out=bits, casting="unsafe")
    bits -= 1
    bits &= grad.view(u)
    return bits.view(grad.dtype)


# GELU's constants, as PyTorch spells them: M_SQRT1_2, M_2_SQRTPI * M_SQRT1_2 * 0.5 (1/sqrt(2 pi)),
# M_SQRT2 * M_2_SQRTPI * 0.5 (sqrt(2/pi)) and the tanh form's cubic coefficient
_SQRT1_2 = math.sqrt(0.5)
_GELU_ALPHA = 2 / math.sqrt(math.pi) * math.sqrt(0.5) * 0.5
_GELU_BETA = math.sqrt(2) * 2 / math.sqrt(math.pi) * 0.5
_GELU_KAPPA = 0.044715


def nn_kernels(xp: ModuleType, *, widen_half: bool = False, branchless_where: bool = False,
               erf: Callable = numpy_erf) -> Kernels:
    """softmax, log_softmax, relu's backward and gelu on ``xp`` (``branchless_where``: NumPy only,
    see :func:`_relu_backward_bits`)."""
    float16, float32 = xp.float16, xp.float32

    def _tanh_inner(x):
        """sqrt(2/pi) * (x + 0.044715 * x^3) and x^2, in PyTorch's order."""
        x_sq = x * x
        inner = x_sq * x
        inner *= _GELU_KAPPA
        inner += x
        inner *= _GELU_BETA
        return inner, x_sq

    def on_1d(fn: Callable) -> Callable:
        """Run ``fn`` on 0-d operands as 1-element arrays (NumPy's ufuncs return scalars for 0-d
        inputs, which the in-place steps cannot write into)."""

        def kernel(*args):
            if args[-2].ndim:
                return fn(*args)
            return fn(*(a.reshape(1) for a in args[:-1]), args[-1]).reshape(())

        kernel.__name__ = fn.__name__
        return kernel

    @on_1d
    def gelu(x, approximate):
        # one pass each, in place, in the order of PyTorch's CPU kernel (GeluKernelImpl)
        if approximate == "tanh":
            right = xp.tanh(_tanh_inner(x)[0])
        else:
            right = erf(x * _SQRT1_2)
        right += 1
        left = x * 0.5 if approximate != "tanh" else 0.5 * x
        right *= left
        return right

    @on_1d
    def gelu_backward(grad, x, approximate):
        if approximate == "tanh":
            inner, x_sq = _tanh_inner(x)
            t = xp.tanh(inner)
            # 0.5 * (1 + t) + (0.5 * x) * (1 - t^2) * (sqrt(2/pi) * (1 + 3 * 0.044715 * x^2))
            x_sq *= 3 * _GELU_KAPPA
            x_sq += 1
            x_sq *= _GELU_BETA
            right = 1 - t * t
            right *= 0.5 * x
            right *= x_sq
            t += 1
            t *= 0.5
            t += right
            t *= grad
            return t
        cdf = erf(x * _SQRT1_2)
        cdf += 1
        cdf *= 0.5
        pdf = x * x
        pdf *= -0.5
        pdf = xp.exp(pdf, out=pdf)
        pdf *= _GELU_ALPHA
        pdf *= x
        cdf += pdf
        cdf *= grad
        return cdf

    def softmax(x, dim):
        acc = x.astype(float32) if widen_half and x.dtype == float16 else x  # half accumulates in float
        e = xp.exp(acc - acc.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e if e.dtype == x.dtype else e.astype(x.dtype)

    def log_softmax(x, dim):
        acc = x.astype(float32) if widen_half and x.dtype == float16 else x
        shifted = acc - acc.max(axis=dim, keepdims=True)
        shifted -= xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        return shifted if shifted.dtype == x.dtype else shifted.astype(x.dtype)

    def relu_backward(grad, out):
        if (branchless_where and grad.size >= 4096 and grad.itemsize in (4, 8) and grad.dtype.kind == "f"
                and out.dtype == grad.dtype and out.shape == grad.shape):
            return _relu_backward_bits(grad, out)
        # `out <= 0` is False for NaN, so a NaN output passes its gradient (PyTorch's threshold_backward)
        return xp.where(out <= 0, grad.dtype.type(0), grad)

    def layer_norm(x, ndim, weight, bias, eps):
        n = math.prod(x.shape[x.ndim - ndim:])
        rows = x.reshape(-1, n)
        acc = rows.astype(float32) if widen_half and x.dtype == float16 else rows
        mean = acc.mean(axis=1, keepdims=True)
        out = acc - mean
        var = xp.multiply(out, out).mean(axis=1, keepdims=True)  # two passes: no cancellation
        var += eps
        rstd = xp.sqrt(var, out=var)
        xp.reciprocal(rstd, out=rstd)
        out *= rstd
        if weight is not None:
            out *= weight.reshape(-1)
        if bias is not None:
            out += bias.reshape(-1)
        stats = x.shape[:x.ndim - ndim] + (1,) * ndim
        return (out.reshape(x.shape).astype(x.dtype, copy=False), mean.reshape(stats).astype(x.dtype, copy=False),
                rstd.reshape(stats).astype(x.dtype, copy=False))

    def layer_norm_backward(grad, x, mean, rstd, weight, ndim, needs):
        inner = x.shape[x.ndim - ndim:]
        n = math.prod(inner)
        g = grad.reshape(-1, n)
        xhat = x.reshape(-1, n) - mean.reshape(-1, 1)
        r = rstd.reshape(-1, 1)
        xhat *= r
        gx = gw = gb = None
        if needs[1]:
            gw = xp.multiply(g, xhat).sum(axis=0).reshape(inner)
        if needs[2]:
            gb = g.sum(axis=0).reshape(inner)
        if needs[0]:
            dy = g * weight.reshape(-1) if weight is not None else g
            b = xp.multiply(dy, xhat).mean(axis=1, keepdims=True)
            xhat *= b  # xhat * mean(dy * xhat)
            gx = dy - dy.mean(axis=1, keepdims=True)
            gx -= xhat
            gx *= r
            gx = gx.reshape(x.shape)
        return gx, gw, gb

    return {"softmax": softmax, "log_softmax": log_softmax, "relu_backward": relu_backward, "gelu": gelu,
            "gelu_backward": gelu_backward, "layer_norm": layer_norm, "layer_norm_backward": layer_norm_backward}


# ---- optimizer steps -----------------------------------------------------------------------------
def optim_kernels(xp: ModuleType) -> Kernels:
    """Fused Adam/AdamW and SGD steps as array operations on ``xp``.

    Each kernel updates the parameter and its optimizer state in place with ``out=`` ufuncs and
    one scratch array, in the operation order of PyTorch's single-tensor Adam/AdamW and SGD,
    instead of the ~13 allocating kernel calls per parameter of the frontend's composite. (On a
    GPU the cuda backend runs one generated CUDA kernel per step instead; these run there only
    on its NumPy stand-in.)
    """

    # float16 and bfloat16: PyTorch's single-tensor steps compute each op in float32 and round its
    # result to 16 bits (NumPy's 16-bit ufuncs would round the Python scalars 0.9, 1 - beta2 to 16
    # bits instead). So the 16-bit steps run on float32 copies, rounded where each PyTorch op ends;
    # an ``add(..., alpha=a)`` rounds ``a`` to 16 bits first, as PyTorch's 16-bit add kernel.
    def _low(a):
        return a.itemsize == 2 and a.dtype.kind in "fV"  # float16, or ml_dtypes' bfloat16

    def _rounder(low):
        def rnd(a):  # (an array: a 0-d parameter's arithmetic gives NumPy scalars)
            return xp.asarray(a, xp.float32).astype(low).astype(xp.float32)

        def alpha(a):
            return a if a == 1 else float(xp.asarray(a, xp.float32).astype(low).astype(xp.float32))

        return rnd, alpha

    def _adam_low(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                  amsgrad, maximize, decoupled):
        low, f32 = param.dtype, xp.float32
        rnd, al = _rounder(low)
        p, m, v = param.astype(f32), exp_avg.astype(f32), exp_avg_sq.astype(f32)
        g = grad.astype(f32)
        if maximize:
            g = -g
        if weight_decay != 0:
            if decoupled:
                p = rnd(p * (1 - lr * weight_decay))  # param.mul_(1 - lr * weight_decay)
            else:
                g = rnd(g + al(weight_decay) * p)  # grad.add(param, alpha=weight_decay)
        w = 1 - beta1  # exp_avg.lerp_(g, 1 - beta1), torch's two-sided formula, one rounding
        m = rnd(m + w * (g - m) if w < 0.5 else g - (g - m) * (1 - w))
        v = rnd(v * beta2)  # exp_avg_sq.mul_(beta2)
        v = rnd(v + (1 - beta2) * g * g)  # .addcmul_(g, g, value=1 - beta2)
        second = v
        if amsgrad:
            mx = rnd(xp.maximum(max_exp_avg_sq.astype(f32), v))
            max_exp_avg_sq[...] = mx.astype(low)
            second = mx
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        denom = rnd(rnd(rnd(xp.sqrt(second)) / bias_correction2_sqrt) + eps)
        p = p + (-(lr / bias_correction1)) * m / denom  # param.addcdiv_(exp_avg, denom, value=-step_size)
        param[...] = p.astype(low)
        exp_avg[...] = m.astype(low)
        exp_avg_sq[...] = v.astype(low)

    def _sgd_low(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
        low, f32 = param.dtype, xp.float32
        rnd, al = _rounder(low)
        p = param.astype(f32)
        d = grad.astype(f32)
        if maximize:
            d = -d
        if weight_decay != 0:
            d = rnd(d + al(weight_decay) * p)  # d_p.add(param, alpha=weight_decay)
        if momentum != 0:
            if first:
                buf = d.copy()
            else:
                buf = rnd(momentum_buffer.astype(f32) * momentum)  # buf.mul_(momentum)
                buf = rnd(buf + al(1 - dampening) * d)  # .add_(d_p, alpha=1 - dampening)
            momentum_buffer[...] = buf.astype(low)
            d = rnd(d + al(momentum) * buf) if nesterov else buf
        param[...] = (p + al(-lr) * d).astype(low)  # param.add_(d_p, alpha=-lr)

    def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay,
                  amsgrad, maximize, decoupled):
        if _low(param):
            return _adam_low(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps,
                             weight_decay, amsgrad, maximize, decoupled)
        g = xp.negative(grad) if maximize else grad
        if weight_decay != 0:
            if decoupled:
                param *= 1 - lr * weight_decay
            else:
                t = xp.multiply(param, weight_decay)
                t += g  # grad.add(param, alpha=weight_decay)
                g = t
        tmp = xp.empty_like(param)
        # exp_avg.lerp_(g, 1 - beta1), with torch's two-sided lerp formula
        w = 1 - beta1
        xp.subtract(g, exp_avg, out=tmp)
        if w < 0.5:
            tmp *= w
            exp_avg += tmp
        else:
            tmp *= 1 - w
            xp.subtract(g, tmp, out=exp_avg)
        # exp_avg_sq.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        exp_avg_sq *= beta2
        xp.multiply(g, 1 - beta2, out=tmp)
        tmp *= g
        exp_avg_sq += tmp
        second = exp_avg_sq
        if amsgrad:
            xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            second = max_exp_avg_sq
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = math.sqrt(1 - beta2 ** step)
        # denom = second.sqrt() / bias_correction2_sqrt + eps; param.addcdiv_(exp_avg, denom, value=-step_size)
        xp.sqrt(second, out=tmp)
        tmp /= bias_correction2_sqrt
        tmp += eps
        xp.divide(exp_avg, tmp, out=tmp)
        tmp *= -(lr / bias_correction1)
        param += tmp

    def sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
        if _low(param):
            return _sgd_low(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov,
                            maximize, first)
        d = xp.negative(grad) if maximize else grad
        if weight_decay != 0:
            t = xp.multiply(param, weight_decay)
            t += d  # d_p.add(param, alpha=weight_decay)
            d = t
        if momentum != 0:
            buf = momentum_buffer
            if first:
                xp.copyto(buf, d)
            else:
                buf *= momentum
                buf += d if dampening == 0 else xp.multiply(d, 1 - dampening)
            if nesterov:
                t = xp.multiply(buf, momentum)
                t += d  # d_p.add(buf, alpha=momentum)
                d = t
            else:
                d = buf
        param += xp.multiply(d, -lr)  # param.add_(d_p, alpha=-lr)

    return {"adam_step": adam_step, "sgd_step": sgd_step}


# ---- linear algebra ----------------------------------------------------------------------------
def linalg_kernels(xp: ModuleType, *, cholesky_raises: bool = True, quiet: Callable | None = None) -> Kernels:
    """The linalg family on ``xp.linalg``, batched over leading axes.

    NumPy and CuPy have no LU factorisation and no triangular solve: those two are short
    vectorised loops over the n columns (each step is one batched expression), as LAPACK's getf2
    and trsv. A failed Cholesky's info (getrf-style: the first non-positive minor) comes from the
    same kind of loop, run only on the failing path.
    """
    quiet = quiet or _errstate_for(xp)
    int32 = xp.int32

    def cholesky_loop(a):
        """Cholesky-Banachiewicz over the columns, with getrf-style info."""
        n = a.shape[-1]
        L = xp.zeros_like(a)
        info = xp.zeros(a.shape[:-2], int32)
        with quiet():
            for j in range(n):
                row = L[..., j, :j]
                # the pivot a_jj - sum |l_jk|^2 is real (zpotrf reads a_jj's real part)
                d = a[..., j, j].real - xp.sum((row * row.conj()).real, axis=-1)
                info = xp.where((info == 0) & ~(d > 0), j + 1, info).astype(int32)
                ljj = xp.sqrt(d)
                L[..., j, j] = ljj
                below = a[..., j + 1:, j] - xp.einsum("...ik,...k->...i", L[..., j + 1:, :j], row.conj())
                L[..., j + 1:, j] = below / ljj[..., None]
        return L, info

    def cholesky(a):
        try:
            L = xp.linalg.cholesky(a)
        except np.linalg.LinAlgError:
            return cholesky_loop(a)
        if not cholesky_raises and not bool((xp.diagonal(L, 0, -2, -1) > 0).all()):
            return cholesky_loop(a)  # cuSOLVER does not raise: find the minor
        return L, xp.zeros(a.shape[:-2], int32)

    def triangular_solve(a, b, upper, left, unitriangular):
        if not left:  # X A = B  <=>  A^T X^T = B^T
            return xp.swapaxes(triangular_solve(xp.swapaxes(a, -1, -2), xp.swapaxes(b, -1, -2), not upper, True,
                                                unitriangular), -1, -2)
        n = a.shape[-1]
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        x = xp.zeros(batch + b.shape[-2:], xp.result_type(a, b))
        order = range(n - 1, -1, -1) if upper else range(n)
        with quiet():
            for i in order:
                done = slice(i + 1, n) if upper else slice(0, i)
                rhs = b[..., i, :] - xp.einsum("...j,...jk->...k", a[..., i, done], x[..., done, :])
                x[..., i, :] = rhs if unitriangular else rhs / a[..., i, i, None]
        return x

    def lu_factor(a):
        batch, n = a.shape[:-2], a.shape[-1]
        w = xp.array(a, copy=True).reshape((-1, n, n))
        rows = xp.arange(w.shape[0])
        piv = xp.zeros((w.shape[0], n), int32)
        info = xp.zeros(w.shape[0], int32)
        with quiet():
            for k in range(n):
                col = w[:, k:, k]
                # LAPACK's i?amax: |re| + |im| for complex (izamax), |x| for real
                mag = xp.abs(col.real) + xp.abs(col.imag) if col.dtype.kind == "c" else xp.abs(col)
                p = k + xp.argmax(mag, axis=-1)
                piv[:, k] = p + 1
                row_k, row_p = w[rows, k].copy(), w[rows, p].copy()
                w[rows, k], w[rows, p] = row_p, row_k
                pivot = w[:, k, k]
                zero = pivot == 0
                info = xp.where((info == 0) & zero, k + 1, info).astype(int32)
                # a zero pivot means its column below is zero too: getrf leaves it unscaled
                f = w[:, k + 1:, k] / xp.where(zero, 1, pivot)[:, None]
                w[:, k + 1:, k] = f
                w[:, k + 1:, k + 1:] -= f[:, :, None] * w[:, k, None, k + 1:]
        return w.reshape(a.shape), piv.reshape(batch + (n,)), info.reshape(batch)

    def qr(a, mode):
        if mode == "r":
            return None, xp.linalg.qr(a, mode="r")
        q, r = xp.linalg.qr(a, mode=mode)
        return q, r

    def eigh(a, upper):
        w, v = xp.linalg.eigh(a, UPLO="U" if upper else "L")
        return w, v

    def svd(a, full_matrices):
        u, s, vh = xp.linalg.svd(a, full_matrices=full_matrices)
        return u, s, vh

    def eig(a):
        # LAPACK geev (unit-norm eigenvectors); NumPy returns real arrays when every eigenvalue is real
        ctype = np.complex64 if a.dtype in (np.float32, np.complex64) else np.complex128
        if hasattr(xp.linalg, "eig"):
            w, v = xp.linalg.eig(a)
        else:  # a CuPy without a general eigensolver: LAPACK on the host
            w, v = np.linalg.eig(a.get())
            w, v = xp.asarray(w), xp.asarray(v)
        return w.astype(ctype), v.astype(ctype)

    return {"cholesky": cholesky, "triangular_solve": triangular_solve, "lu_factor": lu_factor, "qr": qr,
            "eigh": eigh, "svd": svd, "eig": eig}


# ---- special functions -------------------------------------------------------------------------
# lgamma and digamma are vectorised approximations computed in float64 whatever the input dtype
# (then rounded back), accurate to ~1e-15 absolute near their zeros and ~1e-15 relative elsewhere;
# ``math.lgamma`` through ``np.vectorize`` would be as accurate but ~50x slower. Their poles and
# non-finite inputs follow PyTorch: lgamma is +inf at 0 and every negative integer and at +-inf;
# digamma(+-0) is -+inf, NaN at negative integers and at -inf (cupyx.scipy.special follows SciPy).

# Lanczos approximation, g = 7, n = 9 (the coefficients of Numerical Recipes / Wikipedia):
# Gamma(z + 1) = sqrt(2 pi) t^(z + 1/2) e^-t A(z), t = z + g + 1/2; relative error ~1e-15.
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6,
            1.5056327351493116e-7)
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
_EULER = 0.57721566490153286061
# digamma: PyTorch's calc_digamma (Cephes psi): recurrence up to x >= 10, then the asymptotic series.
_PSI_10 = 2.25175258906672110764
_PSI_A = (8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2)


def special_kernels(xp: ModuleType, *, erfc: Callable = numpy_erfc, quiet: Callable | None = None) -> Kernels:
    """The optional special functions on ``xp``: inverse trigonometric and hyperbolic functions,
    exp2, erfc, lgamma and digamma (floating inputs only: the frontend promotes integers)."""
    quiet = quiet or _errstate_for(xp)
    ndarray, asarray, float64 = xp.ndarray, xp.asarray, xp.float64

    def lgamma64(x):
        reflect = x < 0.5
        z = xp.where(reflect, 1.0 - x, x) - 1.0
        a = xp.full_like(z, _LANCZOS[0])
        for i, c in enumerate(_LANCZOS[1:], 1):
            a += c / (z + i)
        t = z + (_LANCZOS_G + 0.5)
        out = _HALF_LOG_2PI + (z + 0.5) * xp.log(t) - t + xp.log(a)
        # lgamma(x) = log(pi / |sin(pi x)|) - lgamma(1 - x); x - round(x) is exact, so sin(pi r)
        # keeps full relative precision next to the poles.
        r = x - xp.round(x)
        out = xp.where(reflect, math.log(math.pi) - xp.log(xp.abs(xp.sin(math.pi * r))) - out, out)
        out = xp.where(xp.abs(x) < 1e-10, -xp.log(xp.abs(x)) - _EULER * x, out)  # no subnormal sin
        out = xp.where(reflect & (r == 0), math.inf, out)  # the poles: 0 and the negative integers
        out = xp.where((x == 1) | (x == 2), 0.0, out)  # exact zeros, as PyTorch's
        return xp.where(xp.isinf(x), math.inf, out)

    def digamma64(x):
        neg = x < 0
        # psi(x) = psi(1 - x) - pi / tan(pi r), r the fractional part of x (more exact than pi x)
        refl = xp.where(neg, -math.pi / xp.tan(math.pi * (x - xp.trunc(x))), 0.0)
        y = xp.where(neg, 1.0 - x, x)
        acc = xp.zeros_like(y)
        for _ in range(10):
            small = y < 10
            acc -= xp.where(small, 1.0 / y, 0.0)
            y = xp.where(small, y + 1.0, y)
        z = 1.0 / (y * y)
        poly = xp.zeros_like(z)
        for c in _PSI_A:
            poly = poly * z + c
        series = xp.where(y < 1e17, z * poly, 0.0)
        out = acc + xp.where(y == 10, _PSI_10, xp.log(y) - 0.5 / y - series) + refl
        out = xp.where(neg & (x == xp.trunc(x)), math.nan, out)  # negative integers and -inf
        return xp.where(x == 0, xp.copysign(math.inf, -x), out)

    # NumPy's (and CuPy's) complex forms of these follow C99 Annex G, as PyTorch's std:: ones do
    complex_forms = frozenset(("asin", "acos", "atan", "asinh", "acosh", "atanh", "sinh", "cosh"))

    def kernel(name: str, fn: Callable, wide: bool = False) -> Callable:
        kinds = "fc" if name in complex_forms else "f"

        def run(x):
            if x.dtype.kind not in kinds:
                raise TypeError(f"{name} needs a floating array, got {x.dtype}")
            with quiet():
                out = fn(asarray(x, dtype=float64)) if wide else fn(x)
                return (out if type(out) is ndarray else asarray(out)).astype(x.dtype, copy=False)

        run.__name__ = name
        return run

    ufuncs = {"asin": xp.arcsin, "acos": xp.arccos, "atan": xp.arctan, "sinh": xp.sinh, "cosh": xp.cosh,
              "asinh": xp.arcsinh, "acosh": xp.arccosh, "atanh": xp.arctanh, "exp2": xp.exp2}
    return {**{name: kernel(name, fn) for name, fn in ufuncs.items()}, "erfc": kernel("erfc", erfc),
            "lgamma": kernel("lgamma", lgamma64, wide=True), "digamma": kernel("digamma", digamma64, wide=True)}
