"""RoI Pool (Girshick, Fast R-CNN): the maximum over each bin of each region, on the integer grid.

Example:
    >>> import ember
    >>> x = ember.arange(16.0).view(1, 1, 4, 4)
    >>> roi_pool(x, ember.tensor([[0.0, 0.0, 0.0, 3.0, 3.0]]), output_size=2)
    tensor([[[[ 5.,  7.],
              [13., 15.]]]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import ember
from ember import nn

from ._roi_utils import _FLT_MAX, _as_rois, _by_groups, _gather, _host_rois, _pair, _window_taps

__all__ = ["roi_pool", "RoIPool"]


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's ``round``: halves away from zero (NumPy's rounds them to even)."""
    r = np.trunc(x)
    return (r + np.where(np.abs(x - r) >= 0.5, np.sign(x), 0)).astype(np.int64)


def _pool_windows(
    rois: np.ndarray, spatial_scale: float, pooled: tuple[int, int], size: tuple[int, int], extra: int, clip: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each bin's window ``[start, stop)`` along y (``[K, PH]``) and x (``[K, PW]``), as torchvision's
    pool kernels compute it: the RoI rounded to the grid, ``extra`` pixels added to its size (1 for
    roi_pool, 0 for ps_roi_pool), bins of ``floor(p * bin)`` to ``ceil((p + 1) * bin)``, clipped to
    ``[0, size - clip]``."""
    t = rois.dtype.type
    scale = t(spatial_scale)
    start_w, start_h = _round_half_away(rois[:, 1] * scale), _round_half_away(rois[:, 2] * scale)
    end_w, end_h = _round_half_away(rois[:, 3] * scale), _round_half_away(rois[:, 4] * scale)
    out = []
    for start, end, n_bins, limit in ((start_h, end_h, pooled[0], size[0]), (start_w, end_w, pooled[1], size[1])):
        length = np.maximum(end - start + extra, 1)  # a malformed RoI counts as one pixel
        bin_size = length.astype(rois.dtype) / t(n_bins)
        p = np.arange(n_bins, dtype=rois.dtype)[None, :]
        lo = np.floor(p * bin_size[:, None]).astype(np.int64) + start[:, None]
        hi = np.ceil((p + t(1)) * bin_size[:, None]).astype(np.int64) + start[:, None]
        out += [np.clip(lo, 0, limit - clip), np.clip(hi, 0, limit - clip)]
    return out[0], out[1], out[2], out[3]


def roi_pool(
    input: ember.Tensor,
    boxes: ember.Tensor | Sequence[ember.Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> ember.Tensor:
    """RoI Pool: ``[K, C, output_size[0], output_size[1]]``, each bin the maximum of its pixels.

    The box (``Tensor[K, 5]`` or a list of per-image ``Tensor[L, 4]``, scaled by ``spatial_scale``) is
    rounded to pixels, both ends included, and cut into bins of ``floor``/``ceil`` edges; an empty bin
    gives 0. The gradient goes to the first maximum of each bin in row-major order, as torchvision's.

    Example:
        >>> import ember
        >>> x = ember.arange(16.0).view(1, 1, 4, 4)
        >>> roi_pool(x, [ember.tensor([[1.0, 1.0, 2.0, 2.0]])], output_size=1)
        tensor([[[[10.]]]])
    """
    rois = _as_rois(boxes)
    pooled = _pair(output_size)
    host = _host_rois(input, rois, "input and rois must have the same dtype")
    n, c, h, w = input.shape
    ph, pw = pooled
    h0, h1, w0, w1 = _pool_windows(host, spatial_scale, pooled, (h, w), extra=1, clip=0)
    taps = np.stack([(h1 - h0).max(axis=1, initial=0), (w1 - w0).max(axis=1, initial=0)], axis=1)
    batch = host[:, 0].astype(np.int64)
    channels = ember.arange(c, device=input.device).view(c, 1, 1)

    def pool(sel: np.ndarray) -> ember.Tensor:
        ly, lx = max(int(taps[sel[0], 0]), 1), max(int(taps[sel[0], 1]), 1)
        rows, in_y = _window_taps(h0[sel], h1[sel], ly)
        cols, in_x = _window_taps(w0[sel], w1[sel], lx)
        k = sel.size
        patch = _gather(input, batch[sel], channels, rows, cols)  # [k, C, PH, ly, PW, lx]
        inside = ember.tensor(in_y, device=input.device).view(k, 1, ph, ly, 1, 1) & ember.tensor(
            in_x, device=input.device
        ).view(k, 1, 1, 1, pw, lx)
        patch = ember.where(inside, patch, ember.tensor(float("-inf"), dtype=input.dtype, device=input.device))
        # row-major window order, so that max() picks (and back-propagates to) the kernel's first maximum
        best = patch.permute(0, 1, 2, 4, 3, 5).reshape(k, c, ph, pw, ly * lx).max(dim=-1).values
        empty = ember.tensor(
            ((h1[sel] <= h0[sel])[:, :, None] | (w1[sel] <= w0[sel])[:, None, :]), device=input.device
        ).view(k, 1, ph, pw)
        # the kernel's running maximum starts at -FLT_MAX, and an empty bin is 0
        return ember.where(empty, ember.zeros((), dtype=input.dtype, device=input.device), best.clamp(min=-_FLT_MAX))

    return _by_groups(input, taps, lambda gy, gx: c * ph * pw * max(gy, 1) * max(gx, 1), pool, (c, ph, pw))


class RoIPool(nn.Module):
    """See :func:`roi_pool`.

    Example:
        >>> import ember
        >>> RoIPool(output_size=(2, 2), spatial_scale=1.0)
        RoIPool(output_size=(2, 2), spatial_scale=1.0)
    """

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale

    def forward(self, input: ember.Tensor, rois: ember.Tensor | Sequence[ember.Tensor]) -> ember.Tensor:
        return roi_pool(input, rois, self.output_size, self.spatial_scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale})"
