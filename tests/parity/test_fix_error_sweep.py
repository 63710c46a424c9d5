"""Inputs PyTorch refuses (or handles in a particular way) that once leaked NumPy's messages, were
silently accepted, or gave other values: each compared with PyTorch on every device (exception
type, or values, dtypes, shapes and gradients)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from parity_compare import Arg, check  # noqa: E402

F32 = np.arange(12, dtype=np.float32).reshape(3, 4) / 3 - 1

CASES = {
    # movement and shape errors named as PyTorch names them
    "movedim-repeated-source": (lambda lib, t: t.movedim((0, 0), (0, 1)), [Arg(F32)]),
    "movedim-repeated-destination": (lambda lib, t: t.movedim((0, 1), (1, 1)), [Arg(F32)]),
    "movedim-count-mismatch": (lambda lib, t: t.movedim((0, 1), (0,)), [Arg(F32)]),
    "narrow-start-out-of-range": (lambda lib, t: t.narrow(0, 5, 1), [Arg(F32)]),
    "narrow-negative-start-out-of-range": (lambda lib, t: t.narrow(1, -5, 1), [Arg(F32)]),
    "narrow-too-long": (lambda lib, t: t.narrow(1, 2, 3), [Arg(F32)]),
    "narrow-negative-length": (lambda lib, t: t.narrow(1, 0, -1), [Arg(F32)]),
    "narrow-negative-start": (lambda lib, t: t.narrow(1, -3, 2), [Arg(F32)]),
    "cat-empty-list": (lambda lib: lib.cat([]), []),
    "outer-2d": (lambda lib, a, b: lib.outer(a, b), [Arg(F32), Arg(F32[0])]),
    "outer-1d": (lambda lib, a, b: lib.outer(a, b), [Arg(F32[0]), Arg(F32[1, :3])]),
    "glu-odd": (lambda lib, t: lib.nn.functional.glu(t, 0), [Arg(F32)]),
    "glu-0d": (lambda lib, t: lib.nn.functional.glu(t), [Arg(np.float32(1.5))]),
    "glu-even": (lambda lib, t: lib.nn.functional.glu(t, 1), [Arg(F32)]),
    # interpolate's size checks
    "interpolate-size-0": (lambda lib, t: lib.nn.functional.interpolate(t, size=0), [Arg(F32[None])]),
    "interpolate-scale-to-0": (lambda lib, t: lib.nn.functional.interpolate(t, scale_factor=0.1),
                               [Arg(F32[None])]),
    "interpolate-size-count": (lambda lib, t: lib.nn.functional.interpolate(t, size=(2,)), [Arg(F32[None, None])]),
    "interpolate-scale-count": (lambda lib, t: lib.nn.functional.interpolate(t, scale_factor=(2.0, 2.0, 2.0)),
                                [Arg(F32[None, None])]),
    # adaptive pooling to an empty output (forward only: PyTorch's backward refuses an empty gradient)
    "adaptive-avg-0": (lambda lib, t: lib.nn.functional.adaptive_avg_pool2d(t, 0),
                       [Arg(F32[None, None], grad=False)]),
    "adaptive-max-0": (lambda lib, t: lib.nn.functional.adaptive_max_pool2d(t, (0, 2)),
                       [Arg(F32[None, None], grad=False)]),
    # integer powers with negative tensor exponents truncate; a negative scalar exponent raises
    "int-pow-negative-tensor-exponent": (
        lambda lib, a, b: a ** b,
        [Arg(np.array([0, 2, -2, 1, -1, -1, 3, -3])), Arg(np.array([-1, -1, -1, -3, -3, -2, 0, 2]))]),
    "int-scalar-base-negative-exponent": (lambda lib, b: 2 ** b, [Arg(np.array([-1, 0, 3]))]),
    "int-pow-negative-scalar": (lambda lib, a: a ** -1, [Arg(np.array([1, 2]))]),
    # where: bool (or deprecated uint8) conditions only
    "where-float-condition": (lambda lib, c, a: lib.where(c, a, 0.0), [Arg(np.ones(3, np.float32)),
                                                                       Arg(np.ones(3, np.float32))]),
    "where-int64-condition": (lambda lib, c, a: lib.where(c, a, 0.0), [Arg(np.ones(3, np.int64)),
                                                                       Arg(np.ones(3, np.float32))]),
    # dtype rules of clamp, nan_to_num, round(decimals), frac on integers and bools
    "clamp-bool": (lambda lib, t: t.clamp(0, 1), [Arg(np.array([True, False]))]),
    "nan_to_num-int": (lambda lib, t: t.nan_to_num(), [Arg(np.array([1, -2]))]),
    "round-decimals-int": (lambda lib, t: t.round(decimals=1), [Arg(np.array([1, 2]))]),
    "round-int": (lambda lib, t: t.round(), [Arg(np.array([1, 2]))]),
    "frac-int": (lambda lib, t: t.frac(), [Arg(np.array([1, 2]))]),
    # fmod by an infinite divisor is the dividend (C's fmod)
    "fmod-inf-scalar": (lambda lib, t: lib.fmod(t, float("inf")), [Arg(np.array([-5.0, 3.0, 0.0], np.float32))]),
    "fmod-inf-tensor": (lambda lib, a, b: lib.fmod(a, b), [Arg(np.array([-5.0, 3.0, np.inf], np.float32)),
                                                            Arg(np.array([np.inf, -np.inf, 2.0], np.float32))]),
    # probabilities and standard deviations PyTorch refuses
    "normal-negative-std": (lambda lib: lib.normal(0.0, -1.0, (3,)), []),
    "normal-negative-std-tensor": (lambda lib, s: lib.normal(lib.zeros(3, device=s.device), s),
                                   [Arg(np.array([1.0, -1.0, 1.0], np.float32))]),
    "bernoulli-p-above-1": (lambda lib, t: lib.bernoulli(t), [Arg(np.full(3, 2.0, np.float32))]),
    "bernoulli-float-p": (lambda lib, t: lib.bernoulli(t, 1.0), [Arg(np.zeros(3, np.float32))]),
    "bernoulli_-p-below-0": (lambda lib, t: t.bernoulli_(-0.1), [Arg(np.zeros(3, np.float32))]),
    "argmax-empty-rows": (lambda lib, t: t.argmax(dim=1), [Arg(np.zeros((0, 3), np.float32))]),
    "argmin-empty-reduced-axis": (lambda lib, t: t.argmin(dim=1), [Arg(np.zeros((3, 0), np.float32))]),
    "argmax-empty-keepdim": (lambda lib, t: t.argmax(dim=1, keepdim=True), [Arg(np.zeros((0, 3), np.float32))]),
    "randn-int-dtype": (lambda lib: lib.randn(3, dtype=lib.int64), []),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_pytorch(device, name):
    fn, args = CASES[name]
    check(fn, args, {}, device)
