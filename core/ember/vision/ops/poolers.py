"""Multi-scale RoI Align (the pooler of torchvision's detection models): each box is pooled from the
feature-pyramid level its size maps to (eq. 1 of the FPN paper, https://arxiv.org/abs/1612.03144).

Example:
    >>> import ember
    >>> from collections import OrderedDict
    >>> m = MultiScaleRoIAlign(["feat1", "feat3"], 3, 2)
    >>> x = OrderedDict(feat1=ember.rand(1, 5, 64, 64), feat2=ember.rand(1, 5, 32, 32), feat3=ember.rand(1, 5, 16, 16))
    >>> boxes = ember.tensor([[0.0, 0.0, 64.0, 64.0], [10.0, 10.0, 400.0, 300.0]])
    >>> m(x, [boxes], [(512, 512)]).shape
    ember.Size([2, 5, 3, 3])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import ember
from ember import nn

from .boxes import box_area
from .roi_align import roi_align

__all__ = ["MultiScaleRoIAlign", "LevelMapper", "initLevelMapper"]


class LevelMapper:
    """Maps each box to a pyramid level: ``floor(canonical_level + log2(sqrt(area) / canonical_scale) +
    eps)``, clamped to ``[k_min, k_max]`` and returned relative to ``k_min`` (int64).

    Example:
        >>> import ember
        >>> LevelMapper(2, 5)([ember.tensor([[0.0, 0.0, 224.0, 224.0], [0.0, 0.0, 10.0, 10.0]])])
        tensor([2, 0])
    """

    def __init__(self, k_min: int, k_max: int, canonical_scale: int = 224, canonical_level: int = 4,
                 eps: float = 1e-6) -> None:
        self.k_min = k_min
        self.k_max = k_max
        self.s0 = canonical_scale
        self.lvl0 = canonical_level
        self.eps = eps

    def __call__(self, boxlists: Sequence[ember.Tensor]) -> ember.Tensor:
        s = ember.sqrt(ember.cat([box_area(boxlist) for boxlist in boxlists]))
        target_lvls = ember.floor(self.lvl0 + ember.log2(s / self.s0) + ember.tensor(self.eps, dtype=s.dtype))
        target_lvls = ember.clamp(target_lvls, min=self.k_min, max=self.k_max)
        return target_lvls.to(ember.int64) - self.k_min


def initLevelMapper(k_min: int, k_max: int, canonical_scale: int = 224, canonical_level: int = 4,
                    eps: float = 1e-6) -> LevelMapper:
    """torchvision's factory of :class:`LevelMapper`."""
    return LevelMapper(k_min, k_max, canonical_scale, canonical_level, eps)


def _convert_to_roi_format(boxes: Sequence[ember.Tensor]) -> ember.Tensor:
    concat_boxes = ember.cat(list(boxes), dim=0)
    device, dtype = concat_boxes.device, concat_boxes.dtype
    ids = ember.cat([ember.full_like(b[:, :1], i, dtype=dtype, device=device) for i, b in enumerate(boxes)], dim=0)
    return ember.cat([ids, concat_boxes], dim=1)


def _infer_scale(feature: ember.Tensor, original_size: Sequence[int]) -> float:
    # the power of two nearest to feature size / image size (log2 rounded in float32, as torchvision)
    possible_scales = []
    for s1, s2 in zip(feature.shape[-2:], original_size):
        approx_scale = float(s1) / float(s2)
        possible_scales.append(2 ** float(ember.tensor(approx_scale).log2().round()))
    return possible_scales[0]


def _setup_scales(features: Sequence[ember.Tensor], image_shapes: Sequence[tuple[int, int]], canonical_scale: int,
                  canonical_level: int) -> tuple[list[float], LevelMapper]:
    if not image_shapes:
        raise ValueError("images list should not be empty")
    max_x = max(shape[0] for shape in image_shapes)
    max_y = max(shape[1] for shape in image_shapes)
    scales = [_infer_scale(feat, (max_x, max_y)) for feat in features]
    lvl_min = -math.log2(scales[0])
    lvl_max = -math.log2(scales[-1])
    mapper = initLevelMapper(int(lvl_min), int(lvl_max), canonical_scale=canonical_scale,
                             canonical_level=canonical_level)
    return scales, mapper


def _filter_input(x: dict[str, ember.Tensor], featmap_names: Sequence[str]) -> list[ember.Tensor]:
    return [v for k, v in x.items() if k in featmap_names]


def _multiscale_roi_align(x_filtered: Sequence[ember.Tensor], boxes: Sequence[ember.Tensor],
                          output_size: tuple[int, int], sampling_ratio: int, scales: Sequence[float] | None,
                          mapper: LevelMapper | None) -> ember.Tensor:
    if scales is None or mapper is None:
        raise ValueError("scales and mapper should not be None")
    rois = _convert_to_roi_format(boxes)
    if len(x_filtered) == 1:
        return roi_align(x_filtered[0], rois, output_size=output_size, spatial_scale=scales[0],
                         sampling_ratio=sampling_ratio)
    levels = mapper(boxes)
    dtype = x_filtered[0].dtype
    parts, placed = [], []
    # one roi_align per level (a loop over levels); the results go back in box order by one permutation
    for level, (feature, scale) in enumerate(zip(x_filtered, scales)):
        idx_in_level = ember.where(levels == level)[0]
        pooled = roi_align(feature, rois[idx_in_level], output_size=output_size, spatial_scale=scale,
                           sampling_ratio=sampling_ratio)
        parts.append(pooled.to(dtype))
        placed.append(idx_in_level)
    return ember.cat(parts, dim=0)[ember.argsort(ember.cat(placed))]


class MultiScaleRoIAlign(nn.Module):
    """RoI Align over several feature maps: each box goes to the level of the FPN heuristic, with the
    level scales inferred (once) from the feature and image sizes.

    ``canonical_scale`` and ``canonical_level`` are the 224 and ``k0 = 4`` of the FPN paper's eq. 1: a
    ``224 x 224`` box is pooled from level 4. Input: an ordered dict of ``[N, C, H_l, W_l]`` features
    (those named in ``featmap_names`` are used), per-image ``[L, 4]`` boxes in image coordinates, and
    the image sizes ``(height, width)``. Output: ``[K, C, output_size[0], output_size[1]]``.

    Example:
        >>> MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2)
        MultiScaleRoIAlign(featmap_names=['0'], output_size=(7, 7), sampling_ratio=2)
    """

    def __init__(self, featmap_names: list[str], output_size: int | tuple[int, ...] | list[int], sampling_ratio: int,
                 *, canonical_scale: int = 224, canonical_level: int = 4) -> None:
        super().__init__()
        if isinstance(output_size, int):
            output_size = (output_size, output_size)
        self.featmap_names = featmap_names
        self.sampling_ratio = sampling_ratio
        self.output_size = tuple(output_size)
        self.scales: list[float] | None = None
        self.map_levels: LevelMapper | None = None
        self.canonical_scale = canonical_scale
        self.canonical_level = canonical_level

    def forward(self, x: dict[str, ember.Tensor], boxes: list[ember.Tensor],
                image_shapes: list[tuple[int, int]]) -> ember.Tensor:
        x_filtered = _filter_input(x, self.featmap_names)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = _setup_scales(x_filtered, image_shapes, self.canonical_scale,
                                                         self.canonical_level)
        return _multiscale_roi_align(x_filtered, boxes, self.output_size, self.sampling_ratio, self.scales,
                                     self.map_levels)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(featmap_names={self.featmap_names}, "
                f"output_size={self.output_size}, sampling_ratio={self.sampling_ratio})")
