"""Position-sensitive RoI Pool (Dai et al., R-FCN): bin ``(i, j)`` of output channel ``c`` averages the
pixels of input channel ``(c * PH + i) * PW + j`` in that bin.

Example:
    >>> import ember
    >>> x = ember.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 4, 4)
    >>> ps_roi_pool(x, ember.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]]), output_size=2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import ember
from ember import nn

from ._roi_utils import (
    _as_rois,
    _by_groups,
    _check_ps_channels,
    _gather,
    _host_rois,
    _pair,
    _weighted_sum,
    _window_taps,
)
from .roi_pool import _pool_windows

__all__ = ["ps_roi_pool", "PSRoIPool"]


def ps_roi_pool(
    input: ember.Tensor,
    boxes: ember.Tensor | Sequence[ember.Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> ember.Tensor:
    """Position-sensitive RoI Pool: ``[K, C / (PH * PW), PH, PW]``, each bin the mean of its pixels in
    its own channel (0 for an empty bin).

    As torchvision's kernel, the box is rounded to pixels (its size ``x2 - x1``, at least 1) and the
    bins are clipped to ``[0, size - 1)``, so the last row and column are never read. Differentiable in
    ``input``: the gradient is that of this forward (torchvision's backward clips the bins to
    ``[0, size)`` instead, which differs for a bin reaching the last row or column).

    Example:
        >>> import ember
        >>> ps_roi_pool(ember.ones(1, 4, 5, 5), [ember.tensor([[0.0, 0.0, 4.0, 4.0]])], 2)
        tensor([[[[1., 1.],
                  [1., 1.]]]])
    """
    rois = _as_rois(boxes)
    pooled = _pair(output_size)
    host = _host_rois(input, rois, "input and rois must have the same dtype")
    c_out = _check_ps_channels(input.size(1), pooled)
    n, c, h, w = input.shape
    ph, pw = pooled
    h0, h1, w0, w1 = _pool_windows(host, spatial_scale, pooled, (h, w), extra=0, clip=1)
    taps = np.stack([(h1 - h0).max(axis=1, initial=0), (w1 - w0).max(axis=1, initial=0)], axis=1)
    batch = host[:, 0].astype(np.int64)
    channels = ember.arange(c, device=input.device).view(c_out, ph, pw)
    dtype = host.dtype.type

    def pool(sel: np.ndarray) -> ember.Tensor:
        ly, lx = max(int(taps[sel[0], 0]), 1), max(int(taps[sel[0], 1]), 1)
        rows, in_y = _window_taps(h0[sel], h1[sel], ly)
        cols, in_x = _window_taps(w0[sel], w1[sel], lx)
        total = _weighted_sum(_gather(input, batch[sel], channels, rows, cols), in_y.astype(dtype), in_x.astype(dtype))
        area = ((h1[sel] - h0[sel])[:, :, None] * (w1[sel] - w0[sel])[:, None, :]).astype(dtype)
        empty = (h1[sel] <= h0[sel])[:, :, None] | (w1[sel] <= w0[sel])[:, None, :]
        # 1 / area, and 0 for an empty bin (whose sum is 0 anyway)
        scale = np.where(empty, dtype(0), dtype(1) / np.where(empty, dtype(1), area))
        return total * ember.tensor(scale, dtype=input.dtype, device=input.device).view(-1, 1, ph, pw)

    return _by_groups(input, taps, lambda gy, gx: c_out * ph * pw * max(gy, 1) * max(gx, 1), pool, (c_out, ph, pw))


class PSRoIPool(nn.Module):
    """See :func:`ps_roi_pool`.

    Example:
        >>> PSRoIPool(output_size=(3, 3), spatial_scale=0.5)
        PSRoIPool(output_size=(3, 3), spatial_scale=0.5)
    """

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: ember.Tensor, rois: ember.Tensor | Sequence[ember.Tensor]) -> ember.Tensor:
        return ps_roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"
