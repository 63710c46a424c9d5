"""Position-sensitive RoI Align (R-FCN with RoI Align sampling): bin ``(i, j)`` of output channel ``c``
averages bilinear samples of input channel ``(c * PH + i) * PW + j``.

Example:
    >>> import ember
    >>> x = ember.arange(4.0).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    >>> ps_roi_align(x, ember.tensor([[0.0, 0.0, 0.0, 2.0, 2.0]]), output_size=2)
    tensor([[[[0., 1.],
              [2., 3.]]]])
"""

from __future__ import annotations

from collections.abc import Sequence

import ember
from ember import nn

from ._roi_utils import _as_rois, _check_ps_channels, _host_rois, _pair
from .roi_align import _sample_bins

__all__ = ["ps_roi_align", "PSRoIAlign"]


def ps_roi_align(
    input: ember.Tensor,
    boxes: ember.Tensor | Sequence[ember.Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
) -> ember.Tensor:
    """Position-sensitive RoI Align: ``[K, C / (PH * PW), PH, PW]``.

    Sampling as :func:`roi_align` with ``aligned=True`` (the box shifted by -0.5 pixel, not stretched to
    1x1), each bin from its own group of channels; ``C`` must be a multiple of ``PH * PW``. The average
    divides by the grid size as torchvision does (an adaptive grid of 0 samples gives nan).
    Differentiable in ``input``.

    Example:
        >>> import ember
        >>> ps_roi_align(ember.ones(1, 8, 4, 4), [ember.tensor([[0.0, 0.0, 4.0, 4.0]])], 2, sampling_ratio=2).shape
        ember.Size([1, 2, 2, 2])
    """
    rois = _as_rois(boxes)
    pooled = _pair(output_size)
    host = _host_rois(input, rois, "input should have the same type as rois")
    _check_ps_channels(input.size(1), pooled)
    return _sample_bins(input, host, pooled, spatial_scale, sampling_ratio, aligned=True, position_sensitive=True)


class PSRoIAlign(nn.Module):
    """See :func:`ps_roi_align`.

    Example:
        >>> PSRoIAlign(output_size=2, spatial_scale=0.25, sampling_ratio=2)
        PSRoIAlign(output_size=2, spatial_scale=0.25, sampling_ratio=2)
    """

    def __init__(self, output_size: int | tuple[int, int], spatial_scale: float, sampling_ratio: int) -> None:
        super().__init__()
        self.output_size = output_size
        self.spatial_scale = spatial_scale
        self.sampling_ratio = sampling_ratio

    def forward(self, input: ember.Tensor, rois: ember.Tensor | Sequence[ember.Tensor]) -> ember.Tensor:
        return ps_roi_align(input, rois, self.output_size, self.spatial_scale, self.sampling_ratio)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(output_size={self.output_size}, spatial_scale={self.spatial_scale}, "
            f"sampling_ratio={self.sampling_ratio})"
        )
