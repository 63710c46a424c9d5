"""The reduced value of a float16/bfloat16 ``nll_loss``/``cross_entropy`` as PyTorch's CPU kernel
computes it.

PyTorch's ``nll_loss_out_frame`` (inputs (N, C) or (C,)) does not accumulate 16-bit losses in
float32: it sums them in the 16-bit type itself, with a cascade of eight partial sums to limit the
drift. Row ``b``'s ``-x[b, t_b] * w[t_b]`` (rounded) is added to level 0; after a row whose index
``b`` is a multiple of 16, level 0 is added into level 1 and cleared; after a multiple of 256, level
1 into level 2, and so on (ignored rows are skipped, flushes included). The result is the 16-bit
sum of the eight levels, divided for ``'mean'`` by the 16-bit total weight (the count of rows
rounded to the dtype, or the same cascade over the weights). Every addition rounds. Summing in
float32, as ember's other reductions do, differs from that by several 16-bit ulps on a batch of a
few hundred rows, so this module replays the cascade on the host (one read of the per-row terms).

Example:
    >>> import ember, ember.nn.functional as F
    >>> x = ember.full((100, 3), -1.01, dtype=ember.bfloat16)
    >>> F.nll_loss(x, ember.zeros(100, dtype=ember.int64), reduction="sum").item()  # float32 sum: 101.0
    100.5
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ember import dtypes as _dt
from ember.autograd.function import Function

__all__ = ["cascade_value", "with_value"]

_LEVELS = 8  # PyTorch's cascade_sum_num_levels
_POWER = 4  # max(4, CeilLog2(N) / 8): 4 below 2**40 rows


def _rounder(dtype: _dt.dtype) -> Any:
    """A float32 array -> float32 array function rounding to ``dtype`` (to nearest even, as PyTorch)."""
    if dtype is _dt.float16:
        return lambda v: v.astype(np.float16).astype(np.float32)

    def bf16(v: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(v, dtype=np.float32).view(np.uint32).astype(np.uint64)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
        return np.where(np.isnan(v), v, bits.astype(np.uint32).view(np.float32))

    return bf16


def _level(values: np.ndarray, rows: np.ndarray, period: int, rnd: Any) -> tuple:
    """One level of the cascade: ``values`` (from rows ``rows``) added in order, rounding each sum,
    the partial sum handed up (and cleared) after each row that is a multiple of ``period``
    (``period=0``: never). Returns (the sums handed up, their rows, what stays at this level)."""
    if not len(values):
        return values, rows, np.float32(0)
    flush = (rows % period == 0) if period else np.zeros(len(rows), dtype=bool)
    seg = np.cumsum(flush) - flush  # the partial sum each value goes into
    n_seg = int(seg[-1]) + 1
    first = np.searchsorted(seg, np.arange(n_seg))
    col = np.arange(len(values)) - first[seg]
    grid = np.zeros((n_seg, int(col.max()) + 1), dtype=np.float32)  # +0.0 padding adds nothing
    grid[seg, col] = values
    acc = np.zeros(n_seg, dtype=np.float32)
    for c in range(grid.shape[1]):  # sequential within a partial sum (16 steps unless rows are ignored)
        acc = rnd(acc + grid[:, c])
    done = int(flush.sum())
    rest = np.float32(0) if flush[-1] else acc[-1]
    return acc[:done], rows[flush], rest


def _cascade(values: np.ndarray, rows: np.ndarray, rnd: Any) -> np.float32:
    stays = []
    for j in range(_LEVELS):
        period = (1 << (_POWER * (j + 1))) if j < _LEVELS - 1 else 0
        values, rows, rest = _level(values, rows, period, rnd)
        stays.append(rest)
    out = np.zeros(1, dtype=np.float32)
    for v in stays:
        out = rnd(out + v)
    return out[0]


def cascade_value(loss: Any, w: Any, ignore: Any, weighted: bool, reduction: str) -> float:
    """The 'sum' or 'mean' of the per-row terms ``loss`` (16-bit, 0 where ignored) with per-row
    weights ``w`` and the bool mask ``ignore``, as PyTorch's 16-bit kernel sums them."""
    rnd = _rounder(loss.dtype)
    rows = np.flatnonzero(~ignore.detach().reshape(-1).cpu().numpy().astype(bool))
    total = _cascade(loss.detach().reshape(-1).float().cpu().numpy().astype(np.float32)[rows], rows, rnd)
    if reduction == "sum":
        return float(total)
    if weighted:
        weight = _cascade(w.detach().reshape(-1).float().cpu().numpy().astype(np.float32)[rows], rows, rnd)
    else:
        weight = rnd(np.array([len(rows)], dtype=np.float32))[0]
    with np.errstate(all="ignore"):  # 0 / 0 is NaN, as in PyTorch
        return float(rnd(np.array([total / weight], dtype=np.float32))[0])


class _WithValue(Function):
    """``reduced`` (its graph, its gradient) holding the number ``value`` instead."""

    @staticmethod
    def forward(ctx, reduced, value):  # noqa: ANN001, ANN205
        return reduced.detach().clone().fill_(value)

    @staticmethod
    def backward(ctx, g):  # noqa: ANN001, ANN205
        return g, None


def with_value(reduced: Any, value: float) -> Any:
    return _WithValue.apply(reduced, value)
