"""RoI Align (He et al., Mask R-CNN): average of bilinear samples in each bin of each region.

Example:
    >>> import ember
    >>> x = ember.arange(16.0).view(1, 1, 4, 4)
    >>> roi_align(x, ember.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]]), output_size=1, sampling_ratio=1)
    tensor([[[[5.]]]])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import ember
from ember import nn

from ._roi_utils import _as_rois, _bilinear_taps, _by_groups, _gather, _host_rois, _pair, _weighted_sum

__all__ = ["roi_align", "RoIAlign"]


def _align_geometry(
    rois: np.ndarray, spatial_scale: float, pooled: tuple[int, int], sampling_ratio: int, offset: float, clamp: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per RoI, in the input's dtype as torchvision's kernels compute them: the start and bin size along
    y and x, and the number of samples per bin along each (``sampling_ratio``, or adaptive:
    ``ceil(roi_size / pooled)``, which is <= 0 for an empty or reversed aligned RoI)."""
    t = rois.dtype.type
    scale, off = t(spatial_scale), t(offset)
    start_w, start_h = rois[:, 1] * scale - off, rois[:, 2] * scale - off
    end_w, end_h = rois[:, 3] * scale - off, rois[:, 4] * scale - off
    width, height = end_w - start_w, end_h - start_h
    if clamp:  # the legacy (aligned=False) RoI: at least 1x1
        width, height = np.maximum(width, t(1)), np.maximum(height, t(1))
    bin_h, bin_w = height / t(pooled[0]), width / t(pooled[1])
    if sampling_ratio > 0:
        grid_h = np.full(rois.shape[0], sampling_ratio, dtype=np.int64)
        grid_w = grid_h
    else:
        grid_h, grid_w = np.ceil(bin_h).astype(np.int64), np.ceil(bin_w).astype(np.int64)
    return start_h, start_w, bin_h, bin_w, grid_h, grid_w


def _sample_bins(
    input: ember.Tensor,
    rois: np.ndarray,
    pooled: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
    aligned: bool,
    position_sensitive: bool,
) -> ember.Tensor:
    """The sum of each bin's bilinear samples over its count, for ``roi_align`` and ``ps_roi_align``."""
    n, c, h, w = input.shape
    ph, pw = pooled
    start_h, start_w, bin_h, bin_w, grid_h, grid_w = _align_geometry(
        rois, spatial_scale, pooled, sampling_ratio, 0.5 if aligned else 0.0, clamp=not aligned
    )
    # samples taken per bin: none where an adaptive grid came out <= 0
    used_h, used_w = np.maximum(grid_h, 0), np.maximum(grid_w, 0)
    if position_sensitive:
        c_out = c // (ph * pw)
        # torchvision's ps_roi_align divides by the grid product as it is (0 gives nan, as there)
        count = (grid_h * grid_w).astype(rois.dtype)
        channels = ember.arange(c, device=input.device).view(c_out, ph, pw)  # bin (ph, pw) reads its own channel
    else:
        c_out = c
        count = np.maximum(grid_h * grid_w, 1).astype(rois.dtype)
        channels = ember.arange(c, device=input.device).view(c, 1, 1)
    batch = rois[:, 0].astype(np.int64)

    def pool(sel: np.ndarray) -> ember.Tensor:
        gh, gw = int(used_h[sel[0]]), int(used_w[sel[0]])
        if gh == 0 or gw == 0:  # no sample at all: 0 (or 0 / 0 where torchvision divides by 0)
            zero = ember.zeros((sel.size, c_out, ph, pw), dtype=input.dtype, device=input.device)
            return zero / ember.tensor(count[sel], device=input.device).view(-1, 1, 1, 1)
        rows, wy = _bilinear_taps(start_h[sel], bin_h[sel], grid_h[sel], gh, ph, h)
        cols, wx = _bilinear_taps(start_w[sel], bin_w[sel], grid_w[sel], gw, pw, w)
        out = _weighted_sum(_gather(input, batch[sel], channels, rows, cols), wy, wx)
        return out / ember.tensor(count[sel], device=input.device).view(-1, 1, 1, 1)

    taps = np.stack([used_h, used_w], axis=1)
    return _by_groups(input, taps, lambda gy, gx: c_out * ph * pw * 4 * gy * gx, pool, (c_out, ph, pw))


def roi_align(
    input: ember.Tensor,
    boxes: ember.Tensor | Sequence[ember.Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> ember.Tensor:
    """RoI Align: ``[K, C, output_size[0], output_size[1]]``, each bin the average of bilinear samples.

    ``boxes`` is ``Tensor[K, 5]`` (batch index, x1, y1, x2, y2) or a list of per-image ``Tensor[L, 4]``,
    in input coordinates times ``1 / spatial_scale``. Each bin takes ``sampling_ratio`` x
    ``sampling_ratio`` samples, or ``ceil(roi_size / output_size)`` along each axis when
    ``sampling_ratio <= 0``. ``aligned=True`` shifts the box by -0.5 pixel (Detectron2's alignment);
    ``aligned=False`` (legacy) stretches a box smaller than one pixel to 1x1. Differentiable in
    ``input`` (the boxes get no gradient, as in torchvision).

    Example:
        >>> import ember
        >>> x = ember.arange(16.0).view(1, 1, 4, 4)
        >>> roi_align(x, [ember.tensor([[0.0, 0.0, 3.0, 3.0]])], output_size=2, aligned=True).shape
        ember.Size([1, 1, 2, 2])
    """
    rois = _as_rois(boxes)
    pooled = _pair(output_size)
    host = _host_rois(input, rois, "input should have the same type as rois")
    return _sample_bins(input, host, pooled, spatial_scale, sampling_ratio, aligned, position_sensitive=False)


class RoIAlign(nn.Module):
    """See :func:`roi_align`.

    Example:
        >>> import ember
        >>> m = RoIAlign((2, 2), spatial_scale=0.5, sampling_ratio=2)
        >>> m(ember.ones(1, 3, 8, 8), ember.tensor([[0.0, 0.0, 0.0, 8.0, 8.0]])).shape
        ember.Size([1, 3, 2, 2])
    """

    def __init__(
        self, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int, aligned: bool = False
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio
        self.aligned = aligned

    def forward(self, input: ember.Tensor, rois: ember.Tensor | Sequence[ember.Tensor]) -> ember.Tensor:
        return roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio, self.aligned)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio}, aligned={self.aligned})"
        )
