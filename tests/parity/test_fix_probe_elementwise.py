"""Elementwise divergences from PyTorch found by probing special values (NaN, infinities, ties).

Each case runs on real PyTorch and on ember (every device) and compares values, dtypes, errors and
gradients: ``clamp`` with a NaN bound (OpenCL ignored it), ``maximum``/``minimum``/``fmax``/``fmin``
gradients at NaN and at ties, ``clamp`` with tensor bounds (its own gradient rule, not maximum's),
``nan_to_num`` of bfloat16 infinities, and a uint8 tensor index taken as a mask.
"""

from __future__ import annotations

import math
import warnings

import ember
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

NAN, INF = math.nan, math.inf
F32 = np.float32


def A(values, dtype=F32, grad=True) -> Arg:
    return Arg(np.array(values, dtype=dtype), grad=grad)


@pytest.mark.parametrize("bounds", [(NAN, None), (None, NAN), (0.0, NAN), (NAN, 5.0), (3.0, 1.0), (-1.0, 1.0)],
                         ids=["nan-min", "nan-max", "nan-max-only", "nan-min-both", "min-above-max", "plain"])
def test_clamp_with_a_nan_bound_is_nan_everywhere(device, bounds):
    lo, hi = bounds
    x = A([1.0, 2.0, NAN, -3.0, 0.5, INF])
    check(lambda L, t: L.clamp(t, min=lo, max=hi), (x,), {}, device)
    check(lambda L, t: t.clip(lo, hi), (x,), {}, device)


def test_clamp_of_integers_with_a_nan_bound(device):
    check(lambda L, t: L.clamp(t, min=NAN), (A([1, 2, 3], np.int64, grad=False),), {}, device)


PAIRS = [  # (a, b): NaN on either side and both, ties, infinities
    ([NAN, 1.0, 2.0, 3.0, NAN, 1.0, -INF, INF], [2.0, 0.0, 2.0, NAN, NAN, 5.0, -INF, 1.0]),
]


@pytest.mark.parametrize("name", ["maximum", "minimum", "fmax", "fmin", "max", "min"])
def test_max_min_gradients_at_nan_and_ties(device, name):
    a, b = PAIRS[0]
    check(lambda L, x, y: getattr(L, name)(x, y), (A(a), A(b)), {}, device)
    # broadcast: the smaller side's gradient sums the pieces it won
    check(lambda L, x, y: getattr(L, name)(x, y), (A([[1.0, NAN, 2.0], [2.0, 2.0, 0.0]]), A([2.0, 1.0, 2.0])), {}, device)


CLAMP_T = [  # x, lo, hi (None: that bound absent)
    ([1.0, 0.0, NAN, 4.0, 2.0, 3.0], [1.0, 1.0, 1.0, 1.0, 3.0, 1.0], [3.0, 3.0, 3.0, 3.0, 1.0, 3.0]),
    ([1.0, 0.0, NAN, 4.0], [1.0, 1.0, 1.0, 1.0], None),
    ([1.0, 0.0, NAN, 4.0], None, [0.5, 4.0, 1.0, 3.0]),
]


@pytest.mark.parametrize("case", CLAMP_T, ids=["both", "min", "max"])
def test_clamp_with_tensor_bounds_has_pytorchs_gradients(device, case):
    x, lo, hi = case
    args = [A(x)] + [A(v) for v in (lo, hi) if v is not None]

    def fn(L, t, *bounds):
        it = iter(bounds)
        lo_t = next(it) if lo is not None else None
        hi_t = next(it) if hi is not None else None
        out = L.clamp(t, min=lo_t, max=hi_t)
        assert type(out.grad_fn).__name__ == "ClampBackward0"
        return out
    check(fn, tuple(args), {}, device)


def test_clamp_with_a_broadcast_tensor_bound(device):
    check(lambda L, t, lo: L.clamp(t, min=lo), (A([[1.0, 0.0], [NAN, 2.0]]), A([1.0])), {}, device)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "float64"])
def test_nan_to_num_uses_the_dtypes_own_largest_value(device, dtype):
    check(lambda L, t: L.nan_to_num(t.to(getattr(L, dtype))), (A([INF, -INF, NAN, 1.5], grad=False),), {}, device)


def test_a_uint8_index_is_a_mask(device):
    x = A([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = Arg(np.array([1, 0, 1], np.uint8), grad=False)
    rows = Arg(np.array([0, 1], np.uint8), grad=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # both warn that uint8 indexing is deprecated
        check(lambda L, t, m: t[:, m], (x, mask), {}, device)
        check(lambda L, t, m: t[m], (x, rows), {}, device)
        check(lambda L, t, m: t[m, 1:], (x, rows), {}, device)

        def assign(L, t, m):
            out = t.detach().clone()
            out[:, m] = L.zeros(2, 2, device=out.device)
            return out
        check(assign, (x, mask), {}, device)


def test_a_uint8_index_warns_as_pytorch():
    x = ember.arange(3.0)
    with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
        assert x[ember.tensor([1, 0, 1], dtype=ember.uint8)].tolist() == [0.0, 2.0]
    with pytest.warns(UserWarning):
        assert tuple(x[ember.tensor(1, dtype=ember.uint8)].shape) == (1, 3)  # 0-d: a mask too, not index 1


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "round", "trunc"])
def test_piecewise_constant_ops_give_zero_gradients_under_inf(device, name):
    """PyTorch's gradient is zeros_like(grad): an inf or NaN upstream gradient stays 0, and so does a
    negative one (no -0.0)."""
    def fn(L, t, w):
        y = getattr(L, name)(t)
        return L.autograd.grad((y * w).sum(), t)[0]
    check(fn, (A([1.5, -2.0, 0.0, NAN]), A([INF, -3.0, NAN, 1.0], grad=False)), {}, device)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_maximum_minimum_take_tensors_only(device, name):
    """PyTorch's schema is (Tensor, Tensor): a Python number is its argument parser's TypeError
    (``_foreach_maximum(tensors, number)`` clamps instead)."""
    check(lambda L, t: getattr(L, name)(t, 0.5), (A([1.0, -2.0]),), {}, device)
    check(lambda L, t: getattr(t, name)(2), (A([1.0, -2.0]),), {}, device)
