"""The kernel contract: every kernel a backend may implement, with its signature and meaning.

This module is the single source of truth for kernel *names and semantics*. The conformance
suite's op table (``ember_conformance.optable``) holds the sample inputs and NumPy references
for the same names, and ``docs/kernel-contract.md`` is generated from both.

Conventions every kernel follows:

* ``x``, ``a``, ``b``... are the backend's own array objects. They must expose ``.shape``
  (a tuple of ints) and ``.ndim``. Views are allowed wherever NumPy would return one.
* ``dtype`` arguments are ember dtypes (``ember.float32``...); each backend maps them itself.
* ``index`` is the device index (``0`` for ``opencl:0``); creation kernels receive it.
* Binary elementwise kernels broadcast like NumPy. The frontend has already cast both
  operands to the result dtype; either operand (never both) may be a Python number instead.
* ``dims`` arguments are tuples of non-negative, sorted, unique axes; never empty.
* PyTorch's semantics are checked once, in the frontend, for every backend: a kernel is never given
  an integer zero divisor (``floor_divide``, ``remainder``), a bool operand of ``sub`` or ``neg``
  (PyTorch refuses both) or a conv/pool window larger than its padded input, and need not check.
* Kernels never modify their inputs, except ``copy_`` (which writes into ``dst``) and the
  optimizer kernels (``adam_step``, ``sgd_step``), which update a parameter and its optimizer
  state in place and return nothing.
* Random kernels implement one counter-based algorithm (see ``random_bits`` below) so a seed
  gives the same numbers on every backend.

Required kernels fall back to the CPU (under the fallback policy) when a backend lacks them,
except those marked ``native_only`` (``NATIVE_ONLY``): a fallback computes on copies, so a kernel
that returns a view, writes into an argument, describes the array's layout or moves data for the
fallback itself must be native, and dispatch raises ``ember.MissingKernelError`` instead.
Optional kernels are fast paths: when a backend lacks one, the frontend runs a composite made
of other kernels instead, on the device, with no fallback. For the kernels that other kernels
compose exactly (``KernelSpec.composite`` names the formula) the composite lives in
``ember._composites`` and the kernel table binds it on first lookup, so even code that calls the
kernel by name gets it; the required set is what is left: primitives and the runtime.

Example:
    >>> from ember.kernels import KERNELS
    >>> KERNELS["add"].signature
    'add(a, b) -> array'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["KernelSpec", "KERNELS", "REQUIRED", "OPTIONAL", "NATIVE_ONLY", "TRANSFER", "UNARY_FLOAT", "UNARY_ANY", "BINARY",
           "COMPARISON", "LOGICAL", "REDUCTIONS", "out_size"]


@dataclass(frozen=True)
class KernelSpec:
    name: str
    family: str
    signature: str
    doc: str
    required: bool = True
    #: why a CPU fallback (the kernel run on host copies of its inputs) would be wrong for this
    #: kernel, so a backend must implement it natively; "" when a fallback is correct.
    native_only: str = ""
    #: the on-device composite (``ember._composites``) that serves this optional kernel when a
    #: backend lacks it, as a formula of other kernels; "" when it has none there
    composite: str = ""


#: Why some kernels can never run as a CPU fallback. A fallback computes on copies: whatever the
#: kernel shares with or writes into its arguments would land in those copies and be lost.
_TRANSFER = "the CPU fallback itself moves data with it"
_VIEW = ("it returns a view sharing its input's memory; a copy made on the CPU would silently miss "
         "every later write through the view")
_WRITES = "it writes into its arguments; run on CPU copies of them, the write would be lost"
_LAYOUT = "it describes the device array's own layout; a CPU copy has a layout of its own"

_specs: list[KernelSpec] = []


#: Kernels that other kernels compose exactly (PyTorch's values, dtypes, NaN/inf/-0.0 and integer
#: behaviour): optional, because a backend that lacks one runs this composite on its device (the
#: first lookup binds it, see ``ember._composites``). Each formula is what ``_composites`` computes.
_COMPOSITE = {
    "rsqrt": "div(1, sqrt(x))",
    "sigmoid": "div(1, add(exp(neg(x)), 1))",
    "expm1": "Kahan's r = (u - 1) * x / log(u), u = exp(x), for |x| <= 1 (x where r is NaN); else u - 1",
    "log1p": "Goldberg's r = log(u) * x / (u - 1), u = 1 + x, for |x| <= 1 (x where r is NaN); else log(u)",
    "relu": "clamp(x, 0, None)",
    "sign": "(x > 0) - (x < 0) in x's dtype, from gt, lt, where, clamp, eq and sub",
    "ceil": "neg(floor(neg(x)))",
    "trunc": "where(lt(x, 0), ceil(x), floor(x))",
    "isnan": "ne(x, x)",
    "logical_not": "eq(x, 0)",
    "ne": "logical_not(eq(a, b))",
    "gt": "lt(b, a)",
    "le": "logical_or(lt(a, b), eq(a, b))",
    "ge": "le(b, a)",
    "logical_and": "where(ne(a, 0), ne(b, 0), False)",
    "logical_or": "where(ne(a, 0), True, ne(b, 0))",
    "logical_xor": "ne(ne(a, 0), ne(b, 0))",
    "minimum": "where(logical_or(lt(b, a), isnan(b)), b, a)",
    "clamp": "minimum(maximum(x, lo), hi)",
    "any": "ne(sum(astype(ne(x, 0), int64), dims, keepdim), 0)",
    "all": "eq(sum(astype(eq(x, 0), int64), dims, keepdim), 0)",
    "prod": "pairwise mul of the reduced axes (moved last, flattened), log2(n) rounds",
    "index_put": "scatter (or scatter_add) along axis 0 with index and values expanded",
    "argmin": "amin over dim of where(eq(x, amin(x)) or isnan(x), arange(n), n)",
    "cumprod": "log2(n) rounds of y = mul(pad(slice(y)), y)  (a Hillis-Steele scan)",
    "index_select": "gather(x, dim, expand(reshape(index)))",
    "flip": "index_select(x, d, n - 1 - arange(n)) for each d in dims",
}


def _k(name: str, family: str, signature: str, doc: str, required: bool = True, native_only: str = "") -> None:
    composite = _COMPOSITE.get(name, "")
    _specs.append(KernelSpec(name, family, signature, doc, required and not composite, native_only, composite))


# --- runtime -----------------------------------------------------------------------------
_k("from_host", "runtime", "from_host(host, index) -> array",
   "Copy a C-contiguous NumPy array (the host format) to device `index`.", native_only=_TRANSFER)
_k("to_host", "runtime", "to_host(x) -> numpy.ndarray",
   "Copy to a NumPy array, waiting for pending work. May share memory on host backends.",
   native_only=_TRANSFER)
_k("device_index", "runtime", "device_index(x) -> int", "The index of the device holding `x`.",
   native_only=_TRANSFER)
_k("empty", "runtime", "empty(shape, dtype, index) -> array", "Uninitialised array.")
_k("full", "runtime", "full(shape, value, dtype, index) -> array", "Array filled with `value`.")
_k("arange", "runtime", "arange(start, stop, step, dtype, index) -> array",
   "1-D `start + i*step` for i in range(ceil((stop-start)/step)).")
_k("astype", "runtime", "astype(x, dtype) -> array",
   "New array cast to `dtype` (float->int truncates toward zero; ->bool is `!= 0`).")
_k("clone", "runtime", "clone(x) -> array", "A new C-contiguous copy of `x`.")
_k("is_contiguous", "runtime", "is_contiguous(x) -> bool", "True when `x` is C-contiguous.",
   native_only=_LAYOUT)
_k("strides", "runtime", "strides(x) -> tuple[int, ...]",
   "The strides of `x` in elements (not bytes), one per axis: what `Tensor.view` needs to decide, as "
   "PyTorch does, whether a new shape can share the storage. Without it the frontend allows `view` "
   "only when `is_contiguous(x)` (or when no stride can matter).", False, native_only=_LAYOUT)
_k("storage_offset", "runtime", "storage_offset(x) -> int",
   "Where `x` starts in the memory it shares with its views, in elements of x's dtype (0 for a fresh "
   "array): what `Tensor.view(dtype)` needs for PyTorch's alignment rule. Without it the frontend "
   "refuses a view as a larger dtype.", False, native_only=_LAYOUT)
_k("storage_size", "runtime", "storage_size(x) -> int",
   "How many elements of x's dtype the memory `x` shares with its views holds (its root allocation): "
   "what `Tensor.as_strided` checks PyTorch's bounds against. A backend whose allocations are padded "
   "may report the padded size. Without it (or `as_strided`) the frontend allows `as_strided` only on "
   "a contiguous tensor that starts its storage, as a copy.", False, native_only=_LAYOUT)
_k("as_strided", "runtime", "as_strided(x, shape, strides, offset) -> array",
   "A view of the memory `x` shares with its views (the one `storage_offset` and `storage_size` "
   "describe) with `shape`, `strides` (elements, >= 0) and `offset` (elements from the start of that "
   "memory); the frontend has checked that every element lies inside it. Writes through it reach `x`.",
   False, native_only=_VIEW)
_k("copy_", "runtime", "copy_(dst, src) -> None",
   "Write `src` (array of dst's dtype or Python number, broadcast to dst.shape) into `dst` "
   "in place; `dst` may be a view and the write must reach its base.", native_only=_WRITES)

# --- random ------------------------------------------------------------------------------
_RANDOM_DOC = (
    "Element i (C order) uses counter c = offset + i and "
    "bits(c) = mix64(key + (c + 1) * 0x9E3779B97F4A7C15 mod 2**64), where mix64(z) is "
    "z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31 "
    "(all mod 2**64) and key = mix64(seed) is computed by the frontend. ")
_k("rand_uniform", "random", "rand_uniform(shape, key, offset, dtype, index) -> array",
   _RANDOM_DOC + "float64: (bits >> 11) * 2**-53; float32/float16: (bits >> 40) * 2**-24, cast.")
_k("rand_normal", "random", "rand_normal(shape, key, offset, dtype, index) -> array",
   _RANDOM_DOC + "Element i uses counters offset + 2i and offset + 2i + 1: u1 = ((bits1 >> 11) + 1) "
   "* 2**-53, u2 = (bits2 >> 11) * 2**-53, z = sqrt(-2 ln u1) cos(2 pi u2), computed in float64 "
   "where the device has it.")
_k("rand_int", "random", "rand_int(shape, low, high, key, offset, dtype, index) -> array",
   _RANDOM_DOC + "low + bits % (high - low).")

# --- elementwise ---------------------------------------------------------------------------
UNARY_FLOAT = ("exp", "log", "log1p", "expm1", "sqrt", "rsqrt", "sin", "cos", "tanh", "sigmoid",
               "erf")
UNARY_ANY = ("neg", "abs", "sign", "relu", "floor", "ceil", "round", "trunc")
for _n in UNARY_FLOAT:
    _k(_n, "unary", f"{_n}(x) -> array", f"Elementwise {_n} of a floating array, same dtype.")
_UNARY_ANY_DOC = {"round": " (round half to even).",
                  "sign": ": -1, 0 or 1 (0 for NaN, as PyTorch's); never given bool (the frontend returns a bool "
                          "input as it is)."}
for _n in UNARY_ANY:
    _k(_n, "unary", f"{_n}(x) -> array", f"Elementwise {_n}, same dtype" + _UNARY_ANY_DOC.get(_n, "."))
_k("logical_not", "unary", "logical_not(x) -> bool array", "`x == 0`.")
_k("isnan", "unary", "isnan(x) -> bool array", "True where x is NaN.")
# Optional special functions of a floating array (same dtype): without one, ember.functions.special
# composes it from the required kernels on the device. On a backend that stores complex dtypes,
# asin/acos/atan/asinh/acosh/atanh/sinh/cosh also take a complex array (C99 Annex G's values, as
# PyTorch's); without the kernel ember refuses complex input to the inverse functions with PyTorch's
# NotImplementedError (sinh/cosh compose from complex sin/cos).
_SPECIAL_DOC = {
    "asin": "Inverse sine; NaN outside [-1, 1].", "acos": "Inverse cosine; NaN outside [-1, 1].",
    "atan": "Inverse tangent.", "sinh": "Hyperbolic sine.", "cosh": "Hyperbolic cosine.",
    "asinh": "Inverse hyperbolic sine.", "acosh": "Inverse hyperbolic cosine; NaN below 1.",
    "atanh": "Inverse hyperbolic tangent; +-inf at +-1, NaN outside [-1, 1].", "exp2": "2 ** x.",
    "erfc": "1 - erf(x), accurate in the tail (no cancellation).",
    "lgamma": "log|Gamma(x)|; +inf at 0, at the negative integers and at +-inf.",
    "digamma": "Gamma'(x) / Gamma(x); -inf at +0, +inf at -0, NaN at the negative integers and -inf, "
               "+inf at +inf.",
}
for _n, _doc in _SPECIAL_DOC.items():
    _k(_n, "unary", f"{_n}(x) -> array", _doc, False)

BINARY = ("add", "sub", "mul", "div", "floor_divide", "remainder", "pow", "maximum", "minimum",
          "atan2")
_BINARY_DOC = {
    "div": "True division (floating operands).",
    "floor_divide": "Floor of a / b (Python `//`).",
    "remainder": "Python-style modulus: the result has the sign of b.",
    "maximum": "Elementwise max; NaN propagates.",
    "minimum": "Elementwise min; NaN propagates.",
}
for _n in BINARY:
    _k(_n, "binary", f"{_n}(a, b) -> array", _BINARY_DOC.get(_n, f"Elementwise {_n}, broadcasting."))
COMPARISON = ("eq", "ne", "lt", "le", "gt", "ge")
for _n in COMPARISON:
    _k(_n, "comparison", f"{_n}(a, b) -> bool array", f"Elementwise `{_n}` comparison, broadcasting.")
LOGICAL = ("logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_xor")
for _n in LOGICAL:
    _k(_n, "binary", f"{_n}(a, b) -> array",
       "Bool result." if _n.startswith("logical") else "Bitwise op on integer or bool arrays.")
_k("where", "ternary", "where(cond, a, b) -> array",
   "`a` where cond (bool) else `b`; all three broadcast; a or b may be a Python number.")
_k("clamp", "ternary", "clamp(x, lo, hi) -> array",
   "Clip to [lo, hi]; lo or hi may be None (no bound); Python numbers. A NaN element stays NaN and "
   "a NaN bound makes every element NaN (PyTorch's clamp).")

# --- reductions ----------------------------------------------------------------------------
REDUCTIONS = ("sum", "prod", "amax", "amin", "any", "all")
for _n in REDUCTIONS:
    _k(_n, "reduction", f"{_n}(x, dims, keepdim) -> array",
       f"Reduce over `dims` with {_n}" + ("; bool result." if _n in ("any", "all") else
                                           "; same dtype as x (the frontend casts ints first)."))
_k("argmax", "reduction", "argmax(x, dim, keepdim) -> int64 array",
   "Index of the first maximum along `dim` (int), or of the flattened array when dim is None.")
_k("argmin", "reduction", "argmin(x, dim, keepdim) -> int64 array", "As argmax, for the minimum.")
_k("cumsum", "scan", "cumsum(x, dim) -> array", "Inclusive prefix sum along `dim`.")
_k("cumprod", "scan", "cumprod(x, dim) -> array", "Inclusive prefix product along `dim`.")
_k("sort", "scan", "sort(x, dim, descending) -> (values, int64 indices)",
   "Stable sort along `dim`.")

# --- movement ------------------------------------------------------------------------------
_k("reshape", "movement", "reshape(x, shape) -> array",
   "Same elements in C order, new shape (all ints, no -1). A view when the strides allow it.",
   native_only=_VIEW)
_k("permute", "movement", "permute(x, dims) -> array", "Axes reordered; a view.", native_only=_VIEW)
_k("expand", "movement", "expand(x, shape) -> array",
   "Broadcast to `shape` (same ndim, size-1 axes grow); a view with zero strides.", native_only=_VIEW)
_k("slice", "movement", "slice(x, slices) -> array",
   "Basic slicing: `slices` is a tuple of (start, stop, step) per axis, already normalised "
   "(0 <= start, step > 0, stop clipped to the axis). A view.", native_only=_VIEW)
_k("bitcast", "movement", "bitcast(x, dtype) -> array",
   "The bytes of `x` read as `dtype` (no conversion): a view sharing x's memory. Same itemsize: same "
   "shape and strides. Otherwise, with r the ratio of the itemsizes, x has ndim >= 1 and a last axis of "
   "stride 1; the result's last axis holds r times more (smaller dtype) or r times fewer (larger dtype) "
   "elements, with stride 1, and the other strides and the offset are scaled by r. For a larger dtype "
   "the frontend has checked that x's last-axis length, other strides and storage offset are multiples "
   "of r. Without it `Tensor.view(dtype)` raises (a copy would miss writes through the view).", False,
   native_only=_VIEW)
_k("flip", "movement", "flip(x, dims) -> array", "Reverse the order along `dims`.")
_k("pad", "movement", "pad(x, pads, value) -> array",
   "Constant padding; `pads` is a tuple of (before, after) per axis, non-negative.")
_k("cat", "movement", "cat(xs, dim) -> array", "Concatenate arrays of one dtype along `dim`.")

# --- indexing ------------------------------------------------------------------------------
# The frontend checks every index once, for every backend (PyTorch's dtype, shape and bounds
# rules, with its errors), so these kernels receive int64 indices inside [0, size) only.
_k("gather", "indexing", "gather(x, dim, index) -> array",
   "out[i][j][k] = x[index[i][j][k]][j][k] (dim 0); index is int64 in [0, x.shape[dim]), same ndim as x, "
   "no larger than x off `dim`.")
_k("scatter", "indexing", "scatter(x, dim, index, src) -> array",
   "A copy of x with x[index[i][j]][j] = src[i][j] (dim 0); src an array of index's shape or a Python "
   "number; index as for gather.")
_k("scatter_add", "indexing", "scatter_add(x, dim, index, src) -> array",
   "A copy of x with src added at index along dim; duplicate indices accumulate.")
_k("index_select", "indexing", "index_select(x, dim, index) -> array",
   "Entries of x along `dim` picked by a 1-D int64 index in [0, x.shape[dim]).")
_k("index_put", "indexing", "index_put(x, index, values, accumulate) -> array",
   "A copy of x with x[index[i]] = values[i] along axis 0 (index 1-D int64 in [0, len(x)), values "
   "broadcast to (len(index),) + x.shape[1:]); with accumulate, duplicates add up.")
_k("nonzero", "indexing", "nonzero(x) -> int64 array (n, ndim)",
   "Coordinates of the non-zero elements, in C order.")

# --- linear algebra ------------------------------------------------------------------------
_k("matmul", "linalg", "matmul(a, b) -> array",
   "Batched matrix product of arrays with ndim >= 2; batch axes broadcast.")
# Optional decompositions (``ember.linalg``); without them the frontend runs on-device composites
# (partial-pivot LU, Cholesky-Banachiewicz, Householder QR, Jacobi eigh and one-sided Jacobi SVD).
# Every one is batched over the leading axes of (..., n, n) / (..., m, n) floating arrays; the
# frontend never calls them on zero-size arrays (it builds those results itself).
_k("cholesky", "linalg", "cholesky(a) -> (L, info)",
   "Lower Cholesky factor of each matrix, read from its lower triangle (the upper one is ignored); "
   "L is zero above the diagonal. info (int32, the batch shape) is 0, or the order k >= 1 of the "
   "first leading minor that is not positive-definite (then L is unspecified).", False)
_k("triangular_solve", "linalg", "triangular_solve(a, b, upper, left, unitriangular) -> array",
   "X with op(A) X = B (left) or X op(A) = B (not left), A (..., n, n) read from its upper or lower "
   "triangle only (its diagonal taken as 1 when unitriangular), B (..., n, k) or (..., k, n); batch "
   "axes broadcast. A zero on the diagonal gives inf/nan, never an error (as LAPACK's trsm).", False)
_k("lu_factor", "linalg", "lu_factor(a) -> (LU, pivots, info)",
   "LAPACK getrf with partial pivoting: LU (..., n, n) holds unit-lower L below the diagonal and U "
   "on and above it; pivots (int32, (..., n)) are 1-based: row i was swapped with row pivots[i] "
   "(in order i = 1..n); info (int32, batch shape) is 0, or the 1-based index of the first exactly "
   "zero pivot (elimination skips its column, as getrf does).", False)
_k("qr", "linalg", "qr(a, mode) -> (Q, R)",
   "Householder QR of (..., m, n) with LAPACK's signs (geqrf + orgqr). mode 'reduced': Q (..., m, k), "
   "R (..., k, n), k = min(m, n); 'complete': Q (..., m, m), R (..., m, n); 'r': Q is None.", False)
_k("eigh", "linalg", "eigh(a, upper) -> (w, V)",
   "Eigenvalues in ascending order (..., n) and orthonormal eigenvectors as columns (..., n, n) of "
   "the symmetric matrices read from their upper (upper=True) or lower triangle.", False)
_k("eig", "linalg", "eig(a) -> (w, V)",
   "Eigen-decomposition of general square matrices (..., n, n), float32/float64 (or complex), finite: "
   "eigenvalues w (..., n) and eigenvectors V (..., n, n) as unit-norm columns, both complex (complex64 "
   "for float32/complex64 input), in LAPACK geev's order and normalisation (NumPy's linalg.eig). No "
   "composite: ember.linalg.eig refuses on a backend without it.", False)
_k("svd", "linalg", "svd(a, full_matrices) -> (U, S, Vh)",
   "Singular value decomposition of (..., m, n), S descending (..., k), k = min(m, n); U (..., m, k) "
   "and Vh (..., k, n), or (..., m, m) and (..., n, n) with full_matrices.", False)

# Optional FFTs (``ember.fft``), PyTorch's aten _fft_c2c/_fft_r2c/_fft_c2r: unnormalised transforms
# scaled by `norm` ("none", "by_root_n": 1/sqrt(n), "by_n": 1/n, n the product of the transformed
# sizes) whatever the direction. Complex arrays are complex64/complex128 (a backend that stores no
# complex dtype needs none of them: ember.fft refuses there); without them the frontend runs DFT
# matrices through matmul on the device (ember.fft._composite).
_k("fft_c2c", "fft", "fft_c2c(x, dims, forward, norm) -> array",
   "Complex-to-complex DFT of complex x over `dims` (exp(-2 pi i jk/n) when forward, exp(+...) "
   "otherwise), scaled by `norm`; same shape and dtype as x. dims may be empty (a copy).", False)
_k("fft_r2c", "fft", "fft_r2c(x, dims, norm, onesided) -> array",
   "Forward DFT of real float32/float64 x over `dims`, scaled by `norm`, as complex64/complex128; "
   "with onesided the last of `dims` keeps its n // 2 + 1 non-negative frequencies.", False)
_k("fft_c2r", "fft", "fft_c2r(x, dims, norm, last_dim_size) -> array",
   "Inverse (exp(+...)) DFT of a Hermitian half-spectrum x (complex) over `dims`, scaled by `norm`: "
   "the last of `dims` has size last_dim_size // 2 + 1 in x and last_dim_size in the real result "
   "(float32/float64); the imaginary parts of its zero (and Nyquist) frequency are ignored.", False)

# --- optional fast kernels (composites exist in the frontend) -------------------------------
_k("conv2d", "nn", "conv2d(x, w, bias, stride, padding, dilation, groups) -> array",
   "NCHW cross-correlation; stride/padding/dilation are (h, w) pairs; bias may be None.", False)
_k("conv2d_backward", "nn",
   "conv2d_backward(grad, x, w, stride, padding, dilation, groups, needs) -> (gx, gw, gb)",
   "Gradients of conv2d; `needs` is a (bool, bool, bool) triple; unneeded ones are None.", False)
_k("max_pool2d", "nn", "max_pool2d(x, kernel, stride, padding, dilation, ceil_mode) -> (out, idx)",
   "NCHW max pooling; idx holds flat h*W+w positions in the input plane (int64): each window's first "
   "maximum in (row, column) order, or its last NaN when it holds NaNs (PyTorch's rule).", False)
_k("max_pool2d_backward", "nn", "max_pool2d_backward(grad, idx, input_shape) -> array",
   "Scatter-add `grad` into a zero array of input_shape at `idx`.", False)
_k("avg_pool2d", "nn",
   "avg_pool2d(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) -> array",
   "NCHW average pooling with PyTorch's semantics.", False)
_k("avg_pool2d_backward", "nn",
   "avg_pool2d_backward(grad, input_shape, kernel, stride, padding, ceil_mode, count_include_pad, "
   "divisor_override) -> array", "Gradient of avg_pool2d.", False)
_k("softmax", "nn", "softmax(x, dim) -> array", "Numerically stable softmax along dim.", False)
_k("log_softmax", "nn", "log_softmax(x, dim) -> array", "Stable log-softmax along dim.", False)
_k("softmax_backward", "nn", "softmax_backward(grad, out, dim) -> array",
   "Gradient of softmax along dim from its output: out * (grad - sum(grad * out, dim, keepdim)). grad and "
   "out have one shape (at least 1-D) and dtype.", False)
_k("log_softmax_backward", "nn", "log_softmax_backward(grad, out, dim) -> array",
   "Gradient of log_softmax along dim from its output: grad - exp(out) * sum(grad, dim, keepdim). grad and "
   "out have one shape (at least 1-D) and dtype.", False)
_k("relu_backward", "nn", "relu_backward(grad, out) -> array",
   "Gradient of relu from its output: 0 where out <= 0, else grad (a NaN output passes grad, as "
   "PyTorch's threshold_backward does). grad and out have the same shape and dtype.", False)
_k("layer_norm", "nn", "layer_norm(x, normalized_ndim, weight, bias, eps) -> (out, mean, rstd)",
   "Layer norm over the last normalized_ndim dims of floating x (each row of those dims on its own): "
   "mean, rstd = 1 / sqrt(var + eps) with the biased variance, out = (x - mean) * rstd, times weight and "
   "plus bias when given (arrays of the normalized dims' shape, x's dtype, or None). mean and rstd have "
   "x's shape with the normalized dims set to 1; all three in x's dtype.", False)
_k("layer_norm_backward", "nn",
   "layer_norm_backward(grad, x, mean, rstd, weight, normalized_ndim, needs) -> (gx, gw, gb)",
   "Gradients of layer_norm from its saved mean and rstd, per row with xhat = (x - mean) * rstd and "
   "dy = grad * weight (grad without weight): gx = rstd * (dy - mean(dy) - xhat * mean(dy * xhat)), "
   "gw = sum over rows of grad * xhat, gb = sum over rows of grad (of the normalized dims' shape). "
   "`needs` is a (bool, bool, bool) triple; unneeded ones are None. grad and x have one shape and dtype.",
   False)
_k("gelu", "nn", "gelu(x, approximate) -> array",
   "GELU of floating x, PyTorch's formulas and operation order: approximate 'none' gives "
   "(x * 0.5) * (1 + erf(x * sqrt(1/2))), 'tanh' gives (0.5 * x) * (1 + tanh(sqrt(2/pi) * "
   "(x + 0.044715 * x^3))); same shape and dtype as x.", False)
_k("gelu_backward", "nn", "gelu_backward(grad, x, approximate) -> array",
   "Gradient of gelu: grad * d gelu(x)/dx, i.e. grad * (cdf + x * pdf) with cdf = 0.5 * (1 + erf(x / "
   "sqrt(2))), pdf = exp(-x^2 / 2) / sqrt(2 pi) for 'none'; for 'tanh', with t = tanh(inner): "
   "grad * (0.5 * (1 + t) + 0.5 * x * (1 - t^2) * sqrt(2/pi) * (1 + 3 * 0.044715 * x^2)). grad and x "
   "have the same shape and dtype.", False)
_k("cross_entropy", "nn",
   "cross_entropy(x, target, weight, ignore_index, reduction) -> (loss, lse, w, w_sum, n_invalid)",
   "log_softmax + NLL of class indices in one pass, PyTorch's formulas: x (N, C) floating, target (N,) "
   "int64, weight (C,) of x's dtype or None, reduction 'none' | 'sum' | 'mean'. Per row i: "
   "lse[i] = log(sum_j exp(x[i, j])) (stable); w[i] = 0 if target[i] == ignore_index else weight[target[i]] "
   "(1 without weight); loss_i = -w[i] * (x[i, target[i]] - lse[i]) (0 where ignored). loss is the (N,) "
   "loss_i for 'none', their sum for 'sum', sum / w_sum for 'mean' (0-d); w_sum = sum(w) (0-d); "
   "n_invalid (0-d int64) counts targets that are neither ignore_index nor in [0, C): when it is not 0 "
   "the other outputs are unspecified (the frontend raises IndexError). N, C >= 1.", False)
_k("cross_entropy_backward", "nn",
   "cross_entropy_backward(grad, x, target, lse, w, w_sum, reduction) -> array",
   "Gradient of cross_entropy w.r.t. x, from its saved lse, w and w_sum: (exp(x[i, j] - lse[i]) - "
   "[j == target[i]]) * w[i] * g_i, where g_i = grad[i] for 'none' (grad (N,)), grad for 'sum' and "
   "grad / w_sum for 'mean' (grad 0-d). Result (N, C) in x's dtype.", False)
_k("lstm_cell", "nn", "lstm_cell(gates, c) -> (h, c_new, acts)",
   "One LSTM cell from its pre-activations: `gates` (..., 4H) holds the i, f, g, o blocks (all biases "
   "added), `c` (..., H) the previous cell state. i, f, o = sigmoid, g = tanh; c_new = f*c + i*g; "
   "h = o*tanh(c_new); `acts` (..., 5H) = [i, f, g, o, tanh(c_new)] for the backward.", False)
_k("lstm_cell_backward", "nn", "lstm_cell_backward(dh, dc, acts, c) -> (dgates, dc_prev)",
   "Gradients of lstm_cell w.r.t. `gates` and `c` given those of h (`dh`) and c_new (`dc`), from its "
   "`acts` and the previous cell state `c`: dct = dc + dh*o*(1-tanh(c_new)^2); dgates = [dct*g*i*(1-i), "
   "dct*c*f*(1-f), dct*i*(1-g^2), dh*tanh(c_new)*o*(1-o)]; dc_prev = dct*f.", False)
_k("lstm_layer", "nn", "lstm_layer(xproj, h0, c0, w_hh, bias) -> (out, h_n, c_n, acts, c_prev)",
   "A whole LSTM layer, every direction, without projection or masks: `xproj` (T, B, D, 4H) is the input "
   "projection (without bias), `h0`, `c0` (D, B, H), `w_hh` (D, 4H, H), `bias` (D, 4H) (bias_ih + bias_hh) "
   "or None, D = 1 or 2. Direction d runs its steps s = 0..T-1 at time t = s (d = 0) or t = T-1-s (d = 1): "
   "gates = h @ w_hh[d]^T + xproj[t, :, d] + bias[d], then lstm_cell's arithmetic. `out` (T, B, D*H) holds h of direction d at time t in "
   "out[t, :, d*H:(d+1)*H]; h_n, c_n (D, B, H) the last states; `acts` (T, D, B, 5H) and `c_prev` "
   "(T, D, B, H), in step order, are lstm_cell's acts and the cell state entering each step (for "
   "lstm_layer_backward). A backend implementing it must implement lstm_layer_backward too.", False)
_k("lstm_layer_backward", "nn",
   "lstm_layer_backward(dout, dh_n, dc_n, acts, c_prev, h0, w_hh) -> (dxproj, dh0, dc0, dw_hh, dbias)",
   "Gradients of lstm_layer from its saved `acts`, `c_prev` and its `h0`, `w_hh`, given those of out "
   "(`dout` (T, B, D*H)), h_n and c_n (`dh_n`, `dc_n` (D, B, H)); each of the three may be None (zero). "
   "Steps run in reverse, each as lstm_cell_backward with dh = dout at the step's time + the gradient "
   "from the next step (dgates @ w_hh[d]). dxproj (T, B, D, 4H) is the gates' gradient at each time; "
   "dh0, dc0 (D, B, H); dw_hh[d] (4H, H) = sum over steps of dgates^T @ the h entering the step (h0[d] "
   "for the first, else o * tanh(c) of the step before, from `acts`: the layer's output may have been "
   "changed in place since); dbias (D, 4H) = dxproj summed over T and B (the bias's gradient).", False)

# --- optional fused optimizer steps (the frontend's composite: one kernel call per formula term) --
_k("adam_step", "optim",
   "adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, "
   "weight_decay, amsgrad, maximize, decoupled) -> None",
   "One Adam/AdamW update, in place, with PyTorch's formula: g = -grad if maximize else grad; "
   "if weight_decay: param *= 1 - lr*weight_decay when decoupled (AdamW), else g += weight_decay*param; "
   "exp_avg += (1-beta1)*(g - exp_avg); exp_avg_sq = beta2*exp_avg_sq + (1-beta2)*g*g; with amsgrad "
   "max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq) is used in place of exp_avg_sq below (else "
   "max_exp_avg_sq is None); denom = sqrt(exp_avg_sq)/sqrt(1-beta2**step) + eps; "
   "param -= lr/(1-beta1**step) * exp_avg/denom. `step` (already incremented) and the "
   "hyper-parameters are Python numbers; `grad` has param's dtype and shape and is not modified.",
   False, native_only=_WRITES)
_k("adam_step_device", "optim",
   "adam_step_device(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, step, lr, beta1, beta2, eps, "
   "weight_decay, amsgrad, maximize, decoupled) -> None",
   "adam_step with the step count on the device (PyTorch's capturable=True): `step` is a 0-d float32 "
   "array of param's device holding the steps taken so far; the kernel adds 1 to it in place, then "
   "updates as adam_step with the new count. What ember.compile's captured training steps replay: a "
   "host number would be frozen into the graph at capture.",
   False, native_only=_WRITES)
_k("sgd_step", "optim",
   "sgd_step(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov, maximize, "
   "first) -> None",
   "One SGD update, in place, with PyTorch's formula: g = -grad if maximize else grad; if weight_decay: "
   "g += weight_decay*param; if momentum: momentum_buffer = g when `first` (its old contents are "
   "ignored) else momentum*momentum_buffer + (1-dampening)*g, and g = g + momentum*momentum_buffer "
   "if nesterov else momentum_buffer (momentum_buffer is None when momentum is 0); param -= lr*g.",
   False, native_only=_WRITES)



def out_size(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool = False) -> int:
    """Output length of a conv/pool window sweep (PyTorch's rule), for the nn kernels' shapes:
    input length ``n``, kernel ``k``, stride ``s``, padding ``p``, dilation ``d``. In ceil mode a
    last window that would start inside the right padding is dropped.

    >>> out_size(28, 5, 1, 2, 1), out_size(5, 2, 2, 0, 1, ceil_mode=True)
    (28, 3)
    """
    span = n + 2 * p - d * (k - 1) - 1
    if ceil_mode:
        o = -(-span // s) + 1
        if (o - 1) * s >= n + p:
            o -= 1
        return o
    return span // s + 1


KERNELS: dict[str, KernelSpec] = {s.name: s for s in _specs}
REQUIRED: frozenset[str] = frozenset(s.name for s in _specs if s.required)
OPTIONAL: frozenset[str] = frozenset(s.name for s in _specs if not s.required)
#: kernels that never fall back to the CPU (see ``KernelSpec.native_only``)
NATIVE_ONLY: frozenset[str] = frozenset(s.name for s in _specs if s.native_only)
#: kernels the CPU fallback itself calls: a backend lacking one of them cannot run anything
TRANSFER: frozenset[str] = frozenset(s.name for s in _specs if s.native_only == _TRANSFER)
del _n
