"""Anchor generators: ``AnchorGenerator`` (R-CNN, RetinaNet, FCOS) and SSD's ``DefaultBoxGenerator``.

Example:
    >>> import ember
    >>> from .image_list import ImageList
    >>> gen = AnchorGenerator(((32,),), ((0.5, 1.0, 2.0),))
    >>> anchors = gen(ImageList(ember.zeros(1, 3, 64, 64), [(64, 64)]), [ember.zeros(1, 8, 4, 4)])
    >>> tuple(anchors[0].shape), anchors[0][1].tolist()
    ((48, 4), [-16.0, -16.0, 16.0, 16.0])
"""

from __future__ import annotations

import math

import ember
from ember import nn

from .image_list import ImageList

__all__ = ["AnchorGenerator", "DefaultBoxGenerator"]


class AnchorGenerator(nn.Module):
    """Anchors for a set of feature maps: per map, one anchor per (size, aspect ratio) at each cell,
    centred on the cell's top-left pixel in the padded image. ``sizes[i]`` and ``aspect_ratios[i]``
    belong to the i-th feature map; an aspect ratio is height / width."""

    def __init__(self, sizes: tuple = ((128, 256, 512),), aspect_ratios: tuple = ((0.5, 1.0, 2.0),)) -> None:
        super().__init__()
        if not isinstance(sizes[0], (list, tuple)):
            sizes = tuple((s,) for s in sizes)
        if not isinstance(aspect_ratios[0], (list, tuple)):
            aspect_ratios = (aspect_ratios,) * len(sizes)
        self.sizes = sizes
        self.aspect_ratios = aspect_ratios
        self.cell_anchors = [self.generate_anchors(s, a) for s, a in zip(sizes, aspect_ratios)]

    def generate_anchors(self, scales: list[int], aspect_ratios: list[float], dtype: ember.dtype = ember.float32,
                         device: ember.device | str = "cpu") -> ember.Tensor:
        """Zero-centred ``(x1, y1, x2, y2)`` anchors, ratio-major, rounded to whole pixels."""
        scales = ember.as_tensor(scales, dtype=dtype, device=device)
        aspect_ratios = ember.as_tensor(aspect_ratios, dtype=dtype, device=device)
        h_ratios = ember.sqrt(aspect_ratios)
        w_ratios = 1 / h_ratios
        ws = (w_ratios[:, None] * scales[None, :]).view(-1)
        hs = (h_ratios[:, None] * scales[None, :]).view(-1)
        return (ember.stack([-ws, -hs, ws, hs], dim=1) / 2).round()

    def set_cell_anchors(self, dtype: ember.dtype, device: ember.device | str) -> None:
        self.cell_anchors = [a.to(dtype=dtype, device=device) for a in self.cell_anchors]

    def num_anchors_per_location(self) -> list[int]:
        return [len(s) * len(a) for s, a in zip(self.sizes, self.aspect_ratios)]

    def grid_anchors(self, grid_sizes: list[list[int]], strides: list[list[int]]) -> list[ember.Tensor]:
        if not (len(grid_sizes) == len(strides) == len(self.cell_anchors)):
            raise AssertionError("Anchors should be Tuple[Tuple[int]] because each feature map could potentially "
                                 "have different sizes and aspect ratios. There needs to be a match between the "
                                 "number of feature maps passed and the number of sizes / aspect ratios specified.")
        anchors = []
        for (grid_h, grid_w), (stride_h, stride_w), base in zip(grid_sizes, strides, self.cell_anchors):
            device = base.device
            shifts_x = ember.arange(0, grid_w, dtype=ember.int32, device=device) * stride_w
            shifts_y = ember.arange(0, grid_h, dtype=ember.int32, device=device) * stride_h
            shift_y, shift_x = ember.meshgrid(shifts_y, shifts_x, indexing="ij")
            shift_x, shift_y = shift_x.reshape(-1), shift_y.reshape(-1)
            shifts = ember.stack((shift_x, shift_y, shift_x, shift_y), dim=1)
            # each cell offsets all its base anchors: [cells, A, 4] flattened cell-major
            anchors.append((shifts.view(-1, 1, 4) + base.view(1, -1, 4)).reshape(-1, 4))
        return anchors

    def forward(self, image_list: ImageList, feature_maps: list[ember.Tensor]) -> list[ember.Tensor]:
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        image_size = tuple(image_list.tensors.shape[-2:])
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        strides = [[image_size[0] // g[0], image_size[1] // g[1]] for g in grid_sizes]
        self.set_cell_anchors(dtype, device)
        per_map = self.grid_anchors(grid_sizes, strides)
        # one tensor per image (not one shared object), as torchvision
        return [ember.cat(per_map) for _ in range(len(image_list.image_sizes))]


class DefaultBoxGenerator(nn.Module):
    """SSD's default boxes: for map k, two squares (``s_k`` and ``sqrt(s_k s_{k+1})``) and two boxes per
    extra aspect ratio, at every cell centre; scales are fractions of the image (``min_ratio`` to
    ``max_ratio`` when ``scales`` isn't given), clipped to [0, 1] when ``clip``."""

    def __init__(self, aspect_ratios: list[list[int]], min_ratio: float = 0.15, max_ratio: float = 0.9,
                 scales: list[float] | None = None, steps: list[int] | None = None, clip: bool = True) -> None:
        super().__init__()
        if steps is not None and len(aspect_ratios) != len(steps):
            raise ValueError("aspect_ratios and steps should have the same length")
        self.aspect_ratios = aspect_ratios
        self.steps = steps
        self.clip = clip
        num_outputs = len(aspect_ratios)
        if scales is None:
            if num_outputs > 1:
                range_ratio = max_ratio - min_ratio
                self.scales = [min_ratio + range_ratio * k / (num_outputs - 1.0) for k in range(num_outputs)]
                self.scales.append(1.0)
            else:
                self.scales = [min_ratio, max_ratio]
        else:
            self.scales = scales
        self._wh_pairs = self._generate_wh_pairs(num_outputs)

    def _generate_wh_pairs(self, num_outputs: int, dtype: ember.dtype = ember.float32,
                           device: ember.device | str = "cpu") -> list[ember.Tensor]:
        pairs = []
        for k in range(num_outputs):
            s_k = self.scales[k]
            s_prime_k = math.sqrt(self.scales[k] * self.scales[k + 1])
            wh = [[s_k, s_k], [s_prime_k, s_prime_k]]
            for ar in self.aspect_ratios[k]:
                sq = math.sqrt(ar)
                w, h = self.scales[k] * sq, self.scales[k] / sq
                wh.extend([[w, h], [h, w]])
            pairs.append(ember.as_tensor(wh, dtype=dtype, device=device))
        return pairs

    def num_anchors_per_location(self) -> list[int]:
        return [2 + 2 * len(r) for r in self.aspect_ratios]

    def _grid_default_boxes(self, grid_sizes: list[list[int]], image_size: list[int],
                            dtype: ember.dtype = ember.float32) -> ember.Tensor:
        boxes = []
        for k, f_k in enumerate(grid_sizes):
            if self.steps is not None:
                x_f_k, y_f_k = image_size[1] / self.steps[k], image_size[0] / self.steps[k]
            else:
                y_f_k, x_f_k = f_k
            shifts_x = ((ember.arange(0, f_k[1]) + 0.5) / x_f_k).to(dtype=dtype)
            shifts_y = ((ember.arange(0, f_k[0]) + 0.5) / y_f_k).to(dtype=dtype)
            shift_y, shift_x = ember.meshgrid(shifts_y, shifts_x, indexing="ij")
            shifts = ember.stack((shift_x.reshape(-1), shift_y.reshape(-1)) * len(self._wh_pairs[k]),
                                 dim=-1).reshape(-1, 2)
            wh = self._wh_pairs[k].clamp(min=0, max=1) if self.clip else self._wh_pairs[k]
            boxes.append(ember.cat((shifts, wh.repeat(f_k[0] * f_k[1], 1)), dim=1))
        return ember.cat(boxes, dim=0)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(aspect_ratios={self.aspect_ratios}, clip={self.clip}, "
                f"scales={self.scales}, steps={self.steps})")

    def forward(self, image_list: ImageList, feature_maps: list[ember.Tensor]) -> list[ember.Tensor]:
        grid_sizes = [tuple(f.shape[-2:]) for f in feature_maps]
        image_size = tuple(image_list.tensors.shape[-2:])
        dtype, device = feature_maps[0].dtype, feature_maps[0].device
        default_boxes = self._grid_default_boxes(grid_sizes, image_size, dtype=dtype).to(device)
        x_y_size = ember.tensor([image_size[1], image_size[0]], device=device)
        return [ember.cat([(default_boxes[:, :2] - 0.5 * default_boxes[:, 2:]) * x_y_size,
                           (default_boxes[:, :2] + 0.5 * default_boxes[:, 2:]) * x_y_size], -1)
                for _ in image_list.image_sizes]
