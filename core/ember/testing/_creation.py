"""``make_tensor``: PyTorch's ``torch.testing.make_tensor`` (random values in a range, on a device)."""

from __future__ import annotations

import collections.abc
import functools
import math
import warnings
from typing import Any

import numpy as np

__all__ = ["make_tensor"]


def _np_dtype(dtype: Any) -> np.dtype:
    from ember.numpy_dtypes import to_numpy  # ember's one dtype map (bfloat16 is ml_dtypes')

    return to_numpy(dtype)


def _low_high(dtype: Any, low: float | None, high: float | None, lowest: float, highest: float,
              default_low: float, default_high: float) -> tuple[float, float]:
    """PyTorch's checks and clamping of the requested interval [low, high)."""
    low = default_low if low is None else low
    high = default_high if high is None else high
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)):
        raise ValueError(f"`low` and `high` cannot be NaN, but got low={low} and high={high}")
    if low == high and dtype.is_floating_point:
        warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types is deprecated "
                      "since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.", FutureWarning,
                      stacklevel=3)
    elif low >= high:
        raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
    elif high < lowest or low >= highest:
        raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), but {dtype} only "
                         f"supports [{lowest}, {highest})")
    low, high = min(max(low, lowest), highest), min(max(high, lowest), highest)
    if not dtype.is_floating_point:
        return math.ceil(low), math.ceil(high)
    return low, high


def make_tensor(*shape: Any, dtype: Any, device: Any, low: float | None = None, high: float | None = None,
                requires_grad: bool = False, noncontiguous: bool = False, exclude_zero: bool = False,
                memory_format: Any = None) -> Any:
    """``torch.testing.make_tensor``: a tensor of ``shape`` filled with random values from
    ``[low, high)`` (defaults: -9 and 9 for floats, -9 and 10 for integers, 0 and 2 for bool),
    drawn from ember's generator. ``noncontiguous`` gives a strided view of a twice-as-wide tensor;
    ``exclude_zero`` replaces zeros with 1 (integers) or the dtype's ``tiny`` (floats).

    Example:
        >>> import ember
        >>> t = ember.testing.make_tensor(2, 3, dtype=ember.float32, device="cpu", low=0, high=1)
        >>> t.shape, bool(((t >= 0) & (t < 1)).all())
        (ember.Size([2, 3]), True)
    """
    import ember

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if noncontiguous and memory_format is not None:
        raise ValueError("The parameters `noncontiguous` and `memory_format` are mutually exclusive, but got "
                         f"noncontiguous={noncontiguous} and memory_format={memory_format}")
    floating = dtype.is_floating_point
    if requires_grad and not floating:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got dtype={dtype}")
    noncontiguous = noncontiguous and functools.reduce(lambda x, y: x * y, shape, 1) > 1
    if noncontiguous:
        shape = (*shape[:-1], 2 * shape[-1])
    if dtype == ember.bool:
        lo, hi = _low_high(dtype, low, high, 0, 2, 0, 2)
        result = ember.randint(lo, hi, shape, device=device) != 0
    elif not floating:
        info = np.iinfo(_np_dtype(dtype))
        top = int(info.max) + (1 if dtype != ember.int64 else 0)
        lo, hi = _low_high(dtype, low, high, int(info.min), top, -9, 10)
        result = ember.randint(lo, hi, shape, dtype=dtype, device=device)
    else:
        info = np.finfo(_np_dtype(dtype))
        lo, hi = _low_high(dtype, low, high, float(info.min), float(info.max), -9, 9)
        result = ember.empty(shape, dtype=dtype, device=device)
        if hi - lo >= float(info.max):  # the width itself would overflow: draw half of it, then double
            result.uniform_(lo / 2, hi / 2).mul_(2)
        else:
            result.uniform_(lo, hi)
    if noncontiguous:
        result = result[..., 1::2]
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if not floating else float(np.finfo(_np_dtype(dtype)).tiny)
    if floating:
        result.requires_grad = requires_grad
    return result
