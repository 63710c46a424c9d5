"""The machinery shared by ``roi_align``, ``roi_pool``, ``ps_roi_align`` and ``ps_roi_pool``.

torchvision runs these as compiled loops over RoIs, bins and sampling points. Here they are a few
vectorised ember ops, so they run on every device and autograd differentiates them:

* the host turns the (few) RoI coordinates into, per RoI and per axis, the rows (or columns) each bin
  reads and the weight of each: bilinear taps for the align ops, window membership for the pool ops.
  This is torchvision's own "pre-calculation" of indices and weights (its ``PreCalc``), computed with
  NumPy in the input's dtype so the arithmetic, and thus the sampling positions, are the kernel's;
* the device gathers, in one indexing op, the ``[K, C, PH, Ly, PW, Lx]`` values those rows and
  columns select, and reduces them: bilinear interpolation is separable, so an average of bilinear
  samples on a product grid is a weighted sum over rows, then over columns.

RoIs needing different numbers of taps (adaptive sampling, windows of different sizes) are grouped by
that number, and a group is split so that one gather holds at most ``_MAX_GATHER`` values: a loop over
groups and chunks of RoIs, never over single RoIs.

Example:
    >>> import ember
    >>> _convert_boxes_to_roi_format([ember.tensor([[0.0, 0.0, 1.0, 1.0]]), ember.tensor([[1.0, 1.0, 2.0, 2.0]])])
    tensor([[0., 0., 0., 1., 1.],
            [1., 1., 1., 2., 2.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import ember

# Values one gather may hold (the int64 index alongside is twice the bytes of float32 values).
_MAX_GATHER = 1 << 22

# float32's largest value: torchvision's roi_pool starts each bin's maximum there (-FLT_MAX)
_FLT_MAX = float(np.finfo(np.float32).max)

_NP_TYPES = {ember.float16: np.float16, ember.float32: np.float32, ember.float64: np.float64}


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, (list, tuple)):
        return (int(size[0]), int(size[1])) if len(size) > 1 else (int(size[0]), int(size[0]))
    return int(size), int(size)


def _check_roi_boxes_shape(boxes: Any) -> None:
    # torchvision checks with torch._assert: AssertionError and its wording
    if isinstance(boxes, (list, tuple)):
        for t in boxes:
            if t.size(1) != 4:
                raise AssertionError("The shape of the tensor in the boxes list is not correct as List[Tensor[L, 4]]")
    elif isinstance(boxes, ember.Tensor):
        if boxes.size(1) != 5:
            raise AssertionError("The boxes tensor shape is not correct as Tensor[K, 5]")
    else:
        raise AssertionError("boxes is expected to be a Tensor[L, 5] or a List[Tensor[K, 4]]")


def _convert_boxes_to_roi_format(boxes: Sequence[ember.Tensor]) -> ember.Tensor:
    """Per-image ``[L, 4]`` boxes to one ``[K, 5]`` tensor whose first column is the image index."""
    concat = boxes[0] if len(boxes) == 1 else ember.cat(list(boxes), dim=0)
    ids = [ember.full_like(b[:, :1], i) for i, b in enumerate(boxes)]
    return ember.cat([ids[0] if len(ids) == 1 else ember.cat(ids, dim=0), concat], dim=1)


def _as_rois(boxes: ember.Tensor | Sequence[ember.Tensor]) -> ember.Tensor:
    _check_roi_boxes_shape(boxes)
    return boxes if isinstance(boxes, ember.Tensor) else _convert_boxes_to_roi_format(boxes)


def _host_rois(input: ember.Tensor, rois: ember.Tensor, same_type_message: str) -> np.ndarray:
    if input.dtype != rois.dtype:
        raise RuntimeError(same_type_message)
    if input.dim() != 4:
        raise RuntimeError(f"input must be a 4-D tensor [N, C, H, W], got {input.dim()}-D")
    if input.dtype not in _NP_TYPES:
        raise RuntimeError(f"RoI ops support float16, float32 and float64 inputs, got {input.dtype}")
    # RoIs get no gradient (as in torchvision): only their values are used, on the host
    return rois.detach().cpu().numpy()


def _check_ps_channels(channels: int, pooled: tuple[int, int]) -> int:
    if channels % (pooled[0] * pooled[1]) != 0:
        raise RuntimeError("input channels must be a multiple of pooling height * pooling width")
    return channels // (pooled[0] * pooled[1])


def _bilinear_taps(
    start: np.ndarray, bin_size: np.ndarray, grid: np.ndarray, n_grid: int, pooled: int, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows (or columns) and weights of the bilinear samples along one axis: ``[K, pooled, 2 * n_grid]``.

    Sample ``s`` of bin ``p`` sits at ``start + p * bin + (s + 0.5) * bin / grid`` (torchvision's
    expression, in its order of operations and the input's dtype); samples ``s >= grid`` (RoIs of the
    group with fewer samples) and samples outside ``[-1, size]`` weigh 0. A coordinate below 0 reads
    row 0, one past ``size - 1`` reads the last row.
    """
    t = start.dtype.type
    p = np.arange(pooled, dtype=start.dtype)[None, :, None]
    s = np.arange(n_grid, dtype=start.dtype)[None, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        coord = (start[:, None, None] + p * bin_size[:, None, None]) + (
            (s + t(0.5)) * bin_size[:, None, None]
        ) / grid.astype(start.dtype)[:, None, None]
    used = (np.arange(n_grid)[None, None, :] < grid[:, None, None]) & (coord >= -1) & (coord <= size)
    coord = np.where(used & (coord > 0), coord, t(0))
    low = coord.astype(np.int64)
    edge = low >= size - 1
    low = np.where(edge, size - 1, low)
    high = np.where(edge, size - 1, low + 1)
    coord = np.where(edge, low.astype(start.dtype), coord)
    frac = coord - low.astype(start.dtype)
    w_low = np.where(used, t(1) - frac, t(0))
    w_high = np.where(used, frac, t(0))
    k = start.shape[0]
    idx = np.stack([low, high], axis=-1).reshape(k, pooled, 2 * n_grid)
    w = np.stack([w_low, w_high], axis=-1).reshape(k, pooled, 2 * n_grid)
    return idx, w


def _window_taps(start: np.ndarray, stop: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (or columns) ``start + j`` of windows ``[start, stop)``, padded to ``length``:
    ``[K, P, length]`` indices and a mask of the real ones."""
    j = np.arange(length)[None, None, :]
    inside = j < (stop - start)[..., None]
    idx = np.where(inside, start[..., None] + j, 0)
    return idx, inside


def _gather(
    input: ember.Tensor,
    batch: np.ndarray,
    channels: ember.Tensor,
    rows: np.ndarray,
    cols: np.ndarray,
) -> ember.Tensor:
    """``input[batch, channels, rows, cols]`` broadcast to ``[K, Cout, PH, Ly, PW, Lx]``.

    ``channels`` is ``[Cout, 1, 1]`` (every channel in every bin) or ``[Cout, PH, PW]`` (the
    position-sensitive ops: each bin reads its own channel). One flat index, built on the device from
    the small per-RoI tensors, so autograd scatters the gradient back with one index op.
    """
    n, c, h, w = input.shape
    dev = input.device
    k, ph, ly = rows.shape
    pw, lx = cols.shape[1:]
    b = ember.tensor(batch, dtype=ember.int64, device=dev).view(k, 1, 1, 1, 1, 1)
    y = ember.tensor(rows, dtype=ember.int64, device=dev).view(k, 1, ph, ly, 1, 1)
    x = ember.tensor(cols, dtype=ember.int64, device=dev).view(k, 1, 1, 1, pw, lx)
    ch = channels.view(1, channels.size(0), channels.size(1), 1, channels.size(2), 1)
    index = ((b * c + ch) * h + y) * w + x
    return input.reshape(-1)[index]


def _weighted_sum(patch: ember.Tensor, wy: np.ndarray, wx: np.ndarray) -> ember.Tensor:
    """``sum_{a, b} wy[k, ph, a] * patch[k, c, ph, a, pw, b] * wx[k, pw, b]``: ``[K, Cout, PH, PW]``."""
    k, ph, ly = wy.shape
    pw, lx = wx.shape[1:]
    dev, dt = patch.device, patch.dtype
    wx_t = ember.tensor(wx, dtype=dt, device=dev).view(k, 1, 1, 1, pw, lx)
    wy_t = ember.tensor(wy, dtype=dt, device=dev).view(k, 1, ph, ly, 1)
    return ((patch * wx_t).sum(-1) * wy_t).sum(3)


def _by_groups(
    input: ember.Tensor,
    taps: np.ndarray,
    values_per_roi: Callable[[int, int], int],
    pool: Callable[[np.ndarray], ember.Tensor],
    out_shape: tuple[int, int, int],
) -> ember.Tensor:
    """Runs ``pool(roi_indices)`` on groups of RoIs with equal ``taps`` (``[K, 2]``: taps per bin along
    y and x), each cut to at most ``_MAX_GATHER`` gathered values, and puts the results back in RoI order.
    """
    k = taps.shape[0]
    if k == 0 or input.numel() == 0:
        return ember.zeros((k, *out_shape), dtype=input.dtype, device=input.device)
    keys, inverse = np.unique(taps, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    parts: list[ember.Tensor] = []
    order: list[np.ndarray] = []
    for g, (ly, lx) in enumerate(keys):
        members = np.flatnonzero(inverse == g)
        step = max(1, _MAX_GATHER // max(1, values_per_roi(int(ly), int(lx))))
        for first in range(0, members.size, step):
            chunk = members[first:first + step]
            parts.append(pool(chunk))
            order.append(chunk)
    out = parts[0] if len(parts) == 1 else ember.cat(parts, dim=0)
    placed = np.concatenate(order)
    if np.array_equal(placed, np.arange(k)):
        return out
    return out[ember.tensor(np.argsort(placed, kind="stable"), dtype=ember.int64, device=input.device)]
