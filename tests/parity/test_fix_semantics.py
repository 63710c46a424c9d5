"""PyTorch's semantics live in the frontend, once (issue #13 item 4).

Integer division by zero, bool arithmetic, reduction dims on 0-d tensors, repeated dims, bool
ranges, conv/pool geometry, binary_cross_entropy's range and the errors that used to be a backend's
(NumPy's) message: every case runs on PyTorch and on ember (every device) and must agree - the same
values, dtypes and gradients where PyTorch succeeds, the same exception type and message where it
raises. The checks are made in the frontend, so no backend can answer differently (OpenCL used to
return 0 for ``x // 0`` and xor for ``bool - bool``); the backend copies of them are gone.
"""

from __future__ import annotations

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import DEVICE, Arg, _run, _Side, check  # noqa: E402

F32, F64, I64 = np.float32, np.float64, np.int64


def A(values, dtype=F32, grad: bool = True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


def X(*shape: int) -> Arg:
    """A float input with distinct values that requires grad."""
    n = int(np.prod(shape))
    return Arg(np.array(np.arange(n, dtype=F32).reshape(shape) * 0.75 - 2.0, dtype=F32))


def ONES(*shape: int) -> Arg:
    return Arg(np.ones(shape, F32))


INT_DTYPES = (np.int64, np.int32, np.int16, np.int8, np.uint8)
DIVIDEND = [7, 6, 5, 100, 0]
DIVISOR_ZERO = [2, 3, 0, 7, 1]
DIVISOR = [2, 4, 3, 7, 1]
SIGNED_DIVIDEND = [-7, 7, -5, 5, 0, -1]
SIGNED_DIVISOR = [2, -2, -3, 3, -4, 4]
BOOLS = A([True, False, True], np.bool_)
BOOLS2 = A([True, True, False], np.bool_)

floordiv = lambda L, a, b: a // b  # noqa: E731
mod = lambda L, a, b: a % b  # noqa: E731
div_floor = lambda L, a, b: L.div(a, b, rounding_mode="floor")  # noqa: E731
div_trunc = lambda L, a, b: L.div(a, b, rounding_mode="trunc")  # noqa: E731
fmod = lambda L, a, b: L.fmod(a, b)  # noqa: E731
remainder = lambda L, a, b: L.remainder(a, b)  # noqa: E731
floor_divide = lambda L, a, b: L.floor_divide(a, b)  # noqa: E731
DIVISIONS = {"floordiv": floordiv, "mod": mod, "div_floor": div_floor, "div_trunc": div_trunc, "fmod": fmod,
             "remainder": remainder, "floor_divide": floor_divide}


def _division_cases() -> list:
    cases = []
    for name, fn in DIVISIONS.items():
        for dt in INT_DTYPES:
            tag = f"{name}-{np.dtype(dt).name}"
            cases += [
                (f"{tag}-ok", fn, (A(DIVIDEND, dt), A(DIVISOR, dt)), {}),
                (f"{tag}-zero-in-tensor", fn, (A(DIVIDEND, dt), A(DIVISOR_ZERO, dt)), {}),
                (f"{tag}-scalar-zero", fn, (A(DIVIDEND, dt), 0), {}),
            ]
        cases += [
            (f"{name}-signed", fn, (A(SIGNED_DIVIDEND, I64), A(SIGNED_DIVISOR, I64)), {}),
            (f"{name}-signed-int8", fn, (A(SIGNED_DIVIDEND, np.int8), A(SIGNED_DIVISOR, np.int8)), {}),
            (f"{name}-scalar-divisor", fn, (A(SIGNED_DIVIDEND, I64), -3), {}),
            (f"{name}-0d-zero", fn, (A(5, I64), A(0, I64)), {}),
            (f"{name}-broadcast-zero", fn, (A([[4], [9]], I64), A([1, 0, 2], I64)), {}),
            (f"{name}-bad-shapes-and-zero", fn, (A([4, 9], I64), A([1, 0, 2], I64)), {}),
            (f"{name}-empty-scalar-zero", fn, (A(np.zeros(0), I64), 0), {}),
            (f"{name}-empty-tensor-zero", fn, (A(np.zeros((0, 3)), I64), A([1, 0, 2], I64)), {}),
            (f"{name}-bool-bool", fn, (BOOLS, BOOLS2), {}),
            (f"{name}-bool-int-zero", fn, (BOOLS, 0), {}),
            (f"{name}-int-by-float-zero", fn, (A(DIVIDEND, I64), 0.0), {}),
            (f"{name}-float-by-zero", fn, (A([5.0, -3.0, 0.0], F32, grad=False), A([0.0, 0.0, 0.0], F32)), {}),
            (f"{name}-float", fn, (A([5.5, -3.25, 7.0]), A([2.0, 1.5, -2.5])), {}),
        ]
    # exact integer truncation above 2**24 (a float quotient would round these)
    big = [2 ** 40 + 1, -(2 ** 40) - 3, 16777217, -16777217]
    cases += [("div_trunc-large-int64", div_trunc, (A(big, I64), A([3, 3, 1, -2], I64)), {}),
              ("fmod-large-int64", fmod, (A(big, I64), A([3, 3, 5, -2], I64)), {}),
              ("true-div-int-zero", lambda L, a, b: a / b, (A(DIVIDEND, I64), A(DIVISOR_ZERO, I64)), {}),
              ("rdiv-floor-zero", lambda L, b: 5 // b, (A(DIVISOR_ZERO, I64),), {}),
              ("rmod-zero", lambda L, b: 5 % b, (A(DIVISOR_ZERO, I64),), {}),
              ("ifloordiv-zero", lambda L, a, b: a.clone().floor_divide_(b), (A(DIVIDEND, I64), A(DIVISOR_ZERO, I64)), {}),
              ("imod-zero", lambda L, a, b: a.clone().remainder_(b), (A(DIVIDEND, I64), 0), {}),
              ("div-bad-rounding-mode", lambda L, a, b: L.div(a, b, rounding_mode="bogus"), (X(3), X(3)), {})]
    return cases


sub = lambda L, a, b, **kw: L.sub(a, b, **kw)  # noqa: E731
add = lambda L, a, b, **kw: L.add(a, b, **kw)  # noqa: E731
BOOL_CASES = [
    ("bool-minus-bool", lambda L, a, b: a - b, (BOOLS, BOOLS2), {}),
    ("bool-minus-python-bool", lambda L, a: a - True, (BOOLS,), {}),
    ("python-bool-minus-bool", lambda L, a: True - a, (BOOLS,), {}),
    ("bool-minus-int", lambda L, a: a - 1, (BOOLS,), {}),
    ("int-minus-bool", lambda L, a: 5 - a, (BOOLS,), {}),
    ("int-tensor-minus-bool", lambda L, a, b: a - b, (A([1, 2, 3], np.int32), BOOLS), {}),
    ("int-tensor-minus-python-bool", lambda L, a: a - True, (A([1, 2, 3], I64),), {}),
    ("float-minus-bool", lambda L, a, b: a - b, (X(3), BOOLS), {}),
    ("bool-minus-float", lambda L, a: a - 1.5, (BOOLS,), {}),
    ("sub-bool-alpha", sub, (BOOLS, BOOLS2), {"alpha": 2}),
    ("sub-bool-0d", sub, (A(True, np.bool_), A(False, np.bool_)), {}),
    ("sub-bool-empty", sub, (A(np.zeros(0), np.bool_), A(np.zeros(0), np.bool_)), {}),
    ("sub_-bool", lambda L, a, b: a.clone().sub_(b), (BOOLS, BOOLS2), {}),
    ("isub-bool", lambda L, a, b: a.clone().__isub__(b), (BOOLS, BOOLS2), {}),
    ("neg-bool", lambda L, a: -a, (BOOLS,), {}),
    ("neg-fn-bool", lambda L, a: L.neg(a), (BOOLS,), {}),
    ("neg_-bool", lambda L, a: a.clone().neg_(), (BOOLS,), {}),
    ("abs-bool", lambda L, a: L.abs(a), (BOOLS,), {}),
    ("square-bool", lambda L, a: L.square(a), (BOOLS,), {}),
    ("bool-plus-bool", lambda L, a, b: a + b, (BOOLS, BOOLS2), {}),
    ("bool-times-bool", lambda L, a, b: a * b, (BOOLS, BOOLS2), {}),
    ("bool-xor-bool", lambda L, a, b: a ^ b, (BOOLS, BOOLS2), {}),
    ("add-bool-alpha-2", add, (BOOLS, BOOLS2), {"alpha": 2}),
    ("add-bool-alpha-0", add, (BOOLS, BOOLS2), {"alpha": 0}),
    ("add-bool-alpha-true", add, (BOOLS, BOOLS2), {"alpha": True}),
    ("add-int-alpha-float", add, (A([1, 2], I64), A([3, 4], I64)), {"alpha": 1.0}),
    ("add-int-alpha-bool", add, (A([1, 2], I64), A([3, 4], I64)), {"alpha": True}),
    ("add-int-scalar-alpha-float", add, (A([1, 2], I64), 1), {"alpha": 2.5}),
    ("add-int32-bool-alpha", add, (A([1, 2], np.int32), A([True, False], np.bool_)), {"alpha": 2}),
    ("add-int32-int8-alpha-widens", add, (A([1, 2], np.int32), A([100, 100], np.int8)), {"alpha": 2}),
    ("add-float-alpha", add, (X(3), X(3)), {"alpha": 0.5}),
    ("add-float-int-alpha", add, (X(3), A([1, 2, 3], I64)), {"alpha": 2}),
    ("add-float32-float64-alpha", add, (X(3), A([1, 2, 3], F64)), {"alpha": -2}),
    ("sub-float-alpha", sub, (X(2, 3), X(3)), {"alpha": 2}),
    ("sub-float-scalar-alpha", sub, (X(3), 1.5), {"alpha": 2}),
    ("add_-float-alpha", lambda L, a, b: (a * 1).add_(b, alpha=3), (X(3), X(3)), {}),
]

REDUCTIONS_0D = {
    "sum": lambda L, x, d: x.sum(d), "mean": lambda L, x, d: x.mean(d), "amax": lambda L, x, d: x.amax(d),
    "argmax": lambda L, x, d: x.argmax(d), "argmin": lambda L, x, d: x.argmin(d), "any": lambda L, x, d: x.any(d),
    "all": lambda L, x, d: x.all(d), "std": lambda L, x, d: x.std(d), "var": lambda L, x, d: x.var(d),
    "logsumexp": lambda L, x, d: x.logsumexp(d), "softmax": lambda L, x, d: x.softmax(d),
    "log_softmax": lambda L, x, d: x.log_softmax(d), "norm": lambda L, x, d: x.norm(dim=d),
    "count_nonzero": lambda L, x, d: L.count_nonzero(x, d), "max": lambda L, x, d: x.max(d),
    "prod": lambda L, x, d: x.prod(d), "cumsum": lambda L, x, d: x.cumsum(d),
    "std_mean": lambda L, x, d: L.std_mean(x, d), "var_mean": lambda L, x, d: L.var_mean(x, d),
}
REDUCTION_CASES = [(f"{name}-0d-dim{d}", fn, (A(1.5), d), {}) for name, fn in REDUCTIONS_0D.items()
                   for d in (0, -1, 1, -2)]
REDUCTION_CASES += [
    ("sum-0d-dims-tuple", lambda L, x: x.sum((0,)), (A(1.5),), {}),
    ("sum-0d-dims-repeated", lambda L, x: x.sum((0, -1)), (A(1.5),), {}),
    ("sum-dims-repeated", lambda L, x: x.sum((1, -1)), (X(2, 3),), {}),
    ("amax-dims-repeated", lambda L, x: x.amax((0, 0)), (X(2, 3),), {}),
    ("sum-dims-ok", lambda L, x: x.sum((1, 0), keepdim=True), (X(2, 3),), {}),
]

SHAPE_CASES = [
    ("flip-repeated", lambda L, x: x.flip((0, -2)), (X(2, 3),), {}),
    ("flip-repeated-varargs", lambda L, x: x.flip(1, 1), (X(2, 3),), {}),
    ("flip-varargs", lambda L, x: x.flip(0, 1), (X(2, 3),), {}),
    ("flip-fn-repeated", lambda L, x: L.flip(x, [0, 0]), (X(2, 3),), {}),
    ("flip-0d", lambda L, x: x.flip(0), (A(2.0),), {}),
    ("flip-0d-repeated", lambda L, x: x.flip((0, 0)), (A(2.0),), {}),
    ("flip-0d-out-of-range", lambda L, x: x.flip(1), (A(2.0),), {}),
    ("flip-empty-dims", lambda L, x: x.flip(()), (X(2, 3),), {}),
    ("fliplr-1d", lambda L, x: L.fliplr(x), (X(3),), {}),
    ("flipud-0d", lambda L, x: L.flipud(x), (A(2.0),), {}),
    ("fliplr-ok", lambda L, x: L.fliplr(x), (X(2, 3),), {}),
    ("roll-repeated-dims", lambda L, x: x.roll((1, 1), (0, 0)), (X(3, 2),), {}),
    ("roll-repeated-dims-negative", lambda L, x: x.roll((1, 2), (1, -1)), (X(2, 4),), {}),
    ("roll-shifts-dims-mismatch", lambda L, x: x.roll((1, 1), (0,)), (X(2, 3),), {}),
    ("roll-one-shift-two-dims", lambda L, x: x.roll(1, (0, 1)), (X(2, 3),), {}),
    ("roll-two-shifts-no-dims", lambda L, x: x.roll((1, 2)), (X(2, 3),), {}),
    ("roll-no-shifts", lambda L, x: x.roll((), ()), (X(2, 3),), {}),
    ("roll-empty-dims-flattens", lambda L, x: x.roll(1, ()), (X(2, 3),), {}),
    ("roll-0d-dim", lambda L, x: x.roll(1, 0), (A(2.0),), {}),
    ("roll-0d-flat", lambda L, x: x.roll(1), (A(2.0),), {}),
    ("roll-float-shift", lambda L, x: x.roll(1.5, 0), (X(2, 3),), {}),
    ("roll-dim-out-of-range", lambda L, x: x.roll((1,), (5,)), (X(2, 3),), {}),
    ("diagonal-same-dims", lambda L, x: L.diagonal(x, 0, 0, 0), (X(2, 3),), {}),
    ("diagonal-same-dims-kw", lambda L, x: x.diagonal(dim1=1, dim2=1), (X(2, 3),), {}),
    ("diagonal-same-after-wrap", lambda L, x: x.diagonal(0, 1, -1), (X(2, 3),), {}),
    ("diagonal-out-of-range", lambda L, x: x.diagonal(0, 0, 2), (X(2, 3),), {}),
    ("diagonal-1d", lambda L, x: x.diagonal(), (X(3),), {}),
    ("diagonal-0d", lambda L, x: x.diagonal(), (A(2.0),), {}),
    ("diagonal-3d", lambda L, x: x.diagonal(1, -1, 0), (X(2, 3, 4),), {}),
    ("diagonal-offset", lambda L, x: x.diagonal(-1), (X(3, 4),), {}),
]

DEV = DEVICE
CREATION_CASES = [
    ("linspace-bool", lambda L, d: L.linspace(0, 1, 5, dtype=L.bool, device=d), (DEV,), {}),
    ("linspace-bool-2", lambda L, d: L.linspace(0, 1, 2, dtype=L.bool, device=d), (DEV,), {}),
    ("linspace-bool-1", lambda L, d: L.linspace(1, 1, 1, dtype=L.bool, device=d), (DEV,), {}),
    ("linspace-bool-0", lambda L, d: L.linspace(0, 1, 0, dtype=L.bool, device=d), (DEV,), {}),
    ("logspace-bool", lambda L, d: L.logspace(0, 1, 3, dtype=L.bool, device=d), (DEV,), {}),
    ("logspace-bool-1", lambda L, d: L.logspace(0, 1, 1, dtype=L.bool, device=d), (DEV,), {}),
    ("logspace-int64", lambda L, d: L.logspace(0, 2, 3, dtype=L.int64, device=d), (DEV,), {}),
    ("logspace-base2-uint8", lambda L, d: L.logspace(0, 7, 8, base=2, dtype=L.uint8, device=d), (DEV,), {}),
    ("arange-bool", lambda L, d: L.arange(3, dtype=L.bool, device=d), (DEV,), {}),
    ("linspace-int", lambda L, d: L.linspace(0, 10, 5, dtype=L.int64, device=d), (DEV,), {}),
]

F_ = lambda L: L.nn.functional  # noqa: E731
conv1d = lambda L, x, w, b=None, **kw: F_(L).conv1d(x, w, b, **kw)  # noqa: E731
conv2d = lambda L, x, w, b=None, **kw: F_(L).conv2d(x, w, b, **kw)  # noqa: E731
conv_t2d = lambda L, x, w, b=None, **kw: F_(L).conv_transpose2d(x, w, b, **kw)  # noqa: E731
max_pool1d = lambda L, x, *a, **kw: F_(L).max_pool1d(x, *a, **kw)  # noqa: E731
max_pool2d = lambda L, x, *a, **kw: F_(L).max_pool2d(x, *a, **kw)  # noqa: E731
avg_pool1d = lambda L, x, *a, **kw: F_(L).avg_pool1d(x, *a, **kw)  # noqa: E731
avg_pool2d = lambda L, x, *a, **kw: F_(L).avg_pool2d(x, *a, **kw)  # noqa: E731
unfold = lambda L, x, *a, **kw: F_(L).unfold(x, *a, **kw)  # noqa: E731
fold = lambda L, x, *a, **kw: F_(L).fold(x, *a, **kw)  # noqa: E731
CONV_CASES = [
    ("conv1d-kernel-larger", conv1d, (X(1, 1, 3), ONES(1, 1, 5)), {}),
    ("conv1d-unbatched-kernel-larger", conv1d, (X(1, 3), ONES(1, 1, 5)), {}),
    ("conv1d-dilated-kernel-larger", conv1d, (X(1, 1, 3), ONES(1, 1, 3)), {"dilation": 2}),
    ("conv1d-padding-makes-it-fit", conv1d, (X(1, 1, 3), ONES(1, 1, 5)), {"padding": 1}),
    ("conv1d-zero-stride", conv1d, (X(1, 1, 3), ONES(1, 1, 2)), {"stride": 0}),
    ("conv1d-2d-weight", conv1d, (X(1, 1, 3), ONES(1, 3)), {}),
    ("conv1d-bias-size", conv1d, (X(1, 1, 3), ONES(2, 1, 2), ONES(1)), {}),
    ("conv1d-same-strided", conv1d, (X(1, 1, 3), ONES(1, 1, 2)), {"padding": "same", "stride": 2}),
    ("conv2d-kernel-larger", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 5, 5)), {}),
    ("conv2d-kernel-larger-one-axis", conv2d, (X(1, 1, 3, 6), ONES(1, 1, 4, 2)), {}),
    ("conv2d-kernel-larger-valid", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 5, 5)), {"padding": "valid"}),
    ("conv2d-kernel-larger-padded", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 6, 6)), {"padding": 1}),
    ("conv2d-padding-makes-it-fit", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 5, 5)), {"padding": 1}),
    ("conv2d-same-larger-kernel", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 5, 5)), {"padding": "same"}),
    ("conv2d-dilated-kernel-larger", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"dilation": 3}),
    ("conv2d-empty-input-axis", conv2d, (X(1, 1, 0, 3), ONES(1, 1, 1, 1)), {}),
    ("conv2d-empty-batch-kernel-larger", conv2d, (X(0, 1, 3, 3), ONES(1, 1, 5, 5)), {}),
    ("conv2d-unbatched-kernel-larger", conv2d, (X(1, 1, 3), ONES(1, 1, 2, 2)), {}),
    ("conv2d-negative-padding", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"padding": -1}),
    ("conv2d-zero-stride", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"stride": 0}),
    ("conv2d-negative-stride", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"stride": -1}),
    ("conv2d-zero-dilation", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"dilation": 0}),
    ("conv2d-bias-size", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2), ONES(2)), {}),
    ("conv2d-bias-2d", conv2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2), ONES(1, 1)), {}),
    ("conv2d-ok-exact-fit", conv2d, (X(1, 1, 3, 3), X(2, 1, 3, 3), X(2)), {}),
    ("conv_transpose2d-zero-stride", conv_t2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"stride": 0}),
    ("conv_transpose2d-negative-padding", conv_t2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2)), {"padding": -1}),
    ("conv_transpose2d-bias-size", conv_t2d, (X(1, 1, 3, 3), ONES(1, 1, 2, 2), ONES(2)), {}),
    ("conv_transpose2d-3d-weight", conv_t2d, (X(1, 1, 3, 3), ONES(1, 1, 2)), {}),
    ("conv_transpose2d-larger-kernel-ok", conv_t2d, (X(1, 1, 3, 3), X(1, 2, 5, 5), X(2)), {}),
    ("max_pool2d-kernel-larger", max_pool2d, (X(1, 1, 3, 3), 5), {}),
    ("max_pool2d-zero-stride", max_pool2d, (X(1, 1, 3, 3), 2), {"stride": 0}),
    ("max_pool2d-negative-stride", max_pool2d, (X(1, 1, 3, 3), 2), {"stride": -1}),
    ("max_pool2d-zero-kernel", max_pool2d, (X(1, 1, 3, 3), 0), {}),
    ("max_pool2d-negative-kernel", max_pool2d, (X(1, 1, 3, 3), -1), {}),
    ("max_pool2d-zero-dilation", max_pool2d, (X(1, 1, 3, 3), 2), {"dilation": 0}),
    ("max_pool2d-negative-padding", max_pool2d, (X(1, 1, 3, 3), 2), {"padding": -1}),
    ("max_pool2d-padding-too-large", max_pool2d, (X(1, 1, 3, 3), 2), {"padding": 2}),
    ("max_pool2d-padded-fit", max_pool2d, (X(1, 1, 3, 3), 4), {"padding": 2}),
    ("avg_pool2d-kernel-larger", avg_pool2d, (X(1, 1, 3, 3), 5), {}),
    ("avg_pool2d-zero-stride", avg_pool2d, (X(1, 1, 3, 3), 2), {"stride": 0}),
    ("avg_pool2d-zero-kernel", avg_pool2d, (X(1, 1, 3, 3), 0), {}),
    ("avg_pool2d-negative-padding", avg_pool2d, (X(1, 1, 3, 3), 2), {"padding": -1}),
    ("avg_pool2d-negative-stride", avg_pool2d, (X(1, 1, 3, 3), 2), {"stride": -1}),
    ("max_pool1d-kernel-larger", max_pool1d, (X(1, 1, 3), 4), {}),
    ("avg_pool1d-kernel-larger", avg_pool1d, (X(1, 1, 3), 4), {}),
    ("avg_pool1d-zero-stride", avg_pool1d, (X(1, 1, 3), 2), {"stride": 0}),
    ("unfold-kernel-larger", unfold, (X(1, 1, 3, 3), 5), {}),
    ("unfold-zero-stride", unfold, (X(1, 1, 3, 3), 2), {"stride": 0}),
    ("unfold-negative-padding", unfold, (X(1, 1, 3, 3), 2), {"padding": -1}),
    ("unfold-zero-kernel", unfold, (X(1, 1, 3, 3), 0), {}),
    ("unfold-zero-dilation", unfold, (X(1, 1, 3, 3), 2), {"dilation": 0}),
    ("unfold-ok", unfold, (X(1, 2, 3, 4), 2), {"padding": 1, "stride": 2}),
    ("fold-blocks-mismatch", fold, (X(1, 4, 5), 3, 2), {}),
    ("fold-channels-not-divisible", fold, (X(1, 5, 4), 3, 2), {}),
    ("fold-zero-stride", fold, (X(1, 4, 4), 3, 2), {"stride": 0}),
    ("fold-no-blocks", fold, (X(1, 4, 1), 1, 2), {}),
    ("fold-4d-input", fold, (X(1, 1, 4, 4), 3, 2), {}),
    ("fold-ok", fold, (X(1, 8, 4), 3, 2), {}),
]

bce = lambda L, x, t, **kw: F_(L).binary_cross_entropy(x, t, **kw)  # noqa: E731
BCE_CASES = [
    ("bce-input-above-1", bce, (A([0.5, 1.5]), A([0.0, 1.0])), {}),
    ("bce-input-below-0", bce, (A([-0.5, 0.5]), A([0.0, 1.0])), {}),
    ("bce-input-nan", bce, (A([float("nan"), 0.5]), A([0.0, 1.0])), {}),
    ("bce-target-above-1", bce, (A([0.5, 0.2]), A([0.0, 1.5])), {}),
    ("bce-target-nan", bce, (A([0.5, 0.2]), A([0.0, float("nan")])), {}),
    ("bce-both-out-of-range", bce, (A([1.5, 0.2]), A([0.0, 1.5])), {}),
    ("bce-target-dtype", bce, (A([0.5, 0.2]), A([0.0, 1.0], F64)), {}),
    ("bce-target-int", bce, (A([0.5, 0.2]), A([0, 1], I64)), {}),
    ("bce-size-mismatch", bce, (A([0.5, 0.2]), A([0.0, 1.0, 1.0])), {}),
    ("bce-edges", bce, (A([0.0, 1.0, 0.25]), A([0.0, 1.0, 0.5])), {"reduction": "none"}),
    ("bce-mean", bce, (A([[0.1, 0.9], [0.3, 0.6]]), A([[0.0, 1.0], [1.0, 0.2]])), {}),
    ("bce-weight-float64", bce, (A([0.5, 0.2]), A([0.0, 1.0])), {"weight": A([1.0, 2.0], F64, grad=False)}),
]

LEAK_CASES = [
    ("where-bad-shapes", lambda L, x, y: L.where(x > 0, x, y), (X(2, 3), X(4)), {}),
    ("where-bad-condition", lambda L, c, x: L.where(c > 0, x, x), (X(4), X(2, 3)), {}),
    ("masked_fill-bad-mask", lambda L, x, m: x.masked_fill(m > 0, 1.0), (X(2, 3), X(4)), {}),
    ("add-bad-shapes", lambda L, x, y: x + y, (X(2, 3), X(4)), {}),
    ("floordiv-bad-shapes", lambda L, x, y: x // y, (X(2, 3), X(4)), {}),
    ("bitwise_and-float", lambda L, x: L.bitwise_and(x, x), (X(3),), {}),
    ("bitwise_or-int-float-scalar", lambda L, x: L.bitwise_or(x, 1.5), (A([1, 2], I64),), {}),
    ("and-float64", lambda L, x: x & x, (A([1.0, 2.0], F64),), {}),
    ("bitwise_not-float", lambda L, x: L.bitwise_not(x), (X(3),), {}),
    ("invert-float", lambda L, x: ~x, (X(3),), {}),
    ("invert-int", lambda L, x: ~x, (A([1, -2], I64),), {}),
    ("relu-bool", lambda L, x: L.relu(x), (BOOLS,), {}),
    ("F.relu-bool", lambda L, x: L.nn.functional.relu(x), (BOOLS,), {}),
    ("softmax-int", lambda L, x: x.softmax(0), (A([1, 2], I64),), {}),
    ("log_softmax-int", lambda L, x: x.log_softmax(0), (A([1, 2], I64),), {}),
    # (forward only: PyTorch's backward divides by the negative n - correction, its forward by 0)
    ("var-correction-above-n", lambda L, x: x.var(0, correction=3), (A([1.0, 2.5], grad=False),), {}),
    ("var-one-element", lambda L, x: x.var(0), (X(1),), {}),
    ("linspace-float-steps", lambda L, d: L.linspace(0, 1, 2.5, device=d), (DEV,), {}),
    ("norm-int", lambda L, x: L.norm(x), (A([3, 4], I64),), {}),
    ("norm-unknown-order", lambda L, x: L.norm(x, p="bogus"), (X(2),), {}),
    ("norm-inf-string", lambda L, x: L.norm(x, p="inf"), (X(2),), {}),
    ("norm-nuc-vector", lambda L, x: L.norm(x, p="nuc"), (X(2),), {}),
    ("norm-inf", lambda L, x: L.norm(x, p=float("inf"), dim=1), (X(2, 3),), {}),
]

CASES = (_division_cases() + BOOL_CASES + REDUCTION_CASES + SHAPE_CASES + CREATION_CASES + CONV_CASES + BCE_CASES
         + LEAK_CASES)


def _message(exc: BaseException) -> str:
    """The first line, with the framework's and the device's names taken out."""
    line = str(exc).split("\n")[0].replace("torch.", "ember.")
    for dev in ("opencl", "cuda"):
        line = line.replace(f"_{dev}\"", "_cpu\"")
    return line


# PyTorch's wording that ember does not copy (the type still matches): each with why.
OTHER_WORDING = {
    "conv1d-2d-weight": "ember names the expected rank exactly",
    "conv_transpose2d-3d-weight": "PyTorch's message is about stride for a 3-D weight",
    "fold-4d-input": "same meaning, worded for ember's ranks",
    "max_pool2d-padding-too-large": "ember keeps the avg_pool wording for both pools",
    "softmax-int": "PyTorch names its CPU kernel (softmax_lastdim_kernel_impl)",
    "log_softmax-int": "PyTorch names its CPU kernel (log_softmax_lastdim_kernel_impl)",
    "linspace-float-steps": "PyTorch lists every overload of linspace",
}


@pytest.mark.parametrize("name,fn,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_semantics_match_pytorch(name, fn, args, kwargs, device):
    check(fn, args, kwargs, device)
    t_out, t_exc = _run(fn, _Side(torch, "cpu"), args, kwargs)
    if t_exc is not None and name not in OTHER_WORDING:
        _, e_exc = _run(fn, _Side(ember, device), args, kwargs)
        assert _message(e_exc) == _message(t_exc)


def test_no_backend_keeps_its_own_copy_of_the_checks(device):
    """The kernels no longer decide: called directly they neither raise nor compute xor for bool
    ``sub``; the frontend alone refuses these operands, the same on every device."""
    x = ember.tensor([7, 5], device=device)
    kt = x._kt
    kt["floor_divide"](x._data, ember.tensor([0, 1], device=device)._data)  # no ZeroDivisionError here
    kt["remainder"](x._data, 0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        x // ember.tensor([0, 1], device=device)


def test_integer_division_checks_one_sync_not_per_element(device):
    """A large integer division still works (the zero check is one reduction, not a host copy)."""
    a = ember.arange(1, 100001, device=device)
    q = a // 7
    assert q.tolist()[:8] == [0, 0, 0, 0, 0, 0, 1, 1] and q.dtype is ember.int64
