"""The conversions behind ``box_convert``: each one unbinds the last dimension and stacks it again.

Axis-aligned boxes: ``xyxy`` (corners), ``xywh`` (top-left corner, size) and ``cxcywh`` (centre, size).
Rotated boxes: ``xywhr``/``cxcywhr`` (corner or centre, size, angle in degrees counter-clockwise) and
``xyxyxyxy`` (the four corners). As in torchvision, an integer box tensor converted to or from a rotated
format is computed in floating point, rounded, and cast back.

Example:
    >>> import ember
    >>> _box_xyxy_to_cxcywh(ember.tensor([[0.0, 0.0, 4.0, 2.0]]))
    tensor([[2., 1., 4., 2.]])
"""

from __future__ import annotations

import math

import ember


def _box_cxcywh_to_xyxy(boxes: ember.Tensor) -> ember.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return ember.stack((cx - 0.5 * w, cy - 0.5 * h, cx + 0.5 * w, cy + 0.5 * h), dim=-1)


def _box_xyxy_to_cxcywh(boxes: ember.Tensor) -> ember.Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack(((x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1), dim=-1)


def _box_xywh_to_xyxy(boxes: ember.Tensor) -> ember.Tensor:
    x, y, w, h = boxes.unbind(-1)
    return ember.stack((x, y, x + w, y + h), dim=-1)


def _box_xyxy_to_xywh(boxes: ember.Tensor) -> ember.Tensor:
    x1, y1, x2, y2 = boxes.unbind(-1)
    return ember.stack((x1, y1, x2 - x1, y2 - y1), dim=-1)


def _round_back(boxes: ember.Tensor, dtype: ember.dtype, need_cast: bool) -> ember.Tensor:
    # torchvision computes integer rotated boxes in floating point and rounds the result back
    return boxes.round().to(dtype) if need_cast else boxes


def _cos_sin(r: ember.Tensor) -> tuple[ember.Tensor, ember.Tensor]:
    rad = r * math.pi / 180.0
    return ember.cos(rad), ember.sin(rad)


def _box_cxcywhr_to_xywhr(boxes: ember.Tensor) -> ember.Tensor:
    dtype, need_cast = boxes.dtype, not boxes.is_floating_point()
    cx, cy, w, h, r = boxes.unbind(-1)
    cos, sin = _cos_sin(r)
    x1 = cx - w / 2 * cos - h / 2 * sin
    y1 = cy - h / 2 * cos + w / 2 * sin
    return _round_back(ember.stack((x1, y1, w, h, r), dim=-1), dtype, need_cast)


def _box_xywhr_to_cxcywhr(boxes: ember.Tensor) -> ember.Tensor:
    dtype, need_cast = boxes.dtype, not boxes.is_floating_point()
    x1, y1, w, h, r = boxes.unbind(-1)
    cos, sin = _cos_sin(r)
    cx = x1 + w / 2 * cos + h / 2 * sin
    cy = y1 - w / 2 * sin + h / 2 * cos
    return _round_back(ember.stack((cx, cy, w, h, r), dim=-1), dtype, need_cast)


def _box_xywhr_to_xyxyxyxy(boxes: ember.Tensor) -> ember.Tensor:
    dtype, need_cast = boxes.dtype, not boxes.is_floating_point()
    x1, y1, w, h, r = boxes.unbind(-1)
    cos, sin = _cos_sin(r)
    x2, y2 = x1 + w * cos, y1 - w * sin
    x3, y3 = x2 + h * sin, y2 + h * cos
    x4, y4 = x1 + h * sin, y1 + h * cos
    return _round_back(ember.stack((x1, y1, x2, y2, x3, y3, x4, y4), dim=-1), dtype, need_cast)


def _box_xyxyxyxy_to_xywhr(boxes: ember.Tensor) -> ember.Tensor:
    dtype, need_cast = boxes.dtype, not boxes.is_floating_point()
    x1, y1, x2, y2, x3, y3, x4, y4 = boxes.unbind(-1)
    r = ember.atan2(y1 - y2, x2 - x1) * 180 / math.pi
    w = ((x2 - x1) ** 2 + (y1 - y2) ** 2).sqrt()
    h = ((x3 - x2) ** 2 + (y3 - y2) ** 2).sqrt()
    return _round_back(ember.stack((x1, y1, w, h, r), dim=-1), dtype, need_cast)
